"""The work loop on PostGIS: state changes per second through the API, and a unit's queue.

Run with ``make bench`` (or ``.venv/bin/python benchmarks/bench_cases.py``). On a
fresh PostGIS database seeded with the sample data:

1. **State changes**: dispatched tasks of one unit are written in bulk; uvicorn
   serves the app (one worker) and ``wrk`` posts ``{"action": "accept"}`` to
   ``/v1/tasks/{id}/actions`` with that unit's handler key, each request a
   different task (each is one transaction: the case lock, the rules, the task
   update, the event and its outbox message). ``--rounds`` runs, each on a fresh
   server and tasks of its own, with the server's and PostgreSQL's CPU time per
   change; with ``--compare REV`` the code of git revision REV runs too, the two
   alternating (the machine's noise hits both alike: compare the ratios). Beside
   it, ``/health/noop`` (the framework's own cost). Target: at least 500 state
   changes per second.
2. **Queue**: ``--open`` open tasks of one unit (plus as many of other units),
   then the unit's first page (``/v1/tasks`` with its key: the page and the
   total) and the core query alone, median of 30 runs; the query plan is printed.
   Beside it, what filtering in Python would cost: loading every task row and
   filtering in a list comprehension. Target: at most 50 ms.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).parent))
from bench_api import (
    create_pg_database,
    drop_pg_database,
    free_port,
    machine,
    run_wrk,
    seed_postgis,
    wait_ready,
)

UNIT = "TP-450302"
QUEUE_UNIT = "ENF-450302001"
OTHER_UNITS = ("SAN-WM", "PM-WM", "VOL-WM", "ENT-BJ")
LUA = """
local first, count, key = %(first)d, %(count)d, "%(key)s"
local i = -1
request = function()
  i = (i + 1) %% count
  local body = '{"action": "accept"}'
  return wrk.format("POST", "/v1/tasks/" .. (first + i) .. "/actions",
    {["X-API-Key"] = key, ["Content-Type"] = "application/json"}, body)
end
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format("RESULT %%d %%d %%d %%d %%d %%d %%d %%d %%d\\n",
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(99),
    e.connect, e.read, e.write, e.status, e.timeout))
end
"""
NOOP_LUA = """
request = function() return wrk.format("GET", "/health/noop") end
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format("RESULT %d %d %d %d %d %d %d %d %d\\n",
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(99),
    e.connect, e.read, e.write, e.status, e.timeout))
