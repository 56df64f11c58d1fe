"""Memory of ``gridgeo serve`` at city scale (issue 16): one worker, and each further one.

The 20,000-grid nested tessellation (22,852 features over five levels) is imported and
published into a fresh SpatiaLite store and a fresh PostGIS database (index and tile
layers files built by ``publish``). Then, per store and per code (this one, and with
``--compare REV`` git revision REV beside it, started once first so that it finds its
own index file), ``gridgeo serve --workers N`` for N = 1, 2, 3:

- ready: seconds until ``/health`` answers;
- then ``3 N`` rounds of a lookup and the first tile of z14, z12, z10 and z8, so that
  every worker has answered some;
- resident memory: the single worker's RSS (N = 1), and the whole process tree's PSS
  (proportional set size: shared pages split between the processes sharing them, so the
  sum is the memory the service takes) for each N; the cost of a further worker is
  ``(PSS(3) - PSS(1)) / 2``.

Run: ``python benchmarks/bench_serve_memory.py [--compare REV]``; prints markdown tables.
"""

from __future__ import annotations

import argparse
import contextlib
import math
import os
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

from bench_cases import worktree

ROOT = Path(__file__).resolve().parents[1]
GRIDGEO = Path(sys.executable).with_name("gridgeo")
PG = "postgresql+psycopg://postgres@127.0.0.1:5432"
POINT = (110.3, 25.25)
ZOOMS = (14, 12, 10, 8)
PORT = 8781


def tile_path(z: int) -> str:
    n = 2**z
    x = int((POINT[0] + 180) / 360 * n)
    y = int((1 - math.asinh(math.tan(math.radians(POINT[1]))) / math.pi) / 2 * n)
    return f"/collections/level5_grid/tiles/WebMercatorQuad/{z}/{y}/{x}"


def get(url: str) -> bytes:
    with urllib.request.urlopen(url, timeout=120) as answer:
        body: bytes = answer.read()
        return body


def tree(pid: int) -> list[int]:
    """``pid`` and every process below it."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            with contextlib.suppress(OSError):
                ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
                children.setdefault(ppid, []).append(int(entry.name))
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        out.append(p)
        todo.extend(children.get(p, []))
    return out


def memory_kb(pid: int, field: str) -> int:
    with contextlib.suppress(OSError):
        for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1])
    return 0


def one_run(command: list[str], env: dict[str, str], cwd: Path, workers: int) -> dict[str, float]:
    base = f"http://127.0.0.1:{PORT}"
    started = time.perf_counter()
    proc = subprocess.Popen(
        [*command, "--port", str(PORT), "--workers", str(workers)],
        env=env,
        cwd=cwd,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"gridgeo serve exited with {proc.returncode}")
            try:
                get(base + "/health")
                break
            except OSError:
                time.sleep(0.02)
        ready = time.perf_counter() - started
        time.sleep(1.0)  # late workers
        for _ in range(3 * workers):
            get(f"{base}/v1/lookup?lon={POINT[0]}&lat={POINT[1]}")
            for z in ZOOMS:
                assert get(base + tile_path(z)), z
        pids = tree(proc.pid)
        return {
            "ready": ready,
            "rss": sum(memory_kb(p, "Rss") for p in pids) / 1024,
            "pss": sum(memory_kb(p, "Pss") for p in pids) / 1024,
        }
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            for p in tree(proc.pid):
                with contextlib.suppress(OSError):
                    os.kill(p, 9)
        time.sleep(0.5)


def psql(sql: str, db: str = "postgres") -> None:
    subprocess.run(["psql", "-h", "127.0.0.1", "-U", "postgres", "-d", db, "-qc", sql], check=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--grids", type=int, default=20_000)
    parser.add_argument("--compare", default="", metavar="REV", help="also git revision REV")
    args = parser.parse_args()

    from gridgeo.io.writers import write_grids
    from gridgeo.sample.tessellation import nested_tessellation

    print(time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()))
    db = f"gridgeo_bench_memory_{os.getpid()}"
    with (
        tempfile.TemporaryDirectory() as tmp_name,
        worktree(args.compare) if args.compare else contextlib.nullcontext(None) as other,
    ):
        tmp = Path(tmp_name)
        city = write_grids(nested_tessellation(args.grids, 1), tmp / "city.gpkg")
        stores = {"SpatiaLite": f"sqlite:///{tmp / 'store.sqlite'}", "PostGIS": f"{PG}/{db}"}
        psql(f"CREATE DATABASE {db}")
        try:
            psql("CREATE EXTENSION postgis", db)
            codes = {"this code": ([str(GRIDGEO), "serve"], ROOT, {})}
            if other is not None:
                # python -m puts the working folder first: the revision's package wins
                codes[args.compare] = (
                    [sys.executable, "-m", "gridgeo.cli.main", "serve"],
                    other,
                    {"PYTHONPATH": str(other)},
                )
            print("\n| store | code | ready (1 worker) | RSS, 1 worker | PSS, 1 / 2 / 3 workers "
                  "| each further worker |\n|---|---|---|---|---|---|")  # fmt: skip
            for store, url in stores.items():
                env = {**os.environ, "GRIDGEO_SEED_SAMPLE": "false", "GRIDGEO_LANG": "en"}
                env |= {"GRIDGEO_DATABASE_URL": url, "GRIDGEO_INDEX_DIR": str(tmp / "index")}
                for step in (["import", str(city), "--commit"], ["publish", "1"]):
                    subprocess.run([str(GRIDGEO), *step], env=env, check=True, capture_output=True)
                for name, (command, cwd, extra) in codes.items():
                    code_env = {**env, **extra}
                    if name != "this code":  # builds its own index file once
                        code_env["GRIDGEO_INDEX_DIR"] = str(tmp / f"index-{name}")
                        one_run(command, code_env, cwd, 1)
                    runs = {n: one_run(command, code_env, cwd, n) for n in (1, 2, 3)}
                    further = (runs[3]["pss"] - runs[1]["pss"]) / 2
                    pss = " / ".join(f"{runs[n]['pss']:.0f}" for n in (1, 2, 3))
                    print(f"| {store} | {name} | {runs[1]['ready']:.2f} s | "
                          f"{runs[1]['rss']:.0f} MB | {pss} MB | {further:.0f} MB |")  # fmt: skip
        finally:
            psql(f"DROP DATABASE IF EXISTS {db} WITH (FORCE)")


if __name__ == "__main__":
    main()
