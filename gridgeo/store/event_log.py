"""The case event log: every event of every case as one CSV row, out and back in.

The format (docs/EVENT_LOG.md) is CSV, UTF-8, one row per event, rows in any order::

    case_id,at,action,unit,deadline,actor,lon,lat,crs,category,note

``at`` and ``deadline`` are ISO 8601 times with their UTC offset
(``2026-11-03T09:15+08:00``); ``action`` one of :class:`~gridgeo.caseflow.Action`
(English or its Chinese label on import); ``dispatch`` names the ``unit`` and its
``deadline``, ``request_extension`` and ``extend`` the deadline asked for and
granted. ``lon``, ``lat``, ``crs`` and ``category`` are the case's as reported,
repeated on each row. A ``report`` row's ``note`` is the case's description.

:func:`export_events` writes the log of the store (UTF-8 with a BOM, so Excel opens
it as UTF-8). :func:`import_events` replays a log through the work loop's own core
(:func:`~gridgeo.store.cases.insert_case` and :func:`~gridgeo.store.casework.act_in`)
in one transaction for the whole file, so the state rules hold for imported
history as for live work; it is a dry run unless ``commit``, and any problem (all of
them are collected, each with its line) leaves nothing written.
"""

from __future__ import annotations

import csv
import json
import math
import re
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from pathlib import Path
from typing import IO, Any, Literal

from sqlalchemy import select
from sqlalchemy.orm import Session

from gridgeo.caseflow import Action, ActionInputError, Actor, CaseState, parse_action
from gridgeo.categories import CategoryTable
from gridgeo.coords import parse_coord_system
from gridgeo.dataset import Dataset
from gridgeo.deadlines import BEIJING
from gridgeo.errors import GridgeoError, InputFileError
from gridgeo.i18n import Lang, current_lang, tr, use_lang
from gridgeo.roles import Role
from gridgeo.store import schema as t
from gridgeo.store.audit import record
from gridgeo.store.cases import NewCase, insert_case, suggestion
from gridgeo.store.casework import ActionRequest, act_in
from gridgeo.store.core import Store
from gridgeo.wording import listing

COLUMNS = (
    "case_id",
    "at",
    "action",
    "unit",
    "deadline",
    "actor",
    "lon",
    "lat",
    "crs",
    "category",
    "note",
)
OPTIONAL_COLUMNS = frozenset({"actor", "note"})  # default: the importer's name, no note
REQUIRED_COLUMNS = tuple(c for c in COLUMNS if c not in OPTIONAL_COLUMNS)

ExportFormat = Literal["csv", "jsonl"]

_CASE_ACTIONS = frozenset({Action.REPORT, Action.REGISTER, Action.REJECT, Action.CLOSE})
_NEEDS_UNIT = frozenset({Action.DISPATCH, Action.REDISPATCH})
_NEEDS_DEADLINE = frozenset({Action.DISPATCH, Action.REQUEST_EXTENSION, Action.EXTEND})
_MAX_UNIT, _MAX_ACTOR = 64, 200  # the widths of case_events.unit and .actor
FUTURE_SLACK = timedelta(minutes=5)  # clocks of the exporting machine may run a little ahead
EXAMPLE_TIME = "2026-11-03T09:15+08:00"


class EventLogError(InputFileError):
    """The event log file cannot be read as a whole (not UTF-8, columns missing)."""


def with_offset(text: str) -> str:
    """How to write the offset-less time ``text`` with its offset (for messages).

    >>> with_offset("2026-11-03T09:15"), with_offset("2026-11-03")
    ('2026-11-03T09:15+08:00', '2026-11-03T00:00+08:00')
    """
    has_time = len(text) > 10
    return f"{text}+08:00" if has_time else f"{text}T00:00+08:00"


# --- export -------------------------------------------------------------------------------


def format_time(value: datetime) -> str:
    """``value`` in Beijing time with its offset, as short as is exact.

    >>> from datetime import UTC
    >>> format_time(datetime(2026, 11, 3, 1, 15, tzinfo=UTC))
    '2026-11-03T09:15+08:00'
    >>> format_time(datetime(2026, 11, 3, 1, 15, 7, 250, tzinfo=UTC))
    '2026-11-03T09:15:07.000250+08:00'
    """
    local = value.astimezone(BEIJING)
    if local.microsecond:
        spec = "microseconds"
    elif local.second:
        spec = "seconds"
    else:
        spec = "minutes"
    return local.isoformat(timespec=spec)


