"""Text from the public that XML cannot carry or no store can keep.

XML answers stay well-formed whatever a report holds (each answer parsed here), and
text with a NUL or a lone surrogate is refused with 400 naming the field before
anything is written, on SQLite and PostGIS, through Open311, /v1/cases and actions.
"""

from __future__ import annotations

import doctest
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

import gridgeo.api.xml_documents
import gridgeo.textcheck
from gridgeo.api.app import create_app
from gridgeo.api.xml_documents import to_xml, xml_text
from gridgeo.errors import TextError
from gridgeo.roles import Role
from gridgeo.settings import Settings, StoreSettings
from gridgeo.store import api_keys
from gridgeo.store import schema as t
from gridgeo.store.core import Store
from gridgeo.textcheck import check_text, check_texts

# what XML 1.0 cannot carry (NUL, C0 controls but tab/newline/return, U+FFFE/U+FFFF,
# lone surrogates), and what it can (tab, newline, return, CJK, U+E000, an emoji)
NOT_XML = ["\x00", "\x01", "\x08", "\x0b", "\x0c", "\x1b", "\x1f", "\ufffe", "\uffff", "\ud800"]
XML_OK = "\t\n\r井盖\ue000😀"
OPEN311 = "/open311/v2"
POINT = {"lat": "25.2775", "long": "110.2965"}


def test_docstring_examples() -> None:
    assert doctest.testmod(gridgeo.api.xml_documents).failed == 0
    assert doctest.testmod(gridgeo.textcheck).failed == 0


@pytest.mark.parametrize("char", NOT_XML)
def test_xml_replaces_what_it_cannot_carry(char: str) -> None:
    body = [{"description": f"a{char}b", "attributes": {"note": char, "list": [char]}}]
    root = ET.fromstring(to_xml("service_requests", "request", body))
    assert root.findtext("request/description") == "a\ufffdb"
    assert root.findtext("request/attributes/note") == "\ufffd"
    assert root.findtext("request/attributes/list/item") == "\ufffd"


def test_xml_keeps_what_it_can_carry() -> None:
    assert xml_text(XML_OK) == XML_OK
    root = ET.fromstring(to_xml("r", None, {"d": XML_OK, "b": True, "n": None}))
    assert root.findtext("d") == XML_OK.replace("\r", "\n")  # XML parsers normalise CR
    assert root.findtext("b") == "true" and root.findtext("n") == ""


def test_text_check_names_field_and_character() -> None:
    assert check_text("note", "行\x01") == "行\x01"  # other controls are text: kept
    with pytest.raises(TextError, match=r"^description: character 3 is U\+0000 \(NUL\)"):
        check_text("description", "ab\x00")
    with pytest.raises(TextError, match=r"attributes\.open311\.x: character 1 is U\+DC00"):
        check_texts("attributes", {"open311": {"x": "\udc00"}})
    with pytest.raises(TextError, match=r"attributes key: character 1 is U\+0000"):
        check_texts("attributes", {"\x00": "v"})
    with pytest.raises(TextError, match=r"units\[1\]"):
        check_texts("units", ["TP", "\x00"])


@pytest.fixture
def client(store_url: str) -> Iterator[tuple[TestClient, Store, dict[Role, str]]]:
    store = Store(store_url)
    app = create_app(Settings(store=StoreSettings(database_url=store_url)))
    keys = {
        role: api_keys.create_key(store, f"{role.value}-key", role, actor="test")
        for role in (Role.REPORTER, Role.DISPATCHER)
    }
    with TestClient(app) as http:
        yield http, store, keys
    store.close()


def cases_and_events(store: Store) -> tuple[int, int]:
    with store.reading() as session:
        cases = session.scalar(select(func.count()).select_from(t.Case))
        events = session.scalar(select(func.count()).select_from(t.CaseEvent))
    return int(cases or 0), int(events or 0)


def test_open311_xml_stays_well_formed(client: Any) -> None:
    http, _, keys = client
    odd = "".join(c for c in NOT_XML if c not in ("\x00", "\ud800"))  # storable, not XML
    form = POINT | {
        "service_code": "0505",
        "description": f"占用{odd}通道",
        "address_string": f"中山{odd}路",
        "first_name": f"李{odd}",
        "api_key": keys[Role.REPORTER],
    }
    r = http.post(f"{OPEN311}/requests.xml", data=form)
    assert r.status_code == 201, r.text
    rid = ET.fromstring(r.content).findtext("request/service_request_id")
    # the whole list, and the one request, parse; the odd characters became U+FFFD
    for path in ("/requests.xml", f"/requests/{rid}.xml"):
        r = http.get(OPEN311 + path)
        assert r.status_code == 200
        root = ET.fromstring(r.content)
        found = [x for x in root.findall("request") if x.findtext("service_request_id") == rid]
        assert found[0].findtext("description") == "占用" + "\ufffd" * len(odd) + "通道"
        assert found[0].findtext("address") == "中山" + "\ufffd" * len(odd) + "路"
    # JSON carries them as they are (escaped as JSON allows)
    (got,) = http.get(f"{OPEN311}/requests/{rid}.json").json()
    assert got["description"] == f"占用{odd}通道"


