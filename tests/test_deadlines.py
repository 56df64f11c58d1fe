"""Handling time limits: parsing, working days on China's real calendar, the routing table's
limits from YAML, CSV and the store."""

from __future__ import annotations

import doctest
from datetime import UTC, date, datetime, timedelta, timezone
from pathlib import Path

import pytest

import gridgeo.deadlines
from gridgeo.deadlines import (
    BEIJING,
    DeadlineError,
    TimeLimit,
    Urgency,
    deadline_after,
    is_working_day,
    parse_urgency,
)
from gridgeo.errors import GridgeoError, InputFileError
from gridgeo.io.routing import read_routing
from gridgeo.partners import PartnerType
from gridgeo.routing import DEFAULT_LIMITS, RoutingRule, RoutingTable
from gridgeo.store.core import Store
from gridgeo.store.responsibility import import_routing, load_routing


def bj(year: int, month: int, day: int, hour: int, minute: int) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=BEIJING)


def test_docstring_examples_run() -> None:
    result = doctest.testmod(gridgeo.deadlines)
    assert result.attempted >= 8 and result.failed == 0


# --- parsing ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "amount", "unit"),
    [
        ("4h", 4, "hours"),
        ("4 hours", 4, "hours"),
        ("1 hour", 1, "hours"),
        ("4H", 4, "hours"),
        ("4小时", 4, "hours"),
        (" 4 小时 ", 4, "hours"),
        ("2wd", 2, "workdays"),
        ("2 workdays", 2, "workdays"),
        ("2 working days", 2, "workdays"),
        ("2  Working  Days", 2, "workdays"),
        ("2个工作日", 2, "workdays"),
        ("2工作日", 2, "workdays"),
    ],
)
def test_time_limit_forms(text: str, amount: int, unit: str) -> None:
    limit = TimeLimit.parse(text)
    assert (limit.amount, limit.unit) == (amount, unit)
    assert TimeLimit.parse(str(limit)) == limit  # canonical text parses back


def test_time_limit_text_and_labels() -> None:
    assert str(TimeLimit(4, "hours")) == "4h" and str(TimeLimit(2, "workdays")) == "2wd"
    assert TimeLimit(4, "hours").label() == "4小时"
    assert TimeLimit(2, "workdays").label("zh") == "2个工作日"
    assert TimeLimit(4, "hours").label("en") == "4 hours"
    assert TimeLimit(1, "hours").label("en") == "1 hour"
    assert TimeLimit(2, "workdays").label("en") == "2 working days"
    assert TimeLimit(1, "workdays").label("en") == "1 working day"


@pytest.mark.parametrize("text", ["4", "four hours", "4 days", "0h", "-2wd", "2.5h", "", "4h30"])
def test_bad_time_limit_names_the_text(text: str) -> None:
    with pytest.raises(DeadlineError) as info:
        TimeLimit.parse(text)
    assert repr(text) in str(info.value)
    assert isinstance(info.value, GridgeoError) and isinstance(info.value, ValueError)


def test_bare_number_and_absurd_amounts_are_refused() -> None:
    with pytest.raises(DeadlineError, match="time limit 4 is not understood"):
        TimeLimit.parse(4)
    with pytest.raises(DeadlineError, match="time limit 400 workdays is out of range"):
        TimeLimit(400, "workdays")
    with pytest.raises(DeadlineError, match="time limit '400wd' is out of range"):
        TimeLimit.parse("400wd")


def test_urgency() -> None:
    assert Urgency.NORMAL.label_zh == "一般" and Urgency.URGENT.label_zh == "紧急"
    assert parse_urgency("紧急") is Urgency.URGENT and parse_urgency("Normal") is Urgency.NORMAL
    with pytest.raises(DeadlineError, match=r"unknown urgency 'asap'.*normal.*urgent"):
        parse_urgency("asap")


# --- deadlines -------------------------------------------------------------------------


