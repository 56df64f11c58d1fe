"""Generated request bodies (issue 19): non-finite numbers in JSON, control characters in
every text field, degenerate geometries in the editor's edits.

Through the real app, on the fuzz suite's seeded service of each backend with an admin
key (tests/fuzzhelpers.py): every answer is below 500 and a refusal is in its
protocol's format; what was stored reads back as valid JSON and as XML that parses.
"""

from __future__ import annotations

import functools
import json
import math
from typing import Any
from urllib.parse import quote

from fastapi.testclient import TestClient
from fuzzhelpers import (
    CASE,
    Service,
    assert_clear_answer,
    degenerate_rings,
    fuzz_settings,
    hostile_text,
    strict_json,
)
from hypothesis import example, given
from hypothesis import strategies as st

from gridgeo.io.dataset import load

# --- non-finite numbers in JSON ----------------------------------------------------------

# How a client writes a number no JSON parser should take as finite: Python's and
# JavaScript's spellings, an overflow, an underflow, and lookalikes of them.
NON_FINITE = ("NaN", "-NaN", "Infinity", "-Infinity", "1e309", "-1e309", "1E999", "nan", "inf")
NUMBERS = st.sampled_from(NON_FINITE) | st.sampled_from(("1e-400", "-0", "0e0", "110.2965"))

# Bodies with numeric slots ({0}, {1}, ...): each endpoint that takes numbers in JSON.
TEMPLATES: list[tuple[str, str]] = [
    ("/v1/cases", '{"lon": {0}, "lat": {1}, "category": "0505"}'),
    ("/v1/lookup", '[{"id": "a", "lon": {0}, "lat": {1}}]'),
    (
        "/v1/lookup",
        '{"type": "FeatureCollection", "features": [{"type": "Feature", "properties": {},'
        ' "geometry": {"type": "Point", "coordinates": [{0}, {1}]}}]}',
    ),
    ("/v1/cases/1/actions", '{"action": "accept", "task_id": {0}}'),
    (
        "/v1/versions/1/edits",
        '{"operations": [{"op": "move_vertex", "at": [{0}, {1}], "to": [{1}, {0}]}]}',
    ),
    (
        "/v1/versions/1/edits",
        '{"operations": [{"op": "split", "code": "450302001001002",'
        ' "line": [[{0}, 25.27], [110.30, {1}]]}]}',
    ),
    (
        "/v1/versions/1/edits",
        '{"operations": [{"op": "add_grid", "ring": [[{0}, {1}], [110.3, 25.28],'
        " [110.301, 25.281], [{0}, {1}]]}]}",
    ),
    (
        "/v1/versions/1/edits",
        '{"operations": [{"op": "rename", "code": "450302", "attributes": {"x": {0}}}]}',
    ),
]


def fill(template: str, values: list[str]) -> str:
    """``template`` with its slots replaced (str.format would read the JSON's braces)."""
    for i, value in enumerate(values):
        template = template.replace("{%d}" % i, value)  # noqa: UP031 (braces are JSON's)
    return template


@fuzz_settings(25)
@given(
    target=st.sampled_from(TEMPLATES),
    values=st.lists(NUMBERS, min_size=2, max_size=2),
)
@example(target=TEMPLATES[0], values=["NaN", "Infinity"])
@example(target=TEMPLATES[7], values=["1e309", "0"])
def test_non_finite_numbers_in_json_bodies(
    fuzz_service: Service, target: tuple[str, str], values: list[str]
) -> None:
    path, template = target
    body = fill(template, values)
    headers = fuzz_service.headers | {"Content-Type": "application/json"}
    with TestClient(fuzz_service.app, raise_server_exceptions=False) as http:
        r = http.post(path, content=body, headers=headers)
        assert_clear_answer(path, r)
        if r.status_code < 300 and any(v in NON_FINITE[:7] for v in values):
            # taken: then nothing non-finite was kept (a number that cannot be written
            # back as JSON would break every later reading of it)
            assert not _has_non_finite(strict_json(r.content)), r.text[:300]


def _has_non_finite(value: Any) -> bool:
    if isinstance(value, float):
        return not math.isfinite(value)
    if isinstance(value, dict):
        return any(_has_non_finite(v) for v in value.values())
    if isinstance(value, list):
        return any(_has_non_finite(v) for v in value)
    return False


# --- control characters in every text field ----------------------------------------------

CASE_FIELDS = ("crs", "category", "description", "address", "urgency")
OPEN311_FIELDS = (
    "service_code",
    "lat",
    "long",
    "description",
    "address_string",
    "email",
    "first_name",
    "last_name",
    "phone",
    "device_id",
    "account_id",
    "media_url",
    "crs",
    "attribute[plate_number]",
)
ACTION_FIELDS = ("action", "unit", "note", "public_note")


def _form_body(fields: dict[str, str]) -> bytes:
    """URL-encoded as a browser would, lone surrogates as the bytes of their (invalid)
    UTF-8 form: a client can send any byte."""
    return "&".join(
        f"{quote(k)}={quote(v, encoding='utf-8', errors='surrogatepass')}"
        for k, v in fields.items()
    ).encode()


@fuzz_settings(20)
@given(
    field=st.sampled_from(CASE_FIELDS), text=hostile_text(), fmt=st.sampled_from(["json", "xml"])
)
@example(field="description", text="\x00\x01\ud800\ufffe", fmt="xml")
def test_control_characters_in_case_reports(
    fuzz_service: Service, field: str, text: str, fmt: str
) -> None:
    """``POST /v1/cases``: a report whose text field holds ``text``; if stored, the case
    and its Open311 request read back in JSON and in XML."""
    headers = fuzz_service.headers
    body = json.dumps(CASE | {field: text})  # ensure_ascii: \\uXXXX escapes, surrogates too
    with TestClient(fuzz_service.app, raise_server_exceptions=False) as http:
        r = http.post(
            "/v1/cases", content=body, headers=headers | {"Content-Type": "application/json"}
        )
        assert_clear_answer("/v1/cases", r)
        if r.status_code == 201:
            _reads_back(http, headers, strict_json(r.content)["id"], fmt)


