"""Boundary uploads that are empty, hold unstorable geometries or lying archives: a clear
4xx naming the file as sent (never the server's temporary path), nothing written."""

from __future__ import annotations

import io
import json
import zipfile
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from gridgeo.api import security
from gridgeo.api.app import create_app
from gridgeo.roles import Role
from gridgeo.settings import Settings
from gridgeo.store import schema as t
from gridgeo.store.core import Store

CITY = {"code": "450300", "name": "桂林市", "level": 1}


def collection(*features: Any) -> bytes:
    return json.dumps({"type": "FeatureCollection", "features": list(features)}).encode()


def feature(geometry: Any) -> dict[str, Any]:
    return {"type": "Feature", "properties": CITY, "geometry": geometry}


def lying_zip() -> bytes:
    """A zip whose entry headers say 100 bytes where 5 MB follow."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("a.geojson", b" " * 5_000_000 + collection())
    data = bytearray(buf.getvalue())
    for signature, offset in ((b"PK\x03\x04", 22), (b"PK\x01\x02", 24)):
        at = data.find(signature) + offset
        data[at : at + 4] = (100).to_bytes(4, "little")
    return bytes(data)


NAN_RING = collection(
    feature({"type": "Polygon", "coordinates": [[[110, 25], [110.1, 0], [110.1, 25.1], [110, 25]]]})
).replace(b"[110.1, 0]", b"[110.1, NaN]")
UNKNOWN_CRS = json.dumps(
    {
        "type": "FeatureCollection",
        "crs": {"type": "name", "properties": {"name": "EPSG::999999"}},
        "features": [
            feature(
                {
                    "type": "Polygon",
                    "coordinates": [[[110, 25], [110.1, 25], [110.1, 25.1], [110, 25]]],
                }
            )
        ],
    }
).encode()
CASES = [
    (
        "crs.geojson",
        UNKNOWN_CRS,
        422,
        "crs.geojson: its crs member names 'EPSG::999999', which is not a known coordinate",
    ),
    ("empty.geojson", collection(), 422, "empty.geojson: holds no features"),
    (
        "nan.geojson",
        NAN_RING,
        422,
        "nan.geojson#0: feature 450300: has a coordinate that is not a finite number",
    ),
    (
        "null.geojson",
        collection(feature(None)),
        422,
        "null.geojson#0: feature 450300: has no geometry",
    ),
    (
        "lie.zip",
        lying_zip(),
        422,
        "zip entry 'a.geojson' is damaged or its header does not match",
    ),
    (
        "garbage.gpkg",
        b"SQLite format 3\x00" + b"x" * 100,
        422,
        "garbage.gpkg: cannot open as a vector file",
    ),
]


@pytest.fixture
def planner(store_url: str) -> Iterator[tuple[TestClient, Store, dict[str, str]]]:
    store = Store(store_url)
    key = security.create_key(store, "planner", Role.PLANNER, actor="test")
    with TestClient(create_app(Settings(database_url=store_url))) as http:
        yield http, store, {"X-API-Key": key}
    store.close()


def test_hostile_uploads_are_refused_clearly(planner: Any) -> None:
    http, store, headers = planner
    with store.reading() as session:
        before = session.scalar(select(func.count()).select_from(t.Version))
    for name, body, status, message in CASES:
        for commit in (False, True):
            r = http.post(
                "/v1/versions",
                files={"file": (name, body)},
                data={"commit": str(commit).lower()},
                headers=headers,
            )
            if name in ("nan.geojson", "null.geojson") and not commit:
                # a dry run reports the bad geometry among the validation findings
                assert r.status_code == 200 and r.json()["errors"] >= 1, r.text
                continue
            assert r.status_code == status, (name, commit, r.text)
            detail = r.json()["detail"]
            assert detail.startswith(message), (name, detail)
            assert "gridgeo-upload-" not in detail and "/tmp" not in detail
    with store.reading() as session:
        assert session.scalar(select(func.count()).select_from(t.Version)) == before