def test_hours_are_clock_hours_in_utc() -> None:
    start = bj(2026, 10, 30, 15, 0)
    assert deadline_after(start, TimeLimit(4, "hours")) == datetime(2026, 10, 30, 11, tzinfo=UTC)
    # over midnight and a holiday alike: hours do not care about the calendar
    late = bj(2026, 9, 30, 22, 0)
    assert deadline_after(late, TimeLimit(4, "hours")) == late + timedelta(hours=4)
    assert deadline_after(late, TimeLimit(4, "hours")).tzinfo is UTC


def test_working_days_over_a_weekend() -> None:
    friday = bj(2026, 10, 30, 15, 0)
    assert deadline_after(friday, TimeLimit(1, "workdays")) == bj(2026, 11, 3, 0, 0)
    assert deadline_after(friday, TimeLimit(1, "workdays")) == datetime(2026, 11, 2, 16, tzinfo=UTC)
    assert deadline_after(friday, TimeLimit(2, "workdays")) == bj(2026, 11, 4, 0, 0)


def test_working_days_are_counted_in_beijing_time() -> None:
    # 17:30 UTC on Friday is 01:30 on Saturday in Beijing: the day of dispatch is Saturday
    start = datetime(2026, 10, 30, 17, 30, tzinfo=UTC)
    assert deadline_after(start, TimeLimit(1, "workdays")) == bj(2026, 11, 3, 0, 0)
    new_york = timezone(timedelta(hours=-4))
    thursday_evening = datetime(2026, 10, 29, 20, 0, tzinfo=new_york)  # Fri 08:00 in Beijing
    assert deadline_after(thursday_evening, TimeLimit(1, "workdays")) == bj(2026, 11, 3, 0, 0)


def test_working_days_over_national_day_2026() -> None:
    # 2026-10-01..07 off (the package's State Council data); Saturday 10-10 is worked
    assert not any(is_working_day(date(2026, 10, d)) for d in range(1, 8))
    sept30 = bj(2026, 9, 30, 10, 0)
    assert deadline_after(sept30, TimeLimit(1, "workdays")) == bj(2026, 10, 9, 0, 0)
    assert deadline_after(sept30, TimeLimit(3, "workdays")) == bj(2026, 10, 11, 0, 0)


def test_make_up_saturday_is_a_working_day() -> None:
    saturday = date(2026, 10, 10)
    assert saturday.weekday() == 5 and is_working_day(saturday)
    assert not is_working_day(date(2026, 10, 17))  # an ordinary Saturday
    friday = bj(2026, 10, 9, 9, 0)
    assert deadline_after(friday, TimeLimit(1, "workdays")) == bj(2026, 10, 11, 0, 0)


def test_outside_the_calendar_falls_back_to_monday_to_friday() -> None:
    import chinese_calendar  # type: ignore[import-untyped]

    far = date(2100, 1, 1)  # a Friday no package release knows
    with pytest.raises(NotImplementedError):
        chinese_calendar.is_workday(far)
    assert is_working_day(far) and not is_working_day(date(2100, 1, 2))
    assert deadline_after(bj(2100, 1, 1, 9, 0), TimeLimit(1, "workdays")) == bj(2100, 1, 5, 0, 0)


def test_naive_dispatch_time_is_refused() -> None:
    with pytest.raises(DeadlineError, match=r"2026-10-30T15:00:00 has no time zone"):
        deadline_after(datetime(2026, 10, 30, 15, 0), TimeLimit(4, "hours"))


# --- the routing table -----------------------------------------------------------------


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


YAML = """\
default_limits: {normal: 5个工作日}
rules:
  - category: "05"
    partners: [enforcement_team]
    limits: {normal: 1wd, urgent: 4小时}
  - category: "0505"
    partners: [traffic_police]
    limits: {urgent: 1 hour}
  - category: "01"
    partners: [sanitation]
"""


