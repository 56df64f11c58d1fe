"""Assessment indicators over a month of 1,000,000 cases, on PostGIS and on SpatiaLite.

Run with ``make bench`` (or ``.venv/bin/python benchmarks/bench_assess.py [--cases N]``).
A generated history is written inside each database with one ``INSERT ... SELECT``
per table (PostgreSQL's ``generate_series``, SQLite's recursive CTE): ``--cases``
cases over November 2026, spread over 20,000 fifth-level grids and 8 units, each
reported, registered and dispatched; 90 % handled, verified and closed (5 % after a
failed verification, 3 % after an extension), the rest open (some overdue). Then
``gridgeo.store.assessment.assess`` counts the month grouped by grid at level 5 and by
unit, timed (median of 3 after one warm-up), the answers checked against counts the
generator knows. Targets: at most 5 s on PostGIS and 15 s on SpatiaLite per grouping.
The plan of the PostgreSQL query is printed (EXPLAIN ANALYZE).
"""

from __future__ import annotations

import argparse
import datetime as dt
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from sqlalchemy import text

sys.path.insert(0, str(Path(__file__).parent))
from bench_api import create_pg_database, drop_pg_database, machine

UNITS = ("ENF-450302001", "TP-450302", "SAN-1", "SAN-2", "PM-1", "PM-2", "VOL-1", "ENT-1")
START = "2026-11-01 00:00:00"  # UTC, as the store keeps times

# Per case i (1..N): reported at START + i * (29 days / N); the fate follows i mod 100.
PG_SERIES = "SELECT g AS i FROM generate_series(1, :n) AS g"
SQLITE_SERIES = (
    "WITH RECURSIVE s(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM s WHERE i < :n) SELECT i FROM s"
)


