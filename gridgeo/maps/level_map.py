"""Map of one level (the ``coverage_level*.html`` pages): every grid outlined, labelled,
coloured by its parent."""

from __future__ import annotations

import folium
import numpy as np

from gridgeo.geometry import make_valid_polygonal
from gridgeo.levels import Level
from gridgeo.maps import style
from gridgeo.maps.basemap import NO_BASEMAP, Basemap
from gridgeo.maps.page import (
    LegendRow,
    add_labels,
    add_legend,
    add_title,
    bounds_of,
    escape,
    feature_collection,
    label_text,
    new_map,
)
from gridgeo.maps.text import level_text, t
from gridgeo.model import GridSet


def level_map(
    grids: GridSet,
    level: Level,
    *,
    lang: str = "zh",
    basemap: Basemap = NO_BASEMAP,
    prefix: str = "lib",
) -> folium.Map:
    """The grids of ``level``, filled in their parent's colour, with labels and a legend.

    Parameters
    ----------
    grids
        Boundaries of one or more levels (parents give the colours when present).
    level
        The level to draw.
    lang
        ``"zh"`` or ``"en"`` for titles, legend and popups.
    basemap
        Base layer (default none: the page needs no network).
    prefix
        Where the page finds Leaflet (relative folder or URL path).

    Raises
    ------
    GridgeoError
        When the level has no grid with a geometry.
    """
    positions = np.flatnonzero(grids.levels == int(level))
    geoms = make_valid_polygonal(grids.geometries[positions])
    parent_codes = [grids.parent_codes[p] for p in positions]
    colours = style.colours_for(parent_codes)
    parent_name = {code: _name_of(grids, code) for code in set(parent_codes)}
    parent_label = {
        code: f"{parent_name[code]} {code}" if code else t("no_parent", lang)
        for code in parent_name
    }
    level_name = level.name_in(lang)
    props = [
        {
            "code": escape(grids.codes[p]),
            "name": escape(grids.names[p]),
            "level": escape(level_text(level, lang)),
            "parent": escape(parent_label[pc]),
            "colour": colours[pc],
        }
        for p, pc in zip(positions, parent_codes, strict=True)
    ]
    data = feature_collection(geoms, props)
    m = new_map(bounds_of(geoms), basemap=basemap, lang=lang, prefix=prefix)
    fields = ["code", "name", "level", "parent"]
    aliases = [t(f, lang) for f in fields]
    folium.GeoJson(
        data,
        name=level_name,
        style_function=lambda f: style.polygon_style(f["properties"]["colour"]),
        highlight_function=lambda f: {"weight": 3, "fillOpacity": 0.55},
        tooltip=folium.GeoJsonTooltip(fields=["code", "name"], aliases=aliases[:2]),
        popup=folium.GeoJsonPopup(fields=fields, aliases=aliases),
        zoom_on_click=False,
    ).add_to(m)
    add_labels(m, list(geoms), [label_text(grids.codes[p], grids.names[p]) for p in positions])
    add_title(
        m,
        t("coverage_title", lang, level=level_text(level, lang)),
        t("count", lang, n=len(data["features"]), level=level_name),
    )
    parent_level = level.parent
    counts = {pc: parent_codes.count(pc) for pc in parent_name}
    rows = [
        LegendRow(colours[pc], t("legend_count", lang, label=parent_label[pc], n=counts[pc]))
        for pc in sorted(parent_name, key=lambda c: (c is None, c or ""))
    ]
    legend_title = (
        t("coverage_legend", lang, parent=parent_level.name_in(lang))
        if parent_level
        else level_text(level, lang)
    )
    add_legend(m, legend_title, rows)
    return m


def _name_of(grids: GridSet, code: str | None) -> str:
    if code is None:
        return ""
    position = grids.position_of.get(code)
    return grids.names[position] if position is not None else ""
