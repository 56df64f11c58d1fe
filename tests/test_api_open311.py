"""Open311 GeoReport v2: services, a request round trip (JSON and XML) over real HTTP on
SQLite and PostGIS, the spec's filters and error lists."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from live_server import serve

from gridgeo.api.app import create_app
from gridgeo.roles import Role
from gridgeo.settings import ApiSettings, Settings, StoreSettings
from gridgeo.store import api_keys
from gridgeo.store.core import Store

BASE = "/open311/v2"
POINT = {"lat": "25.2775", "long": "110.2965"}


def _app_and_key(url: str) -> tuple[Any, str]:
    app = create_app(Settings(store=StoreSettings(database_url=url)))
    return app, api_keys.create_key(Store(url), "reporting-app", Role.REPORTER, actor="test")


def _round_trip(base: str, key: str) -> None:
    """POST a request, then GET it by id in JSON and XML: grid code and agency filled."""
    with httpx.Client(base_url=base + BASE, timeout=30) as http:
        form = POINT | {"service_code": "0505", "description": "占用消防通道", "api_key": key}
        r = http.post("/requests.json", data=form | {"attribute[blocking]": "yes"})
        assert r.status_code == 201, r.text
        (created,) = r.json()
        rid = created["service_request_id"]
        assert set(created) == {"service_request_id", "service_notice", "account_id"}
        assert "所在网格：4503020010" in created["service_notice"]
        assert created["service_notice"].startswith("您反映的问题已受理，正在等待立案。")

        (got,) = http.get(f"/requests/{rid}.json").json()
        assert got["service_request_id"] == rid and got["status"] == "open"
        assert got["service_code"] == "0505" and got["description"] == "占用消防通道"
        assert got["grid_code"].startswith("450302001") and len(got["grid_code"]) == 15
        assert "交警" in got["agency_responsible"]  # routing: 0505 goes to the traffic police
        assert got["lat"] == pytest.approx(25.2775, abs=1e-6)
        assert got["long"] == pytest.approx(110.2965, abs=1e-6)

        r = http.get(f"/requests/{rid}.xml")
        assert r.headers["content-type"].startswith("text/xml")
        root = ET.fromstring(r.content)
        assert root.tag == "service_requests"
        (req,) = root.findall("request")
        assert req.findtext("service_request_id") == rid
        assert req.findtext("agency_responsible") == got["agency_responsible"]
        assert req.findtext("grid_code") == got["grid_code"]

        r = http.post("/requests.xml", data=form, headers={"X-API-Key": key})
        assert r.status_code == 201
        root = ET.fromstring(r.content)
        assert (
            root.tag == "service_requests" and root.find("request/service_request_id") is not None
        )


def test_round_trip_sqlite_over_http(tmp_path: Any) -> None:
    app, key = _app_and_key(f"sqlite:///{tmp_path / 'o.sqlite'}")
    with serve(app) as base:
        _round_trip(base, key)


def test_round_trip_postgis_over_http(postgis_url: str) -> None:
    app, key = _app_and_key(postgis_url)
    with serve(app) as base:
        _round_trip(base, key)


@pytest.fixture(scope="module")
def setup(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[TestClient, str]]:
    url = f"sqlite:///{tmp_path_factory.mktemp('o311') / 's.sqlite'}"
    app, key = _app_and_key(url)
    with TestClient(app) as client:
        yield client, key


def test_services_json_and_xml(setup: tuple[TestClient, str]) -> None:
    client, _ = setup
    services = client.get(f"{BASE}/services.json").json()
    by_code = {s["service_code"]: s for s in services}
    assert by_code["0505"]["group"] == "街面秩序" and by_code["0505"]["metadata"] is True
    assert by_code["0101"]["metadata"] is False and by_code["0101"]["type"] == "realtime"
    assert "05" not in by_code  # a major class with minors is a group, not a service
    root = ET.fromstring(client.get(f"{BASE}/services.xml").content)
    assert root.tag == "services" and len(root.findall("service")) == len(services)

    definition = client.get(f"{BASE}/services/0505.json").json()
    assert definition["service_code"] == "0505"
    codes = [a["code"] for a in definition["attributes"]]
    assert codes == ["plate_number", "blocking"]
    root = ET.fromstring(client.get(f"{BASE}/services/0402.xml").content)
    assert root.tag == "service_definition"
    attr = root.find("attributes/attribute")
    assert attr is not None and attr.findtext("required") == "true"
    assert [v.findtext("key") for v in attr.findall("values/value")] == ["yes", "no"]

    disco = client.get(f"{BASE}/discovery.json").json()
    assert disco["endpoints"][0]["specification"] == "http://wiki.open311.org/GeoReport_v2"
    assert ET.fromstring(client.get(f"{BASE}/discovery.xml").content).tag == "discovery"


def test_filters(setup: tuple[TestClient, str]) -> None:
    client, key = setup
    h = {"X-API-Key": key}
    ids = []
    for code in ("0101", "0101", "0402"):
        extra = {"attribute[flooding]": "no"} if code == "0402" else {}
        r = client.post(
            f"{BASE}/requests.json", data=POINT | {"service_code": code} | extra, headers=h
        )
        assert r.status_code == 201, r.text
        ids.append(r.json()[0]["service_request_id"])
    listed = client.get(f"{BASE}/requests.json").json()
    assert {r["service_request_id"] for r in listed} >= set(ids)
    only = client.get(f"{BASE}/requests.json", params={"service_code": "0402"}).json()
    assert {r["service_code"] for r in only} == {"0402"}
    two = client.get(f"{BASE}/requests.json", params={"service_request_id": ",".join(ids[:2])})
    assert sorted(r["service_request_id"] for r in two.json()) == sorted(ids[:2])
    assert client.get(f"{BASE}/requests.json", params={"status": "closed"}).json() == []
    assert len(client.get(f"{BASE}/requests.json", params={"status": "open"}).json()) >= 3
    old = {"start_date": "2020-01-01T00:00:00Z", "end_date": "2020-02-01T00:00:00+08:00"}
    assert client.get(f"{BASE}/requests.json", params=old).json() == []


def _error(r: httpx.Response, status: int) -> str:
    assert r.status_code == status, r.text
    if r.headers["content-type"].startswith("text/xml"):
        root = ET.fromstring(r.content)
        assert root.tag == "errors"
        assert root.findtext("error/code") == str(status)
        return root.findtext("error/description") or ""
    (err,) = r.json()
    assert err["code"] == status
    return str(err["description"])


def test_errors_as_the_spec_shows(setup: tuple[TestClient, str]) -> None:
    client, key = setup
    h = {"X-API-Key": key}
    post = f"{BASE}/requests.json"
    assert "缺少 service_code" in _error(client.post(post, data=POINT, headers=h), 400)
    assert "缺少 lat 和 long" in _error(
        client.post(post, data={"service_code": "0101"}, headers=h), 400
    )
    assert "lat 'x' 不是数字" in _error(
        client.post(post, data={"service_code": "0101", "lat": "x", "long": "1"}, headers=h), 400
    )
    assert "lat 须为有限数值，而非 'nan'" in _error(
        client.post(post, data={"service_code": "0101", "lat": "nan", "long": "1"}, headers=h), 400
    )
    assert "service_code '9999' 不是本服务器提供的服务" in _error(
        client.post(post, data=POINT | {"service_code": "9999"}, headers=h), 400
    )
    assert "服务 0402 必须填写 attribute[flooding]" in _error(
        client.post(post, data=POINT | {"service_code": "0402"}, headers=h), 400
    )
    assert "attribute[flooding] 须为 yes、no 之一，而非 'maybe'" in _error(
        client.post(
            f"{BASE}/requests.xml",
            data=POINT | {"service_code": "0402", "attribute[flooding]": "maybe"},
            headers=h,
        ),
        400,
    )
    assert "服务请求 '99999' 不存在" in _error(client.get(f"{BASE}/requests/99999.xml"), 404)
    assert "不是本服务器提供的服务" in _error(client.get(f"{BASE}/services/77.json"), 404)
    assert "不得超过 90 天" in _error(
        client.get(
            f"{BASE}/requests.json",
            params={"start_date": "2026-01-01T00:00:00Z", "end_date": "2026-06-01T00:00:00Z"},
        ),
        400,
    )
    assert "W3C" in _error(client.get(f"{BASE}/requests.json?start_date=yesterday"), 400)
    done = client.get(f"{BASE}/requests.xml?status=done")
    assert "status 须为 open 或 closed" in _error(done, 400)
    # anonymous may not file by default (anonymous_role viewer); a bad key is 401 too
    assert "API 密钥" in _error(client.post(post, data=POINT | {"service_code": "0101"}), 401)
    r = client.post(post, data=POINT | {"service_code": "0101", "api_key": "ggk_wrong"})
    assert "API 密钥不存在或已被吊销" in _error(r, 401)
    # the same in English, on request
    english = {"Accept-Language": "en-US,en;q=0.9"}
    assert "service_code is required" in _error(
        client.post(post, data=POINT, headers=h | english), 400
    )
    assert "open or closed" in _error(
        client.get(f"{BASE}/requests.xml?status=done", headers=english), 400
    )


def test_anonymous_reporter_setting_and_static_app(tmp_path: Any) -> None:
    url = f"sqlite:///{tmp_path / 'a.sqlite'}"
    with TestClient(
        create_app(
            Settings(
                store=StoreSettings(database_url=url), api=ApiSettings(anonymous_role="reporter")
            )
        )
    ) as c:
        r = c.post(f"{BASE}/requests.json", data=POINT | {"service_code": "0101"})
        assert r.status_code == 201
    import gridgeo

    with TestClient(
        create_app(Settings(api=ApiSettings(anonymous_role="reporter")), data=gridgeo.load())
    ) as c:
        r = c.post(f"{BASE}/requests.xml", data=POINT | {"service_code": "0101"})
        # no store, no requests: 404 as every route of a service without a store answers
        assert "服务请求需要数据库" in _error(r, 404)
