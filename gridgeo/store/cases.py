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

from gridgeo.caseflow import CaseState, TaskState
from gridgeo.dataset import Dataset
from gridgeo.deadlines import Urgency, parse_urgency
from gridgeo.errors import GridgeoError, NotFoundError
from gridgeo.i18n import tr
from gridgeo.lookup import LookupResult
from gridgeo.store import schema as t
from gridgeo.store.audit import record
from gridgeo.store.case_events import record_report
from gridgeo.store.case_rows import CaseRow, CaseWithTasks, read_case
from gridgeo.store.codec import to_wkb
from gridgeo.store.core import Store
from gridgeo.textcheck import check_text, check_texts

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
    state: str = "reported"
    urgency: str = "normal"
    public_note: str | None = None
    closed_at: datetime | None = None
    expected_at: datetime | None = None  # the latest deadline in force of its active tasks
    next_deadline: datetime | None = None  # the earliest of the tasks still to be worked
    units: tuple[str, ...] = ()  # the units of its active tasks

    def overdue(self, now: datetime) -> bool:
        """A task still to be worked has passed its deadline in force."""
        return self.next_deadline is not None and self.next_deadline <= now

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
            "state": self.state,
            "state_zh": CaseState(self.state).label_zh,
            "urgency": self.urgency,
            "public_note": self.public_note,
            "closed_at": self.closed_at.isoformat() if self.closed_at else None,
            "expected_at": self.expected_at.isoformat() if self.expected_at else None,
            "next_deadline": self.next_deadline.isoformat() if self.next_deadline else None,
            "overdue": self.overdue(t.utcnow()),
            "units": list(self.units),
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
    urgency: str = "normal",
    at: datetime | None = None,
) -> CaseRecord:
    """Assign a reported point with ``data`` (its boundaries version) and store the case.

    The case starts ``reported`` (上报) with its ``report`` event; ``partner_units``
    is the dispatch suggestion (:func:`report_case` works it out). ``at`` is when
    it was reported (default now; the event-log import gives past times).

    The case, its ``media`` (content types as checked by the caller) and the audit
    entry are one transaction: a failure at any step leaves none of them.
    Raises CoordinateError for a point that is missing, out of range or in an
    unknown CRS (nothing is written). A point outside every grid is still
    stored, with no codes, so nobody's report is lost.
    """
    new = NewCase(
        lon=lon,
        lat=lat,
        crs=crs,
        category=category,
        description=description,
        address=address,
        reporter=reporter,
        urgency=urgency,
        attributes=attributes or {},
        media_url=media_url,
        media=tuple(media),
        at=at,
    )
    return _store_case(
        store, data, new, actor=actor, partner_units=partner_units, agency=agency_responsible
    )


def _store_case(
    store: Store,
    data: Dataset,
    new: NewCase,
    *,
    actor: str,
    partner_units: Sequence[dict[str, Any]],
    agency: str,
) -> CaseRecord:
    result = data.lookup(new.lon, new.lat, new.crs)  # a bad point fails before a transaction
    with store.transaction() as session:
        return insert_case(
            session,
            data,
            new,
            actor=actor,
            partner_units=partner_units,
            agency_responsible=agency,
            located=result,
        )


def insert_case(
    session: Session,
    data: Dataset,
    new: NewCase,
    *,
    actor: str,
    partner_units: Sequence[dict[str, Any]] = (),
    agency_responsible: str = "",
    located: LookupResult | None = None,
) -> CaseRecord:
    """:func:`create_case` inside the caller's transaction (``session``): the case, its
    media, its ``report`` event and the audit entry, flushed but not committed.

    ``located`` is the point's lookup when the caller has it already. Used where
    many cases go in one transaction (the event-log import). Raises as
    :func:`create_case` does.
    """
    result = located or data.lookup(new.lon, new.lat, new.crs)
    x, y = result.cgcs2000
    now = new.at or t.utcnow()
    case = t.Case(
        created_at=now,
        updated_at=now,
        status=t.CaseStatus.OPEN,
        state=CaseState.REPORTED.value,
        urgency=Urgency(new.urgency).value,
        revision=0,
        category=new.category,
        description=new.description,
        address=new.address,
        reporter=new.reporter,
        source_lon=float(new.lon),
        source_lat=float(new.lat),
        source_crs=new.crs,
        **_codes(result),
        workstation_code=result.workstation.code if result.workstation else None,
        partner_units=list(partner_units),
        agency_responsible=agency_responsible,
        boundary_version_id=data.version,
        attributes=dict(new.attributes),
        media_url=new.media_url,
        geom=to_wkb(shapely.Point(x, y)),
    )
    session.add(case)
    session.flush()
    media_ids = add_media(session, case.id, new.media, at=now)
    record_report(session, case.id, actor, now)
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


