"""Tables of the store (SQLAlchemy 2 + GeoAlchemy2), one definition for PostGIS and SpatiaLite.

Every geometry is stored in EPSG:4490 (CGCS2000) with a spatial index.

Versioning: each import writes a :class:`Version` of one *kind* (``boundaries``
holds grids and workstations; ``roster`` staff; ``partners`` partner units;
``routing`` the category routing table) and its rows carry that version's id.
A version is therefore a complete snapshot, and the *version range* of a
grid row is the set of publication intervals of its version
(:class:`Publication`). Snapshots rather than per-row ``valid_from/valid_to``
ranges because drafts branch from the published version and a rollback
re-activates an old one: history is not linear, so row ranges would have to
be rewritten on every rollback, whereas snapshots never change once written.
At most one version per kind is ``published`` (a partial unique index makes
that a database guarantee, not a convention).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Any

from geoalchemy2 import Geometry
from sqlalchemy import (
    JSON,
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
    text,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

SRID = 4490

# Deterministic constraint names, so Alembic migrations can refer to them on both backends.
NAMING = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def utcnow() -> datetime:
    return datetime.now(UTC)


MAX_ID = 2**31 - 1
"""The largest row id: ids are 32-bit integer columns on both backends."""

EARLIEST = datetime.min.replace(tzinfo=UTC)
LATEST = datetime.max.replace(tzinfo=UTC)


def as_utc(value: datetime) -> datetime:
    """``value`` in UTC (a naive one taken as UTC).

    An instant whose UTC time leaves Python's years 1 to 9999 (year 1 with an offset
    east of Greenwich, 9999 west of it) is the calendar's first or last instant: no
    stored time lies beyond either, so a comparison with it keeps its meaning where
    ``astimezone`` would raise OverflowError (a 500 for a filter a client typed).

    >>> as_utc(datetime.fromisoformat("0001-01-01T00:00+08:00")) == EARLIEST
    True
    >>> as_utc(datetime.fromisoformat("2026-05-01T08:00+08:00")).isoformat()
    '2026-05-01T00:00:00+00:00'
    """
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    try:
        return value.astimezone(UTC)
    except OverflowError:
        return EARLIEST if value.year == 1 else LATEST


def holds_nul(*values: object) -> bool:
    """Whether a text among ``values``, or in a list or tuple among them, holds a NUL.

    No stored text does (the text checks refuse it before a write) and PostgreSQL
    refuses to bind one (a DataError, a 500): a filter holding one matches nothing.

    >>> holds_nul("0505", ("open", "a\\x00"), None)
    True
    """
    for value in values:
        if isinstance(value, str) and "\x00" in value:
            return True
        if isinstance(value, list | tuple) and holds_nul(*value):
            return True
    return False


def shifted(value: datetime, delta: timedelta) -> datetime:
    """``value + delta``, held at the calendar's first or last instant rather than
    overflowing (a window of days around a date at either end of the calendar)."""
    try:
        return value + delta
    except OverflowError:
        return LATEST if delta > timedelta(0) else EARLIEST


class UTCDateTime(TypeDecorator[datetime]):
    """A timestamp that is always timezone-aware UTC in Python.

    SQLite keeps no zone, so without this a value read back is naive and cannot be
    compared with one from PostgreSQL or ``utcnow()``.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return as_utc(value)  # an instant past the calendar's ends is that end

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class VersionKind(StrEnum):
    """What a version holds."""

    BOUNDARIES = "boundaries"
    ROSTER = "roster"
    PARTNERS = "partners"
    ROUTING = "routing"


class VersionStatus(StrEnum):
    """The life of a version: draft -> published -> retired (-> published again on rollback).

    A draft edited in the browser and saved again is *superseded* by the new draft
    (``superseded_by``); a save on a superseded draft is stale (HTTP 409).
    """

    DRAFT = "draft"
    PUBLISHED = "published"
    RETIRED = "retired"
    SUPERSEDED = "superseded"


