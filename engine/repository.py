"""Deploy: validate the process owners' files and store them as a new numbered version.

A deploy never edits an older version: running cases keep the version they started on,
new cases start on the newest one.
"""

from __future__ import annotations

import functools
import hashlib
import re
import threading
from dataclasses import dataclass
from datetime import datetime, tzinfo
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from SpiffWorkflow.bpmn.specs.mixins.events.start_event import StartEvent
from sqlalchemy import func, select

from engine import catalogue, history, reply_templates, roles, spiff
from engine.calendar import BusinessCalendar, CalendarConfig
from engine.clock import Clock
from engine.errors import DeployError, NotFound, Problem
from engine.notify import templates
from engine.store.db import Database
from engine.store.enums import EventKind
from engine.store.models import Deployment, Person, RoleMember
from engine.validation import check_bundle
from engine.versions import VersionDiff, diff_files

DEPLOYED_SUFFIXES = (".bpmn", ".dmn", ".toml")


def read_workflow_files(workflows_dir: Path) -> dict[str, str]:
    """The files a deployment is made of, by path relative to ``workflows_dir``."""
    root = Path(workflows_dir)
    if not root.is_dir():
        raise DeployError([Problem.of(str(root), None, "folder_missing")])
    files = {}
    for path in sorted(root.rglob("*")):
        rel = path.relative_to(root).as_posix()
        is_form = rel.startswith("forms/") and path.suffix == ".json"
        if path.is_file() and (path.suffix in DEPLOYED_SUFFIXES or is_form or rel == catalogue.DEMO_FILE):
            try:
                files[rel] = path.read_text(encoding="utf-8")
            except UnicodeDecodeError:
                raise DeployError([Problem.of(rel, None, "not_utf8")]) from None
    return files


def content_hash(files: dict[str, str]) -> str:
    digest = hashlib.sha256()
    for name in sorted(files):
        digest.update(name.encode() + b"\0" + files[name].encode() + b"\0")
    return digest.hexdigest()


@dataclass(frozen=True)
class DeployedVersion:
    """A summary of one deployment, for callers."""

    version: int
    content_hash: str
    deployed_by: str
    deployed_at: datetime
    note: str
    processes: tuple[str, ...]


class LoadedDeployment:
    """A deployment's specs, forms and calendar, restored once and shared by every case on it."""

    def __init__(self, row: Deployment) -> None:
        self.id, self.version = row.id, row.version
        self.forms: dict[str, dict] = row.forms
        self.roles: dict[str, dict] = roles.of_files(row.files)
        self.replies = reply_templates.parse(row.files.get(reply_templates.REPLIES_FILE))
        self.calendar = BusinessCalendar(CalendarConfig.from_dict(row.calendar))
        self.script_engine = spiff.make_script_engine(self.calendar)
        self._specs: dict[str, tuple[Any, dict[str, Any]]] = {}
        for process_id, stored in row.specs.items():
            spec = spiff.spec_from_dict(stored["spec"])
            subs = {k: spiff.spec_from_dict(v) for k, v in stored["subprocess_specs"].items()}
            self._specs[process_id] = (spec, subs)
        self.catalogue = catalogue.build(self._specs, self.forms, row.files)
        self.notice_links: dict[str, str] = templates.link_purposes(row.files)  # subject -> customer link kind
        self.report_periods: dict[str, str] = templates.report_periods(row.files)  # subject -> week | month

    def specs(self, process_id: str) -> tuple[Any, dict[str, Any]]:
        try:
            return self._specs[process_id]
        except KeyError:
            raise NotFound(f"process {process_id!r} is not in deployment v{self.version}") from None

    def _start_properties(self, process_id: str) -> dict:
        spec, _ = self.specs(process_id)
        for task_spec in spec.task_specs.values():
            if isinstance(task_spec, StartEvent):
                props = (getattr(task_spec, "extensions", None) or {}).get("properties", {})
                if props:
                    return props
        return {}

    def start_form(self, process_id: str) -> dict | None:
        name = self._start_properties(process_id).get("formJsonSchemaFilename")
        return self.forms[name] if name else None

    def standing_processes(self) -> list[str]:
        """Processes whose start event says ``startOnDeploy``: one instance always runs (schedules)."""
        return sorted(p for p in self._specs if self._start_properties(p).get("startOnDeploy") == "true")

    def intake_process(self) -> str:
        """The process staff and customers register (its start event says ``intake``): the diagram decides."""
        if self.catalogue.intake_process is None:
            raise NotFound("no deployed process takes registrations: mark one start event with the property "
                           "intake = true")
        return self.catalogue.intake_process

    def intake_form(self) -> dict | None:
        return self.start_form(self.intake_process())

    def form(self, name: str | None) -> dict | None:
        return self.forms.get(name) if name else None

    @functools.cached_property
    def element_names(self) -> dict[str, str]:
        """The name the diagrams give each process and element, by id (as drawn: both languages where given)."""
        names: dict[str, str] = {}
        for process in self._every_spec:
            names.setdefault(process.name, process.description or process.name)
            for task_spec in process.task_specs.values():
                bpmn_id, name = getattr(task_spec, "bpmn_id", None), getattr(task_spec, "bpmn_name", None)
                if bpmn_id and name:
                    names.setdefault(bpmn_id, name)
        return names

    @property
    def _every_spec(self) -> list[Any]:
        """Every process spec of the deployment, called processes included (once per process that calls them)."""
        return [s for spec, subs in self._specs.values() for s in (spec, *subs.values())]

    @functools.cached_property
    def user_steps(self) -> list[tuple[str, str, str | None, str | None]]:
        """(element id, title, form file, role) of every user task: a list's step filter without a query."""
        return spiff.user_steps(self._every_spec)


