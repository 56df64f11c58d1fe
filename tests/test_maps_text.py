"""The (zh, en) text tables of the maps, the viewer and the editor, read as an editor would."""

from __future__ import annotations

import re
import string
from pathlib import Path

import pytest

from gridgeo.levels import Level
from gridgeo.maps import assessment_map, editor, heat, text, viewer
from gridgeo.maps.text import (
    RULES,
    TEXT,
    level_text,
    listing,
    rule_name,
    scheme_name,
    t,
)
from gridgeo.validation import validate

TABLES: dict[str, dict[str, tuple[str, str]]] = {
    "text.TEXT": text.TEXT,
    "text.RULES": text.RULES,
    "text.SEVERITIES": text.SEVERITIES,
    "text.SCHEMES": text.SCHEMES,
    "text.EMPLOYMENTS": text.EMPLOYMENTS,
    "heat.TEXT": heat.TEXT,
    "assessment_map.TEXT": assessment_map.TEXT,
    "viewer.CASE_TEXT": viewer.CASE_TEXT,
    "viewer.ASSESS_TEXT": viewer.ASSESS_TEXT,
    "editor.EDITOR_TEXT": editor.EDITOR_TEXT,
    "editor.CHANGE_KINDS": editor.CHANGE_KINDS,
}
ENTRIES = [
    (f"{name}[{key!r}]", zh, en)
    for name, table in TABLES.items()
    for key, (zh, en) in table.items()
]

CJK = r"\u4e00-\u9fff"
# ASCII punctuation beside a Chinese character (as tests/test_i18n.py checks the catalog)
HALF_WIDTH = re.compile(rf"[{CJK}][,;:?!()]|[,;:?!(][{CJK}]")
# a digit or Latin letter glued to a Chinese character (a space goes between them)
GLUED = re.compile(rf"[{CJK}][A-Za-z0-9]|[A-Za-z0-9][{CJK}]")
FULL_WIDTH = re.compile(r"[，。：；？！（）、“”【】]")
# fields that hold a count: a measure word follows them in Chinese
COUNTS = {
    "n", "total", "shown", "outside", "registered", "due", "overdue", "grids", "stations",
    "features", "errors", "warnings", "added", "removed", "reshaped", "renamed", "hours",
}  # fmt: skip
MEASURE = ("个", "件", "名", "处", "小时", "米")
# words the plan does not use (issue 18): partner units are 联动单位, cadres 兼职干部
BANNED = ("合作单位", "兼任", "逾期", "配员达标", "无人负责")


def _fields(s: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(s) if name}


@pytest.mark.parametrize(("where", "zh", "en"), ENTRIES, ids=[e[0] for e in ENTRIES])
def test_chinese_reads_as_chinese_and_english_as_english(where: str, zh: str, en: str) -> None:
    assert zh and en
    assert _fields(zh) == _fields(en), "the same fields in both languages"
    assert not HALF_WIDTH.search(zh), f"half-width punctuation in Chinese: {zh!r}"
    assert not GLUED.search(zh), f"a space between Chinese and a number or Latin word: {zh!r}"
    assert not any(w in zh for w in BANNED), zh
    assert not re.search(f"[{CJK}]", en) and not FULL_WIDTH.search(en), f"English: {en!r}"
    counted = set() if "'did_" in where else _fields(zh) & COUNTS  # did_*: codes, not counts
    for field in counted:
        after = zh.split(f"{{{field}}}", 1)[1]
        assert after.startswith(tuple(f" {m}" for m in MEASURE)), (
            f"{{{field}}} needs a measure word: {zh!r}"
        )


def test_every_string_is_chinese_where_it_should_be() -> None:
    for key, (zh, _) in TEXT.items():
        assert re.search(f"[{CJK}]", zh), f"{key} zh not Chinese"


def test_t_fills_placeholders_per_language() -> None:
    level = level_text(Level.COMMUNITY, "zh")
    assert t("coverage_title", "zh", level=level) == "覆盖图：四级网格（社区）"
    assert t("coverage_title", "en", level=level_text(Level.COMMUNITY, "en")) == (
        "Coverage of level 4: community"
    )
    with pytest.raises(KeyError):
        t("no such key", "zh")


def test_levels_read_with_their_ordinal() -> None:
    assert [level_text(lv, "zh") for lv in Level] == [
        "一级网格（市）",
        "二级网格（区）",
        "三级网格（街道）",
        "四级网格（社区）",
        "五级网格",
    ]
    assert level_text(Level.GRID, "en") == "level 5: grid"
    assert listing(["文明社区", "五美社区"], "zh") == "文明社区、五美社区"
    assert listing(["a", "b"], "en") == "a, b"


def test_the_plans_terms() -> None:
    assert t("partners", "zh") == "联动单位"
    assert text.EMPLOYMENTS["cadre"][0] == "兼职干部"
    assert (
        text.EMPLOYMENTS["sworn"][0] == "在编队员" and text.EMPLOYMENTS["auxiliary"][0] == "协管员"
    )
    assert [t(k, "zh") for k in ("staff_ok", "staff_off", "staff_none")] == [
        "人员配齐",
        "配备不符规定",
        "未配人员",
    ]
    assert rule_name("sliver", "zh") == "细碎多边形" and rule_name("gap", "zh") == "缝隙"
    assert viewer.CASE_TEXT["overdue"][0] == "超期"
    assert viewer.CASE_TEXT["deadline"][0] == "处置时限"


def test_every_validation_rule_has_a_name(nested) -> None:  # type: ignore[no-untyped-def]
    import gridgeo.validation.code_rules as c
    import gridgeo.validation.geometry_rules as g
    import gridgeo.validation.hierarchy_rules as h

    source = "".join(Path(str(m.__file__)).read_text(encoding="utf-8") for m in (c, g, h))
    emitted = set(re.findall(r'Finding\(\s*"([a-z_]+)"', source))
    assert emitted, "rule ids found in the validation modules"
    assert emitted <= set(RULES), emitted - set(RULES)
    assert rule_name("overlap", "zh") == "重叠"
    assert rule_name("overlap", "en") == "overlap"
    assert rule_name("future_rule", "zh") == "future_rule"
    assert validate(nested).ok  # the names are for findings of the real validator


def test_scheme_names() -> None:
    assert scheme_name("FisherJenks", "en") == "Fisher-Jenks"
    assert scheme_name("FisherJenks", "zh") == "Fisher-Jenks 分级"
    assert scheme_name("Quantiles", "zh") == "分位数分级"


def test_the_heat_and_assessment_text_is_not_named_tr() -> None:
    """``tr`` is gridgeo.i18n's message function, whose calls the catalog test extracts."""
    assert heat.say("title", "zh") == "案件热力图"
    assert assessment_map.say("no_due", "zh") == "无应结案件"
    assert not hasattr(assessment_map, "tr") or assessment_map.tr.__module__ == "gridgeo.i18n"
