"""Boundary management over HTTP: upload (dry run, commit), list, show, diff, publish,
rollback, behind roles; upload limits and zip safety."""

from __future__ import annotations

import io
import json
import zipfile
from collections.abc import Iterator
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pytest
from fastapi.testclient import TestClient
from keyhelpers import role_keys

from gridgeo.api.app import create_app
from gridgeo.roles import Role
from gridgeo.settings import ApiSettings, Settings, StoreSettings
from gridgeo.store import api_keys
from gridgeo.store.core import Store

SAMPLE = Path(__file__).resolve().parents[1] / "data" / "sample" / "boundaries.gpkg"


@pytest.fixture(scope="module")
def geojson() -> bytes:
    """The sample boundaries as one GeoJSON file (all levels)."""
    import pyogrio

    frames = [gpd.read_file(SAMPLE, layer=name) for name, _ in pyogrio.list_layers(SAMPLE)]
    frame = gpd.GeoDataFrame(pd.concat(frames, ignore_index=True), crs=frames[0].crs)
    return frame.to_json().encode()


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[TestClient, dict[str, str]]]:
    url = f"sqlite:///{tmp_path_factory.mktemp('ver') / 's.sqlite'}"
    app = create_app(
        Settings(store=StoreSettings(database_url=url), api=ApiSettings(max_upload_features=5000))
    )
    store = Store(url)
    keys = role_keys(store)
    with TestClient(app) as client:
        yield client, keys


EN = {"Accept-Language": "en"}  # for the words of the store's and the readers' refusals


def _upload(  # type: ignore[no-untyped-def]
    client: TestClient, body: bytes, name: str, key: str | None, *, lang: str = "zh", **form: str
):
    headers = {"X-API-Key": key, "Accept-Language": lang} if key else {"Accept-Language": lang}
    return client.post("/v1/versions", files={"file": (name, body)}, data=form, headers=headers)


def test_writes_need_planner(env: tuple[TestClient, dict[str, str]], geojson: bytes) -> None:
    client, keys = env
    r = _upload(client, geojson, "b.geojson", None)
    assert r.status_code == 401 and "规划员（planner）" in r.json()["detail"]
    assert r.headers["www-authenticate"].startswith("ApiKey")
    r = _upload(client, geojson, "b.geojson", keys["viewer"])
    assert r.status_code == 403
    assert r.json()["detail"] == (
        "API 密钥 'viewer-key' 的角色是查看者（viewer）；此操作需要规划员（planner）或以上角色"
    )
    r = _upload(client, geojson, "b.geojson", keys["viewer"], lang="en")
    assert r.json()["detail"] == (
        "the API key 'viewer-key' has role viewer; this needs role planner or above"
    )
    assert _upload(client, geojson, "b.geojson", keys["reporter"]).status_code == 403
    assert client.post("/v1/versions/1/publish").status_code == 401
    assert (
        client.post("/v1/versions/1/rollback", headers={"X-API-Key": keys["viewer"]}).status_code
        == 403
    )
    assert client.get("/v1/versions").status_code == 200  # reads: viewer (anonymous)


def test_upload_publish_diff_rollback(
    env: tuple[TestClient, dict[str, str]], geojson: bytes
) -> None:
    client, keys = env
    planner = {"X-API-Key": keys["planner"]}
    dry = _upload(client, geojson, "b.geojson", keys["planner"])
    assert dry.status_code == 200, dry.text
    assert dry.json()["dry_run"] is True and dry.json()["version"] is None
    assert dry.json()["feature_count"] > 50 and "report" in dry.json()
    before = len(client.get("/v1/versions").json())

    r = _upload(client, geojson, "b.geojson", keys["planner"], commit="true", note="redraw")
    assert r.status_code == 201, r.text
    draft = r.json()["version"]
    assert draft["status"] == "draft" and draft["author"] == "planner-key"
    assert draft["note"] == "redraw" and draft["source_name"] == "b.geojson"
    assert len(client.get("/v1/versions").json()) == before + 1
    shown = client.get(f"/v1/versions/{draft['id']}").json()
    assert shown["id"] == draft["id"] and isinstance(shown["report"], dict)

    # a diff of two whole versions costs seconds of CPU at city scale: planners only
    r = client.get(f"/v1/versions/1/diff/{draft['id']}")
    assert r.status_code == 401
    r = client.get(f"/v1/versions/1/diff/{draft['id']}", headers={"X-API-Key": keys["viewer"]})
    assert r.status_code == 403
    planner = {"X-API-Key": keys["planner"]}
    diff = client.get(f"/v1/versions/1/diff/{draft['id']}", headers=planner).json()
    assert isinstance(diff, dict) and "added" in json.dumps(diff)
    gj = client.get(
        f"/v1/versions/1/diff/{draft['id']}", params={"format": "geojson"}, headers=planner
    )
    assert gj.headers["content-type"].startswith("application/geo+json")
    assert gj.json()["type"] == "FeatureCollection"

    r = client.post(f"/v1/versions/{draft['id']}/publish", headers=planner)
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "published"
    r = client.post(f"/v1/versions/{draft['id']}/publish", headers=planner | EN)
    assert r.status_code == 409 and "already published" in r.json()["detail"]

    r = client.post("/v1/versions/1/rollback", headers=planner)
    assert r.status_code == 200 and r.json()["status"] == "published"
    assert client.get("/v1/versions/999").status_code == 404