def _export_rows(session: Session, case_ids: Sequence[int] | None) -> Iterator[dict[str, Any]]:
    """Every event as a dict of :data:`COLUMNS` (lon/lat floats, deadline None when none)."""
    e, c = t.CaseEvent, t.Case
    stmt = (
        select(
            e.case_id,
            e.at,
            e.action,
            e.unit,
            e.deadline,
            e.actor,
            c.source_lon,
            c.source_lat,
            c.source_crs,
            c.category,
            e.note,
            c.description,
        )
        .join(c, c.id == e.case_id)
        .order_by(e.case_id, e.id)
        .execution_options(yield_per=2000)  # any number of events in bounded memory
    )
    if case_ids is not None:
        stmt = stmt.where(e.case_id.in_(list(case_ids)))
    for row in session.execute(stmt):
        (case_id, at, action, unit, deadline, actor, lon, lat, crs, category, note, text) = row
        yield {
            "case_id": str(case_id),
            "at": format_time(at),
            "action": action,
            "unit": unit or "",
            "deadline": format_time(deadline) if deadline else None,
            "actor": actor,
            "lon": float(lon),
            "lat": float(lat),
            "crs": crs,
            "category": category,
            # the report event has no note of its own: it carries what was reported
            "note": text if action == Action.REPORT.value else note,
        }


@contextmanager
def _output(out: str | Path | IO[str], encoding: str) -> Iterator[IO[str]]:
    if isinstance(out, str | Path):
        with Path(out).open("w", encoding=encoding, newline="") as stream:
            yield stream
    else:
        yield out  # the caller's stream: the caller closes it


def export_events(
    store: Store,
    out: str | Path | IO[str],
    *,
    case_ids: Sequence[int] | None = None,
    format: ExportFormat = "csv",
) -> int:
    """Write the event log of the store (or of ``case_ids``) to ``out``; the number of rows.

    Parameters
    ----------
    store : Store
        The store to read.
    out : str, Path or text stream
        A file path (CSV gets a UTF-8 BOM so that Excel reads it as UTF-8) or an open
        text stream (written as is, no BOM).
    case_ids : sequence of int, optional
        Only these cases (default every case).
    format : {"csv", "jsonl"}
        CSV with a header row of :data:`COLUMNS`, or one JSON object per line with the
        same keys (lon/lat numbers, a missing deadline ``null``).

    Returns
    -------
    int
        Events written, ordered by case id then event id.
    """
    if format not in ("csv", "jsonl"):
        raise GridgeoError(tr("event log format {format!r}: use csv or jsonl", format=format))
    count = 0
    encoding = "utf-8-sig" if format == "csv" else "utf-8"
    with store.reading() as session, _output(out, encoding) as stream:
        if format == "csv":
            writer = csv.writer(stream)
            writer.writerow(COLUMNS)
        for row in _export_rows(session, case_ids):
            if format == "csv":
                writer.writerow(["" if row[k] is None else row[k] for k in COLUMNS])
            else:
                stream.write(json.dumps(row, ensure_ascii=False) + "\n")
            count += 1
    return count


# --- import: reading and checking rows ----------------------------------------------------


def _in_both(render: Callable[[], str]) -> tuple[str, str]:
    """What ``render`` writes in English and in Chinese (its ``tr`` calls follow the language)."""
    with use_lang("en"):
        en = render()
    with use_lang("zh"):
        zh = render()
    return en, zh


def _raised(call: Callable[[], object]) -> Callable[[], str]:
    """A render of the error ``call`` raises: it is called again in each language (a parse
    of a cell, without side effects), so that its message is written in both."""

    def render() -> str:
        try:
            call()
        except GridgeoError as exc:
            return str(exc)
        return ""

    return render


def _action_name(action: Action) -> str:
    """``dispatch`` in English, ``派遣（dispatch）`` in Chinese: the log's word and its label."""
    return f"{action.label_zh}（{action.value}）" if current_lang() == "zh" else action.value


