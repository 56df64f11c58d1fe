"""Every GET route of the API, with path and query values that overflow, are not
numbers, or lie at the ends of the calendar: a 4xx (or an answer), never a 5xx, on
SQLite and PostGIS."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import quote

from fastapi.testclient import TestClient
from fuzzhelpers import CASE, Service, assert_clear_answer, fuzz_settings, hostile_text
from hypothesis import example, given
from hypothesis import strategies as st

from gridgeo.api.app import create_app
from gridgeo.roles import Role
from gridgeo.settings import Settings, StoreSettings
from gridgeo.store import api_keys
from gridgeo.store.core import Store

HUGE = ["99999999999999999999999", "-99999999999999999999", "2147483648", "9223372036854775808"]
ODD = ["1e309", "NaN", "-Infinity", "%00", "x%00y", "%C0%AF", "9" * 5000]
QUERY = {
    "version": HUGE + ODD[:3],
    "at": ["9999-12-31T23:59:59Z", "0001-01-01T00:00:00Z", "99999-01-01", "0000-00-00"],
    "limit": HUGE[:3],
    "offset": HUGE[:3],
    "bbox": ["nan,nan,1,1", "1e309,0,1,1", "0,0,0,0"],
    "start_date": ["0001-01-01T00:00:00Z", "9999-12-31T23:59:59Z"],
    "end_date": ["9999-12-31T23:59:59+14:00", "0001-01-01T00:00:00-12:00"],
    "page": HUGE[:3],
    "page_size": HUGE[:3],
    "lon": ["1e309", "nan"],
    "lat": ["-1e309"],
    "service_request_id": ["99999999999999999999", "%00"],
    "datetime": ["9999-12-31T23:59:59Z/..", "0001-01-01T00:00:00Z", "../0000"],
    "due_within_hours": ["1e309", "nan"],
}
PARAM = re.compile(r"{(\w+)(?::\w+)?}")


def test_no_get_route_answers_5xx(store_url: str) -> None:
    url = store_url  # each backend in turn (conftest)
    app = create_app(Settings(store=StoreSettings(database_url=url)))
    key = api_keys.create_key(Store(url), "probe", Role.ADMIN, actor="test")
    paths = sorted(p for p, ops in app.openapi()["paths"].items() if "get" in ops)
    assert len(paths) > 20  # the probe reaches the API, not an empty schema
    failures = []
    with TestClient(app, raise_server_exceptions=False) as http:
        headers = {"X-API-Key": key}
        for path in paths:
            probes = [PARAM.sub(value, path) for value in HUGE + ODD] if PARAM.search(path) else []
            # Open311's format a real one, so that its filters are read (fmt=1 is a 404)
            base = PARAM.sub(lambda m: "json" if m[1] == "fmt" else "1", path)
            probes += [f"{base}?{name}={v}" for name, values in QUERY.items() for v in values]
            for probe in probes:
                r = http.get(probe, headers=headers)
                if r.status_code >= 500:
                    failures.append(f"{r.status_code} GET {probe[:120]}: {r.text[:120]}")
    assert not failures, "\n".join(failures)


# --- generated: huge integers and calendar extremes in every parameter they reach ------------
# (issue 19) on the seeded service of the fuzz suite, with an admin key: the checks behind
# the key run, and every answer is checked for its protocol's format (tests/fuzzhelpers.py).

# Valid values for the path and query parameters a probe does not aim at: they name things
# the seeded sample holds, so the probe's own parameter is what the answer turns on.
PATH_VALUES = {
    "collectionId": "level5_grid",
    "featureId": "450302001001002",
    "tileMatrixSetId": "WebMercatorQuad",
    "service_code": "0505",
    "fmt": "json",
    "z": "14",
    "x": "13211",
    "y": "7002",
    "tileMatrix": "14",
    "tileRow": "7002",
    "tileCol": "13211",
}
REQUIRED_QUERY = {
    "/v1/lookup": {"lon": "110.2965", "lat": "25.2775"},
    "/map/staff": {"codes": "450302"},
    "/v1/assessment": {"from": "2026-11-01", "to": "2026-11-30", "by": "unit"},
}
POST_BODIES: dict[str, Any] = {  # valid bodies: the probed parameter is what is wrong
    "/v1/versions/{version_id}/edits": {"operations": [{"op": "rename", "code": "450302"}]},
    "/v1/cases/{case_id}/actions": {"action": "register"},
    "/v1/tasks/{task_id}/actions": {"action": "accept"},
    "/v1/lookup": [{"id": "a", "lon": 110.2965, "lat": 25.2775}],
}
# Id parameters the document types as text (Open311's ids are strings in its spec).
TEXT_IDS = {("path", "service_request_id"), ("path", "media_id"), ("query", "service_request_id")}


def _is_integer(schema: dict[str, Any]) -> bool:
    kinds = [schema, *schema.get("anyOf", []), schema.get("items", {})]
    return any(k.get("type") == "integer" for k in kinds) or any(
        k.get("type") == "array" and _is_integer(k.get("items", {})) for k in kinds
    )


def integer_probes(doc: dict[str, Any]) -> list[tuple[str, str, str, str]]:
    """(method, path, where, name) of every integer parameter and text id of the API."""
    probes = []
    for path, operations in doc["paths"].items():
        for method, op in operations.items():
            for p in op.get("parameters", []):
                if _is_integer(p.get("schema", {})) or (p["in"], p["name"]) in TEXT_IDS:
                    probes.append((method, path, p["in"], p["name"]))
    return probes


def probe_request(
    probe: tuple[str, str, str, str], value: str, fmt: str
) -> tuple[str, str, dict[str, str]]:
    """(method, URL path, query) with ``value`` in the probe's parameter, the rest valid."""
    method, path, where, name = probe
    values = PATH_VALUES | {"fmt": fmt}
    url = PARAM.sub(lambda m: value if m[1] == name else values.get(m[1], "1"), path)
    query = dict(REQUIRED_QUERY.get(path, {}))
    if where == "query":
        query[name] = value
    return method, url, query


