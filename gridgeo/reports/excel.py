"""The report as an Excel workbook (openpyxl): one sheet per table, native charts.

Each table sheet has its header in row 1 (bold, frozen, repeated on every printed
page), widths fitted to the text (a Chinese character counts as two), rates stored
as fractions and shown as ``0.00%``, and an empty cell where a rate or score does not
exist. The summary sheet opens with the title and the period; the chart sheet holds
Excel charts of the trend and of the units' rates, drawn from the sheets' cells.
"""

from __future__ import annotations

import math
from datetime import datetime
from pathlib import Path
from typing import Any

from openpyxl import Workbook
from openpyxl.chart import BarChart, Reference
from openpyxl.chart.text import RichText
from openpyxl.drawing.text import RichTextProperties
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter

from gridgeo.assessment import COUNTS, RATES
from gridgeo.deadlines import BEIJING
from gridgeo.reports.build import Report
from gridgeo.reports.files import replaced_atomically
from gridgeo.reports.tables import Cell, CellKind, Table, meta_lines, report_tables
from gridgeo.reports.text import colon, say
from gridgeo.wording import display_width

FORMATS: dict[CellKind, str] = {
    "text": "@",
    "code": "@",
    "int": "0",
    "rate": "0.00%",
    "score": "0.00",
    "time": "yyyy-mm-dd hh:mm",
    "hours": "0.0",
}
SHOWN: dict[CellKind, str] = {  # how wide a value looks, for the column widths
    "rate": "100.00%",
    "score": "100.00",
    "time": "2026-11-03 09:15",
}
HEADER_FILL = PatternFill("solid", fgColor="DDE4EE")
BOLD = Font(bold=True)
MAX_WIDTH = 48  # characters; longer text wraps
# first column of the rates in a ranked sheet (code, name, then the counts)
RATE_COLUMN = 3 + len(COUNTS)


def write_xlsx(report: Report, path: Path) -> None:
    """Write ``report`` to ``path`` (.xlsx); the file appears whole or not at all."""
    book = Workbook()
    sheets: dict[str, Any] = {}
    for i, table in enumerate(report_tables(report)):
        sheet = book.active if i == 0 else book.create_sheet()
        sheet.title = table.sheet
        first = _heading(sheet, report) if table.key == "summary" else 1
        _write(sheet, table, first, report)
        sheets[table.key] = (sheet, len(table.rows))
    _charts(book.create_sheet(say("charts", report.lang)), report, sheets)
    book.properties.title = report.title
    book.properties.creator = "gridgeo"
    _save(book, path)


def _heading(sheet: Any, report: Report) -> int:
    """Title and period above the summary table; returns the table's first row."""
    lang = report.lang
    sheet.cell(1, 1, report.title).font = Font(bold=True, size=14)
    lines = [f"{name}{colon(lang)}{value}" for name, value in meta_lines(report)]
    for n, line in enumerate(lines, 2):
        sheet.cell(n, 1, line)
    return len(lines) + 3


def _write(sheet: Any, table: Table, first: int, report: Report) -> None:
    """The table from row ``first``: header, rows, total, notes; then widths and print setup."""
    widths = [display_width(c.header) for c in table.columns]
    for j, column in enumerate(table.columns, 1):
        cell = sheet.cell(first, j, column.header)
        cell.font = BOLD
        cell.fill = HEADER_FILL
        cell.alignment = Alignment(horizontal="center", vertical="center", wrap_text=True)
    rows = [*table.rows, *([table.total] if table.total else [])]
    for i, row in enumerate(rows, first + 1):
        for j, (value, column) in enumerate(zip(row, table.columns, strict=True), 1):
            cell = sheet.cell(i, j, _excel(value))
            cell.number_format = FORMATS[column.kind]
            if table.total is not None and i == first + len(rows):
                cell.font = BOLD
            widths[j - 1] = max(widths[j - 1], display_width(SHOWN.get(column.kind, _text(value))))
    notes = [*table.notes, *([say("no_rate_blank", report.lang)] if table.rate_note else [])]
    for n, note in enumerate(notes, first + len(rows) + 2):
        sheet.cell(n, 1, note).font = Font(italic=True, color="666666")
    for j, width in enumerate(widths, 1):
        sheet.column_dimensions[get_column_letter(j)].width = min(MAX_WIDTH, width + 2)
    sheet.freeze_panes = sheet.cell(first + 1, 1)
    sheet.print_title_rows = f"{first}:{first}"
    sheet.oddHeader.center.text = report.title  # a printed sheet still says which report it is
    sheet.page_setup.paperSize = sheet.PAPERSIZE_A4
    sheet.page_setup.orientation = "landscape"
    sheet.page_setup.fitToWidth, sheet.page_setup.fitToHeight = 1, 0
    sheet.sheet_properties.pageSetUpPr.fitToPage = True


