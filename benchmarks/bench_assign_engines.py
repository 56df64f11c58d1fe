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

With ``--store``, ``gridgeo assign points.csv -o out.parquet`` runs too, without
``--boundaries``: from an embedded store in which this code imported and published the
same grids (the default path of a user, who answers from the published version). With
``--compare REV`` the ``gridgeo assign`` of git revision REV runs beside them (the same
venv, REV's package first on ``PYTHONPATH``), from the files and from the store. Every
engine runs once untimed (the index file built, caches warm), then ``--repeat`` times;
the medians of wall and CPU time are printed. Every output is compared with this code's,
point by point (the leaf code of every row). With ``--stages``, the CPU per million rows
of each stage of this code's Arrow path follows (read, coordinates and types,
assignment, write), measured one stage at a time in this process: where the end-to-end
figures' CPU goes.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow.parquet as pq

sys.path.insert(0, str(Path(__file__).parent))
from bench_cases import worktree

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


def timed(command: list[str], env: dict[str, str] | None = None) -> tuple[float, float]:
    """Wall and CPU seconds (user + system, the child's) of one run."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    # in the folder of the code it runs: ``python -m`` puts the working folder first
    cwd = env["PYTHONPATH"] if env and "PYTHONPATH" in env else None
    subprocess.run(command, check=True, capture_output=True, env=env, cwd=cwd)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime
    return wall, cpu


def leaf_codes(path: Path, column: str) -> dict[str, str | None]:
    table = pq.read_table(path, columns=["id", column]).to_pydict()
    return dict(zip(map(str, table["id"]), table[column], strict=True))  # int or text ids


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--grids", type=int, default=20_000)
    parser.add_argument("--rows", type=int, nargs="+", default=[1_000_000])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--duckdb-python", type=Path, default=Path(".bench-duckdb/bin/python"))
    parser.add_argument(
        "--compare", default="", metavar="REV", help="also time gridgeo assign of git REV"
    )
    parser.add_argument(
        "--store",
        action="store_true",
        help="also time gridgeo assign from a store with the grids published (no --boundaries)",
    )
    parser.add_argument(
        "--stages",
        action="store_true",
        help="also print where this code's CPU goes per million rows, stage by stage",
    )
    args = parser.parse_args()

    from gridgeo.io.writers import write_grids
    from gridgeo.sample.tessellation import nested_tessellation

    print(f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, {platform.processor()}")
    with (
        tempfile.TemporaryDirectory() as tmp_name,
        worktree(args.compare) if args.compare else contextlib.nullcontext(None) as other,
    ):
        tmp = Path(tmp_name)
        grids = nested_tessellation(args.grids, 1)
        city = write_grids(grids, tmp / "city.gpkg")
        bounds = grids.frame.total_bounds
        print(
            "| rows | engine | median end to end | CPU (user + system) | rows/s "
            "| DuckDB's time over this | leaf codes agreeing with gridgeo |"
        )
        print("|---|---|---|---|---|---|---|")
        for rows in args.rows:
            points = tmp / f"points_{rows}.csv"
            write_points(points, rows, bounds)
            engines = _engines(args, city, points, tmp, other)
            times = {}
            for name, (command, env, _out) in engines.items():
                timed(command, env)  # gridgeo: builds the index file once; all: warm caches
                runs = sorted(timed(command, env) for _ in range(args.repeat))
                times[name] = runs[args.repeat // 2]
            ours = leaf_codes(engines["gridgeo assign"][2], "code_l5")
            duck = times["DuckDB 1.5 spatial"][0]
            for name, (wall, cpu) in times.items():
                codes = leaf_codes(engines[name][2], "code_l5")
                same = sum(ours[k] == codes.get(k) for k in ours)
                print(
                    f"| {rows:,} | {name} | {wall:.2f} s | {cpu:.2f} s | "
                    f"{rows / wall / 1e6:.2f} M | {duck / wall:.2f}x | {same:,} of {len(ours):,} |"
                )
        if args.stages:  # on a million rows of their own: every stage's output is held
            sample = tmp / "points_stages.csv"
            write_points(sample, 1_000_000, bounds)
            stages(city, sample, tmp)


def stages(city: Path, points: Path, tmp: Path, repeat: int = 5) -> None:
    """CPU seconds per million rows of each stage of ``gridgeo assign``'s Arrow path, in
    this process, one stage at a time (the least of ``repeat`` runs; the index loaded and
    the kernels compiled first): what the end-to-end figures spread over two cores."""
    from gridgeo.batch import ADDED_COLUMNS, assign_batch
    from gridgeo.cli.assign_stream import _boundaries
    from gridgeo.cli.main import build_parser
    from gridgeo.io.tables import CsvTypes, TableReader, TableWriter
    from gridgeo.number_text import BLANK, classify, numbers

    argv = ["assign", str(points), "--boundaries", str(city), "-o", str(tmp / "stages.parquet")]
    source = _boundaries(build_parser(argv).parse_args(argv))
    index, stations = source.index, source.stations
    reader = TableReader(points)
    lon, lat = reader.layout.lon_col, reader.layout.lat_col
    assign_batch(next(iter(reader.tables())), index, stations=stations)  # compiled, mapped

    def cpu(run: Any) -> tuple[float, Any]:
        best, out = float("inf"), None
        for _ in range(repeat):
            start = time.process_time()
            out = run()
            best = min(best, time.process_time() - start)
        return best, out

    def read_once() -> tuple[list[Any], dict[str, Any]]:
        seen, parsed = CsvTypes(reader.columns), []
        for chunk in chunks:
            read = {n: classify(chunk.column(n)) for n in (lon, lat)}
            seen.see(chunk, {n: bits for n, (bits, _) in read.items()})
            parsed.append(tuple((v, (bits & BLANK).astype(bool)) for bits, v in read.values()))
        return parsed, seen.types

    def write() -> None:
        with TableWriter(tmp / "stages.parquet", reader.layout, types=types,
                         unsorted=ADDED_COLUMNS) as out:  # fmt: skip
            for table, ((x, _), (y, _)) in zip(done, parsed, strict=True):
                out.write_table(table, (x, y))

    read_s, chunks = cpu(lambda: list(reader.tables()))
    rows = sum(c.num_rows for c in chunks)
    parse_s, (parsed, types) = cpu(read_once)
    points_xy = [(numbers(c.column(lon))[0], numbers(c.column(lat))[0]) for c in chunks]
    lookup_s, _ = cpu(lambda: [index.assign(x, y, crs="cgcs2000") for x, y in points_xy])
    assign_s, done = cpu(
        lambda: [
            assign_batch(c, index, stations=stations, coordinates=k, dictionary=True)
            for c, k in zip(chunks, parsed, strict=True)
        ]
    )
    write_s, _ = cpu(write)
    per_million = 1e6 / rows
    print(f"\nCPU per million rows ({rows:,} rows), stage by stage:")
    for name, seconds in (
        ("CSV read (Arrow)", read_s),
        ("coordinates and column types (one read of the text)", parse_s),
        ("assignment (lookup, code columns, statuses)", assign_s),
        ("  of which the lookup (index.assign)", lookup_s),
        ("Parquet write (types, points, encoding)", write_s),
    ):
        print(f"- {name}: {seconds * per_million:.3f} s")
    print()


def _engines(
    args: argparse.Namespace, city: Path, points: Path, tmp: Path, other: Path | None
) -> dict[str, tuple[list[str], dict[str, str] | None, Path]]:
    """Each engine's command, environment and output."""
    engines: dict[str, tuple[list[str], dict[str, str] | None, Path]] = {}
    gridgeo = ["assign", str(points), "--no-progress", "--boundaries", str(city), "-o"]
    ours = tmp / "gridgeo.parquet"
    engines["gridgeo assign"] = ([str(GRIDGEO), *gridgeo, str(ours)], None, ours)
    if other is not None:  # the same venv, the other revision's package first on the path
        theirs = tmp / "previous.parquet"
        env = os.environ | {"PYTHONPATH": str(other)}
        command = [sys.executable, "-m", "gridgeo.cli.main", *gridgeo, str(theirs)]
        engines[f"gridgeo assign, {args.compare}"] = (command, env, theirs)
    if args.store:  # the default path: the store's published version, no --boundaries
        store = _published_store(city, tmp)
        plain = ["assign", str(points), "--no-progress", "-o"]
        ours = tmp / "gridgeo_store.parquet"
        engines["gridgeo assign, store"] = ([str(GRIDGEO), *plain, str(ours)], store, ours)
        if other is not None:
            theirs = tmp / "previous_store.parquet"
            command = [sys.executable, "-m", "gridgeo.cli.main", *plain, str(theirs)]
            engines[f"gridgeo assign, store, {args.compare}"] = (
                command,
                store | {"PYTHONPATH": str(other)},
                theirs,
            )
    duck = tmp / "duckdb.parquet"
    command = [str(args.duckdb_python), "-c", DUCKDB_SCRIPT, str(city), str(points), str(duck)]
    engines["DuckDB 1.5 spatial"] = (command, None, duck)
    return engines


def _published_store(city: Path, tmp: Path) -> dict[str, str]:
    """An embedded store in ``tmp`` with ``city`` imported and published (by this code,
    once): the environment that points ``gridgeo`` at it."""
    env = os.environ | {
        "GRIDGEO_HOME": str(tmp / "store"),
        "GRIDGEO_INDEX_DIR": str(tmp / "store" / "index"),
        "GRIDGEO_SEED_SAMPLE": "false",
    }
    if not (tmp / "store").exists():
        for step in (["import", str(city), "--commit"], ["publish", "1"]):
            subprocess.run([str(GRIDGEO), *step], check=True, capture_output=True, env=env)
    return env


if __name__ == "__main__":
    main()