@dataclass(frozen=True)
class Problem:
    """Why a row (or the case it belongs to) cannot be imported.

    ``message`` is English, ``message_zh`` Chinese (both written by :meth:`of`; a
    refusal of the work loop quotes the loop's own reason in each language).
    """

    line: int
    case_id: str
    message: str
    message_zh: str = ""

    @classmethod
    def of(cls, line: int, case_id: str, render: Callable[[], str]) -> Problem:
        """The problem ``render`` writes (with ``tr``), in English and in Chinese."""
        en, zh = _in_both(render)
        return cls(line, case_id, en, zh)

    def text(self, lang: Lang | None = None) -> str:
        """The problem with its line and case, in ``lang`` (default the current language)."""
        with use_lang(lang or current_lang()):
            zh = current_lang() == "zh"
            message = (self.message_zh or self.message) if zh else self.message
            if self.case_id:
                return tr(
                    "line {line} (case {case}): {message}",
                    line=self.line,
                    case=self.case_id,
                    message=message,
                )
            return tr("line {line}: {message}", line=self.line, message=message)

    def to_dict(self) -> dict[str, Any]:
        return {
            "line": self.line,
            "case_id": self.case_id,
            "message": self.message,
            "message_zh": self.message_zh or self.message,
        }


@dataclass(frozen=True)
class ImportReport:
    """What :func:`import_events` did, or would do on a dry run.

    ``rows`` and ``cases`` count the file; ``events`` the events written (rows plus
    ``implied_requests``: the extension requests an ``extend`` row implies when the
    log has none before it); ``states`` how many cases reached each state;
    ``mapping`` the file's case ids to the store's new ones (on a dry run they are
    what the transaction gave before it was rolled back, not kept). Any problem:
    nothing was written.
    """

    source: str
    committed: bool
    rows: int
    cases: int
    events: int = 0
    implied_requests: int = 0
    states: dict[str, int] = field(default_factory=dict)
    mapping: dict[str, int] = field(default_factory=dict)
    problems: tuple[Problem, ...] = ()
    warnings: tuple[Problem, ...] = ()

    @property
    def ok(self) -> bool:
        return not self.problems

    def to_dict(self) -> dict[str, Any]:
        return {
            "source": self.source,
            "committed": self.committed,
            "dry_run": not self.committed,
            "rows": self.rows,
            "cases": self.cases,
            "events": self.events,
            "implied_requests": self.implied_requests,
            "states": self.states,
            "mapping": self.mapping,
            "problem_count": len(self.problems),
            "problems": [p.to_dict() for p in self.problems],
            "warnings": [w.to_dict() for w in self.warnings],
        }


@dataclass(frozen=True)
class _Row:
    """One checked row: values parsed, the case's columns None/empty where left blank."""

    line: int
    case_id: str
    at: datetime
    action: Action
    unit: str
    deadline: datetime | None
    actor: str
    lon: float | None
    lat: float | None
    crs: str
    category: str
    note: str


class _RowChecker:
    """Parses the cells of one row, collecting every problem of it (not just the first)."""

    def __init__(self, line: int, case_id: str, now: datetime) -> None:
        self.line, self.case_id, self.now = line, case_id, now
        self.problems: list[Problem] = []

    def bad(self, render: Callable[[], str]) -> None:
        self.problems.append(Problem.of(self.line, self.case_id, render))

    def time(self, name: str, text: str) -> datetime | None:
        if not text:
            return None
        try:
            value = datetime.fromisoformat(text)
        except ValueError:
            self.bad(
                lambda: tr(
                    "{name} {text!r} is not an ISO 8601 time such as {example}",
                    name=name,
                    text=text,
                    example=EXAMPLE_TIME,
                )
            )
            return None
        if value.tzinfo is None:
            self.bad(
                lambda: tr(
                    "{name} {text!r} has no UTC offset: write it as {fixed}",
                    name=name,
                    text=text,
                    fixed=with_offset(text),
                )
            )
            return None
        return value

    def action(self, text: str) -> Action | None:
        try:
            return parse_action(text)
        except ActionInputError:
            self.bad(_raised(lambda: parse_action(text)))
            return None

    def number(self, name: str, text: str, limit: float) -> float | None:
        if not text:
            return None
        try:
            value = float(text)
        except ValueError:
            self.bad(lambda: tr("{name} {text!r} is not a number", name=name, text=text))
            return None
        if not math.isfinite(value) or abs(value) > limit:
            self.bad(
                lambda: tr(
                    "{name} {text!r} is outside -{limit:g}..{limit:g}",
                    name=name,
                    text=text,
                    limit=limit,
                )
            )
            return None
        return value

    def crs(self, text: str) -> str:
        if not text:
            return ""
        try:
            return parse_coord_system(text)
        except GridgeoError:
            self.bad(_raised(lambda: parse_coord_system(text)))
            return ""

    def category(self, text: str, table: CategoryTable) -> str:
        if not text:
            return ""
        try:
            return table.resolve(text).code
        except GridgeoError:
            self.bad(_raised(lambda: table.resolve(text)))
            return ""

    def length(self, name: str, text: str, limit: int) -> None:
        if len(text) > limit:
            self.bad(
                lambda: tr(
                    "{name} {text!r}... is longer than {limit} characters",
                    name=name,
                    text=text[:20],
                    limit=limit,
                )
            )


