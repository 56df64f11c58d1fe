"""Every docstring example in the package runs and answers as written (numpy style
``Examples`` sections are the documentation a user copies first).

Each module is its own test, so a failure names the module and the example. The
examples run in English, as the core's other tests do (conftest), except where an
example sets a language itself.
"""

from __future__ import annotations

import doctest
import importlib
import pkgutil

import pytest

import gridgeo

# alembic's environment script runs only inside alembic (it reads alembic.context.config)
NOT_IMPORTABLE_ALONE = {"gridgeo.store.migrations.env"}

MODULES = sorted(
    info.name
    for info in pkgutil.walk_packages(gridgeo.__path__, "gridgeo.")
    if not info.name.endswith("__main__") and info.name not in NOT_IMPORTABLE_ALONE
)

# the core's front: the objects a newcomer meets first must show how they are used
MUST_HAVE_EXAMPLES = (
    "gridgeo.caseflow",
    "gridgeo.codes",
    "gridgeo.coords",
    "gridgeo.crs",
    "gridgeo.dataset",
    "gridgeo.deadlines",
    "gridgeo.assessment",
    "gridgeo.geometry",
    "gridgeo.levels",
    "gridgeo.model",
    "gridgeo.workstation",
)

FLAGS = doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE


def run_examples(name: str) -> doctest.TestResults:
    module = importlib.import_module(name)
    return doctest.testmod(module, optionflags=FLAGS, report=False)


@pytest.mark.parametrize("name", MODULES)
def test_examples_run(name: str, capsys: pytest.CaptureFixture[str]) -> None:
    result = run_examples(name)
    out = capsys.readouterr().out  # doctest prints each failure with its example
    assert result.failed == 0, out


@pytest.mark.parametrize("name", MUST_HAVE_EXAMPLES)
def test_front_modules_show_examples(name: str) -> None:
    assert name in MODULES
    assert run_examples(name).attempted > 0


def test_the_walk_sees_the_package() -> None:
    # a broken walk (an import error swallowed, a renamed package) would pass vacuously
    assert {"gridgeo.dataset", "gridgeo.api.app", "gridgeo.cli.main"} <= set(MODULES)
    assert len(MODULES) > 100