def huge_integers() -> st.SearchStrategy[str]:
    """Integers no id column holds, as a client spells them: past 2**31 and 2**63 either
    way, and numbers of thousands of digits (Python's int() refuses over 4300)."""
    return st.one_of(
        st.integers(2**31, 2**64 + 1).map(str),
        st.integers(-(2**64) - 1, -(2**31)).map(str),
        st.sampled_from(["2147483648", "9223372036854775808", "18446744073709551616"]),
        st.tuples(st.sampled_from(["", "-", "+", "0" * 20]), st.integers(300, 6000)).map(
            lambda t: t[0] + "9" * t[1]
        ),
    )


@fuzz_settings(8)
@given(value=huge_integers())
@example(value="9223372036854775808")  # GET /v1/lookup?version=: a 500 (bind overflow)
@example(value="-" + "9" * 5000)
def test_huge_integers_in_every_id_and_integer_parameter(fuzz_service: Service, value: str) -> None:
    app, headers = fuzz_service.app, fuzz_service.headers
    probes = integer_probes(app.openapi())
    assert len(probes) > 30  # ids, versions, tiles, paging: the document's, not a list here
    with TestClient(app, raise_server_exceptions=False) as http:
        for probe in probes:
            path = probe[1]
            for fmt in ("json", "xml") if "{fmt}" in path else ("json",):
                verb, url, query = probe_request(probe, value, fmt)
                body = POST_BODIES.get(path) if verb == "post" else None
                r = http.request(verb, url, params=query, json=body, headers=headers)
                assert_clear_answer(url, r)
        # the event stream's ids (not in the document: a stream has no schema); only
        # values past its range, since a valid one would open a stream that never ends
        digits = value.lstrip("+-0")
        if value.startswith("-") or len(digits) > 19 or int(digits or 0) > 2**63 - 1:
            for query in ({"after": value}, {"case_id": value}):
                assert_clear_answer(
                    "/v1/events", http.get("/v1/events", params=query, headers=headers)
                )
            r = http.get("/v1/events", headers=headers | {"Last-Event-ID": value})
            assert_clear_answer("/v1/events", r)
        # an id inside a JSON body, as a JSON number of that many digits: a case action's task
        body = '{"action": "accept", "task_id": ' + value.lstrip("+") + "}"
        kind = {"Content-Type": "application/json"}
        r = http.post("/v1/cases/1/actions", content=body, headers=headers | kind)
        assert_clear_answer("/v1/cases/1/actions", r)


def calendar_extremes() -> st.SearchStrategy[str]:
    """Instants at the ends of the calendar as ISO 8601 text: years 1 and 9999 (whose UTC
    form may fall outside it once an offset applies), 0 and 10000, offsets up to and past
    ±24:00, the 24:00 hour, impossible days."""
    years = st.sampled_from(["0001", "0002", "1970", "2026", "9998", "9999", "0000", "10000"])
    days = st.sampled_from(["01-01", "12-31", "02-29", "02-30", "13-01", "00-00"])
    times = st.sampled_from(
        ["", "T00:00:00", "T23:59:59", "T23:59:59.999999", "T24:00:00", "T00:00", " 12:00:00"]
    )
    zones = st.sampled_from(
        ("", "Z", "+00:00", "-00:01", "+00:01", "+14:00", "-12:00", "+08:00", "+23:59")
    ) | st.sampled_from(("-23:59", "+24:00", "-24:00", "+99:99"))
    return st.builds(lambda y, d, t, z: f"{y}-{d}{t}{z}", years, days, times, zones)


