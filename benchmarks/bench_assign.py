"""Benchmark of batch assignment: GridIndex against shapely, geopandas and PostGIS.

Run with ``make bench`` (or ``python benchmarks/bench_assign.py --sizes 5000 20000``).
For each seeded nested tessellation it prints, from one run on the same 1 M
random points: points/s of every method with the ratio to shapely's STRtree
bulk query, the number of disagreements with that GEOS reference (tie rule:
smallest code), index build time and peak memory (measured in a fresh
process), and the latency of one point from Python.
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import os
import platform
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import numpy.typing as npt
import shapely

from gridgeo.index import GridIndex
from gridgeo.index.index_file import save_index
from gridgeo.model import GridSet
from gridgeo.sample.tessellation import nested_tessellation

Owners = npt.NDArray[np.int64]
Method = Callable[[npt.NDArray[np.float64], npt.NDArray[np.float64]], Owners]


def _status_mb(field: str) -> float:
    with open("/proc/self/status", encoding="ascii") as fh:
        for line in fh:
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024
    return float("nan")


def _build_in_child(n: int, seed: int, queue: Any) -> None:
    grids = nested_tessellation(n, seed)
    with open("/proc/self/clear_refs", "w", encoding="ascii") as fh:
        fh.write("5")  # reset the peak-RSS mark (VmHWM) so it measures the build alone
    before = _status_mb("VmRSS")
    start = time.perf_counter()
    index = GridIndex(grids)
    seconds = time.perf_counter() - start
    queue.put((seconds, _status_mb("VmHWM") - before, index.stats))


def measure_build(n: int, seed: int) -> tuple[float, float, dict[str, int]]:
    """Build time and peak-RSS growth of GridIndex in a fresh process (numba cache warm)."""
    ctx = mp.get_context("spawn")
    queue = ctx.Queue()
    proc = ctx.Process(target=_build_in_child, args=(n, seed, queue))
    proc.start()
    result: tuple[float, float, dict[str, int]] = queue.get()
    proc.join()
    return result


_LOAD_CHILD = """
import sys, time
start = time.perf_counter()
from gridgeo.index.index_file import load_index
imported = time.perf_counter()
index = load_index(sys.argv[1], sys.argv[2])
loaded = time.perf_counter()
index.assign([0.0], [0.0])  # first query: the kernels' compiled code loads from numba's cache
print(imported - start, loaded - imported, time.perf_counter() - loaded)
"""


def measure_load(index: GridIndex, folder: str) -> tuple[float, float, float, float]:
    """Save ``index``; then in a fresh process, the median of 3 of: import, load from
    the file, first query. Returns those and the file's size in MB."""
    path = save_index(index, Path(folder) / "bench.gidx", "bench")
    runs = []
    for _ in range(3):
        out = subprocess.run(
            [sys.executable, "-c", _LOAD_CHILD, str(path), "bench"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.split()
        runs.append([float(v) for v in out])
    imp, load, first = (float(np.median(col)) for col in zip(*runs, strict=True))
    return imp, load, first, path.stat().st_size / 1e6


def reference(leaves: GridSet) -> Method:
    """shapely STRtree bulk query (predicate intersects), ties to the smallest code."""
    tree = shapely.STRtree(leaves.geometries)
    rank = np.argsort(np.argsort(np.array(leaves.codes, dtype=str)))

    def run(x: npt.NDArray[np.float64], y: npt.NDArray[np.float64]) -> Owners:
        pts, idx = tree.query(shapely.points(x, y), predicate="intersects")
        order = np.lexsort((rank[idx], pts))
        first = np.r_[True, pts[order][1:] != pts[order][:-1]]
        out = np.full(x.size, -1, dtype=np.int64)
        out[pts[order][first]] = idx[order][first]
        return out

    return run


def sjoin(leaves: GridSet) -> Method:
    polys = gpd.GeoDataFrame({"code": leaves.codes}, geometry=list(leaves.geometries), crs=4490)

    def run(x: npt.NDArray[np.float64], y: npt.NDArray[np.float64]) -> Owners:
        pts = gpd.GeoDataFrame(geometry=gpd.points_from_xy(x, y), crs=4490)
        joined = gpd.sjoin(pts, polys, how="left", predicate="intersects")
        joined = joined.sort_values("code").groupby(level=0).head(1).sort_index()
        return joined["index_right"].fillna(-1).to_numpy(dtype=np.int64)

    return run


def postgis(leaves: GridSet) -> Method | str:
    """PostGIS join with a GiST index, or the reason it is unavailable."""
    try:
        import psycopg
    except ImportError:
        return "psycopg not installed"
    dsn = os.environ.get("GRIDGEO_BENCH_PG", "host=127.0.0.1 user=postgres dbname=postgres")
    try:
        conn = psycopg.connect(dsn, autocommit=True)
        conn.execute("CREATE EXTENSION IF NOT EXISTS postgis")
    except Exception as exc:
        return f"not reachable ({type(exc).__name__})"
    conn.execute("DROP TABLE IF EXISTS bench_grids; DROP TABLE IF EXISTS bench_pts")
    conn.execute("CREATE TABLE bench_grids (id int, code text, geom geometry(Geometry, 4490))")
    with conn.cursor().copy("COPY bench_grids (id, code, geom) FROM STDIN") as copy:
        for i, (code, geom) in enumerate(zip(leaves.codes, leaves.geometries, strict=True)):
            copy.write_row((i, code, f"SRID=4490;{geom.wkt}"))
    conn.execute("CREATE INDEX ON bench_grids USING gist (geom); ANALYZE bench_grids")

    def run(x: npt.NDArray[np.float64], y: npt.NDArray[np.float64]) -> Owners:
        conn.execute("DROP TABLE IF EXISTS bench_pts")
        conn.execute("CREATE UNLOGGED TABLE bench_pts (i int, x float8, y float8)")
        with conn.cursor().copy("COPY bench_pts (i, x, y) FROM STDIN") as copy:
            for i, (a, b) in enumerate(zip(x.tolist(), y.tolist(), strict=True)):
                copy.write_row((i, a, b))
        rows = conn.execute(
            "SELECT DISTINCT ON (p.i) p.i, g.id FROM bench_pts p JOIN bench_grids g "
            "ON ST_Intersects(g.geom, ST_SetSRID(ST_MakePoint(p.x, p.y), 4490)) "
            "ORDER BY p.i, g.code"
        ).fetchall()
        out = np.full(x.size, -1, dtype=np.int64)
        for i, gid in rows:
            out[i] = gid
        return out

    return run


def timed(
    fn: Method, x: npt.NDArray[np.float64], y: npt.NDArray[np.float64], repeat: int
) -> tuple[float, Owners]:
    best, result = float("inf"), None
    for _ in range(repeat):
        start = time.perf_counter()
        result = fn(x, y)
        best = min(best, time.perf_counter() - start)
    assert result is not None
    return best, result


def single_point_us(
    index: GridIndex, x: npt.NDArray[np.float64], y: npt.NDArray[np.float64]
) -> dict[str, float]:
    xs, ys = x[:20000].tolist(), y[:20000].tolist()
    tree = shapely.STRtree(index.leaves.geometries)
    start = time.perf_counter()
    for a, b in zip(xs, ys, strict=True):
        index.assign_one(a, b)
    ours = (time.perf_counter() - start) / len(xs) * 1e6
    start = time.perf_counter()
    for a, b in zip(xs[:5000], ys[:5000], strict=True):
        tree.query(shapely.Point(a, b), predicate="intersects")
    theirs = (time.perf_counter() - start) / 5000 * 1e6
    return {"gridgeo": ours, "strtree": theirs}


def run_size(n: int, points: int, repeat: int, with_postgis: bool) -> list[str]:
    build_s, build_mb, stats = measure_build(n, seed=n)
    grids = nested_tessellation(n, seed=n)
    index = GridIndex(grids)
    leaves = index.leaves
    # the index answers in owner positions (every grid, rank order); the references
    # answer in leaf positions: map owners to leaves (-1, the last entry, for none)
    leaf_of = np.full(index.n_owners + 1, -1, dtype=np.int64)
    owner_at = {int(p): i for i, p in enumerate(index.owner_positions)}
    for k, p in enumerate(index.leaf_positions):
        leaf_of[owner_at[int(p)]] = k
    b = shapely.total_bounds(leaves.geometries)
    rng = np.random.default_rng(n)
    x, y = rng.uniform(b[0], b[2], points), rng.uniform(b[1], b[3], points)
    ref_s, ref = timed(reference(leaves), x, y, 1)
    rows = [_row(n, "shapely STRtree bulk (reference)", points / ref_s, 1.0, 0)]
    methods: list[tuple[str, Method | str, int]] = [
        ("gridgeo GridIndex.assign", lambda a, c: leaf_of[index.assign(a, c)], repeat),
        ("geopandas.sjoin", sjoin(leaves), 1),
    ]
    if with_postgis:
        methods.append(("PostGIS ST_Intersects + GiST", postgis(leaves), 1))
    for label, fn, times in methods:
        if isinstance(fn, str):
            rows.append(f"| {n:,} | {label} | {fn} | | |")
            continue
        seconds, got = timed(fn, x, y, times)
        rate = points / seconds
        rows.append(_row(n, label, rate, rate / (points / ref_s), int((got != ref).sum())))
    lat = single_point_us(index, x, y)
    rows.append(
        f"| {n:,} | one point from Python | gridgeo {lat['gridgeo']:.1f} µs, "
        f"STRtree {lat['strtree']:.1f} µs | | |"
    )
    rows.append(
        f"| {n:,} | index build | {build_s:.2f} s, peak +{build_mb:.0f} MB RSS, "
        f"{stats['bytes'] / 1e6:.0f} MB index, {stats['cells']:,} cells "
        f"({stats['boundary_cells'] / stats['cells']:.0%} boundary) | | |"
    )
    with tempfile.TemporaryDirectory() as folder:
        imported, loaded, first, mb = measure_load(index, folder)
    rows.append(
        f"| {n:,} | index load from its file (fresh process) | {loaded:.2f} s "
        f"({mb:.0f} MB file; import {imported:.2f} s, first query {first:.2f} s) | "
        f"{build_s / loaded:.0f}x faster than building | |"
    )
    return rows


def _row(n: int, label: str, rate: float, ratio: float, disagreements: int) -> str:
    return f"| {n:,} | {label} | {rate / 1e6:.2f} M points/s | {ratio:.1f}x | {disagreements} |"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sizes", type=int, nargs="+", default=[5000, 20000, 100000])
    parser.add_argument("--points", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--no-postgis", action="store_true")
    args = parser.parse_args()
    print(
        f"# assignment benchmark, {time.strftime('%Y-%m-%d')}, {platform.machine()}, "
        f"{os.cpu_count()} cores, CPython {platform.python_version()}, "
        f"{args.points:,} uniform random points per tessellation\n"
    )
    print("| leaf grids | method | result | vs STRtree | disagreements |")
    print("|---|---|---|---|---|")
    GridIndex(nested_tessellation(200, seed=1))  # compile the numba kernels once
    for n in args.sizes:
        for row in run_size(n, args.points, args.repeat, not args.no_postgis):
            print(row, flush=True)


if __name__ == "__main__":
    main()