def test_limits_from_yaml_fall_back_minor_major_default(tmp_path: Path) -> None:
    table = read_routing(write(tmp_path, "r.yaml", YAML))
    assert table.by_code()["05"].limits == {
        "normal": TimeLimit(1, "workdays"),
        "urgent": TimeLimit(4, "hours"),
    }
    assert table.by_code()["05"].to_dict()["limits"] == {"normal": "1wd", "urgent": "4h"}
    # the file's default for normal, the built-in one for urgent
    assert table.default_limits == {
        "normal": TimeLimit(5, "workdays"),
        "urgent": TimeLimit(4, "hours"),
    }
    assert table.time_limit("0505", "urgent") == TimeLimit(1, "hours")  # minor's own
    assert table.time_limit("0505") == TimeLimit(1, "workdays")  # its major's
    assert table.time_limit("机动车乱停放", Urgency.NORMAL) == TimeLimit(1, "workdays")
    assert table.time_limit("0101", "紧急") == TimeLimit(4, "hours")  # the default
    assert table.time_limit(table.category_table()["0102"]) == TimeLimit(5, "workdays")
    with pytest.raises(DeadlineError, match=r"unknown urgency 'soon'.*normal.*urgent"):
        table.time_limit("0505", "soon")


def test_limits_from_csv_equal_yaml(tmp_path: Path) -> None:
    csv_path = write(
        tmp_path,
        "r.csv",
        "category,partners,grid,limit_normal,limit_urgent\n"
        "05,enforcement_team,yes,1 working day,4h\n"
        "0505,traffic_police,yes,,1小时\n"
        "01,sanitation,yes,,\n",
    )
    from_csv = read_routing(csv_path)
    from_yaml = read_routing(write(tmp_path, "r.yaml", YAML))
    assert from_csv.rules == from_yaml.rules
    assert from_csv.default_limits == DEFAULT_LIMITS  # a CSV file gives no defaults
    assert from_csv.time_limit("0101") == TimeLimit(3, "workdays")


def test_a_table_without_limits_uses_the_defaults() -> None:
    table = RoutingTable((RoutingRule("05", (PartnerType.POLICE,)),))
    assert table.time_limit("0505") == TimeLimit(3, "workdays")
    assert table.time_limit("0505", "urgent") == TimeLimit(4, "hours")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            'rules:\n  - {category: "05", partners: [police]}\n'
            '  - {category: "04", partners: [police], limits: {normal: 3 days}}\n',
            r"rule 2: category 04: limits: time limit '3 days' is not understood",
        ),
        (
            'rules:\n  - {category: "05", partners: [police], limits: {asap: 1h}}\n',
            r"rule 1: category 05: limits: unknown urgency 'asap'",
        ),
        (
            'rules:\n  - {category: "05", partners: [police], limits: 4h}\n',
            r"rule 1: category 05: limits must be a mapping",
        ),
        (
            'default_limits: {urgent: soon}\nrules:\n  - {category: "05", partners: [police]}\n',
            r"default_limits: limits: time limit 'soon' is not understood",
        ),
    ],
)
def test_bad_limits_in_yaml_name_the_rule(tmp_path: Path, text: str, message: str) -> None:
    path = write(tmp_path, "r.yaml", text)
    with pytest.raises(InputFileError, match=message) as info:
        read_routing(path)
    assert str(path) in str(info.value)


def test_bad_limits_in_csv_name_the_row(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "r.csv",
        "category,partners,grid,limit_normal,limit_urgent\n"
        "05,police,yes,2wd,4h\n"
        "0505,police,yes,两天,\n"
        "04,police,yes,,0h\n",
    )
    with pytest.raises(InputFileError) as info:
        read_routing(path)
    text = str(info.value)
    assert "2 problem(s)" in text
    assert "row 3: category 0505: limits: time limit '两天' is not understood" in text
    assert "row 4: category 04: limits: time limit '0h' is out of range" in text


def test_limits_survive_the_store(sqlite_url: str, tmp_path: Path) -> None:
    table = read_routing(write(tmp_path, "r.yaml", YAML))
    store = Store(sqlite_url)
    _, draft = import_routing(store, table, author="planner", commit=True)
    assert draft is not None
    with store.reading() as session:
        back = load_routing(session, draft.id)
    assert back.rules == table.rules
    assert back.default_limits == table.default_limits
    assert back.by_code()["0505"].limits == {"urgent": TimeLimit(1, "hours")}
    assert back.time_limit("0505") == TimeLimit(1, "workdays")
    assert back.time_limit("0101") == TimeLimit(5, "workdays")
