"""The viewer's work-loop case layer in headless Chromium, against a real uvicorn server on
loopback serving a fresh SQLite store seeded with the sample.

Cases are made through the store core (report, register, dispatch, handle, verify, close)
so that every state is there, one case overdue (dispatched two days ago with a one-hour
deadline). Checks: one circle per case in its state's colour, the overdue one ringed in
red and counted; the legend; a click shows the case, its tasks and its timeline in
Beijing time; the filters by state, unit and category narrow the count; an action taken
while the page is open recolours the marker (through ``/v1/events`` when the service has
it); more cases than the viewer loads whole are read per view. No request leaves
127.0.0.1. ``GRIDGEO_SAVE_SCREENSHOTS=1`` writes docs/screenshots/viewer-cases.png.
"""

from __future__ import annotations

import http.client
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from urllib.parse import urlsplit

import numpy as np
import pytest
import shapely
from browser import Guard, chromium, guarded_page, screenshot
from live_server import serve
from playwright.sync_api import Browser, Page

from gridgeo.api.app import create_app
from gridgeo.caseflow import Action, Actor, CaseState
from gridgeo.dataset import Dataset
from gridgeo.levels import Level
from gridgeo.maps.viewer import CASE_STATE_COLORS, OVERDUE_COLOR
from gridgeo.roles import Role
from gridgeo.settings import Settings, StoreSettings
from gridgeo.store import schema as t
from gridgeo.store.case_queries import case_detail
from gridgeo.store.cases import NewCase, report_case
from gridgeo.store.casework import ActionRequest, act
from gridgeo.store.core import Store

REPO = Path(__file__).resolve().parents[1]
SHOTS = REPO / "docs" / "screenshots"
BEIJING = timezone(timedelta(hours=8))
OFFICE = Actor("秀峰街道指挥中心", Role.DISPATCHER)
ENFORCEMENT = "ENF-450302001"
TRAFFIC = "TP-450302"
HANDLER = Actor("执法队城管通", Role.HANDLER, unit=ENFORCEMENT)
INSPECTOR = Actor("网格监督员", Role.INSPECTOR, grids=("450302",))
NOTE = "车辆占用人行道，已电话通知交警"
# name: (category, steps after the report in order, description)
PLAN: dict[str, tuple[str, tuple[str, ...], str]] = {
    "reported": ("0505", (), "小区门口机动车占道停放"),
    "registered": ("0101", ("register",), "楼顶加建彩钢棚"),
    "rejected": ("0101", ("reject",), "院内自建车棚（非公共区域）"),
    "dispatched": ("0505", ("register", "dispatch"), "公交站台前车辆违停"),
    "overdue": ("0505", ("register", "dispatch"), "人行道上机动车乱停放，影响通行"),
    "handled": ("0101", ("register", "dispatch", "handle"), "临街搭建简易棚"),
    "verified": ("0101", ("register", "dispatch", "handle", "verify_pass"), "绿地内搭建板房"),
    "closed": (
        "0101",
        ("register", "dispatch", "handle", "verify_pass", "close"),
        "巷口私搭雨棚",
    ),
    "live": ("0505", ("register",), "消防通道旁车辆停放"),  # dispatched while a page is open
    "refreshed": ("0101", ("register",), "屋顶违建"),  # dispatched, then refetched by the page
}


@dataclass
class Loop:
    url: str
    store: Store
    data: Dataset
    ids: dict[str, int]
    points: list[tuple[float, float]]
    events: bool | None = None

    def state(self, name: str) -> str:
        return str(case_detail(self.store, self.ids[name]).case.state)

    def states(self) -> dict[int, str]:
        return {i: str(case_detail(self.store, i).case.state) for i in self.ids.values()}

    @property
    def has_events(self) -> bool:
        """Whether the service streams ``/v1/events`` (asked once, by a request)."""
        if self.events is None:
            parts = urlsplit(self.url)
            conn = http.client.HTTPConnection(parts.hostname or "", parts.port, timeout=10)
            try:
                conn.request("GET", "/v1/events", headers={"Accept": "text/event-stream"})
                answer = conn.getresponse()
                kind = answer.getheader("content-type") or ""
                self.events = answer.status == 200 and kind.startswith("text/event-stream")
            finally:
                conn.close()
        return self.events


