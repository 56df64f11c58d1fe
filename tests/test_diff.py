"""The boundary diff core: added, removed, reshaped, renamed, recoded, reparented, noise."""

from __future__ import annotations

import json
import re
from typing import Any

import numpy as np
import pandas as pd
import pytest
import shapely
import shapely.affinity
from geometries import bowtie, nested_dataset
from pyproj import Geod
from shapely.geometry import box

from gridgeo.diff import KINDS, GridChange, GridDiff, diff_grids
from gridgeo.levels import Level
from gridgeo.model import GridSet
from gridgeo.sample.cut import cut_hierarchy

COMMUNITY = "450302001001"  # west community of the first street: grids 001 NW, 002 NE, ...
WEST, EAST = f"{COMMUNITY}001", f"{COMMUNITY}002"
SHIFT = 0.002  # degrees the border between WEST and EAST moves east (about 200 m)


def edited(base: GridSet, **changes: Any) -> GridSet:
    """``base`` with rows edited: ``{code: {column: value}}``, ``drop=[codes]``, ``add=[rows]``."""
    frame = base.frame.copy()
    for code, columns in changes.get("edit", {}).items():
        row = base.position(code)
        for column, value in columns.items():
            frame.at[row, column] = value
    keep = [c not in changes.get("drop", ()) for c in frame["code"]]
    frame = frame[keep]
    extra = changes.get("add", [])
    if extra:
        added = GridSet.from_records(
            [r[0] for r in extra], [r[2] for r in extra], names=[r[1] for r in extra]
        ).frame
        frame = pd.concat([frame, added], ignore_index=True)
    return GridSet.from_frame(frame)


def moved_border(base: GridSet) -> tuple[GridSet, shapely.Geometry]:
    """``base`` with the WEST/EAST border moved east by SHIFT; returns the moved strip too."""
    west, east = base.geometries[base.position(WEST)], base.geometries[base.position(EAST)]
    x0, y0, xm, y1 = west.bounds
    x2 = east.bounds[2]
    strip = box(xm, y0, xm + SHIFT, y1)
    new = edited(
        base,
        edit={
            WEST: {"geometry": box(x0, y0, xm + SHIFT, y1)},
            EAST: {"geometry": box(xm + SHIFT, y0, x2, y1)},
        },
    )
    return new, strip


def area_m2(geom: shapely.Geometry) -> float:
    """The geodesic area on the ellipsoid (PROJ's geod), the diff's semantics to 0.001 %."""
    return abs(Geod(ellps="GRS80").geometry_area_perimeter(geom)[0])


def mirror(entry: dict[str, Any]) -> dict[str, Any]:
    """A change's JSON as the reversed diff reports it (areas rounded for comparison)."""
    kind = {"added": "removed", "removed": "added"}.get(entry["kind"], entry["kind"])
    out = dict(entry, kind=kind)
    if entry["kind"] == "recoded" or (entry["kind"] == "reshaped" and entry["old_code"]):
        out["code"], out["old_code"] = entry["old_code"], entry["code"]
    if entry["kind"] in ("renamed", "recoded"):
        out["name"], out["old_name"] = entry["old_name"], entry["name"]
    if entry["kind"] in ("reparented", "recoded"):
        out["parent_code"], out["old_parent_code"] = entry["old_parent_code"], entry["parent_code"]
    out["gained_m2"], out["lost_m2"] = entry["lost_m2"], entry["gained_m2"]
    out["area_change_m2"] = -entry["area_change_m2"]
    if entry["kind"] in ("reshaped", "recoded"):
        out["area_m2"] = entry["area_m2"] - entry["area_change_m2"]
    return comparable(out)


def comparable(entry: dict[str, Any]) -> dict[str, Any]:
    # Old and new areas come from separate projections: equal to about a millimetre².
    return {k: round(v, 1) + 0.0 if isinstance(v, float) else v for k, v in entry.items()}


def all_changes(diff: GridDiff) -> list[dict[str, Any]]:
    data = diff.to_dict()
    return [c for kind in KINDS for c in data[kind]]


# --- no differences -------------------------------------------------------------------


