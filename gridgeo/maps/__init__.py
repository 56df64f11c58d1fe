"""Rendered maps (folium/Leaflet HTML) that work without a network.

Modules: :mod:`text` (zh/en strings), :mod:`style` (colours), :mod:`assets`
(Leaflet files from the installed package, offline check), :mod:`page` (a map
page: base layer, title, legend), one module per map (:mod:`coverage`,
:mod:`pilot`, :mod:`validation_map`, :mod:`cases`) and :mod:`render` (writes
them all to a folder, the only module here that touches files).
"""

from gridgeo.maps.cases import case_counts, case_map
from gridgeo.maps.coverage import coverage_map
from gridgeo.maps.pilot import pilot_map
from gridgeo.maps.render import RenderedMaps, render_maps
from gridgeo.maps.validation_map import validation_map

__all__ = [
    "RenderedMaps",
    "case_counts",
    "case_map",
    "coverage_map",
    "pilot_map",
    "render_maps",
    "validation_map",
]
