"""HTTP throughput of ``GET /v1/lookup`` against a no-op and a PostGIS-per-request lookup.

Run with ``make bench`` (or ``.venv/bin/python benchmarks/bench_api.py``). Serves
the app (store-backed: a fresh SQLite store seeded with the sample data) with
uvicorn on loopback, 1 and then 2 workers, and drives it with ``wrk`` (Debian
package ``wrk``) for each of three endpoints of the **same app and server**:

* ``/health/noop``: returns at once (the framework and server cost);
* ``/v1/lookup``: the real endpoint (chain, workstation, staff, partners);
* ``/bench/postgis_lookup``: the same question answered by PostGIS per request
  (``ST_Covers`` on the ``grids`` table of a PostGIS store, GiST index), a route
  only this benchmark adds;
* ``/tiles/level5_grid/{z}/{x}/{y}.mvt``: the vector tiles under the same points at
  zooms 14-16, fetched once before the timed runs (for the record: what a map client gets);
* ``/collections/level5_grid/items?bbox=...&limit=10``: an OGC API Features page of the
  fifth-level grids in a small box around each point (what QGIS asks while panning).

``--code DIR`` serves the gridgeo package found in DIR (a worktree of an older revision)
instead of this one, so that a warm path can be compared with the previous code's.

Every request uses a different point (a Lua script cycles through 1,000 points in
the pilot communities); the no-op gets the same query strings. Prints a Markdown
table (requests/s, p50, p99) for docs/BENCHMARKS.md and the two target ratios.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import math
import os
import platform
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid
from pathlib import Path
from typing import Annotated, Any

import numpy as np
import shapely
from fastapi import Query

REPO = Path(__file__).resolve().parents[1]
PG_ADMIN_URL = os.environ.get(
    "GRIDGEO_BENCH_PG_ADMIN_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)
ENDPOINTS = {
    "no-op": "/health/noop",
    "lookup": "/v1/lookup",
    "PostGIS per request": "/bench/postgis_lookup",
    "vector tile (cached)": "/tiles/level5_grid",
    "feature page": "/collections/level5_grid/items",
}
TILE = "vector tile (cached)"
TILE_ZOOMS = (14, 15, 16)

LUA = """
local paths = {%(paths)s}
local i = 0
request = function()
  i = i %% #paths + 1
  return wrk.format("GET", paths[i])
end
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format("RESULT %%d %%d %%d %%d %%d %%d %%d %%d %%d\\n",
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(99),
    e.connect, e.read, e.write, e.status, e.timeout))
