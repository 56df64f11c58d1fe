"""Robust polygon helpers shared by validation, repair and lookup (pure, no I/O).

GEOS raises ``TopologyException`` on nearly-degenerate input such as the
quantised real district files. Every overlay here first works on made-valid
geometries and, if GEOS still fails, retries on a fixed-precision grid, so
callers never see the exception.

:class:`PolygonIndex` (prepared polygons in an STRtree) answers which polygons
cover given points, for the lookup and the dispatch.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import numpy.typing as npt
import shapely
from shapely.errors import GEOSException
from shapely.geometry import MultiPolygon, Polygon
from shapely.geometry.base import BaseGeometry

POLYGONAL = ("Polygon", "MultiPolygon")
EMPTY = Polygon()

# Snap grid used only when exact GEOS overlay fails: 1e-9 degree, about 0.1 mm.
FALLBACK_GRID = 1e-9


def polygonal(geom: BaseGeometry | None) -> Polygon | MultiPolygon:
    """The polygonal part of ``geom`` (empty polygon when it has none).

    Examples
    --------
    >>> from shapely import from_wkt
    >>> polygonal(from_wkt("GEOMETRYCOLLECTION (POLYGON ((0 0, 1 0, 1 1, 0 0)), "
    ...                    "LINESTRING (0 0, 2 2))")).wkt
    'POLYGON ((0 0, 1 0, 1 1, 0 0))'
    >>> polygonal(from_wkt("LINESTRING (0 0, 2 2)")).is_empty
    True
    """
    if geom is None or geom.is_empty:
        return EMPTY
    if isinstance(geom, Polygon | MultiPolygon):
        return geom
    parts = [p for p in getattr(geom, "geoms", []) if isinstance(p, Polygon | MultiPolygon)]
    polys = [q for p in parts for q in (p.geoms if isinstance(p, MultiPolygon) else [p])]
    if not polys:
        return EMPTY
    return polys[0] if len(polys) == 1 else MultiPolygon(polys)


def make_valid_polygonal(geoms: npt.ArrayLike) -> npt.NDArray[np.object_]:
    """Valid polygonal geometries: GEOS ``make_valid`` (structure method), polygons kept.

    The structure method treats rings as boundaries and keeps the area they
    enclose, dropping collapsed lines and points; for self-intersecting rings
    this is what a planner drew. Valid polygons pass through unchanged (and
    the array is returned as is when every geometry is a valid polygon).

    Examples
    --------
    A bow tie (a ring crossing itself) becomes its two triangles; a missing
    geometry becomes an empty polygon:

    >>> from shapely import from_wkt
    >>> fixed = make_valid_polygonal([from_wkt("POLYGON ((0 0, 2 2, 2 0, 0 2, 0 0))"), None])
    >>> fixed[0].geom_type, len(fixed[0].geoms), fixed[0].area, fixed[1].is_empty
    ('MultiPolygon', 2, 2.0, True)
    """
    arr = np.asarray(geoms, dtype=object)
    present = ~shapely.is_missing(arr)
    kinds = shapely.get_type_id(arr)
    fine = present & np.isin(kinds, (3, 6)) & shapely.is_valid(arr)  # Polygon, MultiPolygon
    if fine.all():
        return arr
    out = arr.copy()
    needs = present & ~fine
    if needs.any():
        fixed = shapely.make_valid(arr[needs], method="structure", keep_collapsed=False)
        out[needs] = [polygonal(g) for g in fixed]
    out[~present] = EMPTY
    return out


def parts(geom: BaseGeometry) -> list[Polygon]:
    """The polygons of a (multi)polygon."""
    if geom.is_empty:
        return []
    if isinstance(geom, MultiPolygon):
        return list(geom.geoms)
    return [geom] if isinstance(geom, Polygon) else list(polygonal(geom).geoms)  # type: ignore[union-attr]


def mean_width(geom: BaseGeometry) -> float:
    """Mean width 2·area/perimeter: about the width of a long thin strip.

    Examples
    --------
    >>> from shapely import box
    >>> round(mean_width(box(0, 0, 100, 2)), 3)   # a 100 x 2 strip
    1.961
    """
    perimeter = float(shapely.length(geom))
    return 0.0 if perimeter == 0 else 2.0 * float(shapely.area(geom)) / perimeter


def _robust(op: Callable[..., Any], *args: Any, grid_size: float = FALLBACK_GRID) -> Any:
    try:
        return op(*args)
    except GEOSException:
        return op(*args, grid_size=grid_size)


def union(
    geoms: Sequence[BaseGeometry] | npt.NDArray[np.object_], grid_size: float = FALLBACK_GRID
) -> BaseGeometry:
    """Union of valid polygonal geometries, falling back to a snap grid if GEOS fails."""
    arr = np.asarray(list(geoms), dtype=object)
    if arr.size == 0:
        return EMPTY
    return polygonal(_robust(shapely.union_all, arr, grid_size=grid_size))


def difference(a: BaseGeometry, b: BaseGeometry, grid_size: float = FALLBACK_GRID) -> BaseGeometry:
    """``a - b`` (polygonal part), robust to GEOS topology failures."""
    if a.is_empty or b.is_empty:
        return a
    return polygonal(_robust(shapely.difference, a, b, grid_size=grid_size))


def intersection(
    a: BaseGeometry, b: BaseGeometry, grid_size: float = FALLBACK_GRID
) -> BaseGeometry:
    """``a ∩ b`` (polygonal part), robust to GEOS topology failures."""
    if a.is_empty or b.is_empty:
        return EMPTY
    return polygonal(_robust(shapely.intersection, a, b, grid_size=grid_size))


def holes(geom: BaseGeometry) -> list[Polygon]:
    """The interior rings of a (multi)polygon, each as a polygon."""
    return [Polygon(ring) for p in parts(geom) for ring in p.interiors]


def shared_border(part: BaseGeometry, neighbour: BaseGeometry, snap: float) -> float:
    """Length of ``part``'s boundary lying within ``snap`` of ``neighbour``."""
    near = shapely.buffer(neighbour, snap)
    return float(shapely.length(shapely.intersection(shapely.boundary(part), near)))