def test_identical_sets_have_an_empty_diff(nested: GridSet) -> None:
    diff = diff_grids(nested, nested_dataset())
    assert diff.is_empty
    assert diff.counts == dict.fromkeys(KINDS, 0)
    assert diff.to_geojson()["features"] == []
    assert diff.to_text().startswith("no differences (47 -> 47 features")


def test_floating_point_noise_below_tolerance_is_no_change(nested: GridSet) -> None:
    # What an export and re-import does: every vertex moved by ~1e-12 degree, rings
    # re-started at another vertex. Not byte-identical, so the overlay path runs.
    def jiggle(xy: np.ndarray) -> np.ndarray:  # type: ignore[type-arg]
        return xy + np.where(np.arange(xy.size).reshape(xy.shape) % 2, 1e-12, -1e-12)

    noisy = nested.with_geometries(shapely.transform(nested.geometries, jiggle))
    noisy = noisy.with_geometries(shapely.normalize(noisy.geometries))
    assert not shapely.equals_exact(nested.geometries, noisy.geometries, tolerance=0).any()
    assert diff_grids(nested, noisy).is_empty


def test_move_below_tolerance_is_noise_and_above_is_reported(nested: GridSet) -> None:
    new, strip = moved_border(nested)
    strip_m2 = area_m2(strip)
    assert diff_grids(nested, new, tolerance_m2=2 * strip_m2 + 1).is_empty
    assert len(diff_grids(nested, new, tolerance_m2=strip_m2 / 2).reshaped) == 2


# --- each kind ------------------------------------------------------------------------


def test_moved_border_reshapes_exactly_the_two_grids(nested: GridSet) -> None:
    new, strip = moved_border(nested)
    diff = diff_grids(nested, new)
    assert [c.kind for c in diff.changes] == ["reshaped", "reshaped"]
    west, east = diff.reshaped
    assert (west.code, east.code) == (WEST, EAST)
    strip_m2 = area_m2(strip)
    assert strip_m2 > 100_000
    assert west.gained_m2 == pytest.approx(strip_m2, rel=1e-5)
    assert east.lost_m2 == pytest.approx(strip_m2, rel=1e-5)
    assert west.lost_m2 < 1e-3 and east.gained_m2 < 1e-3
    assert west.area_change_m2 == pytest.approx(strip_m2, rel=1e-3)
    assert east.area_change_m2 == pytest.approx(-strip_m2, rel=1e-3)
    # the moved area is the strip itself (up to noise)
    for change in (west, east):
        assert shapely.symmetric_difference(change.geometry, strip).area < 1e-12
    assert shapely.equals(west.gained, strip) and shapely.equals(east.lost, strip)
    assert west.level is Level.GRID and west.name == f"网格{WEST}"


def test_renamed(nested: GridSet) -> None:
    new = edited(nested, edit={WEST: {"name": "文明社区第1网格"}})
    diff = diff_grids(nested, new)
    (change,) = diff.changes
    assert change.kind == "renamed"
    assert (change.code, change.old_name, change.name) == (WEST, f"网格{WEST}", "文明社区第1网格")
    assert change.area_change_m2 == 0 and change.area_m2 > 0


def test_recoded_is_not_added_and_removed(nested: GridSet) -> None:
    new = edited(nested, edit={EAST: {"code": f"{COMMUNITY}009", "parent_code": None}})
    diff = diff_grids(nested, new)
    (change,) = diff.changes
    assert change.kind == "recoded"
    assert (change.old_code, change.code) == (EAST, f"{COMMUNITY}009")
    assert change.old_name == change.name == f"网格{EAST}"
    assert abs(change.area_change_m2) < 1e-6
    assert not diff.added and not diff.removed
    assert f"recoded {EAST} -> {COMMUNITY}009" in diff.to_text()


def test_recoded_and_moved_beyond_tolerance_is_also_reshaped(nested: GridSet) -> None:
    # A 0.5 % wider grid under a new code: one grid (IoU >= 0.99) that also moved.
    x0, y0, x1, y1 = nested.geometries[nested.position(EAST)].bounds
    wider = box(x0, y0, x1 + (x1 - x0) * 0.005, y1)
    new = edited(nested, edit={EAST: {"code": f"{COMMUNITY}009", "geometry": wider}})
    diff = diff_grids(nested, new)
    assert [c.kind for c in diff.changes] == ["reshaped", "recoded"]
    reshaped = diff.reshaped[0]
    assert (reshaped.old_code, reshaped.code) == (EAST, f"{COMMUNITY}009")
    assert reshaped.gained_m2 > 1000 and reshaped.lost_m2 < 1e-3


