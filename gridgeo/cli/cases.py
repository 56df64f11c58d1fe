"""``gridgeo cases``: the work loop from the command line.

``list``, ``show``, ``add`` (a report, through the one creation path
:func:`~gridgeo.store.cases.report_case`), ``act`` (one action of the loop, through
the same :func:`~gridgeo.store.casework.act` the API calls, as an admin named by
``--actor`` or ``GRIDGEO_ACTOR``), ``import`` and ``export`` of the event log
(:mod:`gridgeo.store.event_log`). Text is Chinese unless ``--lang en`` (or
``GRIDGEO_LANG=en``); ``--format json`` gives the API's shapes.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

from gridgeo.api.media import checked_photo
from gridgeo.caseflow import Action, ActionInputError, Actor, CaseState, parse_action
from gridgeo.cli.commands import help_of
from gridgeo.cli.options import add_format, crs_help, emit_json
from gridgeo.cli.store import add_store_options, open_store
from gridgeo.deadlines import BEIJING
from gridgeo.errors import InputFileError
from gridgeo.i18n import Lang, current_lang, tr
from gridgeo.roles import Role
from gridgeo.store.case_queries import CaseDetail, EventRecord, TaskRecord, case_detail
from gridgeo.store.cases import (
    CaseQuery,
    CaseRecord,
    MediaUpload,
    NewCase,
    list_cases,
    report_case,
)
from gridgeo.store.casework import ActionRequest, act
from gridgeo.store.datasets import published_dataset
from gridgeo.store.event_log import (
    ExportFormat,
    ImportReport,
    export_events,
    import_events,
    with_offset,
)
from gridgeo.store.schema import MAX_ID, utcnow
from gridgeo.wording import listing, text_table

EXIT_OK, EXIT_INPUT = 0, 2
SHOWN_PROBLEMS = 50  # an import lists this many problems, then counts the rest


def register(sub: Any) -> None:
    """Add ``gridgeo cases`` and its sub-commands to the ``gridgeo`` parser."""
    p = sub.add_parser(
        "cases",
        help=help_of("cases"),
        description=tr(
            "Cases of the work loop (report, register, dispatch, handle, check, close). The "
            "CLI acts as an admin named by --actor (default GRIDGEO_ACTOR or the login name)."
        ),
    )
    cases_sub = p.add_subparsers(dest="cases_command", required=True, metavar=tr("SUBCOMMAND"))

    q = _sub(cases_sub, "list", tr("list cases, newest first"), run_list)
    q.add_argument(
        "--state",
        type=_states,
        metavar="S[,S]",
        help=tr(
            "states, comma-separated, in English or Chinese: {states}",
            states=listing(_state_name(s) for s in CaseState),
        ),
    )
    q.add_argument("--category", metavar="CODE", help=tr("category code"))
    q.add_argument(
        "--grid", metavar="CODE", help=tr("grid code of any level (a community: 12 digits)")
    )
    q.add_argument(
        "--limit",
        type=_positive,
        default=100,
        metavar="N",
        help=tr("at most N cases (default 100)"),
    )
    add_format(q)

    q = _sub(
        cases_sub, "show", tr("one case: its tasks with deadlines, and its timeline"), run_show
    )
    q.add_argument("case_id", type=_positive, metavar="ID", help=tr("the case"))
    add_format(q)

    q = _sub(
        cases_sub, "add", tr("report a case (assigned to its grid, with a suggestion)"), run_add
    )
    q.add_argument("lon", type=float, help=tr("longitude (x)"))
    q.add_argument("lat", type=float, help=tr("latitude (y)"))
    q.add_argument("--category", required=True, help=tr("category code or name (e.g. 0101)"))
    q.add_argument("--crs", default="wgs84", help=crs_help())
    q.add_argument("--description", default="", help=tr("what was reported"))
    q.add_argument("--address", default="", help=tr("address as reported"))
    q.add_argument(
        "--urgency",
        default="normal",
        help=tr("normal (default) or urgent"),
    )
    add_format(q)

    q = _sub(cases_sub, "act", tr("one action on a case (English or Chinese name)"), run_act)
    q.add_argument("case_id", type=_positive, metavar="ID", help=tr("the case"))
    q.add_argument(
        "action",
        metavar="ACTION",
        help=tr(
            "the action, in English or Chinese: {actions}",
            actions=listing(_action_name(a) for a in Action if a is not Action.REPORT),
        ),
    )
    q.add_argument(
        "--unit",
        action="append",
        default=[],
        metavar="U",
        help=tr(
            "dispatch: the units (repeatable; default the suggestion); a task action: the "
            "unit whose task; redispatch: the new unit (the last --unit; the task by --task or "
            "the first --unit)"
        ),
    )
    q.add_argument("--task", type=_positive, metavar="N", help=tr("the task of a task action"))
    q.add_argument(
        "--deadline",
        type=_time,
        metavar="ISO",
        help=tr(
            "ISO 8601 with offset, e.g. 2026-11-10T17:00+08:00: a dispatch's own deadline, "
            "the one an extension asks for or grants"
        ),
    )
    q.add_argument("--note", default="", help=tr("note for the timeline"))
    q.add_argument(
        "--public-note", metavar="NOTE", help=tr("note shown to the public (Open311 status_notes)")
    )
    q.add_argument(
        "--photo",
        type=Path,
        action="append",
        default=[],
        metavar="FILE",
        help=tr("photo (repeatable)"),
    )
    add_format(q)

    q = _sub(
        cases_sub,
        "import",
        tr("replay an event log CSV into the store (dry run unless --commit)"),
        run_import,
    )
    q.add_argument("events", type=Path, metavar="EVENTS.csv", help=tr("the event log"))
    q.add_argument("--commit", action="store_true", help=tr("write (default: dry run)"))
    add_format(q)

    q = _sub(
        cases_sub, "export", tr("write the event log (CSV for Excel, or JSON lines)"), run_export
    )
    q.add_argument("--events", action="store_true", required=True, help=tr("export the event log"))
    q.add_argument(
        "-o", "--output", required=True, metavar="FILE", help=tr("file, or - for stdout")
    )
    q.add_argument(
        "--case",
        type=_positive,
        action="append",
        metavar="ID",
        help=tr("only this case (repeatable)"),
    )
    q.add_argument(
        "--format",
        choices=("csv", "jsonl"),
        help=tr("csv (default; UTF-8 with BOM) or jsonl (default for a .jsonl file)"),
    )


def _sub(cases_sub: Any, name: str, text: str, handler: Any) -> argparse.ArgumentParser:
    q: argparse.ArgumentParser = cases_sub.add_parser(name, help=text, description=text)
    add_store_options(q)
    q.set_defaults(handler=handler)
    return q


# --- argument types -----------------------------------------------------------------------


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(tr("not a whole number: {text!r}", text=text)) from None
    if not 1 <= value <= MAX_ID:
        raise argparse.ArgumentTypeError(tr("must be a positive number, got {text!r}", text=text))
    return value


def _states(text: str) -> tuple[str, ...]:
    found = []
    for item in (s.strip() for s in text.split(",")):
        state = next((s for s in CaseState if item.lower() == s.value or item == s.label_zh), None)
        if state is None:
            names = listing(_state_name(s) for s in CaseState)
            raise argparse.ArgumentTypeError(
                tr("unknown state {item!r}: use {names}", item=item, names=names)
            )
        found.append(state.value)
    return tuple(found)


def _state_name(state: CaseState) -> str:
    """``dispatched (派遣)``, in Chinese ``派遣（dispatched）``: what a user may type."""
    return tr("{value} ({label})", value=state.value, label=state.label_zh)


def _action_name(action: Action) -> str:
    """``close (结案)``, in Chinese ``结案（close）``: what a user may type."""
    return tr("{value} ({label})", value=action.value, label=action.label_zh)


def _time(text: str) -> datetime:
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            tr("not an ISO 8601 time: {text!r} (e.g. 2026-11-10T17:00+08:00)", text=text)
        ) from None
    if value.tzinfo is None:
        raise argparse.ArgumentTypeError(
            tr("{text!r} has no UTC offset: write {fixed}", text=text, fixed=with_offset(text))
        )
    return value


# --- text helpers -------------------------------------------------------------------------


def _when(value: datetime | None) -> str:
    return value.astimezone(BEIJING).strftime("%Y-%m-%d %H:%M") if value else "-"


def _state(value: str, lang: Lang) -> str:
    """A case's state for people: ``派遣`` (zh) or ``dispatched`` (en)."""
    state = CaseState(value)
    return state.label_zh if lang == "zh" else state.value


