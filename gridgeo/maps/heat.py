"""Case heat map (案件热力图): where the cases of a period were reported, per major class,
with the overdue cases on top.

One heat layer per major category class (大类: 市容环境, 街面秩序 ... and the
components' classes), each in a hue of its own so that layers switched on together
stay apart, toggled in Leaflet's layer control; the overdue cases (a task still open
past its deadline in force, :func:`gridgeo.store.assessment.overdue_open`) as red
circles with a popup: case, unit, deadline and how many hours over it. Grids of the
level chosen are outlined for orientation.

The heat is drawn by Leaflet.heat, copied from the installed folium package next to
the pages (:mod:`gridgeo.maps.assets`), never from a CDN.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import folium
import numpy as np
from branca.element import Element
from folium.plugins import HeatMap
from sqlalchemy import func, select

from gridgeo.assessment import Period
from gridgeo.categories import Category, major_code
from gridgeo.deadlines import BEIJING
from gridgeo.levels import Level
from gridgeo.maps import style
from gridgeo.maps.assessment_map import period_text
from gridgeo.maps.assets import LIB, heat_url
from gridgeo.maps.basemap import NO_BASEMAP, Basemap
from gridgeo.maps.page import (
    PRECISION,
    LegendRow,
    Popup,
    add_legend,
    add_title,
    bounds_of,
    escape,
    feature_collection,
    new_map,
)
from gridgeo.maps.text import pick
from gridgeo.model import GridSet
from gridgeo.store import schema as t
from gridgeo.store.core import Store

# points put into the page; more would make it slow to open (the legend says so)
MAX_POINTS = 50_000
OVERDUE = "#e31a1c"  # the red of the overdue ring in the viewer
# heat hues: the categorical colours less the reds (overdue markers are red) and grey
HUES = tuple(c for c in style.CATEGORICAL if c not in ("#d62728", "#843c39", "#7f7f7f"))
UNCATEGORISED = ""
# Leaflet.heat: a point's radius and blur in pixels (the densest spot in view is the full
# colour, whatever the zoom)
RADIUS, BLUR = 22, 16

TEXT: dict[str, tuple[str, str]] = {
    "title": ("案件热力图", "Case density"),
    "subtitle": (
        "{period} · 上报案件 {n} 件（不含不予立案的） · 超期未结 {overdue} 件",
        "{period} · {n} cases reported (rejected ones left out) · {overdue} overdue",
    ),
    "legend": ("案件大类", "major classes"),
    "classes_note": (
        "在右上角图层控件中勾选大类，显示或隐藏其热力分布",
        "switch classes on and off in the layer control",
    ),
    "cases_n": ("{name}（{n} 件）", "{name} ({n})"),
    "uncategorised": ("未分类", "no category"),
    "overdue": ("超期未结案件（{n} 件）", "overdue and open ({n})"),
    "overdue_shown": ("显示超期最久的 {n} 件", "the {n} most overdue shown"),
    "points_shown": ("热力图仅取前 {n} 件案件", "heat of the first {n} cases"),
    "case": ("案件 {id}", "case {id}"),
    "unit": ("责任单位", "unit"),
    "category": ("类别", "category"),
    "grid": ("网格", "grid"),
    "deadline": ("处置时限", "deadline"),
    "over": ("超期 {hours} 小时", "{hours} hours overdue"),
    "grids": ("网格边界", "grid outlines"),
}


def say(key: str, lang: str, **values: object) -> str:
    """The text ``key`` of this module in ``lang``, placeholders filled."""
    return pick(TEXT, key, lang, **values)


@dataclass(frozen=True)
class CasePoint:
    """A case where it was reported: id, category code and CGCS2000 lon/lat."""

    id: int
    category: str
    lon: float
    lat: float


@dataclass(frozen=True)
class MajorClass:
    """The cases of one major category class and the hue of its heat."""

    code: str
    name: str
    colour: str
    points: tuple[CasePoint, ...]


def case_points(store: Store, period: Period, *, limit: int = MAX_POINTS) -> list[CasePoint]:
    """Cases reported within ``period`` (its ``[start, end)``), rejected ones left out
    (not a city-management problem, or a duplicate), oldest first, at most ``limit``."""
    c = t.Case
    query = (
        select(c.id, c.category, func.ST_X(c.geom), func.ST_Y(c.geom))
        .where(
            c.created_at >= period.start,
            c.created_at < period.end,
            c.state != "rejected",
            c.geom.is_not(None),
        )
        .order_by(c.created_at, c.id)
        .limit(limit)
    )
    with store.reading() as session:
        rows = session.execute(query).all()
    return [CasePoint(int(i), str(cat or ""), float(x), float(y)) for i, cat, x, y in rows]


def major_classes(
    points: Sequence[CasePoint], categories: Mapping[str, Category], lang: str = "zh"
) -> list[MajorClass]:
    """``points`` grouped by major class, in code order (cases without a category last)."""
    groups: dict[str, list[CasePoint]] = {}
    for p in points:
        groups.setdefault(major_code(p.category) if p.category else UNCATEGORISED, []).append(p)
    codes = sorted(groups, key=lambda c: (c == UNCATEGORISED, c))
    out = []
    for i, code in enumerate(codes):
        cat = categories.get(code)
        name = (
            say("uncategorised", lang)
            if code == UNCATEGORISED
            else f"{code} {(cat.name_zh if lang == 'zh' else cat.name_en) if cat else ''}".strip()
        )
        out.append(MajorClass(code, name, HUES[i % len(HUES)], tuple(groups[code])))
    return out


def gradient(colour: str) -> dict[float, str]:
    """A heat gradient in one hue: pale where cases are few, the full colour where many."""
    return {0.2: _tint(colour, 0.75), 0.55: _tint(colour, 0.4), 1.0: colour}


def _tint(colour: str, white: float) -> str:
    r, g, b = (round(c + (255 - c) * white) for c in style.hex_rgb(colour))
    return f"#{r:02x}{g:02x}{b:02x}"


def hours_text(hours: float) -> str:
    """Hours overdue as people read them: whole hours, at least 1."""
    return str(max(1, int(hours)))


def beijing_minute(value: str | datetime) -> str:
    """An ISO 8601 time (or datetime) as Beijing time to the minute."""
    at = datetime.fromisoformat(value) if isinstance(value, str) else value
    return at.astimezone(BEIJING).strftime("%Y-%m-%d %H:%M")


def heat_map(
    grids: GridSet,
    points: Sequence[CasePoint],
    overdue: Sequence[Mapping[str, Any]],
    *,
    period: Period,
    categories: Mapping[str, Category],
    level: Level = Level.GRID,
    limit: int | None = None,
    overdue_limit: int | None = None,
    lang: str = "zh",
    basemap: Basemap = NO_BASEMAP,
    prefix: str = LIB,
) -> folium.Map:
    """The heat of ``points`` per major class, ``overdue`` cases as red markers.

    Parameters
    ----------
    points
        Cases of the period (:func:`case_points`), CGCS2000 lon/lat.
    overdue
        Rows of :func:`gridgeo.store.assessment.overdue_open` (``case_id``, ``unit``,
        ``unit_name``, ``category``, ``grid_code``, ``deadline``, ``overdue_hours``,
        ``lon``, ``lat``).
    level
        Grids of this level are outlined.
    limit, overdue_limit
        The caps the points and overdue cases were read with: the legend says when
        they were reached.
    """
    positions = np.flatnonzero(np.asarray(grids.levels) == int(level))
    geoms = [grids.geometries[p] for p in positions]
    m = new_map(_bounds(geoms, points, overdue), basemap=basemap, lang=lang, prefix=prefix)
    # the heat canvas lies over the grids: let the pointer through to them and the map
    m.get_root().header.add_child(  # type: ignore[attr-defined]
        Element("<style>.leaflet-heatmap-layer{pointer-events:none}</style>")
    )
    if geoms:
        props = [
            {"code": escape(grids.codes[p]), "name": escape(grids.names[p])} for p in positions
        ]
        folium.GeoJson(
            feature_collection(geoms, props),
            name=say("grids", lang),
            style_function=lambda f: {
                "color": style.GRID_OUTLINE,
                "weight": 1,
                "fill": True,
                "fillOpacity": 0,
            },
            tooltip=folium.GeoJsonTooltip(fields=["code", "name"], labels=False),
            control=False,
        ).add_to(m)

    parent = level.parent
    if parent is not None:  # the communities (or the level above) thicker, for orientation
        above = np.flatnonzero(np.asarray(grids.levels) == int(parent))
        outer = [grids.geometries[p] for p in above]
        folium.GeoJson(
            feature_collection(outer, [{} for _ in outer]),
            name=parent.name_in(lang),
            style_function=lambda f: {
                "color": style.PILOT_COMMUNITY_OUTLINE,
                "weight": 2.5,
                "fill": False,
            },
            interactive=False,
            control=False,
        ).add_to(m)

    classes = major_classes(points, categories, lang)
    for cls in classes:
        layer = HeatMap(  # type: ignore[no-untyped-call]
            [[round(p.lat, PRECISION), round(p.lon, PRECISION)] for p in cls.points],
            name=say("cases_n", lang, name=cls.name, n=len(cls.points)),
            min_opacity=0.3,
            # no maxZoom: the layer control would read it as the layer's zoom range and
            # grey its box out when zoomed closer (this build scales by the densest spot)
            max_zoom=None,
            radius=RADIUS,
            blur=BLUR,
            gradient=gradient(cls.colour),
        )
        layer.default_js = [("leaflet-heat.js", heat_url(prefix))]  # this page's copy, no CDN
        layer.add_to(m)

    markers = folium.FeatureGroup(name=say("overdue", lang, n=len(overdue)))
    for row in overdue:
        marker = folium.CircleMarker(
            [round(float(row["lat"]), PRECISION), round(float(row["lon"]), PRECISION)],
            radius=7,
            color="#ffffff",
            weight=2,
            fill=True,
            fill_color=OVERDUE,
            fill_opacity=1,
            pane="markerPane",  # above the heat canvas, where clicks reach it
        )
        marker.add_child(Popup(_overdue_html(row, categories, lang)))  # type: ignore[no-untyped-call]
        marker.add_to(markers)
    markers.add_to(m)
    folium.LayerControl(collapsed=False).add_to(m)

    add_title(
        m,
        say("title", lang),
        say(
            "subtitle", lang, period=period_text(period, lang), n=len(points), overdue=len(overdue)
        ),
    )
    rows = [
        LegendRow(c.colour, say("cases_n", lang, name=c.name, n=len(c.points))) for c in classes
    ]
    rows.append(LegendRow(OVERDUE, say("overdue", lang, n=len(overdue)), "point"))
    notes = [say("classes_note", lang)] if classes else []
    if limit is not None and len(points) >= limit:
        notes.append(say("points_shown", lang, n=limit))
    if overdue_limit is not None and len(overdue) >= overdue_limit:
        notes.append(say("overdue_shown", lang, n=overdue_limit))
    add_legend(m, say("legend", lang), rows, "；".join(notes) if lang == "zh" else "; ".join(notes))
    return m


def _bounds(
    geoms: Sequence[Any], points: Sequence[CasePoint], overdue: Sequence[Mapping[str, Any]]
) -> tuple[float, float, float, float]:
    """The cases' extent with a margin (about 500 m), else the grids'."""
    lons = [p.lon for p in points] + [float(r["lon"]) for r in overdue]
    lats = [p.lat for p in points] + [float(r["lat"]) for r in overdue]
    if not lons:
        return bounds_of(geoms)
    pad = 0.005
    return min(lons) - pad, min(lats) - pad, max(lons) + pad, max(lats) + pad


def _overdue_html(row: Mapping[str, Any], categories: Mapping[str, Category], lang: str) -> str:
    code = str(row.get("category") or "")
    cat = categories.get(code)
    category = f"{code} {(cat.name_zh if lang == 'zh' else cat.name_en) if cat else ''}".strip()
    cells = [
        (say("unit", lang), row.get("unit_name") or row.get("unit")),
        (say("category", lang), category),
        (say("grid", lang), row.get("grid_code")),
        (say("deadline", lang), beijing_minute(row["deadline"])),
    ]
    table = "".join(f"<tr><th>{escape(k)}</th><td>{escape(v)}</td></tr>" for k, v in cells if v)
    over = say("over", lang, hours=hours_text(float(row["overdue_hours"])))
    return (
        f"<div class='gg-overdue' data-case-id='{escape(row['case_id'])}'>"
        f"<b>{escape(say('case', lang, id=row['case_id']))}</b> "
        f"<span style='color:{OVERDUE};font-weight:600'>{escape(over)}</span>"
        f"<table>{table}</table></div>"
    )
