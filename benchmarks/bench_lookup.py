"""Benchmark of point lookup: gridgeo against the tools a user would reach for.

Run with ``make bench``. Prints one table; every row is measured in the same
run on the same points, so compare ratios, not absolute times (these machines
are small and noisy). Correctness is checked too: every method must give the
same owner as GEOS ``covers`` with the smallest-code tie rule.
"""

from __future__ import annotations

import argparse
import platform
import time
from collections.abc import Callable
from pathlib import Path

import geopandas as gpd
import numpy as np
import shapely

from gridgeo.io.boundaries import read_boundaries
from gridgeo.lookup import Locator
from gridgeo.model import GridSet

REPO = Path(__file__).resolve().parents[1]


def best_of(fn: Callable[[], object], repeat: int) -> float:
    """Best wall time of ``repeat`` runs (the least disturbed by other load)."""
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def leaf_set(grids: GridSet) -> GridSet:
    return grids.subset(np.flatnonzero(~grids.has_children()))


def random_points(grids: GridSet, n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    xmin, ymin, xmax, ymax = shapely.total_bounds(grids.geometries)
    rng = np.random.default_rng(seed)
    return rng.uniform(xmin, xmax, n), rng.uniform(ymin, ymax, n)


def strtree_owner(leaves: GridSet) -> Callable[[np.ndarray, np.ndarray], np.ndarray]:
    """Plain shapely: STRtree bulk query, ties to the smallest code."""
    geoms = leaves.geometries
    tree = shapely.STRtree(geoms)
    rank = np.argsort(np.argsort(np.array(leaves.codes, dtype=object)))

    def run(x: np.ndarray, y: np.ndarray) -> np.ndarray:
        pts, idx = tree.query(shapely.points(x, y), predicate="intersects")
        order = np.lexsort((rank[idx], pts))
        first = np.ones(order.size, dtype=bool)
        first[1:] = pts[order][1:] != pts[order][:-1]
        out = np.full(x.size, -1)
        out[pts[order][first]] = idx[order][first]
        return out

    return run


def sjoin_owner(leaves: GridSet) -> Callable[[np.ndarray, np.ndarray], np.ndarray]:
    """geopandas.sjoin (predicate intersects), ties to the smallest code."""
    polys = gpd.GeoDataFrame({"code": leaves.codes}, geometry=list(leaves.geometries), crs=4490)

    def run(x: np.ndarray, y: np.ndarray) -> np.ndarray:
        pts = gpd.GeoDataFrame(geometry=gpd.points_from_xy(x, y), crs=4490)
        joined = gpd.sjoin(pts, polys, how="left", predicate="intersects")
        joined = joined.sort_values("code").groupby(level=0).head(1).sort_index()
        out = joined["index_right"].fillna(-1).to_numpy(dtype=int)
        return out

    return run


def bench(name: str, grids: GridSet, n_points: int, repeat: int) -> list[str]:
    leaves = leaf_set(grids)
    locator = Locator(leaves)
    x, y = random_points(leaves, n_points, seed=1)
    methods = {
        "gridgeo Locator.locate": locator.locate,
        "shapely STRtree bulk": strtree_owner(leaves),
        "geopandas.sjoin": sjoin_owner(leaves),
    }
    reference = methods["shapely STRtree bulk"](x, y)
    rows = []
    base = None
    for label, fn in methods.items():
        got = fn(x, y)
        agree = bool(np.array_equal(got, reference))
        seconds = best_of(lambda fn=fn: fn(x, y), repeat)
        rate = n_points / seconds
        base = base or rate
        rows.append(
            f"| {name} | {len(leaves):,} | {label} | {rate / 1e6:.3f} M/s | "
            f"{rate / base:.2f} | {'yes' if agree else 'NO'} |"
        )
    single = (
        best_of(
            lambda: [
                locator.lookup(float(a), float(b), "cgcs2000")
                for a, b in zip(x[:2000], y[:2000], strict=True)
            ],
            repeat,
        )
        / 2000
    )
    rows.append(
        f"| {name} | {len(leaves):,} | gridgeo Locator.lookup, one point | "
        f"{single * 1e6:.1f} µs/point | | |"
    )
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--points", type=int, default=200_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    sample = read_boundaries([REPO / "data" / "sample" / "boundaries.gpkg"])
    print(
        f"# lookup benchmark, {time.strftime('%Y-%m-%d')}, {platform.machine()}, "
        f"{platform.python_implementation()} {platform.python_version()}, "
        f"{args.points:,} random points in the data's bounds, best of {args.repeat}\n"
    )
    print("| dataset | leaf grids | method | throughput | ratio to first | same owners |")
    print("|---|---|---|---|---|---|")
    for row in bench("sample pilot (秀峰区 + 16 districts)", sample, args.points, args.repeat):
        print(row)


if __name__ == "__main__":
    main()