def _check_row(
    line: int, cells: dict[str, str], now: datetime, categories: CategoryTable
) -> tuple[_Row | None, list[Problem]]:
    """One row parsed and checked on its own (the order of a case's events comes later)."""
    case_id = cells["case_id"]
    check = _RowChecker(line, case_id, now)
    if not case_id:
        check.bad(lambda: tr("{column} is empty", column="case_id"))
    at = check.time("at", cells["at"])
    if not cells["at"]:
        check.bad(lambda: tr("{column} is empty", column="at"))
    elif at is not None and at > now + FUTURE_SLACK:
        check.bad(lambda: tr("at {text!r} lies in the future", text=cells["at"]))
    action = check.action(cells["action"]) if cells["action"] else None
    if not cells["action"]:
        check.bad(lambda: tr("{column} is empty", column="action"))
    unit, deadline = cells["unit"], check.time("deadline", cells["deadline"])
    check.length("unit", unit, _MAX_UNIT)
    check.length("actor", cells["actor"], _MAX_ACTOR)
    if action is not None:
        _check_action_cells(check, action, unit, cells["deadline"])
    lon = check.number("lon", cells["lon"], 180)
    lat = check.number("lat", cells["lat"], 90)
    crs = check.crs(cells["crs"])
    category = check.category(cells["category"], categories)
    if action is Action.REPORT:
        missing = [n for n in ("lon", "lat", "crs") if not cells[n]]
        if missing:
            check.bad(
                lambda: tr(
                    "report needs {names} (the point reported, crs wgs84, cgcs2000, gcj02 or bd09)",
                    names=listing(missing),
                )
            )
    if check.problems or at is None or action is None:
        return None, check.problems
    row = _Row(
        line=line,
        case_id=case_id,
        at=at,
        action=action,
        unit=unit,
        deadline=deadline,
        actor=cells["actor"],
        lon=lon,
        lat=lat,
        crs=crs,
        category=category,
        note=cells["note"],
    )
    return row, []


def _check_action_cells(check: _RowChecker, action: Action, unit: str, deadline: str) -> None:
    """The unit and deadline cells an action needs, and those it must leave blank."""
    if action in _NEEDS_UNIT and not unit:
        check.bad(lambda: tr("{action} needs the unit", action=_action_name(action)))
    if action in _NEEDS_DEADLINE and not deadline:
        check.bad(lambda: tr("{action} needs the deadline", action=_action_name(action)))
    if action in _CASE_ACTIONS and unit:
        check.bad(
            lambda: tr(
                "{action} acts on the case: unit must be blank, not {unit!r}",
                action=_action_name(action),
                unit=unit,
            )
        )
    if action not in _NEEDS_DEADLINE and deadline:
        check.bad(
            lambda: tr(
                "{action} takes no deadline, got {deadline!r}",
                action=_action_name(action),
                deadline=deadline,
            )
        )


