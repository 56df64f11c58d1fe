"""gridgeo.settings: GRIDGEO_ environment variables, and every setting documented."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import pytest

import gridgeo.settings as settings_module
from gridgeo.env_settings import EnvSettings
from gridgeo.errors import SettingsError
from gridgeo.i18n import Lang, use_lang
from gridgeo.settings import ApiSettings, NotifySettings, Settings, StoreSettings

DOC = Path(__file__).resolve().parents[1] / "docs" / "SETTINGS.md"


def refusal(make: Callable[[], object], lang: Lang) -> str:
    """The message of the SettingsError that ``make()`` raises, in ``lang``."""
    with use_lang(lang), pytest.raises(SettingsError) as refused:
        make()
    return str(refused.value)


def test_environment_overrides_defaults(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GRIDGEO_SEQUENCE_WIDTH", "2")
    monkeypatch.setenv("GRIDGEO_AREA_TOLERANCE_M2", "5")
    monkeypatch.setenv("GRIDGEO_LANG", "en")
    settings = Settings()
    assert settings.scheme.sequence_width == 2
    assert settings.validation.area_tolerance_m2 == 5.0
    assert settings.lang == "en"


def test_bad_values_are_refused_naming_the_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GRIDGEO_SEQUENCE_WIDTH", "9")
    # only the bad value: not pydantic's note on the parts whose defaults were not made
    assert [refusal(Settings, lang) for lang in ("en", "zh")] == [
        "environment variable GRIDGEO_SEQUENCE_WIDTH: Input should be less than or "
        "equal to 6 (got '9')",
        "环境变量 GRIDGEO_SEQUENCE_WIDTH：应小于或等于 6（收到的值：'9'）",
    ]


def test_every_bad_variable_is_named_at_once(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GRIDGEO_PORT", "http")
    monkeypatch.setenv("gridgeo_anonymous_role", "god")  # any case, as before
    said = refusal(ApiSettings, "en")
    assert "environment variable GRIDGEO_PORT: Input should be a valid integer" in said
    assert "(got 'http')" in said
    assert "environment variable GRIDGEO_ANONYMOUS_ROLE: Input should be 'none'" in said


def test_a_table_setting_is_json(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GRIDGEO_COSTLY_PER_MINUTE_BY_ROLE", '{"viewer": 5}')
    assert ApiSettings().costly_per_minute_by_role == {"viewer": 5}
    monkeypatch.setenv("GRIDGEO_COSTLY_PER_MINUTE_BY_ROLE", "{viewer: 5}")
    assert [refusal(ApiSettings, lang) for lang in ("en", "zh")] == [
        "environment variable GRIDGEO_COSTLY_PER_MINUTE_BY_ROLE: '{viewer: 5}' is not JSON "
        "(line 1, column 2)",
        "环境变量 GRIDGEO_COSTLY_PER_MINUTE_BY_ROLE：'{viewer: 5}' 不是有效的 JSON"
        "（第 1 行第 2 列）",
    ]
    monkeypatch.setenv("GRIDGEO_COSTLY_PER_MINUTE_BY_ROLE", '{"boss": 5}')
    said = refusal(ApiSettings, "en")
    # the validator's words, and the value as it was written (JSON, not Python's repr)
    assert said.startswith(
        "environment variable GRIDGEO_COSTLY_PER_MINUTE_BY_ROLE: 'boss' is not a role; roles: "
    )
    assert said.endswith("""(got '{"boss": 5}')""")
    monkeypatch.setenv("GRIDGEO_COSTLY_PER_MINUTE_BY_ROLE", "[1]")
    said = refusal(ApiSettings, "zh")
    assert "应为键值表（JSON 对象）（收到的值：'[1]'）" in said


def test_refused_variables_of_several_parts_are_named_together(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("GRIDGEO_SEQUENCE_WIDTH", "abc")  # Settings' own
    monkeypatch.setenv("GRIDGEO_PORT", "x")  # the API's part
    monkeypatch.setenv("GRIDGEO_STORE_WRITERS", "0")  # the store's part, made from home
    monkeypatch.setenv("GRIDGEO_COSTLY_PER_MINUTE_BY_ROLE", "{")
    said = refusal(Settings, "en")
    for name in ("SEQUENCE_WIDTH", "PORT", "STORE_WRITERS", "COSTLY_PER_MINUTE_BY_ROLE"):
        assert f"environment variable GRIDGEO_{name}: " in said
    assert said.count("environment variable") == 4


def test_a_value_given_in_code_wins_over_the_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("GRIDGEO_PORT", "http")  # not read at all: no error
    assert ApiSettings(port=9000).port == 9000
    with use_lang("en"), pytest.raises(SettingsError, match=r"setting 'port': .*\(got 'x'\)"):
        ApiSettings(port="x")


def settings_names(model: type[EnvSettings]) -> list[str]:
    """The names of ``model``'s settings, its parts' included (each reads GRIDGEO_NAME)."""
    names = []
    for name, info in model.model_fields.items():
        kind = info.annotation
        is_part = isinstance(kind, type) and issubclass(kind, EnvSettings)
        names += settings_names(kind) if is_part else [name]
    return names


def test_every_setting_is_documented() -> None:
    text = DOC.read_text(encoding="utf-8")
    names = settings_names(Settings)
    assert "webhooks" in names and "area_tolerance_m2" in names  # the parts' own
    missing = [n for n in names if f"`GRIDGEO_{n.upper()}`" not in text]
    assert missing == []


def test_each_concern_is_a_part_read_from_the_same_flat_names(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("GRIDGEO_WEBHOOKS", "https://ops.example.cn/hook")
    monkeypatch.setenv("GRIDGEO_EVENTS_POLL_S", "2")
    settings = Settings()
    assert settings.notify.webhooks == "https://ops.example.cn/hook"
    assert settings.notify.events_poll_s == 2.0
    given = Settings(notify=NotifySettings(webhook_batch=7))
    assert given.notify.webhook_batch == 7


def test_a_setting_given_outside_its_part_is_refused_naming_the_part() -> None:
    # not ignored in silence, as an unknown name of the environment is
    said = refusal(lambda: Settings(webhooks="https://ops.example.cn/hook"), "en")
    assert said == (
        "settings: webhooks: settings of NotifySettings, given as "
        "Settings(notify=NotifySettings(...))"
    )
    said = refusal(lambda: Settings(webhooks="https://ops.example.cn/hook"), "zh")
    assert "webhooks：属于 NotifySettings 的设置，应写作 Settings(notify=" in said


def test_index_files_live_beside_an_embedded_store_else_in_the_cache(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = tmp_path / "store" / "gridgeo.sqlite"
    embedded = StoreSettings(database_url=f"sqlite:///{store}")
    assert embedded.index_folder == store.parent / "index"
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    server = StoreSettings(database_url="postgresql+psycopg://root@127.0.0.1/gridgeo")
    assert server.index_folder == tmp_path / "cache" / "gridgeo" / "index"
    monkeypatch.setenv("GRIDGEO_INDEX_DIR", str(tmp_path / "idx"))
    assert Settings().store.index_folder == tmp_path / "idx"


@pytest.mark.parametrize(("value", "lang"), [("zh_CN.UTF-8", "zh"), ("en-US", "en"), ("EN", "en")])
def test_lang_takes_locale_forms(value: str, lang: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GRIDGEO_LANG", value)
    assert Settings().lang == lang


def test_an_unknown_lang_is_refused_naming_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GRIDGEO_LANG", "fr")
    with pytest.raises(SettingsError, match=r"GRIDGEO_LANG.*'fr'"):
        Settings()


@pytest.fixture
def no_gridgeo_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """Only the defaults (the tests' own store, conftest.py, is set in the environment)."""
    for name in [n for n in os.environ if n.startswith("GRIDGEO_")]:
        monkeypatch.delenv(name)


@pytest.mark.usefixtures("no_gridgeo_env")
def test_a_checkout_keeps_its_data_folder() -> None:
    data = Path(__file__).resolve().parents[1] / "data"
    settings = Settings()
    assert settings.home == data
    assert settings.store.database_url == f"sqlite:///{data / 'store' / 'gridgeo.sqlite'}"
    assert settings.boundaries == data / "sample" / "boundaries.gpkg"
    assert settings.maps.map_cases == data / "cases" / "sample_cases.csv"
    assert settings.maps.maps_dir == Path("maps")  # of the current folder, as make run has it


@pytest.mark.usefixtures("no_gridgeo_env")
def test_gridgeo_home_holds_the_store_index_and_maps(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GRIDGEO_HOME", str(tmp_path))
    settings = Settings()
    assert settings.store.database_url == f"sqlite:///{tmp_path / 'store' / 'gridgeo.sqlite'}"
    assert settings.store.index_folder == tmp_path / "store" / "index"
    assert settings.maps.maps_dir == tmp_path / "maps"
    assert settings.maps.map_cases == tmp_path / "cases" / "sample_cases.csv"
    assert not (tmp_path / "store").exists()  # computed, not created


@pytest.mark.usefixtures("no_gridgeo_env")
def test_an_installed_package_uses_the_user_data_folder_and_its_own_sample(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(settings_module, "source_checkout", lambda: None)
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "share"))
    settings = Settings()
    assert settings.home == tmp_path / "share" / "gridgeo"
    assert settings.store.database_url.endswith(f"{tmp_path}/share/gridgeo/store/gridgeo.sqlite")
    shipped = Path(settings_module.__file__).parent / "sample" / "data"
    assert settings.boundaries == shipped / "boundaries.gpkg"
    assert all(
        p.is_file() for p in (settings.boundaries, settings.staff, settings.workstations)
    )  # the package data the wheel carries (a link to data/sample in a checkout)


def test_the_core_reads_no_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """Given no settings, validation, repair and edits use the built-in thresholds: only
    the adapters (command line, service, ``gridgeo.load``) read ``GRIDGEO_*``."""
    import gridgeo
    from gridgeo.repair import repair
    from gridgeo.settings import ValidationSettings
    from gridgeo.validation import validate

    grids = gridgeo.load().grids

    def no_environment(*_: object, **__: object) -> None:
        raise AssertionError("the core read the environment")

    monkeypatch.setattr(ValidationSettings, "__init__", no_environment)
    assert validate(grids).ok
    assert repair(grids).grids is not None
