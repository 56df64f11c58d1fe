"""Roles, API keys, refusals (401/403/413), staff redaction and CORS (zip safety:
tests/test_io_archives.py)."""

from __future__ import annotations

import secrets
import sqlite3
import time
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from keyhelpers import role_keys

from gridgeo.api import auth, redaction
from gridgeo.api.app import create_app
from gridgeo.roles import Role
from gridgeo.settings import ApiSettings, Settings, StoreSettings
from gridgeo.store import api_keys
from gridgeo.store.core import Store

GRID = "450302001001002"


@pytest.fixture(scope="module")
def db(tmp_path_factory: pytest.TempPathFactory) -> str:
    """One seeded store for the module (seeding takes a few seconds)."""
    url = f"sqlite:///{tmp_path_factory.mktemp('sec') / 'store.sqlite'}"
    create_app(Settings(store=StoreSettings(database_url=url)))  # seeds the sample data
    return url


@pytest.fixture(scope="module")
def keys(db: str) -> dict[str, str]:
    store = Store(db)
    out = role_keys(store)
    out["revoked"] = api_keys.create_key(store, "gone", Role.ADMIN, actor="test")
    api_keys.revoke_key(store, "gone", actor="test")
    return out


def _client(db: str, **settings: object) -> Iterator[TestClient]:
    app = create_app(Settings(api=ApiSettings(**settings), store=StoreSettings(database_url=db)))  # type: ignore[arg-type]
    with TestClient(app) as client:
        yield client


@pytest.fixture
def client(db: str) -> Iterator[TestClient]:
    yield from _client(db)


def test_role_order() -> None:
    assert Role.ADMIN.allows(Role.PLANNER) and Role.PLANNER.allows(Role.PLANNER)
    assert not Role.REPORTER.allows(Role.PLANNER)
    assert [r.value for r in Role] == [
        "viewer",
        "reporter",
        "handler",
        "inspector",
        "dispatcher",
        "planner",
        "admin",
    ]


def test_anonymous_reads_grids_by_default(client: TestClient) -> None:
    assert client.get("/collections/level5_grid/items?limit=1").status_code == 200
    assert client.get("/v1/lookup", params={"lon": 110.2965, "lat": 25.2775}).status_code == 200


def test_anonymous_none_needs_a_key(db: str, keys: dict[str, str]) -> None:
    for client in _client(db, anonymous_role="none"):
        for url in ("/collections", "/tiles/level5_grid/tilejson.json", "/map", "/v1/lookup"):
            r = client.get(url)
            assert r.status_code == 401, url
            assert "X-API-Key" in r.json()["detail"]
            assert r.headers["www-authenticate"].startswith("ApiKey")
        assert client.get("/collections", headers={"X-API-Key": keys["viewer"]}).status_code == 200
        assert client.get("/collections", params={"api_key": keys["viewer"]}).status_code == 200
        point = {"lon": 110.2965, "lat": 25.2775}
        # the lookup reads its key itself, from the header or the query string
        r = client.get("/v1/lookup", params=point, headers={"X-API-Key": keys["viewer"]})
        assert r.status_code == 200, r.text
        r = client.get("/v1/lookup", params=point | {"api_key": keys["viewer"]})
        assert r.status_code == 200, r.text
        r = client.get("/v1/lookup", params=point | {"api_key": "ggk_not-a-key"})
        assert r.status_code == 401 and "不存在或已被吊销" in r.json()["detail"]
        assert client.get("/health").status_code == 200  # health stays open for probes


def test_unknown_and_revoked_keys_are_401(client: TestClient, keys: dict[str, str]) -> None:
    for key in ("ggk_not-a-key", keys["revoked"]):
        r = client.get("/collections", headers={"X-API-Key": key})
        assert r.status_code == 401
        assert r.json()["detail"] == "API 密钥不存在或已被吊销"
        english = client.get("/collections", headers={"X-API-Key": key, "Accept-Language": "en"})
        assert english.json()["detail"] == "the API key is unknown or has been revoked"