def location(reason: str) -> tuple[float, float] | None:
    """The ``[x y]`` location GEOS puts at the end of ``is_valid_reason``."""
    if "[" not in reason:
        return None
    inside = reason[reason.rfind("[") + 1 : reason.rfind("]")].split()
    try:
        return float(inside[0]), float(inside[1])
    except (IndexError, ValueError):
        return None


class PolygonIndex:
    """Polygons, prepared and held in an STRtree: which of them cover given points.

    The one point-in-polygon index of the package, behind the lookup's
    :class:`~gridgeo.lookup.Locator` and the dispatch's
    :class:`~gridgeo.dispatch.ZoneIndex`.

    Boundary semantics: a polygon covers a point in its interior **or on its
    boundary** (GEOS ``covers``), so a point on an edge or a vertex shared by
    several polygons is covered by each of them. For a point, ``intersects`` is
    exactly ``covers``; it is what runs, against the *prepared* polygons (O(log n)
    edges a test; ``STRtree.query(predicate=...)`` would prepare the points
    instead). Empty or missing polygons, those left out by ``keep``, cover
    nothing, and a point with a non-finite coordinate (NaN) is covered by nothing.

    Parameters
    ----------
    polygons
        Valid polygonal geometries (:func:`make_valid_polygonal`), so that the
        predicate is well defined.
    keep
        Which of them to index (default: all). Answers are positions in
        ``polygons`` whatever is left out.

    Attributes
    ----------
    positions
        Positions (in ``polygons``) of the indexed polygons, ascending.
    polygons
        The indexed polygons, prepared, in the order of ``positions``.
    tree
        STRtree over ``polygons`` (its indices are indices into ``polygons``).

    Examples
    --------
    >>> from shapely import box
    >>> index = PolygonIndex([box(0, 0, 1, 1), box(1, 0, 2, 1), Polygon()])
    >>> len(index)                              # the empty polygon is left out
    2
    >>> index.covering(0.5, 0.5).tolist()
    [0]
    >>> index.covering(1.0, 0.5).tolist()       # on the shared edge: both
    [0, 1]
    >>> points, positions = index.pairs([0.5, 1.5, 5.0, float("nan")], [0.5, 0.5, 0.5, 0.5])
    >>> points.tolist(), positions.tolist()     # (point, polygon) pairs
    ([0, 1], [0, 1])
    """

    def __init__(
        self,
        polygons: npt.ArrayLike | Sequence[BaseGeometry],
        keep: npt.NDArray[np.bool_] | None = None,
    ) -> None:
        geoms = np.asarray(polygons, dtype=object).reshape(-1)
        usable = ~(shapely.is_missing(geoms) | shapely.is_empty(geoms))
        if keep is not None:
            usable &= keep
        self.positions: npt.NDArray[np.intp] = np.flatnonzero(usable)
        self.polygons: npt.NDArray[np.object_] = geoms[self.positions]
        shapely.prepare(self.polygons)
        # Hold `lock` for any predicate on `polygons` (as covering and pairs do).
        # GEOS fills a prepared polygon's point index lazily and not thread-safely: two
        # threads testing the same fresh polygon at once corrupt the heap (GEOS 3.14,
        # seen in tests/test_store_live.py). The tests are microseconds: one at a time.
        self.lock = threading.Lock()
        self.tree = shapely.STRtree(self.polygons)

    def __len__(self) -> int:
        return int(self.positions.size)

    def __getstate__(self) -> dict[str, Any]:
        return {k: v for k, v in self.__dict__.items() if k != "lock"}

    def __setstate__(self, state: dict[str, Any]) -> None:
        # the prepared state does not survive pickling (Dask broadcasts the batch index)
        self.__dict__.update(state)
        shapely.prepare(self.polygons)
        self.lock = threading.Lock()

    def covering(self, x: float, y: float) -> npt.NDArray[np.intp]:
        """Positions of the polygons covering the point ``(x, y)``, ascending."""
        candidates = self.tree.query(shapely.Point(x, y))  # bounding boxes
        if candidates.size == 0:  # outside every box: the common miss, answered first
            return candidates
        with self.lock:
            hit = shapely.intersects_xy(self.polygons[candidates], x, y)
        found = self.positions[candidates[hit]]
        if found.size > 1:
            found.sort()
        return found

    def pairs(
        self, x: npt.ArrayLike, y: npt.ArrayLike
    ) -> tuple[npt.NDArray[np.intp], npt.NDArray[np.intp]]:
        """Every (point index, polygon position) pair where the polygon covers the point.

        Vectorised over the points: one tree query, one predicate call. Pairs come
        in no particular order.
        """
        xs = np.asarray(x, dtype=float).reshape(-1)
        ys = np.asarray(y, dtype=float).reshape(-1)
        if xs.size == 0 or self.positions.size == 0:
            empty = np.array([], dtype=np.intp)
            return empty, empty
        finite = np.isfinite(xs) & np.isfinite(ys)
        ok = None if finite.all() else np.flatnonzero(finite)
        points = np.asarray(
            shapely.points(xs, ys) if ok is None else shapely.points(xs[ok], ys[ok]), dtype=object
        )
        point, k = self.tree.query(points)  # bounding boxes
        with self.lock:
            hit = shapely.intersects(self.polygons[k], points[point])
        point, k = point[hit], k[hit]
        return (point if ok is None else ok[point]).astype(np.intp, copy=False), self.positions[k]
