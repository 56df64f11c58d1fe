"""Split a polygon into compact single-polygon children that tile it exactly.

Seeds inside the parent are relaxed by a few Lloyd steps, their Voronoi cells
are clipped to the parent, and any detached fragment of a clipped cell is
handed to the neighbouring child it shares the longest border with. Shared
edges come from one Voronoi diagram, so siblings meet vertex for vertex and
their union is the parent up to floating-point noise.

Coordinates are lon/lat degrees. The Voronoi diagram is computed with
longitude scaled by cos(latitude) so that cells are compact on the ground;
centroids need no such care because they commute with that scaling.

Edges are densified to at most ~20 m before clipping. A straight edge in
degrees is slightly curved in a projected CRS, so a child vertex placed on a
long edge would open slivers of several m² between siblings and parent once
projected. Densification is canonical per segment (points run from the
lexicographically smaller end), so two cells sharing an edge get bit-identical
vertices along it.
"""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt
import shapely
from shapely.geometry import Polygon
from shapely.geometry.base import BaseGeometry

from gridgeo.i18n import tr
from gridgeo.sample.checks import SampleBuildError

FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]

LLOYD_STEPS = 5
DENSIFY_STEP = 2e-4  # degrees: ~20 m north-south, ~18 m east-west at 25 N
# Half a micro-degree is ~0.05 m: wide enough to catch a shared edge's noise,
# far too narrow to matter. A corner contact still yields a few tolerances of
# boundary, so a border must be longer than ~1 m to count.
_EDGE_TOLERANCE = 5e-7
_MIN_BORDER = 1e-5


def polygon_parts(geometry: BaseGeometry) -> list[Polygon]:
    """The polygons inside ``geometry``, dropping points and lines."""
    parts = shapely.get_parts(geometry)
    return [p for p in parts if isinstance(p, Polygon) and not p.is_empty]


def random_points_in(parent: Polygon, count: int, rng: np.random.Generator) -> FloatArray:
    """``count`` uniformly random points inside ``parent``, as an (n, 2) array.

    Rejection sampling in the bounding box: which draws are kept depends only
    on the generator state, so a seeded generator gives the same points.
    """
    x0, y0, x1, y1 = parent.bounds
    kept: list[FloatArray] = []
    total = 0
    while total < count:
        xy = rng.uniform((x0, y0), (x1, y1), size=(4 * count, 2))
        xy = xy[shapely.contains_xy(parent, xy[:, 0], xy[:, 1])]
        kept.append(xy)
        total += len(xy)
    return np.concatenate(kept)[:count]


def _densify_ring(xy: FloatArray, step: float) -> FloatArray:
    """A closed ring's coordinates with points added so no segment exceeds ``step``."""
    a, b = xy[:-1], xy[1:]
    swap = (a[:, 0] > b[:, 0]) | ((a[:, 0] == b[:, 0]) & (a[:, 1] > b[:, 1]))
    lo = np.where(swap[:, None], b, a)
    hi = np.where(swap[:, None], a, b)
    pieces = np.maximum(1, np.ceil(np.hypot(*(hi - lo).T) / step)).astype(int)
    out = [xy[:1]]
    for i, n in enumerate(pieces):
        t = np.arange(1, n) / n
        # the same t from the same end whatever the ring's direction
        out.append(lo[i] + (hi[i] - lo[i]) * (t[::-1] if swap[i] else t)[:, None])
        out.append(b[i : i + 1])
    return np.concatenate(out)


def densify(polygon: Polygon, step: float = DENSIFY_STEP) -> Polygon:
    """``polygon`` with extra vertices on its straight edges (same shape in degrees)."""
    rings = [polygon.exterior, *polygon.interiors]
    shell, *holes = (_densify_ring(np.asarray(r.coords), step) for r in rings)
    return Polygon(shell, holes)


