"""The language of the API's answers: Chinese by default, English on request.

``Accept-Language`` (q-values honoured, the first of zh/en the client accepts) else the
service's ``GRIDGEO_LANG``; every answer says which in ``Content-Language``. The language
reaches the body-size limit, the exception handlers, the thread pool, the costly pool
and the Open311 error documents.
"""

from __future__ import annotations

import doctest
import io
import xml.etree.ElementTree as ET
import zipfile
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

import gridgeo
from gridgeo.api import auth, language
from gridgeo.api.app import create_app
from gridgeo.api.language import accepted_lang, alternatives
from gridgeo.dataset import Dataset
from gridgeo.i18n import use_lang
from gridgeo.roles import Role
from gridgeo.settings import ApiSettings, Settings, StoreSettings
from gridgeo.store import api_keys
from gridgeo.store.core import Store

EN = {"Accept-Language": "en"}
NO_STORE_ZH = "本服务未连接数据库，不保存案件"
NO_STORE_EN = "this service runs without a store: it keeps no cases"


@pytest.fixture(scope="module")
def sample() -> Dataset:
    return gridgeo.load()


@pytest.fixture(scope="module")
def client(sample: Dataset) -> Iterator[TestClient]:
    with TestClient(create_app(Settings(), data=sample)) as http:
        yield http


# --- Accept-Language ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("header", "lang"),
    [
        (b"zh", "zh"),
        (b"zh-CN,zh;q=0.9,en;q=0.8", "zh"),
        (b"zh-Hans-CN", "zh"),
        (b"zh_TW", "zh"),
        (b"en", "en"),
        (b"en-US,en;q=0.9", "en"),
        (b"EN-gb", "en"),
        (b"fr, en;q=0.5", "en"),
        (b"fr-CH, fr;q=0.9, en;q=0.8, de;q=0.7, *;q=0.5", "en"),
        (b"en;q=0.2, zh;q=0.8", "zh"),  # the higher q wins, not the first
        (b"zh;q=0.5, en;q=0.5", "zh"),  # equal q: the order given
        (b"en;q=0, zh;q=0.1", "zh"),  # q=0: not acceptable
        (b"en; q=0.9 ; foo=bar", "en"),
    ],
)
def test_accepted_lang_takes_the_first_language_accepted(header: bytes, lang: str) -> None:
    assert accepted_lang(header) == lang


@pytest.mark.parametrize(
    "header",
    [
        b"",
        b"fr",
        b"*",
        b"fr, *;q=0.5",
        b"en;q=0",
        b"en;q=abc",  # malformed: the whole header is ignored
        b"en;q=2",
        "中文".encode(),
        b"en," * 300,  # longer than any browser sends
        b"\xff\xfe",
    ],
)
def test_accepted_lang_is_none_for_other_or_bad_headers(header: bytes) -> None:
    assert accepted_lang(header) is None


def test_choices_in_messages_follow_the_language() -> None:
    with use_lang("zh"):
        assert alternatives(["open", "closed"]) == "open 或 closed"
        assert alternatives(["json"]) == "json"
    with use_lang("en"):
        assert alternatives(["json", "geojson", "html"]) == "json, geojson or html"


def test_the_examples_of_the_modules_hold() -> None:
    assert doctest.testmod(language).failed == 0
    assert doctest.testmod(auth).failed == 0


# --- the answers ------------------------------------------------------------------------


def test_errors_are_chinese_by_default_with_content_language(client: TestClient) -> None:
    r = client.get("/v1/cases")  # a sync route: its error is raised in the thread pool
    assert r.status_code == 404
    assert r.json() == {"detail": NO_STORE_ZH, "error": "NoStoreError"}
    assert r.headers["content-language"] == "zh"
    assert "Accept-Language" in r.headers["vary"]
    r = client.get("/no/such/path")
    assert r.status_code == 404 and r.json()["detail"] == "请求的资源不存在"
    assert r.headers["content-language"] == "zh"
    r = client.delete("/v1/lookup")
    assert r.status_code == 405 and r.json()["detail"] == "该路径不支持此请求方法"


@pytest.mark.parametrize("header", ["en", "en-US,en;q=0.9", "fr, en;q=0.5", "zh;q=0.1, en-GB"])
def test_accept_language_asks_for_english(client: TestClient, header: str) -> None:
    r = client.get("/v1/cases", headers={"Accept-Language": header})
    assert r.status_code == 404 and r.json()["detail"] == NO_STORE_EN
    assert r.headers["content-language"] == "en"


@pytest.mark.parametrize("header", ["fr", "*", "en;q=abc", "x" * 1000, "zh-CN"])
def test_another_or_a_bad_header_gives_the_default(client: TestClient, header: str) -> None:
    r = client.get("/v1/cases", headers={"Accept-Language": header})
    assert r.json()["detail"] == NO_STORE_ZH and r.headers["content-language"] == "zh"


