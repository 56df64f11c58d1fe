"""Seeded nested tessellations of any size, for benchmarks and large tests.

Leaves are Voronoi cells of random seeds clipped to a box near Guilin; each
higher level is the exact union of the level below, grouped by the nearest of
fewer seeds, so the five levels nest without gaps or overlaps. Codes follow
the scheme (district 4503xx, then 3-digit street, community and grid numbers).
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import shapely
from shapely.geometry import box

from gridgeo.model import GridSet

CITY_CODE = "450300"
BOX = (110.0, 25.0, 110.6, 25.5)
# children per parent at each level below the city: districts, streets, communities, grids
FANOUT = (8, 8, 8)


def nested_tessellation(n_grids: int, seed: int = 0) -> GridSet:
    """A five-level grid set with about ``n_grids`` fifth-level grids.

    Parameters
    ----------
    n_grids
        Number of leaf grids (Voronoi cells).
    seed
        Seed of the numpy generator: the same seed gives the same tessellation.
    """
    rng = np.random.default_rng(seed)
    area = box(*BOX)
    seeds = _seeds(rng, n_grids)
    cells = shapely.voronoi_polygons(shapely.multipoints(seeds), extend_to=area)
    leaves = shapely.intersection(np.asarray(shapely.get_parts(cells)), area)
    # voronoi output order differs from the seeds: match each cell to its seed
    tree = shapely.STRtree(leaves)
    seed_of_cell = np.empty(len(leaves), dtype=np.intp)
    cell_idx, seed_idx = tree.query(shapely.points(seeds), predicate="intersects")[::-1]
    seed_of_cell[seed_idx] = cell_idx
    leaves = leaves[seed_of_cell]  # leaf k is the cell of seed k
    groups = _group_chain(rng, seeds)
    return _assemble(leaves, groups)


def _seeds(rng: np.random.Generator, n: int) -> npt.NDArray[np.float64]:
    x = rng.uniform(BOX[0], BOX[2], n)
    y = rng.uniform(BOX[1], BOX[3], n)
    return np.column_stack([x, y])


def _group_chain(
    rng: np.random.Generator, seeds: npt.NDArray[np.float64]
) -> list[npt.NDArray[np.intp]]:
    """Parent index of each unit at community, street and district level (bottom up).

    Districts are capped at 99: district codes 450301-450399 are all one city has.
    """
    groups = []
    points = seeds
    for level, fanout in enumerate((FANOUT[2], FANOUT[1], FANOUT[0])):
        k = max(1, len(points) // fanout)
        if level == 2:
            k = min(k, 99)
        centres = points[rng.choice(len(points), size=k, replace=False)]
        tree = shapely.STRtree(np.asarray(shapely.points(centres), dtype=object))
        nearest = tree.query_nearest(shapely.points(points), all_matches=False)[1]
        groups.append(nearest)
        sizes = np.bincount(nearest, minlength=k)
        points = (
            np.column_stack(
                [np.bincount(nearest, points[:, 0], k), np.bincount(nearest, points[:, 1], k)]
            )
            / sizes[:, None]
        )
    return groups


def _assemble(leaves: npt.NDArray[np.object_], groups: list[npt.NDArray[np.intp]]) -> GridSet:
    community_of = groups[0]
    street_of = groups[1][community_of]
    district_of = groups[2][street_of]
    codes: list[str] = []
    geoms: list[object] = []
    names: list[str] = []
    codes.append(CITY_CODE)
    geoms.append(shapely.coverage_union_all(leaves))
    names.append("城市")
    leaf_codes = np.empty(len(leaves), dtype=object)
    for d in np.unique(district_of):
        d_code = f"4503{int(d) + 1:02d}"
        in_d = district_of == d
        _add(codes, geoms, names, code=d_code, parts=leaves[in_d], kind="区")
        for s_num, s in enumerate(np.unique(street_of[in_d]), start=1):
            s_code = f"{d_code}{s_num:03d}"
            in_s = street_of == s
            _add(codes, geoms, names, code=s_code, parts=leaves[in_s], kind="街道")
            for c_num, c in enumerate(np.unique(community_of[in_s]), start=1):
                c_code = f"{s_code}{c_num:03d}"
                in_c = np.flatnonzero(community_of == c)
                _add(codes, geoms, names, code=c_code, parts=leaves[in_c], kind="社区")
                for g_num, leaf in enumerate(in_c, start=1):
                    leaf_codes[leaf] = f"{c_code}{g_num:03d}"
    codes.extend(leaf_codes.tolist())
    geoms.extend(leaves.tolist())
    names.extend(f"网格{c}" for c in leaf_codes)
    return GridSet.from_records(codes, geoms, names=names)


def _add(
    codes: list[str],
    geoms: list[object],
    names: list[str],
    *,
    code: str,
    parts: npt.NDArray[np.object_],
    kind: str,
) -> None:
    codes.append(code)
    geoms.append(shapely.coverage_union_all(parts))
    names.append(f"{kind}{code}")
