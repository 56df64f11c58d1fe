"""Gather what a report shows: the assessment of the period per unit, community and
category, the overdue tasks, the volunteers' service record and the daily trend.

Everything is read from the store through :mod:`gridgeo.store.assessment` (the
indicators) plus two small reads of the case events here (the trend, and what the
volunteers reported and handled). The writers (:mod:`gridgeo.reports.excel`,
:mod:`gridgeo.reports.html`) only lay out a :class:`Report`.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from typing import Any

import numpy as np
from sqlalchemy import or_, select

from gridgeo.assessment import DEFAULT_WEIGHTS, Assessment, Grouping, IndicatorRow, Period
from gridgeo.dataset import Dataset
from gridgeo.deadlines import BEIJING
from gridgeo.errors import GridgeoError
from gridgeo.i18n import Lang
from gridgeo.levels import Level
from gridgeo.partners import PartnerType
from gridgeo.reports.text import Kind, say, when_text
from gridgeo.store import schema as t
from gridgeo.store.assessment import assess, overdue_open
from gridgeo.store.core import Store

TOP_CATEGORIES = 10
OVERDUE_LIMIT = 200  # rows of the overdue list; the report says when there are more
VOLUNTEER = PartnerType.VOLUNTEER.value


class ReportError(GridgeoError, ValueError):
    """A report that cannot be made: bad date, output or street; names the value
    (CLI exit code 2)."""


@dataclass(frozen=True)
class OverdueTask:
    """One open task past its deadline (a row of 超期未结)."""

    case_id: int
    task_id: int
    unit: str
    unit_name: str
    category: str
    category_name: str
    grid_code: str
    grid_name: str
    deadline: datetime
    overdue_hours: float


@dataclass(frozen=True)
class VolunteerRow:
    """One volunteer team's record: cases it reported and handled, and the indicators
    of the cases dispatched to it (None when it had none)."""

    code: str
    name: str
    reported: int
    handled: int
    indicators: IndicatorRow | None


@dataclass(frozen=True)
class TrendPoint:
    """Cases registered and closed in one day (or hour, in a day report)."""

    start: datetime
    label: str
    registered: int
    closed: int


@dataclass(frozen=True)
class Report:
    """Everything one report shows, in the language it is written in."""

    kind: Kind
    lang: Lang
    title: str
    place: str
    period: Period
    generated: datetime
    totals: IndicatorRow
    units: tuple[IndicatorRow, ...]
    communities: tuple[IndicatorRow, ...]
    categories: tuple[IndicatorRow, ...]
    overdue: tuple[OverdueTask, ...]
    overdue_truncated: bool
    volunteers: tuple[VolunteerRow, ...]
    trend: tuple[TrendPoint, ...]
    partial: bool = False  # the period is still running: counted up to ``generated``


def report_period(kind: Kind, day: date, now: datetime, lang: Lang = "zh") -> Period:
    """The day, ISO week or month holding ``day``; a period still running ends ``now``.

    Raises ReportError when the period has not begun at ``now``.
    """
    full = Period.of(kind, day)
    if now <= full.start:
        raise ReportError(say("err_future", lang, day=day.isoformat(), now=_beijing(now)))
    return full if full.end <= now else Period(full.start, now)


def build_report(
    store: Store,
    data: Dataset,
    kind: Kind,
    day: date,
    *,
    lang: Lang = "zh",
    now: datetime | None = None,
    weights: Mapping[str, float] | None = None,
    street: str | None = None,
) -> Report:
    """The report of the day, ISO week or month holding ``day`` (Beijing time).

    Parameters
    ----------
    store, data
        The store and its published dataset (names of grids, units, categories).
    kind
        ``day`` (日报), ``week`` (周报) or ``month`` (月报).
    day
        Any day of the period.
    lang
        ``zh`` (default) or ``en``: titles, headers and category names.
    now
        The moment of writing (default now): a period still running is counted up to it.
    weights
        The composite score's weights (default the assessment's).
    street
        The street (level 3 code) the title names; default the one street of the
        boundaries, else the pilot's, else the workstations'.

    Raises
    ------
    ReportError
        A period not yet begun, or a ``street`` that is not a street of the boundaries.
    """
    now = now or t.utcnow()
    period = report_period(kind, day, now, lang)
    place, communities = _place(data, street, lang)
    full = Period.of(kind, day)
    last_day = (full.end - timedelta(days=1)).astimezone(BEIJING).date()
    first_day = full.start.astimezone(BEIJING).date()
    kind_text = say(f"report_{kind}", lang)
    when = when_text(kind, first_day, last_day, lang)
    title = (
        say("title", lang, place=place, kind=kind_text, when=when)
        if place
        else say("title_noplace", lang, kind=kind_text, when=when)
    )
    by_unit = assess(store, period, Grouping.UNIT, data=data, weights=weights)
    by_community = assess(store, period, Grouping.GRID, level=4, data=data, weights=weights)
    by_category = assess(store, period, Grouping.CATEGORY, data=data, weights=weights)
    overdue = overdue_open(store, period.end, limit=OVERDUE_LIMIT + 1)
    return Report(
        kind=kind,
        lang=lang,
        title=title,
        place=place or say("whole_store", lang),
        period=period,
        generated=now,
        totals=replace(by_unit.totals, name=say("total", lang)).scored(weights or DEFAULT_WEIGHTS),
        units=by_unit.rows,
        communities=_with_communities(by_community, communities),
        categories=_top_categories(by_category, data, lang),
        overdue=tuple(_overdue(row, data, lang) for row in overdue[:OVERDUE_LIMIT]),
        overdue_truncated=len(overdue) > OVERDUE_LIMIT,
        volunteers=_volunteers(store, data, period, weights),
        trend=_trend(store, period, kind),
        partial=period.end < full.end,
    )


# --- where: the street of the title and its communities ----------------------------------


def _place(data: Dataset, street: str | None, lang: Lang) -> tuple[str, dict[str, str]]:
    """The street's name and its communities (code -> name); ("", {}) when no one street
    stands out (the title then names no place)."""
    grids = data.grids
    codes = [str(c) for c in grids.codes]
    names = grids.names
    levels = grids.levels
    streets = [int(i) for i in np.flatnonzero(levels == int(Level.STREET))]
    if street is not None:
        found = [i for i in streets if codes[i] == street]
        if not found:
            comma = "、" if lang == "zh" else ", "
            known = comma.join(f"{codes[i]} {names[i]}" for i in streets[:10]) or "-"
            raise ReportError(say("err_street", lang, code=repr(street), known=known))
        chosen: int | None = found[0]
    else:
        chosen = _default_street(data, streets)
    if chosen is None:
        return "", {}
    parents = grids.parent_codes
    communities = {
        codes[i]: str(names[i])
        for i in np.flatnonzero(levels == int(Level.COMMUNITY))
        if parents[i] == codes[chosen]
    }
    return str(names[chosen]), communities


def _default_street(data: Dataset, streets: list[int]) -> int | None:
    """The one street; else the street of the pilot communities; else of the workstations."""
    if len(streets) == 1:
        return streets[0]
    grids = data.grids
    codes = [str(c) for c in grids.codes]
    frame = grids.frame
    communities: set[str] = set()
    if "pilot" in frame.columns:
        flagged = np.asarray(frame["pilot"].fillna(0).astype(int) == 1)
        communities = {
            codes[i] for i in np.flatnonzero(flagged & (grids.levels == int(Level.COMMUNITY)))
        }
    if not communities:
        communities = {c for ws in data.workstations for c in ws.community_codes}
    parents = {
        grids.parent_codes[grids.position_of[c]] for c in communities if c in grids.position_of
    }
    candidates = [i for i in streets if codes[i] in parents]
    return candidates[0] if len(candidates) == 1 else None


def _with_communities(
    found: Assessment, communities: Mapping[str, str]
) -> tuple[IndicatorRow, ...]:
    """The ranked communities, then the street's communities that had no case (zeros)."""
    seen = {r.key for r in found.rows}
    idle = [
        IndicatorRow.of(code, name)
        for code, name in sorted(communities.items())
        if code not in seen
    ]
    return (*found.rows, *idle)


