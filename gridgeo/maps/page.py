"""A map page: an offline Leaflet map with a title, a legend and a hook for tests.

Helpers shared by every map: GeoJSON of grids with rounded coordinates,
code+name labels, and the final HTML with its offline check.
"""

from __future__ import annotations

import html
import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

import folium
import numpy as np
import numpy.typing as npt
import shapely
from branca.element import Element, Figure, MacroElement
from jinja2 import Template

from gridgeo.errors import GridgeoError
from gridgeo.i18n import tr
from gridgeo.maps.assets import LIB, localize, remote_assets
from gridgeo.maps.basemap import NO_BASEMAP, Basemap, add_basemap
from gridgeo.maps.text import FONT_STACK, html_lang

Bounds = tuple[float, float, float, float]
# decimal places of lon/lat written to the pages: 1e-6 degree is about 0.1 m
PRECISION = 6
# beyond this many grids a map keeps tooltips but drops the always-visible labels,
# which would cover each other and slow the page
MAX_LABELS = 400


# folium elements that build their HTML with jQuery (folium.Popup, IFrame) write this
_JQUERY = re.compile(r"=\s*\$\(")


class OfflineError(GridgeoError):
    """A rendered page still references a remote script or stylesheet."""


@dataclass(frozen=True)
class LegendRow:
    """One legend entry: a swatch (``fill``, ``point`` or ``line``) and its text."""

    colour: str
    label: str
    kind: Literal["fill", "point", "line", "outline"] = "fill"


def new_map(
    bounds: Bounds, *, basemap: Basemap = NO_BASEMAP, lang: str = "zh", prefix: str = LIB
) -> folium.Map:
    """An empty map fitted to ``bounds`` (minx, miny, maxx, maxy), Leaflet from ``prefix``."""
    minx, miny, maxx, maxy = bounds
    m = folium.Map(
        location=[(miny + maxy) / 2, (minx + maxx) / 2],
        tiles=None,
        control_scale=False,  # folium's scale shows feet and miles too: ours is metric
        zoom_start=12,
        zoom_snap=0.25,  # fit the grids closely, not to the next whole zoom level
    )
    localize(m, prefix)
    add_basemap(m, basemap, lang)
    m.fit_bounds([[miny, minx], [maxy, maxx]], padding=(20, 20))
    _root(m).header.add_child(Element(_CSS))
    m.add_child(_MetricScale())
    m.add_child(_Hook(lang))
    return m


def add_title(m: folium.Map, title: str, subtitle: str = "") -> None:
    """A title box at the top centre; ``title`` is also the page's ``<title>``."""
    sub = f"<div class='gg-subtitle'>{html.escape(subtitle)}</div>" if subtitle else ""
    _root(m).title = html.escape(title)  # branca writes it unescaped
    _root(m).html.add_child(
        Element(f"<div class='gg-title' id='gg-title'>{html.escape(title)}{sub}</div>")
    )


def add_legend(m: folium.Map, title: str, rows: Sequence[LegendRow], note: str = "") -> None:
    """A legend box at the bottom right."""
    items = "".join(
        f"<div class='gg-row'><span class='gg-sw gg-{r.kind}' style='{_swatch(r)}'></span>"
        f"{html.escape(r.label)}</div>"
        for r in rows
    )
    extra = f"<div class='gg-note'>{html.escape(note)}</div>" if note else ""
    _root(m).html.add_child(
        Element(
            f"<div class='gg-legend' id='gg-legend'><div class='gg-legend-title'>"
            f"{html.escape(title)}</div>{items}{extra}</div>"
        )
    )


def add_labels(m: folium.Map, geometries: Sequence[Any], texts: Sequence[str]) -> int:
    """Code+name labels at a point inside each geometry; returns how many were drawn."""
    if len(texts) > MAX_LABELS:
        return 0
    group = folium.FeatureGroup(name="labels", control=False)
    for geom, text in zip(geometries, texts, strict=True):
        if geom is None or geom.is_empty:
            continue
        p = geom.representative_point()
        minx, miny, maxx, maxy = geom.bounds
        folium.Marker(
            [round(p.y, PRECISION), round(p.x, PRECISION)],
            span=[round(maxx - minx, PRECISION), round(maxy - miny, PRECISION)],
            icon=folium.DivIcon(
                html=f"<div class='gg-label'>{text}</div>",
                icon_size=(0, 0),
                class_name="gg-label-icon",
            ),
            interactive=False,
            keyboard=False,
        ).add_to(group)
    group.add_child(_LabelFit(m.get_name()))
    group.add_to(m)
    return len(texts)


