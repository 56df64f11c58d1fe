"""The report's charts as SVG text for the HTML report, drawn by matplotlib.

Chinese labels need a CJK font: the first of :data:`CJK_FAMILIES` that matplotlib
knows, else Debian's WenQuanYi Micro Hei (``fonts-wqy-microhei``) by its path. With
one, the text is drawn as outlines (``svg.fonttype = path``), so the SVG looks the
same wherever it is opened, offline and in print. Without one, the text stays text
(``svg.fonttype = none``) and the browser draws it with the page's fonts.

No pyplot: figures are plain :class:`~matplotlib.figure.Figure` objects and every
setting is local (``rc_context``), so nothing global changes and nothing needs a
display.
"""

from __future__ import annotations

import functools
import io
import math
import re
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

import matplotlib as mpl
from matplotlib import font_manager
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator, PercentFormatter

from gridgeo.assessment import RATES

if TYPE_CHECKING:
    from matplotlib.typing import RcKeyType
from gridgeo.assessment import label
from gridgeo.reports.build import Report
from gridgeo.reports.text import say

CJK_FAMILIES = (
    "WenQuanYi Micro Hei",
    "Noto Sans CJK SC",
    "Source Han Sans SC",
    "Microsoft YaHei",
    "PingFang SC",
    "SimHei",
)
WQY_PATH = Path("/usr/share/fonts/truetype/wqy/wqy-microhei.ttc")  # Debian fonts-wqy-microhei
MAX_UNITS = 15  # bars of the rates chart; the table lists every unit
COUNT_COLOURS = ("#4C72B0", "#55A868")  # registered, closed
RATE_COLOURS = ("#4C72B0", "#55A868", "#C44E52", "#DD8452")  # in the order of RATES


@functools.cache
def cjk_font() -> str | None:
    """The family name of a CJK font matplotlib can use, or None."""
    known = {f.name for f in font_manager.fontManager.ttflist}
    for family in CJK_FAMILIES:
        if family in known:
            return family
    if WQY_PATH.exists():  # installed after matplotlib built its font cache
        font_manager.fontManager.addfont(str(WQY_PATH))
        return str(font_manager.FontProperties(fname=str(WQY_PATH)).get_name())
    return None


@contextmanager
def _style() -> Iterator[None]:
    family = cjk_font()
    settings: dict[RcKeyType, Any] = {
        "font.family": "sans-serif",
        "font.sans-serif": [*([family] if family else []), "DejaVu Sans"],
        "font.size": 9,
        "axes.unicode_minus": False,  # the CJK font has no U+2212
        "svg.fonttype": "path" if family else "none",
        "svg.hashsalt": "gridgeo-report",  # stable ids: the same report, the same file
        "axes.spines.top": False,
        "axes.spines.right": False,
    }
    with mpl.rc_context(settings), warnings.catch_warnings():
        # without a CJK font matplotlib warns of every missing glyph; the browser draws them
        warnings.filterwarnings("ignore", message="Glyph .* missing from")
        yield


def _svg(figure: Figure) -> str:
    """The figure as an ``<svg>`` element to put inline in HTML."""
    out = io.StringIO()
    figure.savefig(out, format="svg", bbox_inches="tight", metadata={"Date": None})
    text = out.getvalue()
    # inline SVG takes no XML prolog or DOCTYPE; the RDF metadata only names the creator
    text = text[text.index("<svg") :]
    return re.sub(r"\s*<metadata>.*?</metadata>", "", text, flags=re.DOTALL)


def trend_svg(report: Report) -> str:
    """Registered and closed cases per day (per hour in a day report), as grouped bars."""
    lang = report.lang
    with _style():
        figure = Figure(figsize=(7.2, 2.4))
        ax = figure.add_subplot()
        points = report.trend
        width = 0.4
        xs = range(len(points))
        for offset, key, colour in zip(
            (-width / 2, width / 2), ("registered", "closed"), COUNT_COLOURS, strict=True
        ):
            values = [getattr(p, key) for p in points]
            ax.bar([x + offset for x in xs], values, width, label=label(key, lang), color=colour)
        step = max(1, math.ceil(len(points) / 16))  # at most 16 tick labels
        ax.set_xticks(list(xs)[::step], [p.label for p in points][::step])
        ax.tick_params(axis="x", labelrotation=45 if step > 1 or len(points) > 12 else 0)
        top = max([1, *(max(p.registered, p.closed) for p in points)])
        ax.set_ylim(0, top * 1.15)
        ax.yaxis.set_major_locator(MaxNLocator(integer=True))
        ax.set_ylabel(say("cases_axis", lang))
        ax.grid(axis="y", color="#dddddd", linewidth=0.6)
        ax.set_axisbelow(True)
        ax.legend(loc="lower left", bbox_to_anchor=(0, 1), frameon=False, ncols=2)
        return _svg(figure)


def rates_svg(report: Report) -> str:
    """The four rates of each unit with something due, ranked first at the top."""
    lang = report.lang
    units = [u for u in report.units if u.due][:MAX_UNITS]
    with _style():
        figure = Figure(figsize=(7.2, 1.4 + 0.75 * max(1, len(units))))
        ax = figure.add_subplot()
        if not units:
            _empty(ax, say("no_due", lang))
            return _svg(figure)
        height = 0.8 / len(RATES)
        for i, (key, colour) in enumerate(zip(RATES, RATE_COLOURS, strict=True)):
            ys = [n + (i - (len(RATES) - 1) / 2) * height for n in range(len(units))]
            values = [getattr(u, key) or 0.0 for u in units]
            bars = ax.barh(ys, values, height, label=label(key, lang), color=colour)
            ax.bar_label(bars, [f"{v:.1%}" for v in values], padding=2, fontsize=7)
        ax.set_yticks(range(len(units)), [u.name for u in units])
        ax.invert_yaxis()  # rank 1 at the top
        ax.set_xlim(0, 1.12)
        ax.xaxis.set_major_formatter(PercentFormatter(1.0, decimals=0))
        ax.grid(axis="x", color="#dddddd", linewidth=0.6)
        ax.set_axisbelow(True)
        ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.08), frameon=False, ncols=4)
        return _svg(figure)


def _empty(ax: Axes, text: str) -> None:
    ax.set_axis_off()
    ax.text(0.5, 0.5, text, ha="center", va="center", transform=ax.transAxes, color="#666666")
