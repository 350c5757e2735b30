"""Moving waiting cases to a newer deployed version, where that is safe.

A case keeps the version it started on; a process owner may move it to a newer one when no
step that is done or under way changed (only steps still ahead did). Each refusal says why;
each migration is one transaction recorded in the case's history.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import bindparam, select, update

from engine import deadline_rollup, lockstep, spiff
from engine.casework import CaseWork, lock_case
from engine.clock import Clock
from engine.errors import CaseArchived, EngineError, NotFound
from engine.repository import Repository
from engine.store.db import Database
from engine.store.enums import CaseStatus, EventKind
from engine.store.models import Case, Deployment

_C = Case.__table__
MOVE = update(_C).where(_C.c.id == bindparam("case_id")).values(
    deployment_id=bindparam("new_deployment", type_=_C.c.deployment_id.type))


class MigrationRefused(EngineError):
    def __init__(self, number: str, reasons: list[str]) -> None:
        self.number, self.reasons = number, reasons
        super().__init__(f"case {number} cannot move to the new version: " + "; ".join(reasons))


@dataclass(frozen=True)
class MigrationResult:
    number: str
    migrated: bool
    from_version: int
    to_version: int
    reasons: tuple[str, ...] = ()


class Migration:
    def __init__(self, db: Database, clock: Clock, repository: Repository, work: CaseWork, timers) -> None:  # noqa: ANN001
        self._db, self._clock, self._repository, self._work, self._timers = db, clock, repository, work, timers

    def _target(self, version: int | None) -> tuple[int, int]:
        with self._db.read() as session:
            query = select(Deployment.id, Deployment.version)
            query = (query.where(Deployment.version == version) if version is not None
                     else query.order_by(Deployment.version.desc()).limit(1))
            found = session.execute(query).first()
        if found is None:
            raise NotFound(f"no deployed version {version}" if version is not None else "nothing is deployed")
        return found.id, found.version

    def check(self, number: str, to_version: int | None = None) -> MigrationResult:
        """Whether the case could move now (``migrated`` says it would), and if not why.

        Nothing of the case changes, except that timers already due fire first, as before any step.
        """
        return self._run(number, to_version, actor=None)

    def try_migrate(self, number: str, actor: str, to_version: int | None = None) -> MigrationResult:
        """Move the case if it is safe; the result says whether it moved and, if not, why."""
        return self._run(number, to_version, actor=actor)

    def migrate(self, number: str, actor: str, to_version: int | None = None) -> MigrationResult:
        """Move the case; raises ``MigrationRefused`` with the reasons when it is not safe."""
        result = self._run(number, to_version, actor=actor)
        if not result.migrated:
            raise MigrationRefused(number, list(result.reasons))
        return result

    def older_cases(self, limit: int = 500) -> list[tuple[str, int]]:
        """Open cases on a version older than the newest, with their version (oldest case first)."""
        with self._db.read() as session:
            newest = session.scalar(select(Deployment.version).order_by(Deployment.version.desc()).limit(1))
            if newest is None:
                return []
            rows = session.execute(
                select(Case.number, Deployment.version).join(Deployment, Deployment.id == Case.deployment_id)
                .where(Case.status == "open", Deployment.version < newest).order_by(Case.id).limit(limit)
            ).all()
        return [(number, version) for number, version in rows]

    def migrate_all(self, actor: str, to_version: int | None = None, process_id: str | None = None,
                    dry_run: bool = False) -> list[MigrationResult]:
        """Every open case on an older version, one transaction each; refusals are reported, not raised.

        ``dry_run`` only checks each case (``migrated`` then says it could move): a process owner
        sees what a deploy leaves behind before moving anything.
        """
        deployment_id, version = self._target(to_version)
        with self._db.read() as session:
            query = (select(Case.number).join(Deployment, Deployment.id == Case.deployment_id)
                     .where(Case.status == "open", Deployment.version < version).order_by(Case.id))
            if process_id:
                query = query.where(Case.process_id == process_id)
            numbers = list(session.scalars(query))
        if dry_run:
            return [self.check(number, version) for number in numbers]
        return [self.try_migrate(number, actor, version) for number in numbers]

    def _run(self, number: str, to_version: int | None, actor: str | None) -> MigrationResult:
        deployment_id, version = self._target(to_version)
        # A deadline that passed is history, not a plan: due timers fire first, also those that fell due
        # while this waited for the case.
        return lockstep.after_due_timers(lambda: self._timers.fire_due_for_case(number=number),
                                         lambda: self._move(number, deployment_id, version, actor))

    def _move(self, number: str, deployment_id: int, version: int, actor: str | None) -> MigrationResult:
        with self._db.write() as session:
            row = lock_case(session, number=number)
            now = self._clock.now()
            lockstep.raise_if_timers_due(session, row.id, now)
            if row.status == CaseStatus.ARCHIVED:
                raise CaseArchived(number)
            case = self._work.open(session, row, now)
            current = case.deployment.version
            if current >= version:
                return MigrationResult(number, False, current, version,
                                       (f"the case is already on version {current}",))
            target = self._repository.load(deployment_id)
            try:
                spec, subprocess_specs = target.specs(row.process_id)
            except NotFound:
                return MigrationResult(number, False, current, version,
                                       (f"process {row.process_id!r} is not in version {version}",))
            problems, diffs = spiff.migration_problems(case.workflow, spec, subprocess_specs)
            if problems or actor is None:
                return MigrationResult(number, not problems, current, version, tuple(problems))
            # the version may move the calendar's zone or rename steps: the deadlines judged before and after
            with deadline_rollup.kept(session.connection(), row.id, case.deployment.calendar.zone,
                                      target.calendar.zone):
                case.recounted = True
                case.workflow.script_engine = target.script_engine
                with self._work.spiff_step(now, row.created_at) as notices:
                    spiff.migrate(case.workflow, spec, subprocess_specs, diffs)
                case.notices = notices
                case.deployment = target
                session.connection().execute(MOVE, {"case_id": row.id, "new_deployment": deployment_id})
                row.deployment_id = deployment_id
                self._work.save(session, case, actor=actor, kind=EventKind.MIGRATED,
                                payload={"from_version": current, "to_version": version})
            return MigrationResult(number, True, current, version)