def _action(action: Action, lang: Lang) -> str:
    """An action for people: ``结案`` (zh) or ``close`` (en)."""
    return action.label_zh if lang == "zh" else action.value


# --- list, show ---------------------------------------------------------------------------


def run_list(args: argparse.Namespace) -> int:
    store, _, _ = open_store(args)
    query = CaseQuery(
        state=args.state, category=args.category, grid_code=args.grid, limit=args.limit
    )
    found = list_cases(store, query)
    if args.format == "json":
        emit_json([r.to_dict() for r in found])
        return EXIT_OK
    print("\n".join(_casetext_table(found, current_lang())))
    return EXIT_OK


def _casetext_table(found: Sequence[CaseRecord], lang: Lang) -> list[str]:
    if not found:
        return [tr("(no cases)")]
    head = [tr("id"), tr("state"), tr("category"), tr("grid"), tr("reported"), tr("deadline")]
    rows = [
        [
            str(r.id),
            _state(r.state, lang),
            r.category or "-",
            r.grid_code or "-",
            _when(r.created_at),
            _when(r.expected_at),
        ]
        for r in found
    ]
    return [*text_table(head, rows, right=[0]), tr("{n} case(s)", n=len(found))]


def run_show(args: argparse.Namespace) -> int:
    store, _, _ = open_store(args)
    detail = case_detail(store, args.case_id)
    now = utcnow()
    if args.format == "json":
        emit_json(detail.to_dict(now))
        return EXIT_OK
    print("\n".join(_detail_lines(detail, current_lang(), now)))
    return EXIT_OK