def _read_rows(
    path: Path, categories: CategoryTable, now: datetime
) -> tuple[list[_Row], list[Problem], int]:
    """The checked rows of ``path``, the problems of the others, and the number of rows."""
    rows: list[_Row] = []
    problems: list[Problem] = []
    count = 0
    try:
        with path.open(encoding="utf-8-sig", newline="") as stream:
            reader = csv.reader(stream)
            header = next(reader, None)
            if header is None:
                raise EventLogError(
                    tr("{path}: the file is empty (expected a header row)", path=path)
                )
            index = _columns(path, header)
            last = reader.line_num
            for record_ in reader:
                line, last = last + 1, reader.line_num  # a quoted note may span lines
                if not any(cell.strip() for cell in record_):
                    continue
                count += 1
                cells = {
                    name: (record_[i] if i < len(record_) else "") for name, i in index.items()
                }
                # blanks around a value are noise, except in a note, which is kept as written
                cells = {k: v if k == "note" else v.strip() for k, v in cells.items()}
                for name in OPTIONAL_COLUMNS - set(index):
                    cells[name] = ""
                row, found = _check_row(line, cells, now, categories)
                problems += found
                if row is not None:
                    rows.append(row)
    except UnicodeDecodeError as exc:
        raise EventLogError(
            tr(
                "{path}: byte {byte} is not UTF-8; save the file as 'CSV UTF-8' "
                "(Excel's plain CSV is GBK)",
                path=path,
                byte=exc.start,
            )
        ) from None
    except csv.Error as exc:
        raise EventLogError(
            tr("{path}: not a readable CSV file: {error}", path=path, error=exc)
        ) from None
    except OSError as exc:
        raise EventLogError(
            tr("cannot read {path}: {error}", path=path, error=exc.strerror or exc)
        ) from None
    return rows, problems, count


def _columns(path: Path, header: Sequence[str]) -> dict[str, int]:
    """Column name -> position; EventLogError naming missing or repeated columns."""
    names = [h.strip().lower() for h in header]
    twice = sorted({n for n in names if n and names.count(n) > 1})
    if twice:
        raise EventLogError(
            tr(
                "{path}: column(s) {columns} appear more than once",
                path=path,
                columns=listing(twice),
            )
        )
    missing = [c for c in REQUIRED_COLUMNS if c not in names]
    if missing:
        raise EventLogError(
            tr(
                "{path}: missing column(s) {missing}; the event log has {columns} "
                "(actor and note may be left out)",
                path=path,
                missing=listing(missing),
                columns=",".join(COLUMNS),
            )
        )
    return {n: names.index(n) for n in COLUMNS if n in names}


# --- import: the cases --------------------------------------------------------------------


@dataclass
class _Case:
    """The rows of one case of the file, ordered by time (stable on file order)."""

    case_id: str
    rows: list[_Row]

    @property
    def report(self) -> _Row:
        return self.rows[0]


def _group(rows: Iterable[_Row]) -> list[_Case]:
    """Cases in the order they first appear, each with its rows sorted by ``at``."""
    found: dict[str, list[_Row]] = {}
    for row in rows:
        found.setdefault(row.case_id, []).append(row)
    return [_Case(cid, sorted(rs, key=lambda r: r.at)) for cid, rs in found.items()]


def _check_case(case: _Case) -> list[Problem]:
    """A case starts with its one report; every row repeats the report's point and category."""
    reports = [r for r in case.rows if r.action is Action.REPORT]
    first = case.rows[0]
    if not reports:
        return [
            Problem.of(
                first.line,
                case.case_id,
                lambda: tr(
                    "case {case} has no report row: a case's events start with report",
                    case=case.case_id,
                ),
            )
        ]
    first_report = reports[0].line
    problems = [
        Problem.of(
            r.line,
            case.case_id,
            lambda: tr(
                "case {case} is reported twice (first on line {line})",
                case=case.case_id,
                line=first_report,
            ),
        )
        for r in reports[1:]
    ]
    report = reports[0]
    if first is not report:
        problems.append(
            Problem.of(
                first.line,
                case.case_id,
                lambda: tr(
                    "{action} at {at} comes before the case's report (line {line}, at {report_at})",
                    action=_action_name(first.action),
                    at=format_time(first.at),
                    line=report.line,
                    report_at=format_time(report.at),
                ),
            )
        )
    for row in case.rows:
        for name in ("lon", "lat", "crs", "category"):
            value, reported = getattr(row, name), getattr(report, name)
            if value not in (None, "") and value != reported:
                problems.append(_differs(row, name, value, report.line, reported))
    return problems


def _differs(row: _Row, column: str, value: object, line: int, reported: object) -> Problem:
    return Problem.of(
        row.line,
        row.case_id,
        lambda: tr(
            "{column} {value!r} differs from the case's report (line {line}: {reported!r})",
            column=column,
            value=value,
            line=line,
            reported=reported,
        ),
    )


