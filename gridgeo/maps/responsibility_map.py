"""Responsibility coverage map: who answers for each grid, and where partner zones fail.

The fifth-level grids in the coverage report's scope are filled by staffing
status: nobody on the roster (red), staffed differently from the level's rule
(orange), staffed as the rule says (green); the popup lists the people's
posts (no names: maps are shared widely). The partner zones' overlaps and
gaps from the same report are listed in the legend, and the zones of each
area-wide partner type are drawn as outlines, so a gap shows as a place
without one. It renders ``gridgeo coverage`` and ``gridgeo staffing``: one
report, two views.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

import folium

from gridgeo.geometry import make_valid_polygonal
from gridgeo.maps import style
from gridgeo.maps.basemap import NO_BASEMAP, Basemap
from gridgeo.maps.page import (
    LegendRow,
    add_legend,
    add_title,
    bounds_of,
    escape,
    feature_collection,
    new_map,
)
from gridgeo.maps.text import listing, t
from gridgeo.model import GridSet
from gridgeo.partners import ResolvedZones
from gridgeo.responsibility_coverage import CoverageReport
from gridgeo.staffing import StaffingReport, StaffMember

STATUS_COLOURS = {"none": style.STAFF_NONE, "off": style.STAFF_OFF, "ok": style.STAFF_OK}
STATUS_TEXT = {"none": "staff_none", "off": "staff_off", "ok": "staff_ok"}


def grid_status(
    report: CoverageReport, staffing: StaffingReport, staff: list[StaffMember]
) -> dict[str, tuple[str, int]]:
    """Scope grid code -> (status, people): ``none``, ``off`` (differs from its rule), ``ok``."""
    people = Counter(p.grid_code for p in staff)
    unstaffed = {g.code for g in report.unstaffed}
    off = {f.grid_code for f in staffing.findings}
    out: dict[str, tuple[str, int]] = {}
    for code in report.scope:
        status = "none" if code in unstaffed else "off" if code in off else "ok"
        out[code] = (status, people[code])
    return out


def responsibility_map(
    grids: GridSet,
    report: CoverageReport,
    staffing: StaffingReport,
    staff: list[StaffMember],
    zones: ResolvedZones,
    *,
    lang: str = "zh",
    basemap: Basemap = NO_BASEMAP,
    prefix: str = "lib",
) -> folium.Map:
    """The scope's grids by staffing status, partner zones, overlaps and gaps in the legend."""
    status = grid_status(report, staffing, staff)
    positions = [grids.position(code) for code in status]
    geoms = make_valid_polygonal(grids.geometries[positions])
    m = new_map(bounds_of(list(geoms)), basemap=basemap, lang=lang, prefix=prefix)
    posts = _posts(staff, lang)
    props = [
        {
            "code": escape(code),
            "name": escape(grids.names[pos]),
            "status": t(STATUS_TEXT[state], lang),
            "people": n,
            "posts": escape(posts.get(code, "")),
            "colour": STATUS_COLOURS[state],
        }
        for (code, (state, n)), pos in zip(status.items(), positions, strict=True)
    ]
    folium.GeoJson(
        feature_collection(geoms, props),
        name=t("responsibility_title", lang),
        style_function=_fill,
        popup=folium.GeoJsonPopup(
            fields=["code", "name", "status", "people", "posts"],
            aliases=[
                t("code", lang),
                t("name", lang),
                t("status", lang),
                t("staff_count", lang),
                t("posts", lang),
            ],
        ),
        tooltip=folium.GeoJsonTooltip(
            fields=["code", "name", "status"],
            aliases=[t("code", lang), t("name", lang), t("status", lang)],
        ),
    ).add_to(m)
    _draw_zones(m, zones, lang)
    add_title(m, t("responsibility_title", lang), t("responsibility_subtitle", lang))
    add_legend(m, t("status", lang), _legend(status, report, lang))
    return m


def _fill(feature: dict[str, Any]) -> dict[str, Any]:
    colour = feature["properties"]["colour"]
    return {"color": style.OUTLINE, "weight": 1, "fillColor": colour, "fillOpacity": 0.6}


def _posts(staff: list[StaffMember], lang: str) -> dict[str, str]:
    by_grid: dict[str, Counter[str]] = {}
    for p in staff:
        post = p.role.zh if lang == "zh" else p.role.value.replace("_", " ")
        by_grid.setdefault(p.grid_code, Counter())[post] += 1
    each = "{} {} 名" if lang == "zh" else "{} ×{}"
    return {
        code: listing([each.format(k, n) for k, n in c.items()], lang)
        for code, c in by_grid.items()
    }


def _draw_zones(m: folium.Map, zones: ResolvedZones, lang: str) -> None:
    units = [u for u, g in zip(zones.partners, zones.geometries, strict=True) if not g.is_empty]
    if not units:
        return
    geoms = [g for g in zones.geometries if not g.is_empty]
    props = [
        {"name": escape(u.name), "type": escape(u.type.zh if lang == "zh" else u.type.en)}
        for u in units
    ]
    folium.GeoJson(
        feature_collection(geoms, props),
        name=t("partners", lang),
        style_function=lambda f: {
            "color": style.PARTNER,
            "weight": 2,
            "dashArray": "4 4",
            "fill": False,  # outlines only: a click inside reaches the grid below
        },
        tooltip=folium.GeoJsonTooltip(
            fields=["type", "name"], aliases=[t("partner_type", lang), t("name", lang)]
        ),
    ).add_to(m)


def _legend(
    status: dict[str, tuple[str, int]], report: CoverageReport, lang: str
) -> list[LegendRow]:
    counts = Counter(state for state, _ in status.values())
    rows = [
        LegendRow(
            STATUS_COLOURS[state],
            t("legend_count", lang, label=t(STATUS_TEXT[state], lang), n=counts[state]),
        )
        for state in ("none", "off", "ok")
    ]
    rows.append(LegendRow(style.PARTNER, t("partners", lang), "line"))
    for o in report.overlaps:
        kind = o.type.zh if lang == "zh" else o.type.en
        text = t(
            "zone_overlap",
            lang,
            type=kind,
            first=o.first,
            second=o.second,
            area=f"{o.area_m2:,.0f}",
        )
        rows.append(LegendRow(style.STAFF_OFF, text, "point"))
    for g in report.gaps:
        kind = g.type.zh if lang == "zh" else g.type.en
        text = t("zone_gap", lang, type=kind, area=f"{g.area_m2:,.0f}", share=f"{g.share:.0%}")
        rows.append(LegendRow(style.STAFF_NONE, text, "point"))
    return rows
