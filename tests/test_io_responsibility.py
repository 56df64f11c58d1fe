"""Planner files of the 1+2+N model: roster, partner zones, routing; errors name the row."""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

import pytest

import gridgeo
from gridgeo.categories import default_categories
from gridgeo.dataset import Dataset
from gridgeo.errors import InputFileError
from gridgeo.i18n import use_lang
from gridgeo.io.partners import read_partners
from gridgeo.io.routing import read_routing
from gridgeo.io.staff import read_staff
from gridgeo.partners import PartnerType, ZoneKind, resolve_zones
from gridgeo.responsibility_coverage import coverage_report, validate_partners
from gridgeo.routing import validate_routing
from gridgeo.staffing import roster_findings

SAMPLE = Path(__file__).resolve().parents[1] / "data" / "sample"
GRID = "450302001001001"
LINE = {"type": "LineString", "coordinates": [[110.2970, 25.2790], [110.2990, 25.2792]]}


@cache
def sample() -> Dataset:
    return gridgeo.load()


def levels() -> dict[str, Any]:
    return sample()._grid_levels()


def feature(props: dict[str, Any], geometry: dict[str, Any] | None = None) -> dict[str, Any]:
    base = {"code": "U1", "type": "police", "name": "派出所"}
    return {"type": "Feature", "properties": base | props, "geometry": geometry}


def write_geojson(tmp_path: Path, *features: dict[str, Any]) -> Path:
    path = tmp_path / "partners.geojson"
    doc = {"type": "FeatureCollection", "features": list(features)}
    path.write_text(json.dumps(doc, ensure_ascii=False), encoding="utf-8")
    return path


# --- the sample files ------------------------------------------------------------------


def test_sample_files_are_clean_and_complete() -> None:
    data = sample()
    assert len(data.partners) == 14
    assert {p.type for p in data.partners} >= {
        PartnerType.ENFORCEMENT_TEAM,
        PartnerType.POLICE,
        PartnerType.TRAFFIC_POLICE,
        PartnerType.DEPUTIES_LIAISON,
        PartnerType.ENTERPRISE,
        PartnerType.PROPERTY_MANAGER,
        PartnerType.VOLUNTEER,
        PartnerType.SANITATION,
        PartnerType.PARKING_COLLECTOR,
    }
    assert {p.zone.kind for p in data.partners} == {ZoneKind.GRIDS, ZoneKind.BUFFER}
    assert data.responsibility_findings() == []
    routing = data.require_routing()
    majors = {r.category for r in routing.rules if len(r.category) == 2}
    assert majors >= {"01", "02", "03", "04", "05", "90"}


def test_every_category_reaches_somebody_in_the_sample() -> None:
    routing = sample().require_routing()
    for cat in default_categories().minors():
        rule = routing.rule_for(cat)
        assert rule is not None and (rule.grid or rule.partner_types), cat.label


# --- partner zones ---------------------------------------------------------------------


def test_geojson_zone_kinds(tmp_path: Path) -> None:
    box = {
        "type": "Polygon",
        "coordinates": [[[110.29, 25.27], [110.30, 25.27], [110.30, 25.28], [110.29, 25.27]]],
    }
    path = write_geojson(
        tmp_path,
        feature({"code": "A"}, box),
        feature({"code": "B", "type": "物业", "buffer_m": 20}, LINE),
        feature({"code": "C", "type": "交警", "grid_codes": f"{GRID};450302001001002"}),
    )
    a, b, c = read_partners(path)
    assert a.zone.kind is ZoneKind.POLYGON
    assert b.type is PartnerType.PROPERTY_MANAGER and b.zone.buffer_m == 20
    assert c.type is PartnerType.TRAFFIC_POLICE
    assert c.zone.grid_codes == (GRID, "450302001001002")
    assert [u.row for u in (a, b, c)] == [1, 2, 3]


def test_partner_csv_with_grid_codes(tmp_path: Path) -> None:
    path = tmp_path / "partners.csv"
    path.write_text(
        f"code,type,name,grid_codes,contact\nS1,sanitation,环卫片区,{GRID} 450302001001002,班长\n",
        encoding="utf-8-sig",
    )
    [unit] = read_partners(path)
    assert unit.zone.grid_codes == (GRID, "450302001001002") and unit.contact == "班长"


@pytest.mark.parametrize(
    ("props", "geometry", "message"),
    [
        ({"type": "fire_brigade"}, None, r"feature 1: unknown partner type 'fire_brigade'"),
        ({"grid_codes": ""}, None, r"feature 1: unit U1 has no zone"),
        ({}, LINE, r"feature 1: unit U1: a LineString zone needs buffer_m > 0"),
        ({"buffer_m": "wide"}, LINE, r"feature 1: buffer_m 'wide' is not a number"),
        ({"name": ""}, LINE | {}, r"feature 1: name is empty"),
        (
            {"buffer_m": 10},
            {"type": "LineString", "coordinates": [[25.279, 110.297], [25.2792, 110.299]]},
            r"feature 1: coordinates .* are not lon/lat in China",
        ),
    ],
)
def test_bad_partner_features_are_named(
    tmp_path: Path, props: dict[str, Any], geometry: dict[str, Any] | None, message: str
) -> None:
    path = write_geojson(tmp_path, feature(props, geometry))
    with pytest.raises(InputFileError, match=message) as info:
        read_partners(path)
    assert str(path) in str(info.value)


