"""Which pieces of an overlay are real: the semantics of overlap, gap and outside findings.

An overlay of boundaries that are correct still leaves debris: where a child
has a vertex on its parent's edge and the parent has none (a T-junction), or
where coordinates were rounded on the way through a file, the difference of a
parent and its children is a scatter of slivers micrometres wide. A piece is
**real** when both hold:

* its area, in m² on the CGCS2000 ellipsoid, exceeds ``area_tolerance_m2``;
* it is wider than ``tolerance_m``: a disc of that diameter fits inside it
  (tested by eroding it by half the tolerance; the erosion approximates round
  corners by polygons, so the test is exact to a few per cent of the tolerance).

Pieces are measured by :func:`gridgeo.crs.local_metres`, an affine map, so the
straight lon/lat edges overlays work on stay straight and a micrometre sliver
stays micrometre-thin (a map projection would bend a 10 km edge by centimetres
against the extra vertices on it).

Overlays run in floating point; the pairs GEOS cannot overlay that way are
snap-rounded on a grid of a tenth of ``tolerance_m`` (:func:`snap_grid`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import shapely
from shapely.errors import GEOSException
from shapely.geometry.base import BaseGeometry

from gridgeo.crs import local_metres
from gridgeo.geometry import FALLBACK_GRID, polygonal

Objects = npt.NDArray[np.object_]
Overlay = Callable[..., object]

# Metres per degree along a meridian, rounded up: a grid of g metres is at most g
# metres in every direction when converted at this rate.
_MAX_METRES_PER_DEGREE = 111_700.0
_POLYGON = 3
_COLLECTIONS = (4, 5, 6, 7)  # multi-point, -line, -polygon, geometry collection


def snap_grid(tolerance_m: float) -> float:
    """The fallback snap-rounding grid in degrees: a tenth of the tolerance (or 1e-9)."""
    return tolerance_m / 10 / _MAX_METRES_PER_DEGREE or FALLBACK_GRID


def overlay(op: Overlay, a: Objects, b: Objects, grid: float) -> Objects:
    """``op(a[i], b[i])`` for every pair.

    The overlay runs in floating point (three times faster than snap rounding;
    the debris it leaves is what :func:`real_pieces` drops). GEOS raises on a
    few nearly degenerate inputs; then the pairs are redone one by one and a
    failing pair is snap-rounded on ``grid``, then on coarser grids, so a
    whole level is never lost to one bad feature.
    """
    if len(a) == 0:
        return np.empty(0, dtype=object)
    try:
        return np.asarray(op(a, b), dtype=object)
    except GEOSException:
        return np.array([_one(op, x, y, grid) for x, y in zip(a, b, strict=True)], dtype=object)


def _one(op: Overlay, x: BaseGeometry, y: BaseGeometry, grid: float) -> BaseGeometry:
    for size in (None, grid, grid * 10, grid * 100):  # at most half a metre
        try:
            return polygonal(op(x, y, grid_size=size))  # type: ignore[arg-type]
        except GEOSException:
            continue
    return polygonal(None)


def union_all(geoms: Objects, grid: float) -> BaseGeometry:
    """Union of ``geoms``, robust like :func:`overlay`."""
    for size in (None, grid, grid * 10, grid * 100):
        try:
            return polygonal(shapely.union_all(geoms, grid_size=size))
        except GEOSException:
            continue
    return polygonal(None)


@dataclass(frozen=True)
class Pieces:
    """Real polygon pieces of an array of overlay results.

    ``owner[k]`` is the position, in the array given to :func:`real_pieces`,
    of the result piece ``k`` came from.
    """

    owner: npt.NDArray[np.intp]
    geometry: Objects
    area_m2: npt.NDArray[np.float64]
    mean_width_m: npt.NDArray[np.float64]

    def __len__(self) -> int:
        return len(self.owner)

    def by_owner(self) -> Iterator[tuple[int, npt.NDArray[np.intp]]]:
        """``(owner, positions of its pieces)`` for every owner with a real piece."""
        if len(self.owner) == 0:
            return
        order = np.argsort(self.owner, kind="stable")
        owners, starts = np.unique(self.owner[order], return_index=True)
        for owner, at in zip(owners.tolist(), np.split(order, starts[1:]), strict=True):
            yield int(owner), at


def polygon_parts(geoms: Objects) -> tuple[Objects, npt.NDArray[np.intp]]:
    """The polygons in ``geoms`` (collections and multi-polygons opened) and their owners."""
    parts, owner = shapely.get_parts(np.asarray(geoms, dtype=object), return_index=True)
    while True:
        # multi-polygons and collections (of one member too) nested in a collection
        nested = np.isin(shapely.get_type_id(parts), _COLLECTIONS)
        if not nested.any():
            break
        inner, k = shapely.get_parts(parts[nested], return_index=True)
        owner = np.concatenate([owner[~nested], owner[nested][k]])
        parts = np.concatenate([parts[~nested], inner])
    keep = (shapely.get_type_id(parts) == _POLYGON) & ~shapely.is_empty(parts)
    return np.asarray(parts[keep], dtype=object), np.asarray(owner[keep], dtype=np.intp)


def real_pieces(results: Objects, *, area_tolerance_m2: float, tolerance_m: float) -> Pieces:
    """The real pieces of overlay ``results`` (see the module's docstring).

    Examples
    --------
    A 2 m by 3 m gap is real; a 10 km sliver a micrometre wide is not:

    >>> import numpy as np, shapely
    >>> gap = shapely.box(110.0, 25.0, 110.00002, 25.000027)
    >>> sliver = shapely.box(110.0, 25.0, 110.1, 25.00000001)
    >>> found = real_pieces(np.array([gap, sliver]), area_tolerance_m2=1.0, tolerance_m=0.05)
    >>> found.owner.tolist(), [round(a, 1) for a in found.area_m2.tolist()]
    ([0], [6.0])
    """
    parts, owner = polygon_parts(results)
    metric = local_metres(parts)
    area = np.asarray(shapely.area(metric), dtype=float)
    keep = area > area_tolerance_m2
    if tolerance_m > 0 and keep.any():
        core = shapely.buffer(metric[keep], -tolerance_m / 2, quad_segs=2)
        keep[keep] = ~shapely.is_empty(core)
    perimeter = np.asarray(shapely.length(metric[keep]), dtype=float)
    return Pieces(
        owner=owner[keep],
        geometry=parts[keep],
        area_m2=area[keep],
        mean_width_m=2 * area[keep] / np.where(perimeter > 0, perimeter, 1.0),
    )
