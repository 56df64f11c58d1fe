from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest
from fastapi.testclient import TestClient

import gridgeo
from gridgeo.api.app import create_app
from gridgeo.caseflow import CaseState
from gridgeo.dataset import Dataset
from gridgeo.maps.assets import remote_assets
from gridgeo.maps.editor import editor_config, editor_page
from gridgeo.maps.text import FONT_STACK
from gridgeo.maps.viewer import (
    CASE_STATE_COLORS,
    CASE_TEXT,
    VIEWER_TEXT,
    is_work_loop_url,
    viewer_config,
)
from gridgeo.settings import MapSettings, Settings, StoreSettings
from gridgeo.store.cases import create_case


@pytest.fixture(scope="module")
def data() -> Dataset:
    return gridgeo.load()


def _client(data: Dataset, **settings: object) -> TestClient:
    return TestClient(create_app(Settings(**settings), data))  # type: ignore[arg-type]


@pytest.fixture(scope="module")
def client(data: Dataset) -> Iterator[TestClient]:
    with _client(data) as c:
        yield c


def _config(page: str) -> dict[str, object]:
    match = re.search(r"window.GRIDGEO_VIEWER = (\{.*?\});</script>", page)
    assert match
    config: dict[str, object] = json.loads(match.group(1))
    return config


def test_page_is_local_and_chinese_by_default(client: TestClient) -> None:
    r = client.get("/map")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/html")
    assert remote_assets(r.text) == []
    assert '<script src="/map/lib/leaflet/leaflet.js">' in r.text
    config = _config(r.text)
    assert config["lang"] == "zh" and config["tiles"] == []
    assert config["cases"] == "/map/cases.geojson"
    levels = config["levels"]
    assert isinstance(levels, list)
    assert [lv["id"] for lv in levels] == [
        "level1_city",
        "level2_district",
        "level3_street",
        "level4_community",
        "level5_grid",
    ]
    assert [lv["name"] for lv in levels] == ["市", "区", "街道", "社区", "五级网格"]
    assert "按编码或名称搜索" in r.text
    assert '<html lang="zh-CN">' in r.text  # simplified glyphs
    # the plan's words for how people are employed; the script fills {fields} itself
    assert config["employments"] == {
        "sworn": "在编队员",
        "auxiliary": "协管员",
        "cadre": "兼职干部",
    }
    assert config["text"]["metres"] == "{n} 米"  # type: ignore[index]


def test_viewer_and_editor_scale_bars_are_metric_and_fonts_chinese(client: TestClient) -> None:
    script = client.get("/map/static/viewer.js").text
    editor = client.get("/map/static/editor.js").text
    for js in (script, editor):
        assert "L.control.scale({ imperial: false })" in js
        assert "L.control.scale()" not in js
    css = client.get("/map/static/viewer.css").text
    stack = re.search(r"html, body, \.leaflet-container \{ font-family: ([^;]+);", css)
    assert stack and " ".join(stack.group(1).split()) == FONT_STACK
    assert "Times" not in css and "serif;" not in css.replace("sans-serif;", "")
    # Chinese punctuation comes from the page's language, not from literals in the script
    assert '"：" : ": "' in script and '"（" + s + "）"' in script


def test_editor_page_is_chinese_with_geomans_tooltips_in_its_words() -> None:
    zh = editor_config(lang="zh", prefix="")
    page = editor_page(zh, lib="/map/lib/leaflet", static="/map/static")
    assert '<html lang="zh-CN">' in page
    assert zh["text"]["pm_finish_line"] == "再次点击最后一点结束"
    assert zh["kinds"]["reshaped"] == "调整边界"
    en = editor_config(lang="en", prefix="")
    assert en["text"]["rename"] == "Rename" and en["kinds"]["recoded"] == "recoded"
    assert '<html lang="en">' in editor_page(en, lib="l", static="s")