def _excel(value: Cell) -> Cell:
    """Excel keeps no time zone: times are written as Beijing wall-clock time."""
    if isinstance(value, datetime):
        return value.astimezone(BEIJING).replace(tzinfo=None)
    return value


def _text(value: Cell) -> str:
    return "" if value is None else str(value)


def _charts(sheet: Any, report: Report, sheets: dict[str, Any]) -> None:
    """The trend and the units' rates as Excel bar charts of the sheets' own cells."""
    lang = report.lang
    sheet.page_setup.paperSize = sheet.PAPERSIZE_A4  # both charts on one portrait page
    sheet.page_setup.fitToWidth, sheet.page_setup.fitToHeight = 1, 1
    sheet.sheet_properties.pageSetUpPr.fitToPage = True
    trend, points = sheets["trend"]
    chart = BarChart()
    chart.type, chart.grouping = "col", "clustered"
    chart.title = say("trend_title_day" if report.kind == "day" else "trend_title", lang)
    data = Reference(trend, min_col=2, max_col=3, min_row=1, max_row=points + 1)
    chart.add_data(data, titles_from_data=True)
    chart.set_categories(Reference(trend, min_col=1, min_row=2, max_row=points + 1))
    chart.y_axis.title = say("cases_axis", lang)
    chart.y_axis.majorGridlines = None
    _show_axes(chart)
    chart.x_axis.tickLblSkip = max(1, math.ceil(points / 16))  # at most 16 day labels
    # day labels slanted by 45 degrees (the unit is 1/60000 degree), as in the HTML chart
    chart.x_axis.txPr = RichText(bodyPr=RichTextProperties(rot=-2_700_000, vert="horz"))
    chart.width, chart.height = 17, 8
    sheet.add_chart(chart, "A1")

    units, count = sheets["units"]
    if not count:
        sheet.cell(18, 1, say("no_due", lang))
        return
    chart = BarChart()
    chart.type, chart.grouping = "bar", "clustered"
    chart.title = say("rates_title", lang)
    data = Reference(
        units,
        min_col=RATE_COLUMN,
        max_col=RATE_COLUMN + len(RATES) - 1,
        min_row=1,
        max_row=count + 1,
    )
    chart.add_data(data, titles_from_data=True)
    chart.set_categories(Reference(units, min_col=2, min_row=2, max_row=count + 1))
    chart.x_axis.scaling.orientation = "maxMin"  # rank 1 at the top, as in the sheet
    chart.y_axis.crosses = "max"  # which keeps the percentages below the bars
    chart.y_axis.scaling.min, chart.y_axis.scaling.max = 0, 1
    chart.y_axis.number_format = "0%"
    _show_axes(chart)
    chart.width, chart.height = 17, max(8, 2 + 1.6 * count)
    sheet.add_chart(chart, "A18")


def _show_axes(chart: Any) -> None:
    # openpyxl 3.1 writes axes as deleted unless told otherwise: Excel would hide them
    chart.x_axis.delete = False
    chart.y_axis.delete = False


def _save(book: Any, path: Path) -> None:
    with replaced_atomically(path) as temporary:
        book.save(temporary)
