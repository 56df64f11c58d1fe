"""Import and publish at city scale: ``gridgeo import --commit`` then ``gridgeo publish``.

Run with ``make bench`` (or ``.venv/bin/python benchmarks/bench_import.py``). The seeded
20,000-grid tessellation (22,852 features over five levels) is written to a GeoPackage;
each store (SpatiaLite in a new file, PostGIS in a new database) gets
``gridgeo import FILE --commit`` and ``gridgeo publish 1`` as new processes, timed
from start to exit (reading the file, validating, writing, the audit and the NOTIFY
included). Target (issue: cold paths): import and publish within 60 s on each store.
"""

from __future__ import annotations

import argparse
import datetime as dt
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from bench_api import create_pg_database, drop_pg_database, machine

from gridgeo.io.writers import write_grids
from gridgeo.sample.tessellation import nested_tessellation

GRIDGEO = Path(sys.executable).with_name("gridgeo")


def timed(*args: str, url: str) -> float:
    start = time.perf_counter()
    done = subprocess.run(
        [str(GRIDGEO), *args, "--database-url", url, "--actor", "bench"],
        capture_output=True,
        text=True,
        check=False,
    )
    seconds = time.perf_counter() - start
    if done.returncode != 0:
        raise SystemExit(f"gridgeo {' '.join(args)} exited {done.returncode}: {done.stderr}")
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--grids", type=int, default=20_000)
    args = parser.parse_args()
    grids = nested_tessellation(args.grids, 1)
    print(f"# import and publish, {machine()}, {dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC")
    print("| store | features | `gridgeo import --commit` | `gridgeo publish` | total |")
    print("|---|---|---|---|---|")
    with tempfile.TemporaryDirectory() as tmp:
        path = write_grids(grids, Path(tmp) / "city.gpkg")
        name, pg_url = create_pg_database()
        try:
            for label, url in (
                ("SpatiaLite", f"sqlite:///{tmp}/store.sqlite"),
                ("PostGIS", pg_url),
            ):
                imported = timed("import", str(path), "--commit", url=url)
                published = timed("publish", "1", url=url)
                print(
                    f"| {label} | {len(grids):,} | {imported:.1f} s | {published:.1f} s "
                    f"| {imported + published:.1f} s |",
                    flush=True,
                )
        finally:
            drop_pg_database(name)


if __name__ == "__main__":
    main()