def test_only_a_key_lookup_leaves_the_event_loop(
    client: TestClient, db: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The role dependency checks anonymous callers on the event loop; a presented key
    reads the store's keys (a query) in the thread pool once, then is answered from
    memory for a few seconds, on the event loop; so is an unknown key soon after."""
    hops: list[str] = []

    async def counted(func, *args, **kwargs):  # type: ignore[no-untyped-def]
        hops.append(func.__name__)
        return func(*args, **kwargs)

    monkeypatch.setattr(auth, "run_in_threadpool", counted)
    fresh = api_keys.create_key(Store(db), "hop-counter", Role.VIEWER, actor="test")
    assert client.get("/collections").status_code == 200
    assert client.get("/tiles/level5_grid/tilejson.json").status_code == 200
    assert hops == []
    for _ in range(2):
        r = client.get("/collections", headers={"X-API-Key": fresh})
        assert r.status_code == 200 and hops == ["find_key"]
    for _ in range(2):
        r = client.get("/collections", headers={"X-API-Key": "ggk_not-a-key-of-this-test"})
        assert r.status_code == 401 and hops == ["find_key"]


def test_a_flood_of_bogus_keys_costs_no_query_each(
    client: TestClient, db: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    reads: list[float] = []
    real = api_keys._read_keys

    def counted(store: Store) -> object:
        reads.append(time.monotonic())
        return real(store)

    monkeypatch.setattr(api_keys, "_read_keys", counted)
    good = api_keys.create_key(Store(db), "flood-survivor", Role.VIEWER, actor="test")
    start = time.monotonic()
    for n in range(300):
        bogus = {"X-API-Key": f"ggk_bogus-{n}-{secrets.token_hex(8)}"}
        assert client.get("/collections", headers=bogus).status_code == 401
    elapsed = time.monotonic() - start
    # the keys are read again at most every KEY_MISS_SECONDS, not once per bogus key
    assert len(reads) <= 2 + elapsed / api_keys.KEY_MISS_SECONDS, (len(reads), elapsed)
    assert client.get("/collections", headers={"X-API-Key": good}).status_code == 200


def test_keys_stored_hashed(db: str, keys: dict[str, str]) -> None:
    with sqlite3.connect(db.removeprefix("sqlite:///")) as conn:
        stored = {h for (h,) in conn.execute("SELECT key_hash FROM api_keys")}
    assert {api_keys.hash_key(k) for k in keys.values()} <= stored  # other tests add keys
    assert not stored & set(keys.values())  # the plain keys are not stored


def test_staff_names_and_phones_follow_roles(db: str, keys: dict[str, str]) -> None:
    for client in _client(db, staff_names_role="reporter"):
        anon = client.get("/map/staff", params={"codes": GRID}).json()[GRID]
        assert anon and all("name" not in m and "phone" not in m for m in anon)
        assert all("role" in m for m in anon)  # posts stay visible
        named = client.get(
            "/map/staff", params={"codes": GRID}, headers={"X-API-Key": keys["reporter"]}
        ).json()[GRID]
        assert all(m["name"] for m in named) and all("phone" not in m for m in named)


def test_may_see_helpers() -> None:
    s = Settings()
    assert redaction.may_see_staff(Role.VIEWER, s) and not redaction.may_see_contacts(
        Role.VIEWER, s
    )
    assert redaction.may_see_contacts(Role.PLANNER, s) and not redaction.may_see_staff(None, s)
    access = redaction.StaffAccess(names=False, contacts=False)
    payload = {"name": "西城网格", "staff": [{"person_id": "p1", "name": "李", "phone": "1"}]}
    assert redaction.redact_people(payload, access) == {
        "name": "西城网格",  # a grid's name is not a person's
        "staff": [{"person_id": "p1"}],
    }


def test_body_too_large_is_413(db: str) -> None:
    for client in _client(db, max_body_bytes=2048):
        r = client.post("/v1/lookup", content=b"[" + b" " * 5000 + b"]")
        assert r.status_code == 413
        assert "上限为 2048 字节" in r.json()["detail"]


def test_cors_only_when_configured(db: str, client: TestClient) -> None:
    origin = {"Origin": "https://map.example.cn"}
    assert "access-control-allow-origin" not in client.get("/collections", headers=origin).headers
    for cors in _client(db, cors_origins="https://map.example.cn"):
        r = cors.get("/collections", headers=origin)
        assert r.headers["access-control-allow-origin"] == "https://map.example.cn"
        pre = cors.options(
            "/v1/versions",
            headers=origin
            | {
                "Access-Control-Request-Method": "POST",
                "Access-Control-Request-Headers": "x-api-key",
            },
        )
        assert pre.status_code == 200
