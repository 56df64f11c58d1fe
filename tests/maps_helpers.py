"""Helpers for the map tests: the GeoJSON layers and legend of a folium map."""

from __future__ import annotations

import html
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


# ASCII punctuation beside a Chinese character: Chinese text wants ，；：？！（）
HALF_WIDTH = re.compile(r"[\u4e00-\u9fff][,;:?!()]|[,;:?!(][\u4e00-\u9fff]")


def page_texts(page: str) -> list[str]:
    """The text people read on a rendered page: title, subtitle, legend and its notes."""
    found = re.findall(r"<div class='gg-title' id='gg-title'>([^<]*)", page)
    found += re.findall(r"<div class='gg-subtitle'>([^<]*)</div>", page)
    found += re.findall(r"<div class='gg-legend-title'>([^<]*)</div>", page)
    found += [label for _, label in legend_rows(page)]
    found += re.findall(r"<div class='gg-note'>([^<]*)</div>", page)
    return [html.unescape(x) for x in found]


def field_labels(m: folium.Map) -> list[str]:
    """The aliases of every tooltip and popup of a map (the names of the fields shown)."""
    out: list[str] = []

    def walk(element: Any) -> None:
        for child in element._children.values():
            if isinstance(child, folium.GeoJsonTooltip | folium.GeoJsonPopup):
                out.extend(str(a) for a in child.aliases or [])
            walk(child)

    walk(m)
    return out


def assert_reads_as_chinese(m: folium.Map) -> str:
    """Check a Chinese page as its reader would, and return its HTML: full-width
    punctuation in every label, a metric scale bar only, the CJK font stack, lang zh-CN."""
    from gridgeo.maps.page import render_html
    from gridgeo.maps.text import FONT_STACK

    page = render_html(m)
    texts = page_texts(page) + field_labels(m)
    assert texts, "the page has a title and a legend"
    bad = [x for x in texts if HALF_WIDTH.search(x)]
    assert not bad, f"half-width punctuation in Chinese text: {bad}"
    assert "L.control.scale({imperial: false})" in page, "a metric scale bar"
    assert "L.control.scale()" not in page, "no scale bar in feet and miles"
    assert f"font-family:{FONT_STACK}" in page and '"PingFang SC"' in FONT_STACK
    assert 'document.documentElement.lang = "zh-CN"' in page
    return page
