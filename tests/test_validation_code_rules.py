"""Code rules: each trips on a hand-made case and stays quiet on a clean one."""

from __future__ import annotations

from geometries import grid_set
from shapely.geometry import box

from gridgeo.codes import CodeScheme
from gridgeo.i18n import use_lang
from gridgeo.model import GridSet
from gridgeo.validation import validate

STREET = box(110.29, 25.29, 110.31, 25.31)
WEST = box(110.29, 25.29, 110.30, 25.31)
EAST = box(110.30, 25.29, 110.31, 25.31)


def code_rules(grids: GridSet) -> list[tuple[str, tuple[str, ...]]]:
    skip = {"gap", "overlap", "outside_parent"}
    return sorted((f.rule, f.codes) for f in validate(grids).errors if f.rule not in skip)


def test_clean_street_with_two_communities() -> None:
    gs = grid_set(("450302001", STREET), ("450302001001", WEST), ("450302001002", EAST))
    assert validate(gs).findings == []


def test_missing_code() -> None:
    gs = GridSet.from_records([None], [WEST], levels=[4], refs=["f.geojson#7"])
    assert code_rules(gs) == [("missing_code", ("f.geojson#7",))]


def test_malformed_code_names_the_problem() -> None:
    gs = GridSet.from_records(["45030200100A"], [WEST], levels=[4])
    [(rule, codes)] = code_rules(gs)
    assert (rule, codes) == ("malformed_code", ("45030200100A",))
    assert "digits" in validate(gs).errors[0].message


def test_unknown_level_when_neither_column_nor_code_tells() -> None:
    gs = GridSet.from_records(["12345"], [WEST])
    assert code_rules(gs) == [("unknown_level", ("12345",))]


def test_level_mismatch() -> None:
    gs = GridSet.from_records(["450302001001"], [WEST], levels=[3])
    assert code_rules(gs) == [("level_mismatch", ("450302001001",))]


def test_zero_sequence_is_malformed() -> None:
    gs = grid_set(("450302001001000", WEST))
    assert code_rules(gs) == [("malformed_code", ("450302001001000",))]


def test_duplicate_code_names_every_source() -> None:
    gs = GridSet.from_records(
        ["450302001001", "450302001001"], [WEST, EAST], refs=["a.geojson#0", "a.geojson#1"]
    )
    [finding] = [f for f in validate(gs).errors if f.rule == "duplicate_code"]
    assert finding.codes == ("450302001001",)
    assert "a.geojson#0" in finding.message and "a.geojson#1" in finding.message


def test_parent_mismatch_when_code_does_not_extend_parent() -> None:
    gs = GridSet.from_records(
        ["450302001", "450302002001"], [STREET, WEST], parent_codes=[None, "450302001"]
    )
    assert ("parent_mismatch", ("450302002001", "450302001")) in code_rules(gs)


def test_missing_parent_only_when_the_parent_level_is_present() -> None:
    orphan = grid_set(("450302001", STREET), ("450302002001", EAST))
    assert code_rules(orphan) == [("missing_parent", ("450302002001", "450302002"))]
    # communities alone: their streets are simply not in this file
    assert code_rules(grid_set(("450302002001", EAST))) == []


def test_sequence_width_setting_changes_what_is_malformed() -> None:
    narrow = GridSet.from_records(["45030200100101"], [WEST], scheme=CodeScheme(sequence_width=2))
    assert code_rules(narrow) == []
    wide = GridSet.from_records(["45030200100101"], [WEST])
    assert [r for r, _ in code_rules(wide)] == ["unknown_level"]


def test_findings_read_in_chinese_naming_the_feature() -> None:
    gs = GridSet.from_records(
        ["450302001001", "450302001001"],
        [WEST, EAST],
        levels=[3, 4],
        refs=["a.geojson#0", "a.geojson#1"],
        names=["文明社区", ""],
    )
    with use_lang("zh"):
        report = validate(gs)
        text = report.to_text()
    messages = {f.rule: f.message for f in report.errors}
    assert messages["level_mismatch"] == (
        "450302001001 文明社区 [a.geojson#0]：编码是社区编码，但级别字段为 3（街道）"
    )
    assert messages["duplicate_code"] == (
        "编码 450302001001 被 2 个要素重复使用（a.geojson#0、a.geojson#1）"
    )
    assert text.startswith("已校验 2 个要素：错误 ")
    assert "\n错误    duplicate_code 级别 3（街道）：编码 450302001001 被 2 个要素" in text
