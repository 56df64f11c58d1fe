"""Open311 extensions on SQLite and PostGIS: media (media_url and uploaded photos, stored with
the case in one transaction) and paging of GET requests with a Link header."""

from __future__ import annotations

import hashlib
import io
import os
import re
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from casehelpers import close_case
from fastapi.testclient import TestClient
from PIL import Image
from sqlalchemy import func, select

from gridgeo.api.app import create_app
from gridgeo.api.body_limit import MEDIA_FORM_HEADROOM, BodySizeLimit
from gridgeo.roles import Role
from gridgeo.settings import ApiSettings, Settings, StoreSettings
from gridgeo.store import api_keys, cases
from gridgeo.store import schema as t
from gridgeo.store.core import Store

BASE = "/open311/v2"
POINT = {"lat": "25.2775", "long": "110.2965"}
NEXT = re.compile(r'^<([^>]+)>; rel="next"$')


def png(size: tuple[int, int] = (8, 6), noise: bool = False) -> bytes:
    """A real PNG made by Pillow (noise: random pixels, so it does not compress)."""
    if noise:
        image = Image.frombytes("RGB", size, os.urandom(size[0] * size[1] * 3))
    else:
        image = Image.new("RGB", size, (200, 30, 30))
    out = io.BytesIO()
    image.save(out, format="PNG")
    return out.getvalue()


class App:
    """A test client on a fresh store, with a reporter key."""

    def __init__(self, client: TestClient, store: Store, key: str) -> None:
        self.client, self.store, self.key = client, store, key
        self.h = {"X-API-Key": key}

    def post(self, fmt: str = "json", **kwargs: Any) -> httpx.Response:
        data = POINT | {"service_code": "0101"} | kwargs.pop("data", {})
        r: httpx.Response = self.client.post(
            f"{BASE}/requests.{fmt}", data=data, headers=self.h, **kwargs
        )
        return r

    def counts(self) -> tuple[int, int]:
        with self.store.reading() as session:
            n_cases = session.scalar(select(func.count()).select_from(t.Case))
            n_media = session.scalar(select(func.count()).select_from(t.CaseMedia))
        return int(n_cases or 0), int(n_media or 0)


def _app(url: str, **settings: Any) -> Iterator[App]:
    app = create_app(Settings(api=ApiSettings(**settings), store=StoreSettings(database_url=url)))
    store = Store(url)
    key = api_keys.create_key(store, "reporting-app", Role.REPORTER, actor="test")
    with TestClient(app, raise_server_exceptions=False) as client:
        yield App(client, store, key)
    store.close()


@pytest.fixture
def api(store_url: str) -> Iterator[App]:
    yield from _app(store_url, max_media_bytes=4096)


@pytest.fixture(scope="module")
def shared(tmp_path_factory: pytest.TempPathFactory) -> Iterator[App]:
    """One SQLite app for the tests that only read (seeding takes a few seconds)."""
    yield from _app(f"sqlite:///{tmp_path_factory.mktemp('o311x') / 's.sqlite'}")


def _error(r: httpx.Response, status: int) -> str:
    assert r.status_code == status, r.text
    if r.headers["content-type"].startswith("text/xml"):
        root = ET.fromstring(r.content)
        assert root.tag == "errors" and root.findtext("error/code") == str(status)
        return root.findtext("error/description") or ""
    (err,) = r.json()
    assert err["code"] == status
    return str(err["description"])


# --- media --------------------------------------------------------------------------------


