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

from sqlalchemy import Integer, String, Table, bindparam, func, insert, select, update
from sqlalchemy import cast as cast_
from sqlalchemy.orm import Session

from gridgeo.errors import NotFoundError
from gridgeo.i18n import tr
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
    media_ids: list[int] = field(default_factory=list)  # its photos, oldest first

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
        """Change columns (written as :func:`task_updates`)."""
        for name, value in values.items():
            setattr(self, name, value)
        self.changed |= values.keys()


_CASE_COLUMNS = [f.name for f in fields(CaseRow) if f.name not in ("x", "y", "media_ids")]
_CASE_FIELDS = [*_CASE_COLUMNS, "x", "y"]
_TASK_COLUMNS = [f.name for f in fields(TaskRow) if f.name != "changed"]


# Built once: constructing a statement costs more CPU than running a cached one.
_RETURNED = (*(CASES.c[name] for name in _CASE_COLUMNS), *_POINT)
_MEDIA = cast(Table, t.CaseMedia.__table__)
# A case's photo ids in the same row ("3,7,9"; generic: string_agg / group_concat).
_MEDIA_IDS = (
    select(func.aggregate_strings(cast_(_MEDIA.c.id, String), ","))
    .where(_MEDIA.c.case_id == CASES.c.id)
    .scalar_subquery()
    .label("media_ids")
)
_TASK_LABELS = tuple(TASKS.c[name].label(f"t_{name}") for name in _TASK_COLUMNS)
# The case is named by its id, or by one of its tasks' (a terminal knows its task).
_CASE_OR_TASK = CASES.c.id == func.coalesce(
    bindparam("case_id", type_=Integer),
    select(TASKS.c.case_id)
    .where(TASKS.c.id == bindparam("task_id", type_=Integer))
    .scalar_subquery(),
)
# One row per task (one row with NULL task columns for a case without tasks), oldest
# task first: the case, its photos and its tasks in one statement.
_WITH_TASKS = (
    select(*_RETURNED, _MEDIA_IDS, *_TASK_LABELS)
    .select_from(CASES.outerjoin(TASKS, TASKS.c.case_id == CASES.c.id))
    .where(_CASE_OR_TASK)
    .order_by(TASKS.c.id)
)
# PostgreSQL: the case's row lock, taken by a statement of its own before the read. In
# READ COMMITTED a statement that waited for a row lock re-reads the locked row but not
# the rows it joined: one statement locking the case and reading its tasks would, after
# waiting for another action on the case, see that action's case row but the tasks (and
# photos) of before it, and write a state computed from them. SQLite: the write
# transaction's BEGIN IMMEDIATE (Store.transaction) already holds the database's lock.
_LOCK = select(CASES.c.id).where(_CASE_OR_TASK).with_for_update()
_ADD_TASK = insert(TASKS).returning(TASKS.c.id)


@dataclass
class CaseWithTasks:
    """A case row, its photo ids and its task rows (oldest first), read in one statement."""

    case: CaseRow
    tasks: list[TaskRow]


def lock_case(
    session: Session, case_id: int | None, *, task_id: int | None = None
) -> CaseWithTasks:
    """The case ``case_id`` (or of task ``task_id``) with its tasks, locked for this
    transaction (which must be a :meth:`Store.transaction`): actions on one case run
    one after the other (PostgreSQL's row lock, SQLite's write lock), each reading what
    the one before wrote; the action's case update counts it in its ``revision``."""
    connection = session.connection()
    if connection.dialect.name == "postgresql":
        connection.execute(_LOCK, {"case_id": case_id, "task_id": task_id}).all()
    return _read(session, _WITH_TASKS, case_id, task_id)


def read_case(session: Session, case_id: int) -> CaseWithTasks:
    """The case ``case_id`` with its tasks (no lock); NotFoundError when there is none."""
    return _read(session, _WITH_TASKS, case_id, None)


def _read(session: Session, stmt: Any, case_id: int | None, task_id: int | None) -> CaseWithTasks:
    rows = session.connection().execute(stmt, {"case_id": case_id, "task_id": task_id}).all()
    if not rows:
        raise NotFoundError(
            tr("case {case} does not exist", case=case_id)
            if case_id is not None
            else tr("task {task} does not exist", task=task_id)
        )
    first = rows[0]._mapping
    case = CaseRow(**{name: first[name] for name in _CASE_FIELDS})
    media = first["media_ids"]
    case.media_ids = sorted(int(x) for x in media.split(",")) if media else []
    tasks = [
        TaskRow(**{name: row._mapping[f"t_{name}"] for name in _TASK_COLUMNS})
        for row in rows
        if row._mapping["t_id"] is not None
    ]
    return CaseWithTasks(case, tasks)


def add_task(session: Session, **values: Any) -> TaskRow:
    """Insert a task; the row with its new id."""
    new_id = session.connection().execute(_ADD_TASK, values).scalar_one()
    return TaskRow(id=new_id, **values)


@dataclass(frozen=True)
class RowUpdate:
    """``UPDATE table SET values... WHERE id = row_id``, to be written (:func:`run_updates`,
    or with an event in one statement: :func:`gridgeo.store.case_events.add_event`)."""

    table: Table
    row_id: int
    values: dict[str, Any]

    @property
    def shape(self) -> tuple[Table, frozenset[str]]:
        """What the statement depends on (built once per shape)."""
        return self.table, frozenset(self.values)

    def params(self, prefix: str = "") -> dict[str, Any]:
        """The bound values of :func:`update_statement` for this update."""
        out = {f"{prefix}v_{name}": value for name, value in self.values.items()}
        return out | {f"{prefix}row_id": self.row_id}


@functools.cache
def update_statement(table: Table, columns: frozenset[str], prefix: str = "") -> Any:
    """``UPDATE table SET columns... WHERE id = :row_id`` (built once per column set);
    ``prefix`` keeps the names of several such statements in one apart."""
    values: dict[str, Any] = {
        name: bindparam(f"{prefix}v_{name}", type_=table.c[name].type) for name in columns
    }
    return update(table).where(table.c.id == bindparam(f"{prefix}row_id")).values(values)


def task_updates(tasks: list[TaskRow]) -> list[RowUpdate]:
    """The changed columns of each changed task (the tasks are then clean)."""
    out = []
    for task in tasks:
        if task.changed:
            out.append(RowUpdate(TASKS, task.id, {n: getattr(task, n) for n in task.changed}))
            task.changed = set()
    return out


def case_update(case: CaseRow, columns: tuple[str, ...]) -> RowUpdate:
    """``columns`` of the case."""
    return RowUpdate(CASES, case.id, {name: getattr(case, name) for name in columns})


def run_updates(session: Session, updates: list[RowUpdate]) -> None:
    """Write ``updates``, one statement each."""
    conn = session.connection()
    for u in updates:
        conn.execute(update_statement(*u.shape), u.params())


_EVENTS = t.CaseEvent.__table__
_EVENTS_OF = (
    select(*_EVENTS.c).where(_EVENTS.c.case_id == bindparam("case_id")).order_by(_EVENTS.c.id)
)


def events_of(session: Session, case_id: int) -> list[Any]:
    """A case's event rows (with the ``case_events`` columns as attributes), oldest first."""
    return list(session.connection().execute(_EVENTS_OF, {"case_id": case_id}))