class _CaseRefusedError(Exception):
    """A case whose replay the core refused; carries the problem (its savepoint rolls back)."""

    def __init__(self, problem: Problem) -> None:
        super().__init__(problem.message)
        self.problem = problem


@dataclass
class _Replayed:
    case_id: int
    state: str
    events: int
    implied: int
    warning: Problem | None = None


class _RollbackError(Exception):
    """Raised to roll the import's transaction back (a dry run, or problems found)."""


def _refused(
    row: _Row, exc: Exception, later: int, store_id: int | None = None
) -> _CaseRefusedError:
    """The problem of a refused row. The reason is the core's, in the language the import
    runs in (:func:`_in_both_refused` adds the other)."""
    when = format_time(row.at)
    why = str(exc)
    if store_id is not None:  # the core names the id it gave, which the rollback discards
        why = re.sub(rf"(\bcase |案件 ?){store_id}\b", lambda m: f"{m.group(1)}{row.case_id}", why)

    def render() -> str:
        action = _action_name(row.action)
        if later:
            return tr(
                "{action} at {at} refused: {reason}; its {later} later event(s) were not replayed",
                action=action,
                at=when,
                reason=why,
                later=later,
            )
        return tr("{action} at {at} refused: {reason}", action=action, at=when, reason=why)

    return _CaseRefusedError(Problem.of(row.line, row.case_id, render))


def _in_both_refused(
    problem: Problem,
    session: Session,
    data: Dataset,
    case: _Case,
    steps: list[tuple[_Row, _Row | None]],
    *,
    who: str,
) -> Problem:
    """``problem``, the refusal of ``case``, with the core's reason in both languages: the
    core wrote it in the current language, so the case is replayed once more in the other
    (and rolled back whatever happens) for the other text."""
    other: Lang = "en" if current_lang() == "zh" else "zh"
    nested = session.begin_nested()
    again: Problem | None = None
    try:
        with use_lang(other):
            _replay(session, data, case, steps, who)
    except _CaseRefusedError as refused:
        again = refused.problem
    finally:
        nested.rollback()
    if again is None or again.line != problem.line:  # not refused alike: keep what was said
        return problem
    english, chinese = (again, problem) if other == "en" else (problem, again)
    return replace(problem, message=english.message, message_zh=chinese.message_zh)


def _pair_redispatches(case: _Case) -> tuple[list[tuple[_Row, _Row | None]], list[Problem]]:
    """The rows as steps: a redispatch with the dispatch of its new unit (same time)."""
    paired: set[int] = set()
    steps: list[tuple[_Row, _Row | None]] = []
    problems: list[Problem] = []
    for row in case.rows:
        if row.action is Action.REDISPATCH:
            new = next(
                (
                    r
                    for r in case.rows
                    if r.action is Action.DISPATCH
                    and r.at == row.at
                    and r.unit != row.unit
                    and id(r) not in paired
                ),
                None,
            )
            if new is None:
                problems.append(_unpaired(row))
                continue
            paired.add(id(new))
            steps.append((row, new))
    order = {id(r): n for n, r in enumerate(case.rows)}
    singles = [(r, None) for r in case.rows if r.action is not Action.REDISPATCH]
    steps += [(r, n) for r, n in singles if id(r) not in paired]
    steps.sort(key=lambda step: order[id(step[0])])
    return steps, problems


def _unpaired(row: _Row) -> Problem:
    return Problem.of(
        row.line,
        row.case_id,
        lambda: tr(
            "redispatch of unit {unit} needs the dispatch row of the new unit at the same "
            "time ({at})",
            unit=row.unit,
            at=format_time(row.at),
        ),
    )


def _task_unit(session: Session, case_id: int, row: _Row) -> str:
    """The unit a task row names, else the case's one active task's (a log may leave it out)."""
    if row.unit:
        return row.unit
    units = session.scalars(
        select(t.CaseTask.unit_code).where(
            t.CaseTask.case_id == case_id, t.CaseTask.state != "cancelled"
        )
    ).all()
    if len(units) == 1:
        return units[0]
    if not units:
        raise ActionInputError(
            tr("the row names no unit and the case has no active task: name the unit")
        )
    raise ActionInputError(
        tr(
            "the row names no unit and the case has {n} active tasks ({units}): name the unit",
            n=len(units),
            units=listing(units),
        )
    )