@dataclass(frozen=True)
class NewCase:
    """A report as it arrives from any entry point (CLI, ``/v1/cases``, Open311)."""

    lon: float
    lat: float
    crs: str = "wgs84"
    category: str = ""
    description: str = ""
    address: str = ""
    reporter: str = ""
    urgency: str = "normal"
    attributes: dict[str, Any] = field(default_factory=dict)
    media_url: str | None = None
    media: tuple[MediaUpload, ...] = ()
    at: datetime | None = None


def suggestion(data: Dataset, new: NewCase) -> tuple[list[dict[str, Any]], str]:
    """The 1+2+N dispatch suggestion of a report: its units with reasons, and who is responsible.

    The units are the workstation of the point's community when the routing rule
    involves the grid (the "2" work through it), then the partner units whose zones
    cover the point and whose type the rule names. Without a routing table, none.
    """
    if data.routing is None:
        return [], ""
    result = data.dispatch(new.lon, new.lat, new.category, new.crs)
    units: list[dict[str, Any]] = []
    ws = result.lookup.workstation
    if ws is not None and result.grid_involved:
        units.append(
            {"code": ws.code, "name": ws.name, "type": "workstation", "reason": result.grid_reason}
        )
    units += [
        {
            "code": m.partner.code,
            "name": m.partner.name,
            "type": m.partner.type.value,
            "reason": m.reason,
        }
        for m in result.partners
    ]
    agency = "；".join(dict.fromkeys(u["name"] for u in units if u["name"]))
    return units, agency


def report_case(store: Store, data: Dataset, new: NewCase, *, actor: str) -> CaseRecord:
    """Store a report as a case: the one way every entry point creates cases.

    The category is checked against the published categories (CategoryError
    naming it, with suggestions), the urgency against :class:`Urgency`, the
    point is assigned to its grid, and the dispatch suggestion is stored with
    the case; then :func:`create_case` writes it with its ``report`` event.
    """
    _check_texts(new)
    category = data.categories.resolve(new.category).code if new.category else ""
    urgency = parse_urgency(new.urgency)
    checked = replace(new, category=category, urgency=urgency.value)
    units, agency = suggestion(data, checked) if category else ([], "")
    return _store_case(store, data, checked, actor=actor, partner_units=units, agency=agency)


def _check_texts(new: NewCase) -> None:
    """Every text of a report storable (TextError naming the field otherwise)."""
    for name in ("crs", "category", "description", "address", "reporter", "urgency"):
        check_text(name, getattr(new, name))
    check_texts("attributes", new.attributes)
    check_text("media_url", new.media_url or "")
    for n, m in enumerate(new.media, start=1):
        check_text(tr("photo {n} filename", n=n), m.filename)


def add_media(
    session: Session,
    case_id: int,
    media: Iterable[MediaUpload],
    *,
    at: datetime,
    event_id: int | None = None,
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
            event_id=event_id,
        )
        for m in media
    ]
    session.add_all(rows)
    session.flush()
    return tuple(r.id for r in rows)


def _record(
    case: t.Case | CaseRow,
    x: float,
    y: float,
    media_ids: Sequence[int] = (),
    progress: Progress | None = None,
) -> CaseRecord:
    """The record of a case row whose point is (``x``, ``y``) and tasks ``progress``."""
    progress = progress or Progress()
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
        state=case.state,
        urgency=case.urgency,
        public_note=case.public_note,
        closed_at=case.closed_at,
        expected_at=progress.expected_at,
        next_deadline=progress.next_deadline,
        units=progress.units,
    )


