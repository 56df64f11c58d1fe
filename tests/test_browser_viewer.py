"""The live viewer at /map in headless Chromium against a real uvicorn server on loopback.

Checks: no request leaves 127.0.0.1; every level's grids come from the OGC API
Features and are drawn in their level colour; a click on a known point shows
its whole chain, workstation and the people responsible (from the roster);
search by code and by name; level toggles; the cases layer; English text.
``GRIDGEO_SAVE_SCREENSHOTS=1`` also writes the screenshot to docs/screenshots/.
"""

from __future__ import annotations

import os
import re
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import shapely
import uvicorn
from browser import (
    Guard,
    chromium,
    click_at,
    guarded_page,
    pixels_near,
    screenshot,
    static_server,
)
from playwright.sync_api import Browser, Page

import gridgeo
from gridgeo.api.app import create_app
from gridgeo.coords import geometries_from_cgcs2000
from gridgeo.dataset import Dataset
from gridgeo.levels import Level
from gridgeo.maps import style
from gridgeo.maps.viewer import DEFAULT_ON, GRID_FILL_OPACITY, LEVEL_STYLES
from gridgeo.settings import MapSettings, Settings

REPO = Path(__file__).resolve().parents[1]
KNOWN = (110.3005, 25.2785)  # in 450302001001002 文明社区第2网格
CHAIN = ["450302001001002", "450302001001", "450302001", "450302", "450300"]
SHOTS = REPO / "docs" / "screenshots"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def serve(settings: Settings, data: Dataset) -> Iterator[str]:
    """The gridgeo app under uvicorn on a free loopback port, in a thread."""
    port = _free_port()
    config = uvicorn.Config(
        create_app(settings, data), host="127.0.0.1", port=port, log_level="warning"
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("uvicorn did not start")
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


@pytest.fixture(scope="module")
def data() -> Dataset:
    return gridgeo.load()


@pytest.fixture(scope="module")
def server(data: Dataset) -> Iterator[str]:
    with serve(Settings(), data) as url:
        yield url


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with chromium() as b:
        yield b


def _open(browser: Browser, url: str) -> tuple[Page, Guard]:
    page, guard = guarded_page(browser)
    page.goto(f"{url}/map")
    page.wait_for_function("() => window.gridgeoReady === true", timeout=30000)
    page.wait_for_timeout(300)
    return page, guard


def _offline(guard: Guard) -> None:
    assert guard.blocked == [], f"requests left the machine: {guard.blocked}"
    assert guard.errors == [], f"page errors: {guard.errors}"
    for part in ("/map/lib/leaflet/leaflet.js", "/map/static/viewer.js"):
        assert any(part in u for u in guard.allowed), part
    for level in Level:
        assert any(f"/collections/level{int(level)}_{level.en}/items" in u for u in guard.allowed)


def _popup(page: Page) -> str:
    page.wait_for_selector(".leaflet-popup-content .gg-info", timeout=10000)
    return str(page.inner_text(".leaflet-popup-content"))


def test_viewer_loads_offline_draws_levels_and_answers_a_click(
    browser: Browser, server: str, data: Dataset, tmp_path: Path
) -> None:
    page, guard = _open(browser, server)
    shot = tmp_path / "viewer.png"
    image = screenshot(page, shot)
    _offline(guard)
    if os.environ.get("GRIDGEO_SAVE_SCREENSHOTS"):
        SHOTS.mkdir(parents=True, exist_ok=True)
        (SHOTS / "viewer.png").write_bytes(shot.read_bytes())

    # the fifth-level fill, and the outline colour of each level shown at start
    grid_colour = LEVEL_STYLES[Level.GRID][0]
    assert pixels_near(image, style.blend_on_white(grid_colour, GRID_FILL_OPACITY), 3) > 5000
    for level in DEFAULT_ON:
        assert pixels_near(image, style.hex_rgb(LEVEL_STYLES[level][0]), 25) > 100, level
    # one path per drawn grid: levels 3-5 of the sample
    drawn = sum(int((data.grids.levels == int(lv)).sum()) for lv in DEFAULT_ON)
    assert page.locator("path.leaflet-interactive, svg path").count() >= drawn

    click_at(page, *KNOWN)
    text = _popup(page)
    for code in CHAIN:
        assert code in text
    assert "文明社区城市管理工作站" in text
    responsible = [m for m in data.staff if m.grid_code in CHAIN]
    assert responsible
    for member in responsible:
        assert member.name in text
    assert "0773-" not in text  # the viewer shows names and posts, not phone numbers
    # the plan's words for how people are employed
    assert "协管员" in text and "兼任" not in text
    _reads_as_chinese(page)


def _reads_as_chinese(page: Page) -> None:
    """A metric scale bar only, a CJK font, full-width brackets around the level counts."""
    scales = page.locator(".leaflet-control-scale-line").all_inner_texts()
    assert len(scales) == 1 and re.fullmatch(r"\d+ k?m", scales[0]), scales
    for selector in ("body", ".leaflet-container", "#gg-search"):
        font = page.evaluate(
            "(s) => getComputedStyle(document.querySelector(s)).fontFamily", selector
        )
        assert font.startswith('"PingFang SC"') and "WenQuanYi Micro Hei" in font, (selector, font)
    assert page.evaluate("() => document.documentElement.lang") == "zh-CN"
    counts = page.locator("#gg-layers .gg-count").all_inner_texts()
    assert counts and all(re.fullmatch(r"（\d+）", c) for c in counts), counts


def test_search_toggle_and_cases(browser: Browser, server: str, data: Dataset) -> None:
    page, guard = _open(browser, server)

    page.fill("#gg-search", "五美社区第3")
    items = page.locator("#gg-results li")
    assert items.count() == 1
    assert "450302001002003" in items.inner_text()
    page.fill("#gg-search", "4503020010")  # a code prefix: communities and grids of 秀峰街道
    codes = page.locator("#gg-results li").all_inner_texts()
    assert codes and all("4503020010" in c for c in codes)
    page.fill("#gg-search", "no such grid")
    assert "未找到" in page.inner_text("#gg-results")

    page.fill("#gg-search", "450302001002003")
    page.press("#gg-search", "Enter")
    text = _popup(page)
    assert "450302001002003" in text and "五美社区" in text and "秀峰街道" in text
    staff = [m.name for m in data.staff if m.grid_code == "450302001002003"]
    page.wait_for_function(
        "(name) => document.querySelector('.leaflet-popup-content').innerText.includes(name)",
        arg=staff[0],
    )

    # toggling the fifth level removes its paths
    before = page.locator("svg path").count()
    page.uncheck("input[data-level='5']")
    after = page.locator("svg path").count()
    grids = int((data.grids.levels == 5).sum())
    assert before - after >= grids
    page.check("input[data-level='5']")
    assert page.locator("svg path").count() == before

    # cases: drawn on a canvas, counted in the panel
    page.check("#gg-cases")
    page.wait_for_function("() => document.getElementById('gg-case-count').textContent !== ''")
    expected = len(pd.read_csv(REPO / "data" / "cases" / "sample_cases.csv"))
    assert page.inner_text("#gg-case-count") == f"（{expected}）"
    assert page.locator("canvas").count() >= 1
    # back to the whole of 秀峰区's streets (the search zoomed in on one grid)
    page.evaluate(
        "() => { const m = window.gridgeoMap; m.closePopup();"
        " m.setView([25.265, 110.285], 14, {animate: false}); }"
    )
    page.wait_for_timeout(400)
    image = screenshot(page, Path("/tmp/viewer_cases.png"))
    assert pixels_near(image, style.hex_rgb(style.CASE_POINT), 30) > 50
    _offline(guard)
    assert any("/map/cases.geojson" in u for u in guard.allowed)


def test_viewer_in_english_district_without_grids_and_outside(
    browser: Browser, data: Dataset
) -> None:
    with serve(Settings(lang="en"), data) as url:
        page, guard = _open(browser, url)
        assert page.get_attribute("#gg-search", "placeholder") == "search by code or name"
        assert "street" in page.inner_text("#gg-layers")
        assert re.search(r"street \(\d+\)", page.inner_text("#gg-layers"))
        assert page.evaluate("() => document.documentElement.lang") == "en"
        # west of every fifth-level grid but inside Guilin: the chain stops at the district
        page.evaluate("() => { window.gridgeoMap.setView([25.25, 110.1], 14, {animate: false}); }")
        page.wait_for_timeout(300)
        click_at(page, 110.1, 25.25)
        text = _popup(page)
        assert "450300" in text and "district" in text
        assert "450302" not in text  # 临桂区 or another district, not the pilot's
        # east of Guilin: outside every grid
        page.evaluate(
            "() => { const m = window.gridgeoMap; m.closePopup();"
            " m.setView([24.5, 112.5], 12, {animate: false}); }"
        )
        page.wait_for_timeout(300)
        click_at(page, 112.5, 24.5)
        page.wait_for_function(
            "() => (document.querySelector('.leaflet-popup-content') || {}).innerText"
            " === 'this point is outside every grid'"
        )
        _offline(guard)


def test_a_large_level_is_drawn_per_view(browser: Browser, data: Dataset, tmp_path: Path) -> None:
    """With GRIDGEO_VIEWER_MAX_FEATURES=20 the sample's 48 fifth-level grids form a
    viewport level: never loaded whole, "zoom in" over the whole city, drawn from bbox
    requests once the view holds at most 20 of them; a click still outlines its leaf."""
    leaves = int((data.grids.levels == int(Level.GRID)).sum())
    assert leaves > 20
    with serve(Settings(maps=MapSettings(viewer_max_features=20)), data) as url:
        page, guard = _open(browser, url)
        page.wait_for_function("() => window.gridgeoViewport[5] !== undefined")
        assert page.evaluate("() => window.gridgeoViewport[5]") == "zoom_in"
        assert "放大后显示" in page.inner_text("#gg-layers")
        assert f"（{leaves}）" in page.inner_text("label:has(input[data-level='5'])")
        fill = style.blend_on_white(LEVEL_STYLES[Level.GRID][0], GRID_FILL_OPACITY)
        assert pixels_near(screenshot(page, tmp_path / "city.png"), fill, 3) < 500

        # a click at the city view: the chain, and the leaf's outline fetched by its code
        click_at(page, *KNOWN)
        text = _popup(page)
        assert all(code in text for code in CHAIN)
        page.wait_for_function(
            "() => document.querySelectorAll('svg path[stroke=\"#000\"]').length === 1"
        )
        assert any(u.endswith(f"/collections/level5_grid/items/{CHAIN[0]}") for u in guard.allowed)

        page.evaluate(
            "([lat, lon]) => { const m = window.gridgeoMap; m.closePopup();"
            " m.setView([lat, lon], 16, {animate: false}); }",
            [KNOWN[1], KNOWN[0]],
        )
        page.wait_for_function("() => typeof window.gridgeoViewport[5] === 'number'")
        drawn = page.evaluate("() => window.gridgeoViewport[5]")
        assert 1 <= drawn <= 20
        assert "放大后显示" not in page.inner_text("#gg-layers")
        page.wait_for_timeout(300)
        # a viewport level is drawn on a canvas (thousands of grids in a real city)
        assert pixels_near(screenshot(page, tmp_path / "zoomed.png"), fill, 3) > 5000
        level5 = [u for u in guard.allowed if "/collections/level5_grid/items?" in u]
        assert level5 and all("bbox=" in u for u in level5)  # never the whole level
        assert any("limit=20" in u for u in level5)

        # search by the whole code of a grid far from the view: asked by its code
        leaf = data.grids.levels == int(Level.GRID)
        centres = shapely.centroid(data.grids.geometries[leaf])
        far = int(np.argmax(shapely.distance(centres, shapely.Point(*KNOWN))))
        code = str(np.asarray(data.grids.codes)[leaf][far])
        page.fill("#gg-search", code)
        page.press("#gg-search", "Enter")
        page.wait_for_function(
            "(code) => (document.querySelector('.leaflet-popup-content') || {innerText: ''})"
            ".innerText.includes(code)",
            arg=code,
        )
        text = _popup(page)
        assert code[:12] in text and code[:9] in text  # its community and street too
        assert any(u.endswith(f"/collections/level5_grid/items/{code}") for u in guard.allowed)
        _offline(guard)


def test_on_a_gcj02_base_map_everything_is_drawn_shifted_and_clicks_read_back(
    browser: Browser, data: Dataset, tmp_path: Path
) -> None:
    """With ``GRIDGEO_BASEMAP_CRS=gcj02`` (an Amap or Tencent tile template) the viewer asks
    the service for grids and cases in GCJ-02 and draws them where those tiles show the
    ground; a click there is read back as GCJ-02 and lands in the right grid."""
    code = CHAIN[0]
    truth = data.grids.geometries[data.grids.position(code)]
    shifted = geometries_from_cgcs2000([truth], "gcj02")[0]
    with static_server(tmp_path) as tiles:  # an empty tile server: the tiles are not the point
        basemap = MapSettings(
            basemap="xyz", basemap_url=f"{tiles}/{{z}}/{{x}}/{{y}}.png", basemap_crs="gcj02"
        )
        settings = Settings(maps=basemap)
        with serve(settings, data) as url:
            page, guard = _open(browser, url)
            drawn = page.evaluate(
                """(code) => {
                    let found = null;
                    window.gridgeoMap.eachLayer((l) => {
                        if (l.feature && l.feature.properties.code === code && l.getBounds) {
                            const b = l.getBounds();
                            found = [b.getWest(), b.getSouth(), b.getEast(), b.getNorth()];
                        }
                    });
                    return found;
                }""",
                code,
            )
            assert drawn is not None
            assert np.allclose(drawn, shifted.bounds, atol=1e-7), (drawn, shifted.bounds)
            assert not np.allclose(drawn, truth.bounds, atol=1e-4)  # some 500 m off the truth
            assert all("crs=gcj02" in u for u in guard.allowed if "/items" in u)
            point = geometries_from_cgcs2000([shapely.Point(*KNOWN)], "gcj02")[0]
            click_at(page, point.x, point.y, zoom=17)
            text = _popup(page)
            for chain_code in CHAIN:
                assert chain_code in text
            assert any("/v1/lookup" in u and "crs=gcj02" in u for u in guard.allowed)
            assert guard.errors == []
