"""Case and task rows as plain objects, read and written with SQL Core statements.

The work loop's hot path (one action: lock, read, decide, write) runs as a
handful of Core statements on these plain rows rather than through the ORM's
unit of work: the same SQL, at a third of the CPU per action, which is what
lets one worker take hundreds of state changes a second (docs/BENCHMARKS.md).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field, fields
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Integer, Table, bindparam, func, insert, select, update
from sqlalchemy.orm import Session

from gridgeo.errors import NotFoundError
from gridgeo.store import schema as t

CASES = cast(Table, t.Case.__table__)
TASKS = cast(Table, t.CaseTask.__table__)
_POINT = (func.ST_X(t.Case.geom).label("x"), func.ST_Y(t.Case.geom).label("y"))


@dataclass
class CaseRow:
    """One ``cases`` row (its point as CGCS2000 ``x``, ``y``), changed in memory, written once."""

    id: int
    created_at: datetime
    updated_at: datetime
    status: str
    category: str
    description: str
    address: str
    reporter: str
    source_lon: float
    source_lat: float
    source_crs: str
    code_l1: str | None
    code_l2: str | None
    code_l3: str | None
    code_l4: str | None
    code_l5: str | None
    workstation_code: str | None
    partner_units: list[dict[str, Any]]
    agency_responsible: str
    boundary_version_id: int | None
    attributes: dict[str, Any]
    media_url: str | None
    state: str
    urgency: str
    revision: int
    public_note: str | None
    closed_at: datetime | None
    registered_at: datetime | None
    x: float
    y: float

    @property
    def leaf(self) -> str | None:
        """The deepest grid code the case was assigned to."""
        codes = (self.code_l5, self.code_l4, self.code_l3, self.code_l2, self.code_l1)
        return next((c for c in codes if c), None)


@dataclass
class TaskRow:
    """One ``case_tasks`` row; ``changed`` names the columns to write back."""

    id: int
    case_id: int
    unit_code: str
    unit_name: str
    unit_type: str
    state: str
    deadline: datetime
    dispatched_at: datetime
    updated_at: datetime
    extension_until: datetime | None
    grid_code: str | None
    category: str
    suggested: bool
    prior_deadline: datetime | None = None
    extended_at: datetime | None = None
    prev_extended_at: datetime | None = None
    first_extended_at: datetime | None = None
    handled_at: datetime | None = None
    handled_by: str | None = None
    failed_at: datetime | None = None
    cancelled_at: datetime | None = None
    changed: set[str] = field(default_factory=set, compare=False, repr=False)

    def set(self, **values: Any) -> None:
        """Change columns (written by :func:`save_tasks`)."""
        for name, value in values.items():
            setattr(self, name, value)
        self.changed |= values.keys()


_CASE_COLUMNS = [f.name for f in fields(CaseRow) if f.name not in ("x", "y")]
_TASK_COLUMNS = [f.name for f in fields(TaskRow) if f.name != "changed"]


def _case(row: Any) -> CaseRow:
    return CaseRow(**row._mapping)


# Built once: constructing a statement costs more CPU than running a cached one.
_RETURNED = (*(CASES.c[name] for name in _CASE_COLUMNS), *_POINT)
# SQLite: a write takes the database's write lock at once (a read first could not be
# upgraded while another writer waits); PostgreSQL: the row lock, without a new row version.
# The case is named by its id, or by one of its tasks' (a terminal knows its task).
_CASE_OR_TASK = CASES.c.id == func.coalesce(
    bindparam("case_id", type_=Integer),
    select(TASKS.c.case_id)
    .where(TASKS.c.id == bindparam("task_id", type_=Integer))
    .scalar_subquery(),
)
_LOCK_SQLITE = (
    update(CASES).where(_CASE_OR_TASK).values(revision=CASES.c.revision).returning(*_RETURNED)
)
_LOCK_POSTGRESQL = select(*_RETURNED).where(_CASE_OR_TASK).with_for_update(of=CASES)
_READ = select(*_RETURNED).where(CASES.c.id == bindparam("case_id"))
_TASKS = (
    select(*(TASKS.c[name] for name in _TASK_COLUMNS))
    .where(TASKS.c.case_id == bindparam("case_id"))
    .order_by(TASKS.c.id)
)
_ADD_TASK = insert(TASKS).returning(TASKS.c.id)


def lock_case(session: Session, case_id: int | None, *, task_id: int | None = None) -> CaseRow:
    """The case ``case_id`` (or of task ``task_id``), locked for this transaction: actions
    on one case run one after the other (PostgreSQL's row lock, SQLite's write lock), each
    reading what the one before wrote. One statement; :func:`save_case` then counts the
    action in its ``revision``."""
    conn = session.connection()
    lock = _LOCK_POSTGRESQL if conn.dialect.name == "postgresql" else _LOCK_SQLITE
    row = conn.execute(lock, {"case_id": case_id, "task_id": task_id}).first()
    if row is None:
        raise NotFoundError(
            f"case {case_id} does not exist"
            if case_id is not None
            else f"task {task_id} does not exist"
        )
    return _case(row)


def read_case(session: Session, case_id: int) -> CaseRow:
    """The case ``case_id`` (no lock); NotFoundError when there is none."""
    row = session.connection().execute(_READ, {"case_id": case_id}).first()
    if row is None:
        raise NotFoundError(f"case {case_id} does not exist")
    return _case(row)


def read_tasks(session: Session, case_id: int) -> list[TaskRow]:
    """The tasks of a case, oldest first."""
    rows = session.connection().execute(_TASKS, {"case_id": case_id})
    return [TaskRow(**row._mapping) for row in rows]


def add_task(session: Session, **values: Any) -> TaskRow:
    """Insert a task; the row with its new id."""
    new_id = session.connection().execute(_ADD_TASK, values).scalar_one()
    return TaskRow(id=new_id, **values)


@functools.cache
def _update(table: Table, columns: frozenset[str]) -> Any:
    """``UPDATE table SET columns... WHERE id = :row_id`` (one statement per column set)."""
    values: dict[str, Any] = {name: bindparam(f"v_{name}") for name in columns}
    return update(table).where(table.c.id == bindparam("row_id")).values(values)


def save_tasks(session: Session, tasks: list[TaskRow]) -> None:
    """Write the changed columns of each changed task."""
    for task in tasks:
        if task.changed:
            params = {f"v_{name}": getattr(task, name) for name in task.changed}
            stmt = _update(TASKS, frozenset(task.changed))
            session.connection().execute(stmt, params | {"row_id": task.id})
            task.changed = set()


def save_case(session: Session, case: CaseRow, columns: tuple[str, ...]) -> None:
    """Write ``columns`` of the case."""
    params = {f"v_{name}": getattr(case, name) for name in columns}
    stmt = _update(CASES, frozenset(columns))
    session.connection().execute(stmt, params | {"row_id": case.id})


_MEDIA = t.CaseMedia.__table__
_EVENTS = t.CaseEvent.__table__
_MEDIA_OF = (
    select(_MEDIA.c.id).where(_MEDIA.c.case_id == bindparam("case_id")).order_by(_MEDIA.c.id)
)
_EVENTS_OF = (
    select(*_EVENTS.c).where(_EVENTS.c.case_id == bindparam("case_id")).order_by(_EVENTS.c.id)
)


def media_of(session: Session, case_id: int) -> list[int]:
    """The ids of a case's stored photos, oldest first."""
    return list(session.connection().execute(_MEDIA_OF, {"case_id": case_id}).scalars())


def events_of(session: Session, case_id: int) -> list[Any]:
    """A case's event rows (with the ``case_events`` columns as attributes), oldest first."""
    return list(session.connection().execute(_EVENTS_OF, {"case_id": case_id}))