def test_force_publish_needs_admin(env: tuple[TestClient, dict[str, str]], geojson: bytes) -> None:
    client, keys = env
    r = _upload(client, geojson, "b.geojson", keys["planner"], commit="true")
    vid = r.json()["version"]["id"]
    r = client.post(
        f"/v1/versions/{vid}/publish?force=true", headers={"X-API-Key": keys["planner"]}
    )
    assert r.status_code == 403 and "GRIDGEO_FORCE_PUBLISH_ROLE" in r.json()["detail"]
    assert r.json()["detail"].startswith("发布时使用 force=true 需要管理员（admin）或以上角色")
    r = client.post(f"/v1/versions/{vid}/publish?force=true", headers={"X-API-Key": keys["admin"]})
    assert r.status_code == 200 and r.json()["status"] == "published"


MESSY = Path(__file__).resolve().parents[1] / "data" / "real" / "guilin_districts.geojson"


def test_restoring_a_force_published_version_needs_the_force_role(
    tmp_path: Path, geojson: bytes
) -> None:
    """A planner may not bring back, by rollback, what only an admin could publish past
    its validation errors; the admin can, with force=true, audit-logged as forced."""
    url = f"sqlite:///{tmp_path / 's.sqlite'}"
    app = create_app(
        Settings(store=StoreSettings(database_url=url))
    )  # the sample published as version 1
    keys = role_keys(Store(url))
    planner, admin = {"X-API-Key": keys["planner"]}, {"X-API-Key": keys["admin"]}
    with TestClient(app) as client:
        r = _upload(client, MESSY.read_bytes(), "guilin.geojson", keys["planner"], commit="true")
        forced = r.json()["version"]
        assert forced["errors"] > 0
        r = client.post(f"/v1/versions/{forced['id']}/publish?force=true", headers=admin)
        assert r.status_code == 200
        r = _upload(client, geojson, "b.geojson", keys["planner"], commit="true")
        clean = r.json()["version"]["id"]
        assert client.post(f"/v1/versions/{clean}/publish", headers=planner).status_code == 200

        r = client.post(f"/v1/versions/{forced['id']}/rollback", headers=planner | EN)
        assert r.status_code == 409 and "roll back with --force" in r.json()["detail"]
        r = client.post(f"/v1/versions/{forced['id']}/rollback?force=true", headers=planner)
        assert r.status_code == 403 and "GRIDGEO_FORCE_PUBLISH_ROLE" in r.json()["detail"]
        assert client.get(f"/v1/versions/{clean}", headers=planner).json()["status"] == "published"

        r = client.post(f"/v1/versions/{forced['id']}/rollback?force=true", headers=admin)
        assert r.status_code == 200 and r.json()["status"] == "published"
        # a clean version is restored by a planner as before, without force
        r = client.post(f"/v1/versions/{clean}/rollback", headers=planner)
        assert r.status_code == 200 and r.json()["status"] == "published"


def _zip(entries: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in entries.items():
            zf.writestr(name, data)
    return buf.getvalue()


def test_upload_refusals(env: tuple[TestClient, dict[str, str]], tmp_path: Path) -> None:
    client, keys = env
    key = keys["planner"]
    r = _upload(client, _zip({"../../evil.shp": b"x"}), "b.zip", key)
    assert r.status_code == 422 and "'..'" in r.json()["detail"]
    r = _upload(client, _zip({"/tmp/evil.shp": b"x"}), "b.zip", key)
    assert r.status_code == 422
    assert r.json()["detail"] == "zip 条目 '/tmp/evil.shp' 是绝对路径，已拒绝"
    r = _upload(client, b"not a zip", "b.zip", key)
    assert r.status_code == 422 and r.json()["detail"] == "上传文件不是有效的 zip 文件"
    r = _upload(client, b"{}", "b.exe", key)
    assert r.status_code == 422 and "无法读取 .exe 格式的上传文件" in r.json()["detail"]
    r = _upload(client, b"{}", "b.exe", key, lang="en")
    assert r.json()["detail"].startswith("cannot read a .exe upload")

    many = {
        "type": "FeatureCollection",
        "features": [
            {
                "type": "Feature",
                "properties": {"code": f"450302001001{i:03d}", "name": str(i)},
                "geometry": {
                    "type": "Polygon",
                    "coordinates": [
                        [
                            [110 + i * 1e-4, 25],
                            [110 + i * 1e-4, 25.0001],
                            [110.0001 + i * 1e-4, 25],
                            [110 + i * 1e-4, 25],
                        ]
                    ],
                },
            }
            for i in range(5001)
        ],
        "crs": {"type": "name", "properties": {"name": "urn:ogc:def:crs:EPSG::4490"}},
    }
    r = _upload(client, json.dumps(many).encode(), "many.geojson", key, lang="en")
    assert r.status_code == 413 and "over 5000 features" in r.json()["detail"]

    # A zipped Shapefile is read from the safe extraction.
    shp = tmp_path / "shp"
    shp.mkdir()
    gpd.read_file(SAMPLE, layer="level1_city").to_file(shp / "g.shp")
    body = _zip({p.name: p.read_bytes() for p in shp.iterdir()})
    r = _upload(client, body, "g.zip", key)
    assert r.status_code == 200, r.text
    assert r.json()["dry_run"] is True and r.json()["feature_count"] > 0


def test_upload_too_large(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 's.sqlite'}"
    app = create_app(
        Settings(store=StoreSettings(database_url=url), api=ApiSettings(max_upload_bytes=4096))
    )
    key = api_keys.create_key(Store(url), "p", Role.PLANNER, actor="t")
    with TestClient(app) as client:
        r = _upload(client, b"x" * 10_000, "b.geojson", key)
        assert r.status_code == 413 and "上限为 4096 字节" in r.json()["detail"]