def test_the_setting_is_the_default_and_the_header_still_wins(sample: Dataset) -> None:
    with TestClient(create_app(Settings(lang="en"), data=sample)) as http:
        r = http.get("/v1/cases")
        assert r.json()["detail"] == NO_STORE_EN and r.headers["content-language"] == "en"
        r = http.get("/v1/cases", headers={"Accept-Language": "fr"})
        assert r.headers["content-language"] == "en"
        r = http.get("/v1/cases", headers={"Accept-Language": "zh-CN,zh;q=0.9"})
        assert r.json()["detail"] == NO_STORE_ZH and r.headers["content-language"] == "zh"


def test_successful_answers_say_their_language_too(client: TestClient) -> None:
    point = {"lon": "110.2965", "lat": "25.2775"}
    r = client.get("/v1/lookup", params=point)  # the fast path
    assert r.status_code == 200 and r.headers["content-language"] == "zh"
    assert client.get("/v1/lookup", params=point, headers=EN).headers["content-language"] == "en"
    assert client.get("/health").headers["content-language"] == "zh"


def test_the_cached_lookup_answer_is_kept_per_language(client: TestClient, sample: Dataset) -> None:
    """Partner zones are described in words: the answer cached for one language is not
    served to a request in the other."""
    point = {"lon": "110.2965", "lat": "25.2775"}
    zh = client.get("/v1/lookup", params=point).json()["partners"]
    en = client.get("/v1/lookup", params=point, headers=EN).json()["partners"]
    assert zh and [p["code"] for p in zh] == [p["code"] for p in en]
    with use_lang("en"):
        described = {p.code: p.zone.describe() for p in sample.partners}
    assert all(p["zone_description"] == described[p["code"]] for p in en)


def test_validation_messages_are_in_the_language(client: TestClient) -> None:
    """pydantic's own words in English; in Chinese for the kinds a parameter meets."""
    r = client.get("/v1/lookup", params={"lon": "x", "lat": "25"})
    assert r.status_code == 422
    assert r.json()["message"] == "查询参数 'lon'：应为数字，无法把该文本读作数字（收到的值：'x'）"
    r = client.get("/v1/lookup", params={"lon": "x", "lat": "25"}, headers=EN)
    said = "Input should be a valid number, unable to parse string as a number"  # pydantic's
    assert r.json()["message"] == f"query parameter 'lon': {said} (got 'x')"
    assert r.json()["detail"][0]["msg"] == said  # FastAPI's body itself is untouched
    r = client.get("/v1/lookup", params={"lon": "110.3"})
    assert r.json()["message"] == "查询参数 'lat'：必须提供"


@pytest.mark.parametrize(
    ("kind", "context", "chinese"),
    [
        ("greater_than_equal", {"ge": 0.0}, "应大于或等于 0"),
        ("less_than_equal", {"le": 10.5}, "应小于或等于 10.5"),
        ("string_too_long", {"max_length": 40}, "应至多有 40 个字符"),
        ("literal_error", {"expected": "'a' or 'b'"}, "应为 'a' or 'b'"),
        ("int_parsing", {}, "应为整数，无法把该文本读作整数"),
        (
            "datetime_from_date_parsing",
            {"error": "input is too short"},
            "应为有效的日期时间或日期（input is too short）",
        ),
        ("no_such_kind", {}, "pydantic's own words"),  # a kind without words: pydantic's
        ("less_than", {}, "pydantic's own words"),  # words without their value: pydantic's
    ],
)
def test_pydantic_problems_in_chinese(kind: str, context: dict[str, Any], chinese: str) -> None:
    from gridgeo.api.errors import validation_message

    problem = {"type": kind, "loc": ("query", "p"), "msg": "pydantic's own words", "ctx": context}
    with use_lang("zh"):
        assert validation_message([problem]) == f"查询参数 'p'：{chinese}"
    with use_lang("en"):
        assert validation_message([problem]) == "query parameter 'p': pydantic's own words"


def test_batch_point_problems_are_in_the_language(client: TestClient) -> None:
    body = [{"lon": 110.3}, "here"]
    zh = client.post("/v1/lookup", json=body).json()["results"]
    assert [p["error"] for p in zh] == ["缺少 lat", "应为含 lon 和 lat 的对象，收到的是 str"]
    en = client.post("/v1/lookup", json=body, headers=EN).json()["results"]
    assert [p["error"] for p in en] == [
        "missing lat",
        "expected an object with lon and lat, got str",
    ]


def test_ogc_exceptions_are_in_the_language(client: TestClient) -> None:
    r = client.get("/collections/nosuch/items")
    assert r.status_code == 404 and r.json()["code"] == "NotFound"
    assert r.json()["description"].startswith("没有要素集合 'nosuch'；现有集合：level1_city、")
    r = client.get("/collections/level5_grid/items", params={"bbox": "1,2,3"}, headers=EN)
    assert r.status_code == 400
    assert r.json()["description"] == "parameter 'bbox' = '1,2,3': expected 4 or 6 numbers, got 3"


