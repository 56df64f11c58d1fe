"""Assessment map (考核图): one indicator of the work loop per grid of a level, as a choropleth.

The indicators are those of :mod:`gridgeo.assessment` (counted in the store by
:func:`gridgeo.store.assessment.assess`, by=grid at a level). Colours:

* rates and the composite score have fixed class thresholds
  (:data:`INDICATORS`), so that maps of different months and levels compare:
  a closure rate of 85% is the same colour in November as in December;
* counts (立案数, 超期未结数) are classed from the data: 0 apart, then up to
  five equal steps of whole numbers up to the largest count;
* the ramp is the sequential one of the other maps (ColorBrewer YlOrRd, light to
  dark), dark always meaning *worse*: low closure, on-time rate and score are dark,
  high rework and extension rates (higher is worse: the ramp reversed) are dark,
  many overdue cases are dark;
* a grid with nothing due (no rate, no score) is grey, 「无应结案件」.

The same classes drive the live viewer's 考核 layer: :func:`viewer_indicators`
hands thresholds, ramps and labels to ``static/viewer.js``, which classes counts
with the same rule as :func:`count_cuts`.
"""

from __future__ import annotations

import math
from bisect import bisect_right
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from itertools import pairwise
from typing import TYPE_CHECKING, Any, Literal

from gridgeo.assessment import COUNTS, RATES, Assessment, IndicatorRow, Period, label
from gridgeo.deadlines import BEIJING
from gridgeo.errors import GridgeoError
from gridgeo.i18n import current_lang, tr
from gridgeo.levels import Level
from gridgeo.maps import style
from gridgeo.maps.basemap import NO_BASEMAP, Basemap
from gridgeo.maps.text import pick
from gridgeo.model import GridSet

if TYPE_CHECKING:
    import folium

IndicatorKind = Literal["rate", "count", "score"]

# grids with nothing due: no rate and no score to colour by
NO_DUE = "#bdbdbd"
MISSING = "—"  # a rate or score that does not exist (nothing due)
MAX_COUNT_CLASSES = 5
ZERO = style.SEQUENTIAL[0]  # a count of 0


@dataclass(frozen=True)
class Indicator:
    """An indicator the maps can colour by.

    Attributes
    ----------
    key
        The field of :class:`~gridgeo.assessment.IndicatorRow`.
    kind
        ``rate`` (a fraction, shown in percent), ``score`` (0-100) or ``count``.
    worse
        Which end is worse: ``low`` (closure rate) or ``high`` (rework rate); the
        worse end is drawn dark.
    cuts
        Class thresholds, ascending (a value equal to one belongs to the class above
        it); empty for counts, which are classed from the data (:func:`count_cuts`).
    """

    key: str
    kind: IndicatorKind
    worse: Literal["low", "high"]
    cuts: tuple[float, ...] = ()


# Fixed thresholds: round steps that separate good from poor work in the sense of the
# indicator (not taken from a standard; change them here, the viewer follows).
_GOOD_RATE_CUTS = (0.6, 0.8, 0.9, 0.95)
_BAD_RATE_CUTS = (0.05, 0.1, 0.2, 0.4)
INDICATORS: dict[str, Indicator] = {
    "closure_rate": Indicator("closure_rate", "rate", "low", _GOOD_RATE_CUTS),
    "on_time_rate": Indicator("on_time_rate", "rate", "low", _GOOD_RATE_CUTS),
    "rework_rate": Indicator("rework_rate", "rate", "high", _BAD_RATE_CUTS),
    "extension_rate": Indicator("extension_rate", "rate", "high", _BAD_RATE_CUTS),
    "score": Indicator("score", "score", "low", (60.0, 70.0, 80.0, 90.0)),
    "registered": Indicator("registered", "count", "high"),
    "overdue_open": Indicator("overdue_open", "count", "high"),
}
DEFAULT_INDICATOR = "closure_rate"
# what the tooltip lists for each grid, in this order
FIELDS = (*COUNTS, *RATES, "score", "rank")

