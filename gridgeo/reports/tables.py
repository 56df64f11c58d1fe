"""The tables of a report, laid out once for both writers (Excel sheets, HTML sections).

A cell holds the value itself (a count, a rate as a fraction, a time); its column's
kind says how to show it: a rate as ``0.00%``, a score with two decimals, a rate or
score that does not exist (nothing due) as an empty cell.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from gridgeo.assessment import COUNTS, RATES, IndicatorRow, label
from gridgeo.i18n import Lang
from gridgeo.reports.build import Report
from gridgeo.reports.text import say, time_text

CellKind = Literal["text", "code", "int", "rate", "score", "time", "hours"]
Cell = str | int | float | datetime | None


@dataclass(frozen=True)
class Column:
    """A column: its header and how its cells are shown."""

    header: str
    kind: CellKind = "text"


@dataclass(frozen=True)
class Table:
    """One table: an Excel sheet (``sheet``, at most 31 characters) and an HTML section.

    ``total`` is a closing row (合计) drawn bold, ``notes`` are lines under the table;
    ``rate_note``: the writer says under it how a rate that does not exist is shown.
    """

    key: str
    sheet: str
    title: str
    columns: tuple[Column, ...]
    rows: tuple[tuple[Cell, ...], ...]
    total: tuple[Cell, ...] | None = None
    notes: tuple[str, ...] = ()
    rate_note: bool = False


def meta_lines(report: Report) -> list[tuple[str, str]]:
    """(name, value) lines under the title: the area, the period, when written."""
    lang = report.lang
    start, end = time_text(report.period.start), time_text(report.period.end)
    period = say("period_partial" if report.partial else "period_value", lang, start=start, end=end)
    return [
        (say("place", lang), report.place),
        (say("period", lang), period),
        (say("generated", lang), time_text(report.generated)),
    ]


def _indicator_columns(lang: Lang, *, ranked: bool = True) -> list[Column]:
    columns = [Column(label(k, lang), "int") for k in COUNTS]
    columns += [Column(label(k, lang), "rate") for k in RATES]
    columns.append(Column(label("score", lang), "score"))
    if ranked:
        columns.append(Column(label("rank", lang), "int"))
    return columns


def _indicators(row: IndicatorRow, *, ranked: bool = True) -> list[Cell]:
    cells: list[Cell] = [getattr(row, k) for k in COUNTS]
    cells += [getattr(row, k) for k in RATES]
    cells.append(row.score)
    if ranked:
        cells.append(row.rank)
    return cells


def _ranked_table(report: Report, key: str, who: str, rows: tuple[IndicatorRow, ...]) -> Table:
    lang = report.lang
    columns = (Column(say("code", lang), "code"), Column(say(who, lang)), *_indicator_columns(lang))
    return Table(
        key,
        say(key, lang),
        say(f"{key}_title", lang),
        columns,
        tuple((r.key, r.name, *_indicators(r)) for r in rows),
        rate_note=True,
    )


def summary_table(report: Report) -> Table:
    """The overall indicators: one row, every case once."""
    lang = report.lang
    columns = (Column(say("place", lang)), *_indicator_columns(lang, ranked=False))
    row = (report.place, *_indicators(report.totals, ranked=False))
    return Table(
        "summary", say("summary", lang), say("totals_title", lang), columns, (row,), rate_note=True
    )


def category_table(report: Report) -> Table:
    lang = report.lang
    total = report.totals.registered
    columns = (
        Column(say("seq", lang), "int"),
        Column(say("code", lang), "code"),
        Column(say("category", lang)),
        Column(label("registered", lang), "int"),
        Column(say("share", lang), "rate"),
        Column(label("due", lang), "int"),
        Column(label("closed", lang), "int"),
        Column(label("on_time", lang), "int"),
        Column(label("overdue_open", lang), "int"),
        Column(label("closure_rate", lang), "rate"),
        Column(label("on_time_rate", lang), "rate"),
    )
    rows = tuple(
        (
            i,
            r.key,
            r.name,
            r.registered,
            r.registered / total if total else None,
            r.due,
            r.closed,
            r.on_time,
            r.overdue_open,
            r.closure_rate,
            r.on_time_rate,
        )
        for i, r in enumerate(report.categories, 1)
    )
    title = say("categories_title", lang, n=len(report.categories) or 10)
    return Table("categories", say("categories", lang), title, columns, rows)


def overdue_table(report: Report) -> Table:
    lang = report.lang
    columns = (
        Column(say("seq", lang), "int"),
        Column(say("case_id", lang), "int"),
        Column(say("task_id", lang), "int"),
        Column(say("unit", lang)),
        Column(say("code", lang), "code"),
        Column(say("category", lang)),
        Column(say("grid", lang)),
        Column(say("deadline", lang), "time"),
        Column(say("overdue_hours", lang), "hours"),
    )
    rows = tuple(
        (
            i,
            o.case_id,
            o.task_id,
            o.unit_name,
            o.unit,
            f"{o.category} {o.category_name}".strip(),
            f"{o.grid_code} {o.grid_name}".strip(),
            o.deadline,
            o.overdue_hours,
        )
        for i, o in enumerate(report.overdue, 1)
    )
    notes = (say("more_overdue", lang, n=len(rows)),) if report.overdue_truncated else ()
    return Table(
        "overdue", say("overdue", lang), say("overdue_title", lang), columns, rows, notes=notes
    )


def volunteer_table(report: Report) -> Table:
    lang = report.lang
    columns = (
        Column(say("code", lang), "code"),
        Column(say("volunteer", lang)),
        Column(say("reported", lang), "int"),
        Column(say("handled", lang), "int"),
        Column(label("registered", lang), "int"),
        Column(label("due", lang), "int"),
        Column(label("closed", lang), "int"),
        Column(label("on_time", lang), "int"),
        Column(label("closure_rate", lang), "rate"),
        Column(label("on_time_rate", lang), "rate"),
    )
    rows = []
    for v in report.volunteers:
        r = v.indicators or IndicatorRow.of(v.code, v.name)
        rows.append(
            (
                v.code,
                v.name,
                v.reported,
                v.handled,
                r.registered,
                r.due,
                r.closed,
                r.on_time,
                r.closure_rate,
                r.on_time_rate,
            )
        )
    return Table(
        "volunteers",
        say("volunteers", lang),
        say("volunteers_title", lang),
        columns,
        tuple(rows),
        notes=(say("volunteer_reports_note", lang),),
    )


def trend_table(report: Report) -> Table:
    lang = report.lang
    first = say("hour" if report.kind == "day" else "day", lang)
    columns = (
        Column(first),
        Column(label("registered", lang), "int"),
        Column(label("closed", lang), "int"),
    )
    rows = tuple((p.label, p.registered, p.closed) for p in report.trend)
    total = (
        say("total", lang),
        sum(p.registered for p in report.trend),
        sum(p.closed for p in report.trend),
    )
    title = say("trend_title_day" if report.kind == "day" else "trend_title", lang)
    return Table(
        "trend", say("trend", lang), title, columns, rows, total, (say("trend_note", lang),)
    )


def report_tables(report: Report) -> tuple[Table, ...]:
    """Every table of the report, in the order they are shown."""
    return (
        summary_table(report),
        _ranked_table(report, "units", "unit", report.units),
        _ranked_table(report, "communities", "community", report.communities),
        category_table(report),
        overdue_table(report),
        volunteer_table(report),
        trend_table(report),
    )
