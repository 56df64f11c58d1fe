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
from typing import Any, Literal

from gridgeo.api.media import checked_photo
from gridgeo.caseflow import Action, ActionInputError, Actor, CaseState, parse_action
from gridgeo.cli.commands import help_of
from gridgeo.cli.options import add_format, emit_json, text_table
from gridgeo.cli.store import add_store_options, open_store
from gridgeo.deadlines import BEIJING
from gridgeo.errors import InputFileError
from gridgeo.i18n import current_lang
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

EXIT_OK, EXIT_INPUT = 0, 2
SHOWN_PROBLEMS = 50  # an import lists this many problems, then counts the rest
Lang = Literal["zh", "en"]

# Words of the text output: Chinese by default, English with --lang en.
WORDS: dict[str, dict[str, str]] = {
    "zh": {
        "id": "编号",
        "state": "状态",
        "category": "类别",
        "grid": "网格",
        "reported": "上报时间",
        "deadline": "期限",
        "no_cases": "（没有案件）",
        "count": "共 {n} 件",
        "case": "案件 {id}",
        "urgency": "紧急程度",
        "version": "（边界版本 {v}）",
        "workstation": "工作站",
        "point": "位置",
        "as_reported": "上报坐标",
        "address": "地址",
        "description": "描述",
        "closed_at": "结案时间",
        "public_note": "公开说明",
        "tasks": "任务：",
        "no_tasks": "  （尚未派遣）",
        "task": "任务",
        "unit": "单位",
        "overdue": "超期",
        "extension": "申请延期至 {at}",
        "timeline": "时间线：",
        "at": "时间",
        "action": "动作",
        "actor": "操作人",
        "note": "备注",
        "acted": "案件 {id}：{action} 完成，现为 {state}",
        "added": "已上报案件 {id}：网格 {grid}（边界版本 {v}），工作站 {ws}",
        "suggested": "建议派遣：{units}",
        "no_suggestion": "无派遣建议（未发布流转表，或类别无对应单位）",
        "import_head": "{src}：{rows} 行，{cases} 个案件",
        "problems": "发现 {n} 个问题，未写入任何数据：",
        "more": "  ……另有 {n} 个问题",
        "dry_run": "试运行：未写入任何数据；加 --commit 写入",
        "committed": "已导入 {cases} 个案件、{events} 条事件",
        "would": "将导入 {cases} 个案件、{events} 条事件",
        "implied": "（其中 {n} 条延期申请由批准延期推定）",
        "states": "到达状态：{states}",
        "mapping": "案件编号对照（文件 → 新编号）：",
        "warning": "提示：",
        "exported": "已写出 {n} 条事件到 {out}",
    },
    "en": {
        "id": "id",
        "state": "state",
        "category": "category",
        "grid": "grid",
        "reported": "reported",
        "deadline": "deadline",
        "no_cases": "(no cases)",
        "count": "{n} case(s)",
        "case": "case {id}",
        "urgency": "urgency",
        "version": "(boundaries version {v})",
        "workstation": "workstation",
        "point": "point",
        "as_reported": "as reported",
        "address": "address",
        "description": "description",
        "closed_at": "closed",
        "public_note": "public note",
        "tasks": "tasks:",
        "no_tasks": "  (not dispatched yet)",
        "task": "task",
        "unit": "unit",
        "overdue": "OVERDUE",
        "extension": "extension asked until {at}",
        "timeline": "timeline:",
        "at": "at",
        "action": "action",
        "actor": "actor",
        "note": "note",
        "acted": "case {id}: {action} done, now {state}",
        "added": "case {id} reported: grid {grid} (version {v}), workstation {ws}",
        "suggested": "suggested units: {units}",
        "no_suggestion": "no suggested unit (no routing table, or none for the category)",
        "import_head": "{src}: {rows} row(s), {cases} case(s)",
        "problems": "{n} problem(s) found, nothing written:",
        "more": "  ... and {n} more problem(s)",
        "dry_run": "dry run: nothing written; run again with --commit to write",
        "committed": "imported {cases} case(s), {events} event(s)",
        "would": "would import {cases} case(s), {events} event(s)",
        "implied": " ({n} extension request(s) implied by granted extensions)",
        "states": "states reached: {states}",
        "mapping": "case ids (file -> new):",
        "warning": "warning: ",
        "exported": "wrote {n} event(s) to {out}",
    },
}


