"""gridgeo.model: the grid set table, inference of levels and parents, hierarchy."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
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


def _records_and_frame() -> tuple[GridSet, GridSet]:
    """The same awkward features built from records (plain columns) and from a frame."""
    codes = ["450302", 450302001.0, "  450302001001 ", None, "bad"]
    geoms = [box(0, 0, 4, 4), box(0, 0, 2, 4), box(0, 0, 1, 1), box(3, 3, 4, 4), None]
    names = ["区", None, "社区", float("nan"), "x"]
    levels = [None, "街道", None, 5, None]
    parents = [None, None, None, "450302001001", None]
    refs = ["a#0", None, "a#2", "a#3", None]
    extra = {"pilot": [1, float("nan"), 0, 1, None], "note": ["n", "o", "p", "q", "r"]}
    plain = GridSet.from_records(
        codes, geoms, names=names, levels=levels, parent_codes=parents, refs=refs, extra=extra
    )
    frame = gpd.GeoDataFrame(
        {
            "code": codes,
            "name": names,
            "level": levels,
            "parent_code": parents,
            "ref": refs,
            **{k: pd.Series(v, dtype=object) for k, v in extra.items()},
        },
        geometry=geoms,
        crs=4490,
    )
    return plain, GridSet.from_frame(frame)


def test_records_and_frames_make_the_same_grid_set() -> None:
    """from_records keeps plain columns (no pandas) and normalises as from_frame does; its
    frame, made on first use, equals the frame-built set's."""
    plain, framed = _records_and_frame()
    assert "frame" not in plain.__dict__  # not made until asked for
    for column in ("codes", "names", "parent_codes", "refs"):
        assert getattr(plain, column) == getattr(framed, column), column
    assert plain.levels.tolist() == framed.levels.tolist() == [2, 3, 4, 5, UNKNOWN_LEVEL]
    assert plain.codes[1] == "450302001" and plain.names[1] == "" and plain.refs[1] == "#1"
    assert list(plain.extra_columns) == list(framed.extra_columns) == ["pilot", "note"]
    assert plain.extra_columns["note"] == framed.extra_columns["note"]
    assert [plain.label(i) for i in range(5)] == [framed.label(i) for i in range(5)]
    assert plain.frame.columns.tolist() == framed.frame.columns.tolist()
    core_types = [str(t) for t in framed.frame.dtypes[:5]]
    assert [str(t) for t in plain.frame.dtypes[:5]] == core_types
    assert plain.frame.crs == framed.frame.crs
    assert (
        plain.frame.drop(columns="geometry")
        .astype(str)
        .equals(framed.frame.drop(columns="geometry").astype(str))
    )
    assert all(
        (a is None and b is None) or a.equals(b)
        for a, b in zip(plain.geometries, framed.geometries, strict=True)
    )


def test_plain_sets_subset_and_take_new_geometries_without_a_frame() -> None:
    plain, framed = _records_and_frame()
    mask = np.array([True, False, True, True, False])
    for chosen in (mask, [3, 0]):
        a, b = plain.subset(chosen), framed.subset(chosen)
        assert a.codes == b.codes and a.levels.tolist() == b.levels.tolist()
        assert a.extra_columns["note"] == b.extra_columns["note"]
        assert a.parent_positions.tolist() == b.parent_positions.tolist()
    moved = plain.with_geometries([box(9, 9, 10, 10)] * 5)
    assert moved.codes == plain.codes and moved.geometries[0].equals(box(9, 9, 10, 10))
    assert "frame" not in plain.subset(mask).__dict__ and "frame" not in moved.__dict__
    both = GridSet.concat([plain.subset([0]), framed.subset([1])])
    assert both.codes == ["450302", "450302001"]


def test_a_column_added_to_a_plain_sets_frame_is_kept() -> None:
    """Once a plain set's frame is made, the frame is the set: a column added to it
    (against the advice, but as code did with frame-built sets) survives derivation."""
    plain, _ = _records_and_frame()
    plain.frame["owner"] = ["a", "b", "c", "d", "e"]
    assert plain.subset([4, 0]).frame["owner"].tolist() == ["e", "a"]
    assert plain.with_geometries(plain.geometries).extra_columns["owner"][1] == "b"