def _sql(backend: str) -> dict[str, str]:
    """The generator's statements for ``backend`` (timestamps and padding differ)."""
    if backend == "postgresql":
        t0 = f"TIMESTAMPTZ '{START}+00'"

        def at(minutes: str) -> str:
            seconds = f"floor(i * 2505600.0 / :n + ({minutes}) * 60)"
            return f"({t0} + {seconds} * INTERVAL '1 second')"

        pad = "lpad((i % 20000)::text, 5, '0')"
        unit = f"(ARRAY{list(UNITS)!r})[(i % {len(UNITS)}) + 1]"
    else:

        def at(minutes: str) -> str:
            # the store's own text form of a UTC time (six decimals), so that times compare
            return (
                f"(strftime('%Y-%m-%d %H:%M:%S', '{START}', "
                f"'+' || CAST(i * 2505600.0 / :n + ({minutes}) * 60 AS INTEGER) || ' seconds')"
                " || '.000000')"
            )

        pad = "substr('00000' || (i % 20000), -5)"
        unit = (
            "CASE i % 8 " + " ".join(f"WHEN {k} THEN '{u}'" for k, u in enumerate(UNITS)) + " END"
        )
    series = PG_SERIES if backend == "postgresql" else SQLITE_SERIES
    closed = "i % 100 < 90"
    failed = "i % 100 < 5"
    extended = "i % 100 BETWEEN 5 AND 7"
    last = "CASE WHEN i % 100 < 60 THEN 24 * 60 ELSE 96 * 60 END"  # 40 % handled late
    rows = {
        "cases": f"""INSERT INTO cases (id, created_at, updated_at, status, category, description,
            address, reporter, source_lon, source_lat, source_crs, code_l1, code_l2, code_l3,
            code_l4, code_l5, workstation_code, partner_units, agency_responsible, attributes,
            state, urgency, revision, registered_at, closed_at)
            SELECT i, {at("0")}, {at("0")}, CASE WHEN {closed} THEN 'closed' ELSE 'open' END,
              CASE i % 3 WHEN 0 THEN '0101' WHEN 1 THEN '0505' ELSE '0102' END, '', '', '',
              110.3, 25.28, 'wgs84', '450300', '450302', '450302001',
              '450302001' || substr({pad}, 1, 3), '450302001' || {pad}, NULL, '[]', '', '{{}}',
              CASE WHEN {closed} THEN 'closed' ELSE 'dispatched' END, 'normal', 0, {at("10")},
              CASE WHEN {closed} THEN {at(f"{last} + 120")} END
            FROM ({series}) AS s""",
        "tasks": f"""INSERT INTO case_tasks (id, case_id, unit_code, unit_name, unit_type, state,
            deadline, dispatched_at, updated_at, grid_code, category, suggested, prior_deadline,
            extended_at, first_extended_at, handled_at, handled_by, failed_at)
            SELECT i, i, {unit}, {unit}, 'bench',
              CASE WHEN {closed} THEN 'verified' ELSE 'dispatched' END,
              {at(f"72 * 60 + CASE WHEN {extended} THEN 48 * 60 ELSE 0 END")},
              {at("20")}, {at("20")}, '450302001' || {pad}, '0101', TRUE,
              CASE WHEN {extended} THEN {at("72 * 60")} END,
              CASE WHEN {extended} THEN {at("30")} END,
              CASE WHEN {extended} THEN {at("30")} END,
              CASE WHEN {closed} THEN {at(last)} END,
              CASE WHEN {closed} THEN 'bench' END,
              CASE WHEN {closed} AND {failed} THEN {at("13 * 60")} END
            FROM ({series}) AS s""",
    }
    events = [  # (action, task id, minutes after the report, which cases, unit)
        ("report", "CAST(NULL AS INTEGER)", "0", "TRUE", "''"),
        ("register", "CAST(NULL AS INTEGER)", "10", "TRUE", "''"),
        ("dispatch", "i", "20", "TRUE", unit),
        ("extend", "i", "30", extended, unit),
        ("handle", "i", "12 * 60", f"{closed} AND {failed}", unit),
        ("verify_fail", "i", "13 * 60", f"{closed} AND {failed}", unit),
        ("handle", "i", last, closed, unit),
        ("verify_pass", "i", f"{last} + 60", closed, unit),
        ("close", "CAST(NULL AS INTEGER)", f"{last} + 120", closed, "''"),
    ]
    parts = []
    for action, task, minutes, where, event_unit in events:
        no_time = "CAST(NULL AS TIMESTAMPTZ)" if backend == "postgresql" else "NULL"
        deadline = {"dispatch": at("72 * 60"), "extend": at("120 * 60")}.get(action, no_time)
        parts.append(
            f"SELECT i AS case_id, {task} AS task_id, {at(minutes)} AS at, '{action}' AS action, "
            f"'bench' AS actor, {event_unit} AS unit, {deadline} AS deadline FROM ({series}) AS s "
            f"WHERE {where}"
        )
    if backend != "postgresql":
        rows = {k: v.replace("TRUE", "1") for k, v in rows.items()}
        parts = [p.replace("WHERE TRUE", "WHERE 1") for p in parts]
    rows["events"] = (
        "INSERT INTO case_events (case_id, task_id, at, action, actor, unit, deadline, note, "
        "from_state, to_state, detail) SELECT case_id, task_id, at, action, actor, unit, deadline, "
        "'', '', '', '{}' FROM (" + " UNION ALL ".join(parts) + ") AS e"
    )
    return rows


def generate(url: str, n: int) -> tuple[float, int]:
    """Write the history; (seconds, events)."""
    from gridgeo.store.core import Store

    started = time.perf_counter()
    with Store(url) as store, store.engine.begin() as conn:
        backend = store.backend
        for table, statement in _sql(backend).items():
            conn.execute(text(statement), {"n": n})
            print(f"  {table} written ({time.perf_counter() - started:.0f} s)", file=sys.stderr)
        events = conn.execute(text("SELECT count(*) FROM case_events")).scalar_one()
        conn.execute(text("ANALYZE"))
    return time.perf_counter() - started, int(events)