class CaseStatus(StrEnum):
    """Open311 statuses: a case is open until closed or rejected (kept beside the
    case's ``state`` of the work loop, from which the case core derives it, so that
    Open311 filters stay one indexed equality)."""

    OPEN = "open"
    CLOSED = "closed"


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


class VersionRow:
    """A row that belongs to one version (deleted with it)."""

    version_id: Mapped[int] = mapped_column(
        ForeignKey("versions.id", ondelete="CASCADE"), index=True
    )


class Version(Base):
    """One imported snapshot of boundaries, roster, partners or routing."""

    __tablename__ = "versions"
    __table_args__ = (
        Index(
            "uq_versions_one_published",
            "kind",
            unique=True,
            sqlite_where=text("status = 'published'"),
            postgresql_where=text("status = 'published'"),
        ),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(16), index=True)
    status: Mapped[str] = mapped_column(String(16), default=VersionStatus.DRAFT)
    author: Mapped[str] = mapped_column(String(200))
    note: Mapped[str] = mapped_column(Text, default="")
    source_name: Mapped[str] = mapped_column(String(500), default="")
    source_sha256: Mapped[str] = mapped_column(String(64), default="")
    feature_count: Mapped[int] = mapped_column(Integer, default=0)
    errors: Mapped[int] = mapped_column(Integer, default=0)
    warnings: Mapped[int] = mapped_column(Integer, default=0)
    report: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    published_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    retired_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # browser edits: the version a draft was edited from, and the draft that replaced it
    based_on: Mapped[int | None] = mapped_column(Integer)
    superseded_by: Mapped[int | None] = mapped_column(Integer)


class Publication(Base):
    """An interval during which a version was the published one of its kind."""

    __tablename__ = "publications"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(16), index=True)
    version_id: Mapped[int] = mapped_column(ForeignKey("versions.id"), index=True)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    actor: Mapped[str] = mapped_column(String(200))
    forced: Mapped[bool] = mapped_column(Boolean, default=False)
    rollback: Mapped[bool] = mapped_column(Boolean, default=False)