@fuzz_settings(20)
@given(
    field=st.sampled_from(OPEN311_FIELDS), text=hostile_text(), fmt=st.sampled_from(["json", "xml"])
)
@example(field="description", text="\x1b[31m\x00\ud800", fmt="xml")
def test_control_characters_in_open311_requests(
    fuzz_service: Service, field: str, text: str, fmt: str
) -> None:
    headers = fuzz_service.headers | {"Content-Type": "application/x-www-form-urlencoded"}
    form = {"service_code": "0505", "lat": str(CASE["lat"]), "long": str(CASE["lon"])}
    path = f"/open311/v2/requests.{fmt}"
    with TestClient(fuzz_service.app, raise_server_exceptions=False) as http:
        r = http.post(path, content=_form_body(form | {field: text}), headers=headers)
        assert_clear_answer(path, r)
        if r.status_code == 201 and fmt == "json":
            _reads_back(
                http,
                fuzz_service.headers,
                int(strict_json(r.content)[0]["service_request_id"]),
                "xml",
            )


@fuzz_settings(20)
@given(
    field=st.sampled_from(ACTION_FIELDS),
    text=hostile_text(),
    units=st.lists(hostile_text(), max_size=3),
)
@example(field="note", text="\x00", units=["\ud800"])
def test_control_characters_in_case_actions(
    fuzz_service: Service, field: str, text: str, units: list[str]
) -> None:
    """A report registered with a hostile note (or a hostile action, unit, public note),
    then dispatched to hostile unit codes."""
    headers = fuzz_service.headers | {"Content-Type": "application/json"}
    with TestClient(fuzz_service.app, raise_server_exceptions=False) as http:
        case = http.post("/v1/cases", json=CASE, headers=headers).json()["id"]
        path = f"/v1/cases/{case}/actions"
        for body in ({"action": "register", field: text}, {"action": "dispatch", "units": units}):
            r = http.post(path, content=json.dumps(body), headers=headers)
            assert_clear_answer(path, r)
        _reads_back(http, fuzz_service.headers, case, "xml")


def _reads_back(http: TestClient, headers: dict[str, str], case: int, fmt: str) -> None:
    """The stored case reads back: its JSON, its Open311 request and the request list."""
    for path in (
        f"/v1/cases/{case}",
        f"/open311/v2/requests/{case}.{fmt}",
        f"/open311/v2/requests.{fmt}",
    ):
        r = http.get(path, headers=headers)
        assert r.status_code == 200, (path, r.text[:300])
        assert_clear_answer(path, r)  # parses as JSON, or as XML


# --- degenerate geometries in the editor's edits --------------------------------------------

GRID = "450302001001002"  # a fifth-level grid of the sample pilot, and its neighbour
NEIGHBOUR = "450302001001001"
SPECIAL = st.sampled_from([math.nan, math.inf, -math.inf, 1e308, -1e308, 0.0, 181.0, -91.0])


def degenerate_operations(vertex: list[float]) -> st.SearchStrategy[dict[str, Any]]:
    """One edit operation with a degenerate geometry or odd target: rings (see
    ``degenerate_rings``), split lines of one point twice, of non-finite or huge
    coordinates, moves of a real vertex (``vertex``) onto such points, merges of a grid
    with itself, renames to non-finite attribute values."""
    point = st.tuples(SPECIAL, SPECIAL).map(list) | st.just(vertex)
    return st.one_of(
        degenerate_rings().map(lambda ring: {"op": "add_grid", "ring": ring}),
        st.lists(point, min_size=2, max_size=4).map(
            lambda line: {"op": "split", "code": GRID, "line": line}
        ),
        point.map(lambda to: {"op": "move_vertex", "at": vertex, "to": to}),
        st.sampled_from([[GRID, GRID], [GRID, NEIGHBOUR, GRID], [GRID, "450302"]]).map(
            lambda codes: {"op": "merge", "codes": codes}
        ),
        SPECIAL.map(lambda v: {"op": "rename", "code": GRID, "attributes": {"x": v}}),
    )


@functools.cache
def _vertex() -> list[float]:
    """A vertex of GRID in the sample the service was seeded with (not asked of the
    service: what Hypothesis draws must not depend on the store's state)."""
    grids = load().grids.frame
    shape = grids[grids["code"] == GRID].geometry.iloc[0]
    polygon = shape.geoms[0] if shape.geom_type == "MultiPolygon" else shape
    return list(polygon.exterior.coords[0])


@fuzz_settings(20)
@given(operations=st.lists(degenerate_operations(_vertex()), min_size=1, max_size=2))
def test_degenerate_geometries_in_edits(
    fuzz_service: Service, operations: list[dict[str, Any]]
) -> None:
    headers = fuzz_service.headers | {"Content-Type": "application/json"}
    with TestClient(fuzz_service.app, raise_server_exceptions=False) as http:
        # json.dumps writes NaN and Infinity as Python's parser reads them
        body = json.dumps({"operations": operations})
        r = http.post("/v1/versions/1/edits", content=body, headers=headers)
        assert_clear_answer("/v1/versions/1/edits", r)
        if r.status_code == 201:  # a draft saved: it reads back, finite
            draft = strict_json(r.content)["version"]["id"]
            back = http.get(f"/v1/versions/{draft}/features", headers=headers)
            assert back.status_code == 200, back.text[:300]
            assert not _has_non_finite(strict_json(back.content))