def page_title(m: folium.Map) -> str:
    """The title :func:`add_title` gave the page ("" when it has none), unescaped."""
    title = _root(m).title
    return html.unescape(title) if title else ""


def label_text(code: str | None, name: str) -> str:
    """Two-line label: name above code, HTML-escaped."""
    return f"{html.escape(name)}<br><span class='gg-code'>{html.escape(code or '')}</span>"


def feature_collection(
    geometries: Sequence[Any] | npt.NDArray[np.object_],
    properties: Sequence[dict[str, Any]],
    *,
    precision: int | None = PRECISION,
) -> dict[str, Any]:
    """A GeoJSON FeatureCollection, lon/lat rounded to ``precision`` places; empties skipped.

    Findings (slivers, tiny gaps) pass ``precision=None``: rounding could erase them.
    """
    features = []
    for geom, props in zip(geometries, properties, strict=True):
        if geom is None or shapely.is_empty(geom):
            continue
        shape = (
            geom
            if precision is None
            else shapely.set_precision(geom, 10**-precision, mode="pointwise")
        )
        features.append(
            {
                "type": "Feature",
                "properties": props,
                "geometry": json.loads(shapely.to_geojson(shape)),
            }
        )
    return {"type": "FeatureCollection", "features": features}


def bounds_of(geometries: Sequence[Any] | npt.NDArray[np.object_]) -> Bounds:
    """Total bounds of non-empty geometries (raises when there are none)."""
    arr = np.asarray([g for g in geometries if g is not None and not shapely.is_empty(g)])
    if arr.size == 0:
        raise GridgeoError(tr("nothing to map: no non-empty geometry"))
    b = shapely.total_bounds(arr)
    return float(b[0]), float(b[1]), float(b[2]), float(b[3])


def render_html(m: folium.Map) -> str:
    """The page's HTML, refusing any remote script or stylesheet.

    Raises
    ------
    OfflineError
        When an element added a CDN reference (it would not load on an intranet).
    """
    page = m.get_root().render()
    remote = remote_assets(page)
    if remote:
        raise OfflineError(tr("the map references remote assets: {urls}", urls=", ".join(remote)))
    if _JQUERY.search(page):
        raise OfflineError(tr("the map calls jQuery ($(...)), which the offline pages do not load"))
    return page


def escape(value: object) -> str:
    """HTML-escaped text of a value ("" for None)."""
    return "" if value is None else html.escape(str(value))


def _root(m: folium.Map) -> Figure:
    root = m.get_root()
    if not isinstance(root, Figure):  # a map always sits in a Figure; say so for the types
        raise TypeError("map is not attached to a folium Figure")
    return root


def _swatch(row: LegendRow) -> str:
    if row.kind == "point":
        return f"background:{row.colour};border-radius:50%"
    if row.kind == "line":
        return f"border-top:3px dashed {row.colour};height:0;margin-top:7px"
    if row.kind == "outline":
        return f"border:2px solid {row.colour};background:transparent"
    return f"background:{row.colour}"


class Popup(MacroElement):
    """A popup of ready-made HTML bound with Leaflet alone.

    ``folium.Popup`` builds its content with jQuery (``$(...)``), which these
    offline pages do not load; this binds the same HTML with ``bindPopup``.
    """

    _template = Template(
        """
        {% macro script(this, kwargs) %}
        {{ this._parent.get_name() }}.bindPopup({{ this.content|tojson }},
            {maxWidth: {{ this.max_width }}});
        {% endmacro %}
        """
    )

    def __init__(self, content: str, max_width: int = 420) -> None:
        super().__init__()  # type: ignore[no-untyped-call]
        self._name = "Popup"
        self.content = content
        self.max_width = max_width


