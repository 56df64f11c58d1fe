"""Read a stored version back as the core's objects (GridSet, workstations, staff)."""

from __future__ import annotations

import math
from datetime import datetime
from typing import Any

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from gridgeo.codes import CodeScheme
from gridgeo.errors import NotFoundError
from gridgeo.i18n import tr
from gridgeo.levels import Level
from gridgeo.model import GridSet
from gridgeo.staffing import Employment, Post, StaffMember
from gridgeo.store import schema as t
from gridgeo.store.codec import from_wkb
from gridgeo.workstation import Workstation as WorkstationPoint


def version_label(version_id: int, kind: str | None = None) -> str:
    """``boundaries version 3`` (``边界版本 3``): a version as messages name it."""
    if kind == t.VersionKind.BOUNDARIES:
        return tr("boundaries version {id}", id=version_id)
    if kind == t.VersionKind.ROSTER:
        return tr("roster version {id}", id=version_id)
    if kind == t.VersionKind.PARTNERS:
        return tr("partners version {id}", id=version_id)
    if kind == t.VersionKind.ROUTING:
        return tr("routing version {id}", id=version_id)
    return tr("version {id}", id=version_id)


def stored_source(version_id: int) -> str:
    """Where data read from the store came from, as findings and listings name it."""
    return tr("store version {id}", id=version_id)


def get_version(session: Session, version_id: int, kind: str | None = None) -> t.Version:
    """The version row, or NotFoundError naming the id (and kind when given)."""
    # an id no column holds is no version (the drivers refuse to bind one past 64 bits)
    version = session.get(t.Version, version_id) if 1 <= version_id <= t.MAX_ID else None
    if version is None or (kind is not None and version.kind != kind):
        raise NotFoundError(
            tr(
                "{version} does not exist (see `gridgeo versions`)",
                version=version_label(version_id, kind),
            )
        )
    return version


def published_version(session: Session, kind: str = t.VersionKind.BOUNDARIES) -> t.Version | None:
    """The published version of ``kind``, if any."""
    return session.scalars(
        select(t.Version).where(t.Version.kind == kind, t.Version.status == "published")
    ).one_or_none()


def version_at(session: Session, when: datetime, kind: str = t.VersionKind.BOUNDARIES) -> int:
    """The version of ``kind`` that was published at ``when`` (history, rollbacks included)."""
    stmt = (
        select(t.Publication.version_id)
        .where(
            t.Publication.kind == kind,
            t.Publication.started_at <= when,
            or_(t.Publication.ended_at.is_(None), t.Publication.ended_at > when),
        )
        .order_by(t.Publication.started_at.desc())
        .limit(1)
    )
    found = session.scalars(stmt).first()
    if found is None:
        if kind == t.VersionKind.BOUNDARIES:
            message = tr("no boundaries version was published at {when}", when=when.isoformat())
        else:
            message = tr(
                "no {kind} version was published at {when}", kind=kind, when=when.isoformat()
            )
        raise NotFoundError(message)
    return found


def published_history(session: Session, kind: str = t.VersionKind.BOUNDARIES) -> list[int]:
    """Versions of ``kind`` that have been published, the most recently published first."""
    rows = session.execute(
        select(t.Publication.version_id, func.max(t.Publication.started_at).label("last"))
        .where(t.Publication.kind == kind)
        .group_by(t.Publication.version_id)
        .order_by(func.max(t.Publication.started_at).desc())
    ).all()
    return [int(row.version_id) for row in rows]


def load_grids(session: Session, version_id: int, scheme: CodeScheme | None = None) -> GridSet:
    """The grids of a boundaries version as a GridSet, extra attributes restored as columns."""
    get_version(session, version_id, t.VersionKind.BOUNDARIES)
    rows = session.execute(
        select(
            t.Grid.code,
            t.Grid.name,
            t.Grid.level,
            t.Grid.parent_code,
            t.Grid.ref,
            t.Grid.attributes,
            func.ST_AsBinary(t.Grid.geom),
        )
        .where(t.Grid.version_id == version_id)
        .order_by(t.Grid.id)
    ).all()
    return GridSet.from_records(
        codes=[r[0] for r in rows],
        names=[r[1] for r in rows],
        levels=[r[2] for r in rows],
        parent_codes=[r[3] for r in rows],
        refs=[r[4] for r in rows],
        geometries=from_wkb([r[6] for r in rows]),
        extra=_attribute_columns([r[5] or {} for r in rows]),
        scheme=scheme,
    )


def _attribute_columns(attributes: list[dict[str, Any]]) -> dict[str, list[Any]]:
    """The grids' extra attributes as columns, in order of first appearance; a grid
    without one has NaN there, as a table read from a file would."""
    names: dict[str, None] = {}
    for row in attributes:
        names.update(dict.fromkeys(row))
    return {name: [row.get(name, math.nan) for row in attributes] for name in names}


def load_workstations(session: Session, version_id: int) -> list[WorkstationPoint]:
    """The workstations stored with a boundaries version."""
    rows = session.execute(
        select(
            t.Workstation.code,
            t.Workstation.name,
            func.ST_X(t.Workstation.geom),
            func.ST_Y(t.Workstation.geom),
            t.Workstation.community_codes,
            t.Workstation.address,
            t.Workstation.illustrative,
            t.Workstation.note,
        )
        .where(t.Workstation.version_id == version_id)
        .order_by(t.Workstation.code)
    ).all()
    return [
        WorkstationPoint(code, name, float(x), float(y), tuple(comm), addr, bool(ill), note)
        for code, name, x, y, comm, addr, ill, note in rows
    ]


def load_staff(session: Session, version_id: int) -> list[StaffMember]:
    """The people of a roster version."""
    rows = session.scalars(
        select(t.Staff).where(t.Staff.version_id == version_id).order_by(t.Staff.id)
    ).all()
    return [
        StaffMember(
            r.person_id,
            r.name,
            Post(r.role),
            Employment(r.employment),
            r.grid_code,
            r.title,
            r.phone,
        )
        for r in rows
    ]


def issued_grid_codes(session: Session) -> set[str]:
    """Every fifth-level code a published version has held (the published one and the
    retired ones): numbering never gives one of them again."""
    rows = session.scalars(
        select(t.Grid.code)
        .join(t.Version, t.Version.id == t.Grid.version_id)
        .where(
            t.Version.status.in_((t.VersionStatus.PUBLISHED, t.VersionStatus.RETIRED)),
            t.Grid.level == int(Level.GRID),
        )
        .distinct()
    )
    return {str(code) for code in rows if code}
