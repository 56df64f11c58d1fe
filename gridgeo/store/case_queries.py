"""Reading the work loop: a case with its tasks and timeline, and the units' task queues.

Every filter is SQL on indexed columns (``case_tasks (unit_code, state,
deadline)``): a unit's queue is one index range however many tasks the
store holds. Overdue and due-soon are comparisons with the clock at query
time, never stored flags that drift.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import ColumnElement, false, func, or_, select, text
from sqlalchemy.orm import Session

from gridgeo.caseflow import Action, TaskState
from gridgeo.store import schema as t
from gridgeo.store.case_rows import CaseWithTasks, TaskRow, events_of, read_case
from gridgeo.store.cases import CaseRecord, record_of
from gridgeo.store.core import Store

OPEN_TASK_STATES = tuple(s.value for s in TaskState if s.is_open)


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


@dataclass(frozen=True)
class TaskRecord:
    """One unit's task, as queues and case pages show it."""

    id: int
    case_id: int
    unit: str
    unit_name: str
    unit_type: str
    state: TaskState
    deadline: datetime
    dispatched_at: datetime
    updated_at: datetime
    extension_until: datetime | None
    grid_code: str | None
    category: str
    suggested: bool
    lon: float | None = None
    lat: float | None = None
    description: str = ""

    def overdue(self, now: datetime) -> bool:
        """Still to be worked by its unit with its deadline in force passed."""
        return self.state.is_open and self.deadline <= now

    def to_dict(self, now: datetime | None = None) -> dict[str, Any]:
        now = now or t.utcnow()
        return {
            "id": self.id,
            "case_id": self.case_id,
            "unit": self.unit,
            "unit_name": self.unit_name,
            "unit_type": self.unit_type,
            "state": self.state.value,
            "state_zh": self.state.label_zh,
            "deadline": self.deadline.isoformat(),
            "overdue": self.overdue(now),
            "dispatched_at": self.dispatched_at.isoformat(),
            "updated_at": self.updated_at.isoformat(),
            "extension_requested_until": _iso(self.extension_until),
            "grid_code": self.grid_code,
            "category": self.category,
            "suggested": self.suggested,
            "point": None if self.lon is None else {"lon": self.lon, "lat": self.lat},
            "description": self.description,
        }


@dataclass(frozen=True)
class EventRecord:
    """One entry of a case's timeline."""

    id: int
    case_id: int
    task_id: int | None
    at: datetime
    action: Action
    actor: str
    unit: str
    deadline: datetime | None
    note: str
    from_state: str
    to_state: str
    detail: dict[str, Any]

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "case_id": self.case_id,
            "task_id": self.task_id,
            "at": self.at.isoformat(),
            "action": self.action.value,
            "action_zh": self.action.label_zh,
            "actor": self.actor,
            "unit": self.unit or None,
            "deadline": _iso(self.deadline),
            "note": self.note,
            "from": self.from_state,
            "to": self.to_state,
            "detail": self.detail,
        }


@dataclass(frozen=True)
class CaseDetail:
    """A case with its tasks and its timeline, oldest event first."""

    case: CaseRecord
    tasks: tuple[TaskRecord, ...]
    events: tuple[EventRecord, ...]

    def to_dict(self, now: datetime | None = None) -> dict[str, Any]:
        now = now or t.utcnow()
        return self.case.to_dict() | {
            "tasks": [x.to_dict(now) for x in self.tasks],
            "events": [e.to_dict() for e in self.events],
        }


def _task(
    row: t.CaseTask | TaskRow, lon: float | None = None, lat: float | None = None, text: str = ""
) -> TaskRecord:
    return TaskRecord(
        id=row.id,
        case_id=row.case_id,
        unit=row.unit_code,
        unit_name=row.unit_name,
        unit_type=row.unit_type,
        state=TaskState(row.state),
        deadline=row.deadline,
        dispatched_at=row.dispatched_at,
        updated_at=row.updated_at,
        extension_until=row.extension_until,
        grid_code=row.grid_code,
        category=row.category,
        suggested=row.suggested,
        lon=lon,
        lat=lat,
        description=text,
    )


def _event(row: Any) -> EventRecord:
    """An event of a ``case_events`` row (ORM object or Core row: the same attributes)."""
    return EventRecord(
        id=row.id,
        case_id=row.case_id,
        task_id=row.task_id,
        at=row.at,
        action=Action(row.action),
        actor=row.actor,
        unit=row.unit,
        deadline=row.deadline,
        note=row.note,
        from_state=row.from_state,
        to_state=row.to_state,
        detail=dict(row.detail or {}),
    )


def case_detail(store: Store, case_id: int) -> CaseDetail:
    """Case ``case_id`` with its tasks and events; NotFoundError when there is none."""
    with store.reading() as session:
        return detail_of(session, read_case(session, case_id))


