"""What the store returns is what was written: a polygon a backend cannot hold is
refused before commit with the feature named, never stored as NULL."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pytest
import shapely
from sqlalchemy import func, select

from gridgeo.errors import FeatureError
from gridgeo.model import GridSet
from gridgeo.store import schema as t
from gridgeo.store.core import Store
from gridgeo.store.versions import import_boundaries


def city(vertices: int) -> GridSet:
    """One city grid: a circle of ``vertices`` vertices around Guilin."""
    angles = np.linspace(0, 2 * np.pi, vertices, endpoint=False)
    ring = np.c_[110.3 + 0.1 * np.cos(angles), 25.28 + 0.1 * np.sin(angles)]
    frame = gpd.GeoDataFrame(
        {"code": ["450300"], "name": ["桂林市"], "level": [1], "parent_code": [None]},
        geometry=[shapely.Polygon(ring)],
        crs="EPSG:4490",
    )
    return GridSet.from_frame(frame)


def versions(store: Store) -> int:
    with store.reading() as session:
        return int(session.scalar(select(func.count()).select_from(t.Version)) or 0)


def stored_vertices(store: Store, grids: GridSet) -> int:
    """Import ``grids`` (one grid) and count its vertices as the store holds them."""
    result = import_boundaries(store, grids, author="planner", commit=True)
    assert result.version is not None
    with store.reading() as session:
        stored = session.scalar(
            select(func.ST_NPoints(t.Grid.geom)).where(t.Grid.version_id == result.version.id)
        )
    return int(stored)


def test_a_polygon_too_large_for_spatialite_is_refused_not_nulled(sqlite_url: str) -> None:
    store = Store(sqlite_url)
    before = versions(store)
    with pytest.raises(
        FeatureError,
        match=r"feature 450300: the store could not hold its geometry \(600,001 vertices "
        r"written, 0 stored",
    ):
        import_boundaries(store, city(600_000), author="planner", commit=True)
    assert versions(store) == before  # nothing committed
    assert stored_vertices(store, city(50_000)) == 50_001  # one it can hold goes in whole
    store.close()


def test_postgis_holds_the_same_polygon_vertex_for_vertex(postgis_url: str) -> None:
    store = Store(postgis_url)
    assert stored_vertices(store, city(600_000)) == 600_001
    store.close()