def _points(data: Dataset, n: int) -> list[tuple[float, float]]:
    """A point inside each of ``n`` fifth-level grids spread over the sample."""
    leaf = np.flatnonzero(np.asarray(data.grids.levels) == int(Level.GRID))
    chosen = leaf[np.linspace(0, len(leaf) - 1, n).round().astype(int)]
    inside = shapely.point_on_surface(np.asarray(data.grids.geometries)[chosen])
    return [(float(p.x), float(p.y)) for p in inside]


def _step(loop: Loop, case_id: int, step: str, at: datetime | None, units: tuple[str, ...]) -> None:
    now = at or t.utcnow()
    requests = {
        "register": (ActionRequest(Action.REGISTER, at=at), OFFICE),
        "reject": (ActionRequest(Action.REJECT, note="不属于城市管理范围", at=at), OFFICE),
        "dispatch": (
            ActionRequest(
                Action.DISPATCH,
                units=units,
                deadline=now + (timedelta(hours=1) if at else timedelta(days=3)),
                note=NOTE if at else "",
                at=at,
            ),
            OFFICE,
        ),
        "handle": (ActionRequest(Action.HANDLE, unit=ENFORCEMENT, note="已拆除"), HANDLER),
        "verify_pass": (ActionRequest(Action.VERIFY_PASS, unit=ENFORCEMENT), INSPECTOR),
        "close": (ActionRequest(Action.CLOSE), OFFICE),
    }
    request, actor = requests[step]
    act(loop.store, case_id, request, actor, data=loop.data)


def _seed(loop: Loop) -> None:
    past = t.utcnow() - timedelta(days=2)
    for (name, (category, steps, text)), (lon, lat) in zip(PLAN.items(), loop.points, strict=True):
        at = past if name == "overdue" else None
        new = NewCase(
            lon=lon,
            lat=lat,
            crs="cgcs2000",
            category=category,
            description=text,
            address=f"秀峰区测试路{len(loop.ids) + 1}号",
            at=past - timedelta(hours=1) if at else None,
        )
        case = report_case(loop.store, loop.data, new, actor="12345热线")
        loop.ids[name] = case.id
        units = (TRAFFIC,) if category == "0505" else (ENFORCEMENT,)
        for step in steps:
            _step(loop, case.id, step, at, units)


@pytest.fixture(scope="module")
def loop(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Loop]:
    folder = tmp_path_factory.mktemp("loop")
    app = create_app(
        Settings(store=StoreSettings(database_url=f"sqlite:///{folder / 'store.sqlite'}"))
    )
    with serve(app) as url:
        data = app.state.live.current
        found = Loop(url, app.state.store, data, {}, _points(data, len(PLAN)))
        _seed(found)
        yield found


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with chromium() as b:
        yield b


Opener = Callable[[str], tuple[Page, Guard]]


@pytest.fixture
def open_map(browser: Browser) -> Iterator[Opener]:
    """Opens the viewer with its case layer on, once the cases are drawn; closes its pages
    after the test (an open event stream would hold the server's shutdown)."""
    opened: list[Page] = []

    def open_(url: str) -> tuple[Page, Guard]:
        page, guard = guarded_page(browser)
        opened.append(page)
        page.goto(f"{url}/map")
        page.wait_for_function("() => window.gridgeoReady === true", timeout=30000)
        page.check("#gg-cases")
        page.wait_for_function(
            "() => window.gridgeoCases && window.gridgeoCases.loaded", timeout=15000
        )
        page.wait_for_timeout(200)
        return page, guard

    yield open_
    for page in opened:
        page.context.close()


def _offline(guard: Guard) -> None:
    assert guard.blocked == [], f"requests left the machine: {guard.blocked}"
    assert guard.errors == [], f"page errors: {guard.errors}"


def _markers(page: Page) -> dict[int, dict[str, str]]:
    """Every case circle on the page: id -> fill, stroke, state and classes."""
    found = page.evaluate(
        """() => Array.from(document.querySelectorAll('path[data-case-id]')).map(p => [
            p.getAttribute('data-case-id'), p.getAttribute('fill'), p.getAttribute('stroke'),
            p.getAttribute('data-state'), p.getAttribute('class')])"""
    )
    return {
        int(i): {"fill": fill, "stroke": stroke, "state": state, "class": cls}
        for i, fill, stroke, state, cls in found
    }


def _count(page: Page) -> str:
    return str(page.inner_text("#gg-case-count"))