class _LabelFit(MacroElement):
    """Shows a label only while its grid is wide enough on screen to hold it."""

    _template = Template(
        """
        {% macro script(this, kwargs) %}
        (function (group, map) {
          function fit() {
            group.eachLayer(function (layer) {
              var s = layer.options.span, c = layer.getLatLng(), el = layer.getElement();
              if (!s || !el) { return; }
              var a = map.latLngToContainerPoint([c.lat - s[1] / 2, c.lng - s[0] / 2]);
              var b = map.latLngToContainerPoint([c.lat + s[1] / 2, c.lng + s[0] / 2]);
              var w = Math.abs(b.x - a.x);
              // wide: name and code; narrower: the name only; tiny: nothing
              el.style.display = w >= 40 ? "" : "none";
              el.classList.toggle("gg-narrow", w < 75);
            });
          }
          map.on("zoomend", fit);
          map.whenReady(function () { setTimeout(fit, 0); });  // after the group is on the map
        })({{ this._parent.get_name() }}, {{ this.map_name }});
        {% endmacro %}
        """
    )

    def __init__(self, map_name: str) -> None:
        super().__init__()  # type: ignore[no-untyped-call]
        self._name = "LabelFit"
        self.map_name = map_name


class _MetricScale(MacroElement):
    """Leaflet's scale bar in metres and kilometres only (no feet, no miles)."""

    _template = Template(
        """
        {% macro script(this, kwargs) %}
        L.control.scale({imperial: false}).addTo({{ this._parent.get_name() }});
        {% endmacro %}
        """
    )

    def __init__(self) -> None:
        super().__init__()  # type: ignore[no-untyped-call]
        self._name = "MetricScale"


class _Hook(MacroElement):
    """Exposes the Leaflet map as ``window.gridgeoMap`` (tests and embedding pages use it)
    and gives the page its language (``zh-CN``: the browser picks simplified glyphs)."""

    _template = Template(
        """
        {% macro script(this, kwargs) %}
        window.gridgeoMap = {{ this._parent.get_name() }};
        window.gridgeoLang = {{ this.lang|tojson }};
        document.documentElement.lang = {{ this.html_lang|tojson }};
        {% endmacro %}
        """
    )

    def __init__(self, lang: str) -> None:
        super().__init__()  # type: ignore[no-untyped-call]
        self._name = "GridgeoHook"
        self.lang = lang
        self.html_lang = html_lang(lang)


# The CJK font stack on the page and on Leaflet's container ("body .leaflet-container":
# folium links leaflet.css, with its Helvetica, after this style).
_CSS = f"""
<style>
html,body,body .leaflet-container{{font-family:{FONT_STACK}}}
.gg-title{{position:fixed;top:10px;left:50%;transform:translateX(-50%);z-index:1000;
  background:rgba(255,255,255,.92);padding:6px 14px;border-radius:4px;
  font-size:16px;font-weight:600;line-height:1.3;box-shadow:0 1px 4px rgba(0,0,0,.3);
  text-align:center;max-width:70%}}
.gg-subtitle{{font-weight:400;font-size:12px;color:#444}}
.gg-legend{{position:fixed;bottom:24px;right:10px;z-index:1000;background:rgba(255,255,255,.92);
  padding:6px 10px;border-radius:4px;font-size:12px;line-height:1.5;
  box-shadow:0 1px 4px rgba(0,0,0,.3);max-height:60%;overflow:auto}}
.gg-legend-title{{font-weight:600;margin-bottom:2px}}
.gg-row{{white-space:nowrap}}
.gg-sw{{display:inline-block;width:14px;height:14px;margin-right:6px;vertical-align:-2px;
  border:1px solid #333;box-sizing:border-box}}
.gg-sw.gg-line{{border:0;width:18px}}
.gg-note{{color:#555;margin-top:4px;max-width:260px;white-space:normal}}
.gg-label-icon{{pointer-events:none}}
path.gg-passive{{pointer-events:none !important}}
.gg-label{{transform:translate(-50%,-50%);white-space:nowrap;text-align:center;
  font-size:11px;line-height:1.2;color:#111;text-shadow:0 0 2px #fff,0 0 2px #fff,0 0 3px #fff;
  pointer-events:none}}
.gg-code{{font-size:9px;color:#333}}
.gg-narrow .gg-code,.gg-narrow br{{display:none}}
.leaflet-container{{background:#fff !important}}
:lang(zh) i{{font-style:normal;color:#666}}
.leaflet-popup-content table{{border-collapse:collapse}}
.leaflet-popup-content th{{text-align:left;padding-right:8px;vertical-align:top;white-space:nowrap}}
</style>
"""
