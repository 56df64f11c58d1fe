"""``import gridgeo`` loads none of the heavy stack; its public names load on first use."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from gridgeo.cli.commands import COMMANDS
from gridgeo.i18n import LANGS, use_lang

HEAVY = ("geopandas", "shapely", "sqlalchemy", "pandas", "numpy", "pyproj", "pyogrio", "fastapi")


def test_import_gridgeo_is_light_and_names_load_on_use() -> None:
    script = (
        "import sys, json, gridgeo\n"
        f"before = [m for m in {HEAVY!r} if m in sys.modules]\n"
        "from gridgeo import GridSet, load\n"
        "after = [m for m in ('geopandas', 'shapely') if m in sys.modules]\n"
        "print(json.dumps([before, after, GridSet.__module__, load.__module__, "
        "sorted(gridgeo.__all__) == sorted(set(gridgeo.__all__) & set(dir(gridgeo)))]))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True
    ).stdout
    before, after, grids_home, load_home, listed = json.loads(out)
    assert before == []  # nothing heavy at import
    # the first use loads what it needs: the geometries; the file readers (geopandas,
    # pyogrio) wait for the first file read or written
    assert after == ["shapely"]
    assert grids_home == "gridgeo.model" and load_home == "gridgeo.io.dataset"
    assert listed


@pytest.mark.parametrize("module", ["gridgeo.model", "gridgeo.dataset", "gridgeo.lookup"])
def test_the_core_does_not_pull_the_file_stack(module: str) -> None:
    """The core's objects (the dataset among them) load without the file readers: no
    ``gridgeo.io``, no pyogrio, no yaml, no database or web framework (``-X importtime``
    lists every module a fresh interpreter imported)."""
    run = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", f"import {module}"],
        capture_output=True,
        text=True,
        check=True,
    )
    imported = {line.rsplit("|", 1)[-1].strip() for line in run.stderr.splitlines()}
    assert module in imported  # the measurement saw the import itself
    file_stack = {"gridgeo.io", "pyogrio", "yaml", "sqlalchemy", "fastapi"}
    assert sorted(imported & file_stack) == []


def test_unknown_attribute_is_an_attribute_error() -> None:
    import gridgeo

    with pytest.raises(AttributeError, match="no attribute 'no_such_name'"):
        getattr(gridgeo, "no_such_name")  # noqa: B009


def test_cli_help_imports_nothing_heavy_and_lists_every_command() -> None:
    script = (
        "import sys, json, contextlib, io\n"
        "from gridgeo.cli.main import main\n"
        "out = io.StringIO()\n"
        "with contextlib.redirect_stdout(out):\n"
        "    try:\n"
        "        main(['--help', '--lang', sys.argv[1]])\n"
        "    except SystemExit as exc:\n"
        "        code = exc.code\n"
        f"heavy = [m for m in {HEAVY!r} if m in sys.modules]\n"
        "print(json.dumps([code, heavy, out.getvalue()]))\n"
    )
    for lang in LANGS:
        out = subprocess.run(
            [sys.executable, "-c", script, lang], capture_output=True, text=True, check=True
        ).stdout
        code, heavy, text = json.loads(out)
        assert code == 0 and heavy == []  # the command list costs no geopandas, no SQLAlchemy
        with use_lang(lang):
            for name, entry in COMMANDS.items():
                assert f"    {name}" in text and entry.help[:30] in text, (lang, name)


@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_each_command_parses_its_own_help(
    name: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """``gridgeo CMD --help`` registers CMD from its module (the table names the right one),
    in Chinese by default and in English on request."""
    from gridgeo.cli.commands import help_of
    from gridgeo.cli.main import main

    monkeypatch.delenv("GRIDGEO_LANG", raising=False)
    for argv, usage in (
        ([name, "--help"], "用法："),
        ([name, "--help", "--lang", "en"], "usage: "),
    ):
        with pytest.raises(SystemExit) as done:
            main(argv)
        assert done.value.code == 0
        text = capsys.readouterr().out
        assert text.startswith(f"{usage}gridgeo {name}")
    assert help_of(name)  # every command has its line in the table
