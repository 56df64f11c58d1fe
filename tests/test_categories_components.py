"""Component classes (部件) beside the event classes (事件); the sample routing and cases
cover and use the full category table."""

from __future__ import annotations

import csv
import doctest
from pathlib import Path

import pytest

import gridgeo.categories
from gridgeo.categories import (
    COMPONENT_CATEGORIES,
    STANDARD_CATEGORIES,
    Category,
    CategoryKind,
    CategorySource,
    CategoryTable,
    default_categories,
    is_category_code,
    major_code,
)
from gridgeo.errors import CategoryError, InputFileError
from gridgeo.io.routing import read_routing
from gridgeo.routing import RoutingRule, RoutingTable, validate_routing

REPO = Path(__file__).resolve().parents[1]
SAMPLE_ROUTING = REPO / "data" / "sample" / "routing.yaml"
SAMPLE_CASES = REPO / "data" / "cases" / "sample_cases.csv"


def test_docstring_examples_run() -> None:
    result = doctest.testmod(gridgeo.categories)
    assert result.attempted >= 5 and result.failed == 0


def test_component_code_resolves_to_its_major() -> None:
    table = default_categories()
    cover = table.resolve("B0101")
    assert (cover.name_zh, cover.major, cover.kind) == ("上水井盖", "B01", CategoryKind.COMPONENT)
    assert cover.source is CategorySource.COMPONENT_STANDARD and not cover.is_major
    assert table[cover.major].name_zh == "公用设施" and table["B01"].is_major
    assert cover.to_dict()["kind"] == "component" and cover.to_dict()["major"] == "B01"
    assert table.resolve("b0101") is cover  # codes are case-blind
    assert (
        table.resolve("上水井盖") is cover and table.resolve("Water-supply manhole cover") is cover
    )


def test_event_codes_are_unchanged() -> None:
    table = default_categories()
    parking = table.resolve("0505")
    assert (parking.major, parking.kind, parking.is_major) == ("05", CategoryKind.EVENT, False)
    assert table["05"].is_major and table["05"].kind.label_zh == "事件"
    assert CategoryKind.COMPONENT.label_zh == "部件"


def test_no_component_code_equals_an_event_code() -> None:
    events = {c.code for c in STANDARD_CATEGORIES}
    components = {c.code for c in COMPONENT_CATEGORIES}
    assert not events & components
    assert all(c.startswith("B") for c in components)
    assert {c.code for c in COMPONENT_CATEGORIES if c.is_major} == {f"B0{i}" for i in range(1, 7)}
    # every major class, event or component, has minor classes of its own kind
    table = default_categories()
    for major in table.majors():
        minors = table.minors(major.code)
        assert minors and {m.kind for m in minors} == {major.kind}, major.label


def test_component_minors_are_marked_unconfirmed_but_the_two_checked_ones() -> None:
    confirmed = {c.code for c in COMPONENT_CATEGORIES if not c.is_major and c.confirmed}
    assert confirmed == {"B0101", "B0102"}


@pytest.mark.parametrize(
    ("code", "ok", "major"),
    [
        ("05", True, "05"),
        ("0505", True, "05"),
        ("B01", True, "B01"),
        ("B0101", True, "B01"),
        ("505", False, None),
        ("B1", False, None),
        ("B010", False, None),
        ("b01", False, None),
        ("X0101", False, None),
        ("０５", False, None),  # full-width digits
    ],
)
def test_code_forms(code: str, ok: bool, major: str | None) -> None:
    assert is_category_code(code) is ok
    if major is not None:
        assert major_code(code) == major


def test_table_checks_code_forms_and_orphans() -> None:
    with pytest.raises(CategoryError, match=r"'B1'.*component code"):
        CategoryTable([Category("B1", "坏", "bad")])
    with pytest.raises(CategoryError, match=r"B0201 have no major class"):
        CategoryTable([Category("B01", "公用设施", "x"), Category("B0201", "停车场", "y")])
    # B01 and 01 live side by side
    table = CategoryTable([Category("01", "市容环境", "a"), Category("B01", "公用设施", "b")])
    assert len(table) == 2


def test_shared_chinese_name_resolves_to_the_event_class() -> None:
    table = default_categories()
    assert table["B03"].name_zh == table["01"].name_zh == "市容环境"
    assert table.resolve("市容环境").code == "01"
    assert table.resolve("city appearance facilities").code == "B03"


def test_did_you_mean_for_names() -> None:
    table = default_categories()
    with pytest.raises(
        CategoryError, match=r"unknown category '上水井'; did you mean B0101 上水井盖"
    ):
        table.resolve("上水井")
    with pytest.raises(CategoryError, match=r"did you mean B0109 路灯"):
        table.resolve("street lite")
    with pytest.raises(CategoryError, match=r"did you mean 0505 机动车乱停放"):
        table.resolve("机动车乱停")
    # a shortened name, as people say it: most of its characters, not its spelling
    with pytest.raises(CategoryError, match=r"did you mean 0505 机动车乱停放, 0506 非机动车乱停放"):
        table.resolve("乱停车")
    with pytest.raises(CategoryError, match=r"did you mean 0507 乱堆物堆料"):
        table.resolve("乱堆")
    with pytest.raises(CategoryError, match=r"^unknown category '好'$"):
        table.resolve("好")  # one character: no guess


def test_routing_uses_the_component_major() -> None:
    table = RoutingTable((RoutingRule("B01", ()), RoutingRule("B0109", ())))
    assert table.rule_for("B0101") is table.rules[0]
    assert table.rule_for("B0109") is table.rules[1]
    assert table.rule_for("0101") is None  # an event code never reaches a component rule


def test_component_codes_in_routing_files(tmp_path: Path) -> None:
    path = tmp_path / "r.csv"
    path.write_text(
        "category,partners,grid,limit_urgent\nB01,enforcement_team,yes,2h\n", encoding="utf-8"
    )
    table = read_routing(path)
    assert table.time_limit("B0101", "urgent").label("en") == "2 hours"
    path.write_text("category,partners,grid\nB1,enforcement_team,yes\n", encoding="utf-8")
    with pytest.raises(InputFileError, match=r"row 2: category 'B1' is not .*B0101"):
        read_routing(path)


def test_sample_routing_validates_against_the_full_table() -> None:
    table = read_routing(SAMPLE_ROUTING)
    categories = table.category_table()
    assert any(c.kind is CategoryKind.COMPONENT for c in categories.minors())
    assert validate_routing(table, categories) == []
    for cat in categories.minors():
        rule = table.rule_for(cat)
        assert rule is not None and (rule.grid or rule.partner_types), cat.label
        assert rule.limits, f"{rule.category} gives no time limit"
    assert {r.category for r in table.rules} >= {f"B0{i}" for i in range(1, 7)}
    assert str(table.time_limit("0409", "urgent")) == "1h"
    assert str(table.time_limit("0401", "urgent")) == "2h"


def test_every_sample_case_category_resolves() -> None:
    categories = default_categories()
    with SAMPLE_CASES.open(encoding="utf-8", newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert len(rows) == 392
    resolved = {categories.resolve(r["category"]).code for r in rows}
    assert resolved <= {c.code for c in categories.minors()}
    assert "0505" in resolved