def test_media_round_trip(api: App) -> None:
    photo = png()
    form = {"description": "垃圾满溢", "email": "citizen@example.cn", "phone": "13800000000"}
    r = api.post(data=form, files={"media": ("photo.png", photo, "image/png")})
    assert r.status_code == 201, r.text
    rid = r.json()[0]["service_request_id"]

    (got,) = api.client.get(f"{BASE}/requests/{rid}.json").json()
    media_url = got["media_url"]
    assert re.fullmatch(r"http://testserver/open311/v2/media/\d+", media_url), media_url
    assert "email" not in got and "phone" not in got  # the reporter stays private
    assert "citizen@example.cn" not in str(got) and "13800000000" not in str(got)

    m = api.client.get(media_url)
    assert m.status_code == 200
    assert m.headers["content-type"] == "image/png"
    assert m.headers["x-content-type-options"] == "nosniff"
    assert m.content == photo
    assert hashlib.sha256(m.content).hexdigest() == hashlib.sha256(photo).hexdigest()
    assert m.headers["etag"] == f'"{hashlib.sha256(photo).hexdigest()}"'
    with api.store.reading() as session:
        row = session.scalars(select(t.CaseMedia)).one()
    assert (row.case_id, row.size, row.filename) == (int(rid), len(photo), "photo.png")
    assert row.sha256 == hashlib.sha256(photo).hexdigest()

    root = ET.fromstring(api.client.get(f"{BASE}/requests/{rid}.xml").content)
    assert root.findtext("request/media_url") == media_url

    # media_url alone is stored and returned as given; with neither, media_url is null
    link = "https://img.example.cn/cases/42.jpg?size=large"
    r = api.post(data={"media_url": link})
    assert r.status_code == 201, r.text
    (got,) = api.client.get(f"{BASE}/requests/{r.json()[0]['service_request_id']}.json").json()
    assert got["media_url"] == link
    r = api.post(fmt="xml")
    rid = ET.fromstring(r.content).findtext("request/service_request_id")
    (got,) = api.client.get(f"{BASE}/requests/{rid}.json").json()
    assert got["media_url"] is None
    # an upload wins over a given media_url
    r = api.post(data={"media_url": link}, files={"media": ("p.png", photo, "image/png")})
    (got,) = api.client.get(f"{BASE}/requests/{r.json()[0]['service_request_id']}.json").json()
    assert got["media_url"].startswith("http://testserver/open311/v2/media/")


def test_media_refusals(api: App) -> None:
    text = b"just some text, not a picture\n"
    r = api.post(files={"media": ("photo.png", text, "image/png")})
    assert "按内容识别为 text/plain" in (msg := _error(r, 400)) and "'photo.png'" in msg
    assert "上传时声明为 image/png" in msg and msg.startswith("media：照片 ")
    svg = b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>'
    r = api.post(fmt="xml", files={"media": ("x.png", svg, "image/png")})
    assert "image/svg+xml" in _error(r, 400)

    big = png((64, 64), noise=True)  # ~12 kB; the limit here is 4096 bytes
    assert len(big) > 4096
    msg = _error(api.post(files={"media": ("big.png", big, "image/png")}), 413)
    assert "'big.png'" in msg and "4096" in msg and "GRIDGEO_MAX_MEDIA_BYTES" in msg

    for bad in ("javascript:alert(1)", "ftp://files.example.cn/a.jpg", "data:image/png;base64,"):
        msg = _error(api.post(data={"media_url": bad}), 400)
        assert "media_url" in msg and repr(bad) in msg
    msg = _error(api.post(data={"media_url": "https://x.cn/" + "a" * 2000}), 400)
    assert "media_url" in msg and "至多允许 2000 个" in msg
    assert api.counts() == (0, 0)  # nothing refused was stored

    assert "媒体文件 '999999' 不存在" in _error(api.client.get(f"{BASE}/media/999999"), 404)
    assert "媒体文件 'abc' 不存在" in _error(api.client.get(f"{BASE}/media/abc"), 404)


def test_failure_after_the_case_insert_leaves_neither(
    api: App, monkeypatch: pytest.MonkeyPatch
) -> None:
    def fail(*_: Any, **__: Any) -> None:  # the audit entry is written after case and media
        raise RuntimeError("simulated failure inside the transaction")

    monkeypatch.setattr(cases, "record", fail)
    r = api.post(files={"media": ("photo.png", png(), "image/png")})
    assert r.status_code == 500
    assert api.counts() == (0, 0)
    monkeypatch.undo()
    assert api.post(files={"media": ("photo.png", png(), "image/png")}).status_code == 201
    assert api.counts() == (1, 1)


def test_photo_up_to_the_media_limit_passes_the_body_limit(sqlite_url: str) -> None:
    # body limit 4 KiB, photo limit 64 KiB: the route allows the photo plus form headroom
    for app in _app(sqlite_url, max_body_bytes=4096, max_media_bytes=64 * 1024):
        photo = png((100, 100), noise=True)  # ~30 kB
        assert 4096 < len(photo) <= 64 * 1024
        r = app.post(files={"media": ("photo.png", photo, "image/png")})
        assert r.status_code == 201, r.text
        huge = b"\x89PNG\r\n\x1a\n" + b"\0" * (64 * 1024 + MEDIA_FORM_HEADROOM)
        r = app.post(fmt="xml", files={"media": ("huge.png", huge, "image/png")})
        assert "上限为" in _error(r, 413)  # the middleware's refusal, as an Open311 list
        # other routes keep the body limit
        assert app.client.post("/v1/lookup", content=b"[" + b" " * 5000 + b"]").status_code == 413


