"""The business calendar: Monday–Friday, mainland-China holidays and make-up working days."""

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import pytest

from engine.calendar import BusinessCalendar, CalendarConfig

SHANGHAI = ZoneInfo("Asia/Shanghai")


def test_spring_festival_is_off_and_the_make_up_saturday_is_a_working_day():
    cal = BusinessCalendar()
    assert not cal.is_working_day(date(2026, 2, 16))  # 春节
    assert cal.is_working_day(date(2026, 2, 14))  # Saturday, 调休
    assert cal.is_working_day(date(2026, 2, 28))  # Saturday, 调休
    assert not cal.is_working_day(date(2026, 3, 7))  # an ordinary Saturday


def test_one_working_day_from_friday_before_spring_festival_is_the_make_up_saturday():
    friday = datetime(2026, 2, 13, 10, 0, tzinfo=SHANGHAI)
    assert BusinessCalendar().add_working_days(friday, 1) == datetime(2026, 2, 14, 10, 0, tzinfo=SHANGHAI)


def test_two_working_days_from_that_friday_skip_the_whole_holiday():
    friday = datetime(2026, 2, 13, 10, 0, tzinfo=SHANGHAI)
    assert BusinessCalendar().add_working_days(friday, 2) == datetime(2026, 2, 24, 10, 0, tzinfo=SHANGHAI)


def test_a_deployment_can_add_its_own_holiday_and_working_day():
    config = CalendarConfig.from_toml(
        '[calendar]\nextra_holidays = ["2026-03-03"]\nextra_working_days = ["2026-03-07"]\n'
    )
    cal = BusinessCalendar(config)
    monday = datetime(2026, 3, 2, 9, 0, tzinfo=SHANGHAI)
    assert cal.add_working_days(monday, 1) == datetime(2026, 3, 4, 9, 0, tzinfo=SHANGHAI)
    assert cal.is_working_day(date(2026, 3, 7))


def test_a_deadline_past_the_holiday_data_does_not_crash():
    far = datetime(2039, 12, 30, 2, 0, tzinfo=UTC)
    assert BusinessCalendar().add_working_days(far, 5) > far


@pytest.mark.parametrize(
    "text, reason",
    [
        ("[calendar]\nworkweek = [0]", "workweek"),
        ("[calendar]\ntimezone = 'Mars/Olympus'", "timezone"),
        ("[calendar]\nextra_holidays = ['not a date']", "bad value"),
        ("[calendar\n", "TOML"),
    ],
)
def test_a_bad_calendar_file_is_refused_with_the_reason(text, reason):
    with pytest.raises(ValueError, match=reason):
        CalendarConfig.from_toml(text)


def test_the_next_day_of_a_month_falls_back_to_the_month_end():
    calendar = BusinessCalendar()
    assert calendar.next_day_of_month(datetime(2026, 2, 1, 10, tzinfo=SHANGHAI), 31) == datetime(
        2026, 2, 28, 9, tzinfo=SHANGHAI)
    assert calendar.next_day_of_month(datetime(2026, 12, 4, 9, tzinfo=SHANGHAI), 4) == datetime(
        2027, 1, 4, 9, tzinfo=SHANGHAI)


def test_the_next_weekday_is_strictly_after_now():
    calendar = BusinessCalendar()
    tuesday_9am = datetime(2026, 3, 3, 9, tzinfo=SHANGHAI)
    assert calendar.next_weekday(tuesday_9am, 2) == datetime(2026, 3, 10, 9, tzinfo=SHANGHAI)
    assert calendar.next_weekday(datetime(2026, 3, 3, 8, tzinfo=SHANGHAI), 2) == tuesday_9am
