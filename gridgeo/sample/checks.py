"""Checks the sample builder runs on its own output before writing it.

Areas are measured in metres in CGCS2000 3-degree Gauss-Kruger zone EPSG:4546
(central meridian 111 E, the zone for Guilin), never in square degrees.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import shapely
from shapely.geometry import Polygon
from shapely.geometry.base import BaseGeometry

from gridgeo.codes import CodeScheme
from gridgeo.errors import GridgeoError
from gridgeo.i18n import tr
from gridgeo.levels import Level

GEOGRAPHIC_CRS = "EPSG:4490"
METRIC_CRS = "EPSG:4546"
MAX_NOISE_M2 = 1.0  # overlap, gap or spill-over tolerated as floating-point noise
MIN_PART_M2 = 1000.0  # no child may be a sliver


class SampleBuildError(GridgeoError):
    """The generated sample data breaks one of its own invariants."""


@dataclass(frozen=True, slots=True)
class Unit:
    """One grid unit (a feature of one boundary layer)."""

    code: str
    name: str
    level: Level
    parent_code: str | None
    pilot: bool
    geometry: Polygon


def to_metres(geometries: Sequence[BaseGeometry]) -> list[BaseGeometry]:
    """Project lon/lat CGCS2000 geometries to EPSG:4546 metres."""
    series = gpd.GeoSeries(list(geometries), crs=GEOGRAPHIC_CRS).to_crs(METRIC_CRS)
    return list(series)


def _area(geometry: BaseGeometry) -> float:
    return float(shapely.area(geometry))


def check_codes(parent: Unit, children: Sequence[Unit]) -> None:
    """Raise unless every child's code is well formed and extends the parent's."""
    scheme = CodeScheme()
    for child in children:
        scheme.check(child.code, child.level)
        if child.parent_code != parent.code or not scheme.extends(child.code, parent.code):
            raise SampleBuildError(
                tr(
                    "{code} {name} does not extend {parent}",
                    code=child.code,
                    name=child.name,
                    parent=parent.code,
                )
            )


def check_within(parent: Unit, children: Sequence[Unit]) -> None:
    """Raise unless each child is one polygon of at least 1000 m² inside the parent."""
    outer, *inner = to_metres([parent.geometry, *(c.geometry for c in children)])
    for child, geom in zip(children, inner, strict=True):
        if not isinstance(geom, Polygon) or not geom.is_valid:
            raise SampleBuildError(
                tr("{code} {name} is not one valid polygon", code=child.code, name=child.name)
            )
        if _area(geom) < MIN_PART_M2:
            raise SampleBuildError(
                tr(
                    "{code} {name} is under {least:.0f} m²",
                    code=child.code,
                    name=child.name,
                    least=MIN_PART_M2,
                )
            )
        spill = _area(shapely.difference(geom, outer))
        if spill >= MAX_NOISE_M2:
            raise SampleBuildError(
                tr(
                    "{code} lies {spill:.1f} m² outside {parent}",
                    code=child.code,
                    spill=spill,
                    parent=parent.code,
                )
            )


def check_tiling(parent: Unit, children: Sequence[Unit]) -> None:
    """Raise unless the children cover the parent with no overlap or gap over 1 m²."""
    check_codes(parent, children)
    check_within(parent, children)
    outer, *inner = to_metres([parent.geometry, *(c.geometry for c in children)])
    union = shapely.union_all(inner)
    overlap = float(np.sum(shapely.area(inner))) - _area(union)
    gap = _area(shapely.difference(outer, union))
    if overlap >= MAX_NOISE_M2 or gap >= MAX_NOISE_M2:
        raise SampleBuildError(
            tr(
                "children of {parent} overlap by {overlap:.2f} m² and leave {gap:.2f} m² "
                "uncovered (limit {limit} m² each)",
                parent=parent.code,
                overlap=overlap,
                gap=gap,
                limit=MAX_NOISE_M2,
            )
        )
