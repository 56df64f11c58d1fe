"""The fuzz suite's common ground (issue 19): a seeded service on either backend with an
admin key, example budgets, and the check that a refusal is a 4xx in its protocol's format.

Budgets are small enough for CI (the whole suite in about a minute and a half on two
cores); ``GRIDGEO_FUZZ_SCALE=10`` multiplies every example count for a longer local run.
Examples are derandomised: a CI failure replays identically on a laptop.
"""

from __future__ import annotations

import json
import math
import os
import tempfile
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Protocol

import schemathesis
from conftest import _drop_postgis_database, _fresh_postgis_database
from fastapi import FastAPI
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

from gridgeo.api.app import create_app
from gridgeo.api.ogc.errors import is_ogc_path
from gridgeo.io.dataset import load
from gridgeo.roles import Role
from gridgeo.settings import ApiSettings, Settings, StoreSettings
from gridgeo.store import api_keys
from gridgeo.store.core import Store

# Binary and HTML bodies have no JSON schema to conform to; the no-5xx check still runs.
NO_JSON_SCHEMA = ("/tiles/", "/map", "/api")

BACKENDS = ("sqlite", "postgis")
SCALE = float(os.environ.get("GRIDGEO_FUZZ_SCALE", "1"))


def examples(n: int) -> int:
    """``n`` examples, times ``GRIDGEO_FUZZ_SCALE``."""
    return max(1, round(n * SCALE))


def fuzz_settings(n: int) -> settings:
    """Hypothesis settings of the suite: ``examples(n)``, derandomised, no deadline (the
    first request to a backend pays for warming caches), module fixtures allowed."""
    return settings(
        max_examples=examples(n),
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    )


@dataclass(frozen=True)
class Service:
    """An app on a store holding the sample, published, and an admin key for it."""

    backend: str
    url: str
    app: FastAPI
    key: str

    @property
    def headers(self) -> dict[str, str]:
        return {"X-API-Key": self.key}


@contextmanager
def seeded_service(backend: str) -> Iterator[Service]:
    """A fresh store of ``backend`` (``sqlite`` or ``postgis``) that ``create_app`` seeds
    with the sample pilot; a PostGIS database is dropped afterwards. No rate limit on
    costly requests: the fuzzer would otherwise spend its examples on 429s."""
    name = ""
    if backend == "sqlite":
        url = f"sqlite:///{tempfile.mkdtemp(prefix='gridgeo-fuzz-')}/store.sqlite"
    else:
        name, url = _fresh_postgis_database()
    try:
        app = create_app(
            Settings(
                store=StoreSettings(database_url=url, seed_sample=True),
                api=ApiSettings(costly_per_minute=0),
            )
        )
        with Store(url) as store:
            key = api_keys.create_key(store, "fuzz-admin", Role.ADMIN, actor="fuzz")
        service = Service(backend, url, app, key)
        _report_cases(service)
        yield service
        if app.state.store is not None:
            app.state.store.close()
    finally:
        if name:
            _drop_postgis_database(name)


class Answer(Protocol):
    """What httpx and requests responses share (TestClient and schemathesis answers)."""

    status_code: int
    headers: Any
    content: bytes
    text: str


def assert_clear_answer(path: str, answer: Answer) -> None:
    """``answer`` is not a 5xx, and a 4xx is in the format of its protocol: an Open311
    error list (JSON, or XML for ``.xml`` paths) under /open311, an OGC exception
    document under the Features and tiles paths, ``{"detail": ...}`` elsewhere."""
    path = path.split("?", maxsplit=1)[0]
    status = answer.status_code
    assert status < 500, f"{status} for {path}: {answer.text[:300]}"
    kind = content_type(answer)
    if kind.startswith("text/xml"):
        ET.fromstring(answer.content)  # an XML answer parses, whatever the data held
    elif kind.startswith(("application/json", "application/geo+json")):
        strict_json(answer.content)  # and a JSON answer is JSON
    if status < 400 or status == 499:  # 499: the client left (nobody reads the answer)
        return
    if path.startswith("/open311/"):
        _assert_open311_errors(path, kind, answer)
    elif is_ogc_path(path):
        body = strict_json(answer.content)
        assert isinstance(body, dict) and isinstance(body.get("code"), str), (path, body)
        assert isinstance(body.get("description"), str), (path, body)
    else:
        assert kind.startswith("application/json"), (path, kind)
        body = strict_json(answer.content)
        assert isinstance(body, dict) and "detail" in body, (path, body)


def strict_json(data: bytes) -> Any:
    """``data`` parsed as JSON proper: Python's parser also takes NaN and Infinity, which
    no other client does."""

    def refuse(word: str) -> Any:
        raise ValueError(f"{word} is not JSON")

    return json.loads(data, parse_constant=refuse)


def content_type(answer: Answer) -> str:
    """The Content-Type of an httpx, requests or schemathesis answer (schemathesis keeps
    each header as a list of values)."""
    value = answer.headers.get("content-type") or ""
    return str(value[0] if isinstance(value, list) else value)