class Repository:
    def __init__(self, db: Database, clock: Clock, workflows_dir: Path) -> None:
        self._db, self._clock, self._workflows_dir = db, clock, Path(workflows_dir)
        self._loaded: dict[int, LoadedDeployment] = {}
        self._lock = threading.Lock()

    def validate(self, workflows_dir: Path | None = None) -> list[Problem]:
        """The problems a deploy of ``workflows_dir`` would be refused for (empty when fine)."""
        return check_bundle(read_workflow_files(workflows_dir or self._workflows_dir)).problems

    def deploy(self, workflows_dir: Path | None = None, actor: str = "system", note: str = "") -> list[DeployedVersion]:
        """Validate and deploy; returns the new version, or [] when nothing changed.

        Raises ``DeployError`` listing every problem; nothing is stored then.
        """
        return self.deploy_files(read_workflow_files(workflows_dir or self._workflows_dir), actor, note)

    def deploy_files(self, files: dict[str, str], actor: str = "system", note: str = "") -> list[DeployedVersion]:
        """Deploy a whole set of files given by relative path (as the API and the modeler send them)."""
        bundle = check_bundle(files)
        if bundle.problems:
            raise DeployError(bundle.problems)
        empty = self._roles_without_people(bundle.lanes)
        if empty:
            raise DeployError(empty)
        if not bundle.specs:
            raise DeployError(no_executable_process(files))
        digest = content_hash(files)
        now = self._clock.now()
        with self._db.write() as session:
            latest = session.scalars(select(Deployment).order_by(Deployment.version.desc()).limit(1)).first()
            if latest is not None and latest.content_hash == digest:
                return []
            version = (session.scalar(select(func.max(Deployment.version))) or 0) + 1
            row = Deployment(
                version=version, content_hash=digest, deployed_by=actor, deployed_at=now, note=note,
                files=files, specs=bundle.specs, forms=bundle.forms, calendar=bundle.calendar.to_dict(),
            )
            session.add(row)
            session.flush()
            history.append(
                session, case_number=None, at=now, actor=actor, kind=EventKind.DEPLOYED,
                payload={"version": version, "content_hash": digest, "note": note,
                         "processes": sorted(bundle.specs), "files": sorted(files)},
                deployment_version=version,
            )
            before = roles.of_files(latest.files) if latest is not None else {}
            changed = roles.changes(before, roles.of_files(files))
            if changed is not None and latest is not None:
                history.append(session, case_number=None, at=now, actor=actor, kind=EventKind.ROLES_CHANGED,
                               payload={"version": version, "from_version": latest.version, **changed},
                               deployment_version=version)
            return [_summary(row)]

    def _roles_without_people(self, lanes: dict[str, list[tuple[str, str]]]) -> list[Problem]:
        """A lane whose role has nobody would leave its tasks unassigned: refused once people exist.

        On a fresh installation (nobody at all yet) the files are deployed first and people after.
        """
        with self._db.read() as session:
            if session.scalar(select(func.count()).select_from(Person)) == 0:
                return []
            staffed = set(session.scalars(select(RoleMember.role).distinct()))
        return [Problem.of(file, label, "role_without_people", role=role)
                for role, places in sorted(lanes.items()) if role not in staffed for file, label in places[:1]]

    def files(self, version: int | None = None) -> dict[str, str]:
        """The files of a deployed version (the newest by default), by relative path."""
        with self._db.read() as session:
            query = select(Deployment.files)
            query = (query.where(Deployment.version == version) if version is not None
                     else query.order_by(Deployment.version.desc()).limit(1))
            found = session.scalar(query)
        if found is None:
            raise NotFound(f"no deployed version {version}" if version is not None else "nothing is deployed yet")
        return dict(found)

    def diff(self, to_version: int, from_version: int | None = None) -> VersionDiff:
        """What ``to_version`` changed against ``from_version`` (default: the version before it)."""
        base = from_version if from_version is not None else to_version - 1
        return diff_files(self.files(base) if base >= 1 else {}, self.files(to_version), base, to_version)

    def versions(self) -> list[DeployedVersion]:
        with self._db.read() as session:
            rows = session.scalars(select(Deployment).order_by(Deployment.version)).all()
            return [_summary(r) for r in rows]

    def active(self) -> LoadedDeployment:
        with self._db.read() as session:
            row_id = session.scalar(select(Deployment.id).order_by(Deployment.version.desc()).limit(1))
        if row_id is None:
            raise NotFound("nothing is deployed yet: run deploy first")
        return self.load(row_id)

    def active_roles(self) -> dict[str, dict]:
        """The roles of the active version (none before the first deploy): what access follows."""
        try:
            return self.active().roles
        except NotFound:
            return {}

    def zone(self) -> tzinfo:
        """The active version's calendar zone (the default zone before the first deploy): the days of absences."""
        try:
            return self.active().calendar.zone
        except NotFound:
            return ZoneInfo(CalendarConfig.timezone)

    def load(self, deployment_id: int) -> LoadedDeployment:
        loaded = self._loaded.get(deployment_id)
        if loaded is None:
            with self._lock:
                loaded = self._loaded.get(deployment_id)
                if loaded is None:
                    with self._db.read() as session:
                        row = session.get(Deployment, deployment_id)
                        if row is None:
                            raise NotFound(f"no deployment {deployment_id}")
                        loaded = LoadedDeployment(row)
                    self._loaded[deployment_id] = loaded
        return loaded


def _summary(row: Deployment) -> DeployedVersion:
    return DeployedVersion(row.version, row.content_hash, row.deployed_by, row.deployed_at, row.note,
                           tuple(sorted(row.specs)))


def no_executable_process(files: dict[str, str]) -> list[Problem]:
    """Why nothing would run: each BPMN file's processes, none marked executable."""
    problems = []
    for name, text in sorted(files.items()):
        if not name.endswith(".bpmn"):
            continue
        processes = re.findall(r"<(?:\w+:)?process\b[^>]*\bid=\"([^\"]+)\"", text)
        for process_id in processes or [None]:
            problems.append(Problem.of(name, process_id, "process_not_executable", process=process_id)
                            if process_id else Problem.of(name, None, "file_without_process"))
    return problems or [Problem.of("(workflows)", None, "no_bpmn_file")]
