"""Build the core's Dataset from stored versions (the published ones, or one of history)."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from gridgeo.errors import NotFoundError
from gridgeo.io.dataset import Dataset
from gridgeo.settings import Settings
from gridgeo.store import schema as t
from gridgeo.store.core import Store
from gridgeo.store.responsibility import load_partners, load_routing
from gridgeo.store.snapshots import (
    get_version,
    load_grids,
    load_staff,
    load_workstations,
    published_version,
)


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
    store: Store, settings: Settings, boundaries_version: int | None = None
) -> Dataset:
    """The Dataset of a boundaries version (default: the published one) with the published
    roster, partners and routing.

    Raises NotFoundError when nothing is published and no version is given.
    """
    with store.reading() as session:
        if boundaries_version is None:
            current = published_version(session)
            if current is None:
                raise NotFoundError(
                    "the store has no published boundaries version: `gridgeo import FILE "
                    "--commit` then `gridgeo publish VERSION`"
                )
            boundaries_version = current.id
        get_version(session, boundaries_version, t.VersionKind.BOUNDARIES)
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
                kind: f"store version {v.id}"
                for kind, v in (("staff", roster), ("partners", partners), ("routing", routing))
                if v is not None
            },
        )