def test_english_basemap_and_cases_url(data: Dataset) -> None:
    maps = MapSettings(basemap="tianditu", tianditu_key="k1", viewer_cases_url="/v1/cases")
    with _client(data, lang="en", maps=maps) as c:
        config = _config(c.get("/map").text)
    assert config["lang"] == "en"
    assert config["cases"] == "/v1/cases"
    assert config["casesMode"] == "loop" and config["events"] == "/v1/events"
    tiles = config["tiles"]
    assert isinstance(tiles, list) and len(tiles) == 2 and "LAYER=eva" in tiles[1]["url"]


def test_levels_over_the_limit_are_drawn_per_view(client: TestClient, data: Dataset) -> None:
    counts = [int((data.grids.levels == lv).sum()) for lv in range(1, 6)]
    levels = _config(client.get("/map").text)["levels"]
    assert isinstance(levels, list)
    assert [lv["count"] for lv in levels] == counts
    assert not any(lv["viewport"] for lv in levels)  # the sample is small: all loaded whole
    with _client(data, maps=MapSettings(viewer_max_features=10)) as c:
        config = _config(c.get("/map").text)
    levels = config["levels"]
    assert isinstance(levels, list) and config["maxFeatures"] == 10
    assert [lv["viewport"] for lv in levels] == [n > 10 for n in counts]
    assert config["text"]["zoom_in"] == "放大后显示"  # type: ignore[index]


def test_viewer_config_without_counts() -> None:
    config = viewer_config(max_features=5)
    assert all(lv["count"] is None and not lv["viewport"] for lv in config["levels"])


def test_assets_are_served_and_confined(client: TestClient) -> None:
    js = client.get("/map/lib/leaflet/leaflet.js")
    assert js.status_code == 200 and len(js.content) > 100_000
    assert client.get("/map/lib/leaflet/images/marker-icon.png").status_code == 200
    assert client.get("/map/static/viewer.js").status_code == 200
    assert client.get("/map/static/viewer.css").status_code == 200
    assert client.get("/map/static/../viewer.py").status_code == 404
    assert client.get("/map/static/%2e%2e/viewer.py").status_code == 404
    assert client.get("/map/lib/leaflet/nothing.js").status_code == 404


def test_staff_names_and_posts_without_phones(client: TestClient, data: Dataset) -> None:
    r = client.get("/map/staff", params={"codes": "450302001001002,450302001001,nope"})
    body = r.json()
    assert set(body) == {"450302001001002", "450302001001", "nope"}
    assert body["nope"] == []
    expected = sorted(m.name for m in data.staff if m.grid_code == "450302001001002")
    assert sorted(p["name"] for p in body["450302001001002"]) == expected
    assert all("phone" not in p for people in body.values() for p in people)
    assert {p["role_zh"] for p in body["450302001001"]} >= {"网格长", "副网格长"}


def test_cases_geojson(client: TestClient) -> None:
    r = client.get("/map/cases.geojson")
    assert r.status_code == 200 and r.headers["content-type"] == "application/geo+json"
    doc = r.json()
    frame = pd.read_csv(Settings().maps.map_cases)  # what the viewer serves
    assert len(doc["features"]) == len(frame)
    first = doc["features"][0]
    assert first["geometry"]["coordinates"] == [frame["lon"][0], frame["lat"][0]]
    assert first["properties"]["id"] == frame["id"][0]
    assert first["properties"]["status"] == "ok"
    assert first["properties"]["code_l1"] == "450300"


def test_cases_missing_file(data: Dataset, tmp_path: object) -> None:
    with _client(data, maps=MapSettings(map_cases="/nonexistent/cases.csv")) as c:
        r = c.get("/map/cases.geojson")
    assert r.status_code == 404
    assert "GRIDGEO_MAP_CASES" in r.text


def test_config_urls_follow_the_prefix() -> None:
    config = viewer_config(prefix="/gis")
    assert config["lookup"] == "/gis/v1/lookup"
    assert config["collections"] == "/gis/collections"
    assert config["cases"] == "/gis/map/cases.geojson"


