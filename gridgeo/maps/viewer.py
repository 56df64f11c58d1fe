"""The live viewer page (``/map``): HTML and its configuration (pure; served by the API).

The page is Leaflet plus ``static/viewer.js``. It reads the grids of every
level and the workstations from the OGC API Features endpoints
(``/collections/{id}/items``, GeoJSON, paged by ``next`` links), asks
``/v1/lookup`` for the chain and workstation of a clicked point and
``/map/staff`` for the people responsible, searches codes and names among the
loaded grids, and shows case points from a GeoJSON URL. A level with more grids
than ``GRIDGEO_VIEWER_MAX_FEATURES`` is drawn per view (bbox requests) once the
view is small enough; the others load whole when the page opens. All text comes from
:mod:`gridgeo.maps.text` in the configured language.
"""

from __future__ import annotations

import html
import json
from collections.abc import Mapping
from typing import Any

from gridgeo.levels import Level
from gridgeo.maps import style
from gridgeo.maps.basemap import NO_BASEMAP, Basemap
from gridgeo.maps.text import TEXT, t

# outline colour and weight per level: the city thick and dark, grids thin and light
LEVEL_STYLES: dict[Level, tuple[str, float]] = {
    Level.CITY: ("#252525", 4.0),
    Level.DISTRICT: ("#6a51a3", 3.0),
    Level.STREET: ("#2171b5", 2.5),
    Level.COMMUNITY: ("#238b45", 2.0),
    Level.GRID: ("#e6550d", 1.2),
}
GRID_FILL_OPACITY = 0.12
# a layer with more grids than this is drawn on a canvas, not as SVG paths (zooming a
# few thousand SVG polygons takes many seconds in a browser without a GPU)
CANVAS_ABOVE = 1000
# levels shown when the page opens (the others are one click away)
DEFAULT_ON = (Level.STREET, Level.COMMUNITY, Level.GRID)
VIEWER_TEXT = (
    "viewer_title",
    "layers",
    "search",
    "search_none",
    "show_cases",
    "outside",
    "nearest",
    "loading",
    "responsible",
    "workstation",
    "address",
    "code",
    "name",
    "cases",
    "no_staff",
    "illustrative",
    "zoom_in",
)


def viewer_config(
    *,
    lang: str = "zh",
    prefix: str = "",
    cases_url: str = "",
    basemap: Basemap = NO_BASEMAP,
    counts: Mapping[Level, int] | None = None,
    max_features: int = 3000,
) -> dict[str, Any]:
    """Everything the viewer script needs: URLs, levels, styles and text.

    ``counts`` are the grids per level. A level with more than ``max_features``
    is marked ``viewport``: the script draws it per view, from bbox requests,
    while the view holds at most ``max_features`` of its grids (a city's tens of
    thousands of fifth-level grids would not fit in one page of GeoJSON).
    """
    counts = counts or {}
    return {
        "maxFeatures": max_features,
        "canvasAbove": CANVAS_ABOVE,
        "lang": lang,
        "api": prefix,
        "lookup": f"{prefix}/v1/lookup",
        "staff": f"{prefix}/map/staff",
        "collections": f"{prefix}/collections",
        "workstations": "workstations",
        "cases": cases_url or f"{prefix}/map/cases.geojson",
        "levels": [
            {
                "id": f"level{int(lv)}_{lv.en}",
                "level": int(lv),
                "name": lv.name_in(lang),
                "color": LEVEL_STYLES[lv][0],
                "weight": LEVEL_STYLES[lv][1],
                "fill": GRID_FILL_OPACITY if lv is Level.GRID else 0.0,
                "on": lv in DEFAULT_ON,
                "count": counts.get(lv),
                "viewport": counts.get(lv, 0) > max_features,
            }
            for lv in Level
        ],
        "workstationColor": style.WORKSTATION,
        "caseColor": style.CASE_POINT,
        "tiles": [
            {"url": url, "attribution": attribution, "subdomains": subdomains}
            for url, attribution, subdomains in basemap.tile_layers(lang)
        ],
        "text": {key: t(key, lang) for key in VIEWER_TEXT if key in TEXT},
    }


def viewer_page(config: dict[str, Any], *, lib: str, static: str) -> str:
    """The viewer's HTML: Leaflet from ``lib``, the script and style from ``static``."""
    title = html.escape(config["text"]["viewer_title"])
    # </script> cannot occur in JSON from json.dumps with ensure_ascii and "<" escaped
    data = json.dumps(config, ensure_ascii=False).replace("<", "\\u003c")
    return f"""<!doctype html>
<html lang="{html.escape(config["lang"])}">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title}</title>
<link rel="stylesheet" href="{lib}/leaflet.css">
<link rel="stylesheet" href="{static}/viewer.css">
</head>
<body>
<div id="map"></div>
<div id="gg-panel" class="gg-panel">
  <div class="gg-panel-title">{title}</div>
  <input id="gg-search" type="search" autocomplete="off"
         placeholder="{html.escape(config["text"]["search"])}">
  <ul id="gg-results"></ul>
  <div class="gg-panel-sub">{html.escape(config["text"]["layers"])}</div>
  <div id="gg-layers"></div>
  <label class="gg-toggle"><input type="checkbox" id="gg-cases">
    {html.escape(config["text"]["show_cases"])} <span id="gg-case-count"></span></label>
  <div id="gg-status"></div>
</div>
<script src="{lib}/leaflet.js"></script>
<script>window.GRIDGEO_VIEWER = {data};</script>
<script src="{static}/viewer.js"></script>
</body>
</html>
"""
