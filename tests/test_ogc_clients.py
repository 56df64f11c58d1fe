"""The OGC API's newer parameters as the users' own clients send them.

GDAL's OAPIF driver (``ogrinfo -where``), QGIS's OAPIF provider (Debian's
python3-qgis, 3.22, run by the system Python) and OWSLib, each against the
service over real HTTP: property filters, CQL2, output in GCJ-02. The server
records the query strings it receives, so a test can tell a filter the server
ran from one the client ran on everything it fetched.
"""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Iterator
from typing import Any

import numpy as np
import pytest
import shapely
from live_server import serve

from gridgeo.api.app import create_app
from gridgeo.api.ogc.crs import GCJ02_URN
from gridgeo.coords import geometries_from_cgcs2000
from gridgeo.dataset import Dataset
from gridgeo.io.dataset import load

SYSTEM_PYTHON = "/usr/bin/python3"  # the interpreter Debian's python3-qgis is built for
COMMUNITY = "450302001001"  # a pilot community: three fifth-level grids


class Recorder:
    """An ASGI app in front of the service that keeps each request's path and query."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.seen: list[str] = []

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "http":
            self.seen.append(f"{scope['path']}?{scope['query_string'].decode()}")
        await self.app(scope, receive, send)

    def items_requests(self, collection: str) -> list[str]:
        return [s for s in self.seen if s.startswith(f"/collections/{collection}/items")]


@pytest.fixture(scope="module")
def data() -> Dataset:
    return load()


@pytest.fixture(scope="module")
def served(data: Dataset) -> Iterator[tuple[str, Recorder]]:
    recorder = Recorder(create_app(data=data))
    with serve(recorder) as url:
        yield url, recorder


def level5_codes(data: Dataset, mask: np.ndarray) -> list[str]:
    grids = data.grids
    return sorted(np.asarray(grids.codes, dtype=object)[(grids.levels == 5) & mask])


def ogr_codes(url: str, *args: str) -> list[str]:
    result = subprocess.run(
        ["ogrinfo", "-ro", "-al", "-q", *args, f"OAPIF:{url}/", "level5_grid"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0 and "ERROR" not in result.stderr, result.stderr
    return sorted(
        line.split("=", 1)[1].strip()
        for line in result.stdout.splitlines()
        if line.strip().startswith("code (String) =")
    )


# --- GDAL --------------------------------------------------------------------------------


def test_gdal_sends_a_where_on_a_queryable_to_the_server(
    served: tuple[str, Recorder], data: Dataset
) -> None:
    url, recorder = served
    recorder.seen.clear()
    got = ogr_codes(url, "-where", f"parent_code = '{COMMUNITY}'")
    assert got == level5_codes(data, np.asarray(data.grids.parent_codes) == COMMUNITY)
    assert len(got) == 3
    # the filter ran on the server: the page GDAL read asked for the community only
    assert any(f"parent_code={COMMUNITY}" in q for q in recorder.items_requests("level5_grid"))


def test_gdal_where_the_server_cannot_take_whole_is_still_exact(
    served: tuple[str, Recorder], data: Dataset
) -> None:
    url, _ = served
    names = np.asarray(data.grids.names, dtype=object)
    parents = np.asarray(data.grids.parent_codes, dtype=object)
    wanted = np.array([str(n).startswith("文明") for n in names]) | (parents == "450302001002")
    got = ogr_codes(url, "-where", "name LIKE '文明%' OR parent_code = '450302001002'")
    assert got == level5_codes(data, wanted)
    assert 3 < len(got) < 48


def test_gdal_spatial_and_attribute_filters_together(
    served: tuple[str, Recorder], data: Dataset
) -> None:
    url, _ = served
    box = (110.285, 25.270, 110.300, 25.285)
    got = ogr_codes(url, "-spat", *map(str, box), "-where", "level = 5")
    hits = shapely.intersects(data.grids.geometries, shapely.box(*box))
    assert got == level5_codes(data, hits)
    assert 0 < len(got) < 48


# --- QGIS --------------------------------------------------------------------------------

QGIS_OAPIF = """
import json, os, sys
from qgis.core import QgsApplication, QgsVectorLayer
app = QgsApplication([], False)
app.initQgis()
layer = QgsVectorLayer(f"url='{sys.argv[1]}' typename='level5_grid'", "grids", "OAPIF")
out = {"valid": layer.isValid(), "count": layer.featureCount(), "crs": layer.crs().authid(),
       "fields": [f.name() for f in layer.fields()]}
layer.setSubsetString(sys.argv[2])
out["subset"] = sorted(f["code"] for f in layer.getFeatures())
print(json.dumps(out), flush=True)
os._exit(0)  # QGIS 3.22 may crash tearing down providers at exit: skip teardown
"""


def test_qgis_reads_the_collection_and_a_subset(
    served: tuple[str, Recorder], data: Dataset
) -> None:
    url, _ = served
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "XDG_RUNTIME_DIR": "/tmp"}
    result = subprocess.run(
        [SYSTEM_PYTHON, "-c", QGIS_OAPIF, url, f"parent_code = '{COMMUNITY}'"],
        capture_output=True,
        text=True,
        timeout=180,
        env=env,
        check=False,
    )
    lines = [line for line in result.stdout.splitlines() if line.startswith("{")]
    assert lines, result.stderr[-2000:]
    got = json.loads(lines[-1])
    assert got["valid"] and got["count"] == 48
    assert {"code", "name", "level", "parent_code"} <= set(got["fields"])
    assert got["crs"] in {"EPSG:4326", "OGC:CRS84"}
    assert got["subset"] == level5_codes(data, np.asarray(data.grids.parent_codes) == COMMUNITY)


# --- OWSLib ------------------------------------------------------------------------------


def test_owslib_asks_for_gcj02_and_gets_the_shifted_grids(
    served: tuple[str, Recorder], data: Dataset
) -> None:
    from owslib.ogcapi.features import Features

    url, _ = served
    page = Features(url).collection_items(
        "level5_grid", parent_code=COMMUNITY, crs=GCJ02_URN, limit=10
    )
    grids = data.grids
    by_code = dict(zip(grids.codes, grids.geometries, strict=True))
    assert len(page["features"]) == 3
    for feature in page["features"]:
        got = shapely.geometry.shape(feature["geometry"])
        expected = geometries_from_cgcs2000([by_code[feature["id"]]], "gcj02")[0]
        assert shapely.equals_exact(got, expected, tolerance=1e-7)
        assert got.centroid.distance(by_code[feature["id"]].centroid) > 0.001  # ~500 m off


def test_owslib_sends_a_cql2_filter(served: tuple[str, Recorder], data: Dataset) -> None:
    from owslib.ogcapi.features import Features

    url, _ = served
    page = Features(url).collection_items(
        "level5_grid",
        filter=f"parent_code = '{COMMUNITY}' AND S_INTERSECTS(geometry, "
        "POLYGON((110 25, 111 25, 111 26, 110 26, 110 25)))",
        limit=100,
    )
    codes = sorted(f["id"] for f in page["features"])
    assert codes == level5_codes(data, np.asarray(data.grids.parent_codes) == COMMUNITY)