def test_unstorable_text_is_refused_before_anything_is_written(client: Any) -> None:
    http, store, keys = client
    before = cases_and_events(store)
    form = POINT | {"service_code": "0505", "description": "占用\x00通道"}
    for fmt in ("json", "xml"):
        r = http.post(f"{OPEN311}/requests.{fmt}", data=form | {"api_key": keys[Role.REPORTER]})
        assert r.status_code == 400, r.text
        if fmt == "xml":
            message = ET.fromstring(r.content).findtext("error/description")
        else:
            message = r.json()[0]["description"]
        # the service answers in Chinese by default
        assert message is not None and message.startswith("description：第 3 个字符是 U+0000")
    reporter = {"X-API-Key": keys[Role.REPORTER]}
    body = {"lon": 110.2965, "lat": 25.2775, "category": "0505", "address": "中山路\u0000"}
    r = http.post("/v1/cases", json=body, headers=reporter)
    assert r.status_code == 400 and "address：第 4 个字符是 U+0000" in r.text
    # a lone surrogate cannot even be read as JSON text
    raw = '{"lon": 110.2965, "lat": 25.2775, "category": "0505", "description": "\\ud800"}'
    r = http.post("/v1/cases", content=raw, headers=reporter | {"Content-Type": "application/json"})
    assert r.status_code in (400, 422)
    assert cases_and_events(store) == before  # nothing written
    # an action's note: refused, the case as it was
    r = http.post("/v1/cases", json=body | {"address": "中山路"}, headers=reporter)
    assert r.status_code == 201, r.text
    case_id = r.json()["id"]
    office = {"X-API-Key": keys[Role.DISPATCHER]}
    after_report = cases_and_events(store)
    r = http.post(
        f"/v1/cases/{case_id}/actions", json={"action": "register", "note": "\x00"}, headers=office
    )
    assert r.status_code == 400 and "action.note：第 1 个字符是 U+0000" in r.text
    assert cases_and_events(store) == after_report
    assert http.get(f"/v1/cases/{case_id}").json()["state"] == "reported"


BODIES = {
    "/v1/cases": '{"lon": %s, "lat": 25.2775, "category": "0505"}',
    "/v1/lookup": '{"points": [{"lon": %s, "lat": 25.2775}]}',
    "/v1/cases/1/actions": '{"action": "accept", "task_id": %s}',
    "/v1/tasks/1/actions": '{"action": "request_extension", "deadline": %s}',
}
NUMBERS = ["NaN", "Infinity", "-Infinity", "1e309", "9" * 5000, "99999999999999999999"]


@pytest.mark.parametrize("path", list(BODIES))
def test_non_finite_and_huge_numbers_in_json_bodies_are_4xx(client: Any, path: str) -> None:
    http, store, keys = client
    before = cases_and_events(store)
    office = {"X-API-Key": keys[Role.DISPATCHER], "Content-Type": "application/json"}
    for number in NUMBERS:
        r = http.post(path, content=BODIES[path] % number, headers=office)
        answer = r.json()  # the answer, an error or not, is valid JSON
        if path == "/v1/lookup" and r.status_code == 200:
            # a batch answers every point: a bad one as bad_input, with the reason
            (point,) = answer["results"]
            assert point["status"] == "bad_input" and point["error"], answer
            continue
        assert 400 <= r.status_code < 500, (path, number[:20], r.status_code, r.text[:200])
    assert cases_and_events(store) == before


def test_a_client_that_leaves_mid_body_is_answered_quietly(client: Any) -> None:
    """wrk and phones drop connections: the body read ends in http.disconnect. The app
    answers 499 (nobody reads it) instead of raising into the server's error log, and
    nothing is written."""
    http, store, keys = client
    app = http.app
    before = cases_and_events(store)
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": "/v1/tasks/1/actions",
        "raw_path": b"/v1/tasks/1/actions",
        "root_path": "",
        "query_string": b"",
        "headers": [
            (b"host", b"test"),
            (b"content-type", b"application/json"),
            (b"content-length", b"100"),
            (b"x-api-key", keys[Role.DISPATCHER].encode()),
        ],
        "client": ("127.0.0.1", 5000),
        "server": ("test", 80),
        "state": {},
    }
    messages = [
        {"type": "http.request", "body": b'{"action": ', "more_body": True},
        {"type": "http.disconnect"},
    ]
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return messages.pop(0) if messages else {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    http.portal.call(app, scope, receive, send)  # raises if the app lets it through
    assert sent[0]["type"] == "http.response.start" and sent[0]["status"] == 499
    assert cases_and_events(store) == before