@dataclass(frozen=True)
class Progress:
    """Where a case's tasks stand: the latest deadline in force of the active ones
    (Open311's ``expected_datetime``), the earliest of those still to be worked (overdue
    once passed), and the units working it."""

    expected_at: datetime | None = None
    next_deadline: datetime | None = None
    units: tuple[str, ...] = ()

    @classmethod
    def of(cls, tasks: Iterable[tuple[str, datetime, str]]) -> Progress:
        """From (state, deadline in force, unit) of each task."""
        active = [(s, d, u) for s, d, u in tasks if TaskState(s).is_active]
        working = [d for s, d, _ in active if TaskState(s).is_open]
        return cls(
            max((d for _, d, _ in active), default=None),
            min(working, default=None),
            tuple(dict.fromkeys(u for _, _, u in active)),
        )


def _load(session: Session, case: t.Case) -> CaseRecord:
    """The record of one case row, its point, media and tasks read from the database."""
    return record_of(read_case(session, case.id))


def record_of(found: CaseWithTasks) -> CaseRecord:
    """The record of a case read with its tasks (:func:`~gridgeo.store.case_rows.read_case`)."""
    case = found.case
    progress = Progress.of((x.state, x.deadline, x.unit_code) for x in found.tasks)
    return _record(case, case.x, case.y, case.media_ids, progress)


def _progress(session: Session, case_ids: Sequence[int]) -> dict[int, Progress]:
    """The :class:`Progress` of each of ``case_ids`` (one query for a page)."""
    if not case_ids:
        return {}
    rows = session.execute(
        select(t.CaseTask.case_id, t.CaseTask.state, t.CaseTask.deadline, t.CaseTask.unit_code)
        .where(t.CaseTask.case_id.in_(list(case_ids)))
        .order_by(t.CaseTask.id)
    )
    by_case: dict[int, list[tuple[str, datetime, str]]] = {}
    for case_id, state, deadline, unit in rows:
        by_case.setdefault(case_id, []).append((state, deadline, unit))
    return {case_id: Progress.of(tasks) for case_id, tasks in by_case.items()}


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
        raise NotFoundError(tr("case {case} does not exist", case=case_id))
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
            raise NotFoundError(tr("media {media} does not exist", media=media_id))
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
    state: Choice = None
    bbox: tuple[float, float, float, float] | None = None


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
    if t.holds_nul(q.status, q.category, q.state, q.grid_code):
        return []  # no stored text holds a NUL (PostgreSQL would refuse to bind it)
    stmt = (
        select(t.Case, func.ST_X(t.Case.geom), func.ST_Y(t.Case.geom))
        .order_by(t.Case.id.desc())
        .limit(q.limit)
        .offset(q.offset)
    )
    conditions = [
        _any_of(t.Case.status, q.status),
        _any_of(t.Case.category, q.category),
        _any_of(t.Case.state, q.state),
    ]
    if q.bbox is not None:
        west, south, east, north = q.bbox
        conditions.append(func.ST_X(t.Case.geom).between(west, east))
        conditions.append(func.ST_Y(t.Case.geom).between(south, north))
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
        ids = [case.id for case, _, _ in rows]
        media, progress = _media_ids(session, ids), _progress(session, ids)
        return [
            _record(case, x, y, media.get(case.id, ()), progress.get(case.id))
            for case, x, y in rows
        ]


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

    A closed case's ``closed_at`` is when it was closed (结案), so one whose
    ``closed_at`` is before the cutoff has been closed at least that long. Open
    cases keep their photos whatever their age. A dry run (the default) only
    counts; with ``commit`` the photos go in one transaction with an audit entry.
    The cases themselves, and a ``media_url`` a client gave, are kept. Counting
    and deleting select the cases in SQL (no list of ids, so any number of
    photos), and the result counts what was deleted.
    """
    if older_than < timedelta(0):
        raise GridgeoError(tr("older_than must not be negative, got {value}", value=older_than))
    cutoff = (now or t.utcnow()) - older_than
    stale = select(t.Case.id).where(
        t.Case.state == CaseState.CLOSED.value, t.Case.closed_at < cutoff
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
