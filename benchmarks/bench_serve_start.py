"""Cold paths of the service at city scale (issue 16): import and publish, start, first
lookup, first tiles and resident memory, gridgeo beside tipg on the same data.

The 20,000-grid nested tessellation (22,852 features over five levels) is written to a
GeoPackage, then:

- ``gridgeo import --commit`` + ``gridgeo publish`` into a fresh SpatiaLite store and a
  fresh PostGIS database, timed as new processes (the index file is built by publish);
- ``gridgeo serve`` on the SpatiaLite store: seconds until ``/health`` answers, the first
  ``/v1/lookup``, the first tile of each zoom (z14, then z12, z10, z8: each zoom's first),
  and the resident memory after them;
- (tile addresses: gridgeo follows OGC API Tiles, ``{tileMatrix}/{tileRow}/{tileCol}``,
  tipg TiTiler's ``{z}/{x}/{y}``; an empty tile stops the run, so that both time real tiles)
- tipg (``--tipg-python``: a venv with tipg and uvicorn from PyPI) on the same fifth-level
  grids copied into PostGIS with ``ogr2ogr``: seconds until it answers, its first tiles of
  the same zooms and its resident memory.
- after the first tiles, the rate of cold z14 tiles: a block of 12 x 12 tiles (a square
  beside the first one, inside the city, none asked before), fetched one after another;
  tiles per second. Then the same block again (every tile now in the server's cache,
  where it has one): the cached rate, the same way.

Medians of ``--repeat`` starts.
"""

from __future__ import annotations

import argparse
import math
import os
import subprocess
import sys
import tempfile
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from statistics import median

GRIDGEO = Path(sys.executable).with_name("gridgeo")
POINT = (110.3, 25.25)  # inside the tessellation (110-110.6, 25-25.5)
ZOOMS = (14, 12, 10, 8)
COLD_BLOCK = 12  # a 12 x 12 block of z14 tiles: 0.26 degrees square, inside the city
PG = "postgresql+psycopg://postgres@127.0.0.1:5432"


