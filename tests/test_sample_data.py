"""The sample pilot data in data/sample: clean, as the plan says, and reproducible."""

from __future__ import annotations

import json
from pathlib import Path

import geopandas as gpd
import pyogrio
import pytest
import shapely

from gridgeo.io.boundaries import read_boundaries
from gridgeo.io.dataset import load
from gridgeo.levels import Level
from gridgeo.sample.build import build
from gridgeo.validation import validate

REPO = Path(__file__).resolve().parents[1]
SAMPLE = REPO / "data" / "sample"
PILOTS = {"450302001001": "文明社区", "450302001002": "五美社区"}


def test_sample_validates_with_zero_findings() -> None:
    report = validate(read_boundaries([SAMPLE / "boundaries.gpkg"]))
    assert report.findings == [], report.to_text()
    assert report.features == 79


def test_levels_and_pilot_structure() -> None:
    grids = load().grids
    counts = {lv: int((grids.levels == int(lv)).sum()) for lv in Level}
    assert counts[Level.CITY] == 1 and counts[Level.DISTRICT] == 17
    assert counts[Level.STREET] == 3
    for code, name in PILOTS.items():
        assert grids.names[grids.position(code)] == name
        children = [c for c, p in zip(grids.codes, grids.parent_codes, strict=True) if p == code]
        assert len(children) == 3  # the plan: three fifth-level grids per pilot community
        assert all(c is not None and len(c) == 15 for c in children)
    assert grids.names[grids.position("450302001")] == "秀峰街道"


def test_workstations_lie_in_their_communities_and_are_marked_illustrative() -> None:
    data = load()
    assert len(data.workstations) == 2
    for ws in data.workstations:
        assert ws.illustrative and "示意" in ws.note
        [community] = ws.community_codes
        result = data.lookup(ws.lon, ws.lat, crs="cgcs2000")
        assert result.grids[1].code == community
        assert result.workstation == ws


def test_rebuild_is_deterministic(tmp_path: Path) -> None:
    counts = build(REPO / "data" / "real" / "guilin_districts.geojson", tmp_path)
    assert counts["level5_grid"] == 48 and counts["staff"] == 51
    for layer, _ in pyogrio.list_layers(SAMPLE / "boundaries.gpkg"):
        old = gpd.read_file(SAMPLE / "boundaries.gpkg", layer=layer)
        new = gpd.read_file(tmp_path / "boundaries.gpkg", layer=layer)
        assert list(old["code"]) == list(new["code"])
        assert list(old["name"]) == list(new["name"])
        assert all(
            shapely.equals_exact(a, b, tolerance=0)
            for a, b in zip(old.geometry, new.geometry, strict=True)
        )
    for name in (
        "staff.csv",
        "workstations.geojson",
        "README.md",
        "partners.geojson",
        "routing.yaml",
    ):
        assert (tmp_path / name).read_text(encoding="utf-8") == (SAMPLE / name).read_text(
            encoding="utf-8"
        )


def test_workstation_file_is_rfc7946() -> None:
    data = json.loads((SAMPLE / "workstations.geojson").read_text(encoding="utf-8"))
    assert "crs" not in data
    assert {f["geometry"]["type"] for f in data["features"]} == {"Point"}


@pytest.mark.parametrize("layer", ["level3_street", "level4_community", "level5_grid"])
def test_sample_layers_are_single_polygons(layer: str) -> None:
    frame = gpd.read_file(SAMPLE / "boundaries.gpkg", layer=layer)
    assert set(frame.geom_type) == {"Polygon"}
    assert frame.crs.to_epsg() == 4490
