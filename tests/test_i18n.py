"""The Chinese catalog against the source, and the language switch of CLI and core.

Every ``tr(...)`` template has a Chinese text with the same fields, the compiled
``.mo`` files match their ``.po``, argparse's own messages are covered, and the
Chinese texts use full-width punctuation.
"""

from __future__ import annotations

import argparse
import re
import shutil
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

import pytest
from babel.messages.extract import extract
from babel.messages.mofile import read_mo
from babel.messages.pofile import read_po
from i18n_catalog import ARGPARSE_PO, PACKAGE, ZH, fields, parts, uses

from gridgeo.cli.main import main, split_lang
from gridgeo.i18n import current_lang, parse_lang, tr, use_lang

# ASCII punctuation next to a Chinese character: the Chinese text wants the full-width
# form (，；：？！（）). A field or a code beside it ("{path}: ...") is not Chinese.
HALF_WIDTH_IN_CHINESE = re.compile(r"[\u4e00-\u9fff][,;:?!()]|[,;:?!(][\u4e00-\u9fff]")


def test_every_template_is_a_literal() -> None:
    bad = [f"{u.path.relative_to(PACKAGE)}:{u.line}" for u in uses() if u.template is None]
    assert not bad, f"tr() needs a literal template (the extractor reads it): {bad}"


def test_every_template_has_a_chinese_text_with_the_same_fields() -> None:
    texts = {m.id: m.string for cat in parts().values() for m in cat if m.id}
    untranslated, wrong_fields = [], []
    for use in uses():
        if use.template is None:
            continue
        where = f"{use.path.relative_to(PACKAGE)}:{use.line}"
        text = texts.get(use.template)
        if not text:
            untranslated.append(f"{where}: {use.template!r}")
        elif fields(text) != fields(use.template):
            wrong_fields.append(f"{where}: {use.template!r} -> {text!r}")
    assert not untranslated, "no Chinese text (tests/i18n_catalog.py lists them as .po):\n" + (
        "\n".join(untranslated)
    )
    assert not wrong_fields, "fields differ:\n" + "\n".join(wrong_fields)


def test_every_call_passes_exactly_the_fields_of_its_template() -> None:
    # a missing field is a KeyError when the message is written, in front of the user
    bad = [
        f"{u.path.relative_to(PACKAGE)}:{u.line}: {sorted(u.keywords)} for {u.template!r}"
        for u in uses()
        if u.template is not None and u.keywords is not None and u.keywords != fields(u.template)
    ]
    assert not bad, "fields passed differ from the template's:\n" + "\n".join(bad)


def test_the_catalog_holds_no_stale_or_doubled_or_fuzzy_entry() -> None:
    used = {u.template for u in uses()}
    owner: dict[str, Path] = {}
    stale, doubled, fuzzy = [], [], []
    for po, cat in parts().items():
        for m in cat:
            if not m.id:
                continue
            if m.id not in used:
                stale.append(f"{po.name}: {m.id!r}")
            if m.id in owner:
                doubled.append(f"{owner[m.id].name} and {po.name}: {m.id!r}")
            if m.fuzzy:
                fuzzy.append(f"{po.name}: {m.id!r}")
            owner[m.id] = po
    assert not stale, "no longer in the source:\n" + "\n".join(stale)
    assert not doubled, "in two parts:\n" + "\n".join(doubled)
    assert not fuzzy, "fuzzy (not compiled):\n" + "\n".join(fuzzy)


def test_chinese_texts_use_full_width_punctuation() -> None:
    bad = [
        f"{po.name}: {m.string!r}"
        for po, cat in [*parts().items(), (ARGPARSE_PO, _read(ARGPARSE_PO))]
        for m in cat
        if m.id and isinstance(m.string, str) and HALF_WIDTH_IN_CHINESE.search(m.string)
    ]
    assert not bad, "half-width punctuation in Chinese text:\n" + "\n".join(bad)


def test_every_mo_is_compiled_from_its_po() -> None:
    for po in sorted(ZH.glob("*.po")):
        mo = po.with_suffix(".mo")
        assert mo.exists(), f"{mo} missing: run make messages"
        with mo.open("rb") as fh:
            compiled = {_singular(m.id): _texts(m.string) for m in read_mo(fh) if m.id}
        written = {_singular(m.id): _texts(m.string) for m in _read(po) if m.id and m.string}
        assert compiled == written, f"{mo.name} is stale: run make messages"


