"""Assessment indicators counted in SQL from a case history with answers worked out by hand,
imported through the event-log import, on SpatiaLite and PostGIS; and the pure rules
(periods, rates, score, ranking) with their bad input."""

from __future__ import annotations

import doctest
from datetime import date, datetime
from pathlib import Path

import pytest
from casehelpers import published_store

import gridgeo.assessment
from gridgeo.assessment import (
    DEFAULT_WEIGHTS,
    AssessmentError,
    IndicatorRow,
    Period,
    parse_grouping,
    parse_time,
    parse_weights,
    ranked,
)
from gridgeo.dataset import Dataset
from gridgeo.settings import Settings, StoreSettings
from gridgeo.store.assessment import assess, overdue_open
from gridgeo.store.core import Store
from gridgeo.store.datasets import load_dataset
from gridgeo.store.event_log import import_events

W = "110.2965,25.2775"  # 文明社区 (450302001001), workstation WS450302001001
M = "110.2915,25.28"  # 五美社区 (450302001002), workstation WS450302001002
ENF, TP = "ENF-450302001", "TP-450302"
NOVEMBER = Period.parse("2026-11-01", "2026-11-30")


def _case(key: str, where: str, category: str, rows: list[tuple[str, ...]]) -> list[str]:
    """Event rows of one case: (at, action, unit, deadline, actor)."""
    out = []
    for at, action, unit, deadline, actor in rows:
        out.append(f"{key},{at},{action},{unit},{deadline},{actor},{where},wgs84,{category},")
    return out


D = "2026-11-0"  # November, single-digit days
HISTORY = [
    # K1: on time
    *_case("K1", W, "0101", [
        (f"{D}2T08:00+08:00", "report", "", "", "热线"),
        (f"{D}2T09:00+08:00", "register", "", "", "街道"),
        (f"{D}2T09:10+08:00", "dispatch", ENF, f"{D}5T17:00+08:00", "街道"),
        (f"{D}4T10:00+08:00", "handle", ENF, "", "执法队王"),
        (f"{D}4T11:00+08:00", "verify_pass", ENF, "", "监督员张"),
        (f"{D}4T12:00+08:00", "close", "", "", "街道"),
    ]),
    # K2: a rework, handled again after the deadline: closed late
    *_case("K2", W, "0101", [
        (f"{D}3T08:00+08:00", "report", "", "", "热线"),
        (f"{D}3T09:00+08:00", "register", "", "", "街道"),
        (f"{D}3T09:10+08:00", "dispatch", ENF, f"{D}6T17:00+08:00", "街道"),
        (f"{D}6T10:00+08:00", "handle", ENF, "", "执法队王"),
        (f"{D}6T12:00+08:00", "verify_fail", ENF, "", "监督员张"),
        (f"{D}7T09:00+08:00", "handle", ENF, "", "执法队王"),
        (f"{D}7T10:00+08:00", "verify_pass", ENF, "", "监督员张"),
        (f"{D}7T11:00+08:00", "close", "", "", "街道"),
    ]),
    # K3: extended, handled before the extended deadline: on time
    *_case("K3", M, "0505", [
        ("2026-11-10T08:00+08:00", "report", "", "", "热线"),
        ("2026-11-10T09:00+08:00", "register", "", "", "街道"),
        ("2026-11-10T09:10+08:00", "dispatch", TP, "2026-11-12T17:00+08:00", "街道"),
        ("2026-11-12T10:00+08:00", "request_extension", TP, "2026-11-15T17:00+08:00", "交警刘"),
        ("2026-11-12T11:00+08:00", "extend", TP, "2026-11-15T17:00+08:00", "街道"),
        ("2026-11-14T10:00+08:00", "handle", TP, "", "交警刘"),
        ("2026-11-14T11:00+08:00", "verify_pass", TP, "", "监督员张"),
        ("2026-11-14T12:00+08:00", "close", "", "", "街道"),
    ]),
    # K4: never handled: overdue and open
    *_case("K4", M, "0505", [
        ("2026-11-20T08:00+08:00", "report", "", "", "热线"),
        ("2026-11-20T09:00+08:00", "register", "", "", "街道"),
        ("2026-11-20T09:10+08:00", "dispatch", TP, "2026-11-22T17:00+08:00", "街道"),
    ]),
    # K5: its deadline lies after the cutoff: registered, not due
    *_case("K5", W, "0505", [
        ("2026-11-27T08:00+08:00", "report", "", "", "热线"),
        ("2026-11-27T09:00+08:00", "register", "", "", "街道"),
        ("2026-11-27T09:10+08:00", "dispatch", TP, "2026-12-03T17:00+08:00", "街道"),
    ]),
    # K6: registered before the period (closed within it): not counted
    *_case("K6", W, "0101", [
        ("2026-10-30T08:00+08:00", "report", "", "", "热线"),
        ("2026-10-30T09:00+08:00", "register", "", "", "街道"),
        ("2026-10-30T09:10+08:00", "dispatch", ENF, f"{D}1T17:00+08:00", "街道"),
        (f"{D}1T10:00+08:00", "handle", ENF, "", "执法队王"),
        (f"{D}1T11:00+08:00", "verify_pass", ENF, "", "监督员张"),
        (f"{D}2T08:00+08:00", "close", "", "", "街道"),
    ]),
    # K7: rejected: never registered
    *_case("K7", M, "0505", [
        ("2026-11-15T08:00+08:00", "report", "", "", "热线"),
        ("2026-11-15T09:00+08:00", "reject", "", "", "街道"),
    ]),
    # K8: two units; the traffic police on time, the enforcement team late
    *_case("K8", W, "0101", [
        ("2026-11-25T08:00+08:00", "report", "", "", "热线"),
        ("2026-11-25T09:00+08:00", "register", "", "", "街道"),
        ("2026-11-25T09:10+08:00", "dispatch", ENF, "2026-11-26T17:00+08:00", "街道"),
        ("2026-11-25T09:10+08:00", "dispatch", TP, "2026-11-26T17:00+08:00", "街道"),
        ("2026-11-26T10:00+08:00", "handle", TP, "", "交警刘"),
        ("2026-11-26T11:00+08:00", "verify_pass", TP, "", "监督员张"),
        ("2026-11-27T10:00+08:00", "handle", ENF, "", "执法队王"),
        ("2026-11-27T11:00+08:00", "verify_pass", ENF, "", "监督员张"),
        ("2026-11-27T12:00+08:00", "close", "", "", "街道"),
    ]),
    # K9: overdue at the cutoff; handled and closed after it (those events do not count)
    *_case("K9", M, "0505", [
        ("2026-11-28T08:00+08:00", "report", "", "", "热线"),
        ("2026-11-28T09:00+08:00", "register", "", "", "街道"),
        ("2026-11-28T09:10+08:00", "dispatch", TP, "2026-11-29T12:00+08:00", "街道"),
        ("2026-11-30T10:00+08:00", "handle", TP, "", "交警刘"),
        ("2026-11-30T11:00+08:00", "verify_pass", TP, "", "监督员张"),
        ("2026-11-30T12:00+08:00", "close", "", "", "街道"),
    ]),
]  # fmt: skip