def _click_case(page: Page, loop: Loop, name: str) -> str:
    """Centre the map on a case, click its circle, and return the popup's text once complete."""
    detail = case_detail(loop.store, loop.ids[name]).case
    page.evaluate(
        "([lat, lon]) => { const m = window.gridgeoMap; m.closePopup();"
        " m.setView([lat, lon], 16, {animate: false}); }",
        [detail.lat, detail.lon],
    )
    page.wait_for_timeout(300)
    page.click(f'path[data-case-id="{loop.ids[name]}"]')
    page.wait_for_selector(f'.leaflet-popup-content .gg-case[data-case-id="{loop.ids[name]}"]')
    page.wait_for_selector(".leaflet-popup-content .gg-timeline")
    return str(page.inner_text(".leaflet-popup-content"))


def _beijing(at: datetime) -> str:
    return at.astimezone(BEIJING).strftime("%Y-%m-%d %H:%M")


def test_cases_are_drawn_by_state_with_the_overdue_ringed(open_map: Opener, loop: Loop) -> None:
    page, guard = open_map(loop.url)
    markers = _markers(page)
    states = loop.states()
    assert set(markers) == set(states)
    for case_id, state in states.items():
        assert markers[case_id]["state"] == state
        assert markers[case_id]["fill"] == CASE_STATE_COLORS[CaseState(state)], state
    assert {s for s in states.values()} == {s.value for s in CaseState}  # all seven states

    # the overdue case: a red ring, counted; the other dispatched case is not overdue
    overdue = [i for i, m in markers.items() if "gg-case-overdue" in (m["class"] or "")]
    assert overdue == [loop.ids["overdue"]]
    assert markers[loop.ids["overdue"]]["stroke"] == OVERDUE_COLOR
    halos = page.evaluate(
        """() => Array.from(document.querySelectorAll('path.gg-case-halo'))
            .map(p => [p.getAttribute('data-halo-of'), p.getAttribute('stroke')])"""
    )
    assert halos == [[str(loop.ids["overdue"]), OVERDUE_COLOR]]  # and a pulsing ring apart
    assert markers[loop.ids["dispatched"]]["stroke"] == "#fff"
    assert page.inner_text("#gg-case-overdue") == "1"
    assert _count(page) == f"（{len(states)}）"

    # the legend: the seven states in Chinese, each with its colour and count
    legend = page.inner_text("#gg-case-states")
    for state in CaseState:
        assert state.label_zh in legend
    swatches = page.evaluate(
        """() => Array.from(document.querySelectorAll('#gg-case-states .gg-dot'))
            .map(d => getComputedStyle(d).backgroundColor)"""
    )
    assert len(swatches) == 7
    dispatched = sum(1 for s in states.values() if s == "dispatched")
    assert f"派遣（{dispatched}）" in legend

    assert any("/v1/cases?limit=" in u for u in guard.allowed)
    assert not any("bbox=" in u for u in guard.allowed if "/v1/cases" in u)  # loaded whole
    # the live indicator is shown; connected only where the service has the event stream
    assert page.is_visible("#gg-live")
    if loop.has_events:
        page.wait_for_selector("#gg-live.gg-live-on", timeout=10000)
    else:
        assert "gg-live-off" in (page.get_attribute("#gg-live", "class") or "")
    _offline(guard)