def _detail_lines(detail: CaseDetail, lang: Lang, now: datetime) -> list[str]:
    c = detail.case
    urgency = {"normal": tr("normal"), "urgent": tr("urgent")}.get(c.urgency, c.urgency)
    fields = [
        (tr("category"), c.category or "-"),
        (
            tr("grid"),
            tr(
                "{grid} (boundaries version {version})  workstation {workstation}",
                grid=c.grid_code or "-",
                version=c.boundary_version,
                workstation=c.workstation_code or "-",
            ),
        ),
        (
            tr("point"),
            tr(
                "{lon:.6f}, {lat:.6f} (CGCS2000)  as reported {x}, {y} {crs}",
                lon=c.lon,
                lat=c.lat,
                x=c.source["lon"],
                y=c.source["lat"],
                crs=c.source["crs"],
            ),
        ),
        (tr("address"), c.address),
        (tr("description"), c.description),
        (tr("reported"), _when(c.created_at)),
        (tr("deadline"), _when(c.expected_at)),
        (tr("closed"), _when(c.closed_at) if c.closed_at else ""),
        (tr("public note"), c.public_note or ""),
    ]
    head = tr(
        "case {id}  {state}  urgency {urgency}",
        id=c.id,
        state=_state(c.state, lang),
        urgency=urgency,
    )
    lines = [head, *text_table(["", ""], [[k, v] for k, v in fields if v], indent="  ")[1:]]
    lines += [tr("tasks:"), *_task_lines(detail.tasks, lang, now)]
    lines += [tr("timeline:"), *_event_lines(detail.events, lang)]
    return lines


