"""Counting the assessment indicators in the database, from the case events.

One statement per assessment, on PostGIS and SpatiaLite alike: the events up to
the cutoff are folded per task (deadline in force, last handling, failed
verification, extension, re-dispatched away) and per case (registered when,
closed or not), joined, and counted per group with ``CASE`` sums. Nothing is
loaded into Python but the rows of the answer. The definitions are in
:mod:`gridgeo.assessment` and docs/ASSESSMENT.md.

Per unit, a case counts for each unit it is dispatched to (its task's deadline,
handling, rework and extension); per person, for the person who last handled the
unit's task; per grid, workstation or category, once, with the case's deadline in
force being the latest of its tasks' and "on time" meaning every task handled by
its own deadline.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Connection, Table, and_, case, func, literal, or_, select, text
from sqlalchemy.sql.expression import Select

from gridgeo.assessment import (
    DEFAULT_WEIGHTS,
    Assessment,
    AssessmentError,
    Grouping,
    IndicatorRow,
    Period,
    parse_grouping,
    ranked,
    total_of,
)
from gridgeo.dataset import Dataset
from gridgeo.i18n import tr
from gridgeo.store import schema as t
from gridgeo.store.core import Store

__all__ = [
    "Assessment",
    "Grouping",
    "IndicatorRow",
    "Period",
    "assess",
    "overdue_open",
]

EVENTS = cast(Table, t.CaseEvent.__table__)
TASKS = cast(Table, t.CaseTask.__table__)
CASES = cast(Table, t.Case.__table__)
LEVELS = range(1, 6)


def _task_facts(period: Period) -> Any:
    """Each task of a case registered in the period, with its facts as of the cutoff: the
    deadline then in force, handled late, failed a check, extended, live (dispatched and not
    re-dispatched away by then) and who handled it last by then."""
    k, c, e, cutoff = TASKS.c, CASES.c, EVENTS.c, period.end
    # the deadline in force at the cutoff: the present one, or the one before the last
    # extension; only a task extended twice after the cutoff asks the event log
    logged = (
        select(func.max(e.deadline))
        .where(e.task_id == k.id, e.action.in_(("dispatch", "extend")), e.at <= cutoff)
        .scalar_subquery()
    )
    deadline = case(
        (or_(k.extended_at.is_(None), k.extended_at <= cutoff), k.deadline),
        (or_(k.prev_extended_at.is_(None), k.prev_extended_at <= cutoff), k.prior_deadline),
        else_=logged,
    )
    handled_then = (
        select(e.actor)
        .where(e.task_id == k.id, e.action == "handle", e.at <= cutoff)
        .order_by(e.at.desc(), e.id.desc())
        .limit(1)
        .scalar_subquery()
    )
    return (
        select(
            c.id.label("case_id"),
            k.id.label("task_id"),
            k.unit_code.label("unit"),
            case((and_(c.closed_at.is_not(None), c.closed_at <= cutoff), 1), else_=0).label(
                "closed"
            ),
            deadline.label("deadline"),
            case((k.handled_at > deadline, 1), else_=0).label("late"),
            case((k.failed_at <= cutoff, 1), else_=0).label("failed"),
            case((k.first_extended_at <= cutoff, 1), else_=0).label("extended"),
            case(
                (
                    and_(
                        k.dispatched_at <= cutoff,
                        or_(k.cancelled_at.is_(None), k.cancelled_at > cutoff),
                    ),
                    1,
                ),
                else_=0,
            ).label("live"),
            case((k.handled_at <= cutoff, k.handled_by), else_=handled_then).label("handler"),
        )
        .select_from(CASES.join(TASKS, k.case_id == c.id))
        .where(c.registered_at >= period.start, c.registered_at < period.end)
        .subquery("task_facts")
    )


FACTS = ("closed", "deadline", "late", "failed", "extended")


def _counts(facts: Mapping[str, Any], cutoff: datetime) -> list[Any]:
    """The seven counts of rows with these facts (``closed``, ``deadline`` in force,
    ``late``: handled after it, ``failed`` a verification, ``extended``)."""
    closed, deadline, late = facts["closed"], facts["deadline"], facts["late"]
    failed, extended = facts["failed"], facts["extended"]
    due = or_(closed == 1, and_(deadline.is_not(None), deadline <= cutoff))
    return [
        func.count().label("registered"),
        func.sum(case((due, 1), else_=0)).label("due"),
        func.sum(closed).label("closed"),
        func.sum(case((and_(closed == 1, late == 0), 1), else_=0)).label("on_time"),
        func.sum(case((and_(due, failed == 1), 1), else_=0)).label("rework"),
        func.sum(case((and_(due, extended == 1), 1), else_=0)).label("extended"),
        func.sum(case((and_(closed == 0, deadline <= cutoff), 1), else_=0)).label("overdue_open"),
    ]


def _per_task(period: Period, by: Grouping, unit_types: Collection[str] | None) -> Select[Any]:
    """Counts per unit or per person: each live task of a registered case once."""
    tf = _task_facts(period)
    key = tf.c.handler if by is Grouping.PERSON else tf.c.unit
    conditions = [tf.c.live == 1, key.is_not(None)]
    joined: Any = tf
    if unit_types:
        joined = tf.join(TASKS, TASKS.c.id == tf.c.task_id)
        conditions.append(TASKS.c.unit_type.in_(list(unit_types)))
    counts = _counts({name: tf.c[name] for name in FACTS}, period.end)
    return select(key.label("key"), *counts).select_from(joined).where(*conditions).group_by(key)


def _per_case(period: Period, key: Any) -> Select[Any]:
    """Counts per grid, workstation or category: each registered case once (its deadline the
    latest of its live tasks', late if any of them was, failed or extended if any was)."""
    tf = _task_facts(period)
    live = tf.c.live == 1
    per_case = (
        select(
            tf.c.case_id,
            func.max(tf.c.closed).label("closed"),
            func.max(case((live, tf.c.deadline))).label("deadline"),
            func.max(case((live, tf.c.late), else_=0)).label("late"),
            func.max(tf.c.failed).label("failed"),
            func.max(tf.c.extended).label("extended"),
        )
        .group_by(tf.c.case_id)
        .subquery("per_case")
    )
    c = per_case.c
    counts = _counts({name: c[name] for name in FACTS}, period.end)
    registered = and_(CASES.c.registered_at >= period.start, CASES.c.registered_at < period.end)
    return (
        select(key.label("key"), *counts)
        .select_from(CASES.outerjoin(per_case, c.case_id == CASES.c.id))
        .where(registered, key.is_not(None))
        .group_by(key)
    )


def _key_column(by: Grouping, level: int | None) -> Any:
    if by is Grouping.GRID:
        return CASES.c[f"code_l{level}"]
    if by is Grouping.WORKSTATION:
        return CASES.c.workstation_code
    return CASES.c.category


def assess(
    store: Store,
    period: Period,
    by: Grouping | str,
    *,
    level: int | None = None,
    data: Dataset | None = None,
    weights: Mapping[str, float] | None = None,
    unit_types: Collection[str] | None = None,
    now: datetime | None = None,
) -> Assessment:
    """The indicators of ``period`` per ``by`` (``level``: the grid level, by=grid).

    A period that has not ended yet is counted as of ``now`` (default: the present): a
    deadline that has not come yet is not due, whatever the period's end.

    ``data`` (the published boundaries, partners and categories) names the keys;
    ``weights`` the composite score's (default :data:`DEFAULT_WEIGHTS`);
    ``unit_types`` keeps only the tasks of units of these types (by unit or person,
    e.g. ``{"volunteer"}``).

    Raises
    ------
    AssessmentError
        An unknown grouping, a level outside 1-5 or missing for by=grid, a level with
        no grids in ``data``.
    """
    grouping = parse_grouping(by)
    level = _check_level(grouping, level, data)
    asked, counted = period, _so_far(period, now or t.utcnow())
    if counted is None:  # the period starts in the future: nothing has happened in it
        return Assessment(asked, grouping, level, (), IndicatorRow.of("", "合计"))
    period = counted
    if grouping in (Grouping.UNIT, Grouping.PERSON):
        query = _per_task(period, grouping, unit_types)
    else:
        query = _per_case(period, _key_column(grouping, level))
    with store.reading() as session:
        tune(session.connection())
        found = session.execute(query).all()
        names = _names(session, grouping, data, [str(r.key) for r in found])
    rows = [
        IndicatorRow.of(str(r.key), names.get(str(r.key), str(r.key)), **_ints(r._mapping))
        for r in found
    ]
    totals = _totals(store, period, rows, grouping)
    return Assessment(asked, grouping, level, ranked(rows, weights or DEFAULT_WEIGHTS), totals)


def _so_far(period: Period, now: datetime) -> Period | None:
    """``period`` up to ``now`` when it has not ended yet; None when it has not begun."""
    if period.end <= now:
        return period
    return Period(period.start, now) if period.start < now else None


def tune(conn: Connection) -> None:
    """PostgreSQL, for this transaction only: no JIT (compiling the plan costs more than
    running it: the rarely run event-log fallbacks inflate its cost estimate) and room to
    sort and hash a month of cases in memory."""
    if conn.dialect.name == "postgresql":
        conn.execute(text("SET LOCAL jit = off"))
        conn.execute(text("SET LOCAL work_mem = '128MB'"))


def _ints(values: Any) -> dict[str, int]:
    return {k: int(v or 0) for k, v in values.items() if k != "key"}


def _totals(store: Store, period: Period, rows: list[IndicatorRow], by: Grouping) -> IndicatorRow:
    """Every registered case once: the rows' sum where each case is in one row, else
    counted per case (a case of two units is one case in the totals)."""
    if by in (Grouping.CATEGORY, Grouping.WORKSTATION, Grouping.GRID):
        return total_of(rows)
    query = _per_case(period, literal("all"))
    with store.reading() as session:
        tune(session.connection())
        found = session.execute(query).first()
    return IndicatorRow.of("", "合计", **(_ints(found._mapping) if found else {}))


def _check_level(by: Grouping, level: int | None, data: Dataset | None) -> int | None:
    if by is not Grouping.GRID:
        if level is not None:
            raise AssessmentError(tr("--level is for by=grid, not by={by}", by=by.value))
        return None
    if level is None:
        raise AssessmentError(tr("by=grid needs the grid level (1 city ... 5 fifth-level grid)"))
    if level not in LEVELS:
        raise AssessmentError(
            tr("level {level} does not exist: grid levels are 1 to 5", level=level)
        )
    if data is not None and not any(int(n) == level for n in data.grids.level_counts()):
        raise AssessmentError(
            tr("the published boundaries have no grids of level {level}", level=level)
        )
    return level


def _names(session: Any, by: Grouping, data: Dataset | None, keys: list[str]) -> dict[str, str]:
    """Readable names of the keys: grids, workstations, units and categories."""
    if by is Grouping.UNIT:
        rows = session.execute(
            select(TASKS.c.unit_code, func.max(TASKS.c.unit_name))
            .where(TASKS.c.unit_code.in_(keys))
            .group_by(TASKS.c.unit_code)
        )
        return {code: name or code for code, name in rows}
    if data is None:
        return {}
    if by is Grouping.GRID:
        frame = data.grids.frame
        return dict(zip(frame["code"].astype(str), frame["name"].astype(str), strict=True))
    if by is Grouping.WORKSTATION:
        return {ws.code: ws.name for ws in data.workstations}
    if by is Grouping.CATEGORY:
        return {k: data.categories[k].name_zh for k in keys if k in data.categories}
    return {}


def overdue_open(store: Store, cutoff: datetime, *, limit: int = 200) -> list[dict[str, Any]]:
    """Open tasks whose deadline in force is at or before ``cutoff``, most overdue first."""
    k = TASKS.c
    open_states = ("dispatched", "accepted", "rework")
    query = (
        select(
            k.case_id,
            k.id.label("task_id"),
            k.unit_code.label("unit"),
            k.unit_name,
            k.category,
            k.grid_code,
            k.deadline,
            func.ST_X(CASES.c.geom).label("lon"),
            func.ST_Y(CASES.c.geom).label("lat"),
        )
        .join(CASES, CASES.c.id == k.case_id)
        .where(k.state.in_(open_states), k.deadline <= cutoff)
        .order_by(k.deadline, k.id)
        .limit(limit)
    )
    with store.reading() as session:
        rows = session.execute(query).all()
    return [
        dict(r._mapping)
        | {
            "deadline": r.deadline.isoformat(),
            "overdue_hours": round((cutoff - r.deadline).total_seconds() / 3600, 1),
        }
        for r in rows
    ]
