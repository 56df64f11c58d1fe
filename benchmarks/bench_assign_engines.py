"""``gridgeo assign`` end to end against DuckDB with its spatial extension, on the same
files in the same run (issue 16's batch target).

The 20,000-grid nested tessellation (22,852 features over five levels) is written to a
GeoPackage, and a CSV of N points in its bounds (1 % bad: text, empty, NaN, out of
range). Each engine runs as a new process, timed start to exit, CSV in, Parquet out:

- ``gridgeo assign points.csv -o out.parquet --boundaries city.gpkg``, after one
  warm-up run that built the boundaries' index file (the target is "with a built
  index"); the output has the five levels' codes, the workstation and a status;
- DuckDB 1.5 + spatial (``duckdb-extension-spatial`` from PyPI, in its own venv,
  ``--duckdb-python``): the fifth-level grids read with ``ST_Read``, the CSV read as
  text, ``LEFT JOIN ... ON ST_Contains(grid, ST_Point(lon, lat))`` (its spatial join
  operator), written with ``COPY ... TO 'out.parquet'``; the leaf's code only.

Both outputs are compared point by point (the leaf code of every row).
"""

from __future__ import annotations

import argparse
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq

GRIDGEO = Path(sys.executable).with_name("gridgeo")

DUCKDB_SCRIPT = """
import pathlib, sys
import duckdb, duckdb_extension_spatial
grids, points, out = sys.argv[1:4]
ext = next(pathlib.Path(duckdb_extension_spatial.__file__).parent.rglob("*.duckdb_extension"))
con = duckdb.connect(config={"allow_unsigned_extensions": "true"})
con.sql(f"LOAD '{ext}'")
con.sql(f"CREATE TABLE grid AS SELECT code, geom FROM ST_Read('{grids}', layer='level5_grid')")
con.sql(f'''
COPY (
  SELECT p.*, grid.code AS code_l5
  FROM (SELECT *, TRY_CAST(lon AS DOUBLE) AS x, TRY_CAST(lat AS DOUBLE) AS y
        FROM read_csv('{points}', all_varchar = true)) AS p
  LEFT JOIN grid ON ST_Contains(grid.geom, ST_Point(p.x, p.y))
) TO '{out}' (FORMAT parquet)
''')
"""


def write_points(path: Path, rows: int, bounds: np.ndarray, seed: int = 1) -> None:
    rng = np.random.default_rng(seed)
    block = 1_000_000
    with path.open("w", encoding="utf-8") as fh:
        fh.write("id,lon,lat,note\n")
        for start in range(0, rows, block):
            n = min(block, rows - start)
            lon = rng.uniform(bounds[0], bounds[2], n).round(6).astype(str)
            lat = rng.uniform(bounds[1], bounds[3], n).round(6).astype(str)
            bad = rng.random(n) < 0.01
            lon[bad] = rng.choice(["abc", "", "nan", "200.5"], int(bad.sum()))
            ids = np.arange(start, start + n).astype(str)
            fh.write("\n".join(f"{i},{x},{y},r" for i, x, y in zip(ids, lon, lat, strict=True)))
            fh.write("\n")


def timed(command: list[str]) -> float:
    start = time.perf_counter()
    subprocess.run(command, check=True, capture_output=True)
    return time.perf_counter() - start


def leaf_codes(path: Path, column: str) -> dict[str, str | None]:
    table = pq.read_table(path, columns=["id", column]).to_pydict()
    return dict(zip(map(str, table["id"]), table[column], strict=True))  # int or text ids


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--grids", type=int, default=20_000)
    parser.add_argument("--rows", type=int, nargs="+", default=[1_000_000])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--duckdb-python", type=Path, default=Path(".bench-duckdb/bin/python"))
    args = parser.parse_args()

    from gridgeo.io.writers import write_grids
    from gridgeo.sample.tessellation import nested_tessellation

    print(f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, {platform.processor()}")
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        grids = nested_tessellation(args.grids, 1)
        city = write_grids(grids, tmp / "city.gpkg")
        bounds = grids.frame.total_bounds
        print("| rows | engine | median end to end | rows/s | ratio | leaf codes agreeing |")
        print("|---|---|---|---|---|---|")
        for rows in args.rows:
            points = tmp / f"points_{rows}.csv"
            write_points(points, rows, bounds)
            ours, theirs = tmp / "gridgeo.parquet", tmp / "duckdb.parquet"
            gridgeo = [str(GRIDGEO), "assign", str(points), "-o", str(ours), "--no-progress"]
            gridgeo += ["--boundaries", str(city)]
            duckdb = [str(args.duckdb_python), "-c", DUCKDB_SCRIPT, str(city), str(points)]
            duckdb.append(str(theirs))
            timed(gridgeo)  # builds the boundaries' index file once
            ours_s = sorted(timed(gridgeo) for _ in range(args.repeat))[args.repeat // 2]
            theirs_s = sorted(timed(duckdb) for _ in range(args.repeat))[args.repeat // 2]
            a, b = leaf_codes(ours, "code_l5"), leaf_codes(theirs, "code_l5")
            same = sum(a[k] == b.get(k) for k in a)
            for name, seconds in (("gridgeo assign", ours_s), ("DuckDB 1.5 spatial", theirs_s)):
                print(
                    f"| {rows:,} | {name} | {seconds:.2f} s | {rows / seconds / 1e6:.2f} M | "
                    f"{theirs_s / seconds:.2f}x | {same:,} of {len(a):,} |"
                )


if __name__ == "__main__":
    main()
