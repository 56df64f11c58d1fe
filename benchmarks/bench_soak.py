"""Soak: versions published under load, a PostgreSQL restart and a worker kill.

Run with ``make bench`` (or ``.venv/bin/python benchmarks/bench_soak.py``; needs root,
or a user allowed to run ``pg_ctlcluster``, for the restart). On a fresh PostGIS store
seeded with the sample and a second version of it (the border between two grids
moved, so that a point in the moved strip answers grid 1 in one version and grid 2
in the other), ``gridgeo serve --workers 2`` is loaded for ``--seconds``:

- lookup threads ask for the strip point; every answer names its version, and its
  grid must be that version's (a *mixed* answer would be one version's number with
  another's grid);
- a reporter thread files cases through ``POST /v1/cases``; each acknowledged one
  (201 with its id) must be in the store at the end (*lost* otherwise);
- a planner thread switches the published version every ``--publish-every``
  seconds (``POST /v1/versions/{id}/rollback``);
- at ``--restart-at`` PostgreSQL is restarted (``pg_ctlcluster``), at ``--kill-at``
  one worker process gets SIGKILL (uvicorn starts a new one).

Reported: requests and failures per kind, when each failure happened relative to the
two faults (a failure outside a fault's window, from its start until the first
success of that kind after it, counts as *unexplained*), the recovery times, mixed
answers and lost writes. Targets: 0 mixed, 0 lost, 0 unexplained.
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).parent))
sys.path.insert(0, str(Path(__file__).parents[1] / "tests"))
from bench_api import create_pg_database, drop_pg_database, free_port, machine, seed_postgis
from geometries import REDRAWN_GRIDS, redraw_strip, redrawn_sample

PG_CLUSTER = ("15", "main")


@dataclass
class Log:
    """What the load saw: (time, kind, ok, detail) per request, and the faults."""

    start: float = field(default_factory=time.monotonic)
    events: list[tuple[float, str, bool, str]] = field(default_factory=list)
    windows: dict[str, tuple[float, float]] = field(default_factory=dict)  # stated outages
    mixed: list[str] = field(default_factory=list)
    acknowledged: dict[int, str] = field(default_factory=dict)  # case id -> description
    answered_by: Counter[int] = field(default_factory=Counter)  # lookups per version
    published: list[int] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def note(self, kind: str, ok: bool, detail: str = "") -> None:
        with self.lock:
            self.events.append((time.monotonic() - self.start, kind, ok, detail))


def serve(url: str, port: int, workers: int) -> subprocess.Popen[bytes]:
    env = os.environ | {"GRIDGEO_DATABASE_URL": url, "GRIDGEO_COSTLY_PER_MINUTE": "0"}
    gridgeo = Path(sys.executable).parent / "gridgeo"
    cmd = [str(gridgeo), "serve", "--port", str(port), "--workers", str(workers)]
    return subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def wait_ready(base: str, seconds: float = 120) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            if httpx.get(base + "/health", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.3)
    raise SystemExit(f"the server at {base} did not answer /health")


def children(pid: int) -> list[int]:
    """The processes whose parent is ``pid`` (uvicorn's workers)."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(stat[1]) == pid:
                found.append(int(entry.name))
    return found


@dataclass
class Run:
    """What every load thread shares: the server, the log, the stop signal, the setup."""

    base: str
    log: Log
    stop: threading.Event
    setup: dict[str, Any]


def lookups(run: Run) -> None:
    log, stop, point, expected = run.log, run.stop, run.setup["point"], run.setup["expected"]
    with httpx.Client(base_url=run.base, timeout=10) as client:
        while not stop.is_set():
            try:
                r = client.get("/v1/lookup", params={"lon": point[0], "lat": point[1]})
            except httpx.HTTPError as exc:
                log.note("lookup", False, type(exc).__name__)
                continue
            if r.status_code != 200:
                log.note("lookup", False, str(r.status_code))
                continue
            body = r.json()
            code = body["grids"][0]["code"] if body["grids"] else None
            if expected.get(body["version"]) != code:
                log.mixed.append(f"version {body['version']} answered {code}")
            with log.lock:
                log.answered_by[body["version"]] += 1
            log.note("lookup", True)


def reports(run: Run) -> None:
    log, stop, point, key = run.log, run.stop, run.setup["point"], run.setup["reporter"]
    n = 0
    with httpx.Client(base_url=run.base, timeout=30, headers={"X-API-Key": key}) as client:
        while not stop.is_set():
            n += 1
            text = f"soak report {n}"
            body = {"lon": point[0], "lat": point[1], "category": "0505", "description": text}
            try:
                r = client.post("/v1/cases", json=body)
            except httpx.HTTPError as exc:  # unknown outcome: not acknowledged
                log.note("report", False, type(exc).__name__)
                continue
            if r.status_code == 201:
                with log.lock:
                    log.acknowledged[r.json()["id"]] = text
                log.note("report", True)
            else:
                log.note("report", False, str(r.status_code))
                time.sleep(0.2)


def publisher(run: Run, every: float) -> None:
    log, stop, versions, key = run.log, run.stop, run.setup["versions"], run.setup["planner"]
    turn = 0
    with httpx.Client(base_url=run.base, timeout=60, headers={"X-API-Key": key}) as client:
        while not stop.wait(every):
            target = versions[turn % 2]
            try:
                r = client.post(f"/v1/versions/{target}/rollback")
            except httpx.HTTPError as exc:
                log.note("publish", False, type(exc).__name__)
                continue
            if r.status_code == 200:
                log.published.append(target)
                log.note("publish", True)
                turn += 1
            else:
                log.note("publish", False, f"{r.status_code} {r.text[:120]}")


def restart_postgres(log: Log, grace: float) -> float:
    """Restart PostgreSQL; the stated outage is the restart plus ``grace`` seconds (the
    503's Retry-After, and the pool's reconnection)."""
    began = time.monotonic()
    subprocess.run(["pg_ctlcluster", *PG_CLUSTER, "restart"], check=True)
    took = time.monotonic() - began
    at = began - log.start
    log.windows["postgres restart"] = (at, at + took + grace)
    return took


def kill_worker(server: subprocess.Popen[bytes], log: Log, grace: float) -> int:
    """SIGKILL one worker; the stated outage is ``grace`` seconds (its requests in flight
    and the connections it held)."""
    workers = children(server.pid)
    if not workers:
        raise SystemExit("no worker process found to kill")
    victim = max(workers)
    at = time.monotonic() - log.start
    os.kill(victim, signal.SIGKILL)
    log.windows["worker SIGKILL"] = (at, at + grace)
    return victim


def recovery(log: Log) -> dict[str, dict[str, float]]:
    """Per fault and kind of request: seconds from the fault to the last failure of that
    kind within the fault's window (0: none failed)."""
    out: dict[str, dict[str, float]] = {}
    for fault, (start, end) in log.windows.items():
        out[fault] = {}
        for kind in ("lookup", "report", "publish"):
            failed = [t for t, k, ok, _ in log.events if k == kind and not ok and start <= t <= end]
            out[fault][kind] = max(failed) - start if failed else 0.0
    return out


def unexplained(log: Log) -> list[tuple[float, str, str]]:
    """Failures outside every fault's stated window."""
    return [
        (round(t, 2), kind, detail)
        for t, kind, ok, detail in log.events
        if not ok and not any(start <= t <= end for start, end in log.windows.values())
    ]


def lost_writes(url: str, log: Log) -> list[int]:
    from sqlalchemy import select

    from gridgeo.store import schema as t
    from gridgeo.store.core import Store

    with Store(url) as store, store.reading() as session:
        rows = dict(
            session.execute(
                select(t.Case.id, t.Case.description).where(t.Case.id.in_(list(log.acknowledged)))
            ).all()
        )
    return [i for i, text in log.acknowledged.items() if rows.get(i) != text]


def prepare(url: str) -> dict[str, Any]:
    """The second version (drafted and published once, so both can be rolled back to),
    the strip point, each version's expected grid there, and a planner and reporter key."""
    import gridgeo
    from gridgeo.roles import Role
    from gridgeo.store import api_keys
    from gridgeo.store.core import Store
    from gridgeo.store.datasets import published_key as current_key
    from gridgeo.store.versions import import_boundaries, publish

    seed_postgis(url)
    sample = gridgeo.load()
    with Store(url) as store:
        draft = import_boundaries(
            store, redrawn_sample(sample.grids), author="soak",
            workstations=sample.workstations, commit=True,
        )  # fmt: skip
        assert draft.version is not None
        second = draft.version.id
        with store.reading() as session:
            first = current_key(session).boundaries
        publish(store, second, actor="soak")
        planner = api_keys.create_key(store, "soak-planner", Role.PLANNER, actor="soak")
        reporter = api_keys.create_key(store, "soak-reporter", Role.REPORTER, actor="soak")
    strip = redraw_strip(sample.grids).representative_point()
    return {
        "versions": (first, second),
        "point": (strip.x, strip.y),
        "expected": {first: REDRAWN_GRIDS[1], second: REDRAWN_GRIDS[0]},
        "planner": planner,
        "reporter": reporter,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=180)
    parser.add_argument("--publish-every", type=float, default=3.0)
    parser.add_argument("--restart-at", type=float, default=60, help="0: no restart")
    parser.add_argument("--kill-at", type=float, default=120, help="0: no kill")
    parser.add_argument(
        "--restart-grace", type=float, default=5, help="stated outage after the restart (s)"
    )
    parser.add_argument("--kill-grace", type=float, default=2, help="stated outage (s)")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--lookup-threads", type=int, default=3)
    args = parser.parse_args()

    name, url = create_pg_database()
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    server: subprocess.Popen[bytes] | None = None
    try:
        setup = prepare(url)
        server = serve(url, port, args.workers)
        wait_ready(base)
        log = Log()
        stop = threading.Event()
        run = Run(base, log, stop, setup)
        threads = [
            threading.Thread(target=lookups, args=(run,)) for _ in range(args.lookup_threads)
        ]
        threads.append(threading.Thread(target=reports, args=(run,)))
        threads.append(threading.Thread(target=publisher, args=(run, args.publish_every)))
        for thread in threads:
            thread.start()
        restart_s, victim = 0.0, 0
        faults = sorted([(args.restart_at, "restart"), (args.kill_at, "kill")], key=lambda x: x[0])
        for at, what in faults:
            if at <= 0:
                continue
            time.sleep(max(0.0, at - (time.monotonic() - log.start)))
            if what == "restart":
                restart_s = restart_postgres(log, args.restart_grace)
            else:
                victim = kill_worker(server, log, args.kill_grace)
        time.sleep(max(0.0, args.seconds - (time.monotonic() - log.start)))
        stop.set()
        for thread in threads:
            thread.join(60)
        workers_after = children(server.pid)
        report(args, log, setup, url, restart_s=restart_s, victim=victim, workers=workers_after)
    finally:
        if server is not None:
            server.terminate()
            server.wait(30)
        drop_pg_database(name)


def report(args: argparse.Namespace, log: Log, setup: dict[str, Any], url: str, *,
           restart_s: float, victim: int, workers: list[int]) -> None:  # fmt: skip
    spans = recovery(log)
    odd = unexplained(log)
    lost = lost_writes(url, log)
    counts = Counter((k, ok) for _, k, ok, _ in log.events)
    fails = Counter((k, d) for _, k, ok, d in log.events if not ok)
    now = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    print(f"## Soak ({now}, {machine()}, {args.seconds:.0f} s, gridgeo serve --workers "
          f"{args.workers})\n")  # fmt: skip
    print("| kind | answered | failed |")
    print("|---|---|---|")
    for kind in ("lookup", "report", "publish"):
        print(f"| {kind} | {counts[(kind, True)]:,} | {counts[(kind, False)]:,} |")
    print()
    for fault, (start, end) in log.windows.items():
        last = ", ".join(f"{k} {s:.1f} s" for k, s in spans[fault].items())
        print(
            f"- {fault} at {start:.0f} s, stated outage {end - start:.1f} s; last failure "
            f"after its start: {last}"
        )
    if restart_s:
        print(f"- pg_ctlcluster restart took {restart_s:.1f} s")
    if victim:
        print(f"- killed worker {victim}; workers at the end: {workers}")
    print(
        f"- version switches acknowledged: {len(log.published)}; lookups answered per "
        f"version: {dict(log.answered_by)}"
    )
    print(f"- failures by kind and answer: {dict(fails)}")
    print(f"- **mixed answers: {len(log.mixed)}** {log.mixed[:5]}")
    print(f"- **acknowledged reports lost: {len(lost)}** of {len(log.acknowledged):,} {lost[:5]}")
    print(f"- **failures outside the fault windows: {len(odd)}** {odd[:5]}")
    if log.mixed or lost or odd:
        sys.exit(1)


if __name__ == "__main__":
    main()
