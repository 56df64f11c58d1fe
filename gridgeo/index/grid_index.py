"""GridIndex: exact, vectorized assignment of points to the deepest grid covering them.

The answer is the lookup core's: among the grids that cover a point, the
deepest level, then the smallest code. That is the leaf grid, except where a
grid's children leave part of it uncovered (a gap, a sliver, or two edges that
almost coincide); there the grid itself answers. The lattice below holds the
leaves only; each cell also remembers the level of the deepest grid *with
children* that meets it, and a point whose leaf is not deeper than that (or
that no leaf holds) goes to GEOS, which knows every grid. In a tidy hierarchy
(five levels, leaves deepest) that never happens outside the gaps themselves.

How it works
------------
The grids' bounding box is cut into a regular lattice of cells (about
``cells_per_leaf`` per leaf). Every polygon edge is rasterised, conservatively,
into the cells it touches; those are *boundary cells* and remember the grids
whose edges touch them. The other cells are *clean*: no edge passes through
them, so each lies wholly inside some grids (or none). Every grid is then
scan-filled along the lattice rows (numba): a clean cell takes the best-ranked
leaf holding it as its owner, and a boundary cell records the best leaf
holding it whole as its *background*, the answer for a point that none of
the cell's candidates holds. The grids with children are rasterised and
scan-filled the same way into the per-cell level ``deep``.

A query maps each point to its cell: a clean cell answers with no geometry
test at all; a boundary cell runs an exact crossing-number test (numba)
against its candidate grids only, deepest first. Any test whose sign floating-point error
could flip, and every point exactly on an edge or vertex, is re-run with GEOS
``covers`` and the smallest-code tie rule (:class:`gridgeo.lookup.Locator`).
So results are identical to the lookup core for every point.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import shapely

from gridgeo import compiled
from gridgeo.coords import to_cgcs2000
from gridgeo.errors import GridgeoError
from gridgeo.geometry import make_valid_polygonal
from gridgeo.i18n import tr
from gridgeo.index import plain_query
from gridgeo.levels import Level
from gridgeo.lookup import Locator, owner_rank
from gridgeo.model import UNKNOWN_LEVEL, GridSet

DEFAULT_CELLS_PER_LEAF = 256
MAX_CELLS = 1 << 26  # 64 M cells (256 MB of int32) at most
MARGIN_CELLS = 1e-6  # rasterise edges this fraction of a cell wider: rounding safety
# Parents' levels are kept per block of DEEP_BLOCK x DEEP_BLOCK cells: a 16th of the work
# and memory, at the price of sending to GEOS the points of a whole block where a parent
# matters, which outside the gaps is only where leaves are not deeper than parents.
DEEP_BLOCK = 4
# A pilot district drawn down to fifth-level grids in a city otherwise drawn by district
# gets few cells from the count of leaves: the median leaf gets at least this many cells,
# within MAX_SMALL_LEAF_CELLS (16 MB of cells). 64, not 16: a lattice row four times
# thinner meets a quarter of a detailed boundary's edges, and the service's one-point
# query (plain Python, gridgeo.index.plain_query) tests them one by one: 8.0 -> 3.5 us
# a point in the pilot's communities, 2.6 M cells (10 MB) instead of 0.65 M.
SMALL_LEAF_CELLS = 64
MAX_SMALL_LEAF_CELLS = 1 << 22


@dataclass(frozen=True)
class _Lattice:
    x0: float
    y0: float
    dx: float
    dy: float
    nx: int
    ny: int

    def coarsened(self, factor: int) -> _Lattice:
        """The lattice of blocks of ``factor`` x ``factor`` cells, from the same corner."""
        return _Lattice(
            self.x0,
            self.y0,
            self.dx * factor,
            self.dy * factor,
            -(-self.nx // factor),
            -(-self.ny // factor),
        )

    @classmethod
    def covering(cls, bounds: npt.NDArray[np.float64], target_cells: int) -> _Lattice:
        xmin, ymin, xmax, ymax = (float(v) for v in bounds)
        width, height = max(xmax - xmin, 1e-9), max(ymax - ymin, 1e-9)
        side = float(np.sqrt(width * height / max(target_cells, 1)))
        nx = max(1, int(np.ceil(width / side)))
        ny = max(1, int(np.ceil(height / side)))
        # a hair of slack so the max edge falls inside the last cell
        dx, dy = width / nx * (1 + 1e-9), height / ny * (1 + 1e-9)
        return cls(xmin, ymin, dx, dy, nx, ny)

    @property
    def size(self) -> int:
        return self.nx * self.ny

    def as_array(self) -> npt.NDArray[np.float64]:
        """(x0, y0, dx, dy, nx, ny), the form the kernels take."""
        return np.array([self.x0, self.y0, self.dx, self.dy, self.nx, self.ny], dtype=np.float64)


class GridIndex:
    """Exact point-to-grid assignment, built once per boundary version.

    Parameters
    ----------
    grids
        The boundaries. Leaves are the usable features without children in
        the set (the fifth-level grids when all five levels are given).
    cells_per_leaf
        Lattice density: more cells make more points answer from a clean
        cell, at the cost of memory (about 13 bytes a cell). Where the leaves are
        of very unequal size (one district drawn down to fifth-level grids, the
        rest by district), the lattice is made fine enough for the median leaf
        to get 16 cells, within 4 M cells.

    Examples
    --------
    >>> index = GridIndex.from_file("data/sample/boundaries.gpkg")  # doctest: +SKIP
    >>> pos = index.assign(lon, lat, crs="gcj02")                     # doctest: +SKIP
    >>> index.codes(pos, level=4)                                     # doctest: +SKIP
    """

    def __init__(self, grids: GridSet, cells_per_leaf: int = DEFAULT_CELLS_PER_LEAF) -> None:
        positions = np.flatnonzero(grids.levels != UNKNOWN_LEVEL)
        valid = make_valid_polygonal(grids.geometries[positions])
        keep = ~shapely.is_empty(valid)
        positions, valid = positions[keep], valid[keep]
        # Owners in rank order (deepest level, then smallest code): a boundary cell's
        # candidates, sorted by owner, are then tried best first, and the kernel stops
        # at the first leaf holding the point instead of testing its large parents.
        order = np.argsort(owner_rank(grids.subset(positions)), kind="stable")
        positions, valid = positions[order], valid[order]
        is_leaf = ~grids.has_children()[positions]
        if not is_leaf.any():
            raise GridgeoError(tr("no usable leaf grid to index"))
        self.grids = grids
        # Owners: every usable grid. Mostly the leaves answer, but where a grid's children
        # leave part of it uncovered (gaps, slivers, edges that almost coincide) the grid
        # itself is the deepest that covers the point, as in the lookup core.
        self.owner_positions = positions
        self.owners = grids.subset(positions).with_geometries(valid)
        self.leaf_positions = positions[is_leaf]
        self.leaves = self.owners.subset(np.flatnonzero(is_leaf))
        self._geoms = valid
        self._locator = Locator(self.owners, assume_valid=True)
        # the lookup core's order: deeper level first, then smaller code
        self._rank = owner_rank(self.owners)
        assert np.array_equal(self._rank, np.arange(len(self.owners)))  # numbered by rank
        # the lattice holds the leaves' edges; the grids with children only mark their level
        self._edges = _edge_arrays(_only(valid, is_leaf))
        self._owner_level = self.owners.levels.astype(np.int8)
        bounds = shapely.total_bounds(self._geoms)
        by_count = cells_per_leaf * len(self.leaves)
        target = min(MAX_CELLS, max(64, by_count, _cells_for_small_leaves(self.leaves, bounds)))
        self.lattice = _Lattice.covering(bounds, target)
        self._lattice_array = self.lattice.as_array()
        self._cells, self._cand_start = self._build_cells()
        self._blocks = self.lattice.coarsened(DEEP_BLOCK)
        self._block = np.array([DEEP_BLOCK, self._blocks.nx], dtype=np.int64)
        self._deep = self._parent_levels(valid, is_leaf)
        self._chain_codes = self._chain_table()
        self._owner_codes = np.array(self.owners.codes, dtype=object)
        self._token = uuid.uuid4().hex

    @property
    def n_owners(self) -> int:
        """Size of the position space :meth:`assign` answers in (leaves, then inner grids)."""
        return len(self.owners)

    def __dask_tokenize__(self) -> tuple[str, str]:
        # a build-time token: hashing a pickle of the whole index would take seconds
        return ("gridgeo.GridIndex", self._token)

    def __getstate__(self) -> dict[str, Any]:
        return self.__dict__.copy()

    def __setstate__(self, state: dict[str, Any]) -> None:
        # one call per unpickled copy (Dask broadcasts the index); the lookup's polygon
        # index prepares its polygons again itself
        self.__dict__.update(state)

    @classmethod
    def from_file(cls, path: str | Path, **kwargs: Any) -> GridIndex:
        """Index the boundary file at ``path`` (read with :func:`read_boundaries`)."""
        from gridgeo.io.boundaries import read_boundaries

        cells = kwargs.pop("cells_per_leaf", DEFAULT_CELLS_PER_LEAF)
        return cls(read_boundaries([path], **kwargs), cells_per_leaf=cells)

    # --- build --------------------------------------------------------------
    def _build_cells(self) -> tuple[npt.NDArray[np.int32], npt.NDArray[np.int64]]:
        """Rasterise the edges; return the cell table and the boundary cells' CSR starts.

        The (cell, edge) pairs are the largest temporaries (about 8 per edge): they
        are reduced to sorted keys and released before the cells are filled.
        """
        edges, edge_start = self._edges
        counts, cell_of = _rasterise(edges, self.lattice.as_array())
        n_poly, nx = np.int64(self.n_owners), self.lattice.nx
        poly_of = np.repeat(np.repeat(np.arange(n_poly), np.diff(edge_start)), counts)
        pair_keys = _unique(cell_of * n_poly + poly_of)
        # Each leaf's edges per lattice row: a ray through a point meets only those.
        row_poly, row_edges = _row_edge_lists(cell_of, poly_of, counts, n_poly, nx)
        del cell_of, poly_of
        self._row_edges = row_edges
        pair_cell, pair_poly = np.divmod(pair_keys, n_poly)
        del pair_keys
        first = np.flatnonzero(np.r_[True, pair_cell[1:] != pair_cell[:-1]])
        cells = np.full(self.lattice.size, plain_query.NO_OWNER, dtype=np.int32)
        cells[pair_cell[first]] = (-2 - np.arange(first.size)).astype(np.int32)
        wanted = (pair_cell // nx) * n_poly + pair_poly
        self._cands = np.column_stack(
            [
                pair_poly,
                self._rank[pair_poly],
                np.searchsorted(row_poly, wanted, side="left"),
                np.searchsorted(row_poly, wanted, side="right"),
            ]
        ).astype(np.int32)
        cand_start = np.append(first, pair_cell.size).astype(np.int64)
        self._background = self._cell_backgrounds(cells, cand_start, row_poly, n_poly)
        return cells, cand_start

    def _parent_levels(
        self, valid: npt.NDArray[np.object_], is_leaf: npt.NDArray[np.bool_]
    ) -> npt.NDArray[np.int8]:
        """Per block, the level of the deepest grid with children meeting it (0: none).

        A grid's edges mark the blocks they touch (rasterised conservatively, like
        the leaves' on the cells), and a scan-fill (:func:`kernels.fill_parents`)
        marks the blocks whose centre it holds. One level at a time: the edge-cell
        pairs of all parents at once would double the peak memory of the build (a
        parent's edges repeat its children's).
        """
        from gridgeo.index import kernels  # numba: builds and large batches only

        deep = np.zeros(self._blocks.size, dtype=np.int8)
        lattice = self._blocks.as_array()
        for level in np.unique(self._owner_level[~is_leaf]):
            positions = np.flatnonzero(~is_leaf & (self._owner_level == level))
            edges, edge_start = _edge_arrays(valid[positions])
            if not edges.size:
                continue
            _, cell_of = _rasterise(edges, lattice)
            deep[cell_of] = np.maximum(deep[cell_of], level)  # one level: no repeats to merge
            del cell_of
            kernels.fill_parents(edges, edge_start, positions, lattice, self._owner_level, deep)
        return deep

    def _cell_backgrounds(
        self,
        cells: npt.NDArray[np.int32],
        cand_start: npt.NDArray[np.int64],
        row_poly: npt.NDArray[np.int64],
        n_poly: np.int64,
    ) -> npt.NDArray[np.int32]:
        """Fill the clean cells' owners into ``cells``; return each boundary cell's
        background: (owner, rank) of the deepest grid holding the whole cell, -1 if none.

        A point in a boundary cell that no candidate holds still lies in every
        grid around the cell (the city, say, when only district edges cross it).
        """
        from gridgeo.index import kernels  # numba: builds and large batches only

        none = np.iinfo(np.int32).max
        background = np.empty((cand_start.size - 1, 2), dtype=np.int32)
        background[:, 0], background[:, 1] = -1, none
        starts = np.flatnonzero(np.r_[True, row_poly[1:] != row_poly[:-1]])
        keys = row_poly[starts]
        kernels.fill_owners(
            keys // n_poly,
            keys % n_poly,
            np.append(starts, row_poly.size).astype(np.int64),
            self._row_edges,
            self._edges[0],
            self.lattice.as_array(),
            cells,
            cand_start,
            self._cands,
            background,
        )
        return background

    def _chain_table(self) -> dict[Level, npt.NDArray[np.object_]]:
        """Code of each owner's ancestor (or itself) at every level (None where there is none)."""
        codes = np.array(self.grids.codes, dtype=object)
        levels, parents = self.grids.levels, self.grids.parent_positions
        table = {lv: np.full(self.n_owners, None, dtype=object) for lv in Level}
        at = self.owner_positions.copy()
        for _ in Level:  # climb one level per step; a chain has at most five grids
            live = np.flatnonzero(at >= 0)
            if live.size == 0:
                break
            for lv in Level:
                here = live[levels[at[live]] == int(lv)]
                table[lv][here] = codes[at[here]]
            at[live] = parents[at[live]]
        return table

    # --- queries ------------------------------------------------------------
    def assign(
        self, lon: npt.ArrayLike, lat: npt.ArrayLike, crs: str = "wgs84"
    ) -> npt.NDArray[np.int32]:
        """Owner position (into ``self.owners``) of each point; -1 where none.

        Semantics are the lookup core's: the deepest grid that covers the point
        (GEOS ``covers``), then the smallest code. That is a leaf, except where a
        grid's children leave part of it uncovered: there it is the grid itself.
        Non-finite coordinates give -1; check them first with
        :func:`gridgeo.coords.bad_lonlat_mask` to tell them apart.

        Parameters
        ----------
        lon, lat
            Coordinates (arrays of equal shape) in ``crs``.
        crs
            ``wgs84`` (default; the same coordinates as ``cgcs2000``), ``gcj02`` or ``bd09``.
        """
        x = np.ascontiguousarray(np.asarray(lon, dtype=np.float64).ravel())
        y = np.ascontiguousarray(np.asarray(lat, dtype=np.float64).ravel())
        if crs not in ("cgcs2000", "wgs84"):
            x, y = (np.ascontiguousarray(a.ravel()) for a in to_cgcs2000(x, y, crs))
        query: Callable[..., npt.NDArray[np.int32]] = plain_query.query
        if compiled.ready():  # a large run loaded numba (gridgeo.compiled): same answers
            from gridgeo.index import kernels

            query = kernels.query
        out = query(x, y, *self.query_tables())
        unsure = np.flatnonzero(out == plain_query.NEEDS_GEOS)
        if unsure.size:
            out[unsure] = self._geos_owners(x[unsure], y[unsure])
        return out

    def _geos_owners(
        self, x: npt.NDArray[np.float64], y: npt.NDArray[np.float64]
    ) -> npt.NDArray[np.intp]:
        """The owners of points the lattice cannot call (on an edge, or too close to one),
        by GEOS: the lookup core's answer."""
        return self._locator.locate(x, y)

    def _geos_owner_one(self, lon: float, lat: float) -> int:
        """:meth:`_geos_owners` of one point."""
        return self._locator.locate_one(lon, lat)

    def assign_one(self, lon: float, lat: float) -> int:
        """Owner position of one CGCS2000 point, -1 if none (scalar path of :meth:`assign`)."""
        found = self._point_query(float(lon), float(lat))
        if found == plain_query.NEEDS_GEOS:
            return self._geos_owner_one(float(lon), float(lat))
        return int(found)

    @cached_property
    def _point_query(self) -> plain_query.PointQuery:
        return plain_query.PointQuery(*self.query_tables())

    def query_tables(self) -> tuple[npt.NDArray[Any], ...]:
        """The arrays the queries take after the coordinates, in their order (lattice,
        cells, candidates, edges, backgrounds, parents' levels): the kernels' and
        :mod:`gridgeo.index.plain_query`'s raw answers, NEEDS_GEOS included, come from them."""
        return (
            self._lattice_array,
            self._cells,
            self._cand_start,
            self._cands,
            self._row_edges,
            self._edges[0],
            self._background,
            self._deep,
            self._block,
            self._owner_level,
        )

    def codes(
        self, positions: npt.ArrayLike, level: int | Level | None = None
    ) -> npt.NDArray[np.object_]:
        """Codes of the owners at ``positions``, or of their ancestors at ``level``.

        None where the position is -1 or the owner has no grid at that level (a
        point in a community's gap has no fifth-level code).
        """
        pos = np.asarray(positions)
        column = self._owner_codes if level is None else self._chain_codes[Level(int(level))]
        out = np.full(pos.shape, None, dtype=object)
        hit = pos >= 0
        out[hit] = column[pos[hit]]
        return out

    def stored_codes(
        self, level: int | Level
    ) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.uint8], npt.NDArray[np.bool_]] | None:
        """The codes at ``level`` of every owner as an index file holds them: the UTF-8
        bytes, their offsets and which owners have one (what an Arrow string column is
        made of, so a batch builds its columns without a Python string per grid); None
        for an index built in this process (:meth:`codes` has them)."""
        return None

    @property
    def stats(self) -> dict[str, int]:
        """Sizes of the index, for benchmarks and logs."""
        boundary = int(self._cand_start.size - 1)
        arrays = (
            self._cells,
            self._cand_start,
            self._cands,
            self._row_edges,
            self._background,
            self._deep,
            *self._edges,
        )
        return {
            "leaves": len(self.leaves),
            "edges": int(self._edges[0].shape[0]),
            "cells": self.lattice.size,
            "boundary_cells": boundary,
            "candidates": int(self._cands.shape[0]),
            "bytes": int(sum(a.nbytes for a in arrays)),
        }


