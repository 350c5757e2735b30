"""Moving a test database to a given schema revision, the way `complaintflow migrate` does, so a
migration test can write rows as they were before it and read them after."""

from __future__ import annotations

from alembic import command
from alembic.config import Config
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, Engine

from engine.store.db import MIGRATIONS


def _config() -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    return config


def migrate(bind: Engine | Connection, revision: str, up: bool = True) -> None:
    """Upgrade (or downgrade) to ``revision``; on an engine in a transaction of its own."""
    config = _config()
    if isinstance(bind, Connection):
        config.attributes["connection"] = bind
        (command.upgrade if up else command.downgrade)(config, revision)
        return
    with bind.begin() as conn:
        config.attributes["connection"] = conn
        (command.upgrade if up else command.downgrade)(config, revision)


def before(revision: str) -> str:
    """The revision ``revision`` follows (the chain is re-linked as branches merge)."""
    return ScriptDirectory.from_config(_config()).get_revision(revision).down_revision
