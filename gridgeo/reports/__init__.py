"""Daily, weekly and monthly reports (日报、周报、月报) of the work loop's indicators.

:func:`build_report` gathers a period's figures from the store (the assessment per
responsible unit, community and category, the overdue tasks, the volunteers'
record, the trend); :func:`write_report` writes them as an Excel workbook or one
self-contained HTML page, by the file's suffix. ``gridgeo report`` is the command
(docs/REPORTS.md).
"""

from __future__ import annotations

from pathlib import Path

from gridgeo.i18n import Lang
from gridgeo.reports.build import Report, ReportError, build_report, report_period
from gridgeo.reports.text import say

SUFFIXES = (".xlsx", ".html")

__all__ = ["SUFFIXES", "Report", "ReportError", "build_report", "report_period", "write_report"]


def check_output(path: Path, lang: Lang = "zh") -> str:
    """The output's suffix (``.xlsx`` or ``.html``); ReportError naming any other."""
    suffix = path.suffix.lower()
    if suffix not in SUFFIXES:
        raise ReportError(
            say("err_suffix", lang, path=path, suffix=path.suffix or say("none", lang))
        )
    return suffix


def write_report(report: Report, path: Path) -> None:
    """Write ``report`` to ``path``: Excel for ``.xlsx``, HTML for ``.html``.

    The chart library is imported here, not with the package: ``gridgeo --help``
    stays fast.
    """
    if check_output(path, report.lang) == ".xlsx":
        from gridgeo.reports.excel import write_xlsx

        write_xlsx(report, path)
    else:
        from gridgeo.reports.html import write_html

        write_html(report, path)
