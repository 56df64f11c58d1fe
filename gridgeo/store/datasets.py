"""Build the core's Dataset from stored versions (the published ones, or one of history)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import select
from sqlalchemy.orm import Session

from gridgeo.errors import GridgeoError, NotFoundError
from gridgeo.i18n import tr
from gridgeo.index import GridIndex
from gridgeo.index.cache import index_of_version, version_name
from gridgeo.settings import Settings
from gridgeo.store import schema as t
from gridgeo.store.core import Store
from gridgeo.store.seed import seed_if_empty
from gridgeo.store.snapshots import (
    get_version,
    issued_grid_codes,
    load_grids,
    load_staff,
    load_workstations,
    published_version,
    stored_source,
    version_at,
)
from gridgeo.workstation import Workstation

if TYPE_CHECKING:  # a Dataset (its rules, its dispatch) only where one is loaded: not for
    from gridgeo.dataset import Dataset  # ``gridgeo assign``, which takes the index alone


@dataclass(frozen=True)
class PublishedKey:
    """The published version of every kind: a cheap fingerprint of what a service serves."""

    boundaries: int | None
    roster: int | None
    partners: int | None
    routing: int | None


def published_key(session: Session) -> PublishedKey:
    """One indexed query: which version of each kind is published."""
    rows = dict(
        session.execute(
            select(t.Version.kind, t.Version.id).where(t.Version.status == "published")
        ).all()
    )
    return PublishedKey(
        rows.get(t.VersionKind.BOUNDARIES),
        rows.get(t.VersionKind.ROSTER),
        rows.get(t.VersionKind.PARTNERS),
        rows.get(t.VersionKind.ROUTING),
    )


def load_dataset(
    store: Store,
    settings: Settings,
    boundaries_version: int | None = None,
    *,
    published_at: datetime | None = None,
) -> Dataset:
    """The Dataset of a boundaries version (default: the published one) with the published
    roster, partners and routing. ``published_at``: the version is the one published
    then, and its source says so.

    Raises NotFoundError when nothing is published and no version is given.
    """
    from gridgeo.dataset import Dataset
    from gridgeo.store.responsibility import load_partners, load_routing

    with store.reading() as session:
        row, source = _boundaries_version(session, boundaries_version, published_at)
        boundaries_version = row.id
        roster = published_version(session, t.VersionKind.ROSTER)
        partners = published_version(session, t.VersionKind.PARTNERS)
        routing = published_version(session, t.VersionKind.ROUTING)
        return Dataset(
            load_grids(session, boundaries_version, settings.scheme),
            load_workstations(session, boundaries_version),
            load_staff(session, roster.id) if roster else [],
            settings,
            version=boundaries_version,
            partners=load_partners(session, partners.id) if partners else [],
            routing=load_routing(session, routing.id) if routing else None,
            sources={
                "boundaries": source,
                **{
                    kind: stored_source(v.id)
                    for kind, v in (
                        ("staff", roster),
                        ("partners", partners),
                        ("routing", routing),
                    )
                    if v is not None
                },
            },
        )


def _boundaries_version(
    session: Session, boundaries_version: int | None, published_at: datetime | None
) -> tuple[t.Version, str]:
    """The boundaries version (default: the published one) and the text naming it."""
    current = published_version(session)
    if boundaries_version is None:
        if current is None:
            raise NotFoundError(
                tr(
                    "the store has no published boundaries version: `gridgeo import FILE "
                    "--commit` then `gridgeo publish VERSION`"
                )
            )
        boundaries_version = current.id
    source = stored_source(boundaries_version)
    if published_at is not None:
        at = published_at.isoformat()
        source = tr("{source} (published at {at})", source=source, at=at)
    elif current is not None and current.id == boundaries_version:
        source = tr("{source} (published)", source=source)
    return get_version(session, boundaries_version, t.VersionKind.BOUNDARIES), source


@dataclass(frozen=True)
class StoredIndex:
    """What a batch assignment takes from a stored boundaries version: its index, its
    workstations, its number and the text naming it (``store version 3 (published)``)."""

    index: GridIndex
    workstations: list[Workstation]
    version: int
    source: str


def open_index(
    settings: Settings, *, version: int | None = None, at: datetime | None = None
) -> StoredIndex:
    """The index of a boundaries version of the store (default: the published one; ``at``:
    the one published then), as :func:`open_dataset` picks it, without loading the rest of
    the Dataset, nor the version's grids once this machine has indexed them
    (:func:`gridgeo.index.cache.index_of_version`).

    Raises as :func:`open_dataset`.
    """
    with _opened(settings, version, at) as store, store.reading() as session:
        if at is not None:
            version = version_at(session, at)
        row, source = _boundaries_version(session, version, at)
        index = index_of_version(
            stored_version_name(settings, row),
            lambda: load_grids(session, row.id, settings.scheme),
            settings.store.index_folder,
        )
        return StoredIndex(index, load_workstations(session, row.id), row.id, source)


def stored_version_name(settings: Settings, version: t.Version) -> str:
    """The name of a stored boundaries version that finds its index file
    (:func:`gridgeo.index.cache.version_name`)."""
    url, scheme = settings.store.database_url, settings.scheme
    return version_name(url, version.id, version.created_at, scheme)


@contextmanager
def _opened(settings: Settings, version: int | None, at: datetime | None) -> Iterator[Store]:
    """The store, an empty one first filled with the sample data when
    ``settings.store.seed_sample``; refuses both a version and a time."""
    if version is not None and at is not None:
        raise GridgeoError(tr("give either a version or a time, not both"))
    with Store(settings.store.database_url) as store:
        if settings.store.seed_sample:
            seed_if_empty(store, settings)
        yield store


def published_dataset(store: Store, settings: Settings) -> Dataset:
    """:func:`load_dataset` of the published version, an empty store first filled with
    the sample data when ``settings.store.seed_sample``, as the service does on first start:
    every command and the service answer alike on a new machine."""
    if settings.store.seed_sample:
        seed_if_empty(store, settings)
    return load_dataset(store, settings)


def open_dataset(
    settings: Settings, *, version: int | None = None, at: datetime | None = None
) -> Dataset:
    """The Dataset of the store at ``settings.store.database_url``, as :func:`load_dataset`.

    ``at`` picks the boundaries version published at that time. An empty store
    is first filled with the sample data when ``settings.store.seed_sample`` (as the
    service does on first start), so a command on a new machine answers.

    Raises
    ------
    GridgeoError
        Both ``version`` and ``at`` given.
    NotFoundError
        No such version, nothing published (then), or no store.
    """
    with _opened(settings, version, at) as store:
        if at is not None:
            with store.reading() as session:
                version = version_at(session, at)
            return load_dataset(store, settings, version, published_at=at)
        return load_dataset(store, settings, version)


def issued_codes(settings: Settings) -> set[str]:
    """The fifth-level codes the store's published versions have held (see
    :func:`gridgeo.store.snapshots.issued_grid_codes`)."""
    with Store(settings.store.database_url) as store, store.reading() as session:
        return issued_grid_codes(session)