def register(sub: Any) -> None:
    """Add ``gridgeo cases`` and its sub-commands to the ``gridgeo`` parser."""
    p = sub.add_parser(
        "cases",
        help=help_of("cases"),
        description="Cases of the work loop (上报 → 立案 → 派遣 → 处置 → 核查 → 结案). Text is "
        "Chinese unless --lang en (or GRIDGEO_LANG=en). The CLI acts as an admin named by "
        "--actor (default GRIDGEO_ACTOR or the login name).",
    )
    cases_sub = p.add_subparsers(dest="cases_command", required=True, metavar="SUBCOMMAND")

    q = _sub(cases_sub, "list", "list cases, newest first", run_list)
    q.add_argument(
        "--state",
        type=_states,
        metavar="S[,S]",
        help="states, comma-separated: " + ", ".join(s.value for s in CaseState) + " (or 中文)",
    )
    q.add_argument("--category", help="category code")
    q.add_argument("--grid", metavar="CODE", help="grid code of any level (a community: 12 digits)")
    q.add_argument("--limit", type=_positive, default=100, help="at most N cases (default 100)")
    add_format(q)

    q = _sub(cases_sub, "show", "one case: its tasks with deadlines, and its timeline", run_show)
    q.add_argument("case_id", type=_positive, metavar="ID")
    add_format(q)

    q = _sub(cases_sub, "add", "report a case (assigned to its grid, with a suggestion)", run_add)
    q.add_argument("lon", type=float, help="longitude (x)")
    q.add_argument("lat", type=float, help="latitude (y)")
    q.add_argument("--category", required=True, help="category code or name (e.g. 0101)")
    q.add_argument(
        "--crs", default="wgs84", help="wgs84 (default; GPS), cgcs2000, gcj02 (Amap), bd09"
    )
    q.add_argument("--description", default="", help="what was reported")
    q.add_argument("--address", default="", help="address as reported")
    q.add_argument("--urgency", default="normal", help="normal (一般, default) or urgent (紧急)")
    add_format(q)

    q = _sub(cases_sub, "act", "one action on a case (English or Chinese name)", run_act)
    q.add_argument("case_id", type=_positive, metavar="ID")
    q.add_argument(
        "action",
        metavar="ACTION",
        help="register 立案, reject 不予立案, dispatch 派遣, accept 签收, handle 处置, "
        "verify_pass 核查通过, verify_fail, request_extension 申请延期, extend 批准延期, "
        "refuse_extension 不予延期, return, redispatch 改派, close 结案",
    )
    q.add_argument(
        "--unit",
        action="append",
        default=[],
        metavar="U",
        help="dispatch: the units (repeatable; default the suggestion); a task action: the "
        "unit whose task; redispatch: the new unit (the last --unit; the task by --task or "
        "the first --unit)",
    )
    q.add_argument("--task", type=_positive, metavar="N", help="the task of a task action")
    q.add_argument(
        "--deadline",
        type=_time,
        metavar="ISO",
        help="ISO 8601 with offset, e.g. 2026-11-10T17:00+08:00: a dispatch's own deadline, "
        "the one an extension asks for or grants",
    )
    q.add_argument("--note", default="", help="note for the timeline")
    q.add_argument("--public-note", help="note shown to the public (Open311 status_notes)")
    q.add_argument(
        "--photo", type=Path, action="append", default=[], metavar="FILE", help="photo (repeatable)"
    )
    add_format(q)

    q = _sub(
        cases_sub,
        "import",
        "replay an event log CSV into the store (dry run unless --commit)",
        run_import,
    )
    q.add_argument("events", type=Path, metavar="EVENTS.csv")
    q.add_argument("--commit", action="store_true", help="write (default: dry run)")
    add_format(q)

    q = _sub(cases_sub, "export", "write the event log (CSV for Excel, or JSON lines)", run_export)
    q.add_argument("--events", action="store_true", required=True, help="export the event log")
    q.add_argument("-o", "--output", required=True, metavar="FILE", help="file, or - for stdout")
    q.add_argument(
        "--case", type=_positive, action="append", metavar="ID", help="only this case (repeatable)"
    )
    q.add_argument(
        "--format",
        choices=("csv", "jsonl"),
        help="csv (default; UTF-8 with BOM) or jsonl (default for a .jsonl file)",
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
        raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
    if not 1 <= value <= MAX_ID:
        raise argparse.ArgumentTypeError(f"must be a positive number, got {text!r}")
    return value


def _states(text: str) -> tuple[str, ...]:
    found = []
    for item in (s.strip() for s in text.split(",")):
        state = next((s for s in CaseState if item.lower() == s.value or item == s.label_zh), None)
        if state is None:
            names = ", ".join(f"{s.value} ({s.label_zh})" for s in CaseState)
            raise argparse.ArgumentTypeError(f"unknown state {item!r}: use {names}")
        found.append(state.value)
    return tuple(found)


def _time(text: str) -> datetime:
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"not an ISO 8601 time: {text!r} (e.g. 2026-11-10T17:00+08:00)"
        ) from None
    if value.tzinfo is None:
        raise argparse.ArgumentTypeError(f"{text!r} has no UTC offset: write {with_offset(text)}")
    return value


