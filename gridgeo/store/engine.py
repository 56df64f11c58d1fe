"""Engines for the two backends: PostgreSQL + PostGIS and SQLite + SpatiaLite.

The embedded default is a SpatiaLite file: no server to start. Each SQLite
connection loads ``mod_spatialite``, initialises the spatial metadata of a new
file with only the SRIDs gridgeo stores (``InitSpatialMetaData('EMPTY')`` plus
EPSG:4490; the full EPSG table costs seconds per new file), and runs in WAL mode
so that readers (the service) never block on a writer (an import) and a killed
writer leaves the last committed state readable.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.engine import make_url

from gridgeo.errors import StoreError
from gridgeo.i18n import tr
from gridgeo.io.gdal_library import load_gdal_first
from gridgeo.store.schema import SRID

__all__ = ["WRITE", "StoreError", "is_sqlite", "make_engine", "make_url_safe"]


def is_sqlite(url: str) -> bool:
    return make_url(url).get_backend_name() == "sqlite"


def make_engine(url: str, *, echo: bool = False) -> Engine:
    """An engine for ``url`` (``sqlite:///path`` or ``postgresql+psycopg://...``).

    SQLite files get SpatiaLite on every connection; their folder is created.
    """
    parsed = make_url(url)
    backend = parsed.get_backend_name()
    if backend == "sqlite":
        load_gdal_first()  # before any connection loads SpatiaLite (gridgeo.io.gdal_library)
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, echo=echo, connect_args={"timeout": 30})
        event.listen(engine, "connect", _prepare_sqlite)
        # pysqlite's own transaction handling defers BEGIN; take it over so a
        # transaction starts when SQLAlchemy says (SQLAlchemy docs, "Serializable isolation").
        event.listen(engine, "begin", _begin_sqlite)
        return engine
    if backend == "postgresql":
        return create_engine(url, echo=echo, pool_pre_ping=True)
    raise StoreError(
        tr(
            "database URL {url!r}: unsupported backend {backend!r}; use sqlite:///FILE "
            "(embedded SpatiaLite) or postgresql+psycopg://USER@HOST/DB (PostGIS)",
            url=make_url_safe(url),
            backend=backend,
        )
    )


WRITE = "gridgeo_write"  # execution option of a connection that will write (Store.transaction)


def _begin_sqlite(conn: Connection) -> None:
    """``BEGIN IMMEDIATE`` for a transaction that will write: it takes the write lock at
    once (waiting up to the busy timeout), where a deferred ``BEGIN`` that reads first
    fails with "database is locked" when another writer commits in between."""
    conn.exec_driver_sql("BEGIN IMMEDIATE" if conn.get_execution_options().get(WRITE) else "BEGIN")


def _prepare_sqlite(dbapi_conn: sqlite3.Connection, _record: Any) -> None:
    dbapi_conn.isolation_level = None  # autocommit at the driver; "begin" listener opens txns
    try:
        dbapi_conn.enable_load_extension(True)
        dbapi_conn.load_extension("mod_spatialite")
        dbapi_conn.enable_load_extension(False)
    except (AttributeError, sqlite3.OperationalError) as exc:
        raise StoreError(
            tr(
                "the embedded store needs SpatiaLite: install Debian's "
                "libsqlite3-mod-spatialite (make setup does) and a Python whose sqlite3 can "
                "load extensions ({error})",
                error=exc,
            )
        ) from None
    dbapi_conn.execute("PRAGMA foreign_keys = ON")
    dbapi_conn.execute("PRAGMA busy_timeout = 30000")
    if dbapi_conn.execute("PRAGMA journal_mode").fetchone()[0] != "memory":
        dbapi_conn.execute("PRAGMA journal_mode = WAL")
    if dbapi_conn.execute("SELECT CheckSpatialMetaData()").fetchone()[0] < 1:
        dbapi_conn.execute("SELECT InitSpatialMetaData(1, 'EMPTY')")
    known = dbapi_conn.execute(
        "SELECT count(*) FROM spatial_ref_sys WHERE srid = ?", (SRID,)
    ).fetchone()[0]
    if not known:
        dbapi_conn.execute(f"SELECT InsertEpsgSrid({SRID})")


def make_url_safe(url: str) -> str:
    """The URL with any password hidden, for messages."""
    return make_url(url).render_as_string(hide_password=True)