def _task_lines(tasks: Sequence[TaskRecord], lang: Lang, now: datetime) -> list[str]:
    if not tasks:
        return [tr("  (not dispatched yet)")]
    rows = []
    for x in tasks:
        state = x.state.label_zh if lang == "zh" else x.state.value
        marks = [tr("OVERDUE")] if x.overdue(now) else []
        if x.extension_until is not None:
            marks.append(tr("extension asked until {at}", at=_when(x.extension_until)))
        unit = f"{x.unit} {x.unit_name}".strip()
        rows.append([str(x.id), unit, state, _when(x.deadline), " ".join(marks)])
    head = [tr("task"), tr("unit"), tr("state"), tr("deadline"), ""]
    return text_table(head, rows, indent="  ")


def _event_lines(events: Sequence[EventRecord], lang: Lang) -> list[str]:
    rows = [
        [
            _when(e.at),
            _action(e.action, lang),
            e.unit or "",
            _when(e.deadline) if e.deadline else "",
            e.actor,
            e.note,
        ]
        for e in events
    ]
    head = [tr("at"), tr("action"), tr("unit"), tr("deadline"), tr("actor"), tr("note")]
    return text_table(head, rows, indent="  ")


# --- add, act -----------------------------------------------------------------------------


def run_add(args: argparse.Namespace) -> int:
    store, cfg, actor = open_store(args)
    data = published_dataset(store, cfg)
    new = NewCase(
        lon=args.lon,
        lat=args.lat,
        crs=args.crs,
        category=args.category,
        description=args.description,
        address=args.address,
        urgency=args.urgency,
    )
    record = report_case(store, data, new, actor=actor)
    if args.format == "json":
        emit_json(record.to_dict())
        return EXIT_OK
    print(
        tr(
            "case {id} reported: grid {grid} (boundaries version {version}), "
            "workstation {workstation}",
            id=record.id,
            grid=record.grid_code or "-",
            version=record.boundary_version,
            workstation=record.workstation_code or "-",
        )
    )
    units = [f"{u.get('code')} {u.get('name', '')}".strip() for u in record.partner_units]
    print(
        tr("suggested units: {units}", units=listing(units))
        if units
        else tr("no suggested unit (no routing table, or none for the category)")
    )
    return EXIT_OK


def _photos(paths: Sequence[Path], limit: int) -> tuple[MediaUpload, ...]:
    found = []
    for path in paths:
        try:
            with path.open("rb") as stream:
                data = stream.read(limit + 1)  # one byte over says "too large"
        except OSError as exc:
            raise InputFileError(
                tr("cannot read photo {path}: {error}", path=path, error=exc.strerror or exc)
            ) from None
        found.append(checked_photo(data, path.name, None, limit))
    return tuple(found)


# the actions whose event keeps photos (casework stores media with a task's move)
PHOTO_ACTIONS = (
    Action.ACCEPT,
    Action.HANDLE,
    Action.VERIFY_PASS,
    Action.VERIFY_FAIL,
    Action.RETURN,
)


def _request(
    args: argparse.Namespace, action: Action, media: tuple[MediaUpload, ...]
) -> ActionRequest:
    if media and action not in PHOTO_ACTIONS:
        names = listing(a.value for a in PHOTO_ACTIONS)
        raise ActionInputError(
            tr(
                "{action} keeps no photos: --photo goes with {names}",
                action=action.value,
                names=names,
            )
        )
    units = [u.strip() for u in args.unit if u.strip()]
    task_unit: str | None = None
    if action is Action.REDISPATCH:
        if args.task is None and len(units) >= 2:
            task_unit, units = units[0], units[1:]
        units = units[-1:]
    elif action.on_task:
        if len(units) > 1:
            raise ActionInputError(
                tr(
                    "{action} acts on one task: give one --unit, not {units}",
                    action=action.value,
                    units=listing(units),
                )
            )
        task_unit, units = (units[0] if units else None), []
    return ActionRequest(
        action=action,
        task_id=args.task,
        unit=task_unit,
        units=tuple(units),
        deadline=args.deadline,
        note=args.note,
        public_note=args.public_note,
        media=media,
    )