def test_cases_come_from_the_store_once_it_has_some(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'store.sqlite'}"
    with TestClient(create_app(Settings(store=StoreSettings(database_url=url)))) as c:
        sample = c.get("/map/cases.geojson").json()
        assert len(sample["features"]) > 100  # a new store shows the sample cases
        app = c.app
        store = app.state.store  # type: ignore[attr-defined]
        data = app.state.live.current  # type: ignore[attr-defined]
        case = create_case(store, data, lon=110.3005, lat=25.2785, category="0101", actor="t")
        doc = c.get("/map/cases.geojson").json()
    assert [f["properties"]["id"] for f in doc["features"]] == [str(case.id)]
    assert doc["features"][0]["properties"]["code_l5"] == "450302001001002"
    assert doc["features"][0]["geometry"]["coordinates"] == [110.3005, 25.2785]


def test_served_from_a_store_the_case_layer_reads_the_work_loop(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'store.sqlite'}"
    with TestClient(
        create_app(Settings(store=StoreSettings(database_url=url))), root_path="/gis"
    ) as c:
        config = _config(c.get("/map").text)
    assert config["casesMode"] == "loop"
    assert config["cases"] == "/gis/v1/cases"  # the root_path prefix, like the other URLs
    assert config["caseItem"] == "/gis/v1/cases/"
    assert config["events"] == "/gis/v1/events"
    assert config["maxCases"] == 5000 and config["casePage"] == 1000
    categories = config["categories"]
    assert isinstance(categories, dict) and categories["0505"] == "机动车乱停放"
    states = config["caseStates"]
    assert isinstance(states, list)
    assert [s["label"] for s in states] == [s.label_zh for s in CaseState]
    assert config["openTaskStates"] == ["dispatched", "accepted", "rework"]


def test_the_mode_follows_the_cases_url() -> None:
    loop = viewer_config(prefix="/gis", work_loop=True)
    assert (loop["cases"], loop["casesMode"], loop["events"]) == (
        "/gis/v1/cases",
        "loop",
        "/gis/v1/events",
    )
    # a GeoJSON URL keeps the file mode, store or not: no detail URL, no event stream
    for work_loop in (True, False):
        geojson = viewer_config(cases_url="/data/cases.geojson", work_loop=work_loop)
        assert (geojson["casesMode"], geojson["events"], geojson["caseItem"]) == ("geojson", "", "")
    other = viewer_config(cases_url="http://gis.example/city/v1/cases?state=dispatched")
    assert other["casesMode"] == "loop"
    assert other["caseItem"] == "http://gis.example/city/v1/cases/"
    assert other["events"] == "http://gis.example/city/v1/events"
    assert is_work_loop_url("/v1/cases/") and not is_work_loop_url("/v1/cases.geojson")


def test_case_states_have_distinct_colours_and_text_in_both_languages() -> None:
    assert list(CASE_STATE_COLORS) == list(CaseState)
    assert len(set(CASE_STATE_COLORS.values())) == len(CaseState)
    assert not set(CASE_TEXT) & set(VIEWER_TEXT)
    zh, en = viewer_config(lang="zh"), viewer_config(lang="en")
    for key, (chinese, english) in CASE_TEXT.items():
        assert zh["text"][key] == chinese and en["text"][key] == english
        assert chinese != english
        assert not any(mark in chinese for mark in "(),:;"), key  # full-width in Chinese
    assert [s["label"] for s in en["caseStates"]] == [s.value for s in CaseState]
    assert en["actions"]["verify_pass"] == "verify pass" and zh["actions"]["close"] == "结案"
    assert zh["taskStates"]["dispatched"] == "待签收" and en["urgencies"]["urgent"] == "urgent"
    assert zh["urgencies"]["urgent"] == "紧急"
