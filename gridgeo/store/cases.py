"""Cases: reported problems, the grids they were assigned to and the version that decided it.

A case keeps the boundary version it was assigned under: publishing new
boundaries does not move it. ``reassign`` moves open cases to another version
explicitly and reports which of them landed in another grid.

A case may carry media (the Open311 media extensions): a ``media_url`` the
reporter gave, and photos uploaded with it, stored in ``case_media`` in the
same transaction as the case.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any, cast

import shapely
from sqlalchemy import delete, distinct, func, select
from sqlalchemy.engine import CursorResult
from sqlalchemy.orm import Session

from gridgeo.errors import GridgeoError, NotFoundError
from gridgeo.io.dataset import Dataset
from gridgeo.lookup import LookupResult
from gridgeo.store import schema as t
from gridgeo.store.audit import record
from gridgeo.store.codec import to_wkb
from gridgeo.store.core import Store

LEVELS = range(1, 6)


@dataclass(frozen=True)
class CaseRecord:
    """A stored case, as the API and CLI show it."""

    id: int
    status: str
    category: str
    description: str
    address: str
    lon: float
    lat: float
    source: dict[str, Any]
    codes: dict[int, str | None]
    workstation_code: str | None
    partner_units: list[dict[str, Any]]
    agency_responsible: str
    boundary_version: int | None
    created_at: datetime
    updated_at: datetime
    attributes: dict[str, Any] = field(default_factory=dict)
    media_url: str | None = None
    media_ids: tuple[int, ...] = ()

    @property
    def grid_code(self) -> str | None:
        """The deepest grid the case was assigned to."""
        return next((self.codes[n] for n in reversed(LEVELS) if self.codes.get(n)), None)

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "status": self.status,
            "category": self.category,
            "description": self.description,
            "address": self.address,
            "point": {"lon": self.lon, "lat": self.lat, "crs": "EPSG:4490"},
            "input": self.source,
            "grid_code": self.grid_code,
            "codes": {f"code_l{n}": self.codes.get(n) for n in LEVELS},
            "workstation_code": self.workstation_code,
            "partner_units": self.partner_units,
            "agency_responsible": self.agency_responsible,
            "boundary_version": self.boundary_version,
            "created_at": self.created_at.isoformat(),
            "updated_at": self.updated_at.isoformat(),
            "attributes": self.attributes,
            "media_url": self.media_url,
            "media_ids": list(self.media_ids),
        }


@dataclass(frozen=True)
class MediaUpload:
    """A file to store with a new case: its (checked) content type, bytes and given name."""

    content_type: str
    data: bytes
    filename: str = ""


@dataclass(frozen=True)
class StoredMedia:
    """A file stored with a case."""

    id: int
    case_id: int
    content_type: str
    size: int
    sha256: str
    filename: str
    created_at: datetime
    data: bytes


def _codes(result: LookupResult) -> dict[str, str | None]:
    by_level = {int(g.level): g.code for g in result.grids}
    return {f"code_l{n}": by_level.get(n) for n in LEVELS}


def create_case(
    store: Store,
    data: Dataset,
    *,
    lon: float,
    lat: float,
    crs: str = "wgs84",
    category: str = "",
    description: str = "",
    address: str = "",
    reporter: str = "",
    actor: str,
    partner_units: Sequence[dict[str, Any]] = (),
    agency_responsible: str = "",
    attributes: dict[str, Any] | None = None,
    media_url: str | None = None,
    media: Sequence[MediaUpload] = (),
) -> CaseRecord:
    """Assign a reported point with ``data`` (its boundaries version) and store the case.

    The case, its ``media`` (content types as checked by the caller) and the audit
    entry are one transaction: a failure at any step leaves none of them.
    Raises CoordinateError for a point that is missing, out of range or in an
    unknown CRS (nothing is written). A point outside every grid is still
    stored, with no codes, so nobody's report is lost.
    """
    result = data.lookup(lon, lat, crs)
    x, y = result.cgcs2000
    now = t.utcnow()
    with store.transaction() as session:
        case = t.Case(
            created_at=now,
            updated_at=now,
            status=t.CaseStatus.OPEN,
            category=category,
            description=description,
            address=address,
            reporter=reporter,
            source_lon=float(lon),
            source_lat=float(lat),
            source_crs=crs,
            **_codes(result),
            workstation_code=result.workstation.code if result.workstation else None,
            partner_units=list(partner_units),
            agency_responsible=agency_responsible,
            boundary_version_id=data.version,
            attributes=attributes or {},
            media_url=media_url,
            geom=to_wkb(shapely.Point(x, y)),
        )
        session.add(case)
        session.flush()
        media_ids = add_media(session, case.id, media, at=now)
        record(
            session,
            actor=actor,
            action="case.create",
            entity="case",
            entity_id=case.id,
            grid=result.leaf.code if result.leaf else None,
            version=data.version,
            media=len(media_ids),
        )
        return _record(case, x, y, media_ids)


def add_media(
    session: Session, case_id: int, media: Iterable[MediaUpload], *, at: datetime
) -> tuple[int, ...]:
    """Store ``media`` for the case in ``session``'s transaction; their new ids."""
    rows = [
        t.CaseMedia(
            case_id=case_id,
            content_type=m.content_type,
            size=len(m.data),
            sha256=hashlib.sha256(m.data).hexdigest(),
            filename=m.filename[:255],
            data=m.data,
            created_at=at,
        )
        for m in media
    ]
    session.add_all(rows)
    session.flush()
    return tuple(r.id for r in rows)