def run_act(args: argparse.Namespace) -> int:
    store, cfg, name = open_store(args)
    action = parse_action(args.action)
    media = _photos(args.photo, cfg.api.max_media_bytes)
    req = _request(args, action, media)
    # units are checked against (and deadlines computed from) the published data
    data = published_dataset(store, cfg) if action in (Action.DISPATCH, Action.REDISPATCH) else None
    result = act(store, args.case_id, req, Actor(name, Role.ADMIN), data=data)
    detail = case_detail(store, args.case_id)
    if args.format == "json":
        emit_json(detail.to_dict() | {"event_ids": list(result.event_ids)})
        return EXIT_OK
    lang = current_lang()
    print(
        tr(
            "case {id}: {action} done, now {state}",
            id=args.case_id,
            action=_action(action, lang),
            state=_state(result.state, lang),
        )
    )
    written = [e for e in detail.events if e.id in result.event_ids]
    print("\n".join(_event_lines(written, lang)[1:]))
    return EXIT_OK


# --- import, export -----------------------------------------------------------------------


def run_import(args: argparse.Namespace) -> int:
    store, cfg, actor = open_store(args)
    data = published_dataset(store, cfg)
    found = import_events(store, args.events, data=data, actor=actor, commit=args.commit)
    if args.format == "json":
        emit_json(found.to_dict())
    else:
        _print_import(found, current_lang())
    return EXIT_OK if found.ok else EXIT_INPUT


def _print_import(found: ImportReport, lang: Lang) -> None:
    print(
        tr(
            "{source}: {rows} row(s), {cases} case(s)",
            source=found.source,
            rows=found.rows,
            cases=found.cases,
        )
    )
    if not found.ok:
        print(tr("{n} problem(s) found, nothing written:", n=len(found.problems)))
        for problem in found.problems[:SHOWN_PROBLEMS]:
            print(f"  {problem.text(lang)}")
        if len(found.problems) > SHOWN_PROBLEMS:
            print(tr("  ... and {n} more problem(s)", n=len(found.problems) - SHOWN_PROBLEMS))
        return
    counts = {"cases": len(found.mapping), "events": found.events}
    if found.committed:
        line = tr("imported {cases} case(s), {events} event(s)", **counts)
    else:
        line = tr("would import {cases} case(s), {events} event(s)", **counts)
    if found.implied_requests:
        line += tr(
            " ({n} extension request(s) implied by granted extensions)", n=found.implied_requests
        )
    print(line)
    states = listing(tr("{state} {n}", state=_state(s, lang), n=n) for s, n in found.states.items())
    print(tr("states reached: {states}", states=states or "-"))
    for warning in found.warnings:
        print(tr("  warning: {warning}", warning=warning.text(lang)))
    if not found.committed:
        print(tr("dry run: nothing written; run again with --commit to write"))
        return
    print(tr("case ids (file -> new):"))
    print("\n".join(f"  {old} -> {new}" for old, new in found.mapping.items()))


def run_export(args: argparse.Namespace) -> int:
    store, _, _ = open_store(args)
    fmt: ExportFormat = "jsonl" if str(args.output).endswith(".jsonl") else "csv"
    if args.format is not None:
        fmt = "jsonl" if args.format == "jsonl" else "csv"
    out: Any = sys.stdout if args.output == "-" else Path(args.output)
    n = export_events(store, out, case_ids=args.case, format=fmt)
    message = tr("wrote {n} event(s) to {path}", n=n, path=args.output)
    print(message, file=sys.stderr if args.output == "-" else sys.stdout)
    return EXIT_OK
