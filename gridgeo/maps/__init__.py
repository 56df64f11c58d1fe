"""Rendered maps (folium/Leaflet HTML) that work without a network.

Modules: :mod:`text` (zh/en strings), :mod:`style` (colours), :mod:`assets`
(Leaflet files from the installed package, offline check), :mod:`page` (a map
page: base layer, title, legend), one module per map (:mod:`level_map`,
:mod:`pilot`, :mod:`validation_map`, :mod:`cases`) and :mod:`render` (writes
them all to a folder, the only module here that touches files).

The names below are imported on first use (PEP 562), so a module that needs
only :mod:`style` (the GeoPackage writer's layer styles) does not load folium.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from gridgeo.maps.cases import case_counts, case_map
    from gridgeo.maps.level_map import level_map
    from gridgeo.maps.pilot import pilot_map
    from gridgeo.maps.render import RenderedMaps, render_maps
    from gridgeo.maps.validation_map import validation_map

_HOMES = {
    "RenderedMaps": "gridgeo.maps.render",
    "case_counts": "gridgeo.maps.cases",
    "case_map": "gridgeo.maps.cases",
    "level_map": "gridgeo.maps.level_map",
    "pilot_map": "gridgeo.maps.pilot",
    "render_maps": "gridgeo.maps.render",
    "validation_map": "gridgeo.maps.validation_map",
}
__all__ = [
    "RenderedMaps",
    "case_counts",
    "case_map",
    "level_map",
    "pilot_map",
    "render_maps",
    "validation_map",
]


def __getattr__(name: str) -> Any:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module 'gridgeo.maps' has no attribute {name!r}")
    value = getattr(importlib.import_module(home), name)
    globals()[name] = value
    return value