TEXT: dict[str, tuple[str, str]] = {
    "title": ("考核图：{indicator}", "Assessment: {indicator}"),
    "subtitle": ("{period} · 按{level}统计", "{period} · per {level}"),
    "totals": ("合计：立案 {registered} 件，应结案 {due} 件", "{registered} registered, {due} due"),
    "legend": ("{indicator}（{level}）", "{indicator} ({level})"),
    "no_due": ("无应结案件", "nothing due"),
    "half_open": ("区间含下限、不含上限", "a class holds its lower bound, not its upper"),
    "code": ("编码", "code"),
    "name": ("名称", "name"),
    "period": ("{start} 至 {end}", "{start} to {end}"),
    "points": ("{value} 分", "{value}"),
    "assess": ("考核", "assessment"),
}


def say(key: str, lang: str, **values: object) -> str:
    """The text ``key`` of this module in ``lang``, placeholders filled."""
    return pick(TEXT, key, lang, **values)


def indicator(key: str) -> Indicator:
    """The indicator named ``key``; GridgeoError naming the known ones."""
    try:
        return INDICATORS[key]
    except KeyError:
        raise GridgeoError(
            tr(
                "unknown indicator {key!r}: use one of {known}",
                key=key,
                known=", ".join(INDICATORS),
            )
        ) from None


def count_cuts(values: Sequence[float | None]) -> tuple[float, ...]:
    """Class thresholds of counts: 0 alone, then up to five equal steps of whole numbers.

    The largest count ``m`` is split into ``k = min(5, m)`` steps with upper bounds
    ``ceil(m * i / k)``; the thresholds are 1 and each bound plus one. (The viewer's
    script does the same.)

    >>> count_cuts([0, 3, 7]), count_cuts([2]), count_cuts([0, 0])
    ((1, 3, 4, 6, 7), (1, 2), ())
    """
    top = max((int(v) for v in values if v is not None), default=0)
    if top <= 0:
        return ()
    k = min(MAX_COUNT_CLASSES, top)
    bounds = [math.ceil(top * i / k) for i in range(1, k)]
    return (1, *(b + 1 for b in bounds))


@dataclass(frozen=True)
class Scale:
    """Classes of one indicator: thresholds, a colour and a legend label per class."""

    indicator: Indicator
    cuts: tuple[float, ...]
    colours: tuple[str, ...]  # per class, lowest values first
    labels: tuple[str, ...]

    def klass(self, value: float | None) -> int | None:
        """The class of ``value`` (None for a missing rate or score)."""
        return None if value is None else bisect_right(self.cuts, value)

    def colour(self, value: float | None) -> str:
        """The fill of ``value``: its class's colour, grey when it is missing."""
        k = self.klass(value)
        return NO_DUE if k is None else self.colours[k]


def scale_for(key: str, values: Sequence[float | None], lang: str = "zh") -> Scale:
    """The classes of indicator ``key``, for counts from ``values``."""
    ind = indicator(key)
    cuts = ind.cuts if ind.kind != "count" else count_cuts(values)
    ramp = style.sequential(len(cuts) + 1)  # light to dark
    colours = ramp if ind.worse == "high" else ramp[::-1]
    if not cuts and ind.kind == "count":  # all zero: the colour of none, not a middle one
        colours = (ZERO,)
    top = max((v for v in values if v is not None), default=0)
    return Scale(ind, cuts, tuple(colours), tuple(class_labels(ind, cuts, lang, top)))


