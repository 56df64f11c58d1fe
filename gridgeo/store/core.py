"""The store handle: an engine, sessions, and the schema brought up to date on open."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import Engine, text
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session, sessionmaker

from gridgeo.i18n import tr
from gridgeo.store import migrate
from gridgeo.store.engine import WRITE, StoreError, make_engine, make_url_safe


class Store:
    """A gridgeo database (PostGIS or SpatiaLite).

    Parameters
    ----------
    url : str
        SQLAlchemy URL: ``sqlite:///path/to/gridgeo.sqlite`` (embedded) or
        ``postgresql+psycopg://user@host/db`` (PostGIS).
    upgrade : bool
        Bring the schema to the newest Alembic revision on open (default).
    """

    def __init__(self, url: str, *, upgrade: bool = True) -> None:
        self.url = url
        self.engine: Engine = make_engine(url)
        self._sessions = sessionmaker(self.engine, expire_on_commit=False)
        if upgrade:
            try:
                migrate.upgrade(self.engine)
            except OperationalError as exc:
                raise StoreError(
                    tr(
                        "cannot open the store at {url}: {error}",
                        url=make_url_safe(url),
                        error=exc.orig,
                    )
                ) from None

    @property
    def backend(self) -> str:
        """``"postgresql"`` or ``"sqlite"``."""
        return self.engine.dialect.name

    @contextmanager
    def transaction(self) -> Iterator[Session]:
        """A session in one transaction: committed on success, rolled back on any error."""
        with self._sessions() as session, session.begin():
            session.connection(execution_options={WRITE: True})  # SQLite: BEGIN IMMEDIATE
            yield session

    @contextmanager
    def reading(self) -> Iterator[Session]:
        """A session for reads (its transaction is rolled back at the end)."""
        with self._sessions() as session:
            yield session

    def ping(self) -> None:
        with self.engine.connect() as conn:
            conn.execute(text("SELECT 1"))

    def close(self) -> None:
        self.engine.dispose()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()
