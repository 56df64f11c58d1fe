"""The assessment maps in headless Chromium: the folium choropleth and heat pages of
``gridgeo maps --assess``, and the live viewer's 考核 layer against a real uvicorn server.

Data: a fresh SQLite store seeded with the sample and the event log of
tests/test_maps_assessment.py (November 2026: four pilot grids with known indicators).
Checks: the grids drawn in the expected colours for those values (screenshot pixels,
fills composited over white), the legend text, tooltips with every indicator, the heat
layers toggled per major class, the overdue case's popup, the viewer's period and level
controls; no request leaves 127.0.0.1, none fails, no script error.
``GRIDGEO_SAVE_SCREENSHOTS=1`` writes docs/screenshots/assessment-map.png,
case-heat.png and viewer-assessment.png.
"""

from __future__ import annotations

import http.client
import os
import time
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from urllib.parse import urlsplit

import numpy as np
import numpy.typing as npt
import pytest
import shapely
from browser import Guard, chromium, container_point, guarded_page, screenshot, static_server
from live_server import serve
from playwright.sync_api import Browser, Page
from test_maps_assessment import (
    ON_TIME,
    POINTS,
    WENMING,
    WUMEI,
    A,
    B,
    C,
    D,
    store_with_cases,
)

from gridgeo.api.app import create_app
from gridgeo.cli.main import main
from gridgeo.dataset import Dataset
from gridgeo.deadlines import BEIJING
from gridgeo.maps import style
from gridgeo.settings import Settings, StoreSettings

REPO = Path(__file__).resolve().parents[1]
SHOTS = REPO / "docs" / "screenshots"
OPACITY = style.CHOROPLETH_OPACITY
ROUTE_WAIT = 60.0  # seconds to wait for /v1/assessment to answer (the server starting)


@pytest.fixture(scope="module")
def loop(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, Dataset]:
    folder = tmp_path_factory.mktemp("assessment")
    url = f"sqlite:///{folder / 'store.sqlite'}"
    _, data = store_with_cases(url, folder)
    return url, data


