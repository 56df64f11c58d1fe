"""gridgeo.settings: GRIDGEO_ environment variables, and every setting documented."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from gridgeo.settings import Settings, ValidationSettings

DOC = Path(__file__).resolve().parents[1] / "docs" / "SETTINGS.md"


def test_environment_overrides_defaults(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GRIDGEO_SEQUENCE_WIDTH", "2")
    monkeypatch.setenv("GRIDGEO_AREA_TOLERANCE_M2", "5")
    monkeypatch.setenv("GRIDGEO_LANG", "en")
    settings = Settings()
    assert settings.scheme.sequence_width == 2
    assert settings.validation.area_tolerance_m2 == 5.0
    assert settings.lang == "en"


def test_bad_values_are_refused_with_the_field_named(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GRIDGEO_SEQUENCE_WIDTH", "9")
    with pytest.raises(ValidationError, match="sequence_width"):
        Settings()


def test_every_setting_is_documented() -> None:
    text = DOC.read_text(encoding="utf-8")
    names = [n for n in Settings.model_fields if n != "validation"]
    names += list(ValidationSettings.model_fields)
    missing = [n for n in names if f"`GRIDGEO_{n.upper()}`" not in text]
    assert missing == []


def test_index_files_live_beside_an_embedded_store_else_in_the_cache(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = tmp_path / "store" / "gridgeo.sqlite"
    assert Settings(database_url=f"sqlite:///{store}").index_folder == store.parent / "index"
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    server = Settings(database_url="postgresql+psycopg://root@127.0.0.1/gridgeo")
    assert server.index_folder == tmp_path / "cache" / "gridgeo" / "index"
    monkeypatch.setenv("GRIDGEO_INDEX_DIR", str(tmp_path / "idx"))
    assert Settings().index_folder == tmp_path / "idx"


@pytest.mark.parametrize(("value", "lang"), [("zh_CN.UTF-8", "zh"), ("en-US", "en"), ("EN", "en")])
def test_lang_takes_locale_forms(value: str, lang: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GRIDGEO_LANG", value)
    assert Settings().lang == lang


def test_an_unknown_lang_is_refused_naming_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GRIDGEO_LANG", "fr")
    with pytest.raises(ValidationError, match="'fr'"):
        Settings()