def _record(case: t.Case, x: float, y: float, media_ids: Sequence[int] = ()) -> CaseRecord:
    """The record of a case row whose point is (``x``, ``y``)."""
    return CaseRecord(
        id=case.id,
        status=case.status,
        category=case.category,
        description=case.description,
        address=case.address,
        lon=float(x),
        lat=float(y),
        source={"lon": case.source_lon, "lat": case.source_lat, "crs": case.source_crs},
        codes={n: getattr(case, f"code_l{n}") for n in LEVELS},
        workstation_code=case.workstation_code,
        partner_units=list(case.partner_units or []),
        agency_responsible=case.agency_responsible,
        boundary_version=case.boundary_version_id,
        created_at=case.created_at,
        updated_at=case.updated_at,
        attributes=dict(case.attributes or {}),
        media_url=case.media_url,
        media_ids=tuple(media_ids),
    )


def _load(session: Session, case: t.Case) -> CaseRecord:
    """The record of one case row, its point and media ids read from the database."""
    x, y = session.execute(select(func.ST_X(case.geom), func.ST_Y(case.geom))).one()
    return _record(case, x, y, _media_ids(session, [case.id]).get(case.id, ()))


def _media_ids(session: Session, case_ids: Sequence[int]) -> dict[int, list[int]]:
    """The media of each of ``case_ids``, oldest first (one query for a whole page)."""
    found: dict[int, list[int]] = {}
    if not case_ids:
        return found
    rows = session.execute(
        select(t.CaseMedia.case_id, t.CaseMedia.id)
        .where(t.CaseMedia.case_id.in_(list(case_ids)))
        .order_by(t.CaseMedia.id)
    )
    for case_id, media_id in rows:
        found.setdefault(case_id, []).append(media_id)
    return found


def _case_row(session: Session, case_id: int) -> t.Case:
    case = session.get(t.Case, case_id)
    if case is None:
        raise NotFoundError(f"case {case_id} does not exist")
    return case


def get_case(store: Store, case_id: int) -> CaseRecord:
    """The case ``case_id``; NotFoundError when there is none."""
    with store.reading() as session:
        return _load(session, _case_row(session, case_id))


