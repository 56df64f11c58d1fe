"""Point lookup: which grid holds a point, and its whole chain up to the city.

Semantics
---------
* A grid holds a point when the grid **covers** it (GEOS ``covers``: interior
  or boundary). Points on a shared edge or vertex are covered by several grids.
* The owner is the covering grid at the **deepest level**; among several of
  that level (a shared edge or vertex) the one with the **smallest code**
  wins. The rule depends on codes only, so it is the same whatever the order
  of the input file, and it agrees with the repair, which gives overlaps to
  the smallest code.
* The chain is the owner and its parents as recorded in the data (not a
  second spatial query), so it is always consistent.
* A point outside every grid has no owner; when a grid without children lies
  within ``nearest_tolerance_m`` metres (GPS error), it is reported as
  ``nearest`` with its distance.

Inputs are reprojected from WGS84, CGCS2000, GCJ-02 or BD-09 to CGCS2000
first (:mod:`gridgeo.coords`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import Any

import numpy as np
import numpy.typing as npt
import shapely

from gridgeo.coords import check_lonlat, parse_coord_system, to_cgcs2000_point
from gridgeo.geometry import PolygonIndex, make_valid_polygonal
from gridgeo.levels import Level
from gridgeo.model import UNKNOWN_LEVEL, GridSet
from gridgeo.workstation import Workstation, serving


@dataclass(frozen=True)
class GridRef:
    """A grid in a lookup answer."""

    level: Level
    code: str
    name: str

    def to_dict(self) -> dict[str, Any]:
        return {
            "level": int(self.level),
            "level_name": self.level.label,
            "code": self.code,
            "name": self.name,
        }


@dataclass(frozen=True)
class Nearest:
    """The closest grid to a point that fell outside every grid."""

    code: str
    name: str
    distance_m: float

    def to_dict(self) -> dict[str, Any]:
        return {"code": self.code, "name": self.name, "distance_m": round(self.distance_m, 2)}


@dataclass(frozen=True)
class LookupResult:
    """The answer for one point: grids leaf first, workstation, nearest grid."""

    lon: float
    lat: float
    crs: str
    cgcs2000: tuple[float, float]
    grids: tuple[GridRef, ...]
    workstation: Workstation | None
    nearest: Nearest | None

    @property
    def leaf(self) -> GridRef | None:
        return self.grids[0] if self.grids else None

    def to_dict(self) -> dict[str, Any]:
        """The answer as JSON values: :func:`point_members`, then :func:`place_members`."""
        return point_members(self.lon, self.lat, self.crs, self.cgcs2000) | place_members(
            self.grids, self.workstation, self.nearest
        )


# The answer is written by these two, in two parts, because the service answering
# ``/v1/lookup`` puts the data's version between them and caches the second per grid.


def point_members(
    lon: float, lat: float, crs: str, cgcs2000: tuple[float, float]
) -> dict[str, Any]:
    """``input`` (the point as given, in ``crs``) and ``point`` (in CGCS2000) of an answer.

    Examples
    --------
    >>> point_members(110.2965, 25.2775, "wgs84", (110.2965, 25.2775))["point"]
    {'lon': 110.2965, 'lat': 25.2775, 'crs': 'EPSG:4490'}
    """
    return {
        "input": {"lon": lon, "lat": lat, "crs": crs},
        "point": {"lon": cgcs2000[0], "lat": cgcs2000[1], "crs": "EPSG:4490"},
    }


def place_members(
    grids: Sequence[GridRef], workstation: Workstation | None, nearest: Nearest | None
) -> dict[str, Any]:
    """``grids`` (leaf first), ``workstation`` and ``nearest`` of an answer."""
    return {
        "grids": [g.to_dict() for g in grids],
        "workstation": workstation.to_dict() if workstation else None,
        "nearest": nearest.to_dict() if nearest else None,
    }


class Locator:
    """Point-in-grid lookup over a grid set (built once, queried many times).

    Parameters
    ----------
    grids
        The boundaries; invalid geometries are made valid first so predicates
        are well defined.
    workstations
        Workstations, matched to the chain by the communities they serve.
    nearest_tolerance_m
        How far outside every grid a point may be for ``nearest`` to be given.
    assume_valid
        Skip making geometries valid (the caller already did).
    """

    def __init__(
        self,
        grids: GridSet,
        workstations: list[Workstation] | None = None,
        nearest_tolerance_m: float = 50.0,
        *,
        assume_valid: bool = False,
    ) -> None:
        self.grids = grids
        self.workstations = list(workstations or [])
        self.nearest_tolerance_m = nearest_tolerance_m
        self._geoms = grids.geometries if assume_valid else make_valid_polygonal(grids.geometries)
        # a grid of unknown level has no place in a chain: it owns no point
        self._index = PolygonIndex(self._geoms, keep=grids.levels != UNKNOWN_LEVEL)
        self._rank = owner_rank(grids)

    def locate(self, lon: npt.ArrayLike, lat: npt.ArrayLike) -> npt.NDArray[np.intp]:
        """Owner position for each CGCS2000 point (vectorized); -1 where none.

        Parameters
        ----------
        lon, lat
            Arrays of CGCS2000 longitudes and latitudes (already validated).
        """
        x = np.atleast_1d(np.asarray(lon, dtype=float))
        y = np.atleast_1d(np.asarray(lat, dtype=float))
        owners = np.full(x.shape, -1, dtype=np.intp)
        pt_idx, candidates = self._index.pairs(x, y)
        if pt_idx.size == 0:
            return owners
        # per point, the covering grid first in owner order
        order = np.lexsort((self._rank[candidates], pt_idx))
        first = np.ones(order.size, dtype=bool)
        first[1:] = pt_idx[order][1:] != pt_idx[order][:-1]
        chosen = order[first]
        owners[pt_idx[chosen]] = candidates[chosen]
        return owners

    def locate_one(self, lon: float, lat: float) -> int:
        """Owner position of one CGCS2000 point, -1 if none (scalar fast path of ``locate``)."""
        covering = self._index.covering(lon, lat)
        return int(covering[self._rank[covering].argmin()]) if covering.size else -1

    def lookup(self, lon: float, lat: float, crs: str = "wgs84") -> LookupResult:
        """The grid chain, workstation and nearest grid for one point.

        Raises
        ------
        CoordinateError
            For a missing, non-numeric, out-of-range or swapped coordinate, or
            an unknown ``crs``.
        """
        system = parse_coord_system(crs)
        x, y = check_lonlat(lon, lat)
        point = to_cgcs2000_point(float(x), float(y), system)
        owner = self.locate_one(*point)
        chain = self.grids.chain(owner) if owner >= 0 else []
        refs = tuple(self._ref(p) for p in chain)
        nearest = self._nearest(*point) if owner < 0 else None
        station = serving(self.workstations, [r.code for r in refs])
        return LookupResult(float(x), float(y), system, point, refs, station, nearest)

    def _ref(self, position: int) -> GridRef:
        code = self.grids.codes[position] or self.grids.refs[position]
        return GridRef(Level(int(self.grids.levels[position])), code, self.grids.names[position])

    @cached_property
    def _leaves_metric(self) -> tuple[npt.NDArray[np.intp], shapely.STRtree]:
        leaves = np.intersect1d(np.flatnonzero(~self.grids.has_children()), self._index.positions)
        projected = self.grids.metric.project(self._geoms[leaves])
        return leaves, shapely.STRtree(projected)

    def _nearest(self, lon: float, lat: float) -> Nearest | None:
        if self.nearest_tolerance_m <= 0:  # 0 turns the nearest-grid answer off
            return None
        leaves, tree = self._leaves_metric
        if leaves.size == 0:
            return None
        x, y = self.grids.metric.xy(lon, lat)
        idx, dist = tree.query_nearest(
            shapely.points([float(x)], [float(y)]),
            max_distance=self.nearest_tolerance_m,
            return_distance=True,
        )
        if idx.size == 0:
            return None
        best = int(np.lexsort((self._rank[leaves[idx[1]]], dist))[0])
        position = int(leaves[idx[1][best]])
        ref = self._ref(position)
        return Nearest(ref.code, ref.name, float(dist[best]))


def owner_rank(grids: GridSet) -> npt.NDArray[np.intp]:
    """Rank of each feature as an owner: deeper level first, then smaller code (a feature
    without one after every code), then the features' order.

    One stable sort of numpy arrays: the Python sort of (level, code) keys took 50 ms at
    20,000 grids, paid by every :class:`Locator` made (a batch's GEOS fallback, a
    service's lookups).

    Examples
    --------
    >>> from shapely.geometry import box
    >>> grids = GridSet.from_records(["450302", "450302001", None, "450301"],
    ...                              [box(0, 0, 1, 1)] * 4, levels=[4, 5, 5, 4])
    >>> owner_rank(grids).tolist()
    [3, 0, 1, 2]
    """
    n = len(grids.codes)
    if n == 0:
        return np.empty(0, dtype=np.intp)
    codes = np.array([code or "~" for code in grids.codes])  # "~" after every code's bytes
    order = np.lexsort((codes, -np.asarray(grids.levels, dtype=np.int64)))
    rank = np.empty(n, dtype=np.intp)
    rank[order] = np.arange(n)
    return rank
