"""What every validation rule reads: the grid set, cleaned geometries, settings."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np
import numpy.typing as npt
import shapely
from shapely.geometry.base import BaseGeometry

from gridgeo.crs import MetricFrame
from gridgeo.geometry import make_valid_polygonal, mean_width
from gridgeo.levels import Level
from gridgeo.model import UNKNOWN_LEVEL, GridSet
from gridgeo.settings import ValidationSettings


@dataclass
class Context:
    """Shared, lazily computed inputs of the rules.

    Hierarchy rules run on the made-valid polygonal geometries, so an invalid
    feature is reported once (as invalid) and still takes part in the overlap,
    gap and parent checks instead of crashing them. Overlays run in the stored
    lon/lat, where neighbours' shared edges coincide; only their results are
    projected to metres to be measured (projecting first would bend long edges
    and invent slivers between a parent and children with extra vertices).
    """

    grids: GridSet
    settings: ValidationSettings

    @cached_property
    def frame(self) -> MetricFrame:
        return self.grids.metric

    @cached_property
    def clean(self) -> npt.NDArray[np.object_]:
        """Made-valid polygonal geometries in EPSG:4490 (empty where none)."""
        return make_valid_polygonal(self.grids.geometries)

    def area(self, geom: BaseGeometry) -> float:
        """Area in m² of an EPSG:4490 geometry."""
        return float(self.frame.area(np.array([geom], dtype=object))[0])

    def width(self, geom: BaseGeometry) -> float:
        """Mean width 2·A/P in metres of an EPSG:4490 geometry."""
        return mean_width(self.frame.project(np.array([geom], dtype=object))[0])

    @cached_property
    def usable(self) -> npt.NDArray[np.bool_]:
        """Features with polygonal area and a known level: the hierarchy rules' input."""
        has_area = ~shapely.is_empty(self.clean)
        return np.asarray(has_area & (self.grids.levels != UNKNOWN_LEVEL), dtype=bool)

    def at_level(self, level: Level) -> npt.NDArray[np.intp]:
        """Positions of usable features at ``level``."""
        return np.flatnonzero(self.usable & (self.grids.levels == int(level)))

    def code(self, position: int) -> str:
        code = self.grids.codes[position]
        return code if code is not None else self.grids.refs[position]

    def level_of(self, position: int) -> Level | None:
        value = int(self.grids.levels[position])
        return None if value == UNKNOWN_LEVEL else Level(value)
