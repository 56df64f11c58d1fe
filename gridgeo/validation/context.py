"""What every validation rule reads: the grid set, cleaned geometries, settings."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np
import numpy.typing as npt
import shapely

from gridgeo.crs import MetricFrame
from gridgeo.geometry import make_valid_polygonal
from gridgeo.levels import Level
from gridgeo.model import UNKNOWN_LEVEL, GridSet
from gridgeo.settings import ValidationSettings
from gridgeo.validation.pieces import Pieces, real_pieces, snap_grid


@dataclass
class Context:
    """Shared, lazily computed inputs of the rules.

    Hierarchy rules run on the made-valid polygonal geometries, so an invalid
    feature is reported once (as invalid) and still takes part in the overlap,
    gap and parent checks instead of crashing them. Overlays run in the stored
    lon/lat, where neighbours' shared edges coincide; only their results are
    projected to metres to be measured (projecting first would bend long edges
    and invent slivers between a parent and children with extra vertices);
    pieces are measured by an affine local map, which keeps them as thin as
    they are (:mod:`gridgeo.validation.pieces`).
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

    @cached_property
    def grid(self) -> float:
        """Snap-rounding grid, in degrees, of the overlays GEOS cannot run in floating point."""
        return snap_grid(self.settings.tolerance_m)

    def real(self, results: npt.NDArray[np.object_]) -> Pieces:
        """The real pieces of overlay ``results`` under these settings."""
        return real_pieces(
            results,
            area_tolerance_m2=self.settings.area_tolerance_m2,
            tolerance_m=self.settings.tolerance_m,
        )

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