class Grid(VersionRow, Base):
    """A boundary feature of one level in one boundaries version."""

    __tablename__ = "grids"
    __table_args__ = (UniqueConstraint("version_id", "code"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(32))
    name: Mapped[str] = mapped_column(String(200), default="")
    level: Mapped[int] = mapped_column(Integer, index=True)
    parent_code: Mapped[str | None] = mapped_column(String(32))
    ref: Mapped[str] = mapped_column(String(500), default="")
    attributes: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    geom: Mapped[Any] = mapped_column(Geometry("MULTIPOLYGON", srid=SRID, spatial_index=True))


class Workstation(VersionRow, Base):
    """An urban-management workstation (城市管理工作站) of one boundaries version."""

    __tablename__ = "workstations"
    __table_args__ = (UniqueConstraint("version_id", "code"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(32))
    name: Mapped[str] = mapped_column(String(200), default="")
    community_codes: Mapped[list[str]] = mapped_column(JSON, default=list)
    address: Mapped[str] = mapped_column(String(500), default="")
    illustrative: Mapped[bool] = mapped_column(Boolean, default=False)
    note: Mapped[str] = mapped_column(Text, default="")
    geom: Mapped[Any] = mapped_column(Geometry("POINT", srid=SRID, spatial_index=True))


class Staff(VersionRow, Base):
    """A person holding a post in a grid, in one roster version."""

    __tablename__ = "staff"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    person_id: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(32))
    employment: Mapped[str] = mapped_column(String(32))
    grid_code: Mapped[str] = mapped_column(String(32), index=True)
    title: Mapped[str] = mapped_column(String(200), default="")
    phone: Mapped[str] = mapped_column(String(64), default="")


class PartnerUnit(VersionRow, Base):
    """An "N" partner unit and its responsibility zone, in one partners version."""

    __tablename__ = "partner_units"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    unit_id: Mapped[str] = mapped_column(String(64))
    type: Mapped[str] = mapped_column(String(64), index=True)
    name: Mapped[str] = mapped_column(String(200))
    contact: Mapped[str] = mapped_column(String(200), default="")
    attributes: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    geom: Mapped[Any] = mapped_column(Geometry("MULTIPOLYGON", srid=SRID, spatial_index=True))


class RoutingRule(VersionRow, Base):
    """One row of the category routing table, in one routing version."""

    __tablename__ = "routing_rules"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    category: Mapped[str] = mapped_column(String(32))
    attributes: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


class Case(Base):
    """A reported problem: where it was, what it is, and where it was assigned."""

    __tablename__ = "cases"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    status: Mapped[str] = mapped_column(String(16), default=CaseStatus.OPEN, index=True)
    category: Mapped[str] = mapped_column(String(64), default="")
    description: Mapped[str] = mapped_column(Text, default="")
    address: Mapped[str] = mapped_column(String(500), default="")
    reporter: Mapped[str] = mapped_column(String(200), default="")
    source_lon: Mapped[float] = mapped_column(Float)
    source_lat: Mapped[float] = mapped_column(Float)
    source_crs: Mapped[str] = mapped_column(String(16))
    code_l1: Mapped[str | None] = mapped_column(String(32))
    code_l2: Mapped[str | None] = mapped_column(String(32))
    code_l3: Mapped[str | None] = mapped_column(String(32))
    code_l4: Mapped[str | None] = mapped_column(String(32))
    code_l5: Mapped[str | None] = mapped_column(String(32), index=True)
    workstation_code: Mapped[str | None] = mapped_column(String(32))
    partner_units: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    agency_responsible: Mapped[str] = mapped_column(String(500), default="")
    boundary_version_id: Mapped[int | None] = mapped_column(ForeignKey("versions.id"))
    attributes: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    media_url: Mapped[str | None] = mapped_column(String(2000))  # Open311 media_url as given
    geom: Mapped[Any] = mapped_column(Geometry("POINT", srid=SRID, spatial_index=True))
    # the work loop (gridgeo.caseflow): state, urgency, and a revision bumped by every action
    state: Mapped[str] = mapped_column(String(16), default="reported", index=True)
    urgency: Mapped[str] = mapped_column(String(16), default="normal")
    revision: Mapped[int] = mapped_column(Integer, default=0)
    public_note: Mapped[str | None] = mapped_column(Text)  # Open311 status_notes
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    registered_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), index=True)  # 立案


OPEN_TASK_STATES_SQL = "('dispatched', 'accepted', 'rework')"  # caseflow's TaskState.is_open


class CaseTask(Base):
    """One responsible unit's task on a case (派遣): its state and deadline in force.

    ``grid_code`` and ``category`` repeat the case's so that a unit's queue filters
    on one table with one index.
    """

    __tablename__ = "case_tasks"
    __table_args__ = (
        # a unit's to-do queue, earliest deadline first: one index range read up to its limit
        Index(
            "ix_case_tasks_open_unit_deadline",
            "unit_code",
            "deadline",
            "id",
            sqlite_where=text(f"state IN {OPEN_TASK_STATES_SQL}"),
            postgresql_where=text(f"state IN {OPEN_TASK_STATES_SQL}"),
        ),
        Index("ix_case_tasks_unit_deadline", "unit_code", "deadline", "id"),
        Index("ix_case_tasks_state_deadline", "state", "deadline"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), index=True)
    unit_code: Mapped[str] = mapped_column(String(64))
    unit_name: Mapped[str] = mapped_column(String(200), default="")
    unit_type: Mapped[str] = mapped_column(String(64), default="")
    state: Mapped[str] = mapped_column(String(16))
    deadline: Mapped[datetime] = mapped_column(UTCDateTime())
    dispatched_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())
    extension_until: Mapped[datetime | None] = mapped_column(UTCDateTime())  # requested
    grid_code: Mapped[str | None] = mapped_column(String(32), index=True)
    category: Mapped[str] = mapped_column(String(64), default="")
    suggested: Mapped[bool] = mapped_column(Boolean, default=True)  # False: dispatcher's override
    # When its facts happened, kept with each action (docs/ASSESSMENT.md): the assessment
    # counts any cutoff from these without folding the event log.
    prior_deadline: Mapped[datetime | None] = mapped_column(
        UTCDateTime()
    )  # before the last extension
    extended_at: Mapped[datetime | None] = mapped_column(UTCDateTime())  # the last extension
    prev_extended_at: Mapped[datetime | None] = mapped_column(UTCDateTime())  # the one before
    first_extended_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    handled_at: Mapped[datetime | None] = mapped_column(UTCDateTime())  # the last handling
    handled_by: Mapped[str | None] = mapped_column(String(200))
    failed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())  # the first failed check
    cancelled_at: Mapped[datetime | None] = mapped_column(UTCDateTime())  # re-dispatched away