def get_media(store: Store, media_id: int) -> StoredMedia:
    """The stored file ``media_id`` with its bytes; NotFoundError when there is none."""
    with store.reading() as session:
        row = session.get(t.CaseMedia, media_id)
        if row is None:
            raise NotFoundError(f"media {media_id} does not exist")
        return StoredMedia(
            id=row.id,
            case_id=row.case_id,
            content_type=row.content_type,
            size=row.size,
            sha256=row.sha256,
            filename=row.filename,
            created_at=row.created_at,
            data=bytes(row.data),
        )


Choice = str | Sequence[str] | None


@dataclass(frozen=True)
class CaseQuery:
    """Filters of a case listing (Open311's ``GET requests`` filters among them).

    ``status`` and ``category`` take one value or a sequence of values (any of them).
    """

    ids: Sequence[int] = ()
    status: Choice = None
    category: Choice = None
    start: datetime | None = None
    end: datetime | None = None
    grid_code: str | None = None
    limit: int = 1000
    offset: int = 0


def _any_of(column: Any, wanted: Choice) -> Any:
    """``column = value`` or ``column IN (values)``; None when ``wanted`` filters nothing."""
    if wanted is None or isinstance(wanted, str):
        return None if not wanted else column == wanted
    values = list(dict.fromkeys(wanted))
    return column.in_(values) if values else None


def list_cases(store: Store, query: CaseQuery | None = None) -> list[CaseRecord]:
    """Cases matching ``query``, newest first, ``limit`` of them from ``offset``.

    Every filter is SQL, so a page of a listing with several statuses or
    categories is cut from one ordered result: pages neither overlap nor skip.
    """
    q = query or CaseQuery()
    stmt = (
        select(t.Case, func.ST_X(t.Case.geom), func.ST_Y(t.Case.geom))
        .order_by(t.Case.id.desc())
        .limit(q.limit)
        .offset(q.offset)
    )
    conditions = [_any_of(t.Case.status, q.status), _any_of(t.Case.category, q.category)]
    if q.ids:
        conditions.append(t.Case.id.in_(list(q.ids)))
    if q.start:
        conditions.append(t.Case.created_at >= q.start)
    if q.end:
        conditions.append(t.Case.created_at <= q.end)
    if q.grid_code:
        level = len(q.grid_code)  # codes are prefix-nested; match the column of that depth
        column = {6: t.Case.code_l2, 9: t.Case.code_l3, 12: t.Case.code_l4}.get(level)
        conditions.append((column if column is not None else t.Case.code_l5) == q.grid_code)
    stmt = stmt.where(*(c for c in conditions if c is not None))
    with store.reading() as session:
        rows = session.execute(stmt).all()
        media = _media_ids(session, [case.id for case, _, _ in rows])
        return [_record(case, x, y, media.get(case.id, ())) for case, x, y in rows]


def set_status(store: Store, case_id: int, status: str, *, actor: str) -> CaseRecord:
    """Open or close a case. Asking for the status it has changes nothing (its
    ``updated_at``, which times photo pruning, stays)."""
    with store.transaction() as session:
        case = _case_row(session, case_id)
        if case.status == t.CaseStatus(status):
            return _load(session, case)
        old, case.status, case.updated_at = case.status, t.CaseStatus(status), t.utcnow()
        record(
            session,
            actor=actor,
            action="case.status",
            entity="case",
            entity_id=case_id,
            old=old,
            new=case.status,
        )
        return _load(session, case)


@dataclass(frozen=True)
class MediaPrune:
    """What :func:`prune_media` found: photos of cases closed before ``cutoff``.

    ``removed`` says whether they were deleted (False: a dry run).
    """

    cutoff: datetime
    media: int
    cases: int
    bytes: int
    removed: bool

    def to_dict(self) -> dict[str, Any]:
        return {
            "cutoff": self.cutoff.isoformat(),
            "media": self.media,
            "cases": self.cases,
            "bytes": self.bytes,
            "removed": self.removed,
        }