def _request_pending(session: Session, case_id: int, unit: str) -> bool:
    found = session.scalar(
        select(t.CaseTask.extension_until).where(
            t.CaseTask.case_id == case_id,
            t.CaseTask.unit_code == unit,
            t.CaseTask.state != "cancelled",
        )
    )
    return found is not None


def _replay(
    session: Session, data: Dataset, case: _Case, steps: list[tuple[_Row, _Row | None]], who: str
) -> _Replayed:
    """Insert the case and apply its events, as the core would have at their times."""
    report = case.report
    assert report.lon is not None and report.lat is not None
    later = len(steps) - 1
    try:
        new = NewCase(report.lon, report.lat, report.crs, report.category)
        units, agency = suggestion(data, new) if report.category else ([], "")
        reported = NewCase(
            lon=report.lon,
            lat=report.lat,
            crs=report.crs,
            category=report.category,
            description=report.note,
            attributes={"import": {"case_id": case.case_id}},
            at=report.at,
        )
        inserted = insert_case(
            session,
            data,
            reported,
            actor=report.actor or who,
            partner_units=units,
            agency_responsible=agency,
        )
    except GridgeoError as exc:
        raise _refused(report, exc, later) from exc
    done = _Replayed(inserted.id, CaseState.REPORTED.value, 1, 0)
    if inserted.grid_code is None:
        done.warning = Problem.of(
            report.line,
            case.case_id,
            lambda: tr(
                "the point lies outside every grid of version {version}: stored without codes",
                version=data.version,
            ),
        )
    for n, (row, paired) in enumerate(steps[1:], start=1):
        actor = Actor(row.actor or who, Role.ADMIN)
        try:
            done.implied += _apply(session, data, inserted.id, row, paired, actor=actor)
        except GridgeoError as exc:
            raise _refused(row, exc, later - n, inserted.id) from exc
    stored = session.get(t.Case, inserted.id)  # in the session already: no query
    assert stored is not None
    done.state = stored.state
    done.events = len(case.rows) + done.implied
    return done


def _apply(
    session: Session, data: Dataset, case_id: int, row: _Row, paired: _Row | None, *, actor: Actor
) -> int:
    """One row as an action of the core; how many extension requests it had to imply."""
    base = ActionRequest(row.action, note=row.note, at=row.at)
    if row.action in _CASE_ACTIONS:
        act_in(session, case_id, base, actor, data=data)
        return 0
    if row.action is Action.DISPATCH:
        req = ActionRequest(
            row.action, units=(row.unit,), deadline=row.deadline, note=row.note, at=row.at
        )
        act_in(session, case_id, req, actor, data=data)
        return 0
    unit = _task_unit(session, case_id, row)
    if row.action is Action.REDISPATCH:
        assert paired is not None
        req = ActionRequest(
            row.action,
            unit=unit,
            units=(paired.unit,),
            deadline=paired.deadline,
            note=row.note,
            at=row.at,
        )
        act_in(session, case_id, req, actor, data=data)
        return 0
    implied = 0
    if row.action is Action.EXTEND and not _request_pending(session, case_id, unit):
        # the log's format grants an extension in one row; the loop asks for it first
        asked = ActionRequest(Action.REQUEST_EXTENSION, unit=unit, deadline=row.deadline, at=row.at)
        act_in(session, case_id, asked, actor, data=data)
        implied = 1
    req = ActionRequest(row.action, unit=unit, deadline=row.deadline, note=row.note, at=row.at)
    act_in(session, case_id, req, actor, data=data)
    return implied


