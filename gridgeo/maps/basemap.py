"""The base layer under the grids: none (default), Tianditu with a key, or an XYZ template.

Tianditu (天地图) serves CGCS2000-aligned tiles, so grids in EPSG:4490 sit
on them without a shift; its ``vec`` (vector) layer is drawn with the ``cva``
(Chinese) or ``eva`` (English) annotation layer on top. An XYZ template must
be WGS84/CGCS2000-aligned too, or say it is GCJ-02 (Amap, Tencent; ``crs``):
the live viewer then asks the service for everything in GCJ-02 and draws it where
those tiles show it (the static pages do not: there GCJ-02 tiles appear shifted by
some hundreds of metres). Baidu's tiles use a tiling of their own and are not
supported. Only ``none`` works on an intranet without a tile server; an intranet
tile server is an XYZ template.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

from gridgeo.errors import GridgeoError
from gridgeo.i18n import tr

if TYPE_CHECKING:
    import folium

    from gridgeo.settings import Settings

BasemapKind = Literal["none", "tianditu", "xyz"]

_TIANDITU = (
    "https://t{s}.tianditu.gov.cn/{layer}_w/wmts?SERVICE=WMTS&REQUEST=GetTile&VERSION=1.0.0"
    "&LAYER={layer}&STYLE=default&TILEMATRIXSET=w&FORMAT=tiles"
    "&TILEMATRIX={z}&TILEROW={y}&TILECOL={x}&tk={key}"
)
TIANDITU_ATTRIBUTION = "&copy; 天地图 Tianditu"


class BasemapError(GridgeoError, ValueError):
    """A base-layer setting that cannot be used (Tianditu without a key, xyz without a URL)."""


@dataclass(frozen=True)
class Basemap:
    """Which base layer to draw; build one with :func:`basemap`."""

    kind: BasemapKind = "none"
    key: str = ""
    url: str = ""
    attribution: str = ""
    crs: Literal["wgs84", "gcj02"] = "wgs84"  # of the xyz tiles

    def tile_layers(self, lang: str) -> list[tuple[str, str, str]]:
        """``(url template, attribution, subdomains)`` of each tile layer, bottom first."""
        if self.kind == "tianditu":
            note = "cva" if lang == "zh" else "eva"
            return [
                (_tianditu(layer, self.key), TIANDITU_ATTRIBUTION, "01234567")
                for layer in ("vec", note)
            ]
        if self.kind == "xyz":
            return [(self.url, self.attribution or self.url.split("/")[2], "abc")]
        return []


NO_BASEMAP = Basemap()


def basemap(
    kind: str, *, key: str = "", url: str = "", attribution: str = "", crs: str = "wgs84"
) -> Basemap:
    """A checked base-layer choice.

    Raises
    ------
    BasemapError
        For an unknown kind, Tianditu without a key, or an XYZ template without
        ``{z}``, ``{x}`` and ``{y}``.
    """
    if kind == "none":
        return NO_BASEMAP
    if kind == "tianditu":
        if not key.strip():
            raise BasemapError(tr("basemap 'tianditu' needs a key: set GRIDGEO_TIANDITU_KEY"))
        return Basemap("tianditu", key=key.strip())
    if kind == "xyz":
        if not all(p in url for p in ("{z}", "{x}", "{y}")) or "://" not in url:
            raise BasemapError(
                tr(
                    "basemap 'xyz' needs GRIDGEO_BASEMAP_URL with {{z}}, {{x}} and {{y}}, "
                    "got {url!r}",
                    url=url,
                )
            )
        if crs not in ("wgs84", "gcj02"):
            raise BasemapError(
                tr("basemap crs {crs!r}: use wgs84 or gcj02 (GRIDGEO_BASEMAP_CRS)", crs=crs)
            )
        return Basemap(
            "xyz", url=url, attribution=attribution, crs="gcj02" if crs == "gcj02" else "wgs84"
        )
    raise BasemapError(tr("unknown basemap {kind!r}: use none, tianditu or xyz", kind=kind))


def basemap_from(settings: Settings) -> Basemap:
    """The base layer the settings ask for (checked)."""
    return basemap(
        settings.maps.basemap,
        key=settings.maps.tianditu_key,
        url=settings.maps.basemap_url,
        attribution=settings.maps.basemap_attribution,
        crs=settings.maps.basemap_crs,
    )


def add_basemap(m: folium.Map, base: Basemap, lang: str) -> None:
    """Add the base layer's tile layers to ``m`` (nothing for ``none``)."""
    # folium here, not at the top: the live viewer's page (/map) needs the Basemap but
    # not folium's 10 MB, which only the rendered map files use
    import folium

    for i, (url, attribution, subdomains) in enumerate(base.tile_layers(lang)):
        folium.TileLayer(
            tiles=url,
            attr=attribution,
            subdomains=subdomains,
            name=f"basemap-{i}",
            control=False,
            max_zoom=18,
        ).add_to(m)


def _tianditu(layer: str, key: str) -> str:
    return _TIANDITU.replace("{layer}", layer).replace("{key}", key)