end
"""


# --- the app wrk drives (imported by uvicorn in each worker) ------------------------------


def app_factory() -> Any:
    """The gridgeo app plus ``GET /bench/postgis_lookup`` (benchmark only).

    The extra route answers from a PostGIS store (``GRIDGEO_BENCH_PG_URL``,
    seeded with the same sample data) with one SQL query per request.
    """
    from sqlalchemy import text

    from gridgeo.api.app import create_app
    from gridgeo.coords import check_lonlat, parse_coord_system, to_cgcs2000
    from gridgeo.settings import Settings
    from gridgeo.store.core import Store
    from gridgeo.store.datasets import published_key

    settings = Settings()
    app = create_app(settings)
    pg = Store(os.environ["GRIDGEO_BENCH_PG_URL"])
    with pg.reading() as session:
        version = published_key(session).boundaries
    chain_sql = text(
        "SELECT code, name, level FROM grids WHERE version_id = :v AND "
        "ST_Covers(geom, ST_SetSRID(ST_MakePoint(:x, :y), 4490)) ORDER BY level DESC, code"
    )

    @app.get("/bench/postgis_lookup", include_in_schema=False)
    def postgis_lookup(  # a plain def: the query blocks, so it runs in the thread pool
        lon: Annotated[float, Query()], lat: Annotated[float, Query()], crs: str = "wgs84"
    ) -> dict[str, Any]:
        x, y = check_lonlat(lon, lat)
        cx, cy = to_cgcs2000(x, y, parse_coord_system(crs))
        with pg.engine.connect() as conn:
            rows = conn.execute(chain_sql, {"v": version, "x": float(cx), "y": float(cy)}).all()
        return {
            "point": {"lon": float(cx), "lat": float(cy)},
            "version": version,
            "grids": [{"code": r[0], "name": r[1], "level": r[2]} for r in rows],
        }

    return app


# --- driving it ---------------------------------------------------------------------------


def sample_points(n: int, seed: int) -> list[tuple[float, float]]:
    """Random points in the pilot communities (full chains, staff at every level)."""
    import gridgeo

    grids = gridgeo.load().grids
    communities = grids.geometries[grids.levels == 4]
    area = shapely.union_all(communities)
    shapely.prepare(area)
    xmin, ymin, xmax, ymax = shapely.total_bounds(communities)
    rng = np.random.default_rng(seed)
    out: list[tuple[float, float]] = []
    while len(out) < n:
        x, y = rng.uniform(xmin, xmax, 4 * n), rng.uniform(ymin, ymax, 4 * n)
        inside = shapely.contains_xy(area, x, y)
        out += [(round(a, 6), round(b, 6)) for a, b in zip(x[inside], y[inside], strict=True)]
    return out[:n]


def tile_paths(prefix: str, points: list[tuple[float, float]]) -> list[str]:
    """The distinct tiles under ``points`` at TILE_ZOOMS (XYZ numbering)."""
    out: dict[str, None] = {}
    for z in TILE_ZOOMS:
        n = 2**z
        for lon, lat in points:
            x = int((lon + 180) / 360 * n)
            y = int((1 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2 * n)
            out[f"{prefix}/{z}/{x}/{y}.mvt"] = None
    return list(out)


def lua_script(name: str, points: list[tuple[float, float]], folder: Path) -> Path:
    path = ENDPOINTS[name]
    if name == TILE:
        paths = ",".join(f'"{p}"' for p in tile_paths(path, points))
    elif name == PAGE:
        paths = ",".join(
            f'"{path}?bbox={x - 0.001:.6f},{y - 0.001:.6f},{x + 0.001:.6f},{y + 0.001:.6f}'
            f'&limit=10"'
            for x, y in points
        )
    else:
        paths = ",".join(f'"{path}?lon={x}&lat={y}"' for x, y in points)
    script = folder / f"{path.strip('/').replace('/', '_')}.lua"
    script.write_text(LUA % {"paths": paths})
    return script


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def wait_ready(url: str, proc: subprocess.Popen[bytes], seconds: float = 120) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"uvicorn exited with {proc.returncode}")
        try:
            with urllib.request.urlopen(url, timeout=2) as r:
                if r.status == 200:
                    return
        except OSError:
            time.sleep(0.3)
    raise RuntimeError(f"{url} did not answer within {seconds} s")


def steal_ticks() -> tuple[int, int]:
    """(steal, all) CPU ticks of the machine so far (/proc/stat): the share of CPU time
    the hypervisor gave to other guests, the main source of noise on these VMs."""
    fields = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    return (fields[7] if len(fields) > 7 else 0), sum(fields)


def run_wrk(
    url: str,
    script: Path,
    seconds: int,
    connections: int,
    threads: int,
    *,
    cpus: str | None = None,
) -> dict[str, Any]:
    cmd = ["wrk", f"-t{threads}", f"-c{connections}", f"-d{seconds}s", "-s", str(script), url]
    if cpus:
        cmd = ["taskset", "-c", cpus, *cmd]
    steal0, all0 = steal_ticks()
    out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
    steal1, all1 = steal_ticks()
    match = re.search(r"RESULT ((?:\d+ ?){9})", out)
    if not match:
        raise RuntimeError(f"no result from wrk:\n{out}")
    reqs, micros, p50, p99, *errors = (int(v) for v in match.group(1).split())
    return {
        "rps": reqs / (micros / 1e6),
        "p50_ms": p50 / 1000,
        "p99_ms": p99 / 1000,
        "requests": reqs,
        "errors": sum(errors),
        "steal": (steal1 - steal0) / max(all1 - all0, 1),
    }


def serve(
    workers: int, port: int, env: dict[str, str], cpus: str | None = None
) -> subprocess.Popen[bytes]:
    cmd = [
        sys.executable, "-m", "uvicorn", "bench_api:app_factory", "--factory",
        "--host", "127.0.0.1", "--port", str(port), "--workers", str(workers),
        "--no-access-log", "--log-level", "warning",
    ]  # fmt: skip
    if cpus:
        cmd = ["taskset", "-c", cpus, *cmd]
    return subprocess.Popen(cmd, env=env, cwd=Path(__file__).parent)


PG = "PostGIS per request"
PAGE = "feature page"


def round_plan(rounds: int) -> list[tuple[int, str]]:
    """(round, endpoint) in run order. Each round runs the no-op and the lookup back to
    back, swapping which goes first every round, then PostGIS and the cached tiles. So
    PostgreSQL's after-work (and any other disturbance) falls as often on a no-op as on
    a lookup, and every ratio compares runs a few seconds apart: the CPU time that the
    hypervisor steals drifts over minutes (see the steal column)."""
    plan = []
    for rnd in range(rounds):
        pair = ["no-op", "lookup"] if rnd % 2 == 0 else ["lookup", "no-op"]
        plan += [(rnd, name) for name in (*pair, PG, TILE, PAGE)]
    return plan


def cpu_split(workers: int) -> tuple[str | None, str | None]:
    """CPUs for the server and for wrk: the workers get the first ``workers`` CPUs and wrk
    the rest, so the load generator does not take the server's CPU time. None (no
    pinning) when there are not more CPUs than workers or taskset is missing."""
    n = os.cpu_count() or 1
    if workers >= n or shutil.which("taskset") is None:
        return None, None
    return f"0-{workers - 1}", f"{workers}-{n - 1}"


def median(values: list[float]) -> float:
    return float(np.median(values))


def check_answers(base: str, points: list[tuple[float, float]]) -> None:
    """The lookup and the PostGIS route name the same grids for the same points."""
    for x, y in points[:50]:
        q = f"?lon={x}&lat={y}"
        with urllib.request.urlopen(base + ENDPOINTS["lookup"] + q) as r:
            ours = [g["code"] for g in json.load(r)["grids"]]
        with urllib.request.urlopen(base + ENDPOINTS["PostGIS per request"] + q) as r:
            theirs = [g["code"] for g in json.load(r)["grids"]]
        if ours != theirs:
            raise SystemExit(f"disagreement at {x},{y}: lookup {ours}, PostGIS {theirs}")


def warm_tiles(base: str, paths: list[str], workers: int) -> None:
    """Fetch every tile (a few times over with several workers, each with its own cache),
    one after the other: the layer builds and encodings are over before the timed runs
    (a wrk warm-up leaves them running in the thread pool when it stops)."""
    for path in paths * (2 * workers):
        with urllib.request.urlopen(base + path, timeout=120) as r:
            r.read()


def machine() -> str:
    model = "unknown CPU"
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            model = line.split(":", 1)[1].strip()
            break
    return f"{os.cpu_count()} cores ({model}), {platform.python_implementation()} " + (
        platform.python_version()
    )


def create_pg_database() -> tuple[str, str]:
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    name = f"gridgeo_bench_{uuid.uuid4().hex[:8]}"
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return name, make_url(PG_ADMIN_URL).set(database=name).render_as_string(hide_password=False)


def drop_pg_database(name: str) -> None:
    from sqlalchemy import create_engine, text

    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def seed_postgis(url: str) -> None:
    from gridgeo.settings import Settings, StoreSettings
    from gridgeo.store.core import Store
    from gridgeo.store.seed import seed_if_empty

    with Store(url) as store:
        seed_if_empty(store, Settings(store=StoreSettings(database_url=url)))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=3, help="wrk duration per endpoint")
    parser.add_argument(
        "--rounds", type=int, default=8, help="rounds of all endpoints, one after the other"
    )
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--threads", type=int, default=2, help="wrk threads")
    parser.add_argument("--workers", default="1,2", help="uvicorn worker counts to run")
    parser.add_argument("--points", type=int, default=1000)
    parser.add_argument(
        "--code", type=Path, default=None, help="serve the gridgeo package in this folder"
    )
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is not installed: apt-get install wrk (make setup does)")

    tmp = Path(tempfile.mkdtemp(prefix="gridgeo-bench-api-"))
    points = sample_points(args.points, seed=5)
    pg_name, pg_url = create_pg_database()
    rows: list[tuple[int, int, str, dict[str, Any]]] = []
    try:
        seed_postgis(pg_url)
        env = os.environ | {
            "GRIDGEO_DATABASE_URL": f"sqlite:///{tmp / 'store.sqlite'}",
            "GRIDGEO_BENCH_PG_URL": pg_url,
            "PYTHONPATH": os.pathsep.join(
                [str(Path(__file__).parent), *([str(args.code)] if args.code else [])]
            ),
        }
        scripts = {k: lua_script(k, points, tmp) for k in ENDPOINTS}
        for workers in (int(w) for w in args.workers.split(",")):
            port = free_port()
            base = f"http://127.0.0.1:{port}"
            server_cpus, wrk_cpus = cpu_split(workers)
            threads = args.threads if wrk_cpus is None else min(args.threads, len(wrk_cpus))
            proc = serve(workers, port, env, server_cpus)
            try:
                wait_ready(base + "/health/noop", proc)
                check_answers(base, points)
                warm_tiles(base, tile_paths(ENDPOINTS[TILE], points), workers)
                # warm-up (every worker builds its caches, numba and the pool connects),
                # PostGIS first so that its after-work is over before the timed runs
                for name in (PG, TILE, PAGE, "no-op", "lookup"):
                    run_wrk(base + ENDPOINTS[name], scripts[name], 2, args.connections, threads,
                            cpus=wrk_cpus)  # fmt: skip
                for rnd, name in round_plan(args.rounds):
                    result = run_wrk(
                        base + ENDPOINTS[name],
                        scripts[name],
                        args.seconds,
                        args.connections,
                        threads,
                        cpus=wrk_cpus,
                    )
                    result["pinned"] = server_cpus is not None
                    rows.append((workers, rnd, name, result))
                    print(f"{workers} worker(s) round {rnd + 1} {name}: {result}", flush=True)
            finally:
                proc.terminate()
                proc.wait(timeout=30)
    finally:
        drop_pg_database(pg_name)
        shutil.rmtree(tmp, ignore_errors=True)
    report(rows, args)


def report(rows: list[tuple[int, int, str, dict[str, Any]]], args: argparse.Namespace) -> None:
    """Medians over the rounds, and the ratios of each round (the no-op and the lookup of
    one round ran back to back, so their ratio is the least disturbed figure)."""
    print()
    print(f"Machine: {machine()}. Date: {dt.date.today().isoformat()}.")
    print(
        f"wrk -c{args.connections} -d{args.seconds}s on loopback, {args.rounds} rounds, "
        f"{args.points} distinct points cycled; with fewer workers than CPUs the server "
        "and wrk run on separate CPUs (taskset)."
    )
    print()
    print("| workers | endpoint | requests/s (median) | p50 ms | p99 ms | vs no-op | errors |")
    print("|---|---|---|---|---|---|---|")
    workers_seen = sorted({w for w, _, _, _ in rows})
    for workers in workers_seen:
        mine = [r for r in rows if r[0] == workers]
        noop = median([r["rps"] for _, _, n, r in mine if n == "no-op"])
        for name in ENDPOINTS:
            runs = [r for _, _, n, r in mine if n == name]
            rps = median([r["rps"] for r in runs])
            print(
                f"| {workers} | {name} | {rps:,.0f} | {median([r['p50_ms'] for r in runs]):.2f} "
                f"| {median([r['p99_ms'] for r in runs]):.2f} | {rps / noop:.2f}x "
                f"| {sum(r['errors'] for r in runs)} |"
            )
    print()
    for workers in workers_seen:
        by = {(rnd, n): r["rps"] for w, rnd, n, r in rows if w == workers}
        rounds = sorted({rnd for rnd, _ in by})
        vs_noop = [by[(k, "lookup")] / by[(k, "no-op")] for k in rounds]
        vs_pg = [by[(k, "lookup")] / by[(k, "PostGIS per request")] for k in rounds]
        q1, q3 = np.percentile(vs_noop, [25, 75])
        steal = max(r["steal"] for w, _, _, r in rows if w == workers)
        print(
            f"{workers} worker(s): lookup = {median(vs_noop):.0%} of no-op, "
            f"quartiles {q1:.0%}-{q3:.0%} "
            f"(rounds: {', '.join(f'{v:.0%}' for v in vs_noop)}; target >= 80%), "
            f"{median(vs_pg):.1f}x PostGIS per request "
            f"(rounds: {', '.join(f'{v:.1f}' for v in vs_pg)}; target >= 5x); "
            f"CPU steal up to {steal:.0%} of a run"
        )


if __name__ == "__main__":
    main()