@pytest.fixture(scope="module")
def site(loop: tuple[str, Dataset], tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    out = tmp_path_factory.mktemp("maps")
    argv = ["maps", "-o", str(out), "--no-cases", "--assess", "--database-url", loop[0]]
    period = ["--from", "2026-11-01", "--to", "2026-12-01", "--indicator", "on_time_rate"]
    assert main([*argv, *period, "--indicator", "registered"]) == 0
    with static_server(out) as url:
        yield url


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with chromium() as b:
        yield b


def _watch(page: Page, guard: Guard) -> list[str]:
    """Requests that failed or were answered with an HTTP error, recorded as they come
    (not those the page aborted itself: the request of a period changed meanwhile)."""
    failed: list[str] = []
    page.on(
        "requestfailed",
        lambda r: (
            None if r.failure == "net::ERR_ABORTED" else failed.append(f"{r.url}: {r.failure}")
        ),
    )
    page.on(
        "response", lambda r: failed.append(f"{r.url}: {r.status}") if r.status >= 400 else None
    )
    return failed


def _clean(guard: Guard, failed: list[str]) -> None:
    assert guard.blocked == [], f"requests left the machine: {guard.blocked}"
    assert guard.errors == [], f"page errors: {guard.errors}"
    assert failed == [], f"failed requests: {failed}"


def _save(name: str, image: Path) -> None:
    if os.environ.get("GRIDGEO_SAVE_SCREENSHOTS"):
        SHOTS.mkdir(parents=True, exist_ok=True)
        (SHOTS / name).write_bytes(image.read_bytes())


def _inside(data: Dataset, code: str, avoid: list[tuple[float, float]]) -> tuple[float, float]:
    """A point well inside grid ``code`` away from ``avoid`` (labels, markers): the one of a
    lattice over the grid, 30 m inside its edge, farthest from them."""
    (i,) = np.flatnonzero(np.asarray(data.grids.codes) == code)
    geom = data.grids.geometries[i]
    core = geom.buffer(-0.0003)
    x0, y0, x1, y1 = core.bounds
    xs, ys = np.meshgrid(np.linspace(x0, x1, 25), np.linspace(y0, y1, 25))
    lattice = np.asarray(shapely.points(xs.ravel(), ys.ravel()))
    candidates = lattice[shapely.contains(core, lattice)]
    marks = [shapely.Point(p) for p in avoid] + [geom.representative_point()]
    distance = np.min([shapely.distance(candidates, m) for m in marks], axis=0)
    best = candidates[int(np.argmax(distance))]
    return float(best.x), float(best.y)


def _bounds(data: Dataset, codes: list[str]) -> tuple[float, float, float, float]:
    chosen = np.isin(np.asarray(data.grids.codes), codes)
    b = shapely.total_bounds(np.asarray(data.grids.geometries)[chosen])
    return float(b[0]), float(b[1]), float(b[2]), float(b[3])


def _colour_at(page: Page, image: npt.NDArray[np.uint8], lon: float, lat: float) -> tuple[int, ...]:
    """The median colour of a 7x7 patch of the screenshot at (lon, lat)."""
    x, y = (round(v) for v in container_point(page, lon, lat))
    patch = image[y - 3 : y + 4, x - 3 : x + 4].reshape(-1, 3)
    return tuple(int(v) for v in np.median(patch, axis=0))


def _near(found: tuple[int, ...], colour: str, tolerance: int = 4) -> bool:
    expected = style.blend_on_white(colour, OPACITY)
    return max(abs(a - b) for a, b in zip(found, expected, strict=True)) <= tolerance


def _open_page(browser: Browser, url: str) -> tuple[Page, Guard, list[str]]:
    page, guard = guarded_page(browser)
    failed = _watch(page, guard)
    page.goto(url)
    page.wait_for_function("() => window.gridgeoMap !== undefined")
    page.wait_for_selector("path.leaflet-interactive", state="attached")
    page.wait_for_timeout(400)
    return page, guard, failed


# ---- the folium pages --------------------------------------------------------------------


def test_choropleth_page_draws_the_known_values(
    browser: Browser, site: str, loop: tuple[str, Dataset], tmp_path: Path
) -> None:
    data = loop[1]
    page, guard, failed = _open_page(browser, f"{site}/assessment_on_time_rate_level5.html")
    shot = tmp_path / "assessment.png"
    image = screenshot(page, shot)
    _save("assessment-map.png", shot)
    for code, (_, colour) in ON_TIME.items():
        found = _colour_at(page, image, *_inside(data, code, []))
        assert _near(found, colour), (code, found, colour)

    legend = page.inner_text("#gg-legend")
    assert "按期结案率（五级网格）" in legend
    for label in ("< 60%", "60% – 80%", "80% – 90%", "90% – 95%", "≥ 95%", "无应结案件"):
        assert label in legend
    title = page.inner_text("#gg-title")
    assert "考核图：按期结案率" in title and "2026-11-01 至 2026-11-30" in title
    # a metric scale bar only, a CJK font
    scales = page.locator(".leaflet-control-scale-line").all_inner_texts()
    assert len(scales) == 1 and scales[0].endswith("m"), scales
    font = page.evaluate("() => getComputedStyle(document.querySelector('#gg-legend')).fontFamily")
    assert font.startswith('"PingFang SC"'), font

    # the tooltip of 文明社区第2网格: every indicator
    page.mouse.move(*container_point(page, *_inside(data, B, [])))
    page.wait_for_selector(".leaflet-tooltip", timeout=5000)
    tip = page.inner_text(".leaflet-tooltip")
    for text in (
        "文明社区第2网格",
        B,
        "按期结案率",
        "66.7%",
        "返工率",
        "33.3%",
        "结案率",
        "100.0%",
    ):
        assert text in tip, text
    _clean(guard, failed)
    assert any(u.endswith("/lib/leaflet/leaflet.js") for u in guard.allowed)


def test_counts_page_and_heat_map(
    browser: Browser, site: str, loop: tuple[str, Dataset], tmp_path: Path
) -> None:
    data = loop[1]
    page, guard, failed = _open_page(browser, f"{site}/assessment_registered_level5.html")
    image = screenshot(page, tmp_path / "registered.png")
    # 立案数 2, 3, 2, 1 (the others 0): classes 0 | 1 | 2 | 3, YlOrRd in four steps
    expected = {A: "#f03b20", B: "#800026", C: "#f03b20", D: "#feb24c"}
    for code, colour in expected.items():
        found = _colour_at(page, image, *_inside(data, code, []))
        assert _near(found, colour), (code, found, colour)
    assert "无应结案件" not in page.inner_text("#gg-legend")
    _clean(guard, failed)

    page, guard, failed = _open_page(browser, f"{site}/case_heat.html")
    page.wait_for_selector("canvas.leaflet-heatmap-layer", state="attached")
    assert page.locator("canvas.leaflet-heatmap-layer").count() == 2  # 01 and 05
    shot = tmp_path / "heat.png"
    image = screenshot(page, shot)
    _save("case-heat.png", shot)
    # A's two cases are all 01 市容环境: its heat is there, and goes with its layer
    a_point = POINTS[A]
    assert _whiteness(_colour_at(page, image, *a_point)) < 200
    page.uncheck(".leaflet-control-layers-overlays label:has-text('01 市容环境') input")
    page.wait_for_timeout(300)
    assert _whiteness(_colour_at(page, screenshot(page), *a_point)) > 250
    assert page.locator("canvas.leaflet-heatmap-layer").count() == 1

    # the overdue case: a red marker whose popup names the unit, deadline and hours over
    page.mouse.click(*container_point(page, *POINTS[C]))
    page.wait_for_selector(".leaflet-popup-content .gg-overdue", timeout=5000)
    popup = page.inner_text(".leaflet-popup-content")
    for text in ("超期 127 小时", "秀峰区交警大队", "2026-11-25 17:00", C, "0505 机动车乱停放"):
        assert text in popup, text
    legend = page.inner_text("#gg-legend")
    assert "01 市容环境（4 件）" in legend and "超期未结案件（1 件）" in legend
    _clean(guard, failed)
    assert any(u.endswith("/lib/leaflet-heat/leaflet-heat.js") for u in guard.allowed)


def _whiteness(rgb: tuple[int, ...]) -> int:
    return min(rgb)


# ---- the live viewer's 考核 layer ----------------------------------------------------------


def _wait_for_route(base: str, timeout: float = ROUTE_WAIT) -> None:
    """Poll ``/v1/assessment`` until it answers 200 (fails naming it if it never does)."""
    parts = urlsplit(base)
    deadline, last = time.monotonic() + timeout, ""
    while time.monotonic() < deadline:
        conn = http.client.HTTPConnection(parts.hostname or "", parts.port, timeout=10)
        try:
            conn.request("GET", "/v1/assessment?by=grid&level=5&from=2026-11-01&to=2026-12-01")
            answer = conn.getresponse()
            answer.read()
            if answer.status == 200:
                return
            last = f"HTTP {answer.status}"
        except OSError as exc:
            last = str(exc)
        finally:
            conn.close()
        time.sleep(1)
    pytest.fail(f"/v1/assessment did not answer within {timeout:.0f} s ({last})")


def _choose(page: Page, selector: str, value: str) -> None:
    page.fill(selector, value)
    page.dispatch_event(selector, "change")


def _loaded(page: Page, part: str) -> None:
    page.wait_for_function(
        "(part) => window.gridgeoAssessment.loaded && window.gridgeoAssessment.url.includes(part)",
        arg=part,
        timeout=20000,
    )
    page.wait_for_timeout(300)


def test_viewer_assessment_layer(
    browser: Browser, loop: tuple[str, Dataset], tmp_path: Path
) -> None:
    url, data = loop
    with serve(create_app(Settings(store=StoreSettings(database_url=url)))) as base:
        _wait_for_route(base)
        page, guard = guarded_page(browser)
        failed = _watch(page, guard)
        page.goto(f"{base}/map")
        page.wait_for_function("() => window.gridgeoReady === true", timeout=30000)
        assert page.is_hidden("#gg-assess-panel")
        page.check("#gg-assess")
        # by default this month so far, in Beijing days, at the fifth level
        today = datetime.now(BEIJING).date()
        assert page.input_value("#gg-assess-from") == today.replace(day=1).isoformat()
        assert page.input_value("#gg-assess-to") == today.isoformat()
        assert page.input_value("#gg-assess-level") == "5"
        assert page.input_value("#gg-assess-indicator") == "closure_rate"
        _loaded(page, f"from={today.replace(day=1).isoformat()}")

        _choose(page, "#gg-assess-from", "2026-11-01")
        _choose(page, "#gg-assess-to", "2026-11-30")  # the request's "to" is the day after
        _loaded(page, "from=2026-11-01&to=2026-12-01")
        page.select_option("#gg-assess-indicator", "on_time_rate")
        page.wait_for_timeout(200)
        colours = page.evaluate("() => window.gridgeoAssessment.colours")
        assert {code: colours[code] for code in ON_TIME} == {c: v[1] for c, v in ON_TIME.items()}
        assert page.evaluate("() => window.gridgeoAssessment.rows") == 4

        # the four grids in view, clear of the panel on the right
        x0, y0, x1, y1 = _bounds(data, list(ON_TIME))
        page.evaluate(
            "([s, w, n, e]) => window.gridgeoMap.fitBounds([[s, w], [n, e]],"
            " {paddingTopLeft: [30, 30], paddingBottomRight: [300, 30], animate: false})",
            [y0, x0, y1, x1],
        )
        page.wait_for_timeout(500)
        shot = tmp_path / "viewer-assessment.png"
        image = screenshot(page, shot)
        _save("viewer-assessment.png", shot)
        stations = [(w.lon, w.lat) for w in data.workstations]
        for code, (_, colour) in ON_TIME.items():
            found = _colour_at(page, image, *_inside(data, code, stations))
            assert _near(found, colour), (code, found, colour)
        legend = page.inner_text("#gg-assess-legend")
        assert "按期结案率（五级网格）" in legend
        for label in ("< 60%", "60% – 80%", "≥ 95%", "无应结案件"):
            assert label in legend
        note = page.inner_text("#gg-assess-note")
        assert "4 个五级网格有立案案件" in note and "应结案 7 件" in note

        # the tooltip of a grid, and a click still answers with the lookup popup
        point = container_point(page, *_inside(data, C, stations))
        page.mouse.move(*point)
        page.wait_for_selector(".leaflet-tooltip .gg-info", timeout=5000)
        tip = page.inner_text(".leaflet-tooltip")
        for text in ("五美社区第3网格", "按期结案率", "50.0%", "超期未结数", "应结案数"):
            assert text in tip, text
        page.mouse.click(*point)
        page.wait_for_selector(".leaflet-popup-content .gg-info", timeout=10000)
        assert C in page.inner_text(".leaflet-popup-content")
        page.evaluate("() => window.gridgeoMap.closePopup()")

        # the communities: 文明社区 80% on time, 五美社区 50%
        page.select_option("#gg-assess-level", "4")
        _loaded(page, "level=4")
        colours = page.evaluate("() => window.gridgeoAssessment.colours")
        assert (colours[WENMING], colours[WUMEI]) == ("#fd8d3c", "#800026")
        assert "按期结案率（社区）" in page.inner_text("#gg-assess-legend")

        # a count: classes from the data, no grey
        page.select_option("#gg-assess-indicator", "registered")
        page.wait_for_timeout(200)
        legend = page.inner_text("#gg-assess-legend")
        assert "立案数（社区）" in legend and "无应结案件" not in legend
        colours = page.evaluate("() => window.gridgeoAssessment.colours")
        assert colours[WENMING] == "#800026" and colours[WUMEI] != "#800026"

        # off: the layer goes, the grids' own colours come back
        page.uncheck("#gg-assess")
        assert page.locator(".leaflet-gg-assess-pane path").count() == 0
        assert page.is_hidden("#gg-assess-panel")
        _clean(guard, failed)
        asked = [u for u in guard.allowed if "/v1/assessment?" in u]
        assert asked and all("by=grid" in u for u in asked)