# --- text helpers -------------------------------------------------------------------------


def _lang(args: argparse.Namespace) -> Lang:
    return current_lang()


def _when(value: datetime | None) -> str:
    return value.astimezone(BEIJING).strftime("%Y-%m-%d %H:%M") if value else "-"


def _state(value: str, lang: Lang) -> str:
    """``派遣 dispatched`` (zh) or ``dispatched 派遣`` (en): both, so scripts and people read it."""
    state = CaseState(value)
    return f"{state.label_zh} {state.value}" if lang == "zh" else f"{state.value} {state.label_zh}"


def _action(action: Action, lang: Lang) -> str:
    if lang == "zh":
        return f"{action.label_zh} {action.value}"
    return f"{action.value} {action.label_zh}"


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
    lang = _lang(args)
    print("\n".join(_casetext_table(found, lang)))
    return EXIT_OK


def _casetext_table(found: Sequence[CaseRecord], lang: Lang) -> list[str]:
    w = WORDS[lang]
    if not found:
        return [w["no_cases"]]
    head = [w[k] for k in ("id", "state", "category", "grid", "reported", "deadline")]
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
    return [*text_table(head, rows), w["count"].format(n=len(found))]


def run_show(args: argparse.Namespace) -> int:
    store, _, _ = open_store(args)
    detail = case_detail(store, args.case_id)
    now = utcnow()
    if args.format == "json":
        emit_json(detail.to_dict(now))
        return EXIT_OK
    print("\n".join(_detail_lines(detail, _lang(args), now)))
    return EXIT_OK


def _detail_lines(detail: CaseDetail, lang: Lang, now: datetime) -> list[str]:
    w, c = WORDS[lang], detail.case
    urgency = {"normal": "一般", "urgent": "紧急"}.get(c.urgency, c.urgency)
    urgency = urgency if lang == "zh" else c.urgency
    fields = [
        (w["category"], c.category or "-"),
        (
            w["grid"],
            f"{c.grid_code or '-'} {w['version'].format(v=c.boundary_version)}  "
            f"{w['workstation']} {c.workstation_code or '-'}",
        ),
        (
            w["point"],
            f"{c.lon:.6f}, {c.lat:.6f} (CGCS2000)  {w['as_reported']} "
            f"{c.source['lon']}, {c.source['lat']} {c.source['crs']}",
        ),
        (w["address"], c.address),
        (w["description"], c.description),
        (w["reported"], _when(c.created_at)),
        (w["deadline"], _when(c.expected_at)),
        (w["closed_at"], _when(c.closed_at) if c.closed_at else ""),
        (w["public_note"], c.public_note or ""),
    ]
    head = f"{w['case'].format(id=c.id)}  {_state(c.state, lang)}  {w['urgency']} {urgency}"
    lines = [head, *text_table(["", ""], [[k, v] for k, v in fields if v], indent="  ")[1:]]
    lines += [w["tasks"], *_task_lines(detail.tasks, lang, now)]
    lines += [w["timeline"], *_event_lines(detail.events, lang)]
    return lines


def _task_lines(tasks: Sequence[TaskRecord], lang: Lang, now: datetime) -> list[str]:
    w = WORDS[lang]
    if not tasks:
        return [w["no_tasks"]]
    rows = []
    for x in tasks:
        state = f"{x.state.label_zh} {x.state.value}"
        marks = [w["overdue"]] if x.overdue(now) else []
        if x.extension_until is not None:
            marks.append(w["extension"].format(at=_when(x.extension_until)))
        unit = f"{x.unit} {x.unit_name}".strip()
        rows.append([str(x.id), unit, state, _when(x.deadline), " ".join(marks)])
    head = [w["task"], w["unit"], w["state"], w["deadline"], ""]
    return text_table(head, rows, indent="  ")


