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
from fuzzhelpers import Service, assert_clear_answer, degenerate_rings, fuzz_settings, strict_json
from hypothesis import example, given
from hypothesis import strategies as st
from sqlalchemy import func, select

from gridgeo.api.app import create_app
from gridgeo.roles import Role
from gridgeo.settings import Settings, StoreSettings
from gridgeo.store import api_keys
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
    key = api_keys.create_key(store, "planner", Role.PLANNER, actor="test")
    with TestClient(create_app(Settings(store=StoreSettings(database_url=store_url)))) as http:
        # the readers' refusals in English, the words CASES name
        yield http, store, {"X-API-Key": key, "Accept-Language": "en"}
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


# --- generated (issue 19): lying archives and degenerate geometries ------------------------
# On the fuzz suite's seeded service of each backend (tests/fuzzhelpers.py): whatever the
# file, a 4xx naming the problem or a report, never a 5xx, and a refusal writes nothing.

SQUARE = [[110.2965, 25.2775], [110.2975, 25.2775], [110.2975, 25.2785], [110.2965, 25.2775]]
HONEST = collection(feature({"type": "Polygon", "coordinates": [SQUARE]}))


def honest_zip(*entries: tuple[str, bytes], method: int = zipfile.ZIP_DEFLATED) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", method) as zf:
        for name, data in entries:
            zf.writestr(name, data)
    return buf.getvalue()


def _header_fields(data: bytes) -> list[tuple[int, int]]:
    """(offset, width) of every field a reader trusts in the local and central headers
    and the end record: versions, flags, method, CRC, sizes, name and extra lengths,
    entry counts, the central directory's size and offset."""
    fields = []
    for signature, layout in (
        (b"PK\x03\x04", ((4, 2), (6, 2), (8, 2), (14, 4), (18, 4), (22, 4), (26, 2), (28, 2))),
        (b"PK\x01\x02", ((6, 2), (8, 2), (10, 2), (16, 4), (20, 4), (24, 4), (28, 2), (42, 4))),
        (b"PK\x05\x06", ((8, 2), (10, 2), (12, 4), (16, 4), (20, 2))),
    ):
        at = data.find(signature)
        while at >= 0:
            fields += [(at + offset, width) for offset, width in layout]
            at = data.find(signature, at + 4)
    return fields


@st.composite
def lying_archives(draw: st.DrawFn) -> bytes:
    """A zip of a valid GeoJSON (or several entries) whose headers then lie: a field set to
    another value, the archive cut short or padded, an entry stored with a method
    nobody implements, an entry marked encrypted."""
    entries = draw(
        st.sampled_from(
            [
                [("a.geojson", HONEST)],
                [("a.geojson", HONEST), ("b.geojson", HONEST)],
                [("dir/", b""), ("dir/a.geojson", HONEST)],
                [("a.zip", honest_zip(("a.geojson", HONEST)))],
                [("a.shp", b"\x00" * 100), ("a.dbf", b"")],
                [("big.geojson", b" " * 200_000 + HONEST)],
            ]
        )
    )
    method = draw(st.sampled_from([zipfile.ZIP_DEFLATED, zipfile.ZIP_STORED]))
    data = bytearray(honest_zip(*entries, method=method))
    for _ in range(draw(st.integers(1, 3))):
        lie = draw(st.sampled_from(["field", "field", "truncate", "pad", "method", "flags"]))
        fields = _header_fields(bytes(data))
        if lie in ("field", "method", "flags") and fields:
            at, width = draw(st.sampled_from(fields))
            value = draw(st.integers(0, 2 ** (8 * width) - 1))
            if lie == "method":  # the compression method fields: 8, 10 past signature
                at, width = draw(st.sampled_from([f for f in fields if f[1] == 2]))
                value = draw(st.sampled_from([1, 6, 9, 12, 14, 93, 95, 97, 98, 99]))
            elif lie == "flags":
                value = draw(st.sampled_from([1, 8, 0x41, 0x800, 0xFFFF]))
            data[at : at + width] = value.to_bytes(width, "little")
        elif lie == "truncate":
            del data[draw(st.integers(0, max(0, len(data) - 1))) :]
        else:
            data += draw(st.binary(min_size=1, max_size=64))
    return bytes(data)


def _version_count(url: str) -> int:
    with Store(url) as store, store.reading() as session:
        return int(session.scalar(select(func.count()).select_from(t.Version)) or 0)


def _upload(http: TestClient, headers: dict[str, str], name: str, body: bytes, commit: bool) -> Any:
    return http.post(
        "/v1/versions",
        files={"file": (name, body)},
        data={"commit": str(commit).lower()},
        headers=headers,
    )


def _fuzz_upload(service: Service, name: str, body: bytes, commit: bool) -> Any:
    """The answer to an upload; an exception comes out with its traceback (a 500)."""
    with TestClient(service.app) as http:
        return _upload(http, service.headers, name, body, commit)


@fuzz_settings(25)
@given(archive=lying_archives(), commit=st.booleans())
@example(archive=lying_zip(), commit=True)
def test_lying_archives_are_refused_clearly(
    fuzz_service: Service, archive: bytes, commit: bool
) -> None:
    before = _version_count(fuzz_service.url)
    r = _fuzz_upload(fuzz_service, "lie.zip", archive, commit)
    assert_clear_answer("/v1/versions", r)
    written = 1 if r.status_code == 201 else 0
    assert _version_count(fuzz_service.url) == before + written
    if r.status_code >= 400:
        assert "gridgeo-upload-" not in r.text and "/tmp" not in r.text, r.text


