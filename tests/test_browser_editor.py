"""The boundary editor (/map/edit) in headless Chromium against a real uvicorn server and a
fresh SQLite store seeded with the sample.

A planner splits a grid by drawing a line, merges two neighbours, drags a vertex two
grids share, meets a stale draft (409: the edit is kept and applied again on the newer
draft), compares with the published version and publishes; then the lookup answers from
the new version through the API and through the CLI. No request leaves 127.0.0.1.
``GRIDGEO_SAVE_SCREENSHOTS=1`` writes docs/screenshots/editor-*.png.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import httpx
import numpy as np
import pytest
import shapely
from browser import chromium, container_point, guarded_page
from keyhelpers import make_key
from live_server import serve
from playwright.sync_api import Page
from playwright.sync_api import TimeoutError as PlaywrightTimeout
from shapely.geometry import Point

from gridgeo.api.app import create_app
from gridgeo.cli.main import main
from gridgeo.io.boundaries import read_boundaries
from gridgeo.model import GridSet
from gridgeo.roles import Role
from gridgeo.settings import Settings, StoreSettings
from gridgeo.store.core import Store

REPO = Path(__file__).resolve().parents[1]
SAMPLE = REPO / "data" / "sample" / "boundaries.gpkg"
SHOTS = REPO / "docs" / "screenshots"
SPLIT, NEIGHBOUR = "450302001001001", "450302001001002"
RESHAPED = "450302001003"  # a community with six grids: two of them share the dragged vertex


def shot(page: Page, name: str) -> None:
    if os.environ.get("GRIDGEO_SAVE_SCREENSHOTS"):
        page.screenshot(path=str(SHOTS / f"editor-{name}.png"))


def wait_saved(page: Page, after: int) -> int:
    """Wait until the page shows a draft newer than ``after``; its id."""
    try:
        page.wait_for_function(
            "(v) => window.gridgeoEditor.ready && !window.gridgeoEditor.busy && "
            "window.gridgeoEditor.version > v",
            arg=after,
            timeout=30_000,
        )
    except PlaywrightTimeout:
        raise AssertionError(f"no new draft after {after}: {editor(page)}") from None
    return int(page.evaluate("() => window.gridgeoEditor.version"))


def editor(page: Page) -> dict[str, object]:
    state: dict[str, object] = page.evaluate(
        "() => { const e = window.gridgeoEditor; return {version: e.version, status: e.status,"
        " counts: e.counts, message: e.message, pending: e.pending.length, selected: e.selected,"
        " applied: e.lastApplied, diff: e.diff || null}; }"
    )
    return state


def shared_vertex(grids: GridSet, community: str) -> tuple[str, str, tuple[float, float]]:
    """Two grids of ``community`` and a vertex both have, away from the community's outline."""
    codes = [c for c in grids.codes if c and len(c) == 15 and c.startswith(community)]
    outline = grids.geometries[grids.position_of[community]].boundary
    for a in codes:
        for b in codes:
            if a >= b:
                continue
            other = shapely.get_coordinates(grids.geometries[grids.position_of[b]])
            for x, y in shapely.get_coordinates(grids.geometries[grids.position_of[a]]):
                far = outline.distance(Point(x, y)) > 0.0003
                if far and np.min(np.hypot(other[:, 0] - x, other[:, 1] - y)) < 1e-12:
                    return a, b, (float(x), float(y))
    raise AssertionError("no shared inner vertex")