def test_a_click_shows_the_case_its_tasks_and_timeline(
    open_map: Opener, loop: Loop, tmp_path: Path
) -> None:
    page, guard = open_map(loop.url)
    text = _click_case(page, loop, "overdue")
    detail = case_detail(loop.store, loop.ids["overdue"])
    case = detail.case
    assert f"案件 {case.id}" in text
    assert "0505" in text and "机动车乱停放" in text  # the category's name
    assert case.address in text and case.description in text
    assert str(case.grid_code) in text
    grid_name = loop.data.grids.names[list(loop.data.grids.codes).index(case.grid_code)]
    assert str(grid_name) in text
    assert "一般" in text  # urgency
    assert "超期" in text and "逾期" not in text
    # the timeline, oldest first, in Beijing time: action, unit, actor, note
    assert [e.action.label_zh for e in detail.events] == ["上报", "立案", "派遣"]
    lines = page.locator(".gg-timeline li").all_inner_texts()
    assert len(lines) == 3
    for line, event in zip(lines, detail.events, strict=True):
        assert line.startswith(_beijing(event.at)), line
        assert event.action.label_zh in line and event.actor in line
    assert "秀峰区交警大队" in lines[2] and NOTE in lines[2]
    assert f"处置时限 {_beijing(detail.tasks[0].deadline)}" in lines[2]
    # the task: its unit, state and deadline, in red as it is overdue
    task = page.locator(".gg-tasks tr")
    assert task.count() == 1
    assert "秀峰区交警大队" in task.inner_text() and "待签收" in task.inner_text()
    assert "gg-late" in (task.get_attribute("class") or "")
    assert (
        page.evaluate("() => getComputedStyle(document.querySelector('.gg-tasks tr td')).color")
        == "rgb(204, 0, 0)"
    )
    assert any(u.endswith(f"/v1/cases/{case.id}") for u in guard.allowed)
    # the click went to the case, not to the map's lookup under it
    page.wait_for_timeout(800)
    assert page.locator(".leaflet-popup-content .gg-case").count() == 1
    assert not any("/v1/lookup" in u for u in guard.allowed)

    # every case in view with the popup open, for docs/screenshots
    corners = [(p[1], p[0]) for p in loop.points]
    page.evaluate(
        "(corners) => { const m = window.gridgeoMap; m.closePopup(); m.fitBounds(corners,"
        " {paddingTopLeft: [40, 40], paddingBottomRight: [300, 40], animate: false}); }",
        corners,
    )
    page.wait_for_timeout(300)
    page.click(f'path[data-case-id="{case.id}"]')
    page.wait_for_selector(".leaflet-popup-content .gg-timeline")
    page.wait_for_timeout(500)
    shot = tmp_path / "viewer-cases.png"
    screenshot(page, shot)
    if os.environ.get("GRIDGEO_SAVE_SCREENSHOTS"):
        SHOTS.mkdir(parents=True, exist_ok=True)
        (SHOTS / "viewer-cases.png").write_bytes(shot.read_bytes())
    _offline(guard)


def _units_of(loop: Loop, case_id: int) -> set[str]:
    """The units a case is filtered by: those working it, else the suggested ones."""
    detail = case_detail(loop.store, case_id)
    active = {x.unit for x in detail.tasks if x.state.is_active}
    return active or {u["code"] for u in detail.case.partner_units}


def test_filters_narrow_the_count(open_map: Opener, loop: Loop) -> None:
    page, guard = open_map(loop.url)
    total = len(loop.ids)
    drawn = "() => document.querySelectorAll('path[data-case-id]').length"

    page.uncheck("#gg-case-states input[data-state='closed']")
    page.uncheck("#gg-case-states input[data-state='rejected']")
    assert _count(page) == f"（{total - 2}/{total}）"
    assert page.evaluate(drawn) == total - 2
    page.check("#gg-case-states input[data-state='closed']")
    page.check("#gg-case-states input[data-state='rejected']")
    assert _count(page) == f"（{total}）"

    # units: those seen in the cases' suggestions and tasks, by name
    options = page.locator("#gg-case-unit option").all_inner_texts()
    assert options[0] == "全部单位" and "秀峰区交警大队" in options
    page.select_option("#gg-case-unit", TRAFFIC)
    traffic = [i for i in loop.ids.values() if TRAFFIC in _units_of(loop, i)]
    assert 0 < len(traffic) < total
    assert _count(page) == f"（{len(traffic)}/{total}）"
    assert set(_markers(page)) == set(traffic)
    page.select_option("#gg-case-unit", "")

    categories = page.locator("#gg-case-category option").all_inner_texts()
    assert categories[0] == "全部类别" and "0101 私搭乱建" in categories
    page.select_option("#gg-case-category", "0101")
    structures = [n for n, (category, _, _) in PLAN.items() if category == "0101"]
    assert _count(page) == f"（{len(structures)}/{total}）"
    # a state and a category together; the overdue count follows what is shown
    page.select_option("#gg-case-category", "0505")
    assert page.inner_text("#gg-case-overdue") == "1"
    page.uncheck("#gg-case-states input[data-state='dispatched']")
    assert page.inner_text("#gg-case-overdue") == "0"
    shown = [n for n, (category, _, _) in PLAN.items() if category == "0505"]
    shown = [n for n in shown if loop.state(n) != "dispatched"]
    assert _count(page) == f"（{len(shown)}/{total}）"
    _offline(guard)


