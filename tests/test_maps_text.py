from __future__ import annotations

import re
from pathlib import Path

import pytest

from gridgeo.maps.text import RULES, TEXT, rule_name, scheme_name, t
from gridgeo.validation import validate


def test_every_string_has_both_languages_and_the_same_placeholders() -> None:
    for key, (zh, en) in TEXT.items():
        assert zh and en, key
        assert set(re.findall(r"{(\w+)}", zh)) == set(re.findall(r"{(\w+)}", en)), key
        assert re.search(r"[\u4e00-\u9fff]", zh) or key in ("area_m2",), f"{key} zh not Chinese"


def test_t_fills_placeholders_per_language() -> None:
    assert t("coverage_title", "zh", level="社区", n=4) == "覆盖图：社区（第4级）"
    assert t("coverage_title", "en", level="community", n=4) == "Coverage of level 4: community"
    with pytest.raises(KeyError):
        t("no such key", "zh")


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
    assert scheme_name("Quantiles", "zh") == "分位数"
