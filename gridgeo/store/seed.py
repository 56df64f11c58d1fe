"""First start: an empty store gets the configured (sample pilot) data, published.

``make run`` relies on this: the embedded store is created and filled on the
first ``gridgeo serve`` with the sample boundaries, workstations and roster,
each as version 1 of its kind, published, in the audit log as the first-start
actor. A store that holds any version is never touched.
"""

from __future__ import annotations

import fcntl
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import func, select, text
from sqlalchemy.engine import make_url

from gridgeo.i18n import tr
from gridgeo.settings import Settings
from gridgeo.store import schema as t
from gridgeo.store.core import Store

if TYPE_CHECKING:  # the importers: only a new store needs them (every command opens one)
    from gridgeo.store.versioned_import import ImportOptions
    from gridgeo.store.versions import VersionInfo

SEED_ACTOR = "gridgeo (first start)"


def seed_if_empty(store: Store, settings: Settings) -> bool:
    """Load and publish the configured data when the store has no version; True if it did."""
    with _exclusive(store):
        with store.reading() as session:
            if session.scalar(select(func.count()).select_from(t.Version)):
                return False
        from gridgeo.io.dataset import load  # the readers: only a new store needs them
        from gridgeo.store.responsibility import import_partners, import_roster, import_routing
        from gridgeo.store.versions import file_sha256, import_boundaries, publish

        data = load(settings=settings)
        note = tr("sample pilot data, loaded on first start")
        result = import_boundaries(
            store,
            data.grids,
            author=SEED_ACTOR,
            workstations=data.workstations,
            note=note,
            source_name=str(settings.boundaries),
            source_sha256=file_sha256(settings.boundaries),
            commit=True,
            validation=settings.validation,
        )
        assert result.version is not None
        publish(store, result.version.id, actor=SEED_ACTOR, force=True)
        drafts: list[VersionInfo | None] = []
        if data.staff:
            drafts.append(import_roster(store, data.staff, **_seeding(note, settings.staff))[1])
        if data.partners:
            drafts.append(
                import_partners(store, data.partners, **_seeding(note, settings.partners))[1]
            )
        if data.routing is not None:
            drafts.append(
                import_routing(store, data.routing, **_seeding(note, settings.routing))[1]
            )
        for draft in drafts:
            assert draft is not None
            publish(store, draft.id, actor=SEED_ACTOR, force=True)
        return True


def _seeding(note: str, path: Path | None) -> ImportOptions:
    """The options of a first-start import of the file at ``path``: committed, by the seeder."""
    from gridgeo.store.versions import file_sha256

    source = (str(path), file_sha256(path)) if path and path.exists() else ("", "")
    return {"author": SEED_ACTOR, "note": note, "source": source, "commit": True}


@contextmanager
def _exclusive(store: Store) -> Iterator[None]:
    """One seeder at a time across processes (several workers may start together)."""
    if store.backend == "postgresql":
        with store.engine.connect() as conn:
            conn.execute(text("SELECT pg_advisory_lock(4490, 0)"))
            try:
                yield
            finally:
                conn.execute(text("SELECT pg_advisory_unlock(4490, 0)"))
                conn.commit()
        return
    database = make_url(store.url).database or ""
    lock_path = Path(f"{database}.seed.lock") if database not in ("", ":memory:") else None
    if lock_path is None:
        yield
        return
    with lock_path.open("w") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)