# --- what: top categories and the overdue list ---------------------------------------------


def _top_categories(found: Assessment, data: Dataset, lang: Lang) -> tuple[IndicatorRow, ...]:
    top = sorted(found.rows, key=lambda r: (-r.registered, r.key))[:TOP_CATEGORIES]
    return tuple(replace(r, name=_category_name(data, r.key, lang) or r.name) for r in top)


def _category_name(data: Dataset, code: str, lang: Lang) -> str:
    category = data.categories.get(code) if code else None
    if category is None:
        return ""
    return category.name_zh if lang == "zh" else category.name_en


def _grid_name(data: Dataset, code: str) -> str:
    position = data.grids.position_of.get(code)
    return str(data.grids.names[position]) if position is not None else ""


def _overdue(row: Mapping[str, Any], data: Dataset, lang: Lang) -> OverdueTask:
    deadline = row["deadline"]
    if isinstance(deadline, str):  # the assessment gives ISO 8601 text
        deadline = datetime.fromisoformat(deadline)
    category = str(row.get("category") or "")
    grid = str(row.get("grid_code") or "")
    return OverdueTask(
        case_id=int(row["case_id"]),
        task_id=int(row["task_id"]),
        unit=str(row["unit"]),
        unit_name=str(row.get("unit_name") or row["unit"]),
        category=category,
        category_name=_category_name(data, category, lang),
        grid_code=grid,
        grid_name=_grid_name(data, grid),
        deadline=deadline,
        overdue_hours=float(row["overdue_hours"]),
    )


