"""The HTML report in headless Chromium: offline, its SVG charts drawn, printable on A4.

Every request is routed (tests/browser.py): anything leaving 127.0.0.1 fails the test
and is aborted. The report holds the month of tests/test_reports.py's history.

``GRIDGEO_SAVE_SCREENSHOTS=1`` also writes docs/screenshots/report-month.png.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import pytest
from browser import chromium, guarded_page, pixels_near, screenshot, static_server
from playwright.sync_api import Browser
from test_reports import NOVEMBER, with_history

from gridgeo.reports import build_report, write_report
from gridgeo.reports.charts import RATE_COLOURS

REPO = Path(__file__).resolve().parents[1]
SHOTS = REPO / "docs" / "screenshots"
PAGE = "report-month.html"


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    folder = tmp_path_factory.mktemp("report-site")
    store, data = with_history(f"sqlite:///{folder / 'store.sqlite'}", folder)
    now = datetime.fromisoformat("2026-12-02T09:00+08:00")
    write_report(build_report(store, data, "month", NOVEMBER, now=now), folder / PAGE)
    store.close()
    with static_server(folder) as url:
        yield url


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with chromium() as b:
        yield b


def rgb(colour: str) -> tuple[int, int, int]:
    value = colour.lstrip("#")
    return int(value[0:2], 16), int(value[2:4], 16), int(value[4:6], 16)


def test_report_is_offline_and_draws_its_charts(
    browser: Browser, site: str, tmp_path: Path
) -> None:
    page, guard = guarded_page(browser)
    failed: list[str] = []
    page.on("requestfailed", lambda request: failed.append(request.url))
    page.goto(f"{site}/{PAGE}")
    page.wait_for_selector("figure.chart svg")

    assert guard.blocked == [], f"requests left the machine: {guard.blocked}"
    assert guard.errors == [] and failed == []
    assert guard.allowed == [f"{site}/{PAGE}"]  # the page itself, nothing else

    sizes = page.evaluate(
        """() => [...document.querySelectorAll('figure.chart svg')].map(svg => {
            const box = svg.getBoundingClientRect();
            return [svg.closest('figure').id, box.width, box.height,
                    svg.querySelectorAll('path, use').length];
        })"""
    )
    assert [s[0] for s in sizes] == ["chart-trend", "chart-rates"]
    for key, width, height, shapes in sizes:
        assert width > 300 and height > 150, (key, width, height)
        assert shapes > 20, (key, shapes)  # bars, axes and glyph outlines

    assert page.title() == "秀峰街道城市管理工作月报（2026年11月）"
    cells = page.locator("#units tbody tr").first.locator("td").all_inner_texts()
    assert cells[:2] == ["VOL-WENMING-01", "文明社区退休党员志愿服务队"]
    assert cells[-2:] == ["100.00", "1"]

    shot = tmp_path / "report.png"
    page.locator("#chart-rates").scroll_into_view_if_needed()
    image = screenshot(page, shot)
    for colour in RATE_COLOURS:  # the rates chart is on screen: each rate's bars drawn
        assert pixels_near(image, rgb(colour), 8) > 200, colour

    if os.environ.get("GRIDGEO_SAVE_SCREENSHOTS"):
        SHOTS.mkdir(parents=True, exist_ok=True)
        page.evaluate("() => window.scrollTo(0, 0)")
        page.screenshot(path=str(SHOTS / "report-month.png"), full_page=True)


def test_report_prints_on_a4_landscape(browser: Browser, site: str) -> None:
    page, guard = guarded_page(browser)
    page.goto(f"{site}/{PAGE}")
    page.wait_for_selector("figure.chart svg")
    pdf = page.pdf(prefer_css_page_size=True, print_background=True)
    assert pdf.startswith(b"%PDF") and guard.blocked == []
    boxes = re.findall(rb"/MediaBox\s*\[\s*0 0 ([\d.]+) ([\d.]+)\s*\]", pdf)
    assert boxes, "no page in the PDF"
    for width, height in boxes:  # A4 landscape: 297 x 210 mm = 842 x 595 pt
        assert (round(float(width)), round(float(height))) == (842, 595)
    assert 2 <= len(boxes) <= 4  # tables and charts of the month over a few pages
