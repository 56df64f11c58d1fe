"""Helpers for the map tests: the GeoJSON layers and legend of a folium map."""

from __future__ import annotations

import re
from typing import Any

import folium


def geojson_layers(m: folium.Map) -> list[folium.GeoJson]:
    """The GeoJson layers of a map, in drawing order (also inside feature groups)."""
    out: list[folium.GeoJson] = []

    def walk(element: Any) -> None:
        for child in element._children.values():
            if isinstance(child, folium.GeoJson):
                out.append(child)
            walk(child)

    walk(m)
    return out


def features(layer: folium.GeoJson) -> list[dict[str, Any]]:
    return list(layer.data["features"])


def legend_rows(html: str) -> list[tuple[str, str]]:
    """(swatch style, label) of each legend row in a rendered page."""
    return re.findall(r"<span class='gg-sw [^']*' style='([^']*)'></span>([^<]*)</div>", html)


def label_html(m: folium.Map) -> list[str]:
    """HTML of every DivIcon label on the map."""
    out: list[str] = []

    def walk(element: Any) -> None:
        for child in element._children.values():
            if isinstance(child, folium.DivIcon):
                out.append(str(child.options["html"]))
            walk(child)

    walk(m)
    return out