def voronoi_clip(
    parent: Polygon, seeds: FloatArray, step: float | None = None
) -> list[BaseGeometry]:
    """Each seed's Voronoi cell intersected with ``parent``, in seed order.

    With ``step``, cells are densified first (see the module notes).
    """
    kx = math.cos(math.radians((parent.bounds[1] + parent.bounds[3]) / 2))
    scale = np.array([kx, 1.0])
    x0, y0, x1, y1 = parent.bounds
    frame = shapely.box(x0 * kx, y0, x1 * kx, y1)
    cells = shapely.voronoi_polygons(
        shapely.multipoints(seeds * scale), extend_to=frame, ordered=True
    )
    unscaled: list[Polygon] = list(
        shapely.get_parts(shapely.transform(cells, lambda xy: xy / scale))
    )
    if step is not None:
        unscaled = [densify(cell, step) for cell in unscaled]
    return [shapely.intersection(cell, parent) for cell in unscaled]


def lloyd_relax(
    parent: Polygon, seeds: FloatArray, pinned: BoolArray, steps: int = LLOYD_STEPS
) -> FloatArray:
    """Move each free seed to the centroid of its clipped cell, ``steps`` times.

    Pinned seeds stay where they are (they anchor named places). A centroid
    that falls outside a concave parent is replaced by a point on the cell's
    surface, so every seed stays inside the parent.
    """
    seeds = seeds.copy()
    for _ in range(steps):
        cells = np.array(voronoi_clip(parent, seeds), dtype=object)
        centres = shapely.centroid(cells)
        inside = shapely.contains(parent, centres)
        centres = np.where(inside, centres, shapely.point_on_surface(cells))
        moved = shapely.get_coordinates(centres)
        seeds = np.where(pinned[:, None], seeds, moved)
    return seeds


def _shared_border(part: Polygon, group: list[Polygon]) -> float:
    """Length of ``part``'s boundary that runs along the pieces of ``group``."""
    near = shapely.union_all([shapely.buffer(p, _EDGE_TOLERANCE) for p in group])
    return float(shapely.length(shapely.intersection(part.boundary, near)))


def _best_group(part: Polygon, groups: list[list[Polygon]]) -> int | None:
    """Index of the group sharing the longest border with ``part``, if any."""
    borders = [_shared_border(part, g) for g in groups]
    best = int(np.argmax(borders))
    return best if borders[best] > _MIN_BORDER else None


def merge_fragments(pieces: list[BaseGeometry]) -> list[Polygon]:
    """Turn clipped cells into single polygons without changing their union.

    Each child keeps its largest part; every other part joins the child it
    shares the longest border with. A fragment that touches only other
    unplaced fragments waits for a later round.

    Raises
    ------
    SampleBuildError
        If a fragment borders nothing placed, or a child ends up multi-part.
    """
    groups: list[list[Polygon]] = []
    pending: list[Polygon] = []
    for piece in pieces:
        parts = sorted(polygon_parts(piece), key=lambda p: -p.area)
        groups.append(parts[:1])
        pending.extend(parts[1:])
    while pending:
        waiting = []
        for part in pending:
            target = _best_group(part, groups)
            if target is None:
                waiting.append(part)
            else:
                groups[target].append(part)
        if len(waiting) == len(pending):
            raise SampleBuildError(
                tr("{count} fragment(s) share no border with any child", count=len(waiting))
            )
        pending = waiting
    return [_single_polygon(shapely.union_all(g)) for g in groups]


def _single_polygon(geometry: BaseGeometry) -> Polygon:
    if not isinstance(geometry, Polygon):
        raise SampleBuildError(
            tr("a child is a {geom_type}, not one polygon", geom_type=geometry.geom_type)
        )
    return geometry


def partition(
    parent: Polygon,
    count: int,
    rng: np.random.Generator,
    anchors: FloatArray | None = None,
) -> list[Polygon]:
    """Split ``parent`` into ``count`` children that tile it.

    Parameters
    ----------
    parent
        The polygon to split (lon/lat).
    count
        Number of children.
    rng
        Source of the free seeds' starting points.
    anchors
        Optional (m, 2) lon/lat seeds that stay fixed; child ``i`` for
        ``i < m`` is the one grown from anchor ``i``.

    Returns
    -------
    list of shapely.Polygon
        Children in seed order (anchored first).
    """
    fixed = np.empty((0, 2)) if anchors is None else np.asarray(anchors, dtype=float)
    free = random_points_in(parent, count - len(fixed), rng)
    seeds = np.concatenate([fixed, free])
    pinned = np.arange(count) < len(fixed)
    seeds = lloyd_relax(parent, seeds, pinned)
    return merge_fragments(voronoi_clip(parent, seeds, DENSIFY_STEP))