def test_half_overlap_is_removed_and_added_unless_min_iou_allows(nested: GridSet) -> None:
    x0, y0, x1, y1 = nested.geometries[nested.position(EAST)].bounds
    half = box(x0, y0, (x0 + x1) / 2, y1)
    new = edited(nested, drop=[EAST], add=[(f"{COMMUNITY}009", "新网格", half)])
    diff = diff_grids(nested, new)
    assert [(c.kind, c.code) for c in diff.changes] == [
        ("added", f"{COMMUNITY}009"),
        ("removed", EAST),
    ]
    added, removed = diff.added[0], diff.removed[0]
    assert added.area_change_m2 == pytest.approx(added.area_m2)
    assert removed.area_change_m2 == pytest.approx(-removed.area_m2)
    assert removed.area_m2 == pytest.approx(2 * added.area_m2, rel=1e-3)
    loose = diff_grids(nested, new, min_iou=0.45)
    assert [c.kind for c in loose.changes] == ["reshaped", "recoded"]


def test_reparented(nested: GridSet) -> None:
    new = edited(nested, edit={WEST: {"parent_code": "450302001002"}})
    (change,) = diff_grids(nested, new).changes
    assert change.kind == "reparented"
    assert (change.old_parent_code, change.parent_code) == (COMMUNITY, "450302001002")


def test_grids_without_codes_are_matched_by_geometry_not_recoded() -> None:
    cells = [box(110.30, 25.30, 110.31, 25.31), box(110.31, 25.30, 110.32, 25.31)]
    a = GridSet.from_records([None, None], cells, levels=[5, 5])
    b = GridSet.from_records([None, None], cells[::-1], levels=[5, 5])
    assert diff_grids(a, b).is_empty


def test_invalid_and_empty_input_do_not_raise(nested: GridSet) -> None:
    broken = edited(nested, edit={WEST: {"geometry": bowtie(110.2, 25.35, 0.01)}})
    diff = diff_grids(nested, broken)
    assert [c.code for c in diff.reshaped] == [WEST]
    empty = nested.subset(np.zeros(len(nested), dtype=bool))
    assert len(diff_grids(empty, nested).added) == len(nested)
    assert diff_grids(empty, empty).is_empty


# --- everything at once, symmetry and renderers ------------------------------------------


@pytest.fixture
def redrawn(nested: GridSet) -> GridSet:
    """Moved border, a rename, a recode, an addition and a removal in one new version."""
    moved, _ = moved_border(nested)
    south = f"{COMMUNITY}003"
    x0, y0, x1, _ = nested.geometries[nested.position(south)].bounds
    return edited(
        moved,
        edit={
            "450302001002001": {"name": "五美社区第1网格"},
            "450304002002004": {"code": "450304002002007", "parent_code": None},
        },
        drop=["450304001001003"],
        add=[("450304001001009", "新增网格", box(x0, y0 - 0.01, x1, y0))],
    )


def test_every_kind_at_once(nested: GridSet, redrawn: GridSet) -> None:
    diff = diff_grids(nested, redrawn)
    assert diff.counts == {
        "added": 1,
        "removed": 1,
        "reshaped": 2,
        "renamed": 1,
        "recoded": 1,
        "reparented": 0,
    }
    assert [c.code for c in diff.added] == ["450304001001009"]
    assert [c.code for c in diff.removed] == ["450304001001003"]
    assert [(c.old_code, c.code) for c in diff.recoded] == [("450304002002004", "450304002002007")]


def test_diff_is_symmetric(nested: GridSet, redrawn: GridSet) -> None:
    forward, backward = diff_grids(nested, redrawn), diff_grids(redrawn, nested)
    assert backward.counts["added"] == forward.counts["removed"]
    mirrored = sorted(map(mirror, all_changes(forward)), key=json.dumps)
    assert sorted(map(comparable, all_changes(backward)), key=json.dumps) == mirrored
    for f, b in zip(forward.reshaped, backward.reshaped, strict=True):
        assert shapely.equals(f.gained, b.lost) and shapely.equals(f.lost, b.gained)