def test_every_bad_row_is_listed_at_once(tmp_path: Path) -> None:
    path = tmp_path / "partners.csv"
    path.write_text(
        f"code,type,name,grid_codes\nA,police,所,{GRID}\nB,firemen,队,{GRID}\nA,police,所,{GRID}\n",
        encoding="utf-8",
    )
    with pytest.raises(InputFileError) as info:
        read_partners(path)
    text = str(info.value)
    assert "2 problem(s)" in text
    assert "row 3: unknown partner type 'firemen'" in text
    assert "row 4: code A already used (row 2)" in text


def test_row_problems_read_in_chinese_naming_file_and_rows(tmp_path: Path) -> None:
    path = tmp_path / "partners.csv"
    path.write_text(
        f"code,type,name,grid_codes\nA,police,所,{GRID}\nB,firemen,队,{GRID}\nA,police,所,{GRID}\n",
        encoding="utf-8",
    )
    with use_lang("zh"), pytest.raises(InputFileError) as info:
        read_partners(path)
    lines = str(info.value).splitlines()
    assert lines[0] == f"{path}：2 个问题"
    assert lines[1].startswith(f"  {path}，第 3 行：未知的联动单位类型 'firemen'（B）；可用类型：")
    assert "enforcement_team、police、" in lines[1]
    assert lines[2] == f"  {path}，第 4 行：编码 A 已被使用（第 2 行）"
    roster = write(tmp_path, "staff.csv", "person_id,name,role\nP1,张三,网格长\n")
    with use_lang("zh"), pytest.raises(InputFileError) as missing:
        read_staff(roster)
    assert str(missing.value) == f"{roster}：缺少列 employment、grid_code"
    rules = write(tmp_path, "routing.yaml", "rules:\n  - category: 505\n    partners: [police]\n")
    with use_lang("zh"), pytest.raises(InputFileError) as number:
        read_routing(rules)
    assert str(number.value).splitlines()[1] == (
        f'  {rules}，第 1 条规则：类别 505 被读成了数字；请加引号（"0505"），以保留开头的 0'
    )


def test_unknown_grid_codes_and_zones_outside_the_districts(tmp_path: Path) -> None:
    far = {"type": "Point", "coordinates": [116.40, 39.90]}  # Beijing
    path = write_geojson(
        tmp_path,
        feature({"code": "OK", "grid_codes": GRID}),
        feature({"code": "BAD", "grid_codes": f"{GRID};450302009009009"}),
        feature({"code": "FAR", "buffer_m": 50}, far),
    )
    grids = sample().grids
    findings = validate_partners(resolve_zones(read_partners(path), grids), grids, source="p.json")
    got = [(f.rule, f.row, f.subject) for f in findings]
    assert got == [
        ("unknown_grid_code", 2, "BAD"),
        ("zone_outside_district", 3, "FAR"),
    ]
    assert str(findings[0]).startswith("p.json, feature 2: unit BAD")
    assert "450302009009009" in findings[0].message


# --- routing ---------------------------------------------------------------------------


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_routing_yaml_and_csv_read_the_same(tmp_path: Path) -> None:
    yaml_path = write(
        tmp_path,
        "r.yaml",
        'rules:\n  - category: "0505"\n'
        "    partners: [traffic_police, 车辆收费员]\n    grid: true\n",
    )
    csv_path = write(
        tmp_path,
        "r.csv",
        "category,partners,grid,note\n0505,traffic_police;parking_collector,是,\n",
    )
    assert read_routing(yaml_path).rules == read_routing(csv_path).rules


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            "rules:\n  - category: 505\n    partners: [police]\n",
            r"rule 1: category 505 was read as a number; quote it",
        ),
        (
            'rules:\n  - category: "05"\n    partners: [police]\n  - category: "04"\n'
            "    partners: [firemen]\n",
            r"rule 2: category 04: unknown partner type 'firemen'",
        ),
        (
            'rules:\n  - category: "05"\n    partners: []\n    grid: maybe\n',
            r"rule 1: grid must be yes/no",
        ),
        ("rules: {}\n", r"expected a mapping with a list under 'rules'"),
        ("rules:\n  - [a\n", r"cannot read routing YAML"),
    ],
)
def test_bad_routing_rules_are_named(tmp_path: Path, text: str, message: str) -> None:
    path = write(tmp_path, "routing.yaml", text)
    with pytest.raises(InputFileError, match=message) as info:
        read_routing(path)
    assert str(path) in str(info.value)


