"""What `make setup` promises about the environment the suite runs in."""

from __future__ import annotations

import shutil
import sqlite3
import sys


def test_python_is_new_enough() -> None:
    assert sys.version_info >= (3, 11)


def test_sqlite_loads_spatialite() -> None:
    """The embedded store needs SQLite extension loading and the SpatiaLite module."""
    conn = sqlite3.connect(":memory:")
    conn.enable_load_extension(True)
    conn.load_extension("mod_spatialite")
    version = conn.execute("SELECT spatialite_version()").fetchone()[0]
    assert int(version.split(".")[0]) >= 4
    conn.execute("SELECT InitSpatialMetadata(1)")
    area = conn.execute(
        "SELECT ST_Area(GeomFromText('POLYGON((0 0, 2 0, 2 1, 0 1, 0 0))', 4490))"
    ).fetchone()[0]
    assert area == 2.0


def test_gdal_client_is_installed() -> None:
    assert shutil.which("ogrinfo") is not None
