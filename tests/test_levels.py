"""gridgeo.levels: names and parsing of the five levels."""

from __future__ import annotations

import pytest

from gridgeo.levels import Level, parse_level


def test_names_follow_the_plan() -> None:
    assert [lv.zh for lv in Level] == ["市", "区", "街道", "社区", "五级网格"]
    assert [lv.en for lv in Level] == ["city", "district", "street", "community", "grid"]
    assert Level.STREET.label == "street (街道)"
    assert Level.GRID.name_in("zh") == "五级网格"
    assert Level.GRID.name_in("en") == "grid"


def test_parent_and_child() -> None:
    assert Level.CITY.parent is None
    assert Level.GRID.child is None
    assert Level.COMMUNITY.parent is Level.STREET
    assert Level.COMMUNITY.child is Level.GRID


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (1, Level.CITY),
        ("2", Level.DISTRICT),
        (3.0, Level.STREET),
        ("4.0", Level.COMMUNITY),
        ("grid", Level.GRID),
        ("Community", Level.COMMUNITY),
        ("社区", Level.COMMUNITY),
        ("街道", Level.STREET),
        ("五级网格", Level.GRID),
        ("镇", Level.STREET),
        (" 区 ", Level.DISTRICT),
    ],
)
def test_parse_level_accepts_planner_words(value: object, expected: Level) -> None:
    assert parse_level(value) is expected


@pytest.mark.parametrize("value", [0, 6, "province", "", True, 2.5])
def test_parse_level_rejects_with_the_value_named(value: object) -> None:
    with pytest.raises(ValueError, match="not a grid level"):
        parse_level(value)


def test_wording_examples_run() -> None:
    import doctest

    import gridgeo.wording

    result = doctest.testmod(gridgeo.wording)
    assert result.attempted >= 3 and result.failed == 0
