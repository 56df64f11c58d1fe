"""``import gridgeo`` loads none of the heavy stack; its public names load on first use."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

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
    assert after == ["geopandas", "shapely"]  # the first use loads what it needs
    assert grids_home == "gridgeo.model" and load_home == "gridgeo.io.dataset"
    assert listed


def test_unknown_attribute_is_an_attribute_error() -> None:
    import gridgeo

    with pytest.raises(AttributeError, match="no attribute 'no_such_name'"):
        getattr(gridgeo, "no_such_name")  # noqa: B009
