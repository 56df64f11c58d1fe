"""GDAL before SpatiaLite (gridgeo.io.gdal_library), each case in a fresh interpreter.

A SQLite store's connections load mod_spatialite with RTLD_GLOBAL; GDAL set up after
that crashes the process when it reads and writes files. The store's engine sets GDAL
up first without importing the rest of pyogrio (and its pandas); the control case shows
the crash the order prevents.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "data" / "sample" / "boundaries.gpkg"

SCRIPT = textwrap.dedent(
    """
    import sys
    if sys.argv[1] == "without":  # the control: the engine does not set GDAL up first
        import gridgeo.store.engine
        gridgeo.store.engine.load_gdal_first = lambda: None
    from gridgeo.store.core import Store

    Store(f"sqlite:///{sys.argv[2]}/store.sqlite").ping()  # SpatiaLite is loaded
    print("pandas" in sys.modules, "pyogrio.geopandas" in sys.modules)
    from gridgeo.io.boundaries import read_boundaries
    from gridgeo.io.writers import write_grids

    for _ in range(3):
        grids = read_boundaries([sys.argv[3]])
    write_grids(grids, f"{sys.argv[2]}/out.gpkg")
    print(len(grids), len(read_boundaries([f"{sys.argv[2]}/out.gpkg"])))
    """
)


def _run(mode: str, tmp_path: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", SCRIPT, mode, str(tmp_path), str(SAMPLE)],
        capture_output=True,
        text=True,
        check=False,  # the control's crash is the answer
        cwd=ROOT,
        timeout=300,
    )


def test_a_sqlite_store_then_files_read_and_written_without_a_crash(tmp_path: Path) -> None:
    run = _run("with", tmp_path)
    assert run.returncode == 0, run.stderr[-2000:]
    lines = run.stdout.split()
    # opening the store set GDAL up without pyogrio's pandas side
    assert lines[:2] == ["False", "False"]
    assert lines[2] == lines[3] == "79"


def test_the_control_gdal_after_spatialite_crashes(tmp_path: Path) -> None:
    """What the order prevents: the same reads and writes with GDAL set up after
    SpatiaLite end in a segfault or an abort (glibc's double free)."""
    run = _run("without", tmp_path)
    assert run.returncode < 0, (run.returncode, run.stdout, run.stderr[-1000:])


def test_the_lazy_package_becomes_the_whole_pyogrio_on_first_use() -> None:
    script = textwrap.dedent(
        """
        import sys
        from gridgeo.io.gdal_library import load_gdal_first
        load_gdal_first()
        load_gdal_first()  # once is enough; again is harmless
        assert "pyogrio.core" in sys.modules and "pandas" not in sys.modules
        import pyogrio
        import pyogrio.raw
        assert pyogrio.core is sys.modules["pyogrio.core"]
        assert callable(pyogrio.read_dataframe) and pyogrio.__gdal_version__ >= (3, 0, 0)
        print(pyogrio.read_info(sys.argv[1], layer="level5_grid")["features"])
        """
    )
    run = subprocess.run(
        [sys.executable, "-c", script, str(SAMPLE)], capture_output=True, text=True, check=True
    )
    assert run.stdout.strip() == "48"