def expected(n: int) -> dict[str, int]:
    """The month's totals, from the generator's rules (cutoff: the end of November)."""
    month = 30 * 86400 - 8 * 3600  # the cutoff: midnight of December 1 in Beijing, in UTC

    def closes_in_time(i: int) -> bool:
        handled = 24 * 60 if i % 100 < 60 else 96 * 60
        return int(i * 2505600.0 / n + (handled + 120) * 60) <= month

    closed = sum(1 for i in range(1, n + 1) if i % 100 < 90 and closes_in_time(i))
    return {"registered": n, "closed": closed}


def timed(fn: Any, runs: int = 3) -> tuple[float, Any]:
    result = fn()
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times), result


def run(url: str, n: int, label: str) -> dict[str, Any]:
    from gridgeo.assessment import Period
    from gridgeo.store.assessment import assess
    from gridgeo.store.core import Store

    seconds, events = generate(url, n)
    period = Period.parse("2026-11-01", "2026-12-01")
    store = Store(url)
    out: dict[str, Any] = {"label": label, "generate_s": seconds, "events": events}
    for name, by, level in (("grid level 5", "grid", 5), ("unit", "unit", None)):
        took, found = timed(lambda by=by, level=level: assess(store, period, by, level=level))
        out[name] = (took, len(found.rows), found.totals)
    want = expected(n)
    totals = out["unit"][2]
    assert totals.registered == want["registered"], (totals, want)
    assert totals.closed == want["closed"], (totals, want)
    if store.backend == "postgresql":
        from gridgeo.assessment import Grouping
        from gridgeo.store.assessment import _key_column, _per_case, tune

        query = _per_case(period, _key_column(Grouping.GRID, 5))
        with store.engine.begin() as conn:
            tune(conn)  # as assess() runs it
            compiled = query.compile(conn, compile_kwargs={"literal_binds": True})
            plan = conn.execute(text(f"EXPLAIN ANALYZE {compiled}")).scalars().all()
        out["plan"] = "\n".join(plan)
    store.close()
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=1_000_000)
    args = parser.parse_args()
    results = []
    name, url = create_pg_database()
    try:
        results.append(run(url, args.cases, "PostGIS"))
    finally:
        drop_pg_database(name)
    with tempfile.TemporaryDirectory() as folder:
        lite = f"sqlite:///{folder}/bench.sqlite"
        results.append(run(lite, args.cases, "SpatiaLite"))
    now = dt.datetime.now(dt.UTC)
    print(f"## Assessment over {args.cases:,} cases ({now:%Y-%m-%d %H:%M} UTC, {machine()})")
    print()
    print("| store | events | by grid, level 5 | by unit | target |")
    print("|---|---|---|---|---|")
    for r in results:
        target = 5 if r["label"] == "PostGIS" else 15
        grid, unit = r["grid level 5"], r["unit"]
        met = "met" if max(grid[0], unit[0]) <= target else "NOT met"
        print(
            f"| {r['label']} | {r['events']:,} | {grid[0]:.2f} s ({grid[1]:,} grids) | "
            f"{unit[0]:.2f} s ({unit[1]} units) | <= {target} s: {met} |"
        )
    print()
    t = results[0]["unit"][2]
    print(
        f"Totals (both stores agree): registered {t.registered:,}, due {t.due:,}, closed "
        f"{t.closed:,}, on time {t.on_time:,}, rework {t.rework:,}, extended {t.extended:,}, "
        f"overdue open {t.overdue_open:,}. History written in {results[0]['generate_s']:.0f} s "
        f"(PostGIS) and {results[1]['generate_s']:.0f} s (SpatiaLite)."
    )
    assert results[0]["unit"][2] == results[1]["unit"][2], "the two stores disagree"
    print()
    print("PostgreSQL plan (by grid, level 5):")
    print()
    print("```")
    print(results[0].get("plan", ""))
    print("```")


if __name__ == "__main__":
    main()
