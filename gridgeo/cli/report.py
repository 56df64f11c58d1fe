"""``gridgeo report``: the daily, weekly or monthly report as Excel or HTML.

The figures are the assessment's (:mod:`gridgeo.store.assessment`), laid out by
:mod:`gridgeo.reports`; docs/REPORTS.md describes each sheet and section. Text is
Chinese unless ``--lang en`` (or ``GRIDGEO_LANG=en``); so are the error messages,
which exit with code 2.
"""

from __future__ import annotations

import argparse
from datetime import date, datetime
from pathlib import Path
from typing import Any

from gridgeo.assessment import AssessmentError, parse_weights
from gridgeo.cli.commands import help_of
from gridgeo.cli.options import add_database_options, settings
from gridgeo.deadlines import BEIJING
from gridgeo.errors import NotFoundError
from gridgeo.i18n import Lang, current_lang, tr
from gridgeo.reports import ReportError, build_report, check_output, write_report
from gridgeo.reports.text import Kind, say
from gridgeo.settings import Settings
from gridgeo.store.core import Store
from gridgeo.store.datasets import published_dataset

EXIT_OK = 0


def register(sub: Any) -> None:
    """Add the ``report`` sub-command to the ``gridgeo`` parser."""
    p = sub.add_parser(
        "report",
        help=help_of("report"),
        description=tr(
            "Write the report of the day, ISO week (Monday to Sunday) or calendar "
            "month holding --date (Beijing time): the indicators per responsible unit and per "
            "community with the composite score and rank, the top categories, the overdue "
            "tasks, the volunteers' service record and charts of the trend and the units' "
            "rates. The output's suffix chooses the format: .xlsx (one sheet per table, Excel "
            "charts) or .html (one self-contained page, inline SVG charts, prints on A4). A "
            "period still running is counted up to now."
        ),
    )
    p.add_argument(
        "--period",
        required=True,
        choices=("day", "week", "month"),
        help=tr("day (daily report), week (weekly report) or month (monthly report)"),
    )
    p.add_argument(
        "--date",
        metavar="YYYY-MM-DD",
        help=tr("any day of the period (default: today, Beijing time)"),
    )
    p.add_argument(
        "-o",
        "--output",
        type=Path,
        required=True,
        metavar="FILE",
        help=tr("FILE.xlsx or FILE.html"),
    )
    p.add_argument(
        "--street",
        metavar="CODE",
        help=tr(
            "the street (level 3 code) the title names (default: the only street, else the pilot's)"
        ),
    )
    p.add_argument(
        "--weights",
        metavar="W",
        help=tr(
            "weights of the composite score, e.g. closure=0.3,on_time=0.4,rework=0.15,"
            "extension=0.15 (default those)"
        ),
    )
    add_database_options(p, actor=False)
    p.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    cfg = _settings(args)
    lang: Lang = current_lang()
    output: Path = args.output
    check_output(output, lang)  # bad input fails before the store is opened
    day = _date(args.date, lang) if args.date else datetime.now(BEIJING).date()
    try:
        weights = parse_weights(args.weights) if args.weights else None
    except AssessmentError as exc:
        raise ReportError(say("err_weights", lang, reason=exc)) from None
    kind: Kind = args.period
    with Store(cfg.store.database_url) as store:
        try:
            data = published_dataset(store, cfg)
        except NotFoundError:
            raise ReportError(say("err_no_boundaries", lang)) from None
        report = build_report(
            store, data, kind, day, lang=lang, weights=weights, street=args.street
        )
    try:
        output.parent.mkdir(parents=True, exist_ok=True)
        write_report(report, output)
    except OSError as exc:
        raise ReportError(say("err_write", lang, path=output, reason=exc.strerror or exc)) from None
    print(
        say(
            "written",
            lang,
            kind=say(f"report_{kind}", lang),
            path=output,
            units=len(report.units),
            communities=len(report.communities),
            overdue=len(report.overdue),
        )
    )
    return EXIT_OK


def _settings(args: argparse.Namespace) -> Settings:
    cfg = settings(args)
    return cfg.with_store(database_url=args.database_url) if args.database_url else cfg


def _date(text: str, lang: Lang) -> date:
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        raise ReportError(say("err_date", lang, value=text)) from None