def import_events(
    store: Store,
    path: str | Path,
    *,
    data: Dataset,
    actor: str,
    commit: bool = False,
    now: datetime | None = None,
) -> ImportReport:
    """Replay the event log ``path`` into the store: all of it in one transaction, or nothing.

    Every row is checked (action, times with offsets, coordinates, units and
    deadlines an action needs), and every problem is collected with its line. The
    rows are grouped by ``case_id`` and each case's events ordered by ``at``
    (stable on the file's order); the first must be its ``report``. Each case is
    inserted, assigned with ``data`` (the published boundaries), and gets a new
    id, the file's id kept as ``attributes["import"]["case_id"]``; each event is
    then applied by the work loop's core at its time by an admin named by the
    row's ``actor`` (default ``actor``), so an order the state rules forbid is a
    problem naming the line and the actions allowed. An ``extend`` of a task with
    no pending request implies the request (same time, same deadline).

    Parameters
    ----------
    store : Store
        Where to write.
    path : str or Path
        The CSV event log (UTF-8, a BOM tolerated; columns by name, others ignored).
    data : Dataset
        The published boundaries (with partners and routing) the cases are assigned with.
    actor : str
        Who imports (the audit entry; the actor of rows that name none).
    commit : bool
        Write (default: a dry run, rolled back at the end).
    now : datetime, optional
        The clock events may not lie after (default now).

    Returns
    -------
    ImportReport
        What was (or would be) written, or the problems; with any problem nothing is.

    Raises
    ------
    EventLogError
        The file cannot be read, is not UTF-8, or lacks columns (named).
    """
    source = Path(path)
    clock = now or t.utcnow()
    rows, problems, count = _read_rows(source, data.categories, clock)
    bad_cases = {p.case_id for p in problems}
    cases = _group(rows)
    planned: list[tuple[_Case, list[tuple[_Row, _Row | None]]]] = []
    for case in cases:
        if case.case_id in bad_cases:
            continue  # its rows' problems are listed; its order is checked once they are fixed
        found = _check_case(case)
        steps, unpaired = _pair_redispatches(case)
        problems += found + unpaired
        if not (found or unpaired):
            planned.append((case, steps))
    n_cases = len({r.case_id for r in rows} | (bad_cases - {""}))
    report = ImportReport(str(source), False, count, n_cases)
    replayed: dict[str, _Replayed] = {}
    warnings: list[Problem] = []
    try:
        with store.transaction() as session:
            warnings += _imported_before(session, [case for case, _ in planned])
            for case, steps in planned:
                try:
                    with session.begin_nested():  # a refused case leaves nothing half-written
                        replayed[case.case_id] = _replay(session, data, case, steps, actor)
                except _CaseRefusedError as refused:
                    problems.append(
                        _in_both_refused(refused.problem, session, data, case, steps, who=actor)
                    )
            if problems or not commit:
                raise _RollbackError
            record(
                session,
                actor=actor,
                action="case.import",
                entity="case",
                source=source.name,
                rows=count,
                cases=len(replayed),
            )
    except _RollbackError:
        pass
    problems.sort(key=lambda p: p.line)
    warnings += [r.warning for r in replayed.values() if r.warning is not None]
    warnings.sort(key=lambda p: p.line)
    return _finish(report, replayed, problems, warnings, committed=commit and not problems)


def _imported_before(session: Session, cases: Sequence[_Case]) -> list[Problem]:
    """Warnings for the file's cases an earlier import already brought in (by file id)."""
    by_id = {case.case_id: case for case in cases}
    column = t.Case.attributes["import"]["case_id"].as_string()
    found: list[Problem] = []
    ids = list(by_id)
    for start in range(0, len(ids), 1000):  # bounded IN lists, whatever the file's size
        rows = session.execute(
            select(column, t.Case.id).where(column.in_(ids[start : start + 1000]))
        )
        found += [_imported(by_id[file_id].report, case_id) for file_id, case_id in rows]
    return found


def _imported(report: _Row, case_id: int) -> Problem:
    return Problem.of(
        report.line,
        report.case_id,
        lambda: tr(
            "case_id {file_id} was imported before as case {case}: importing it again makes "
            "a second case",
            file_id=report.case_id,
            case=case_id,
        ),
    )


def _finish(
    report: ImportReport,
    replayed: dict[str, _Replayed],
    problems: list[Problem],
    warnings: list[Problem],
    *,
    committed: bool,
) -> ImportReport:
    states = Counter(r.state for r in replayed.values())
    return ImportReport(
        source=report.source,
        committed=committed,
        rows=report.rows,
        cases=report.cases,
        events=sum(r.events for r in replayed.values()),
        implied_requests=sum(r.implied for r in replayed.values()),
        states={s.value: states[s.value] for s in CaseState if states[s.value]},
        mapping={cid: r.case_id for cid, r in replayed.items()},
        problems=tuple(problems),
        warnings=tuple(warnings),
    )
