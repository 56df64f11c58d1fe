"""Nested grid sets made the way planners make them: each level cut out of its parent.

:func:`gridgeo.sample.tessellation.nested_tessellation` builds parents as exact
unions of their children, so every vertex is shared. Real boundary layers are
made top down instead: a street is drawn, then cut into communities, then into
grids. That leaves T-junctions (a child's vertex lies on its parent's edge where
the parent has none), extra vertices along shared edges, and floating-point
noise once coordinates are written and read back. These are the data a
validator must pass without a single false finding; this module makes them,
seeded, at any size, for property tests and benchmarks.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import numpy.typing as npt
import shapely
from shapely.geometry import Polygon
from shapely.geometry.base import BaseGeometry

from gridgeo.model import GridSet

CITY_CODE = "450300"
# A city outline near Guilin, irregular so that cuts make T-junctions on slanted edges.
CITY_OUTLINE = Polygon(
    [
        (110.0, 25.0),
        (110.35, 24.98),
        (110.61, 25.07),
        (110.58, 25.49),
        (110.2, 25.52),
        (110.02, 25.3),
    ]
)
# children per parent: districts per city, streets per district, communities per street
FANOUT = (8, 8, 8)

Cutter = Callable[[BaseGeometry, int, np.random.Generator], list[BaseGeometry]]


def voronoi_cut(parent: BaseGeometry, k: int, rng: np.random.Generator) -> list[BaseGeometry]:
    """Cut ``parent`` into ``k`` Voronoi cells of random seeds inside it."""
    seeds = _points_inside(parent, k, rng)
    if len(seeds) < 2:
        return [parent]
    cells = shapely.voronoi_polygons(shapely.multipoints(seeds), extend_to=parent)
    pieces = shapely.intersection(np.asarray(shapely.get_parts(cells)), parent)
    return [p for p in pieces if not p.is_empty and p.area > 0]


def line_cut(parent: BaseGeometry, k: int, rng: np.random.Generator) -> list[BaseGeometry]:
    """Cut ``parent`` by ``k - 1`` random straight lines across it (pieces by the lines)."""
    pieces: list[BaseGeometry] = [parent]
    for _ in range(max(0, k - 1)):
        pieces.sort(key=lambda g: g.area)
        big = pieces.pop()
        x0, y0, x1, y1 = big.bounds
        cx, cy = rng.uniform(x0, x1), rng.uniform(y0, y1)
        angle = rng.uniform(0, np.pi)
        reach = 2 * max(x1 - x0, y1 - y0)
        dx, dy = np.cos(angle) * reach, np.sin(angle) * reach
        half = Polygon(
            [
                (cx - dx, cy - dy),
                (cx + dx, cy + dy),
                (cx + dx - dy, cy + dy + dx),
                (cx - dx - dy, cy - dy + dx),
            ]
        )
        one, other = big.intersection(half), big.difference(half)
        if one.area <= 0 or other.area <= 0:
            pieces.append(big)
            continue
        pieces.extend([one, other])
    return [p for p in pieces if p.area > 0]


def cut_hierarchy(
    n_grids: int,
    seed: int = 0,
    *,
    cutter: Cutter = voronoi_cut,
    fanout: tuple[int, int, int] = FANOUT,
    vertices_every: float | None = 0.002,
    jitter: float = 1e-12,
) -> GridSet:
    """A five-level grid set of about ``n_grids`` grids, each level cut from its parent.

    Parameters
    ----------
    n_grids
        About how many fifth-level grids to make.
    seed
        Seed of the numpy generator: the same arguments give the same grid set.
    cutter
        How a parent is cut into children: :func:`voronoi_cut` or :func:`line_cut`.
    fanout
        Districts per city, streets per district and communities per street.
    vertices_every
        Add vertices along every edge of the children at this spacing in degrees
        (``None``: none), as digitising does; the parent does not get them.
    jitter
        Move every vertex by up to this many degrees, by a function of the
        vertex (so rings stay closed and a vertex two siblings share moves alike),
        as written-and-read coordinates are moved.

    Returns
    -------
    GridSet
        City, districts, streets, communities and grids; the children of every
        parent cover it exactly up to the jitter.
    """
    rng = np.random.default_rng(seed)
    per_community = max(2, round(n_grids / (fanout[0] * fanout[1] * fanout[2])))
    fanouts = (*fanout, per_community)
    codes: list[str] = [CITY_CODE]
    geoms: list[BaseGeometry] = [CITY_OUTLINE]
    level_codes = [CITY_CODE]
    level_geoms: list[BaseGeometry] = [CITY_OUTLINE]
    for depth, count in enumerate(fanouts):
        next_codes: list[str] = []
        next_geoms: list[BaseGeometry] = []
        for code, parent in zip(level_codes, level_geoms, strict=True):
            children = cutter(parent, count, rng)
            if vertices_every:
                children = list(shapely.segmentize(np.asarray(children), vertices_every))
            for number, child in enumerate(children, start=1):
                next_codes.append(_child_code(code, depth, number))
                next_geoms.append(child)
        codes.extend(next_codes)
        geoms.extend(next_geoms)
        level_codes, level_geoms = next_codes, next_geoms
    arr = np.asarray(geoms, dtype=object)
    if jitter:
        arr = shapely.transform(arr, lambda xy: xy + _noise(xy, jitter, seed))
    return GridSet.from_records(codes, list(arr), names=[f"单元{c}" for c in codes])


def _noise(xy: npt.NDArray[np.float64], size: float, seed: int) -> npt.NDArray[np.float64]:
    # A function of the coordinate, not a draw per vertex: a ring stays closed
    # and a vertex two neighbours share moves the same way, as a file round trip would.
    phase = np.sin(xy @ np.array([[12.9898, 39.3468], [78.233, 11.135]]) * 1e3 + seed)
    return np.asarray(size * (2 * ((phase * 43758.5453) % 1.0) - 1), dtype=float)


def _child_code(parent: str, depth: int, number: int) -> str:
    if depth == 0:
        return f"4503{number:02d}"
    return f"{parent}{number:03d}"


def _points_inside(
    polygon: BaseGeometry, k: int, rng: np.random.Generator
) -> npt.NDArray[np.float64]:
    x0, y0, x1, y1 = polygon.bounds
    found: list[npt.NDArray[np.float64]] = []
    total = 0
    for _ in range(50):
        xy = np.column_stack([rng.uniform(x0, x1, 4 * k), rng.uniform(y0, y1, 4 * k)])
        inside = xy[shapely.contains_xy(polygon, xy[:, 0], xy[:, 1])]
        found.append(inside)
        total += len(inside)
        if total >= k:
            break
    return np.concatenate(found)[:k]
