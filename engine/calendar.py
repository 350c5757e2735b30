"""The business calendar: which days are working days, and deadlines counted in them.

Mainland-China public holidays and make-up working days (调休) come from the
``holidays`` package; a deployment overrides them in ``workflows/calendar.toml``.
"""

from __future__ import annotations

import calendar
import tomllib
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import holidays

CALENDAR_FILE = "calendar.toml"


@dataclass(frozen=True)
class CalendarConfig:
    country: str = "CN"
    timezone: str = "Asia/Shanghai"
    workweek: tuple[int, ...] = (1, 2, 3, 4, 5)
    extra_holidays: tuple[date, ...] = ()
    extra_working_days: tuple[date, ...] = ()

    @classmethod
    def from_toml(cls, text: str) -> CalendarConfig:
        """Parse the ``[calendar]`` table; raises ``ValueError`` with a readable reason."""
        try:
            table = tomllib.loads(text).get("calendar", {})
        except tomllib.TOMLDecodeError as exc:
            raise ValueError(f"not valid TOML: {exc}") from exc
        try:
            config = cls(
                country=str(table.get("country", cls.country)),
                timezone=str(table.get("timezone", cls.timezone)),
                workweek=tuple(int(d) for d in table.get("workweek", cls.workweek)),
                extra_holidays=tuple(_as_date(d) for d in table.get("extra_holidays", [])),
                extra_working_days=tuple(_as_date(d) for d in table.get("extra_working_days", [])),
            )
        except (TypeError, ValueError) as exc:
            raise ValueError(f"bad value in [calendar]: {exc}") from exc
        if not config.workweek or any(d < 1 or d > 7 for d in config.workweek):
            raise ValueError("workweek must list ISO weekdays 1 (Monday) to 7 (Sunday)")
        try:
            ZoneInfo(config.timezone)
        except Exception as exc:
            raise ValueError(f"unknown timezone {config.timezone!r}") from exc
        if config.country not in holidays.list_supported_countries():
            raise ValueError(f"the holidays package does not know country {config.country!r}")
        return config

    @classmethod
    def from_dir(cls, workflows_dir: Path) -> CalendarConfig:
        path = Path(workflows_dir) / CALENDAR_FILE
        return cls.from_toml(path.read_text(encoding="utf-8")) if path.exists() else cls()

    def to_dict(self) -> dict:
        return {
            "country": self.country,
            "timezone": self.timezone,
            "workweek": list(self.workweek),
            "extra_holidays": [d.isoformat() for d in self.extra_holidays],
            "extra_working_days": [d.isoformat() for d in self.extra_working_days],
        }

    @classmethod
    def from_dict(cls, data: dict) -> CalendarConfig:
        return cls(
            country=data["country"],
            timezone=data["timezone"],
            workweek=tuple(data["workweek"]),
            extra_holidays=tuple(date.fromisoformat(d) for d in data["extra_holidays"]),
            extra_working_days=tuple(date.fromisoformat(d) for d in data["extra_working_days"]),
        )


def _as_date(value: object) -> date:
    if isinstance(value, date):
        return value
    return date.fromisoformat(str(value))


@dataclass
class BusinessCalendar:
    config: CalendarConfig = field(default_factory=CalendarConfig)

    def __post_init__(self) -> None:
        self.zone = ZoneInfo(self.config.timezone)
        # Years beyond the package's data simply have no holidays: a far deadline never crashes.
        self._holidays = holidays.country_holidays(self.config.country)
        self._extra_holidays = set(self.config.extra_holidays)
        self._extra_working = set(self.config.extra_working_days)

    def is_working_day(self, day: date) -> bool:
        if day in self._extra_working:
            return True
        if day in self._extra_holidays:
            return False
        if day in self._holidays:
            return False
        if day.isoweekday() in self.config.workweek:
            return True
        # A weekend day the government made a working day (调休).
        self._holidays.get(day)  # make sure the year's data, make-up days included, is loaded
        return day in getattr(self._holidays, "weekend_workdays", set())

    def add_working_days(self, moment: datetime, days: int) -> datetime:
        """The same local time of day, ``days`` working days after ``moment``'s date.

        A complaint received on a Saturday with a 1-working-day deadline is due on the
        next working day at the same hour.
        """
        if moment.tzinfo is None:
            raise ValueError("moment must be timezone-aware")
        if days < 0:
            raise ValueError("days must be >= 0")
        local = moment.astimezone(self.zone)
        day, counted = local.date(), 0
        while counted < days:
            day += timedelta(days=1)
            if self.is_working_day(day):
                counted += 1
        due = datetime.combine(day, local.timetz().replace(tzinfo=None), tzinfo=self.zone)
        return due.astimezone(moment.tzinfo)

    def next_day_of_month(self, moment: datetime, day: int, hour: int = 9) -> datetime:
        """The first ``day``-th of a month at ``hour``:00 local time strictly after ``moment``.

        For a day a month lacks (the 31st in April) the month's last day is used.
        """
        if not 1 <= day <= 31 or not 0 <= hour <= 23:
            raise ValueError("day must be 1-31 and hour 0-23")
        local = moment.astimezone(self.zone)
        year, month = local.year, local.month
        for _ in range(3):
            last = calendar.monthrange(year, month)[1]
            candidate = datetime(year, month, min(day, last), hour, tzinfo=self.zone)
            if candidate > local:
                return candidate.astimezone(moment.tzinfo)
            year, month = (year + 1, 1) if month == 12 else (year, month + 1)
        raise AssertionError("unreachable: a later month always has the day")

    def next_weekday(self, moment: datetime, weekday: int, hour: int = 9) -> datetime:
        """The next ISO ``weekday`` (1 = Monday) at ``hour``:00 local time strictly after ``moment``."""
        if not 1 <= weekday <= 7 or not 0 <= hour <= 23:
            raise ValueError("weekday must be 1 (Monday) to 7 (Sunday) and hour 0-23")
        local = moment.astimezone(self.zone)
        for ahead in range(8):
            day = local.date() + timedelta(days=ahead)
            candidate = datetime.combine(day, time(hour), tzinfo=self.zone)
            if day.isoweekday() == weekday and candidate > local:
                return candidate.astimezone(moment.tzinfo)
        raise AssertionError("unreachable: a week holds every weekday")
