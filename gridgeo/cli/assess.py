"""``gridgeo assess``: the assessment indicators of a period, per unit, grid, workstation,
person or category, as a table, JSON, CSV or Excel (docs/ASSESSMENT.md)."""

from __future__ import annotations

import argparse
import csv
import io
import json
from pathlib import Path
from typing import Any

from gridgeo.assessment import COUNTS, RATES, Assessment, Grouping, Period, label
from gridgeo.assessment import parse_weights as weights_of
from gridgeo.cli.commands import help_of
from gridgeo.cli.store import add_store_options, open_store
from gridgeo.errors import InputFileError
from gridgeo.i18n import Lang, current_lang, tr
from gridgeo.store.assessment import assess
from gridgeo.store.datasets import published_dataset
from gridgeo.wording import level_label, text_table

EXIT_OK = 0
COLUMNS = (*COUNTS, *RATES, "score", "rank")


def register(sub: Any) -> None:
    p = sub.add_parser(
        "assess",
        help=help_of("assess"),
        description=tr(
            "Counts the work loop's indicators for the period [--from, --to) as of "
            "--to, per unit, grid (--level), workstation, person or category, from the case "
            "events in the store. Dates are Beijing-time midnights (2026-11-01) or ISO 8601 "
            "times with their offset."
        ),
    )
    p.add_argument("--from", dest="start", required=True, metavar="DATE", help=tr("period start"))
    p.add_argument(
        "--to", dest="end", required=True, metavar="DATE", help=tr("period end (cutoff)")
    )
    p.add_argument(
        "--by",
        required=True,
        choices=[g.value for g in Grouping],
        help=tr("count per unit, grid, workstation, person or category"),
    )
    p.add_argument(
        "--level", type=int, metavar="N", help=tr("grid level for --by grid (1 city ... 5 grid)")
    )
    p.add_argument(
        "--weights",
        metavar="W",
        help=tr(
            "composite score weights, e.g. closure=0.3,on_time=0.4,rework=0.15,extension=0.15 "
            "(default GRIDGEO_ASSESSMENT_WEIGHTS)"
        ),
    )
    p.add_argument(
        "--format",
        choices=("text", "json", "csv", "xlsx"),
        default="text",
        help=tr("output format"),
    )
    p.add_argument(
        "-o", "--output", type=Path, metavar="FILE", help=tr("write to FILE (needed for xlsx)")
    )
    add_store_options(p)
    p.set_defaults(handler=run_assess)


def run_assess(args: argparse.Namespace) -> int:
    period = Period.parse(args.start, args.end)
    store, cfg, _ = open_store(args)
    lang: Lang = current_lang()
    weights = weights_of(args.weights if args.weights is not None else cfg.assessment_weights)
    data = published_dataset(store, cfg)
    found = assess(store, period, args.by, level=args.level, data=data, weights=weights)
    if args.format == "xlsx":
        if args.output is None:
            raise InputFileError(tr("--format xlsx needs -o FILE.xlsx"))
        write_xlsx(found, args.output, lang)
        return EXIT_OK
    text = {"json": _json, "csv": _csv, "text": _text}[args.format](found, lang)
    if args.output is not None:
        encoding = "utf-8-sig" if args.format == "csv" else "utf-8"  # Excel on Chinese Windows
        args.output.write_text(text, encoding=encoding)
    else:
        print(text, end="")
    return EXIT_OK


def headers(found: Assessment, lang: Lang) -> list[str]:
    """The column headers: the group's, then the indicators', in ``lang``."""
    by = found.by.label_zh if lang == "zh" else found.by.value
    return [tr("key"), by, *(label(c, lang) for c in COLUMNS)]


def _cell(value: Any, column: str) -> str:
    if value is None:
        return "-"
    if column in RATES:
        return f"{value:.2%}"
    if column == "score":
        return f"{value:.2f}"
    return str(value)


def _text(found: Assessment, lang: Lang) -> str:
    period = found.period.to_dict()
    title = tr(
        "indicators {start} to {end} by {by}{level}",
        start=_day(period["from"]),
        end=_day(period["to"]),
        by=found.by.label_zh if lang == "zh" else found.by.value,
        level=tr(", {level}", level=level_label(found.level)) if found.level else "",
    )
    rows = [
        [r.key, r.name, *(_cell(getattr(r, c), c) for c in COLUMNS)]
        for r in (*found.rows, found.totals)
    ]
    numbers = range(2, 2 + len(COLUMNS))  # right-aligned, as figures are
    return "\n".join([title, *text_table(headers(found, lang), rows, right=numbers)]) + "\n"


def _day(iso: str) -> str:
    """``2026-11-01`` for Beijing midnight, else the ISO 8601 time."""
    return iso[:10] if iso.endswith("T00:00:00+08:00") else iso


def _json(found: Assessment, _: Lang) -> str:
    return json.dumps(found.to_dict(), ensure_ascii=False, indent=2) + "\n"


def _csv(found: Assessment, lang: Lang) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(headers(found, lang))
    for r in found.rows:
        values = [getattr(r, c) for c in COLUMNS]
        writer.writerow([r.key, r.name, *("" if v is None else v for v in values)])
    return out.getvalue()


def write_xlsx(found: Assessment, path: Path, lang: Lang) -> None:
    """One sheet: headers, the rows and the totals; rates as percentages (the fraction is
    stored, Excel shows 93.72%); empty cells where nothing is due."""
    from openpyxl import Workbook
    from openpyxl.styles import Font

    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = tr("indicators")
    sheet.append(headers(found, lang))
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    for r in (*found.rows, found.totals):
        sheet.append([r.key, r.name, *(getattr(r, c) for c in COLUMNS)])
    for index, column in enumerate(COLUMNS, start=3):
        fmt = "0.00%" if column in RATES else ("0.00" if column == "score" else "0")
        for (cell,) in sheet.iter_rows(min_row=2, min_col=index, max_col=index):
            cell.number_format = fmt
    sheet.freeze_panes = "C2"
    try:
        book.save(path)
    except OSError as exc:
        raise InputFileError(
            tr("cannot write {path}: {error}", path=path, error=exc.strerror or exc)
        ) from None