def class_labels(
    ind: Indicator, cuts: Sequence[float], lang: str, top: float | None = None
) -> list[str]:
    """Legend text of each class: ``< 60%``, ``60% – 80%`` ..., ``≥ 95%``; counts ``0``,
    ``1 – 2`` ... up to ``top``, the largest count."""
    if ind.kind == "count":
        if not cuts:
            return ["0"]
        lows = [int(c) for c in cuts]
        highs: list[int | None] = [c - 1 for c in lows[1:]]
        highs.append(None if top is None else int(top))
        out = ["0"]
        for low, high in zip(lows, highs, strict=True):
            out.append(
                f"≥ {low}" if high is None else str(low) if high == low else f"{low} – {high}"
            )
        return out
    text = [f"{c * 100:g}%" if ind.kind == "rate" else f"{c:g}" for c in cuts]
    out = [f"< {text[0]}", *(f"{a} – {b}" for a, b in pairwise(text)), f"≥ {text[-1]}"]
    return [say("points", lang, value=t) for t in out] if ind.kind == "score" else out


def formatted(row: IndicatorRow, key: str) -> str:
    """A field of ``row`` as people read it: rates in percent, missing ones ``—``."""
    value = getattr(row, key)
    if value is None:
        return MISSING
    if key in RATES:
        return f"{value * 100:.1f}%"
    if key == "score":
        return f"{value:.1f}"
    return str(int(value))


def empty_row(code: str, name: str) -> IndicatorRow:
    """The indicators of a grid no registered case of the period falls in."""
    return IndicatorRow.of(code, name)


def period_text(period: Period, lang: str = "zh") -> str:
    """The period as people read it, end inclusive: ``2026-11-01 至 2026-11-30``.

    The period is ``[start, end)``; an end at Beijing midnight shows the day before.
    """
    start, end = period.start.astimezone(BEIJING), period.end.astimezone(BEIJING)
    whole_days = start.time() == time() and end.time() == time()
    if whole_days:
        first, last = start.date().isoformat(), (end - timedelta(days=1)).date().isoformat()
        return first if first == last else say("period", lang, start=first, end=last)
    return say("period", lang, start=_minute(start), end=_minute(end))


def _minute(at: datetime) -> str:
    return at.strftime("%Y-%m-%d %H:%M")


def page_name(key: str, level: int) -> str:
    """File name of an indicator's page, e.g. ``assessment_closure_rate_level5.html``.

    ASCII, so that it survives any web server, zip tool and file system on an intranet;
    the index shows the Chinese title (:func:`page_title`).
    """
    return f"assessment_{key}_level{int(level)}.html"


def page_title(key: str, level: int, lang: str = "zh") -> str:
    """Title of an indicator's page in the index, e.g. ``考核图：结案率（五级网格）``."""
    return say(
        "title",
        lang,
        indicator=say("legend", lang, indicator=label(key, lang), level=Level(level).name_in(lang)),
    )


