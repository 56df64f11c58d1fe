"""PostGIS ST_Covers on subdivided, GiST-indexed grids as an independent oracle.

The in-memory engines (Locator, GridIndex) must give the same leaf for every
point: random points, points exactly on shared edges and on vertices (where
the tie rule decides), on the sample pilot data and on a 2,000-grid tessellation.
"""

from __future__ import annotations

import numpy as np
import pytest
import shapely

from gridgeo.index import GridIndex
from gridgeo.io.dataset import load
from gridgeo.lookup import Locator
from gridgeo.model import GridSet
from gridgeo.sample.tessellation import nested_tessellation
from gridgeo.store import oracle
from gridgeo.store.core import Store
from gridgeo.store.engine import StoreError
from gridgeo.store.versions import import_boundaries


def stored(url: str, grids: GridSet) -> tuple[Store, int]:
    store = Store(url)
    result = import_boundaries(store, grids, author="oracle", workstations=[], commit=True)
    assert result.version is not None
    return store, result.version.id


def probe_points(grids: GridSet, n_random: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Random points in the bounds, every vertex of the leaves, and edge midpoints."""
    rng = np.random.default_rng(seed)
    x0, y0, x1, y1 = grids.frame.total_bounds
    pad = 0.01 * (x1 - x0)
    xs = [rng.uniform(x0 - pad, x1 + pad, n_random)]
    ys = [rng.uniform(y0 - pad, y1 + pad, n_random)]
    leaves = grids.geometries[np.asarray(grids.levels) == 5]
    rings = shapely.get_exterior_ring(shapely.get_parts(leaves))
    vertices = shapely.get_coordinates(rings)
    xs.append(vertices[:, 0])
    ys.append(vertices[:, 1])
    mids = (vertices[:-1] + vertices[1:]) / 2  # mostly on shared edges
    xs.append(mids[:, 0])
    ys.append(mids[:, 1])
    return np.concatenate(xs), np.concatenate(ys)


@pytest.mark.parametrize("which", ["sample", "tessellation"])
def test_postgis_agrees_with_the_in_memory_engines(postgis_url: str, which: str) -> None:
    grids = load().grids if which == "sample" else nested_tessellation(1000, seed=3)
    store, version = stored(postgis_url, grids)
    assert oracle.ensure_parts(store, version) >= len(grids)
    xs, ys = probe_points(grids, 10_000, seed=11)
    truth = oracle.locate(store, version, xs, ys)
    index = GridIndex(grids)
    fast = list(index.codes(index.assign(xs, ys, crs="cgcs2000")))
    disagree = [(x, y, a, b) for x, y, a, b in zip(xs, ys, truth, fast, strict=True) if a != b]
    assert disagree == []
    assert sum(c is not None for c in truth) > len(xs) // 2  # the probe mostly hits grids


def test_lookup_core_agrees_on_edges_and_vertices(postgis_url: str) -> None:
    grids = load().grids
    store, version = stored(postgis_url, grids)
    xs, ys = probe_points(grids, 500, seed=5)
    truth = oracle.locate(store, version, xs, ys)
    locator = Locator(grids, [], nearest_tolerance_m=0)
    core = [locator.lookup(x, y, "cgcs2000").leaf for x, y in zip(xs, ys, strict=True)]
    got = [g.code if g else None for g in core]
    assert got == truth


def test_oracle_needs_postgis(sqlite_url: str) -> None:
    store = Store(sqlite_url)
    with pytest.raises(StoreError, match="needs PostGIS"):
        oracle.ensure_parts(store, 1)
