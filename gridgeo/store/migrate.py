"""Schema migrations with Alembic, run by gridgeo itself (no alembic.ini to find).

``upgrade(engine)`` brings a new or old database to the current schema; the
store calls it when it opens, so a fresh SpatiaLite file or an empty PostGIS
database is ready without a separate step.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import Engine, text
from sqlalchemy.exc import DBAPIError

if TYPE_CHECKING:
    from alembic.config import Config

MIGRATIONS = Path(__file__).with_name("migrations")
# The newest revision in MIGRATIONS (tests/test_store_migrations.py checks it is Alembic's
# head). A store already there opens without importing Alembic and Mako: ~120 ms and ~11 MB
# of every command's and every worker's start.
HEAD = "0004"


def _config() -> Config:
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    return config


def is_current(engine: Engine) -> bool:
    """Whether the database is at :data:`HEAD` (False for an empty database)."""
    with engine.connect() as conn:
        try:
            found = conn.execute(text("SELECT version_num FROM alembic_version")).scalars().all()
        except DBAPIError:  # no version table: a new database
            return False
    return found == [HEAD]


def head() -> str:
    """The newest revision this gridgeo knows."""
    from alembic.script import ScriptDirectory

    revision = ScriptDirectory.from_config(_config()).get_current_head()
    assert revision is not None
    return revision


def current(engine: Engine) -> str | None:
    """The database's revision, or None for an empty database."""
    from alembic.runtime.migration import MigrationContext

    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Migrate the database to ``revision`` in one transaction (nothing to do, and Alembic
    not imported, when ``revision`` is ``"head"`` and the database is there already)."""
    if revision == "head" and is_current(engine):
        return
    from alembic import command

    config = _config()
    with engine.begin() as conn:
        config.attributes["connection"] = conn
        command.upgrade(config, revision)


def downgrade(engine: Engine, revision: str) -> None:
    """Migrate the database back to ``revision`` (``"base"`` drops every table)."""
    from alembic import command

    config = _config()
    with engine.begin() as conn:
        config.attributes["connection"] = conn
        command.downgrade(config, revision)