def _assert_open311_errors(path: str, kind: str, answer: Answer) -> None:
    status = answer.status_code
    if kind.startswith("text/xml"):
        root = ET.fromstring(answer.content)  # must parse, whatever the request held
        assert root.tag == "errors", (path, answer.text[:300])
        codes = [e.findtext("code") for e in root.iter("error")]
        assert codes and all(c == str(status) for c in codes), (path, answer.text[:300])
        assert all(e.findtext("description") for e in root.iter("error")), answer.text[:300]
        return
    assert kind.startswith("application/json"), (path, kind)
    body = strict_json(answer.content)
    assert isinstance(body, list) and body, (path, body)
    assert all(e.get("code") == status and isinstance(e.get("description"), str) for e in body)


def openapi_schema() -> schemathesis.BaseSchema:
    """The app's OpenAPI document as a schemathesis schema, from an app serving the sample
    from memory, never started: the document is the same whatever the backend, and
    loading it needs no store. Calls name the backend's app (``app=``)."""
    app = create_app(Settings(), data=load())
    schema = schemathesis.openapi.from_dict(app.openapi())
    schema.app = app  # an ASGI app here selects schemathesis's in-process transport
    return schema


CASE = {"lon": 110.2965, "lat": 25.2775, "category": "0505", "description": "人行道停车"}
"""A report inside the sample pilot (文明社区), of a category the routing table knows."""


def _report_cases(service: Service) -> None:
    """Two cases, one of them dispatched (tasks for the task queue), and an Open311
    request: ids for the fuzzers' links and lookups to find."""
    with TestClient(service.app) as http:
        ids = []
        for _ in range(2):
            r = http.post("/v1/cases", json=CASE, headers=service.headers)
            assert r.status_code == 201, r.text
            ids.append(r.json()["id"])
        for action in ("register", "dispatch"):
            r = http.post(
                f"/v1/cases/{ids[1]}/actions", json={"action": action}, headers=service.headers
            )
            assert r.status_code == 200, r.text
        form = {"service_code": "0505", "lat": str(CASE["lat"]), "long": str(CASE["lon"])}
        r = http.post("/open311/v2/requests.json", data=form, headers=service.headers)
        assert r.status_code == 201, r.text


X0, Y0, D = 110.2965, 25.2775, 0.001  # inside the sample pilot; D about 100 m
RINGS: dict[str, list[tuple[float, float]]] = {
    "one point": [(0, 0)] * 4,
    "collinear": [(0, 0), (1, 0), (2, 0), (0, 0)],
    "three points": [(0, 0), (1, 0), (0, 0)],
    "two points": [(0, 0), (1, 1)],
    "unclosed": [(0, 0), (1, 0), (1, 1), (0, 1)],
    "bowtie": [(0, 0), (1, 1), (1, 0), (0, 1), (0, 0)],
    "self-touching": [(0, 0), (4, 0), (2, 2), (4, 4), (0, 4), (2, 2), (0, 0)],
    "spike": [(0, 0), (4, 0), (4, 4), (4, 8), (4, 4), (0, 4), (0, 0)],
    "square": [(0, 0), (1, 0), (1, 1), (0, 1), (0, 0)],
}
"""Ring shapes in units of D around (X0, Y0): degenerate ones, and a plain square that
a corrupted coordinate or a huge scale makes degenerate."""


def degenerate_rings() -> st.SearchStrategy[list[list[float]]]:
    """Rings of too few points, no area, crossing or touching themselves, unclosed; at
    huge scales; with one coordinate NaN, infinite or huge (as lon/lat lists)."""

    @st.composite
    def ring(draw: st.DrawFn) -> list[list[float]]:
        name = draw(st.sampled_from(sorted(RINGS)))
        scale = draw(st.sampled_from([D, D, 1e-12, 1e300, 1e308]))
        points = [[X0 + x * scale, Y0 + y * scale] for x, y in RINGS[name]]
        # the square is degenerate only huge or corrupted
        if draw(st.booleans()) or (name == "square" and scale < 1):
            special = draw(st.sampled_from([math.nan, math.inf, -math.inf, 1e308, -1e308]))
            points[draw(st.integers(0, len(points) - 1))][draw(st.integers(0, 1))] = special
        return points

    return ring()


HOSTILE_CHARS = (
    [chr(c) for c in range(0x20)]
    + ["\x7f", "\x85", "\u2028", "\u202e", "\ufeff", "\ufffe", "\uffff", "\U0010ffff"]
    + ["\ud800", "\udfff"]  # lone surrogates: JSON writes them as \\ud800 escapes
)


def hostile_text() -> st.SearchStrategy[str]:
    """Short text with control characters, noncharacters and lone surrogates among
    ordinary (Chinese) letters."""
    piece = st.sampled_from(HOSTILE_CHARS) | st.sampled_from(["a", "井盖", " ", "<", "&", "]]>"])
    return st.lists(piece, min_size=1, max_size=12).map("".join)