def test_routing_findings_name_the_rule(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "routing.csv",
        "category,partners,grid\n"
        "01,sanitation,yes\n"
        "0505,,no\n"
        "7777,police,yes\n"
        "01,police,yes\n"
        "02;03;04;05;90,,yes\n",
    )
    with pytest.raises(InputFileError, match="row 6: "):
        read_routing(path)  # a list of categories in one cell is not a category
    path.write_text(path.read_text(encoding="utf-8").rsplit("\n", 2)[0] + "\n", encoding="utf-8")
    table = read_routing(path)
    findings = validate_routing(table, default_categories(), {PartnerType.SANITATION})
    by_rule = {(f.rule, f.row) for f in findings}
    assert ("no_responsible_party", 3) in by_rule  # 0505: nobody and no grid
    assert ("unknown_category", 4) in by_rule
    assert ("duplicate_rule", 5) in by_rule
    assert ("partner_type_without_units", 4) in by_rule  # police has no unit
    not_routed = {f.subject for f in findings if f.rule == "category_not_routed"}
    assert "0201" in not_routed and "0101" not in not_routed and "0505" not in not_routed


def test_local_categories_in_the_routing_yaml(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "r.yaml",
        "categories:\n  - {code: '91', name_zh: 共享单车, name_en: shared bikes}\n"
        "  - {code: '9101', name_zh: 共享单车乱停放}\n"
        "rules:\n  - {category: '91', partners: [volunteer], grid: false}\n",
    )
    table = read_routing(path)
    cats = table.category_table()
    assert cats.resolve("共享单车乱停放").code == "9101"
    assert table.rule_for(cats["9101"]) == table.rules[0]


# --- roster ----------------------------------------------------------------------------


def roster(tmp_path: Path, *rows: str) -> Path:
    path = tmp_path / "staff.csv"
    header = "person_id,name,role,employment,grid_code\n"
    path.write_text(header + "\n".join(rows) + "\n", encoding="utf-8")
    return path


def test_roster_findings_name_the_row(tmp_path: Path) -> None:
    path = roster(
        tmp_path,
        f"a,甲,member,auxiliary,{GRID}",
        f"b,乙,member,auxiliary,{GRID}",
        "c,丙,leader,auxiliary,450302009009009",
        "d,丁,leader,cadre,450302001001",
        "e,戊,member,sworn,450302001001",
    )
    findings = roster_findings(read_staff(path), levels(), source=str(path))
    got = {(f.rule, f.row, f.subject) for f in findings}
    assert ("unknown_grid_code", 4, "450302009009009") in got
    assert ("grid_without_leader", 2, GRID) in got
    assert ("below_staffing_rule", 5, "450302001001") in got  # 1 sworn of 2, no deputy...
    leaderless = [f for f in findings if f.subject == GRID]
    assert [f.rule for f in leaderless] == ["grid_without_leader"]  # not twice
    assert all(str(path) in str(f) for f in findings)


def test_sample_roster_has_no_findings() -> None:
    data = sample()
    assert roster_findings(data.staff, levels()) == []


def test_roster_over_the_rule_is_a_warning(tmp_path: Path) -> None:
    path = roster(
        tmp_path,
        f"a,甲,leader,auxiliary,{GRID}",
        *(f"m{i},员{i},member,auxiliary,{GRID}" for i in range(3)),
    )
    [finding] = roster_findings(read_staff(path), levels())
    assert finding.rule == "above_staffing_rule" and finding.severity.value == "warning"
    assert "has 3, rule 2" in finding.message


# --- coverage --------------------------------------------------------------------------


def test_sample_coverage_is_clean_over_the_staffed_grids() -> None:
    report = sample().coverage()
    assert len(report.scope) == 6 and report.ok, report.to_text()
    assert report.covered[PartnerType.POLICE] == pytest.approx(1.0)


def test_coverage_over_the_street_finds_unstaffed_grids_and_gaps() -> None:
    report = sample().coverage(["450302001"])
    unstaffed = {g.code for g in report.unstaffed}
    assert {"450302001003", "450302001004", "450302001003001"} <= unstaffed
    assert "450302001001" not in unstaffed
    [gap] = report.gaps  # sanitation covers the two pilot communities only
    assert gap.type is PartnerType.SANITATION and 0.5 < gap.share < 0.7
    assert not report.ok
    kinds = {r["kind"] for r in report.rows()}
    assert {"unstaffed_grid", "zone_gap", "type_coverage"} <= kinds


def test_overlapping_same_type_zones_are_reported(tmp_path: Path) -> None:
    path = write_geojson(
        tmp_path,
        feature({"code": "P1", "grid_codes": "450302001001"}),
        feature({"code": "P2", "grid_codes": f"{GRID};450302001002"}),
        feature({"code": "T1", "type": "traffic_police", "grid_codes": "450302001001"}),
    )
    data = sample()
    zones = resolve_zones(read_partners(path), data.grids)
    report = coverage_report(data.grids, data.staff, zones)
    [overlap] = report.overlaps  # P1/P2 share grid 1; T1 is another type
    assert (overlap.first, overlap.second, overlap.type) == ("P1", "P2", PartnerType.POLICE)
    area = data.grids.metric.area(data.grids.geometries[data.grids.position(GRID)])[0]
    assert overlap.area_m2 == pytest.approx(area, rel=1e-6)