def test_json_geojson_and_text(nested: GridSet, redrawn: GridSet) -> None:
    diff = diff_grids(nested, redrawn)
    data = json.loads(json.dumps(diff.to_dict(), ensure_ascii=False))
    assert data["summary"]["counts"]["reshaped"] == 2
    assert data["summary"]["metric_crs"] == "EPSG:4546" and not data["summary"]["empty"]
    assert data["reshaped"][0]["level_name"] == "grid (五级网格)"

    collection = json.loads(json.dumps(diff.to_geojson()))
    features = collection["features"]
    assert len(features) == len(diff.changes) == 6
    assert {f["properties"]["kind"] for f in features} == set(KINDS) - {"reparented"}
    assert all(f["geometry"]["type"] in ("Polygon", "MultiPolygon") for f in features)

    text = diff.to_text().splitlines()
    assert text[0].startswith("1 added, 1 removed, 2 reshaped, 1 renamed, 1 recoded (47 -> 47")
    assert any(
        line.startswith(f"reshaped {EAST} 网格{EAST} (grid 五级网格): +0.0 m² gained, -")
        for line in text
    )
    assert (
        "renamed 450302001002001 五美社区第1网格 (grid 五级网格): "
        "网格450302001002001 -> 五美社区第1网格" in text
    )
    zh = diff.to_text("zh")
    assert "边界调整" in zh and "（五级网格）：" in zh and "grid 五级网格" not in zh
    assert zh.startswith(
        "新增 1 处，删除 1 处，边界调整 2 处，更名 1 处，改编码 1 处（要素 47 -> 47 个"
    )


@pytest.mark.parametrize("kwargs", [{"tolerance_m2": -1.0}, {"min_iou": 0.0}, {"min_iou": 1.5}])
def test_bad_thresholds_are_refused(nested: GridSet, kwargs: dict[str, float]) -> None:
    with pytest.raises(ValueError, match="must be"):
        diff_grids(nested, nested, **kwargs)


def test_rounded_coordinates_and_extra_vertices_are_no_change() -> None:
    # a round trip through a tool that adds vertices along edges and writes 8 decimals
    # (about 1 mm): hundreds of grids were "reshaped" by slivers along their edges
    city = cut_hierarchy(600, 3, fanout=(3, 3, 4))
    redrawn = city.with_geometries(
        shapely.set_precision(shapely.segmentize(city.geometries, 0.0003), 1e-8)
    )
    assert diff_grids(city, redrawn).is_empty
    # ... while a grid moved by 2 m is reshaped
    leaf = len(city) - 1
    moved = redrawn.geometries.copy()
    moved[leaf] = shapely.affinity.translate(moved[leaf], xoff=2 / 101_000)
    changes = diff_grids(city, redrawn.with_geometries(moved)).reshaped
    assert [c.code for c in changes] == [city.codes[leaf]]


@pytest.mark.parametrize(("gained", "lost"), [(1000.04, 14581.06), (0.05, 0.14), (2.25, 0.35)])
def test_a_reshaped_line_adds_up_as_shown(gained: float, lost: float) -> None:
    # gained - lost is the area change; rounded apart, the three could disagree by 0.1
    # (a planner read "+1,000.0 gained, -14,581.1 lost (net -13,581.0)")
    change = GridChange(
        "reshaped", "450302001001001", "一号网格", Level.GRID,
        area_change_m2=gained - lost, gained_m2=gained, lost_m2=lost,
    )  # fmt: skip
    for lang in ("en", "zh"):
        numbers = [
            float(n.replace(",", ""))
            for n in re.findall(r"[-+]?[\d,]+\.\d", change.to_text(lang).split(":", 1)[-1])
        ]
        shown_gained, shown_lost, net = (abs(numbers[0]), abs(numbers[1]), numbers[2])
        assert round(shown_gained - shown_lost, 1) == net, change.to_text(lang)
        assert abs(net - (gained - lost)) <= 0.1
