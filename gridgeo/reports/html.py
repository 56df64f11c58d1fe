"""The report as one self-contained HTML file: inline CSS, inline SVG charts, no script.

Nothing is loaded from anywhere (no CDN, no font file, no image URL), so the file
can be mailed, opened on an intranet and printed; ``@page`` sets A4 landscape (the
indicator tables have fifteen columns), table headers repeat on every printed page.
"""

from __future__ import annotations

from datetime import datetime
from html import escape
from pathlib import Path

from gridgeo.i18n import Lang
from gridgeo.reports.build import Report
from gridgeo.reports.charts import MAX_UNITS, rates_svg, trend_svg
from gridgeo.reports.files import replaced_atomically
from gridgeo.reports.tables import Cell, CellKind, Table, meta_lines, report_tables
from gridgeo.reports.text import colon, say, time_text

EMPTY = "—"  # a rate or score that does not exist (nothing due)
NUMBERS_ZH = "一二三四五六七八九十"
# Common CJK fonts of Windows, macOS and Linux, then the generic family.
FONTS = (
    '"Microsoft YaHei", "PingFang SC", "Hiragino Sans GB", "Noto Sans CJK SC", '
    '"Source Han Sans SC", "WenQuanYi Micro Hei", "SimHei", sans-serif'
)
CSS = """
@page { size: A4 landscape; margin: 12mm; }
* { box-sizing: border-box; }
body { font-family: FONTS; color: #222; margin: 0; background: #f4f5f7; }
main { max-width: 297mm; margin: 0 auto; padding: 12mm; background: #fff; }
h1 { font-size: 20px; text-align: center; margin: 0 0 8px; }
h2 { font-size: 15px; margin: 18px 0 6px; border-left: 4px solid #4c72b0; padding-left: 6px; }
.meta { text-align: center; color: #555; font-size: 12px; margin: 0 0 12px; }
.meta span { margin: 0 8px; white-space: nowrap; }
table { border-collapse: collapse; width: 100%; font-size: 11px; }
thead { display: table-header-group; }
th, td { border: 1px solid #b8c0cc; padding: 3px 4px; }
th { background: #dde4ee; font-weight: bold; text-align: center; }
td.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
td.code { white-space: nowrap; }
tr.total td { font-weight: bold; background: #f2f4f7; }
tr { page-break-inside: avoid; break-inside: avoid; }
td.none { text-align: center; color: #777; }
.note { font-size: 11px; color: #666; margin: 4px 0 0; }
figure.chart { margin: 8px 0; page-break-inside: avoid; break-inside: avoid; }
figure.chart svg { display: block; width: 100%; max-width: 200mm; height: auto; margin: 0 auto; }
figcaption { font-size: 12px; color: #444; text-align: center; }
@media print {
  body { background: #fff; }
  main { max-width: none; padding: 0; }
  h2 { page-break-after: avoid; break-after: avoid; }
  table { font-size: 9pt; }
}
""".replace("FONTS", FONTS)


def render_html(report: Report) -> str:
    """The whole page as text."""
    lang = report.lang
    tables = {t.key: t for t in report_tables(report)}
    meta = "".join(
        f"<span>{escape(name)}{colon(lang)}{escape(value)}</span>"
        for name, value in meta_lines(report)
    )
    trend = tables["trend"]
    caption = say(
        "trend_caption",
        lang,
        registered=sum(p.registered for p in report.trend),
        closed=sum(p.closed for p in report.trend),
    )
    rates = (  # no unit with anything due: a line says so instead of an empty chart
        _figure("rates", _rates_caption(report), rates_svg(report))
        if any(u.due for u in report.units)
        else f'<p class="note">{escape(say("no_due", lang))}</p>'
    )
    sections = [
        _section(tables["summary"], lang),
        _chart_section("trend", trend.title, trend_svg(report), caption, trend.notes),
        _section(tables["units"], lang, extra=rates),
        *(_section(tables[k], lang) for k in ("communities", "categories", "overdue")),
        _section(tables["volunteers"], lang),
    ]
    numbered = [s.replace("<h2>", f"<h2>{_number(i, lang)}", 1) for i, s in enumerate(sections)]
    html_lang = "zh-CN" if lang == "zh" else "en"
    return (
        "<!DOCTYPE html>\n"
        f'<html lang="{html_lang}">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f'<meta name="generator" content="gridgeo">\n<title>{escape(report.title)}</title>\n'
        f"<style>{CSS}</style>\n</head>\n<body>\n<main>\n"
        f'<h1>{escape(report.title)}</h1>\n<p class="meta">{meta}</p>\n'
        + "\n".join(numbered)
        + "\n</main>\n</body>\n</html>\n"
    )