def _cells_for_small_leaves(leaves: GridSet, bounds: npt.NDArray[np.float64]) -> int:
    """Cells for the median leaf to get SMALL_LEAF_CELLS (0 when the leaves are even)."""
    area = float((bounds[2] - bounds[0]) * (bounds[3] - bounds[1]))
    median = float(np.median(shapely.area(leaves.geometries)))
    if median <= 0 or area <= 0:
        return 0
    return int(min(MAX_SMALL_LEAF_CELLS, SMALL_LEAF_CELLS * area / median))


def _rasterise(
    edges: npt.NDArray[np.float64], lattice: npt.NDArray[np.float64]
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]:
    """Cells each edge touches (conservatively): the count per edge, and the cells
    concatenated in edge order."""
    from gridgeo.index import kernels  # numba: builds and large batches only

    counts = kernels.count_edge_cells(edges, lattice, MARGIN_CELLS)
    offsets = np.zeros(counts.size + 1, dtype=np.int64)
    np.cumsum(counts, out=offsets[1:])
    return counts, kernels.fill_edge_cells(edges, lattice, MARGIN_CELLS, offsets)


def _only(geoms: npt.NDArray[np.object_], keep: npt.NDArray[np.bool_]) -> npt.NDArray[np.object_]:
    """``geoms`` with the others emptied (they keep their positions, and have no edges)."""
    out = geoms.copy()
    out[~keep] = shapely.Polygon()
    return out