# a ring of three points (two corners): GDAL and shapely take it, PostGIS's parser does not
SHORT_RING = collection(feature({"type": "Polygon", "coordinates": [SQUARE[:2] + SQUARE[:1]]}))


@st.composite
def degenerate_collections(draw: st.DrawFn) -> bytes:
    """GeoJSON that holds no usable polygon: no features, degenerate rings (too few
    points, no area, self-touching, NaN or huge coordinates), empty or odd geometries."""
    geometry = draw(
        st.one_of(
            degenerate_rings().map(lambda ring: {"type": "Polygon", "coordinates": [ring]}),
            degenerate_rings().map(
                lambda ring: {"type": "MultiPolygon", "coordinates": [[ring], []]}
            ),
            degenerate_rings().map(lambda r: {"type": "Polygon", "coordinates": [SQUARE, r]}),
            st.sampled_from(
                [
                    {"type": "Polygon", "coordinates": []},
                    {"type": "Polygon", "coordinates": [[]]},
                    {"type": "MultiPolygon", "coordinates": []},
                    {"type": "Point", "coordinates": [110.3, 25.3]},
                    {"type": "LineString", "coordinates": SQUARE},
                    {"type": "GeometryCollection", "geometries": []},
                    {"type": "Polygon", "coordinates": [[[110.3, 25.3, 1e308]] * 4]},
                ]
            ),
        )
    )
    features = draw(st.lists(st.just(feature(geometry)), min_size=0, max_size=2))
    # json.dumps writes NaN and Infinity as bare words, as careless exporters do
    return json.dumps({"type": "FeatureCollection", "features": features}).encode()


@fuzz_settings(25)
@given(body=degenerate_collections(), commit=st.booleans())
@example(body=collection(), commit=True)
@example(body=NAN_RING, commit=True)
@example(body=SHORT_RING, commit=True)  # a failed insert on PostGIS once (a 500)
def test_degenerate_geometries_in_uploads(fuzz_service: Service, body: bytes, commit: bool) -> None:
    before = _version_count(fuzz_service.url)
    r = _fuzz_upload(fuzz_service, "odd.geojson", body, commit)
    assert_clear_answer("/v1/versions", r)
    written = 1 if r.status_code == 201 else 0
    assert _version_count(fuzz_service.url) == before + written
    if r.status_code < 300:  # a report: what was wrong is among its findings, in JSON
        assert strict_json(r.content)["errors"] >= 1, r.text[:300]


def _lied(signature: bytes, at: int, value: int) -> bytes:
    """HONEST zipped, the two-byte field ``at`` bytes past ``signature`` set to ``value``."""
    data = bytearray(honest_zip(("a.geojson", HONEST)))
    start = data.find(signature) + at
    data[start : start + 2] = value.to_bytes(2, "little")
    return bytes(data)


def _central_directory_moved() -> bytes:
    """The end record says the central directory starts 1000 bytes later than it does:
    every entry's offset then points before the file's start (a negative seek)."""
    data = bytearray(honest_zip(("a.geojson", HONEST)))
    end = data.find(b"PK\x05\x06")
    offset = int.from_bytes(data[end + 16 : end + 20], "little")
    data[end + 16 : end + 20] = (offset + 1000).to_bytes(4, "little")
    return bytes(data)


HUGE_RING = [[110.2965, 25.2775], [1e300, 25.2775], [1e300, 1e300], [110.2965, 1e300]]
UNCLOSED_HUGE = collection(feature({"type": "Polygon", "coordinates": [HUGE_RING]}))
# 500s the generated tests above found, each now a 422 naming the file as sent
FOUND_500S = [
    pytest.param("method.zip", _lied(b"PK\x01\x02", 10, 99), id="compression-method-99"),
    pytest.param("version.zip", _lied(b"PK\x01\x02", 6, 0xFF), id="version-needed-25.5"),
    pytest.param("encrypted.zip", _lied(b"PK\x01\x02", 8, 1), id="flagged-encrypted"),
    pytest.param("moved.zip", _central_directory_moved(), id="central-directory-moved"),
    pytest.param("unclosed.geojson", UNCLOSED_HUGE, id="huge-unclosed-ring"),
]


@pytest.mark.parametrize(("name", "body"), FOUND_500S)
def test_upload_500s_found_by_the_fuzz_suite(fuzz_service: Service, name: str, body: bytes) -> None:
    """Unknown compression methods, too-new zip versions, encrypted entries, a central
    directory that points past itself (zipfile's NotImplementedError, RuntimeError and
    OSError) and a ring GEOS cannot build: each a 422 naming the file as sent."""
    before = _version_count(fuzz_service.url)
    with TestClient(fuzz_service.app, raise_server_exceptions=False) as http:
        r = _upload(http, fuzz_service.headers, name, body, True)
    assert r.status_code == 422, r.text
    detail = r.json()["detail"]
    assert "gridgeo-upload-" not in detail and "/tmp" not in detail, detail  # no server path
    # it names the file as sent, or the zip entry at fault
    assert name in detail or "zip 条目 'a.geojson'" in detail or "zip 文件" in detail, detail
    assert _version_count(fuzz_service.url) == before