end
"""


def bulk_tasks(url: str, n: int, units: dict[str, int]) -> dict[str, tuple[int, int]]:
    """``units[u]`` dispatched cases with one task each, per unit; the (first, last) task id
    of each unit. Written with executemany in one transaction (the benchmark's setup, not
    the path under test)."""
    from geoalchemy2.elements import WKTElement
    from sqlalchemy import func, insert, select

    from gridgeo.store import schema as t
    from gridgeo.store.core import Store

    now = datetime.now(UTC)
    spans: dict[str, tuple[int, int]] = {}
    with Store(url) as store, store.transaction() as session:
        version = session.scalar(select(func.max(t.Version.id)))
        for unit, count in units.items():
            cases = [
                {
                    "created_at": now,
                    "updated_at": now,
                    "status": "open",
                    "state": "dispatched",
                    "urgency": "normal",
                    "revision": 0,
                    "category": "0505",
                    "description": "bench",
                    "address": "",
                    "reporter": "",
                    "source_lon": 110.2965,
                    "source_lat": 25.2775,
                    "source_crs": "wgs84",
                    "code_l5": "450302001001002",
                    "partner_units": [],
                    "agency_responsible": "",
                    "boundary_version_id": version,
                    "attributes": {},
                    "geom": WKTElement("POINT(110.2965 25.2775)", srid=4490),
                }
                for i in range(count)
            ]
            case_ids = session.scalars(
                insert(t.Case).returning(t.Case.id, sort_by_parameter_order=True), cases
            ).all()
            tasks = [
                {
                    "case_id": case_ids[i],
                    "unit_code": unit,
                    "unit_name": unit,
                    "unit_type": "bench",
                    "state": "dispatched",
                    "deadline": now + timedelta(hours=1 + i % 500),
                    "dispatched_at": now,
                    "updated_at": now,
                    "grid_code": "450302001001002",
                    "category": "0505",
                    "suggested": True,
                }
                for i in range(count)
            ]
            task_ids = session.scalars(
                insert(t.CaseTask).returning(t.CaseTask.id, sort_by_parameter_order=True), tasks
            ).all()
            first, last = min(task_ids), max(task_ids)
            assert last - first + 1 == count, "task ids are not contiguous"
            spans[unit] = (first, last)
    with Store(url) as store, store.engine.begin() as conn:  # as autovacuum would, in time
        for table in ("cases", "case_tasks", "case_events", "outbox"):
            conn.exec_driver_sql(f"ANALYZE {table}")
    return spans


REPO = Path(__file__).resolve().parents[1]


def serve(port: int, env: dict[str, str], root: Path) -> subprocess.Popen[bytes]:
    cmd = [
        sys.executable, "-m", "uvicorn", "bench_api:app_factory", "--factory",
        "--host", "127.0.0.1", "--port", str(port), "--workers", "1",
        "--no-access-log", "--log-level", "warning",
    ]  # fmt: skip
    return subprocess.Popen(cmd, env=env, cwd=root / "benchmarks")


@contextmanager
def served(url: str, root: Path = REPO) -> Iterator[tuple[str, int]]:
    """One uvicorn worker running the code in ``root`` on the store at ``url``; its base
    URL and process id, once it answers."""
    port = free_port()
    env = os.environ | {
        "GRIDGEO_DATABASE_URL": url,
        "GRIDGEO_BENCH_PG_URL": url,
        "PYTHONPATH": str(root),
    }
    proc = serve(port, env, root)
    base = f"http://127.0.0.1:{port}"
    try:
        wait_ready(base + "/health", proc)
        yield base, proc.pid
    finally:
        proc.terminate()
        proc.wait(30)


def cpu_seconds(match: Any) -> float:
    """User + system CPU time of the processes for which ``match(pid, name)`` holds."""
    total = 0
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            name = (entry / "comm").read_text().strip()
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue  # ended meanwhile
        if match(int(entry.name), name):
            total += int(fields[11]) + int(fields[12])
    return total / os.sysconf("SC_CLK_TCK")


@contextmanager
def worktree(rev: str) -> Iterator[Path]:
    """The code of git revision ``rev`` checked out in a temporary folder."""
    folder = Path(tempfile.mkdtemp(prefix="gridgeo-bench-rev-"))
    git = ["git", "-C", str(REPO)]
    subprocess.run([*git, "worktree", "add", "--detach", str(folder), rev], check=True,
                   capture_output=True)  # fmt: skip
    # its bytecode written, as make setup writes this checkout's: neither compiles per run
    subprocess.run([sys.executable, "-m", "compileall", "-q", str(folder / "gridgeo")],
                   check=True, capture_output=True)  # fmt: skip
    try:
        yield folder
    finally:
        subprocess.run([*git, "worktree", "remove", "--force", str(folder)], check=True)


def accept_run(
    url: str, root: Path, span: tuple[int, int], *, key: str, args: Any, folder: Path
) -> dict[str, Any]:
    """``accept`` on the tasks ``span`` through a server of the code in ``root``, with the
    server's and PostgreSQL's CPU time per request."""
    first, last = span
    script = folder / f"accept-{first}.lua"
    script.write_text(LUA % {"first": first, "count": last - first + 1, "key": key})
    with served(url, root) as (base, pid):

        def postgres(_: int, name: str) -> bool:
            return name.startswith("postgres")

        def server(p: int, _: str) -> bool:
            return p == pid

        pg0, py0 = cpu_seconds(postgres), cpu_seconds(server)
        # one wrk thread: its request() hands every connection a different task
        run = run_wrk(base + "/v1/tasks/0/actions", script, args.seconds, args.connections, 1)
        pg1, py1 = cpu_seconds(postgres), cpu_seconds(server)
    ok = max(run["requests"] - run["errors"], 1)
    return run | {
        "changes_per_s": (run["requests"] - run["errors"]) / args.seconds,
        "server_ms": 1000 * (py1 - py0) / ok,
        "postgres_ms": 1000 * (pg1 - pg0) / ok,
    }


def state_changes(url: str, args: argparse.Namespace, folder: Path) -> dict[str, Any]:
    """Rounds of ``accept`` runs, this code and (``--compare REV``) the code of REV
    alternating, each run on tasks of its own; the noop endpoint once."""
    from gridgeo.roles import Role
    from gridgeo.store import api_keys
    from gridgeo.store.core import Store

    codes: dict[str, Path] = {"this code": REPO}
    with contextlib.ExitStack() as stack:
        if args.compare:
            codes[args.compare] = stack.enter_context(worktree(args.compare))
        per_run = args.seconds * 1500  # more than a run can accept
        total = per_run * args.rounds * len(codes)
        first, _ = bulk_tasks(url, total, {UNIT: total})[UNIT]
        with Store(url) as store:
            key = api_keys.create_key(store, "bench-unit", Role.HANDLER, actor="bench", unit=UNIT)
        noop = folder / "noop.lua"
        noop.write_text(NOOP_LUA)
        with served(url) as (base, _):
            noop_run = run_wrk(base + "/health/noop", noop, args.seconds, args.connections, 2)
        runs: dict[str, list[dict[str, Any]]] = {name: [] for name in codes}
        for n in range(args.rounds):
            order = list(codes) if n % 2 == 0 else list(reversed(codes))
            for name in order:
                span = (first, first + per_run - 1)
                first += per_run
                runs[name].append(
                    accept_run(url, codes[name], span, key=key, args=args, folder=folder)
                )
    from sqlalchemy import func, select

    from gridgeo.store import schema as t

    with Store(url) as store, store.reading() as session:
        accepted = session.scalar(
            select(func.count()).select_from(t.CaseTask).where(t.CaseTask.state == "accepted")
        )
        events = session.scalar(
            select(func.count()).select_from(t.CaseEvent).where(t.CaseEvent.action == "accept")
        )
        outbox = session.scalar(select(func.count()).select_from(t.OutboxMessage))
    every = [r for rs in runs.values() for r in rs]
    return {
        "runs": runs,
        "errors": sum(r["errors"] for r in every),
        "acknowledged": sum(r["requests"] - r["errors"] for r in every),
        "accepted_in_store": int(accepted or 0),
        "accept_events": int(events or 0),
        "outbox": int(outbox or 0),
        "noop_rps": noop_run["rps"],
        "steal": max(r["steal"] for r in every),
    }


def queue(url: str, args: argparse.Namespace) -> dict[str, Any]:
    from sqlalchemy import select, text

    from gridgeo.roles import Role
    from gridgeo.store import api_keys
    from gridgeo.store import schema as t
    from gridgeo.store.case_queries import OPEN_TASK_STATES, TaskQuery, count_tasks, list_tasks
    from gridgeo.store.core import Store

    units = {QUEUE_UNIT: args.open} | {u: args.open // len(OTHER_UNITS) for u in OTHER_UNITS}
    bulk_tasks(url, args.open, units)
    store = Store(url)
    with store.engine.begin() as conn:
        conn.execute(text("ANALYZE case_tasks"))
        conn.execute(text("ANALYZE cases"))
    q = TaskQuery(unit=QUEUE_UNIT, states=OPEN_TASK_STATES, limit=100)

    def timed(fn: Any, runs: int = 30) -> float:
        fn()
        times = []
        for _ in range(runs):
            t0 = time.perf_counter()
            fn()
            times.append(time.perf_counter() - t0)
        return statistics.median(times) * 1000

    page_ms = timed(lambda: list_tasks(store, q))
    count_ms = timed(lambda: count_tasks(store, q))
    total = count_tasks(store, q)

    def python_filtering() -> list[Any]:
        with store.reading() as session:
            rows = session.execute(
                select(t.CaseTask.id, t.CaseTask.unit_code, t.CaseTask.state, t.CaseTask.deadline)
            ).all()
        mine = [r for r in rows if r.unit_code == QUEUE_UNIT and r.state in OPEN_TASK_STATES]
        return sorted(mine, key=lambda r: r.deadline)[:100]

    python_ms = timed(python_filtering, runs=5)
    with store.engine.connect() as conn:
        from gridgeo.store.case_queries import task_conditions

        stmt = (
            select(t.CaseTask.id)
            .where(*task_conditions(q))
            .order_by(t.CaseTask.deadline, t.CaseTask.id)
            .limit(100)
        )
        compiled = stmt.compile(conn, compile_kwargs={"literal_binds": True})
        plan = "\n".join(r[0] for r in conn.execute(text(f"EXPLAIN ANALYZE {compiled}")))
    key = api_keys.create_key(store, "bench-queue", Role.HANDLER, actor="bench", unit=QUEUE_UNIT)
    store.close()
    with served(url) as (base, _):

        def http() -> None:
            req = urllib.request.Request(
                base + "/v1/tasks?limit=100",
                headers={"X-API-Key": key},
            )
            with urllib.request.urlopen(req, timeout=30) as r:
                body = json.loads(r.read())
            assert len(body["tasks"]) == 100 and body["more"]

        http_ms = timed(http)
    return {
        "open_tasks_of_unit": total,
        "tasks_in_store": sum(units.values()),
        "page_ms": page_ms,
        "count_ms": count_ms,
        "http_ms": http_ms,
        "python_filtering_ms": python_ms,
        "plan": plan,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3, help="accept runs per code")
    parser.add_argument(
        "--compare",
        default="",
        metavar="REV",
        help="also run the accept runs on the code of git revision REV, alternating",
    )
    parser.add_argument("--open", type=int, default=100_000, help="open tasks of the queue's unit")
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--connections", type=int, default=8)
    args = parser.parse_args()
    name, url = create_pg_database()
    try:
        seed_postgis(url)
        with tempfile.TemporaryDirectory() as folder:
            changes = state_changes(url, args, Path(folder))
        listing = queue(url, args)
    finally:
        drop_pg_database(name)
    print(f"## Work loop on PostGIS ({dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC, {machine()})")
    print()
    print("| measure | figure | target |")
    print("|---|---|---|")
    c = changes
    for code, runs in c["runs"].items():
        rates = sorted(r["changes_per_s"] for r in runs)
        best = max(runs, key=lambda r: r["changes_per_s"])
        mid = statistics.median(rates)
        met = "met" if mid >= 500 else "NOT met"
        server = statistics.median(r["server_ms"] for r in runs)
        pg = statistics.median(r["postgres_ms"] for r in runs)
        print(
            f"| state changes through the API, 1 worker, {code} (accept, wrk "
            f"-c{args.connections} {args.seconds} s, {len(runs)} runs) | median "
            f"**{mid:,.0f}/s** (runs {', '.join(f'{x:,.0f}' for x in rates)}; best p50 "
            f"{best['p50_ms']:.1f} ms, p99 {best['p99_ms']:.1f} ms); CPU per change: server "
            f"{server:.2f} ms, PostgreSQL {pg:.2f} ms | >= 500/s: {met} |"
        )
    if len(c["runs"]) == 2:
        (_, new), (rev, old) = c["runs"].items()
        ratios = [a["changes_per_s"] / b["changes_per_s"] for a, b in zip(new, old, strict=True)]
        print(f"| this code / {rev}, run by run | {', '.join(f'{x:.2f}x' for x in ratios)} | |")
    print(f"| no-op endpoint, same server | {c['noop_rps']:,.0f} req/s | (framework cost) |")
    q = listing
    met = "met" if q["http_ms"] <= 50 else "NOT met"
    print(
        f"| a unit's queue, first page of 100, HTTP ({q['open_tasks_of_unit']:,} open "
        f"tasks of the unit, {q['tasks_in_store']:,} in the store) | {q['http_ms']:.1f} ms "
        f"| <= 50 ms: {met} |"
    )
    print(f"| the page's query alone | {q['page_ms']:.1f} ms | |")
    print(f"| the total's count alone | {q['count_ms']:.1f} ms | |")
    python_ms = q["python_filtering_ms"]
    print(f"| filtering in Python instead (load all, filter, sort) | {python_ms:.0f} ms | |")
    print()
    print(
        f"Store after the accept runs: {c['acknowledged']:,} changes acknowledged to wrk "
        f"({c['errors']} non-2xx), {c['accepted_in_store']:,} tasks accepted, "
        f"{c['accept_events']:,} accept events, {c['outbox']:,} outbox messages (every "
        f"accepted task has its event and message; the requests in flight when wrk "
        f"stops are served but not counted by wrk). PostgreSQL's CPU is approximate "
        f"(backends and autovacuum workers come and go). CPU steal up to {c['steal']:.0%}."
    )
    print()
    print("Plan of the page's query:")
    print()
    print("```")
    print(q["plan"])
    print("```")


if __name__ == "__main__":
    main()
