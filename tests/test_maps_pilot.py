from __future__ import annotations

import pytest
import shapely
from maps_helpers import (
    assert_reads_as_chinese,
    features,
    geojson_layers,
    label_html,
    legend_rows,
)

import gridgeo
from gridgeo.dataset import Dataset
from gridgeo.errors import GridgeoError
from gridgeo.maps import style
from gridgeo.maps.page import render_html
from gridgeo.maps.pilot import PartnerArea, find_pilot, partner_areas, pilot_map
from gridgeo.model import GridSet

PILOT_GRIDS = {f"45030200100{c}00{g}" for c in (1, 2) for g in (1, 2, 3)}


@pytest.fixture(scope="module")
def sample() -> Dataset:
    return gridgeo.load()


def test_find_pilot_by_column_and_by_name(sample: Dataset) -> None:
    pilot = find_pilot(sample.grids)
    grids = sample.grids
    assert {grids.names[p] for p in pilot.communities} == {"文明社区", "五美社区"}
    assert {grids.codes[p] for p in pilot.grids} == PILOT_GRIDS
    assert pilot.street is not None and grids.names[pilot.street] == "秀峰街道"
    without_column = GridSet.from_frame(grids.frame.drop(columns=["pilot"]))
    by_name = find_pilot(without_column)
    assert {without_column.codes[p] for p in by_name.grids} == PILOT_GRIDS


def test_no_pilot(nested: GridSet) -> None:
    with pytest.raises(GridgeoError, match="no pilot community"):
        find_pilot(nested)


def test_grids_workstations_and_staff(sample: Dataset) -> None:
    m = pilot_map(sample.grids, sample.workstations, sample.staff)
    layers = geojson_layers(m)
    grid_layer = next(
        layer
        for layer in layers
        if {f["properties"].get("code") for f in features(layer)} == PILOT_GRIDS
    )
    colours = style.colours_for(["450302001001", "450302001002"])
    for f in features(grid_layer):
        p = f["properties"]
        assert p["colour"] == colours[p["code"][:12]]
        staff = [s for s in sample.staff if s.grid_code == p["code"]]
        for member in staff:  # every grid's roster is in its popup
            assert member.name in p["staff"] and member.phone in p["staff"]
        assert p["workstation"].endswith("城市管理工作站")
        # the plan's words for how people are employed (never 兼任, 在编 or 协管 alone)
        assert "协管员" in p["staff"] and "兼任" not in p["staff"]
    assert len(label_html(m)) == 6
    page = assert_reads_as_chinese(m)
    for ws in sample.workstations:
        assert ws.name in page
    rows = legend_rows(page)
    assert [r[1] for r in rows[:2]] == ["文明社区 450302001001", "五美社区 450302001002"]
    assert "试点概览：秀峰街道（文明社区、五美社区）" in page
    # counts with their measure words
    assert "6 个五级网格 · 2 个城市管理工作站" in page


def test_partner_hook(sample: Dataset) -> None:
    zone = sample.grids.geometries[sample.grids.position("450302001001")].buffer(0.001)
    area = PartnerArea("PS-1", "阳桥派出所", "公安派出所", zone, "值班室", "0773-110")
    m = pilot_map(sample.grids, sample.workstations, sample.staff, [area])
    partner_layer = next(
        layer
        for layer in geojson_layers(m)
        if any(f["properties"].get("kind") for f in features(layer))
    )
    (f,) = features(partner_layer)
    assert f["properties"]["name"] == "阳桥派出所"
    assert "0773-110" in f["properties"]["contact"]
    labels = [r[1] for r in legend_rows(assert_reads_as_chinese(m))]
    assert "联动单位" in labels and "合作单位" not in labels


def test_partner_areas_from_resolved_zones() -> None:
    class Type:
        zh, en = "公安派出所", "police station"

    class Unit:
        code, name, type, contact, phone = "PS-1", "阳桥派出所", Type(), "值班室", "110"

    class Resolved:
        partners = (Unit(), Unit())
        geometries = (shapely.box(0, 0, 1, 1), shapely.Polygon())

    (area,) = partner_areas(Resolved(), "en")  # the empty zone is left out
    assert area.kind == "police station" and area.geometry.area == 1


def test_english(sample: Dataset) -> None:
    page = render_html(pilot_map(sample.grids, sample.workstations, sample.staff, lang="en"))
    assert "Pilot overview: 秀峰街道, 文明社区, 五美社区" in page
    assert "grids: 6 · workstations: 2" in page
    assert "auxiliary officer" in page