def test_a_refetched_case_changes_colour_in_place(open_map: Opener, loop: Loop) -> None:
    """The update path of a live event, driven by hand: dispatch a case through the store,
    ask the page to refetch it, and its circle turns from 立案 to 派遣 without a reload."""
    page, guard = open_map(loop.url)
    case_id = loop.ids["refreshed"]
    assert _markers(page)[case_id]["fill"] == CASE_STATE_COLORS[CaseState.REGISTERED]
    _step(loop, case_id, "dispatch", None, (ENFORCEMENT,))
    page.evaluate("(id) => window.gridgeoCases.refresh(id)", case_id)
    assert _markers(page)[case_id]["fill"] == CASE_STATE_COLORS[CaseState.DISPATCHED]
    assert page.evaluate("() => performance.getEntriesByType('navigation').length") == 1
    _offline(guard)


def test_live_updates_through_the_event_stream(open_map: Opener, loop: Loop) -> None:
    if not loop.has_events:
        pytest.skip("GET /v1/events (the event stream) is not in the service yet")
    page, guard = open_map(loop.url)
    page.wait_for_selector("#gg-live.gg-live-on", timeout=10000)
    case_id = loop.ids["live"]
    assert _markers(page)[case_id]["fill"] == CASE_STATE_COLORS[CaseState.REGISTERED]
    total = len(_markers(page))

    _step(loop, case_id, "dispatch", None, (TRAFFIC,))
    page.wait_for_function(
        '([id, colour]) => { const p = document.querySelector(`path[data-case-id="${id}"]`);'
        " return p && p.getAttribute('fill') === colour; }",
        arg=[case_id, CASE_STATE_COLORS[CaseState.DISPATCHED]],
        timeout=8000,
    )
    # a new report appears too
    lon, lat = loop.points[0]
    new = report_case(
        loop.store, loop.data, NewCase(lon=lon, lat=lat, category="0505"), actor="12345热线"
    )
    page.wait_for_function(
        f"() => document.querySelector('path[data-case-id=\"{new.id}\"]') !== null",
        timeout=8000,
    )
    assert len(_markers(page)) == total + 1
    assert _markers(page)[new.id]["fill"] == CASE_STATE_COLORS[CaseState.REPORTED]
    loop.ids["new"] = new.id
    assert page.evaluate("() => performance.getEntriesByType('navigation').length") == 1
    assert any("/v1/events" in u for u in guard.allowed)
    _offline(guard)


def test_more_cases_than_the_cap_are_read_per_view(
    open_map: Opener, loop: Loop, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("gridgeo.api.routers.viewer.VIEWER_MAX_CASES", 3)
    page, guard = open_map(loop.url)
    page.wait_for_function("() => document.getElementById('gg-case-note').textContent !== ''")
    assert page.inner_text("#gg-case-note") == "仅显示视野内最新的 3 件"
    assert len(_markers(page)) <= 3
    listed = [u for u in guard.allowed if "/v1/cases?" in u]
    assert any("bbox=" in u for u in listed)
    assert all("limit=" in u and int(u.split("limit=")[1].split("&")[0]) <= 4 for u in listed)
    # zoomed in on one case: only the cases in view
    detail = case_detail(loop.store, loop.ids["closed"]).case
    page.evaluate(
        "([lat, lon]) => { window.gridgeoMap.setView([lat, lon], 18, {animate: false}); }",
        [detail.lat, detail.lon],
    )
    page.wait_for_function(
        "() => document.getElementById('gg-case-note').textContent === '仅显示视野内的案件'"
    )
    assert loop.ids["closed"] in _markers(page)
    _offline(guard)


def test_case_layer_in_english(open_map: Opener, loop: Loop) -> None:
    app = create_app(Settings(lang="en", store=StoreSettings(database_url=loop.store.url)))
    with serve(app) as url:
        page, guard = open_map(url)
        legend = page.inner_text("#gg-case-states")
        assert all(state.value in legend for state in CaseState)
        assert "上报" not in legend
        text = _click_case(page, loop, "overdue")
        assert f"case {loop.ids['overdue']}" in text
        assert "timeline (Beijing time)" in text and "dispatch" in text
        assert "overdue" in text
        _offline(guard)
        page.context.close()  # its event stream would hold the server's shutdown
