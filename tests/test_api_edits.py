"""Editing over HTTP: a version's features, edits saved as drafts, stale saves, refusals;
on SpatiaLite and PostGIS."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import shapely
from fastapi.testclient import TestClient
from keyhelpers import role_keys
from shapely.geometry import shape

from gridgeo.api.app import create_app
from gridgeo.settings import ApiSettings, Settings, StoreSettings
from gridgeo.store.core import Store

ONE, TWO = "450302001001001", "450302001001002"


@pytest.fixture
def env(store_url: str) -> Iterator[tuple[TestClient, dict[str, str]]]:
    app = create_app(
        Settings(store=StoreSettings(database_url=store_url))
    )  # seeds the sample as version 1
    keys = role_keys(Store(store_url))
    # the editing core's refusals in English, the words these tests name
    with TestClient(app, headers={"Accept-Language": "en"}) as client:
        yield client, keys


def as_planner(keys: dict[str, str]) -> dict[str, str]:
    return {"X-API-Key": keys["planner"]}


def grid_shape(client: TestClient, keys: dict[str, str], version: int, code: str):  # type: ignore[no-untyped-def]
    body = client.get(f"/v1/versions/{version}/features?level=5", headers=as_planner(keys)).json()
    [feature] = [f for f in body["features"] if f["id"] == code]
    return shape(feature["geometry"])


def split_line(geom: shapely.Geometry) -> list[list[float]]:
    _, y0, _, y1 = geom.bounds
    x = geom.representative_point().x
    return [[x, y0 - 0.001], [x, y1 + 0.001]]


def count_versions(client: TestClient, keys: dict[str, str]) -> int:
    return len(client.get("/v1/versions", headers=as_planner(keys)).json())


def test_features_of_a_version_for_the_editor(env: tuple[TestClient, dict[str, str]]) -> None:
    client, keys = env
    everything = client.get("/v1/versions/1/features", headers=as_planner(keys))
    assert everything.status_code == 200
    assert everything.headers["content-type"].startswith("application/geo+json")
    assert len(everything.json()["features"]) == 79
    grids = client.get("/v1/versions/1/features?level=5", headers=as_planner(keys)).json()
    assert {f["properties"]["level"] for f in grids["features"]} == {5}
    assert (
        client.get("/v1/versions/1/features", headers={"X-API-Key": keys["viewer"]}).status_code
        == 403
    )
    assert client.get("/v1/versions/99/features", headers=as_planner(keys)).status_code == 404


def test_edits_make_drafts_and_a_stale_save_gets_409(
    env: tuple[TestClient, dict[str, str]],
) -> None:
    client, keys = env
    line = split_line(grid_shape(client, keys, 1, ONE))
    split = {"operations": [{"op": "split", "code": ONE, "line": line}], "note": "拆分"}
    viewer = client.post("/v1/versions/1/edits", json=split, headers={"X-API-Key": keys["viewer"]})
    assert viewer.status_code == 403

    first = client.post("/v1/versions/1/edits", json=split, headers=as_planner(keys))
    assert first.status_code == 201, first.text
    body = first.json()
    draft = body["version"]
    assert draft["status"] == "draft" and draft["based_on"] == 1 and draft["note"] == "拆分"
    [new_code] = body["applied"][0]["added"]
    assert body["report"]["summary"]["errors"] == 0
    assert body["findings"]["type"] == "FeatureCollection"
    published = client.get("/v1/versions/1", headers=as_planner(keys)).json()
    assert published["status"] == "published"  # editing the published version starts a draft

    rename = {"operations": [{"op": "rename", "code": new_code, "name": "滨江二网格"}]}
    second = client.post(f"/v1/versions/{draft['id']}/edits", json=rename, headers=as_planner(keys))
    assert second.status_code == 201, second.text
    newer = second.json()["version"]
    old = client.get(f"/v1/versions/{draft['id']}", headers=as_planner(keys)).json()
    assert (old["status"], old["superseded_by"]) == ("superseded", newer["id"])

    # a second planner still on the old draft: 409, nothing written
    before = count_versions(client, keys)
    stale = client.post(f"/v1/versions/{draft['id']}/edits", json=rename, headers=as_planner(keys))
    assert stale.status_code == 409
    assert f"saved again as draft {newer['id']}" in stale.json()["detail"]
    assert count_versions(client, keys) == before
    refused = client.post(f"/v1/versions/{draft['id']}/publish", headers=as_planner(keys))
    assert refused.status_code == 409 and "publish that one" in refused.json()["detail"]

    # publish the newest draft: lookups answer from it
    published = client.post(f"/v1/versions/{newer['id']}/publish", headers=as_planner(keys))
    assert published.status_code == 200
    client.app.state.live.refresh()  # what the reload poller does every few seconds
    piece = grid_shape(client, keys, newer["id"], new_code).representative_point()
    found = client.get(f"/v1/lookup?lon={piece.x}&lat={piece.y}&crs=cgcs2000").json()
    assert found["version"] == newer["id"]
    assert found["grids"][0]["code"] == new_code
    assert found["grids"][0]["name"] == "滨江二网格"


def test_refused_edits_name_the_grids_and_write_nothing(
    env: tuple[TestClient, dict[str, str]],
) -> None:
    client, keys = env
    before = count_versions(client, keys)
    merge = {"operations": [{"op": "merge", "codes": [ONE, "450302001002001"]}]}
    answer = client.post("/v1/versions/1/edits", json=merge, headers=as_planner(keys))
    assert answer.status_code == 400
    assert "only grids of one community merge" in answer.json()["detail"]
    assert ONE in answer.json()["detail"]
    inside = grid_shape(client, keys, 1, ONE).representative_point()
    stub = [[inside.x, inside.y], [inside.x + 1e-5, inside.y]]
    short = {"operations": [{"op": "split", "code": ONE, "line": stub}]}
    answer = client.post("/v1/versions/1/edits", json=short, headers=as_planner(keys))
    assert answer.status_code == 400 and "does not cut it" in answer.json()["detail"]
    assert count_versions(client, keys) == before

    for bad in (
        {"operations": []},
        {"operations": [{"op": "explode", "code": ONE}]},
        {"operations": [{"op": "split", "code": ONE, "line": [[110.3, 25.3]]}]},
        {"operations": [{"op": "merge", "codes": [ONE, "DROP TABLE"]}]},
    ):
        answer = client.post("/v1/versions/1/edits", json=bad, headers=as_planner(keys))
        assert answer.status_code == 422, bad
    assert count_versions(client, keys) == before


def test_a_new_grid_drawn_in_a_community(env: tuple[TestClient, dict[str, str]]) -> None:
    client, keys = env
    centre = grid_shape(client, keys, 1, ONE).representative_point()
    d = 0.0003
    ring = [[centre.x - d, centre.y - d], [centre.x + d, centre.y - d],
            [centre.x + d, centre.y + d], [centre.x - d, centre.y + d]]  # fmt: skip
    body = {"operations": [{"op": "add_grid", "ring": ring, "name": "学校网格"}]}
    answer = client.post("/v1/versions/1/edits", json=body, headers=as_planner(keys))
    assert answer.status_code == 201, answer.text
    [done] = answer.json()["applied"]
    [code] = done["added"]
    assert code.startswith(ONE[:12]) and ONE in done["changed"]
    draft = answer.json()["version"]["id"]
    new = grid_shape(client, keys, draft, code)
    assert new.area == pytest.approx(4 * d * d, rel=1e-6)
    assert grid_shape(client, keys, draft, ONE).intersection(new).area < 1e-12
    outside = {"operations": [{"op": "add_grid", "ring": [[100.0, 20.0], [100.01, 20.0],
                                                           [100.01, 20.01]]}]}  # fmt: skip
    refused = client.post("/v1/versions/1/edits", json=outside, headers=as_planner(keys))
    assert refused.status_code == 400 and "lies in no community" in refused.json()["detail"]


def test_costly_requests_are_limited_per_caller_and_role(store_url: str) -> None:
    settings = Settings(
        store=StoreSettings(database_url=store_url),
        api=ApiSettings(costly_per_minute=30, costly_per_minute_by_role={"planner": 3}),
    )
    app = create_app(settings)
    keys = role_keys(Store(store_url))
    with TestClient(app) as client:
        planner = as_planner(keys)
        answers = [client.get("/v1/versions/1/diff/1", headers=planner) for _ in range(4)]
        assert [a.status_code for a in answers] == [200, 200, 200, 429]
        refused = answers[-1]
        assert 1 <= int(refused.headers["Retry-After"]) <= 20
        assert "planner-key" in refused.json()["detail"]
        assert "规划员（planner）角色每分钟至多 3 次" in refused.json()["detail"]
        assert "GRIDGEO_COSTLY_PER_MINUTE_BY_ROLE" in refused.json()["detail"]
        # another caller has a bucket of its own, at its role's rate (admin: the default 30)
        admin = {"X-API-Key": keys["admin"]}
        assert all(
            client.get("/v1/versions/1/diff/1", headers=admin).status_code == 200 for _ in range(5)
        )
        assert client.get("/v1/versions", headers=planner).status_code == 200
        assert client.get("/v1/lookup?lon=110.3005&lat=25.2785").status_code == 200
