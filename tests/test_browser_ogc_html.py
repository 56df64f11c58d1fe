"""The OGC API Features pages a browser gets: collections, a collection, items on a map
and one item, in Chinese, with Leaflet from the service; no request leaves 127.0.0.1.
Clients that ask for JSON (GDAL, OWSLib, curl) still get JSON."""

from __future__ import annotations

import os
from pathlib import Path

import httpx
from browser import chromium, guarded_page
from live_server import serve

from gridgeo.api.app import create_app
from gridgeo.io.dataset import load

SHOTS = Path(__file__).resolve().parents[1] / "docs" / "screenshots"


def test_a_browser_walks_collections_items_and_an_item() -> None:
    with serve(create_app(data=load())) as base, chromium() as browser:
        page, guard = guarded_page(browser)
        page.goto(f"{base}/collections")  # a browser's Accept: text/html first
        assert page.locator("h1").inner_text() == "要素集合"
        page.click("a:text('level5_grid')")
        page.wait_for_selector("text=浏览要素")
        page.click("text=浏览要素")
        page.wait_for_function("() => window.gridgeoPageMap !== undefined")
        page.wait_for_selector("path.leaflet-interactive", state="attached")
        assert page.locator("path.leaflet-interactive").count() == 10  # the first page of 10
        assert "共 48 个，本页 10 个" in page.inner_text("body")
        if os.environ.get("GRIDGEO_SAVE_SCREENSHOTS"):
            page.screenshot(path=str(SHOTS / "ogc-items-html.png"))
        page.click("text=下一页")
        page.wait_for_selector("path.leaflet-interactive", state="attached")
        assert "offset=10" in page.url
        page.goto(f"{base}/collections/level5_grid/items/450302001001001?f=html")
        assert "450302001001001" in page.locator("h1").inner_text()
        page.wait_for_selector("path.leaflet-interactive", state="attached")
        assert not guard.blocked and not guard.errors, (guard.blocked, guard.errors)
        # JSON for clients that do not put text/html first
        for accept in ("application/json", "*/*", "application/geo+json, text/html;q=0.5"):
            answer = httpx.get(f"{base}/collections/level5_grid/items", headers={"Accept": accept})
            assert answer.headers["content-type"].startswith("application/geo+json"), accept
