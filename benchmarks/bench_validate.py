"""Validation at city scale: ``gridgeo validate`` against the plain per-parent GEOS overlay.

Run with ``make bench`` (or ``.venv/bin/python benchmarks/bench_validate.py --sizes 20000``).
For each size a seeded five-level city is cut top down (:mod:`gridgeo.sample.cut`:
Voronoi cuts, vertices along the children's edges, 1e-12 degree noise) and written
to a GeoPackage. Then, in the same run:

* ``gridgeo validate city.gpkg`` as a new process: wall clock from start to exit,
  reading the file included (the cold path a planner meets);
* :func:`gridgeo.validation.validate` in process on the grid set already read;
* the plain overlay a user would write with shapely: per parent the difference of
  the parent and the union of its children, per child its difference with its
  parent, per pair of touching features of a level their intersection, each
  measured in the Gauss-Kruger zone and kept when above 1 m² (the validator's
  method up to 7f7e588). Its count of findings is printed: every one is false,
  since the city is clean.

Targets (issue: planners' path): a clean 20,000-grid city within 15 s and a
100,000-grid one within 90 s, with no finding.
"""

from __future__ import annotations

import argparse
import datetime as dt
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

import numpy as np
import shapely

sys.path.insert(0, str(Path(__file__).parent))
from bench_api import machine

from gridgeo.io.boundaries import read_boundaries
from gridgeo.io.writers import write_grids
from gridgeo.model import GridSet
from gridgeo.sample.cut import cut_hierarchy
from gridgeo.validation import validate

GRIDGEO = Path(sys.executable).with_name("gridgeo")


def plain_overlay(grids: GridSet) -> int:
    """Findings above 1 m² of the plain per-parent overlay, measured in Gauss-Kruger metres."""
    geoms, parents, levels = grids.geometries, grids.parent_positions, grids.levels
    frame = grids.metric
    pieces: list[object] = []
    families: dict[int, list[int]] = defaultdict(list)
    for i, p in enumerate(parents.tolist()):
        if p >= 0:
            families[p].append(i)
            pieces.extend(shapely.get_parts(shapely.difference(geoms[i], geoms[p])))
    for p, children in families.items():
        gap = shapely.difference(geoms[p], shapely.union_all(geoms[children]))
        pieces.extend(shapely.get_parts(gap))
    for level in np.unique(levels):
        at = np.flatnonzero(levels == level)
        left, right = shapely.STRtree(geoms[at]).query(geoms[at], predicate="intersects")
        for a, b in zip(left.tolist(), right.tolist(), strict=True):
            if a < b:
                shared = shapely.intersection(geoms[at[a]], geoms[at[b]])
                pieces.extend(shapely.get_parts(shared))
    polygons = [g for g in pieces if g.geom_type == "Polygon"]
    return int((frame.area(np.array(polygons, dtype=object)) > 1.0).sum())


def run(n: int, seed: int) -> dict[str, float]:
    grids = cut_hierarchy(n, seed)
    with tempfile.TemporaryDirectory() as tmp:
        path = write_grids(grids, Path(tmp) / "city.gpkg")
        start = time.perf_counter()
        done = subprocess.run(
            [str(GRIDGEO), "validate", str(path), "--format", "json", "-o", f"{tmp}/r.json"],
            check=False,
            capture_output=True,
        )
        cli = time.perf_counter() - start
        if done.returncode != 0:
            raise SystemExit(f"gridgeo validate exited {done.returncode}: {done.stderr[-500:]!r}")
        read = read_boundaries([path])
    start = time.perf_counter()
    report = validate(read)
    inproc = time.perf_counter() - start
    start = time.perf_counter()
    false_findings = plain_overlay(read)
    plain = time.perf_counter() - start
    return {
        "grids": len(read),
        "cli": cli,
        "validate": inproc,
        "errors": len(report.errors),
        "plain": plain,
        "plain_findings": false_findings,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[20_000, 100_000])
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    print(f"# validation, {machine()}, {dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC")
    print(
        "| grids (all levels) | gridgeo validate (CLI, file read included) | validate() "
        "| errors | plain per-parent overlay | its findings (all false) | plain / validate() |"
    )
    print("|---|---|---|---|---|---|---|")
    for n in args.sizes:
        r = run(n, args.seed)
        print(
            f"| {r['grids']:,} | {r['cli']:.1f} s | {r['validate']:.1f} s | {r['errors']} "
            f"| {r['plain']:.1f} s | {r['plain_findings']:,} | {r['plain'] / r['validate']:.1f}x |",
            flush=True,
        )


if __name__ == "__main__":
    main()
