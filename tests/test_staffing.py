"""gridgeo.staffing and the roster reader: the plan's totals and its per-level rules."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from gridgeo.errors import InputFileError
from gridgeo.i18n import use_lang
from gridgeo.io.dataset import load
from gridgeo.io.staff import read_staff
from gridgeo.levels import Level
from gridgeo.staffing import (
    EMPLOYMENT_WORDS,
    Employment,
    Post,
    StaffMember,
    roster_findings,
    staffing_report,
)

SAMPLE = Path(__file__).resolve().parents[1] / "data" / "sample"
COMMUNITY = "450302001001"


def person(i: int, role: Post, employment: Employment, grid: str = COMMUNITY) -> StaffMember:
    return StaffMember(f"p{i}", f"人{i}", role, employment, grid)


def full_community() -> list[StaffMember]:
    people = [person(0, Post.LEADER, Employment.CADRE), person(1, Post.DEPUTY, Employment.CADRE)]
    people += [person(10 + i, Post.MEMBER, Employment.SWORN) for i in range(2)]
    people += [person(20 + i, Post.MEMBER, Employment.AUXILIARY) for i in range(8)]
    return people


def test_sample_pilot_reproduces_the_plan_totals() -> None:
    report = load().staffing()
    assert report.totals["sworn"] == 4
    assert report.totals["auxiliary"] == 36
    assert report.ok, report.to_text()
    data = report.to_dict()
    assert data["totals"] == {"sworn": 4, "auxiliary": 36, "cadre": report.totals["cadre"]}
    grid_members = [r for r in data["by_level_role"] if r["level"] == 5 and r["role"] == "member"]
    assert grid_members == [
        {
            "level": 5,
            "level_name": "grid (五级网格)",
            "role": "member",
            "role_zh": "网格员",
            "employment": "auxiliary",
            "employment_zh": "协管员",
            "count": 12,
        }
    ]


def test_full_community_meets_its_rule() -> None:
    report = staffing_report(full_community(), {COMMUNITY: Level.COMMUNITY})
    assert report.findings == []
    assert report.totals == {"sworn": 2, "auxiliary": 8, "cadre": 2}


def test_missing_sworn_officer_is_a_finding() -> None:
    people = [p for p in full_community() if p.person_id != "p11"]
    report = staffing_report(people, {COMMUNITY: Level.COMMUNITY})
    [finding] = report.findings
    assert finding.grid_code == COMMUNITY
    assert "在编队员 sworn" in finding.message and "has 1, rule 2" in finding.message
    assert not report.ok


def test_grid_leader_must_be_auxiliary() -> None:
    grid = "450302001001001"
    people = [
        person(1, Post.LEADER, Employment.SWORN, grid),
        person(2, Post.MEMBER, Employment.AUXILIARY, grid),
        person(3, Post.MEMBER, Employment.AUXILIARY, grid),
    ]
    report = staffing_report(people, {grid: Level.GRID})
    assert [f.message for f in report.findings] == [
        "网格长 leader (协管员 auxiliary): has 0, rule 1"
    ]


def test_staff_on_unknown_grid_is_reported() -> None:
    report = staffing_report([person(1, Post.LEADER, Employment.CADRE, "450399001")], {})
    assert report.unknown_grids == ["450399001"]
    assert "450399001" in report.to_text()


def test_roster_reader_accepts_chinese_words(tmp_path: Path) -> None:
    path = tmp_path / "staff.csv"
    path.write_text(
        "person_id,name,role,employment,grid_code\na1,王伟,网格长,协管,450302001001001\n",
        encoding="utf-8-sig",
    )
    [member] = read_staff(path)
    assert member.role is Post.LEADER and member.employment is Employment.AUXILIARY


@pytest.mark.parametrize(
    ("row", "message"),
    [
        ("a1,王伟,captain,协管,450302001001001", "row 2: unknown role 'captain'"),
        ("a1,王伟,网格长,temp,450302001001001", "row 2: unknown employment 'temp'"),
        ("a1,王伟,网格长,协管,", "row 2: grid_code is empty"),
    ],
)
def test_roster_errors_name_the_row(tmp_path: Path, row: str, message: str) -> None:
    path = tmp_path / "staff.csv"
    path.write_text("person_id,name,role,employment,grid_code\n" + row + "\n", encoding="utf-8")
    with pytest.raises(InputFileError, match=message):
        read_staff(path)


def test_roster_missing_column(tmp_path: Path) -> None:
    path = tmp_path / "staff.csv"
    path.write_text("person_id,name,role\na,b,leader\n", encoding="utf-8")
    with pytest.raises(InputFileError, match="missing column"):
        read_staff(path)


def test_employment_labels_are_the_plans_categories() -> None:
    assert [e.zh for e in Employment] == ["在编队员", "协管员", "兼职干部"]
    # the short forms of older rosters still read
    assert EMPLOYMENT_WORDS["兼任"] is Employment.CADRE and EMPLOYMENT_WORDS["协管"] is (
        Employment.AUXILIARY
    )


def test_staffing_finding_reads_in_chinese() -> None:
    grid = "450302001001001"
    people = [replace(person(2, Post.MEMBER, Employment.AUXILIARY, grid), row=5)]
    with use_lang("zh"):
        findings = roster_findings(people, {grid: Level.GRID}, source="staff.csv")
        assert str(findings[0]) == "staff.csv 第 5 行：五级网格 450302001001001 有人员但没有网格长"
    assert findings[1].message == "五级网格 450302001001001：网格员（协管员）：现有 1 人，标准 2 人"