def prune_media(
    store: Store,
    *,
    older_than: timedelta,
    actor: str,
    commit: bool = False,
    now: datetime | None = None,
) -> MediaPrune:
    """Delete the stored photos of cases closed more than ``older_than`` ago.

    A case's ``updated_at`` is when it last changed (opened, closed or reassigned),
    so a closed case whose ``updated_at`` is before the cutoff has been closed at
    least that long. Open cases keep their photos whatever their age. A dry run
    (the default) only counts; with ``commit`` the photos go in one transaction
    with an audit entry. The cases themselves, and a ``media_url`` a client gave,
    are kept. Counting and deleting select the cases in SQL (no list of ids, so
    any number of photos), and the delete re-checks them: a case reopened
    meanwhile keeps its photos, and the result counts what was deleted.
    """
    if older_than < timedelta(0):
        raise GridgeoError(f"older_than must not be negative, got {older_than}")
    cutoff = (now or t.utcnow()) - older_than
    stale = select(t.Case.id).where(
        t.Case.status == t.CaseStatus.CLOSED, t.Case.updated_at < cutoff
    )
    of_stale = t.CaseMedia.case_id.in_(stale)
    with store.transaction() as session:
        media, cases, size = session.execute(
            select(
                func.count(t.CaseMedia.id),
                func.count(distinct(t.CaseMedia.case_id)),
                func.coalesce(func.sum(t.CaseMedia.size), 0),
            ).where(of_stale)
        ).one()
        found = MediaPrune(cutoff, int(media), int(cases), int(size), removed=False)
        if commit and found.media:
            done = session.execute(delete(t.CaseMedia).where(of_stale))
            deleted = cast("CursorResult[Any]", done).rowcount  # a DML statement's result
            found = replace(found, media=deleted, removed=deleted > 0)
            record(
                session,
                actor=actor,
                action="media.prune",
                entity="case_media",
                cutoff=cutoff.isoformat(),
                media=found.media,
                cases=found.cases,
                bytes=found.bytes,
            )
    return found


@dataclass(frozen=True)
class Move:
    """A case whose grid changed on reassignment."""

    case_id: int
    old_code: str | None
    new_code: str | None
    old_version: int | None


@dataclass(frozen=True)
class ReassignReport:
    """What ``reassign`` did: how many open cases, which moved."""

    to_version: int | None
    open_cases: int
    moved: list[Move]

    def to_dict(self) -> dict[str, Any]:
        return {
            "to_version": self.to_version,
            "open_cases": self.open_cases,
            "moved": [m.__dict__ for m in self.moved],
        }


def reassign(store: Store, data: Dataset, *, actor: str) -> ReassignReport:
    """Re-assign every open case with ``data`` (a boundaries version), in one transaction.

    Each case is located again from its stored CGCS2000 point (so conversions
    are not repeated), gets the new version's codes and workstation, and is
    reported when its deepest grid changed.
    """
    moved: list[Move] = []
    with store.transaction() as session:
        rows = session.execute(
            select(t.Case, func.ST_X(t.Case.geom), func.ST_Y(t.Case.geom)).where(
                t.Case.status == t.CaseStatus.OPEN
            )
        ).all()
        for case, x, y in rows:
            result = data.lookup(float(x), float(y), "cgcs2000")
            old_leaf = next(
                (
                    getattr(case, f"code_l{n}")
                    for n in (5, 4, 3, 2, 1)
                    if getattr(case, f"code_l{n}")
                ),
                None,
            )
            for column, code in _codes(result).items():
                setattr(case, column, code)
            case.workstation_code = result.workstation.code if result.workstation else None
            new_leaf = result.leaf.code if result.leaf else None
            if new_leaf != old_leaf:
                moved.append(Move(case.id, old_leaf, new_leaf, case.boundary_version_id))
            case.boundary_version_id = data.version
            case.updated_at = t.utcnow()
        record(
            session,
            actor=actor,
            action="case.reassign",
            entity="version",
            entity_id=data.version or "",
            open_cases=len(rows),
            moved=len(moved),
        )
    return ReassignReport(data.version, len(rows), moved)