def write_html(report: Report, path: Path) -> None:
    """Write ``report`` to ``path`` (.html, UTF-8); the file appears whole or not at all."""
    text = render_html(report)
    with replaced_atomically(path) as temporary:
        temporary.write_text(text, encoding="utf-8")


def _number(i: int, lang: Lang) -> str:
    """Section numbers: 一、二、… in Chinese, 1. 2. … in English."""
    if lang == "zh" and i < len(NUMBERS_ZH):
        return f"{NUMBERS_ZH[i]}、"
    return f"{i + 1}. "


def _section(table: Table, lang: Lang, extra: str = "") -> str:
    head = "".join(f"<th>{escape(c.header)}</th>" for c in table.columns)
    body = [_row(row, table) for row in table.rows]
    if table.total is not None:
        body.append(_row(table.total, table, css=' class="total"'))
    if not body:
        none = escape(say("none", lang))
        body = [f'<tr><td class="none" colspan="{len(table.columns)}">{none}</td></tr>']
    texts = [*table.notes, *([say("no_rate", lang)] if table.rate_note else [])]
    notes = "".join(f'<p class="note">{escape(n)}</p>' for n in texts)
    return (
        f'<section id="{table.key}">\n<h2>{escape(table.title)}</h2>\n'
        f"<table>\n<thead><tr>{head}</tr></thead>\n<tbody>\n"
        + "\n".join(body)
        + f"\n</tbody>\n</table>\n{notes}{extra}</section>"
    )


def _row(row: tuple[Cell, ...], table: Table, css: str = "") -> str:
    cells = []
    for value, column in zip(row, table.columns, strict=True):
        cls = {"text": "", "code": ' class="code"'}.get(column.kind, ' class="num"')
        cells.append(f"<td{cls}>{escape(_shown(value, column.kind))}</td>")
    return f"<tr{css}>{''.join(cells)}</tr>"


def _shown(value: Cell, kind: CellKind) -> str:
    if value is None:
        return EMPTY if kind in ("rate", "score") else ""
    if isinstance(value, datetime):
        return time_text(value)
    if kind == "rate" and isinstance(value, float | int):
        return f"{value:.2%}"
    if kind == "score" and isinstance(value, float | int):
        return f"{value:.2f}"
    if kind == "hours" and isinstance(value, float | int):
        return f"{value:.1f}"
    return str(value)


def _rates_caption(report: Report) -> str:
    caption = say("rates_title", report.lang)
    if sum(1 for u in report.units if u.due) > MAX_UNITS:
        caption += say("rates_top", report.lang, n=MAX_UNITS)
    return caption


def _figure(key: str, caption: str, svg: str) -> str:
    return (
        f'<figure class="chart" id="chart-{key}">\n{svg}\n'
        f"<figcaption>{escape(caption)}</figcaption>\n</figure>\n"
    )


def _chart_section(key: str, title: str, svg: str, caption: str, notes: tuple[str, ...]) -> str:
    text = "".join(f'<p class="note">{escape(n)}</p>' for n in notes)
    return (
        f'<section id="{key}">\n<h2>{escape(title)}</h2>\n'
        + _figure(key, caption, svg)
        + f"{text}</section>"
    )