# --- who: the volunteers -----------------------------------------------------------------


def _volunteers(
    store: Store, data: Dataset, period: Period, weights: Mapping[str, float] | None
) -> tuple[VolunteerRow, ...]:
    """Every volunteer team of the partners (and any other a task names), with what it
    reported and handled in the period and the indicators of its cases."""
    found = assess(store, period, Grouping.UNIT, data=data, weights=weights, unit_types={VOLUNTEER})
    teams = {p.code: p.name for p in data.partners if p.type == PartnerType.VOLUNTEER}
    teams |= {r.key: r.name for r in found.rows if r.key not in teams}
    reported = _reported_by(store, period, teams)
    handled = _handled_by(store, period, list(teams))
    rows = {r.key: r for r in found.rows}
    order = [r.key for r in found.rows] + sorted(k for k in teams if k not in rows)
    return tuple(
        VolunteerRow(code, teams[code], reported.get(code, 0), handled.get(code, 0), rows.get(code))
        for code in order
    )


def _reported_by(store: Store, period: Period, teams: Mapping[str, str]) -> dict[str, int]:
    """Cases reported in the period by a team: the report's actor (an API key's or the
    event log's name) or the case's reporter is the team's code or name."""
    if not teams:
        return {}
    by_name = {name: code for code, name in teams.items() if name} | {c: c for c in teams}
    e, c = t.CaseEvent, t.Case
    query = (
        select(e.case_id, e.actor, c.reporter)
        .join(c, c.id == e.case_id)
        .where(
            e.action == "report",
            e.at >= period.start,
            e.at < period.end,
            or_(e.actor.in_(list(by_name)), c.reporter.in_(list(by_name))),
        )
    )
    cases: dict[str, set[int]] = defaultdict(set)
    with store.reading() as session:
        for case_id, actor, reporter in session.execute(query):
            code = by_name.get(actor) or by_name.get(reporter)
            if code:
                cases[code].add(int(case_id))
    return {code: len(ids) for code, ids in cases.items()}


def _handled_by(store: Store, period: Period, codes: Sequence[str]) -> dict[str, int]:
    """Cases a team handled (处置) in the period, each case once."""
    if not codes:
        return {}
    e = t.CaseEvent
    query = select(e.unit, e.case_id).where(
        e.action == "handle", e.unit.in_(list(codes)), e.at >= period.start, e.at < period.end
    )
    cases: dict[str, set[int]] = defaultdict(set)
    with store.reading() as session:
        for unit, case_id in session.execute(query):
            cases[str(unit)].add(int(case_id))
    return {code: len(ids) for code, ids in cases.items()}


# --- when: the trend ---------------------------------------------------------------------


def _trend(store: Store, period: Period, kind: Kind) -> tuple[TrendPoint, ...]:
    """Cases registered and closed per day (per hour in a day report), every day of the
    period listed, those without a case too."""
    step = timedelta(hours=1) if kind == "day" else timedelta(days=1)
    start = period.start.astimezone(BEIJING)
    buckets: list[datetime] = []
    while start + step * len(buckets) < period.end:
        buckets.append(start + step * len(buckets))
    e = t.CaseEvent
    query = select(e.action, e.case_id, e.at).where(
        e.action.in_(("register", "close")), e.at >= period.start, e.at < period.end
    )
    seen: dict[tuple[str, int], set[int]] = defaultdict(set)
    with store.reading() as session:
        for action, case_id, at in session.execute(query):
            index = int((at - period.start) // step)
            seen[(str(action), index)].add(int(case_id))
    return tuple(
        TrendPoint(
            b,
            b.strftime("%H:00") if kind == "day" else b.strftime("%m-%d"),
            len(seen[("register", i)]),
            len(seen[("close", i)]),
        )
        for i, b in enumerate(buckets)
    )


def _beijing(value: datetime) -> str:
    return value.astimezone(BEIJING).strftime("%Y-%m-%d %H:%M")