@fuzz_settings(30)
@given(start=calendar_extremes(), end=calendar_extremes())
# each a 500 once: Open311's 90-day window past year 9999 and before year 1, an ``at=`` and
# a deadline whose UTC time leaves the calendar, an assessment counted past it
@example(start="9999-12-31T23:59:59Z", end="0001-01-01T00:00:00Z")
@example(start="0001-01-01T00:00:00+00:01", end="9999-12-31T23:59:59-23:59")
@example(start="9999-12-31T23:59:59-00:01", end="9999-12-31")
def test_calendar_extremes_in_every_date_filter(
    fuzz_service: Service, start: str, end: str
) -> None:
    app, headers = fuzz_service.app, fuzz_service.headers
    point = {"lon": "110.2965", "lat": "25.2775"}
    with TestClient(app, raise_server_exceptions=False) as http:
        probes: list[tuple[str, dict[str, str]]] = []
        for fmt in ("json", "xml"):
            url = f"/open311/v2/requests.{fmt}"
            probes += [
                (url, {"start_date": start}),
                (url, {"end_date": end}),
                (url, {"start_date": start, "end_date": end}),
            ]
        probes += [
            ("/v1/lookup", point | {"at": start}),
            ("/collections/level5_grid/items", {"datetime": start}),
            ("/collections/level5_grid/items", {"datetime": f"{start}/{end}"}),
            ("/collections/level5_grid/items", {"datetime": f"../{end}"}),
            ("/v1/assessment", {"from": start, "to": end, "by": "unit"}),
        ]
        for url, query in probes:
            assert_clear_answer(url, http.get(url, params=query, headers=headers))
        r = http.post(
            "/v1/lookup", params={"at": start}, json=POST_BODIES["/v1/lookup"], headers=headers
        )
        assert_clear_answer("/v1/lookup", r)
        # a deadline: dispatching a case registered for it, and the extension of its task
        case = http.post("/v1/cases", json=CASE, headers=headers).json()["id"]
        for body in (
            {"action": "register"},
            {"action": "dispatch", "deadline": start},
            {"action": "extend", "deadline": end},
        ):
            r = http.post(f"/v1/cases/{case}/actions", json=body, headers=headers)
            assert_clear_answer(f"/v1/cases/{case}/actions", r)


def test_lookup_version_of_4301_digits(fuzz_service: Service) -> None:
    point = {"lon": "110.2965", "lat": "25.2775", "version": "9" * 4301}
    with TestClient(fuzz_service.app, raise_server_exceptions=False) as http:
        r = http.get("/v1/lookup", params=point, headers=fuzz_service.headers)
        assert r.status_code == 422, r.text
        for version in ("9" * 4301, str(2**31)):  # past the store's id column
            r = http.post(
                "/v1/lookup",
                params={"version": version},
                json=[{"id": "r1", "lon": 110.2965, "lat": 25.2775}],
                headers=fuzz_service.headers,
            )
            assert r.status_code == 422, (version, r.text)


def text_probes(doc: dict[str, Any]) -> list[tuple[str, str, str, str]]:
    """(method, path, "query", name) of every text query parameter of the API."""
    probes = []
    for path, operations in doc["paths"].items():
        for method, op in operations.items():
            for p in op.get("parameters", []):
                schema = p.get("schema", {})
                kinds = [schema.get("type")] + [k.get("type") for k in schema.get("anyOf", [])]
                if p["in"] == "query" and "string" in kinds:
                    probes.append((method, path, "query", p["name"]))
    return probes


@fuzz_settings(10)
@given(text=hostile_text())
@example(text="\x00")  # a NUL in a text filter failed PostgreSQL's bind (a 500)
def test_control_characters_in_every_text_query_parameter(fuzz_service: Service, text: str) -> None:
    app, headers = fuzz_service.app, fuzz_service.headers
    probes = text_probes(app.openapi())
    assert len(probes) > 30  # filters, CRS names, formats: the document's
    with TestClient(app, raise_server_exceptions=False) as http:
        for probe in probes:
            for fmt in ("json", "xml") if "{fmt}" in probe[1] else ("json",):
                verb, url, query = probe_request(probe, text, fmt)
                # encoded by hand: a lone surrogate as the bytes of its (invalid) UTF-8
                qs = "&".join(
                    f"{quote(k)}={quote(v, errors='surrogatepass')}" for k, v in query.items()
                )
                body = POST_BODIES.get(probe[1]) if verb == "post" else None
                r = http.request(verb, f"{url}?{qs}", json=body, headers=headers)
                assert_clear_answer(url, r)