class CaseEvent(Base):
    """One action on a case (the event log of docs/CASES.md and its audit trail)."""

    __tablename__ = "case_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), index=True)
    task_id: Mapped[int | None] = mapped_column(
        ForeignKey("case_tasks.id", ondelete="CASCADE"), index=True
    )
    at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    action: Mapped[str] = mapped_column(String(32), index=True)
    actor: Mapped[str] = mapped_column(String(200))
    unit: Mapped[str] = mapped_column(String(64), default="")
    deadline: Mapped[datetime | None] = mapped_column(UTCDateTime())
    note: Mapped[str] = mapped_column(Text, default="")
    from_state: Mapped[str] = mapped_column(String(16), default="")
    to_state: Mapped[str] = mapped_column(String(16), default="")
    detail: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


class OutboxMessage(Base):
    """A notification written in the same transaction as the change it announces.

    Delivered afterwards to the configured webhooks and the event stream
    (``gridgeo.notify``): a change and its notice are committed together or not at all.
    """

    __tablename__ = "outbox"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    topic: Mapped[str] = mapped_column(String(64))
    event_id: Mapped[int | None] = mapped_column(
        ForeignKey("case_events.id", ondelete="CASCADE"), index=True
    )
    payload: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


class WebhookCursor(Base):
    """How far one webhook has been delivered, and its retry state."""

    __tablename__ = "webhook_cursors"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    url: Mapped[str] = mapped_column(String(1000), unique=True)
    delivered_id: Mapped[int] = mapped_column(Integer, default=0)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    last_error: Mapped[str] = mapped_column(Text, default="")
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class CaseMedia(Base):
    """A photo uploaded with a case (Open311 media extension), its bytes kept in the store.

    In the store rather than on a disk beside it so that the case and its photo
    are written in one transaction and every worker (and every backup) has both.
    """

    __tablename__ = "case_media"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), index=True)
    content_type: Mapped[str] = mapped_column(String(64))
    size: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64))
    filename: Mapped[str] = mapped_column(String(255), default="")
    data: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    event_id: Mapped[int | None] = mapped_column(Integer)  # the action it came with (处置 photos)


class ApiKey(Base):
    """An API key, stored as a hash; the role says what it may do."""

    __tablename__ = "api_keys"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    key_hash: Mapped[str] = mapped_column(String(128), unique=True)
    role: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    unit_code: Mapped[str | None] = mapped_column(String(64))  # a handler's unit
    grid_codes: Mapped[list[str]] = mapped_column(JSON, default=list)  # an inspector's grids
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class AuditEntry(Base):
    """Who changed what, when: every write to the store leaves one."""

    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, index=True)
    actor: Mapped[str] = mapped_column(String(200))
    action: Mapped[str] = mapped_column(String(64), index=True)
    entity: Mapped[str] = mapped_column(String(64))
    entity_id: Mapped[str] = mapped_column(String(64), default="")
    detail: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