# (registered, due, closed, on_time, rework, extended, overdue_open), worked out by hand
EXPECTED = {
    "unit": {ENF: (3, 3, 3, 1, 1, 0, 0), TP: (5, 4, 2, 2, 0, 1, 2)},
    "grid": {"450302001001": (4, 3, 3, 1, 1, 0, 0), "450302001002": (3, 3, 1, 1, 0, 1, 2)},
    "workstation": {
        "WS450302001001": (4, 3, 3, 1, 1, 0, 0),
        "WS450302001002": (3, 3, 1, 1, 0, 1, 2),
    },
    "category": {"0101": (3, 3, 3, 1, 1, 0, 0), "0505": (4, 3, 1, 1, 0, 1, 2)},
    "person": {"执法队王": (3, 3, 3, 1, 1, 0, 0), "交警刘": (2, 2, 2, 2, 0, 1, 0)},
}
TOTALS = (7, 6, 4, 2, 1, 1, 2)
COUNTS = ("registered", "due", "closed", "on_time", "rework", "extended", "overdue_open")


@pytest.fixture(scope="module", params=["sqlite", "postgis"])
def history(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> tuple[Store, Dataset]:
    from conftest import _drop_postgis_database, _fresh_postgis_database

    folder = tmp_path_factory.mktemp("assess")
    if request.param == "sqlite":
        url = f"sqlite:///{folder / 'store.sqlite'}"
    else:
        name, url = _fresh_postgis_database()
        request.addfinalizer(lambda: _drop_postgis_database(name))
    store = published_store(url)
    data = load_dataset(store, Settings(store=StoreSettings(database_url=url)))
    log = folder / "history.csv"
    header = "case_id,at,action,unit,deadline,actor,lon,lat,crs,category,note"
    log.write_text("\n".join([header, *HISTORY]) + "\n", encoding="utf-8")
    report = import_events(store, log, data=data, actor="test", commit=True)
    assert report.ok, [p.text("en") for p in report.problems]
    return store, data


def _table(found: object) -> dict[str, tuple[int, ...]]:
    return {r.key: tuple(getattr(r, k) for k in COUNTS) for r in found.rows}  # type: ignore[attr-defined]


@pytest.mark.parametrize("by", ["unit", "grid", "workstation", "category", "person"])
def test_every_indicator_per_grouping(history: tuple[Store, Dataset], by: str) -> None:
    store, data = history
    found = assess(store, NOVEMBER, by, level=4 if by == "grid" else None, data=data)
    assert _table(found) == EXPECTED[by]
    assert tuple(getattr(found.totals, k) for k in COUNTS) == TOTALS


def test_rates_names_and_ranking(history: tuple[Store, Dataset]) -> None:
    store, data = history
    found = assess(store, NOVEMBER, "unit", data=data)
    tp = next(r for r in found.rows if r.key == TP)
    assert tp.name == "秀峰区交警大队"
    assert (tp.closure_rate, tp.on_time_rate, tp.extension_rate) == (0.5, 0.5, 0.25)
    enf = next(r for r in found.rows if r.key == ENF)
    assert enf.closure_rate == 1.0 and enf.rework_rate == pytest.approx(1 / 3)
    # scores by the default weights, by hand
    assert enf.score == pytest.approx(100 * (0.3 * 1 + 0.4 / 3 + 0.15 * (2 / 3) + 0.15))
    assert tp.score == pytest.approx(100 * (0.3 * 0.5 + 0.4 * 0.5 + 0.15 + 0.15 * 0.75))
    assert [r.key for r in found.rows] == [ENF, TP] and [r.rank for r in found.rows] == [1, 2]
    grids = assess(store, NOVEMBER, "grid", level=4, data=data)
    assert {r.key: r.name for r in grids.rows} == {
        "450302001001": "文明社区",
        "450302001002": "五美社区",
    }
    # a case counts for its grid's ancestors too
    street = assess(store, NOVEMBER, "grid", level=3, data=data)
    assert _table(street) == {"450302001": TOTALS}


def test_the_cutoff_and_empty_periods(history: tuple[Store, Dataset]) -> None:
    store, data = history
    # as of the end of November 30 K9's closing counts: closed, but handled after its
    # deadline (not on time), and no longer overdue open
    whole = assess(store, Period.parse("2026-11-01", "2026-12-01"), "unit", data=data)
    assert _table(whole)[TP] == (5, 4, 3, 2, 0, 1, 1)
    empty = assess(store, Period.parse("2025-01-01", "2025-02-01"), "unit", data=data)
    assert empty.rows == () and empty.totals.due == 0 and empty.totals.closure_rate is None
    # open tasks past their deadline: K4's (K9's task is verified by now)
    late = overdue_open(store, NOVEMBER.end)
    assert [(r["unit"], r["deadline"][:16]) for r in late] == [(TP, "2026-11-22T09:00")]
    assert late[0]["overdue_hours"] == 7 * 24 + 7 and late[0]["unit_name"] == "秀峰区交警大队"


def test_only_volunteers(history: tuple[Store, Dataset]) -> None:
    store, data = history
    found = assess(store, NOVEMBER, "unit", data=data, unit_types={"volunteer"})
    assert found.rows == ()


def test_bad_input_is_named(history: tuple[Store, Dataset]) -> None:
    store, data = history
    with pytest.raises(AssessmentError, match="needs the grid level"):
        assess(store, NOVEMBER, "grid", data=data)
    with pytest.raises(AssessmentError, match="level 7 does not exist"):
        assess(store, NOVEMBER, "grid", level=7, data=data)
    with pytest.raises(AssessmentError, match="unknown grouping 'street'"):
        assess(store, NOVEMBER, "street", data=data)
    with pytest.raises(AssessmentError, match="--level is for by=grid"):
        assess(store, NOVEMBER, "unit", level=4, data=data)


def test_pure_rules() -> None:
    assert doctest.testmod(gridgeo.assessment).failed == 0
    with pytest.raises(AssessmentError, match="'to' must be after 'from'"):
        Period.parse("2026-12-01", "2026-11-01")
    with pytest.raises(AssessmentError, match="has no time zone"):
        parse_time("2026-11-01T09:00", "from")
    with pytest.raises(AssessmentError, match="not a date"):
        parse_time("11/01/2026", "from")
    with pytest.raises(AssessmentError, match="unknown weight 'speed'"):
        parse_weights("speed=1")
    assert parse_grouping(" Unit ").value == "unit"
    day = Period.of("day", date(2026, 11, 3))
    assert day.to_dict() == {"from": "2026-11-03T00:00:00+08:00", "to": "2026-11-04T00:00:00+08:00"}
    # the county of the domain notes: 911 / 972 = 93.72 %, 737 / 972 = 75.82 %
    county = IndicatorRow.of("x", "", registered=996, due=972, closed=911, on_time=737)
    assert round(county.closure_rate or 0, 4) == 0.9372
    assert round(county.on_time_rate or 0, 4) == 0.7582
    none_due = IndicatorRow.of("z", "", registered=3)
    same = [IndicatorRow.of(k, "", registered=1, due=1, closed=1, on_time=1) for k in "ab"]
    rows = ranked([none_due, *same], DEFAULT_WEIGHTS)
    assert [(r.key, r.rank) for r in rows] == [("a", 1), ("b", 1), ("z", None)]
    assert rows[-1].score is None and rows[-1].closure_rate is None


def test_http_and_cli_answer_the_same(
    history: tuple[Store, Dataset], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import csv as csv_module
    import json

    from fastapi.testclient import TestClient
    from openpyxl import load_workbook

    from gridgeo.api.app import create_app
    from gridgeo.cli.main import main

    store, _ = history
    url = store.url
    query = "from=2026-11-01&to=2026-11-30&by=grid&level=4"
    with TestClient(create_app(Settings(store=StoreSettings(database_url=url)))) as client:
        answer = client.get(f"/v1/assessment?{query}").json()
        assert client.get("/v1/assessment?from=2026-11-30&to=2026-11-01&by=unit").status_code == 400
        bad = client.get("/v1/assessment?from=2026-11-01&to=2026-11-30&by=street")
        assert bad.status_code == 422
        no_zone = client.get("/v1/assessment?from=2026-11-01T08:00&to=2026-11-30&by=unit")
        assert no_zone.status_code == 400 and "缺少时区" in no_zone.json()["detail"]
    assert answer["period"] == {
        "from": "2026-11-01T00:00:00+08:00",
        "to": "2026-11-30T00:00:00+08:00",
    }
    rows = {r["key"]: r for r in answer["rows"]}
    assert (
        rows["450302001002"]["overdue_open"] == 2 and rows["450302001002"]["closure_rate"] == 1 / 3
    )
    assert set(answer["rows"][0]) >= {"registered", "due", "on_time_rate", "score", "rank"}

    base = ["assess", "--from", "2026-11-01", "--to", "2026-11-30", "--database-url", url]
    assert main([*base, "--by", "grid", "--level", "4", "--format", "json"]) == 0
    assert json.loads(capsys.readouterr().out)["rows"] == answer["rows"]
    assert main([*base, "--by", "unit"]) == 0
    text = capsys.readouterr().out
    assert "按期结案率" in text and "秀峰区交警大队" in text and "50.00%" in text
    out = tmp_path / "units.csv"
    assert main([*base, "--by", "unit", "--format", "csv", "-o", str(out)]) == 0
    assert out.read_bytes().startswith(b"\xef\xbb\xbf")  # a BOM: Excel reads it as UTF-8
    table = list(csv_module.reader(out.read_text(encoding="utf-8-sig").splitlines()))
    assert table[0][:4] == ["编码", "责任单位", "立案数", "应结案数"]
    book = tmp_path / "units.xlsx"
    assert main([*base, "--by", "unit", "--format", "xlsx", "-o", str(book)]) == 0
    sheet = load_workbook(book).active
    assert sheet is not None and sheet["A1"].value == "编码" and sheet["J1"].value == "结案率"
    tp = next(r for r in sheet.iter_rows(min_row=2) if r[0].value == TP)
    assert tp[9].value == 0.5 and tp[9].number_format == "0.00%"
    assert main([*base, "--by", "grid", "--lang", "en"]) == 2
    assert "needs the grid level" in capsys.readouterr().err


def test_cutoffs_between_extensions_and_handlings(store_url: str) -> None:
    """The deadline in force and the last handler at a cutoff before later extensions and
    handlings: the task's kept facts, and the event log for a cutoff before two of them."""
    from datetime import datetime

    from gridgeo.caseflow import Action, Actor
    from gridgeo.deadlines import BEIJING
    from gridgeo.roles import Role
    from gridgeo.store.cases import NewCase, report_case
    from gridgeo.store.casework import ActionRequest, act

    store = published_store(store_url)
    data = load_dataset(store, Settings(store=StoreSettings(database_url=store_url)))

    def nov(day: int, hour: int = 0) -> datetime:
        return datetime(2026, 11, day, hour, tzinfo=BEIJING)

    office = Actor("街道", Role.ADMIN)
    new = NewCase(lon=110.2965, lat=25.2775, category="0505", at=nov(1, 8))
    cid = report_case(store, data, new, actor="热线").id
    steps = [
        (Action.REGISTER, {}, nov(1, 8)),
        (Action.DISPATCH, {"units": (TP,), "deadline": nov(2)}, nov(1, 9)),
        (Action.REQUEST_EXTENSION, {"unit": TP, "deadline": nov(10)}, nov(3)),
        (Action.EXTEND, {"unit": TP}, nov(3, 1)),
        (Action.REQUEST_EXTENSION, {"unit": TP, "deadline": nov(20)}, nov(8)),
        (Action.EXTEND, {"unit": TP}, nov(8, 1)),
    ]
    for action, extra, at in steps:
        act(store, cid, ActionRequest(action, at=at, **extra), office)  # type: ignore[arg-type]
    act(store, cid, ActionRequest(Action.HANDLE, unit=TP, at=nov(9)), Actor("甲", Role.ADMIN))
    act(store, cid, ActionRequest(Action.VERIFY_FAIL, unit=TP, at=nov(9, 2)), office)
    act(store, cid, ActionRequest(Action.HANDLE, unit=TP, at=nov(11)), Actor("乙", Role.ADMIN))

    def as_of(cutoff: datetime, by: str = "unit") -> dict[str, tuple[int, ...]]:
        return _table(assess(store, Period(nov(1), cutoff), by, data=data))

    # overdue open: the first deadline (2 Nov) before both extensions, then 10 Nov, then 20 Nov
    assert as_of(nov(2, 12))[TP][6] == 1  # both extensions came later: the event log answers
    assert as_of(nov(5))[TP][6] == 0  # after the first extension (10 Nov), before the second
    assert as_of(nov(12))[TP][6] == 0  # after the second (20 Nov)
    assert as_of(nov(21))[TP][6] == 1
    # the extension and the failed check count from when they happened
    assert as_of(nov(2, 12))[TP][4:6] == (0, 0) and as_of(nov(21))[TP][4:6] == (1, 1)
    # the last handler as of the cutoff: 甲 before 乙's handling, 乙 after
    assert set(as_of(nov(10), "person")) == {"甲"}
    assert set(as_of(nov(12), "person")) == {"乙"}
    assert as_of(nov(8), "person") == {}


def _oracle(
    cases: list[dict[str, object]], start: datetime, cutoff: datetime
) -> dict[str, dict[str, tuple[int, ...]]]:
    """The indicators by their definitions, straight from each case's event list (an
    independent count in Python to check the SQL against)."""
    from collections import defaultdict

    def zero() -> list[int]:
        return [0] * 7

    by_unit: dict[str, list[int]] = defaultdict(zero)
    by_grid: dict[str, list[int]] = defaultdict(zero)
    for case in cases:
        events = [e for e in case["events"] if e[0] <= cutoff]  # type: ignore[attr-defined]
        registered = [e[0] for e in events if e[1] == "register"]
        if not registered or not start <= registered[0] < cutoff:
            continue
        closed = any(e[1] == "close" for e in events)
        deadlines = [e[3] for e in events if e[1] in ("dispatch", "extend")]
        deadline = max(deadlines) if deadlines else None
        last_handle = max((e[0] for e in events if e[1] == "handle"), default=None)
        failed = any(e[1] == "verify_fail" for e in events)
        extended = any(e[1] == "extend" for e in events)
        due = closed or (deadline is not None and deadline <= cutoff)
        on_time = (
            closed and last_handle is not None and deadline is not None and last_handle <= deadline
        )
        row = (
            1,
            int(due),
            int(closed),
            int(on_time),
            int(due and failed),
            int(due and extended),
            int(not closed and deadline is not None and deadline <= cutoff),
        )
        for counts, key in ((by_unit, case["unit"]), (by_grid, case["grid"])):
            counts[str(key)] = [a + b for a, b in zip(counts[str(key)], row, strict=True)]
    return {
        "unit": {k: tuple(v) for k, v in by_unit.items()},
        "grid": {k: tuple(v) for k, v in by_grid.items()},
    }


def test_a_generated_history_matches_the_definitions(store_url: str, tmp_path: Path) -> None:
    """120 generated cases with random fates (one unit each), imported through the event
    log: every indicator per unit and per community equals the definitions' count, for
    several cutoffs."""
    import random
    from datetime import datetime, timedelta

    from gridgeo.deadlines import BEIJING

    rng = random.Random(20261201)
    store = published_store(store_url)
    data = load_dataset(store, Settings(store=StoreSettings(database_url=store_url)))
    places = {"450302001001": W, "450302001002": M}
    units = (ENF, TP)
    cases: list[dict[str, object]] = []
    lines = ["case_id,at,action,unit,deadline,actor,lon,lat,crs,category,note"]
    for n in range(120):
        grid, unit = rng.choice(list(places)), rng.choice(units)
        t = datetime(2026, 10, 25, tzinfo=BEIJING) + timedelta(hours=rng.uniform(0, 24 * 33))
        deadline = t + timedelta(hours=rng.choice((4, 24, 72)))
        events = [(t, "report", "", None), (t + timedelta(minutes=10), "register", "", None)]
        events.append((t + timedelta(minutes=20), "dispatch", unit, deadline))
        clock = t + timedelta(hours=1)
        fate = rng.random()
        if fate < 0.15:  # an extension granted
            clock += timedelta(hours=rng.uniform(0, 30))
            deadline = deadline + timedelta(hours=48)
            events.append((clock, "request_extension", unit, deadline))
            events.append((clock + timedelta(minutes=5), "extend", unit, deadline))
        if fate < 0.85:  # handled, maybe failed once, then verified and closed
            for failed in ([True] if rng.random() < 0.2 else []) + [False]:
                clock += timedelta(hours=rng.uniform(1, 60))
                events.append((clock, "handle", unit, None))
                clock += timedelta(hours=1)
                events.append((clock, "verify_fail" if failed else "verify_pass", unit, None))
            events.append((clock + timedelta(hours=1), "close", "", None))
        cases.append({"unit": unit, "grid": grid, "events": events})
        where = places[grid]
        for at, action, who, due in events:
            if at > datetime(2026, 12, 1, 20, tzinfo=BEIJING):
                break  # the import refuses times in the future
            stamp = at.isoformat(timespec="seconds")
            limit = due.isoformat(timespec="seconds") if due else ""
            lines.append(f"G{n},{stamp},{action},{who},{limit},t,{where},wgs84,0505,")
        cases[-1]["events"] = [
            e for e in events if e[0] <= datetime(2026, 12, 1, 20, tzinfo=BEIJING)
        ]
    log = tmp_path / "generated.csv"
    log.write_text("\n".join(lines) + "\n", encoding="utf-8")
    report = import_events(store, log, data=data, actor="test", commit=True)
    assert report.ok, [p.text("en") for p in report.problems][:5]
    start = datetime(2026, 11, 1, tzinfo=BEIJING)
    for cutoff in (
        datetime(2026, 11, 10, tzinfo=BEIJING),
        datetime(2026, 11, 20, 13, tzinfo=BEIJING),
        datetime(2026, 12, 1, tzinfo=BEIJING),
    ):
        want = _oracle(cases, start, cutoff)
        period = Period(start, cutoff)
        assert _table(assess(store, period, "unit", data=data)) == want["unit"], cutoff
        assert _table(assess(store, period, "grid", level=4, data=data)) == want["grid"], cutoff


def test_a_period_not_over_yet_counts_as_of_now(history: tuple[Store, Dataset]) -> None:
    """To the middle of November: K4 (deadline 22 Nov) is not yet due on the 21st, whatever
    the period's end; a period that has not begun has nothing in it."""
    from datetime import datetime

    from gridgeo.deadlines import BEIJING

    store, data = history
    mid = datetime(2026, 11, 21, tzinfo=BEIJING)
    month = Period.parse("2026-11-01", "2026-12-01")
    so_far = assess(store, month, "unit", data=data, now=mid)
    assert so_far.period == month  # the answer names the period asked for
    assert _table(so_far) == _table(assess(store, Period(month.start, mid), "unit", data=data))
    assert _table(so_far)[TP][6] == 0  # K4 not overdue yet
    ahead = assess(store, Period.parse("2027-01-01", "2027-02-01"), "unit", data=data, now=mid)
    assert ahead.rows == () and ahead.totals.registered == 0
