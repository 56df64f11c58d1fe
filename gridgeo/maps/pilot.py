"""Pilot overview: the two pilot communities, their grids, workstations, staff and partners.

The pilot ("1+2+N" plan) covers 文明社区 and 五美社区 of 秀峰街道. Features
marked ``pilot`` = 1 in the boundary file are the pilot; without that column
the communities are found by name (:data:`PILOT_COMMUNITY_NAMES`).

Partner units (issue 7) join through :class:`PartnerArea`: anything with a
name, a kind and a polygon; :func:`partner_areas` converts resolved partner
zones (``gridgeo.partners.resolve_zones``) into them without this module
depending on how partners are read.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import folium
import numpy as np
import numpy.typing as npt
import shapely
from shapely.geometry.base import BaseGeometry

from gridgeo.errors import GridgeoError
from gridgeo.geometry import make_valid_polygonal
from gridgeo.i18n import tr
from gridgeo.levels import Level
from gridgeo.maps import style
from gridgeo.maps.basemap import NO_BASEMAP, Basemap
from gridgeo.maps.page import (
    PRECISION,
    LegendRow,
    Popup,
    add_labels,
    add_legend,
    add_title,
    bounds_of,
    escape,
    feature_collection,
    label_text,
    new_map,
)
from gridgeo.maps.text import EMPLOYMENTS, listing, t, word
from gridgeo.model import GridSet, is_missing
from gridgeo.staffing import StaffMember
from gridgeo.workstation import Workstation

PILOT_COMMUNITY_NAMES = ("文明社区", "五美社区")


@dataclass(frozen=True)
class PartnerArea:
    """A partner unit as the pilot map draws it: a zone polygon (EPSG:4490) and text."""

    code: str
    name: str
    kind: str
    geometry: BaseGeometry
    contact: str = ""
    phone: str = ""


@dataclass(frozen=True)
class Pilot:
    """Positions (in the grid set) of the pilot street, communities and their grids."""

    street: int | None
    communities: tuple[int, ...]
    grids: tuple[int, ...]


def find_pilot(grids: GridSet) -> Pilot:
    """The pilot communities, their fifth-level grids and their street.

    Raises
    ------
    GridgeoError
        When the boundaries hold no pilot community.
    """
    levels = grids.levels
    pilot = grids.extra_columns.get("pilot")
    if pilot is not None:
        flagged = np.array([_flag(v) == 1 for v in pilot], dtype=bool)
        communities = np.flatnonzero(flagged & (levels == int(Level.COMMUNITY)))
    else:
        names = np.asarray(grids.names, dtype=object)
        communities = np.flatnonzero(
            np.isin(names, PILOT_COMMUNITY_NAMES) & (levels == int(Level.COMMUNITY))
        )
    if communities.size == 0:
        raise GridgeoError(
            tr(
                "no pilot community in the boundaries (a 'pilot' column = 1, or communities "
                "named {names})",
                names=" / ".join(PILOT_COMMUNITY_NAMES),
            )
        )
    parents = grids.parent_positions
    children = np.flatnonzero(np.isin(parents, communities) & (levels == int(Level.GRID)))
    street_positions = {int(parents[c]) for c in communities if parents[c] >= 0}
    street = street_positions.pop() if len(street_positions) == 1 else None
    return Pilot(street, tuple(int(c) for c in communities), tuple(int(g) for g in children))


def partner_areas(resolved: Any, lang: str = "zh") -> list[PartnerArea]:
    """Partner units with their resolved zones (``gridgeo.partners.ResolvedZones``) as areas.

    Duck-typed on ``resolved.partners`` (units with ``code``, ``name``, ``type``
    with ``zh``/``en``, ``contact``, ``phone``) and ``resolved.geometries``.
    """
    out = []
    for unit, geom in zip(resolved.partners, resolved.geometries, strict=True):
        if geom is None or geom.is_empty:
            continue
        kind = unit.type.zh if lang == "zh" else unit.type.en
        out.append(PartnerArea(unit.code, unit.name, kind, geom, unit.contact, unit.phone))
    return out


def pilot_map(
    grids: GridSet,
    workstations: Sequence[Workstation] = (),
    staff: Sequence[StaffMember] = (),
    partners: Sequence[PartnerArea] = (),
    *,
    lang: str = "zh",
    basemap: Basemap = NO_BASEMAP,
    prefix: str = "lib",
) -> folium.Map:
    """The pilot overview map.

    Grids are filled in their community's colour and labelled; their popups
    list the grid's staff and its workstation. Workstations are red points
    joined by dashed lines to the grids they serve; their popups list those
    grids and the community staff. Partner zones are green outlines.
    """
    pilot = find_pilot(grids)
    by_grid: dict[str, list[StaffMember]] = {}
    for member in staff:
        by_grid.setdefault(member.grid_code, []).append(member)
    station_of = {c: ws for ws in workstations for c in ws.community_codes}

    grid_pos = np.asarray(pilot.grids, dtype=np.intp)
    com_pos = np.asarray(pilot.communities, dtype=np.intp)
    grid_geoms = make_valid_polygonal(grids.geometries[grid_pos])
    com_geoms = make_valid_polygonal(grids.geometries[com_pos])
    com_codes = [grids.codes[p] for p in com_pos]
    colours = style.colours_for(com_codes)
    parent_of = [grids.parent_codes[p] for p in grid_pos]

    # open on the pilot communities; the street and partner zones around are context
    extent: list[Any] = [*grid_geoms, *com_geoms]
    extent += [shapely.Point(ws.lon, ws.lat) for ws in workstations]
    m = new_map(bounds_of(extent), basemap=basemap, lang=lang, prefix=prefix)

    if pilot.street is not None:
        _outline(m, grids, [pilot.street], "#555555", dash="6 4", weight=2, lang=lang)
    _outline(m, grids, list(com_pos), style.PILOT_COMMUNITY_OUTLINE, weight=3.5, lang=lang)

    props = []
    for p, parent in zip(grid_pos, parent_of, strict=True):
        code = grids.codes[p] or ""
        ws = station_of.get(parent or "")
        props.append(
            {
                "code": escape(code),
                "name": escape(grids.names[p]),
                "community": escape(_name(grids, parent)),
                "workstation": escape(ws.name) if ws else "",
                "staff": _staff_html(by_grid.get(code, []), lang),
                "colour": colours[parent],
            }
        )
    fields = ["code", "name", "community", "workstation", "staff"]
    aliases = [t("code", lang), t("name", lang), Level.COMMUNITY.name_in(lang)]
    aliases += [t("workstation", lang), t("staff", lang)]
    folium.GeoJson(
        feature_collection(grid_geoms, props),
        name=Level.GRID.name_in(lang),
        style_function=lambda f: style.polygon_style(f["properties"]["colour"], weight=1.5),
        highlight_function=lambda f: {"weight": 3, "fillOpacity": 0.55},
        tooltip=folium.GeoJsonTooltip(fields=["code", "name"], aliases=aliases[:2]),
        popup=folium.GeoJsonPopup(fields=fields, aliases=aliases, max_width=420),
        zoom_on_click=False,
    ).add_to(m)
    add_labels(m, list(grid_geoms), [label_text(grids.codes[p], grids.names[p]) for p in grid_pos])

    _partners(m, partners, lang)
    _workstations(m, grids, workstations=workstations, pilot=pilot, by_grid=by_grid, lang=lang)

    street = _name(grids, grids.codes[pilot.street]) if pilot.street is not None else ""
    communities = listing([grids.names[p] for p in com_pos], lang)
    add_title(
        m,
        t("pilot_title", lang, street=street, communities=communities)
        if street
        else t("pilot_title_plain", lang, communities=communities),
        t("pilot_counts", lang, grids=len(grid_pos), stations=len(workstations)),
    )
    rows = [
        LegendRow(colours[c], f"{_name(grids, c)} {c}")
        for c in sorted(c for c in com_codes if c is not None)
    ]
    rows.append(LegendRow(style.WORKSTATION, t("workstation", lang), "point"))
    rows.append(LegendRow(style.WORKSTATION, t("serves_line", lang), "line"))
    if partners:
        rows.append(LegendRow(style.PARTNER, t("partners", lang), "outline"))
    add_legend(m, t("pilot_legend", lang), rows)
    return m


def _outline(
    m: folium.Map,
    grids: GridSet,
    positions: list[int] | npt.NDArray[np.intp],
    colour: str,
    *,
    weight: float,
    lang: str,
    dash: str | None = None,
) -> None:
    geoms = make_valid_polygonal(grids.geometries[np.asarray(positions, dtype=np.intp)])
    props = [{"code": escape(grids.codes[p]), "name": escape(grids.names[p])} for p in positions]
    line = {"color": colour, "weight": weight, "fill": False, "dashArray": dash}
    folium.GeoJson(
        feature_collection(geoms, props),
        style_function=lambda f: line,
        tooltip=folium.GeoJsonTooltip(
            fields=["code", "name"], aliases=[t("code", lang), t("name", lang)]
        ),
        interactive=False,
        control=False,
    ).add_to(m)


def _workstations(
    m: folium.Map,
    grids: GridSet,
    *,
    workstations: Sequence[Workstation],
    pilot: Pilot,
    by_grid: dict[str, list[StaffMember]],
    lang: str,
) -> None:
    leaves_of: dict[str, list[int]] = {}
    for p in pilot.grids:
        leaves_of.setdefault(grids.parent_codes[p] or "", []).append(p)
    for ws in workstations:
        served = [p for c in ws.community_codes for p in leaves_of.get(c, [])]
        here = [round(ws.lat, PRECISION), round(ws.lon, PRECISION)]
        for p in served:
            target = grids.geometries[p].representative_point()
            folium.PolyLine(  # type: ignore[no-untyped-call]
                [here, [round(target.y, PRECISION), round(target.x, PRECISION)]],
                color=style.WORKSTATION,
                weight=1.5,
                dash_array="4 4",
                class_name="gg-passive",  # folium drops interactive=False on lines
            ).add_to(m)
        rows = [
            (t("address", lang), escape(ws.address)),
            (
                t("serves", lang),
                "<br>".join(f"{escape(grids.codes[p])} {escape(grids.names[p])}" for p in served),
            ),
            (
                t("responsible", lang),
                "<br>".join(_staff_html(by_grid.get(c, []), lang) for c in ws.community_codes),
            ),
        ]
        if ws.illustrative:
            rows.append(("", f"<i>{t('illustrative', lang)}</i>"))
        body = "".join(f"<tr><th>{k}</th><td>{v}</td></tr>" for k, v in rows)
        folium.CircleMarker(
            here,
            radius=8,
            color="#ffffff",
            weight=2,
            fill=True,
            fill_color=style.WORKSTATION,
            fill_opacity=1.0,
            tooltip=escape(ws.name),
        ).add_child(  # type: ignore[no-untyped-call]
            Popup(f"<b>{escape(ws.name)}</b> {escape(ws.code)}<table>{body}</table>")
        ).add_to(m)


def _partners(m: folium.Map, partners: Sequence[PartnerArea], lang: str) -> None:
    if not partners:
        return
    group = folium.FeatureGroup(name=t("partners", lang))
    props = [
        {
            "name": escape(p.name),
            "kind": escape(p.kind),
            "code": escape(p.code),
            "contact": escape(" ".join(x for x in (p.contact, p.phone) if x)),
        }
        for p in partners
    ]
    folium.GeoJson(
        feature_collection([p.geometry for p in partners], props),
        style_function=lambda f: {
            "color": style.PARTNER,
            "weight": 2,
            "fill": False,  # the outline only: clicks inside still reach the grids
            "dashArray": "2 4",
        },
        tooltip=folium.GeoJsonTooltip(
            fields=["kind", "name", "contact"],
            aliases=[t("partner_type", lang), t("name", lang), t("contact", lang)],
        ),
    ).add_to(group)
    group.add_to(m)


def _staff_html(members: list[StaffMember], lang: str) -> str:
    if not members:
        return f"<i>{t('no_staff', lang)}</i>"
    lines = []
    for s in members:
        role = s.role.zh if lang == "zh" else s.role.value.replace("_", " ")
        kind = word(EMPLOYMENTS, s.employment.value, lang)
        phone = f" {escape(s.phone)}" if s.phone else ""
        lines.append(f"{escape(s.name)} · {escape(role)} · {escape(kind)}{phone}")
    return "<br>".join(lines)


def _name(grids: GridSet, code: str | None) -> str:
    if not code:
        return ""
    p = grids.position_of.get(code)
    return grids.names[p] if p is not None else code


def _flag(value: object) -> int:
    """A ``pilot`` column's value as 0 or 1 (missing: 0), as ``fillna(0).astype(int)`` reads it."""
    return 0 if is_missing(value) else int(value)  # type: ignore[call-overload]
