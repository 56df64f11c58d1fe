"""``GET /v1/events`` over real HTTP (uvicorn on a loopback port), on both stores: a new
client gets only new events, a reconnecting one exactly those it missed (``Last-Event-ID``),
``?case_id=`` filters, idle streams send keepalives; the viewer role is required."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from live_server import serve
from sqlalchemy import select

from gridgeo.api.app import create_app
from gridgeo.caseflow import Action, Actor
from gridgeo.dataset import Dataset
from gridgeo.io.dataset import load
from gridgeo.notify import newest_outbox_id
from gridgeo.roles import Role
from gridgeo.settings import ApiSettings, NotifySettings, Settings, StoreSettings
from gridgeo.store import api_keys
from gridgeo.store import schema as t
from gridgeo.store.cases import NewCase, report_case
from gridgeo.store.casework import ActionRequest, act
from gridgeo.store.core import Store

FAST_EVENTS = NotifySettings(events_poll_s=0.05, events_keepalive_s=0.3)


def fast(url: str, **more: Any) -> Settings:
    """Settings of a service that polls its store and outbox often."""
    store = StoreSettings(database_url=url, reload_interval_s=0.2)
    return Settings(store=store, notify=FAST_EVENTS, **more)


Frame = dict[str, str]


@pytest.fixture(scope="module")
def data() -> Dataset:
    return load()


def new_case(store: Store, data: Dataset) -> int:
    case = report_case(store, data, NewCase(lon=110.3005, lat=25.2785, category="0505"), actor="t")
    return case.id


def register(store: Store, case_id: int) -> None:
    act(store, case_id, ActionRequest(Action.REGISTER), Actor("office", Role.DISPATCHER))


def outbox_ids(store: Store, after: int = 0) -> list[int]:
    with store.reading() as session:
        query = select(t.OutboxMessage.id).where(t.OutboxMessage.id > after)
        return list(session.scalars(query.order_by(t.OutboxMessage.id)))


def frames(response: httpx.Response) -> Iterator[Frame]:
    """The SSE frames of a streamed response: ``{"comment": ...}`` or id/event/data fields."""
    frame: Frame = {}
    for line in response.iter_lines():
        if not line:
            if frame:
                yield frame
            frame = {}
        elif line.startswith(":"):
            frame["comment"] = line[1:].strip()
        else:
            name, _, value = line.partition(":")
            frame[name] = value.removeprefix(" ")


def next_event(stream: Iterator[Frame], timeout: float = 5.0) -> Frame:
    """The next event frame, passing over keepalives (which keep the read from timing out)."""
    deadline = time.monotonic() + timeout
    for frame in stream:
        if "id" in frame:
            return frame
        assert frame == {"comment": "keepalive"}, frame
        if time.monotonic() > deadline:
            break
    raise AssertionError(f"no event within {timeout} s")


def test_new_events_live_then_exactly_the_missed_ones_after_a_reconnect(
    store_url: str, data: Dataset
) -> None:
    app = create_app(fast(store_url))
    with Store(store_url) as store, serve(app) as base:
        first = new_case(store, data)  # before the stream: a new client does not get it
        with httpx.Client(base_url=base, timeout=5) as http:
            with http.stream("GET", "/v1/events") as r:
                assert r.status_code == 200
                assert r.headers["content-type"] == "text/event-stream; charset=utf-8"
                assert r.headers["cache-control"] == "no-cache"
                stream = frames(r)
                newest = newest_outbox_id(store)
                assert next(stream) == {"comment": f"gridgeo events after {newest}"}
                register(store, first)
                event = next_event(stream)
                assert event["id"] == str(newest + 1) and event["event"] == "case.event"
                payload = json.loads(event["data"])
                assert payload["action"] == "register" and payload["case_id"] == first
                assert payload["from"] == "reported" and payload["to"] == "registered"
                seen = int(event["id"])

            # while disconnected: a new case and its registration
            second = new_case(store, data)
            register(store, second)
            missed = outbox_ids(store, after=seen)
            assert len(missed) == 2
            # the header wins over ?after (a reconnecting EventSource repeats its first URL)
            headers = {"Last-Event-ID": str(seen)}
            with http.stream("GET", "/v1/events?after=0", headers=headers) as r:
                stream = frames(r)
                assert next(stream) == {"comment": f"gridgeo events after {seen}"}
                got = [next_event(stream) for _ in missed]
                assert [int(e["id"]) for e in got] == missed
                assert [json.loads(e["data"])["case_id"] for e in got] == [second, second]
                assert next(stream) == {"comment": "keepalive"}  # and nothing more

            with http.stream("GET", f"/v1/events?after=0&case_id={first}") as r:
                stream = frames(r)
                next(stream)
                got = [next_event(stream) for _ in range(2)]
                assert [json.loads(e["data"])["action"] for e in got] == ["report", "register"]
                assert {json.loads(e["data"])["case_id"] for e in got} == {first}
                assert next(stream) == {"comment": "keepalive"}  # the other case's are left out


def test_the_stream_needs_the_viewer_role(sqlite_url: str) -> None:
    app = create_app(fast(sqlite_url, api=ApiSettings(anonymous_role="none")))
    key = api_keys.create_key(Store(sqlite_url), "wall-screen", Role.VIEWER, actor="test")
    with serve(app) as base, httpx.Client(base_url=base, timeout=5) as http:
        r = http.get("/v1/events")
        assert r.status_code == 401 and "API 密钥" in r.json()["detail"]
        # EventSource cannot send headers: the key may come as ?api_key=
        with http.stream("GET", f"/v1/events?api_key={key}") as r:
            assert r.status_code == 200
            assert next(frames(r))["comment"].startswith("gridgeo events after")
        r = http.get("/v1/events", headers={"X-API-Key": key, "Last-Event-ID": "12abc"})
        assert r.status_code == 400 and "'12abc'" in r.json()["detail"]
        r = http.get("/v1/events?after=-1", headers={"X-API-Key": key})
        assert r.status_code == 422
    # an endless stream has no place in the OpenAPI document (nor in schema-driven tests)
    assert "/v1/events" not in app.openapi()["paths"]


def test_without_a_store_there_are_no_events(data: Dataset) -> None:
    with TestClient(create_app(data=data)) as client:
        r = client.get("/v1/events")
    assert r.status_code == 404 and r.json()["detail"] == "本服务未连接数据库，没有事件"
