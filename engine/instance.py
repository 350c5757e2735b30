"""Where an installation keeps its files and which database it uses, from ``COMPLAINTFLOW_INSTANCE``.

The web app (gunicorn or ``complaintflow serve``), the scheduler and every other command read
these from this one place, so the CLI and the web server of one installation can never end up
on different databases because one of them ignored a variable.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

INSTANCE_ENV = "COMPLAINTFLOW_INSTANCE"
DATABASE_ENV = "COMPLAINTFLOW_DATABASE_URL"
DATABASE_FILE = "complaintflow.sqlite"


@dataclass(frozen=True)
class Instance:
    """An installation's folder (SQLite file, attachments, seals) and its database URL."""

    folder: Path
    database_url: str

    @property
    def seals(self) -> Path:
        return self.folder / "seals"


def resolve(create: bool = False) -> Instance:
    """The instance from the environment: ``COMPLAINTFLOW_INSTANCE`` (default ``instance``) and
    ``COMPLAINTFLOW_DATABASE_URL`` (default the SQLite file in that folder).

    ``create`` makes the folder, for callers about to write into it.
    """
    folder = Path(os.environ.get(INSTANCE_ENV) or "instance").resolve()
    if create:
        folder.mkdir(parents=True, exist_ok=True)
    url = os.environ.get(DATABASE_ENV) or f"sqlite:///{folder / DATABASE_FILE}"
    return Instance(folder, url)
