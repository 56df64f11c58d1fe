"""Every GET route of the API, with path and query values that overflow, are not
numbers, or lie at the ends of the calendar: a 4xx (or an answer), never a 5xx, on
SQLite and PostGIS."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient

from gridgeo.api import security
from gridgeo.api.app import create_app
from gridgeo.roles import Role
from gridgeo.settings import Settings
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
    app = create_app(Settings(database_url=url))
    key = security.create_key(Store(url), "probe", Role.ADMIN, actor="test")
    paths = sorted(p for p, ops in app.openapi()["paths"].items() if "get" in ops)
    assert len(paths) > 20  # the probe reaches the API, not an empty schema
    failures = []
    with TestClient(app, raise_server_exceptions=False) as http:
        headers = {"X-API-Key": key}
        for path in paths:
            probes = [PARAM.sub(value, path) for value in HUGE + ODD] if PARAM.search(path) else []
            base = PARAM.sub("1", path)
            probes += [f"{base}?{name}={v}" for name, values in QUERY.items() for v in values]
            for probe in probes:
                r = http.get(probe, headers=headers)
                if r.status_code >= 500:
                    failures.append(f"{r.status_code} GET {probe[:120]}: {r.text[:120]}")
    assert not failures, "\n".join(failures)