def _row_edge_lists(
    cell_of: npt.NDArray[np.int64],
    poly_of: npt.NDArray[np.int64],
    counts: npt.NDArray[np.int64],
    n_poly: np.int64,
    nx: int,
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int32]]:
    """Each polygon's edges per lattice row, from the (cell, polygon) pairs of the
    rasterised edges: sorted ``row * n_poly + polygon`` keys and the edge of each.

    A horizontal ray through a point meets only the edges of the point's row.
    ``cell_of`` is overwritten (it is the largest temporary of the build).
    """
    n_edges = np.int64(counts.size)
    keys = cell_of
    keys //= nx  # the row of each pair
    keys *= n_poly
    keys += poly_of
    keys *= n_edges
    keys += np.repeat(np.arange(n_edges), counts)
    row_poly, row_edges = np.divmod(_unique(keys), n_edges)
    return row_poly, row_edges.astype(np.int32)


def _unique(values: npt.NDArray[np.int64]) -> npt.NDArray[np.int64]:
    """Sorted unique values (sorting beats numpy's hash-based unique on large arrays)."""
    values = np.sort(values)
    return values[np.r_[True, values[1:] != values[:-1]]] if values.size else values


def _edge_arrays(
    geoms: npt.NDArray[np.object_],
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.int64]]:
    """Edges (ax, ay, bx, by) of every ring of every polygon, grouped per polygon.

    Returns the (n, 4) edge array and the CSR ``edge_start`` (polygon k's edges
    are rows ``edge_start[k]:edge_start[k + 1]``).
    """
    parts, part_owner = shapely.get_parts(geoms, return_index=True)
    rings, ring_part = shapely.get_rings(parts, return_index=True)
    coords, ring_of = shapely.get_coordinates(rings, return_index=True)
    same_ring = ring_of[1:] == ring_of[:-1]  # consecutive vertices of one ring form an edge
    owner = part_owner[ring_part][ring_of[:-1][same_ring]]
    edges = np.hstack([coords[:-1][same_ring], coords[1:][same_ring]])
    if np.any(owner[1:] < owner[:-1]):  # shapely returns parts in input order; stay safe
        order = np.argsort(owner, kind="stable")
        owner, edges = owner[order], edges[order]
    edge_start = np.searchsorted(owner, np.arange(len(geoms) + 1)).astype(np.int64)
    return np.ascontiguousarray(edges), edge_start
