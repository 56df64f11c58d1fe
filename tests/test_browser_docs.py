"""The API documentation pages work on an intranet: Swagger UI at /docs and ReDoc at /redoc
render the OpenAPI document in headless Chromium with no request leaving 127.0.0.1."""

from __future__ import annotations

import os
from pathlib import Path

import httpx
from browser import chromium, guarded_page
from live_server import serve

from gridgeo.api.app import create_app
from gridgeo.settings import Settings, StoreSettings

SHOTS = Path(__file__).resolve().parents[1] / "docs" / "screenshots"


def test_swagger_ui_and_redoc_render_offline(tmp_path: Path) -> None:
    app = create_app(
        Settings(store=StoreSettings(database_url=f"sqlite:///{tmp_path / 'store.sqlite'}"))
    )
    with serve(app) as base, chromium() as browser:
        page, guard = guarded_page(browser)
        page.goto(f"{base}/docs")
        page.wait_for_selector(".opblock-summary-path", timeout=30_000)
        paths = page.eval_on_selector_all(
            ".opblock-summary-path", "els => els.map(e => e.getAttribute('data-path'))"
        )
        assert "/v1/lookup" in paths and "/v1/versions/{version_id}/edits" in paths
        if os.environ.get("GRIDGEO_SAVE_SCREENSHOTS"):
            page.screenshot(path=str(SHOTS / "docs-offline.png"))

        page.goto(f"{base}/redoc")
        page.wait_for_selector("h1", timeout=30_000)
        page.wait_for_function(
            "() => document.body.innerText.includes('/v1/lookup')", timeout=30_000
        )
        assert page.inner_text("h1").startswith("gridgeo")
        assert not guard.blocked, guard.blocked
        assert not guard.errors, guard.errors
        assert any("/docs/static/swagger-ui-bundle.js" in url for url in guard.allowed)
        assert any("/docs/static/redoc.standalone.js" in url for url in guard.allowed)
        # the assets are served from the package, nothing outside it
        assert httpx.get(f"{base}/docs/static/..%2Fcore.py").status_code == 404


def test_the_landing_page_links_the_viewer_the_editor_and_the_docs(tmp_path: Path) -> None:
    app = create_app(
        Settings(store=StoreSettings(database_url=f"sqlite:///{tmp_path / 'store.sqlite'}"))
    )
    with serve(app) as base:
        page = httpx.get(f"{base}/", headers={"Accept": "text/html"}).text
    for link in ("/map", "/map/edit", "/docs", "/redoc", "/collections", "/health"):
        assert f"href='{link}'" in page, link