def test_a_planner_edits_publishes_and_the_lookup_follows(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    url = f"sqlite:///{tmp_path / 'store.sqlite'}"
    app = create_app(Settings(store=StoreSettings(database_url=url, reload_interval_s=0.2)))
    key = make_key(Store(url), "planner-li", Role.PLANNER)
    other_key = make_key(Store(url), "planner-wang", Role.PLANNER)
    sample = read_boundaries([SAMPLE])
    with serve(app) as base, chromium() as browser:
        page, guard = guarded_page(browser)
        page.on("dialog", lambda dialog: dialog.accept())
        page.goto(f"{base}/map/edit")
        page.fill("#ge-key", key)
        page.click("#ge-load")
        page.wait_for_function("() => window.gridgeoEditor.ready", timeout=30_000)
        assert editor(page)["version"] == 1
        grids_before = int(editor(page)["counts"]["5"])  # type: ignore[index]
        # metres only, a CJK font, simplified glyphs
        scales = page.locator(".leaflet-control-scale-line").all_inner_texts()
        assert len(scales) == 1 and scales[0].endswith("m"), scales
        font = page.evaluate("() => getComputedStyle(document.querySelector('button')).fontFamily")
        assert font.startswith('"PingFang SC"'), font
        assert page.evaluate("() => document.documentElement.lang") == "zh-CN"

        # split: select the grid, draw a line across it, click its last point to finish
        target = sample.geometries[sample.position_of[SPLIT]]
        inside = target.representative_point()
        page.evaluate(
            "([lat, lon]) => window.gridgeoMap.setView([lat, lon], 16, {animate: false})",
            [inside.y, inside.x],
        )
        page.wait_for_timeout(300)
        page.mouse.click(*container_point(page, inside.x, inside.y))
        assert editor(page)["selected"] == [SPLIT]
        assert page.inner_text("#ge-selected") == f"已选 1 个网格：{SPLIT}"
        shot(page, "select")
        page.click("#ge-split")
        _, y0, _, y1 = target.bounds
        start = container_point(page, inside.x, y0 - 0.0008)
        end = container_point(page, inside.x, y1 + 0.0008)
        page.mouse.click(*start)
        # Geoman's drawing hints in the page's words
        tips = page.locator(".leaflet-tooltip").all_inner_texts()
        assert "点击继续画线" in tips, tips
        page.mouse.click(*end)
        page.mouse.click(*end)
        first = wait_saved(page, 1)
        state = editor(page)
        [new_code] = state["applied"][0]["added"]  # type: ignore[index]
        assert state["counts"]["5"] == grids_before + 1  # type: ignore[index]
        shot(page, "split")

        # merge the neighbour with the part of the split grid it shares an edge with
        # (shift-click selects more)
        drawn = httpx.get(
            f"{base}/v1/versions/{first}/features", params={"level": 5},
            headers={"X-API-Key": key},
        ).json()  # fmt: skip
        shapes = {f["id"]: shapely.geometry.shape(f["geometry"]) for f in drawn["features"]}
        partner = next(
            c for c in (SPLIT, new_code) if shapes[c].intersection(shapes[NEIGHBOUR]).length > 0
        )
        merged, removed = sorted([partner, NEIGHBOUR])
        for n, code in enumerate((NEIGHBOUR, partner)):
            spot = shapes[code].representative_point()
            if n:
                page.keyboard.down("Shift")
            page.mouse.click(*container_point(page, spot.x, spot.y))
        page.keyboard.up("Shift")
        assert sorted(editor(page)["selected"]) == [merged, removed]  # type: ignore[arg-type]
        page.click("#ge-merge")
        second = wait_saved(page, first)
        assert editor(page)["applied"][0]["removed"] == [removed]  # type: ignore[index]
        kept = shapes[merged].representative_point()
        kept_at = {"lng": kept.x, "lat": kept.y}

        # drag a vertex two grids share: both move (and nothing else breaks)
        a, b, (vx, vy) = shared_vertex(sample, RESHAPED)
        page.evaluate(
            "([lat, lon]) => window.gridgeoMap.setView([lat, lon], 17, {animate: false})",
            [vy, vx],
        )
        page.wait_for_timeout(300)
        centre = sample.geometries[sample.position_of[a]].representative_point()
        page.mouse.click(*container_point(page, centre.x, centre.y))
        assert editor(page)["selected"] == [a]
        page.click("#ge-reshape")
        page.wait_for_selector(".marker-icon", timeout=10_000)
        px, py = container_point(page, vx, vy)
        page.mouse.move(px, py)
        page.mouse.down()
        page.mouse.move(px + 8, py + 5, steps=5)
        page.mouse.move(px + 15, py + 10, steps=5)
        page.mouse.up()
        third = wait_saved(page, second)
        assert {a, b} <= set(editor(page)["applied"][0]["changed"])  # type: ignore[index]
        shot(page, "reshape")

        # another planner saves the same draft first: this page's rename gets 409 and keeps it
        rename = {"operations": [{"op": "rename", "code": merged, "name": "王工改的名"}]}
        answer = httpx.post(
            f"{base}/v1/versions/{third}/edits", json=rename, headers={"X-API-Key": other_key}
        )
        assert answer.status_code == 201
        fourth = answer.json()["version"]["id"]
        page.evaluate(
            "([lat, lon]) => window.gridgeoMap.setView([lat, lon], 16, {animate: false})",
            [kept_at["lat"], kept_at["lng"]],
        )
        page.wait_for_timeout(300)
        page.mouse.click(*container_point(page, kept_at["lng"], kept_at["lat"]))
        assert editor(page)["selected"] == [merged]
        page.fill("#ge-name", "滨江合并网格")
        page.click("#ge-rename")
        page.wait_for_function("() => window.gridgeoEditor.pending.length === 1")
        assert page.is_visible("#ge-pending-box")
        assert f"draft {fourth}" in str(editor(page)["message"])
        page.click("#ge-retry")
        fifth = wait_saved(page, fourth)
        assert editor(page)["pending"] == 0

        # compare with the published version, then publish
        page.click("#ge-diff")
        page.wait_for_function("() => window.gridgeoEditor.diff !== undefined")
        diff = editor(page)["diff"]
        # the split and merge reshaped two grids (and maybe removed one), the drag two more
        assert diff["reshaped"] + diff["removed"] >= 4 and diff["renamed"] == 1  # type: ignore[index]
        shot(page, "diff")
        page.click("#ge-publish")
        page.wait_for_function("() => window.gridgeoEditor.status === 'published'")
        assert not guard.blocked and not guard.errors, (guard.blocked, guard.errors)

        # the lookup answers from the published draft: API, then CLI
        point = kept_at["lng"], kept_at["lat"]
        deadline = time.monotonic() + 20
        while True:
            found = httpx.get(
                f"{base}/v1/lookup", params={"lon": point[0], "lat": point[1], "crs": "cgcs2000"}
            ).json()
            if found["version"] == fifth or time.monotonic() > deadline:
                break
            time.sleep(0.2)
        assert found["version"] == fifth
        assert found["grids"][0]["code"] == merged
        assert found["grids"][0]["name"] == "滨江合并网格"
    capsys.readouterr()
    args = ["lookup", str(point[0]), str(point[1]), "--crs", "cgcs2000", "--format", "json"]
    assert main([*args, "--database-url", url]) == 0
    answered = json.loads(capsys.readouterr().out)
    assert answered["version"] == fifth and answered["grids"][0]["code"] == merged
    assert new_code.startswith(SPLIT[:12])  # the split's part was numbered in its community


LANGUAGES = [
    ("zh", ("边界编辑", "拆分", "合并所选")),
    ("en", ("Boundary editor", "Split", "Merge")),
]


@pytest.mark.parametrize(("lang", "words"), LANGUAGES)
def test_the_editor_page_speaks_the_configured_language(
    tmp_path: Path, lang: str, words: tuple[str, ...]
) -> None:
    url = f"sqlite:///{tmp_path / 'store.sqlite'}"
    with serve(create_app(Settings(lang=lang, store=StoreSettings(database_url=url)))) as base:
        page_html = httpx.get(f"{base}/map/edit").text
        lib = httpx.get(f"{base}/map/static/vendor/leaflet-geoman/leaflet-geoman.min.js")
    assert all(word in page_html for word in words)
    assert lib.status_code == 200 and len(lib.content) > 100_000