def _event_lines(events: Sequence[EventRecord], lang: Lang) -> list[str]:
    w = WORDS[lang]
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
    head = [w["at"], w["action"], w["unit"], w["deadline"], w["actor"], w["note"]]
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
    w = WORDS[_lang(args)]
    print(
        w["added"].format(
            id=record.id,
            grid=record.grid_code or "-",
            v=record.boundary_version,
            ws=record.workstation_code or "-",
        )
    )
    units = [f"{u.get('code')} {u.get('name', '')}".strip() for u in record.partner_units]
    print(w["suggested"].format(units="; ".join(units)) if units else w["no_suggestion"])
    return EXIT_OK


def _photos(paths: Sequence[Path], limit: int) -> tuple[MediaUpload, ...]:
    found = []
    for path in paths:
        try:
            with path.open("rb") as stream:
                data = stream.read(limit + 1)  # one byte over says "too large"
        except OSError as exc:
            raise InputFileError(f"cannot read photo {path}: {exc.strerror or exc}") from None
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
        names = ", ".join(a.value for a in PHOTO_ACTIONS)
        raise ActionInputError(f"{action.value} keeps no photos: --photo goes with {names}")
    units = [u.strip() for u in args.unit if u.strip()]
    task_unit: str | None = None
    if action is Action.REDISPATCH:
        if args.task is None and len(units) >= 2:
            task_unit, units = units[0], units[1:]
        units = units[-1:]
    elif action.on_task:
        if len(units) > 1:
            raise ActionInputError(
                f"{action.value} acts on one task: give one --unit, not {', '.join(units)}"
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
    media = _photos(args.photo, cfg.max_media_bytes)
    req = _request(args, action, media)
    # units are checked against (and deadlines computed from) the published data
    data = published_dataset(store, cfg) if action in (Action.DISPATCH, Action.REDISPATCH) else None
    result = act(store, args.case_id, req, Actor(name, Role.ADMIN), data=data)
    detail = case_detail(store, args.case_id)
    if args.format == "json":
        emit_json(detail.to_dict() | {"event_ids": list(result.event_ids)})
        return EXIT_OK
    lang = _lang(args)
    w = WORDS[lang]
    done = _action(action, lang)
    print(w["acted"].format(id=args.case_id, action=done, state=_state(result.state, lang)))
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
        _print_import(found, _lang(args))
    return EXIT_OK if found.ok else EXIT_INPUT


def _print_import(found: ImportReport, lang: Lang) -> None:
    w = WORDS[lang]
    print(w["import_head"].format(src=found.source, rows=found.rows, cases=found.cases))
    if not found.ok:
        print(w["problems"].format(n=len(found.problems)))
        for problem in found.problems[:SHOWN_PROBLEMS]:
            print(f"  {problem.text(lang)}")
        if len(found.problems) > SHOWN_PROBLEMS:
            print(w["more"].format(n=len(found.problems) - SHOWN_PROBLEMS))
        return
    done = w["committed" if found.committed else "would"]
    line = done.format(cases=len(found.mapping), events=found.events)
    if found.implied_requests:
        line += w["implied"].format(n=found.implied_requests)
    print(line)
    comma = "、" if lang == "zh" else ", "
    states = comma.join(f"{_state(s, lang)} {n}" for s, n in found.states.items())
    print(w["states"].format(states=states or "-"))
    for warning in found.warnings:
        print(f"  {w['warning']}{warning.text(lang)}")
    if not found.committed:
        print(w["dry_run"])
        return
    print(w["mapping"])
    print("\n".join(f"  {old} -> {new}" for old, new in found.mapping.items()))


def run_export(args: argparse.Namespace) -> int:
    store, _, _ = open_store(args)
    fmt: ExportFormat = "jsonl" if str(args.output).endswith(".jsonl") else "csv"
    if args.format is not None:
        fmt = "jsonl" if args.format == "jsonl" else "csv"
    out: Any = sys.stdout if args.output == "-" else Path(args.output)
    n = export_events(store, out, case_ids=args.case, format=fmt)
    message = WORDS[_lang(args)]["exported"].format(n=n, out=args.output)
    print(message, file=sys.stderr if args.output == "-" else sys.stdout)
    return EXIT_OK
