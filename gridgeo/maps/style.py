"""Colours and line styles of the maps (pure; the browser tests check these colours)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from gridgeo.i18n import tr
from gridgeo.levels import Level

# Categorical colours for "coloured by parent" (Tableau 10, then Set3-like extras):
# distinct on white and printable.
CATEGORICAL = (
    "#1f77b4",
    "#ff7f0e",
    "#2ca02c",
    "#d62728",
    "#9467bd",
    "#8c564b",
    "#e377c2",
    "#17becf",
    "#bcbd22",
    "#7f7f7f",
    "#393b79",
    "#637939",
    "#8c6d31",
    "#843c39",
    "#7b4173",
    "#3182bd",
    "#e6550d",
    "#31a354",
)
FILL_OPACITY = 0.35
OUTLINE = "#333333"

# Validation findings: errors in reds and oranges, warnings in yellow/violet.
RULE_COLOURS: dict[str, str] = {
    "overlap": "#e31a1c",
    "gap": "#1f78b4",
    "outside_parent": "#ff7f00",
    "invalid_geometry": "#6a3d9a",
    "non_polygonal": "#6a3d9a",
    "empty_geometry": "#6a3d9a",
    "tiny_part": "#b15928",
    "sliver": "#b2df8a",
}
FINDING_DEFAULT = "#e31a1c"
FINDING_OPACITY = 0.6
GRID_OUTLINE = "#555555"

# Sequential classes for case counts (ColorBrewer YlOrRd), light to dark.
SEQUENTIAL = ("#ffffb2", "#fed976", "#feb24c", "#fd8d3c", "#f03b20", "#bd0026", "#800026")
CHOROPLETH_OPACITY = 0.7
NO_CASES = "#f7f7f7"
CASE_POINT = "#08306b"

# Outline colour and weight (CSS pixels) per level, in the viewer and in the layer
# styles of exported GeoPackages: the city thick and dark, grids thin and light.
LEVEL_STYLES: dict[Level, tuple[str, float]] = {
    Level.CITY: ("#252525", 4.0),
    Level.DISTRICT: ("#6a51a3", 3.0),
    Level.STREET: ("#2171b5", 2.5),
    Level.COMMUNITY: ("#238b45", 2.0),
    Level.GRID: ("#e6550d", 1.2),
}
GRID_FILL_OPACITY = 0.12

PILOT_COMMUNITY_OUTLINE = "#08519c"
WORKSTATION = "#d7301f"
PARTNER = "#238b45"


def colours_for(keys: Iterable[str | None]) -> dict[str | None, str]:
    """A colour per distinct key, stable under input order (keys sorted, None last)."""
    distinct = sorted({k for k in keys if k is not None})
    out: dict[str | None, str] = {
        k: CATEGORICAL[i % len(CATEGORICAL)] for i, k in enumerate(distinct)
    }
    out[None] = CATEGORICAL[len(distinct) % len(CATEGORICAL)]
    return out


def sequential(k: int) -> tuple[str, ...]:
    """``k`` colours spread over the sequential ramp (1 <= k <= 7)."""
    if not 1 <= k <= len(SEQUENTIAL):
        raise ValueError(tr("between 1 and {most} classes, not {k}", most=len(SEQUENTIAL), k=k))
    if k == 1:
        return (SEQUENTIAL[3],)
    step = (len(SEQUENTIAL) - 1) / (k - 1)
    return tuple(SEQUENTIAL[round(i * step)] for i in range(k))


def polygon_style(
    fill: str, *, opacity: float = FILL_OPACITY, outline: str = OUTLINE, weight: float = 1.5
) -> dict[str, Any]:
    """A Leaflet path style for a filled polygon."""
    return {"color": outline, "weight": weight, "fillColor": fill, "fillOpacity": opacity}


def blend_on_white(colour: str, opacity: float) -> tuple[int, int, int]:
    """The RGB a fill of ``colour`` at ``opacity`` shows over a white page."""
    rgb = hex_rgb(colour)
    return tuple(round(c * opacity + 255 * (1 - opacity)) for c in rgb)  # type: ignore[return-value]


def hex_rgb(colour: str) -> tuple[int, int, int]:
    """``#rrggbb`` as an (r, g, b) tuple."""
    h = colour.lstrip("#")
    return int(h[0:2], 16), int(h[2:4], 16), int(h[4:6], 16)


# responsibility coverage map: staffing status of a grid
STAFF_OK = "#1a9850"
STAFF_OFF = "#fdae61"
STAFF_NONE = "#d73027"