def test_default_limits_let_a_full_size_photo_through() -> None:
    s = Settings().api
    limit = BodySizeLimit(
        lambda *_: None,  # type: ignore[arg-type]
        max_body=s.max_body_bytes,
        max_upload=s.max_upload_bytes,
        max_media=s.max_media_bytes,
    )
    assert s.max_media_bytes == 10 * 1024 * 1024 > s.max_body_bytes
    assert limit.limit_for("POST", f"{BASE}/requests.json") > s.max_media_bytes
    assert limit.limit_for("POST", "/v1/lookup") == s.max_body_bytes
    assert limit.limit_for("POST", "/v1/versions") == s.max_upload_bytes


# --- paging -------------------------------------------------------------------------------


def _page(api: App, url: str, **params: Any) -> tuple[list[str], str | None]:
    r = api.client.get(url, params=params or None)
    assert r.status_code == 200, r.text
    ids = [row["service_request_id"] for row in r.json()]
    link = r.headers.get("link")
    if link is None:
        return ids, None
    found = NEXT.match(link)
    assert found, link
    return ids, found.group(1)


def test_paging_over_several_codes_and_statuses(api: App) -> None:
    codes = ("0101", "0505", "0402")
    created = []
    for i in range(25):
        code = codes[i % 3]
        extra = {"attribute[flooding]": "no"} if code == "0402" else {}
        r = api.post(data={"service_code": code} | extra)
        assert r.status_code == 201, r.text
        created.append(r.json()[0]["service_request_id"])
    for rid in created[::4]:  # some closed, so both statuses are asked for
        close_case(api.store, int(rid))
    newest_first = sorted(created, key=int, reverse=True)

    params = {"service_code": ",".join(codes), "status": "open,closed", "page_size": 10}
    pages, links = [], []
    ids, link = _page(api, f"{BASE}/requests.json", **params)
    pages.append(ids)
    links.append(link)
    while link is not None:
        ids, link = _page(api, link)  # follow the Link header as a client would
        pages.append(ids)
        links.append(link)
    assert [len(p) for p in pages] == [10, 10, 5]
    assert links[0] is not None and "page=2" in links[0] and "page_size=10" in links[0]
    assert links[1] is not None and "page=3" in links[1] and links[2] is None
    assert [i for p in pages for i in p] == newest_first  # all 25, once each, in order

    # two codes, one status: the same SQL cut, no overlap
    two = {"service_code": "0101,0505", "status": "open", "page_size": 4}
    expected = [
        r["service_request_id"]
        for r in api.client.get(f"{BASE}/requests.json", params=two | {"page_size": 1000}).json()
    ]
    assert {api_row_code(api, i) for i in expected} == {"0101", "0505"}
    paged: list[str] = []
    for page in range(1, 10):
        ids, link = _page(api, f"{BASE}/requests.json", **two, page=page)
        paged += ids
        if link is None:
            break
    assert paged == expected and len(set(paged)) == len(paged)

    # XML pages carry the header too
    r = api.client.get(f"{BASE}/requests.xml", params=params | {"page": 2})
    assert len(ET.fromstring(r.content).findall("request")) == 10 and "link" in r.headers
    # by ids: paged as well
    ids, link = _page(
        api, f"{BASE}/requests.json", service_request_id=",".join(created[:3]), page_size=2
    )
    assert ids == sorted(created[:3], key=int, reverse=True)[:2] and link is not None


def api_row_code(api: App, rid: str) -> str:
    (row,) = api.client.get(f"{BASE}/requests/{rid}.json").json()
    return str(row["service_code"])


@pytest.mark.parametrize(
    ("params", "named"),
    [
        ({"page": "0"}, "'page'"),
        ({"page": "abc"}, "'page'"),
        ({"page": "-3"}, "'page'"),
        ({"page": str(10**30)}, "'page'"),
        ({"page_size": "0"}, "'page_size'"),
        ({"page_size": "1001"}, "'page_size'"),
        ({"page_size": "ten"}, "'page_size'"),
    ],
)
def test_bad_paging_is_400(shared: App, params: dict[str, str], named: str) -> None:
    for fmt in ("json", "xml"):
        msg = _error(shared.client.get(f"{BASE}/requests.{fmt}", params=params), 400)
        assert named in msg and repr(next(iter(params.values()))) in msg