def assessment_map(
    grids: GridSet,
    assessment: Assessment,
    key: str = DEFAULT_INDICATOR,
    *,
    lang: str = "zh",
    basemap: Basemap = NO_BASEMAP,
    prefix: str = "lib",
) -> folium.Map:
    """Every grid of the assessment's level coloured by indicator ``key``.

    Parameters
    ----------
    grids
        The boundaries the cases were assigned with (the published version).
    assessment
        Indicators by=grid at a level (:func:`gridgeo.store.assessment.assess`).
        Grids without a row had no registered case in the period: nothing due, grey.

    Raises
    ------
    GridgeoError
        For an assessment not by grid, an unknown indicator, or a level without grids.
    """
    # folium and the page helpers here, not at the top: the live viewer (/map) takes
    # only the indicators and classes of this module, and the service should not load
    # folium (10 MB) for them
    import folium

    from gridgeo.maps.page import (
        LegendRow,
        add_labels,
        add_legend,
        add_title,
        bounds_of,
        escape,
        feature_collection,
        new_map,
    )

    indicator(key)  # an unknown one fails before any work
    if assessment.level is None or assessment.by.value != "grid":
        raise GridgeoError(tr("an assessment map needs indicators per grid of one level (by=grid)"))
    level = Level(assessment.level)
    positions = [i for i, lv in enumerate(grids.levels) if int(lv) == int(level)]
    if not positions:
        raise GridgeoError(
            tr(
                "no grid of level {n} ({level}) in the boundaries",
                n=int(level),
                level=level.name_in(current_lang()),
            )
        )
    by_key = {r.key: r for r in assessment.rows}
    codes = [str(grids.codes[p] or "") for p in positions]
    names = [str(grids.names[p] or "") for p in positions]
    rows = [by_key.get(c) or empty_row(c, n) for c, n in zip(codes, names, strict=True)]
    scale = scale_for(key, [getattr(r, key) for r in rows], lang)

    props = [
        {
            "code": escape(code),
            "name": escape(name),
            "colour": scale.colour(getattr(row, key)),
            **{f: formatted(row, f) for f in FIELDS},
        }
        for code, name, row in zip(codes, names, rows, strict=True)
    ]
    geoms = [grids.geometries[p] for p in positions]
    # open on the grids where cases were registered (all of them in a city at work; the
    # pilot's few in the sample), the others one zoom out
    worked = [g for g, c in zip(geoms, codes, strict=True) if c in by_key]
    m = new_map(bounds_of(worked or geoms), basemap=basemap, lang=lang, prefix=prefix)
    fields = ["code", "name", *FIELDS]
    aliases = [say("code", lang), say("name", lang), *(label(f, lang) for f in FIELDS)]
    folium.GeoJson(
        feature_collection(geoms, props),
        name=label(key, lang),
        style_function=lambda f: style.polygon_style(
            f["properties"]["colour"], opacity=style.CHOROPLETH_OPACITY, weight=1
        ),
        highlight_function=lambda f: {"weight": 3},
        tooltip=folium.GeoJsonTooltip(fields=fields, aliases=aliases, sticky=True),
        zoom_on_click=False,
    ).add_to(m)
    add_labels(
        m,
        geoms,
        [
            escape(name)
            if getattr(row, key) is None  # a grey grid: its name, no dash under it
            else f"{escape(name)}<br><span class='gg-code'>{formatted(row, key)}</span>"
            for name, row in zip(names, rows, strict=True)
        ],
    )

    totals = assessment.totals
    subtitle = [
        say(
            "subtitle", lang, period=period_text(assessment.period, lang), level=level.name_in(lang)
        ),
        say("totals", lang, registered=totals.registered, due=totals.due),
    ]
    if key != "registered" and getattr(totals, key) is not None:  # totals are not scored
        subtitle.append(f"{label(key, lang)} {formatted(totals, key)}")
    add_title(m, say("title", lang, indicator=label(key, lang)), " · ".join(subtitle))
    legend = [LegendRow(c, text) for c, text in zip(scale.colours, scale.labels, strict=True)]
    if scale.indicator.kind != "count":
        legend.append(LegendRow(NO_DUE, say("no_due", lang)))
    add_legend(
        m,
        say("legend", lang, indicator=label(key, lang), level=level.name_in(lang)),
        legend,
        say("half_open", lang) if scale.indicator.kind != "count" else "",
    )
    return m


def viewer_indicators(lang: str = "zh") -> dict[str, Any]:
    """The indicators for the live viewer's 考核 layer: thresholds, ramps, labels, text."""
    return {
        "indicators": [
            {
                "key": ind.key,
                "label": label(ind.key, lang),
                "kind": ind.kind,
                "worse": ind.worse,
                "cuts": list(ind.cuts),
                "labels": class_labels(ind, ind.cuts, lang) if ind.cuts else [],
            }
            for ind in INDICATORS.values()
        ],
        "fields": [{"key": f, "label": label(f, lang)} for f in FIELDS],
        # ramps by number of classes, as style.sequential picks them (the script must not
        # round 4.5 its own way)
        "ramps": {str(k): list(style.sequential(k)) for k in range(1, len(style.SEQUENTIAL) + 1)},
        "maxCountClasses": MAX_COUNT_CLASSES,
        "noDue": NO_DUE,
        "zero": ZERO,
        "opacity": style.CHOROPLETH_OPACITY,
        "default": DEFAULT_INDICATOR,
    }