def detail_of(session: Session, found: CaseWithTasks) -> CaseDetail:
    """The detail of a case read with its tasks (in an action's transaction, or a read's)."""
    ordered = sorted(found.tasks, key=lambda x: x.id)
    events = events_of(session, found.case.id)
    record = record_of(CaseWithTasks(found.case, ordered))
    return CaseDetail(record, tuple(map(_task, ordered)), tuple(map(_event, events)))


@dataclass(frozen=True)
class TaskQuery:
    """Filters of a task queue.

    ``unit`` and ``grids`` are the scope (a handler's unit, an inspector's grid
    prefixes: a task is in scope when its grid starts with one of them).
    ``states`` defaults to every state. ``overdue`` keeps tasks still to be
    worked whose deadline has passed at ``now``; ``due_within`` those due
    between ``now`` and ``now + due_within``. Tasks come by deadline, earliest first.
    """

    unit: str | None = None
    grids: tuple[str, ...] | None = None
    states: tuple[str, ...] = ()
    overdue: bool = False
    due_within: timedelta | None = None
    grid: str | None = None
    category: str | None = None
    bbox: tuple[float, float, float, float] | None = None
    extension_requested: bool | None = None
    case_id: int | None = None
    now: datetime | None = None
    limit: int = 100
    offset: int = 0
    with_point: bool = field(default=True)


def _prefix(column: Any, prefix: str) -> ColumnElement[bool]:
    """``column`` starts with ``prefix`` (codes are digits: no LIKE wildcard to escape)."""
    found: ColumnElement[bool] = column.like(prefix.replace("%", "").replace("_", "") + "%")
    return found


def task_conditions(q: TaskQuery) -> list[ColumnElement[bool]]:
    """The SQL conditions of ``q`` on ``case_tasks`` (and ``cases`` for the bbox)."""
    now = q.now or t.utcnow()
    found: list[ColumnElement[bool]] = []
    if q.unit is not None:
        found.append(t.CaseTask.unit_code == q.unit)
    if q.grids is not None:
        found.append(
            or_(*(_prefix(t.CaseTask.grid_code, g) for g in q.grids)) if q.grids else false()
        )
    states = q.states
    if q.overdue or q.due_within is not None:
        states = tuple(s for s in (states or OPEN_TASK_STATES) if s in OPEN_TASK_STATES) or ("",)
    if set(states) == set(OPEN_TASK_STATES):
        # the partial index's own predicate, as a literal: the planner proves the index
        # applies (a bound list can become a generic plan's unknown parameters)
        open_states = text(f"case_tasks.state IN {t.OPEN_TASK_STATES_SQL}")
        found.append(cast("ColumnElement[bool]", open_states))
    elif states:
        found.append(t.CaseTask.state.in_(list(states)))
    if q.overdue:
        found.append(t.CaseTask.deadline <= now)
    if q.due_within is not None:
        found += [t.CaseTask.deadline > now, t.CaseTask.deadline <= now + q.due_within]
    if q.grid:
        found.append(_prefix(t.CaseTask.grid_code, q.grid))
    if q.category:
        found.append(t.CaseTask.category == q.category)
    if q.extension_requested is not None:
        column = t.CaseTask.extension_until
        found.append(column.is_not(None) if q.extension_requested else column.is_(None))
    if q.case_id is not None:
        found.append(t.CaseTask.case_id == q.case_id)
    if q.bbox is not None:
        west, south, east, north = q.bbox
        found += [
            func.ST_X(t.Case.geom).between(west, east),
            func.ST_Y(t.Case.geom).between(south, north),
        ]
    return found


def _holds_nul(q: TaskQuery) -> bool:
    """A text filter with a NUL: no stored text holds one (PostgreSQL refuses to bind it)."""
    return t.holds_nul(q.unit, q.grids, q.states, q.grid, q.category)


def list_tasks(store: Store, q: TaskQuery) -> list[TaskRecord]:
    """The tasks matching ``q``, earliest deadline first, ``limit`` from ``offset``."""
    if _holds_nul(q):
        return []
    stmt = (
        select(t.CaseTask, func.ST_X(t.Case.geom), func.ST_Y(t.Case.geom), t.Case.description)
        .join(t.Case, t.Case.id == t.CaseTask.case_id)
        .where(*task_conditions(q))
        .order_by(t.CaseTask.deadline, t.CaseTask.id)
        .limit(q.limit)
        .offset(q.offset)
    )
    with store.reading() as session:
        return [_task(row, x, y, text) for row, x, y, text in session.execute(stmt)]


def count_tasks(store: Store, q: TaskQuery) -> int:
    """How many tasks match ``q`` (for paging headers)."""
    if _holds_nul(q):
        return 0
    stmt = select(func.count(t.CaseTask.id)).where(*task_conditions(q))
    if q.bbox is not None:
        stmt = stmt.join(t.Case, t.Case.id == t.CaseTask.case_id)
    with store.reading() as session:
        return int(session.execute(stmt).scalar_one())