def test_argparse_messages_are_all_translated() -> None:
    with open(argparse.__file__, "rb") as fh:
        found = extract("python", fh, keywords={"_": None, "ngettext": (1, 2)})
        wanted = {_singular(message) for _, message, _, _ in found}
    texts = {_singular(m.id): m.string for m in _read(ARGPARSE_PO) if m.id}
    missing = sorted(w for w in wanted if not texts.get(w))
    assert not missing, f"argparse messages without Chinese text: {missing}"
    for msgid, text in texts.items():
        placeholders = sorted(re.findall(r"%(?:\(\w+\))?[rsd]", msgid))
        assert sorted(re.findall(r"%(?:\(\w+\))?[rsd]", _singular(text))) == placeholders, msgid


def _texts(string: str | Sequence[str]) -> tuple[str, ...]:
    return (string,) if isinstance(string, str) else tuple(string)


def _singular(message: str | tuple[str, ...]) -> str:
    return message if isinstance(message, str) else message[0]


def _read(po: Path):  # type: ignore[no-untyped-def]
    with po.open("rb") as fh:
        return read_po(fh)


# --- the switch ---------------------------------------------------------------------


def test_tr_writes_the_current_language_and_fills_fields() -> None:
    with use_lang("zh"):
        assert tr("gridgeo {command}: interrupted", command="assign") == "gridgeo assign：已中断"
        assert current_lang() == "zh"
    with use_lang("en"):
        assert tr("gridgeo {command}: interrupted", command="assign") == (
            "gridgeo assign: interrupted"
        )


def test_a_template_outside_the_catalog_stays_english() -> None:
    with use_lang("zh"):
        assert tr("not in any catalog {x}", x=1) == "not in any catalog 1"


@pytest.mark.parametrize(
    ("value", "lang"), [("zh", "zh"), ("zh_CN.UTF-8", "zh"), ("zh-Hans", "zh"), ("EN-us", "en")]
)
def test_parse_lang_accepts_locale_names(value: str, lang: str) -> None:
    assert parse_lang(value) == lang


def test_parse_lang_refuses_other_languages_naming_the_value() -> None:
    with pytest.raises(ValueError, match="'fr'"):
        parse_lang("fr")


def test_split_lang_takes_the_option_anywhere_and_the_last_one_wins() -> None:
    assert split_lang(["--lang", "en", "cases", "list"], None) == ("en", ["cases", "list"])
    assert split_lang(["cases", "list", "--lang=en"], "zh") == ("en", ["cases", "list"])
    assert split_lang(["versions"], "en") == ("en", ["versions"])
    assert split_lang(["versions"], None) == ("zh", ["versions"])


def test_cli_errors_are_chinese_by_default_and_english_on_request(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.delenv("GRIDGEO_LANG", raising=False)
    assert main(["validate", str(tmp_path / "nosuch.gpkg")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("gridgeo validate：错误：")
    assert main(["validate", str(tmp_path / "nosuch.gpkg"), "--lang", "en"]) == 2
    assert capsys.readouterr().err.startswith("gridgeo validate: error: ")
    monkeypatch.setenv("GRIDGEO_LANG", "en")
    assert main(["validate", str(tmp_path / "nosuch.gpkg")]) == 2
    assert capsys.readouterr().err.startswith("gridgeo validate: error: ")


def test_an_unknown_language_is_refused_with_exit_2(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GRIDGEO_LANG", "fr")
    assert main(["versions"]) == 2
    assert "'fr'" in capsys.readouterr().err


def test_cli_help_is_chinese_in_a_real_process() -> None:
    exe = shutil.which("gridgeo", path=str(Path(sys.executable).parent))
    assert exe
    env = {"PATH": str(Path(sys.executable).parent), "HOME": str(Path.home())}
    zh = subprocess.run([exe, "--help"], capture_output=True, text=True, env=env, check=True)
    assert zh.stdout.startswith("用法：gridgeo")
    assert "显示本帮助并退出" in zh.stdout
    en = subprocess.run(
        [exe, "--help"],
        capture_output=True,
        text=True,
        env={**env, "GRIDGEO_LANG": "en"},
        check=True,
    )
    assert en.stdout.startswith("usage: gridgeo")
    bad = subprocess.run([exe, "validate"], check=False, capture_output=True, text=True, env=env)
    assert bad.returncode == 2
    assert "缺少必需的参数：FILE" in bad.stderr
