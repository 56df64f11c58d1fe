"""gridgeo.codes: code format, level inference, parents and reading order."""

from __future__ import annotations

import numpy as np
import pytest

from gridgeo.codes import CodeScheme, find_duplicates, next_sequences, reading_order
from gridgeo.errors import CodeError
from gridgeo.i18n import use_lang
from gridgeo.levels import Level

S = CodeScheme()


@pytest.mark.parametrize(
    ("code", "level"),
    [
        ("450300", Level.CITY),
        ("450302", Level.DISTRICT),
        ("450302001", Level.STREET),
        ("450302001002", Level.COMMUNITY),
        ("450302001002003", Level.GRID),
    ],
)
def test_infer_level_from_length_and_suffix(code: str, level: Level) -> None:
    assert S.infer_level(code) is level
    assert len(code) == S.length(level)


@pytest.mark.parametrize(
    ("code", "problem"),
    [
        ("450000", "province"),
        ("45030", "has 5 digits"),
        ("45030A", "digits only"),
        ("", "digits only"),
        ("４５０３００", "digits only"),
        ("4503020010020031", "has 16 digits"),
    ],
)
def test_malformed_codes_are_refused_with_reason(code: str, problem: str) -> None:
    with pytest.raises(CodeError, match=problem):
        S.infer_level(code)


def test_parent_is_the_prefix_and_a_district_parent_is_its_city() -> None:
    assert S.parent("450302001002003") == "450302001002"
    assert S.parent("450302001002") == "450302001"
    assert S.parent("450302001") == "450302"
    assert S.parent("450302") == "450300"
    assert S.parent("450300") is None
    assert S.chain("450302001002003") == [
        "450302001002003",
        "450302001002",
        "450302001",
        "450302",
        "450300",
    ]


def test_extends() -> None:
    assert S.extends("450302001", "450302")
    assert not S.extends("450303001", "450302")
    assert not S.extends("bad", "450302")


def test_check_rejects_level_mismatch_and_zero_numbers() -> None:
    S.check("450302001002003", Level.GRID)
    with pytest.raises(CodeError, match="street"):
        S.check("450302001", Level.COMMUNITY)
    with pytest.raises(CodeError, match="sequence 0"):
        S.check("450302001002000", Level.GRID)
    with pytest.raises(CodeError, match="ends in 000"):
        S.check("450302000", Level.STREET)


def test_sequence_width_is_a_setting() -> None:
    narrow = CodeScheme(sequence_width=2)
    assert narrow.length(Level.GRID) == 14
    assert narrow.infer_level("45030200100201") is Level.GRID
    assert narrow.grid_code("450302001002", 7) == "45030200100207"
    with pytest.raises(CodeError, match="1-99"):
        narrow.grid_code("450302001002", 100)
    with pytest.raises(ValueError, match="1-6"):
        CodeScheme(sequence_width=0)


def test_grid_code_pads_the_sequence() -> None:
    assert S.grid_code("450302001002", 3) == "450302001002003"


def test_reading_order_rows_north_to_south_then_west_to_east() -> None:
    # two rows of three, given shuffled; the rows' y jitter must not split a row
    x = np.array([3.0, 1.0, 2.0, 1.0, 3.0, 2.0])
    y = np.array([1.05, 2.0, 1.95, 1.0, 2.02, 0.98])
    order = reading_order(x, y)
    assert [(x[i], round(y[i])) for i in order] == [
        (1.0, 2),
        (2.0, 2),
        (3.0, 2),
        (1.0, 1),
        (2.0, 1),
        (3.0, 1),
    ]


def test_reading_order_edge_cases() -> None:
    assert reading_order([], []).size == 0
    assert list(reading_order([5.0], [5.0])) == [0]
    with pytest.raises(ValueError, match="equal length"):
        reading_order([1.0, 2.0], [1.0])


def test_next_sequences_and_duplicates() -> None:
    assert next_sequences(["450302001002004", "450302001002001"], S, 2) == [5, 6]
    assert next_sequences([], S, 3) == [1, 2, 3]
    assert find_duplicates(["a", "b", "a", "c", "a"]) == {"a": [0, 2, 4]}


def test_a_bad_code_reads_in_chinese_naming_the_code() -> None:
    with use_lang("zh"), pytest.raises(CodeError) as info:
        S.check("450302001001", Level.STREET)
    assert str(info.value) == "编码 '450302001001' 是社区编码，但要素的级别为 3（街道）"
    with use_lang("zh"), pytest.raises(CodeError) as info:
        S.infer_level("4503020010")
    assert str(info.value).startswith("编码 '4503020010' 有 10 位数字；应为 6 位（市、区）")