def test_the_body_limit_refuses_in_the_language(sample: Dataset) -> None:
    app = create_app(Settings(api=ApiSettings(max_body_bytes=1024)), data=sample)
    with TestClient(app) as http:
        r = http.post("/v1/lookup", content=b"[" + b" " * 2000 + b"]")
        assert r.status_code == 413 and r.headers["content-language"] == "zh"
        assert r.json()["detail"] == "请求体超过 1024 字节（2002），上限为 1024 字节"
        r = http.post("/open311/v2/requests/1.xml", content=b"x" * 2000, headers=EN)
        assert r.status_code == 413
        description = ET.fromstring(r.content).findtext("error/description")
        assert description == "the request body has more than 1024 bytes (2000); the limit is 1024"


def test_access_refusals_name_the_role_in_the_language(sample: Dataset) -> None:
    app = create_app(Settings(api=ApiSettings(anonymous_role="none")), data=sample)
    with TestClient(app) as http:
        r = http.get("/v1/lookup", params={"lon": "110.3", "lat": "25.3"})
        assert r.status_code == 401
        assert r.json()["detail"] == (
            "需要查看者（viewer）或以上角色的 API 密钥（请在 X-API-Key 请求头中发送）"
        )
        r = http.get("/v1/lookup", params={"lon": "110.3", "lat": "25.3"}, headers=EN)
        assert r.json()["detail"] == (
            "an API key with role viewer or above is needed (send it in the X-API-Key header)"
        )


# --- on a store: the costly pool, Open311 ---------------------------------------------------


@pytest.fixture
def service(store_url: str) -> Iterator[tuple[TestClient, dict[str, str]]]:
    store = Store(store_url)
    keys = {
        "planner": api_keys.create_key(store, "planner", Role.PLANNER, actor="test"),
        "reporter": api_keys.create_key(store, "reporter", Role.REPORTER, actor="test"),
    }
    with TestClient(create_app(Settings(store=StoreSettings(database_url=store_url)))) as http:
        yield http, keys
    store.close()


def _zip_with(name: str) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr(name, b"{}")
    return buf.getvalue()


def test_costly_pool_errors_are_in_the_language(service: Any) -> None:
    """An upload is read in the costly pool's threads: its refusal is written there."""
    http, keys = service
    planner = {"X-API-Key": keys["planner"]}
    upload = {"file": ("evil.zip", _zip_with("../escape.geojson"))}
    r = http.post("/v1/versions", files=upload, headers=planner)
    assert r.status_code == 422 and r.headers["content-language"] == "zh"
    assert r.json()["detail"] == "zip 条目 '../escape.geojson' 用 '..' 跳出了压缩包，已拒绝"
    r = http.post("/v1/versions", files=upload, headers=planner | EN)
    assert r.json()["detail"] == (
        "zip entry '../escape.geojson' climbs out of the archive with '..': refused"
    )
    r = http.post("/v1/versions", files={"file": ("grids.txt", b"x")}, headers=planner)
    assert r.json()["detail"] == (
        "无法读取 .txt 格式的上传文件：请发送 .geojson、.gpkg，或包含 Shapefile 的 .zip"
    )


def test_open311_errors_and_notices_are_in_the_language(service: Any) -> None:
    http, keys = service
    reporter = {"X-API-Key": keys["reporter"]}
    point = {"lat": "25.2775", "long": "110.2965"}
    r = http.post("/open311/v2/requests.xml", data=point, headers=reporter)
    assert r.status_code == 400 and r.headers["content-language"] == "zh"
    root = ET.fromstring(r.content)
    assert root.findtext("error/description") == "缺少 service_code（见 services.json）"
    r = http.post("/open311/v2/requests.xml", data=point, headers=reporter | EN)
    root = ET.fromstring(r.content)
    assert root.findtext("error/description") == "service_code is required (see services.json)"
    r = http.get("/open311/v2/requests.json", params={"status": "done"}, headers=EN)
    assert r.json() == [{"code": 400, "description": "status must be open or closed, not 'done'"}]
    r = http.get("/open311/v2/requests.json", params={"status": "done"})
    assert r.json()[0]["description"] == "status 须为 open 或 closed，而非 'done'"

    r = http.post(
        "/open311/v2/requests.json", data=point | {"service_code": "0101"}, headers=reporter
    )
    assert r.status_code == 201, r.text
    (created,) = r.json()
    assert created["service_notice"].startswith("您反映的问题已受理，正在等待立案。所在网格：")
    rid = created["service_request_id"]
    (got,) = http.get(f"/open311/v2/requests/{rid}.json", headers=EN).json()
    assert got["service_notice"].startswith(
        "Your report has been received and is waiting to be registered. Grid: 450302"
    )