def tile_of(lon: float, lat: float, z: int) -> tuple[int, int]:
    n = 2**z
    x = int((lon + 180) / 360 * n)
    y = int((1 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2 * n)
    return x, y


def fetch(url: str, *, nonempty: bool = False) -> float:
    start = time.perf_counter()
    with urllib.request.urlopen(url, timeout=120) as answer:
        body = answer.read()
    if nonempty and not body:  # an empty tile times nothing but the lookup of emptiness
        raise RuntimeError(f"{url}: empty answer ({answer.status})")
    return time.perf_counter() - start


def wait_ready(url: str, proc: subprocess.Popen[bytes], started: float) -> float:
    while proc.poll() is None:
        try:
            fetch(url)
            return time.perf_counter() - started
        except OSError:
            time.sleep(0.02)
    raise RuntimeError(f"the server exited with {proc.returncode}")


def rss_mb(pid: int) -> int:
    status = Path(f"/proc/{pid}/status").read_text()
    return int(status.split("VmRSS:")[1].split()[0]) // 1024


@dataclass(frozen=True)
class Server:
    """How to start one server and what to ask it."""

    command: list[str]
    env: dict[str, str]
    ready: str  # the URL that answers once it is up
    tiles: str  # a tile URL template with {z}, {x}, {y}
    lookup: str | None = None  # a point lookup, where the server has one


def one_start(server: Server) -> dict[str, float]:
    started = time.perf_counter()
    proc = subprocess.Popen(
        server.command, env=server.env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        out = {"ready": wait_ready(server.ready, proc, started)}
        if server.lookup is not None:
            out["lookup"] = fetch(server.lookup)
        for z in ZOOMS:
            x, y = tile_of(*POINT, z)
            out[f"z{z}"] = fetch(server.tiles.format(z=z, x=x, y=y), nonempty=True)
        out["rss"] = rss_mb(proc.pid)
        out["cold"] = cold_rate(server)
        out["cached"] = cold_rate(server)  # the same block again
        return out
    finally:
        proc.terminate()
        proc.wait()


def cold_rate(server: Server) -> float:
    """z14 tiles per second over a block none of whose tiles was asked before (the first
    call; a second call asks the same block again)."""
    x0, y0 = tile_of(*POINT, 14)
    block = [
        (x0 + 1 + i, y0 - COLD_BLOCK // 2 + j) for i in range(COLD_BLOCK) for j in range(COLD_BLOCK)
    ]
    start = time.perf_counter()
    for x, y in block:
        fetch(server.tiles.format(z=14, x=x, y=y), nonempty=True)
    return len(block) / (time.perf_counter() - start)


def timed(command: list[str], env: dict[str, str]) -> float:
    start = time.perf_counter()
    subprocess.run(command, env=env, check=True, capture_output=True)
    return time.perf_counter() - start


def psql(sql: str, db: str = "postgres") -> None:
    subprocess.run(
        ["psql", "-q", "-h", "127.0.0.1", "-U", "postgres", "-d", db, "-c", sql],
        check=True,
        capture_output=True,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--grids", type=int, default=20_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--tipg-python", type=Path, default=Path(".bench-tipg/bin/python"))
    args = parser.parse_args()

    from gridgeo.io.writers import write_grids
    from gridgeo.sample.tessellation import nested_tessellation

    print(time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()))
    db = f"gridgeo_bench_start_{os.getpid()}"
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        city = write_grids(nested_tessellation(args.grids, 1), tmp / "city.gpkg")
        base_env = {**os.environ, "GRIDGEO_SEED_SAMPLE": "false", "GRIDGEO_LANG": "en"}
        stores = {"SpatiaLite": f"sqlite:///{tmp / 'store.sqlite'}", "PostGIS": f"{PG}/{db}"}
        psql(f"CREATE DATABASE {db}")
        try:
            psql("CREATE EXTENSION IF NOT EXISTS postgis", db)
            print("| store | import --commit | publish | total |\n|---|---|---|---|")
            for name, url in stores.items():
                env = {**base_env, "GRIDGEO_DATABASE_URL": url}
                imported = timed([str(GRIDGEO), "import", str(city), "--commit"], env)
                published = timed([str(GRIDGEO), "publish", "1"], env)
                total = imported + published
                print(f"| {name} | {imported:.1f} s | {published:.1f} s | {total:.1f} s |")
            serve_env = {**base_env, "GRIDGEO_DATABASE_URL": stores["SpatiaLite"]}
            ours = [
                one_start(
                    Server(
                        [str(GRIDGEO), "serve", "--port", "8771"],
                        serve_env,
                        ready="http://127.0.0.1:8771/health",
                        tiles="http://127.0.0.1:8771/collections/level5_grid/tiles/"
                        "WebMercatorQuad/{z}/{y}/{x}",
                        lookup=f"http://127.0.0.1:8771/v1/lookup?lon={POINT[0]}&lat={POINT[1]}",
                    )
                )
                for _ in range(args.repeat)
            ]
            theirs: list[dict[str, float]] = []
            if args.tipg_python.exists():
                pg = f"PG:host=127.0.0.1 user=postgres dbname={db}"
                subprocess.run(
                    ["ogr2ogr", "-f", "PostgreSQL", pg, str(city), "level5_grid", "-nln", "grid5"],
                    check=True,
                    capture_output=True,
                )
                tipg_env = {**os.environ, "DATABASE_URL": f"postgresql://postgres@127.0.0.1/{db}"}
                theirs = [
                    one_start(
                        Server(
                            [
                                str(args.tipg_python),
                                "-m",
                                "uvicorn",
                                "tipg.main:app",
                                "--port=8772",
                            ],
                            tipg_env,
                            ready="http://127.0.0.1:8772/collections",
                            tiles="http://127.0.0.1:8772/collections/public.grid5/tiles/"
                            "WebMercatorQuad/{z}/{x}/{y}",
                        )
                    )
                    for _ in range(args.repeat)
                ]
        finally:
            psql(f"DROP DATABASE IF EXISTS {db} WITH (FORCE)")
    zoom_heads = " | ".join(f"first z{z} tile" for z in ZOOMS)
    print(
        f"\n| server | ready | first lookup | {zoom_heads} | resident memory | cold z14 tiles/s "
        "| cached z14 tiles/s |"
    )
    print("|---|---|---|" + "---|" * len(ZOOMS) + "---|---|---|")
    for name, runs in (("gridgeo serve", ours), ("tipg", theirs)):
        if not runs:
            continue

        def med(key: str, runs: list[dict[str, float]] = runs) -> float:
            return median(r[key] for r in runs) if key in runs[0] else float("nan")

        lookup = f"{med('lookup') * 1000:.0f} ms" if "lookup" in runs[0] else "-"
        zooms = " | ".join(f"{med(f'z{z}'):.2f} s" for z in ZOOMS)
        print(
            f"| {name} | {med('ready'):.2f} s | {lookup} | {zooms} | {med('rss'):.0f} MB "
            f"| {med('cold'):.0f} | {med('cached'):.0f} |"
        )


if __name__ == "__main__":
    main()
