"""Validation map: the findings of a validation report drawn over the boundaries.

Overlaps, gaps, invalid parts and areas outside the parent are filled in
their rule's colour with the finding's message in a popup; findings that GEOS
locates at a point only (a self-intersection) are circles. Findings without a
place (a duplicate code) are counted in the legend.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

import folium
import numpy as np
import shapely

from gridgeo.geometry import make_valid_polygonal
from gridgeo.maps import style
from gridgeo.maps.basemap import NO_BASEMAP, Basemap
from gridgeo.maps.page import (
    Bounds,
    LegendRow,
    Popup,
    add_legend,
    add_title,
    bounds_of,
    escape,
    feature_collection,
    new_map,
)
from gridgeo.maps.text import SEVERITIES, listing, rule_name, t, word
from gridgeo.model import UNKNOWN_LEVEL, GridSet
from gridgeo.validation.report import BoundaryFinding, ValidationReport

# Findings smaller than this many pixels at the fitted zoom would be invisible; a
# circle marks them as well.
MARK_POINT_M2 = 2_000.0


def validation_map(
    grids: GridSet,
    report: ValidationReport,
    *,
    lang: str = "zh",
    basemap: Basemap = NO_BASEMAP,
    prefix: str = "lib",
) -> folium.Map:
    """The boundaries (grey outlines) with every located finding highlighted."""
    geoms = make_valid_polygonal(grids.geometries)
    usable = ~shapely.is_empty(geoms)
    extent = bounds_of(list(geoms[usable]))
    located = _located(report)
    # open on the problems (with some context around them), not on the whole city
    view = _padded(bounds_of(located), extent) if located else extent
    m = new_map(view, basemap=basemap, lang=lang, prefix=prefix)

    order = np.argsort(grids.levels, kind="stable")  # top level first, children drawn above
    props = [
        {
            "code": escape(grids.codes[i]),
            "name": escape(grids.names[i]),
            "level": escape(grids.levels[i] if grids.levels[i] != UNKNOWN_LEVEL else "?"),
        }
        for i in order
    ]
    folium.GeoJson(
        feature_collection(geoms[order], props),
        name=t("boundaries", lang),
        style_function=lambda f: {
            "color": style.GRID_OUTLINE,
            "weight": 1,
            "fillColor": "#ffffff",
            "fillOpacity": 0.0,
        },
        tooltip=folium.GeoJsonTooltip(
            fields=["code", "name"], aliases=[t("code", lang), t("name", lang)]
        ),
        interactive=False,
    ).add_to(m)

    areas = [f for f in report.findings if _polygonal(f)]
    # big first so a small finding inside a big one stays clickable
    areas.sort(key=lambda f: -(f.area_m2 or 0.0))
    fprops = [_finding_props(f, lang) for f in areas]
    if areas:
        folium.GeoJson(
            feature_collection([f.geometry for f in areas], fprops, precision=None),
            name=t("validation_title", lang),
            style_function=lambda f: {
                "color": f["properties"]["colour"],
                "weight": 2,
                "fillColor": f["properties"]["colour"],
                "fillOpacity": style.FINDING_OPACITY,
            },
            highlight_function=lambda f: {"weight": 4},
            popup=folium.GeoJsonPopup(
                fields=["rule", "severity", "codes", "area_m2", "message"],
                aliases=[
                    t("rule", lang),
                    t("severity", lang),
                    t("codes", lang),
                    t("area_m2", lang),
                    t("message", lang),
                ],
                max_width=480,
            ),
            tooltip=folium.GeoJsonTooltip(
                fields=["rule", "codes"], aliases=[t("rule", lang), t("codes", lang)]
            ),
            zoom_on_click=False,
        ).add_to(m)
    span = max(extent[2] - extent[0], extent[3] - extent[1])
    for f in report.findings:
        where = _marker_point(f, span)
        if where is None:
            continue
        colour = style.RULE_COLOURS.get(f.rule, style.FINDING_DEFAULT)
        p = _finding_props(f, lang)
        folium.CircleMarker(
            [where[1], where[0]],
            radius=7,
            color=colour,
            weight=3,
            fill=True,
            fill_color="#ffffff",
            fill_opacity=0.8,
            tooltip=f"{p['rule']}{'：' if lang == 'zh' else ': '}{p['codes']}",
        ).add_child(  # type: ignore[no-untyped-call]
            Popup(f"<b>{p['rule']}</b> {p['codes']}<br>{p['message']}", max_width=480)
        ).add_to(m)

    counts = Counter(f.rule for f in report.findings)
    rows = [
        LegendRow(
            style.RULE_COLOURS.get(rule, style.FINDING_DEFAULT),
            t("legend_count", lang, label=rule_name(rule, lang), n=n),
            "fill" if rule in _AREA_RULES else "point",
        )
        for rule, n in sorted(counts.items())
    ]
    rows.insert(0, LegendRow(style.GRID_OUTLINE, t("boundaries", lang), "outline"))
    summary = t(
        "validation_summary",
        lang,
        features=report.features,
        errors=len(report.errors),
        warnings=len(report.warnings),
    )
    add_title(m, t("validation_title", lang), summary)
    add_legend(m, t("rule", lang), rows, "" if report.findings else t("validation_clean", lang))
    return m


_AREA_RULES = frozenset({"overlap", "gap", "outside_parent", "tiny_part", "sliver"})


def _polygonal(f: BoundaryFinding) -> bool:
    return (
        f.geometry is not None
        and not f.geometry.is_empty
        and f.geometry.geom_type in ("Polygon", "MultiPolygon", "GeometryCollection")
        and f.geometry.area > 0
    )


def _marker_point(f: BoundaryFinding, span: float) -> tuple[float, float] | None:
    """A point to circle: the GEOS location, or a point of a finding too small to see.

    Too small: under :data:`MARK_POINT_M2`, or under 1/200 of the boundaries' extent
    (a 100 m gap is invisible on a city-wide map).
    """
    if f.location is not None:
        return f.location
    if f.geometry is not None and not f.geometry.is_empty:
        minx, miny, maxx, maxy = f.geometry.bounds
        small = max(maxx - minx, maxy - miny) < span / 200
        if not _polygonal(f) or small or (f.area_m2 is not None and f.area_m2 < MARK_POINT_M2):
            p = f.geometry.representative_point()
            return (p.x, p.y)
    return None


def _located(report: ValidationReport) -> list[Any]:
    """Geometries (or points) of the findings that have a place."""
    out: list[Any] = []
    for f in report.findings:
        if f.geometry is not None and not f.geometry.is_empty:
            out.append(f.geometry)
        elif f.location is not None:
            out.append(shapely.Point(f.location))
    return out


def _padded(inner: Bounds, outer: Bounds) -> Bounds:
    """``inner`` grown by a fifth of its size (at least 1 % of ``outer``) on each side."""
    pad_x = max((inner[2] - inner[0]) / 5, (outer[2] - outer[0]) / 100)
    pad_y = max((inner[3] - inner[1]) / 5, (outer[3] - outer[1]) / 100)
    return (inner[0] - pad_x, inner[1] - pad_y, inner[2] + pad_x, inner[3] + pad_y)


def _finding_props(f: BoundaryFinding, lang: str) -> dict[str, str]:
    return {
        "rule": escape(rule_name(f.rule, lang)),
        "severity": escape(word(SEVERITIES, str(f.severity), lang)),
        "codes": escape(listing(list(f.codes), lang)),
        "area_m2": f"{f.area_m2:,.1f}" if f.area_m2 is not None else "",
        "message": escape(f.message),
        "colour": style.RULE_COLOURS.get(f.rule, style.FINDING_DEFAULT),
    }
