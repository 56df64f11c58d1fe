"""gridgeo.model: the grid set table, inference of levels and parents, hierarchy."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
from geometries import nested_dataset
from shapely.geometry import box

from gridgeo.codes import CodeScheme
from gridgeo.levels import Level
from gridgeo.model import UNKNOWN_LEVEL, GridSet


def test_levels_and_parents_inferred_from_codes() -> None:
    gs = GridSet.from_records(["450300", "450302", "450302001", "bad", None], [box(0, 0, 1, 1)] * 5)
    assert gs.levels.tolist() == [1, 2, 3, UNKNOWN_LEVEL, UNKNOWN_LEVEL]
    assert gs.parent_codes == [None, "450300", "450302", None, None]
    assert gs.codes[4] is None


def test_explicit_level_and_parent_columns_win() -> None:
    gs = GridSet.from_records(
        ["450302001"], [box(0, 0, 1, 1)], levels=["社区"], parent_codes=["450399"]
    )
    assert gs.levels.tolist() == [int(Level.COMMUNITY)]
    assert gs.parent_codes == ["450399"]


def test_numeric_codes_lose_the_float_suffix() -> None:
    frame = gpd.GeoDataFrame({"code": [450302.0, 450300]}, geometry=[box(0, 0, 1, 1)] * 2, crs=4490)
    gs = GridSet.from_frame(frame)
    assert gs.codes == ["450302", "450300"]


def test_chain_positions_and_children() -> None:
    gs = nested_dataset()
    leaf = gs.position("450304002001003")
    assert [gs.codes[p] for p in gs.chain(leaf)] == [
        "450304002001003",
        "450304002001",
        "450304002",
        "450304",
        "450300",
    ]
    has_children = gs.has_children()
    assert not has_children[leaf]
    assert has_children[gs.position("450300")]
    assert int(has_children.sum()) == 1 + 2 + 4 + 8


def test_chain_survives_a_cyclic_parent_column() -> None:
    gs = GridSet.from_records(
        ["450302001", "450302002"], [box(0, 0, 1, 1)] * 2, parent_codes=["450302002", "450302001"]
    )
    assert gs.chain(0) == [0, 1]


def test_label_names_code_name_and_source() -> None:
    gs = GridSet.from_records(["450302"], [box(0, 0, 1, 1)], names=["秀峰区"], refs=["a.geojson#0"])
    assert gs.label(0) == "450302 秀峰区 [a.geojson#0]"


def test_subset_concat_and_with_geometries_keep_columns() -> None:
    gs = nested_dataset()
    part = gs.subset(gs.levels == 4)
    assert len(part) == 8 and set(part.levels.tolist()) == {4}
    both = GridSet.concat([part, gs.subset(gs.levels == 3)])
    assert len(both) == 12
    moved = part.with_geometries([box(0, 0, 1, 1)] * len(part))
    assert moved.codes == part.codes
    assert np.all([g.equals(box(0, 0, 1, 1)) for g in moved.geometries])


def test_scheme_width_changes_grid_inference() -> None:
    gs = GridSet.from_records(
        ["45030200100201"], [box(0, 0, 1, 1)], scheme=CodeScheme(sequence_width=2)
    )
    assert gs.levels.tolist() == [5]
    assert gs.parent_codes == ["450302001002"]
