"""The rendered maps in headless Chromium: offline, drawn in their colours, clickable.

Every request is routed: anything leaving 127.0.0.1 fails the test (and is
aborted). Colour checks compare screenshot pixels with the map's fill colours
composited over the white page; expected codes and counts are computed here
from the data with shapely, independently of the map code.

``GRIDGEO_SAVE_SCREENSHOTS=1`` also writes the screenshots to docs/screenshots/.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import shapely
from browser import (
    chromium,
    click_at,
    container_point,
    guarded_page,
    pixels_near,
    screenshot,
    static_server,
    wait_for_map,
)
from playwright.sync_api import Browser

import gridgeo
from gridgeo.cli.main import main
from gridgeo.dataset import Dataset
from gridgeo.levels import Level
from gridgeo.maps import style
from gridgeo.maps.render import coverage_page

REPO = Path(__file__).resolve().parents[1]
REAL = REPO / "data" / "real" / "guilin_districts.geojson"
CASES = REPO / "data" / "cases" / "sample_cases.csv"
SHOTS = REPO / "docs" / "screenshots"
# a point of 文明社区第2网格 (the pilot workstation stands on it)
KNOWN = (110.3005, 25.2785)
KNOWN_CHAIN = {
    Level.GRID: "450302001001002",
    Level.COMMUNITY: "450302001001",
    Level.STREET: "450302001",
    Level.DISTRICT: "450302",
    Level.CITY: "450300",
}


@pytest.fixture(scope="module")
def data() -> Dataset:
    return gridgeo.load()


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    out = tmp_path_factory.mktemp("maps")
    assert main(["maps", "-o", str(out), "--validate", str(REAL), "--cases", str(CASES)]) == 0
    with static_server(out) as url:
        yield url


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with chromium() as b:
        yield b


def _save(name: str, image_path: Path) -> None:
    if os.environ.get("GRIDGEO_SAVE_SCREENSHOTS"):
        SHOTS.mkdir(parents=True, exist_ok=True)
        (SHOTS / name).write_bytes(image_path.read_bytes())


def _open(browser: Browser, url: str) -> tuple:  # type: ignore[type-arg]
    page, guard = guarded_page(browser)
    page.goto(url)
    wait_for_map(page)
    return page, guard


def _offline(guard) -> None:  # type: ignore[no-untyped-def]
    assert guard.blocked == [], f"requests left the machine: {guard.blocked}"
    assert guard.errors == [], f"page errors: {guard.errors}"
    assert any(u.endswith("/lib/leaflet/leaflet.js") for u in guard.allowed)
    assert any(u.endswith("/lib/leaflet/leaflet.css") for u in guard.allowed)


def _reads_as_chinese(page) -> None:  # type: ignore[no-untyped-def]
    """One scale bar, in metres; a CJK font in the title, legend and popups; zh-CN."""
    scales = page.locator(".leaflet-control-scale-line").all_inner_texts()
    assert len(scales) == 1 and re.fullmatch(r"\d+ k?m", scales[0]), scales
    for selector in ("body", ".leaflet-container", "#gg-title", "#gg-legend"):
        font = page.evaluate(
            "(s) => getComputedStyle(document.querySelector(s)).fontFamily", selector
        )
        assert font.startswith('"PingFang SC"') and "WenQuanYi Micro Hei" in font, (selector, font)
    assert page.evaluate("() => document.documentElement.lang") == "zh-CN"
    title = page.inner_text("#gg-title") + page.inner_text("#gg-legend")
    assert not re.search(r"[\u4e00-\u9fff][,;:?!()]|[,;:?!(][\u4e00-\u9fff]", title), title


def _popup_text(page) -> str:  # type: ignore[no-untyped-def]
    page.wait_for_selector(".leaflet-popup-content", timeout=5000)
    return str(page.inner_text(".leaflet-popup-content"))


@pytest.mark.parametrize("level", list(Level))
def test_coverage_map_offline_drawn_and_clickable(
    browser: Browser, site: str, data: Dataset, level: Level, tmp_path: Path
) -> None:
    page, guard = _open(browser, f"{site}/{coverage_page(level)}")
    shot = tmp_path / "shot.png"
    image = screenshot(page, shot)
    _offline(guard)
    _reads_as_chinese(page)
    _save(f"coverage_level{int(level)}.png", shot)

    grids = data.grids
    parents = [grids.parent_codes[p] for p in np.flatnonzero(grids.levels == int(level))]
    colours = style.colours_for(parents)
    for parent in set(parents):
        expected = style.blend_on_white(colours[parent], style.FILL_OPACITY)
        assert pixels_near(image, expected) > 30, f"no fill of parent {parent} ({expected})"
    # nothing is drawn in a colour of a parent that is not on this level
    unused = [c for c in style.CATEGORICAL if c not in colours.values()]
    for c in unused[:3]:
        assert pixels_near(image, style.blend_on_white(c, style.FILL_OPACITY), 2) < 30

    click_at(page, *KNOWN, zoom=15)
    text = _popup_text(page)
    assert KNOWN_CHAIN[level] in text
    name = grids.names[grids.position(KNOWN_CHAIN[level])]
    assert name in text


def test_pilot_map(browser: Browser, site: str, data: Dataset, tmp_path: Path) -> None:
    page, guard = _open(browser, f"{site}/pilot.html")
    shot = tmp_path / "pilot.png"
    image = screenshot(page, shot)
    _offline(guard)
    _reads_as_chinese(page)
    assert "6 个五级网格 · 2 个城市管理工作站" in page.inner_text("#gg-title")
    _save("pilot.png", shot)

    grids = data.grids
    communities = ["450302001001", "450302001002"]
    colours = style.colours_for(communities)
    for code in communities:
        expected = style.blend_on_white(colours[code], style.FILL_OPACITY)
        assert pixels_near(image, expected) > 200, f"community {code} not filled"
    assert pixels_near(image, style.hex_rgb(style.WORKSTATION), 10) > 40  # two red stations
    # six grid labels, three per community
    labels = page.locator(".gg-label").all_inner_texts()
    assert sum("网格" in s for s in labels) == 6

    # a grid: its code and the staff of that grid from the roster
    code = "450302001002002"
    point = grids.geometries[grids.position(code)].representative_point()
    page.mouse.click(*container_point(page, point.x, point.y))
    text = _popup_text(page)
    assert code in text
    staff = [m for m in data.staff if m.grid_code == code]
    assert staff, "the sample roster staffs every pilot grid"
    for member in staff:
        assert member.name in text

    # the workstation: its name and the three grids it serves
    page.evaluate("() => window.gridgeoMap.closePopup()")  # it could cover the station
    page.wait_for_selector(".leaflet-popup-content", state="detached")
    page.mouse.click(*container_point(page, *KNOWN))
    text = _popup_text(page)
    ws = next(w for w in data.workstations if "450302001001" in w.community_codes)
    assert ws.name in text
    for g in ("450302001001001", "450302001001002", "450302001001003"):
        assert g in text


def test_validation_map(browser: Browser, site: str, tmp_path: Path) -> None:
    page, guard = _open(browser, f"{site}/validation.html")
    shot = tmp_path / "validation.png"
    image = screenshot(page, shot)
    _offline(guard)
    _reads_as_chinese(page)
    _save("validation.png", shot)

    report = gridgeo.load(REAL).validate()
    rules = {f.rule for f in report.findings}
    assert {"overlap", "gap", "invalid_geometry"} <= rules  # the real file's known problems
    for rule in rules:
        assert pixels_near(image, style.hex_rgb(style.RULE_COLOURS[rule]), 12) > 15, rule
    assert pixels_near(image, style.hex_rgb(style.GRID_OUTLINE), 40) > 300  # outlines drawn

    overlap = next(f for f in report.findings if f.rule == "overlap")
    assert overlap.geometry is not None
    p = overlap.geometry.representative_point()
    page.mouse.click(*container_point(page, p.x, p.y))
    text = _popup_text(page)
    assert "重叠" in text
    for code in overlap.codes:
        assert code in text


def test_case_map(browser: Browser, site: str, data: Dataset, tmp_path: Path) -> None:
    page, guard = _open(browser, f"{site}/cases.html")
    shot = tmp_path / "cases.png"
    image = screenshot(page, shot)
    _offline(guard)
    _reads_as_chinese(page)
    _save("cases.png", shot)

    # expected count of the known grid, by shapely on the raw CSV
    cases = pd.read_csv(CASES)
    grid = data.grids.geometries[data.grids.position(KNOWN_CHAIN[Level.GRID])]
    inside = shapely.covers(grid, shapely.points(cases["lon"], cases["lat"]))
    expected = int(inside.sum())
    assert expected > 0

    drawn = [
        c
        for c in style.SEQUENTIAL
        if pixels_near(image, style.blend_on_white(c, style.CHOROPLETH_OPACITY), 4) > 100
    ]
    assert len(drawn) >= 3, "the choropleth shows at least three classes"
    assert pixels_near(image, style.hex_rgb(style.CASE_POINT), 30) > 100  # the points

    # click beside the points: a spot of the grid that no case marker covers
    spot = _free_spot(grid, cases)
    page.mouse.click(*container_point(page, spot.x, spot.y))
    text = _popup_text(page)
    assert KNOWN_CHAIN[Level.GRID] in text
    assert str(expected) in text.split()


def _free_spot(grid: shapely.Polygon, cases: pd.DataFrame) -> shapely.Point:
    """A point inside ``grid`` at least ~60 m from every case point."""
    points = shapely.points(cases["lon"], cases["lat"])
    minx, miny, maxx, maxy = grid.bounds
    for x in np.linspace(minx, maxx, 25):
        for y in np.linspace(miny, maxy, 25):
            p = shapely.Point(x, y)
            if grid.buffer(-0.0004).covers(p) and shapely.distance(p, points).min() > 0.0006:
                return p
    raise AssertionError("no free spot in the grid")


def test_responsibility_map(browser: Browser, site: str, data: Dataset, tmp_path: Path) -> None:
    page, guard = _open(browser, f"{site}/responsibility.html")
    shot = tmp_path / "responsibility.png"
    image = screenshot(page, shot)
    _offline(guard)
    _reads_as_chinese(page)
    assert "人员配齐（" in page.inner_text("#gg-legend")
    _save("responsibility.png", shot)
    # the sample pilot's grids meet their staffing rule: green fills, no red or orange
    fill = 0.6  # responsibility_map._fill
    assert pixels_near(image, style.blend_on_white(style.STAFF_OK, fill)) > 100
    assert pixels_near(image, style.blend_on_white(style.STAFF_NONE, fill), 2) < 30
    click_at(page, *KNOWN, zoom=16)
    text = _popup_text(page)
    assert KNOWN_CHAIN[Level.GRID] in text and "人员配齐" in text and "网格长 1 名" in text


def test_index_lists_the_maps_by_their_chinese_titles(browser: Browser, site: str) -> None:
    page, guard = guarded_page(browser)
    page.goto(f"{site}/index.html")
    links = page.locator("li a").all_inner_texts()
    assert "覆盖图：五级网格" in links and "边界校验问题图" in links
    assert all(re.search(r"[\u4e00-\u9fff]", x) for x in links), links
    files = page.locator("li small").all_inner_texts()
    assert "coverage_level5_grid.html" in files and len(files) == len(links)
    font = page.evaluate("() => getComputedStyle(document.body).fontFamily")
    assert font.startswith('"PingFang SC"'), font
    page.click("text=试点概览")
    wait_for_map(page)
    assert page.url.endswith("/pilot.html")
    assert page.title().startswith("试点概览：秀峰街道")
    assert guard.blocked == [] and guard.errors == []
