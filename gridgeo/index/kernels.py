"""Compiled kernels of the grid index (numba): edge rasterisation and point tests.

Exactness: every orientation test goes through :func:`orient_sign`, which
returns 0 when floating-point error could flip the sign (Shewchuk's
``ccwerrboundA`` filter). A point whose answer depends on such a test is
reported as *uncertain* and the caller re-tests it with GEOS, so the kernel is
never the one deciding a near-degenerate case. Points exactly on an edge are
always uncertain, which sends them to GEOS ``covers`` and the tie rule.
"""

from __future__ import annotations

import numba
import numpy as np
import numpy.typing as npt

# one definition of the answers' codes, shared with the plain-Python queries
from gridgeo.index.plain_query import CCW_ERRBOUND as _CCW_ERRBOUND
from gridgeo.index.plain_query import INSIDE, NEEDS_GEOS, NO_OWNER, OUTSIDE, UNCERTAIN


@numba.njit(cache=True, inline="always")
def orient_sign(ax: float, ay: float, bx: float, by: float, cx: float, cy: float) -> int:
    """Sign of the turn a->b->c: +1 left, -1 right, 0 collinear *or not certain*."""
    detleft = (ax - cx) * (by - cy)
    detright = (ay - cy) * (bx - cx)
    det = detleft - detright
    bound = _CCW_ERRBOUND * (abs(detleft) + abs(detright))
    if det > bound:
        return 1
    if -det > bound:
        return -1
    return 0


@numba.njit(cache=True)
def point_in_polygon(
    x: float,
    y: float,
    edges: npt.NDArray[np.float64],
    ids: npt.NDArray[np.int32],
    start: int,
    stop: int,
) -> int:
    """Crossing-number test of (x, y) against the edges ``ids[start:stop]`` of one polygon.

    ``edges`` rows are (ax, ay, bx, by). The ids given must include every
    edge of the polygon that meets the horizontal line through the point (all
    rings): the index passes the polygon's edges in the point's lattice row.
    A ray to +x crosses edge a->b when the edge straddles ``y`` (half-open: one
    end strictly above, the other at or below) and the point lies on the side
    of the edge facing -x. Returns INSIDE, OUTSIDE or UNCERTAIN.
    """
    inside = False
    for j in range(start, stop):
        ax, ay, bx, by = edges[ids[j], 0], edges[ids[j], 1], edges[ids[j], 2], edges[ids[j], 3]
        a_above = ay > y
        b_above = by > y
        if a_above == b_above:
            # not straddling; a point on a horizontal edge or at a vertex still needs GEOS
            if ay == y and (ax == x or (by == y and min(ax, bx) <= x <= max(ax, bx))):
                return UNCERTAIN
            continue
        s = orient_sign(ax, ay, bx, by, x, y)
        if s == 0:
            return UNCERTAIN
        # upward edge (b above): crossing when the point is to its left (s > 0)
        if (s > 0) == b_above:
            inside = not inside
    return INSIDE if inside else OUTSIDE


@numba.njit(cache=True, parallel=True)
def query(
    xs: npt.NDArray[np.float64],
    ys: npt.NDArray[np.float64],
    lattice: npt.NDArray[np.float64],
    cells: npt.NDArray[np.int32],
    cand_start: npt.NDArray[np.int64],
    cands: npt.NDArray[np.int32],
    row_edges: npt.NDArray[np.int32],
    edges: npt.NDArray[np.float64],
    background: npt.NDArray[np.int32],
    deep: npt.NDArray[np.int8],
    block: npt.NDArray[np.int64],
    owner_level: npt.NDArray[np.int8],
) -> npt.NDArray[np.int32]:
    """Owner of each point: a leaf index, NO_OWNER, or NEEDS_GEOS (uncertain).

    ``lattice`` is (x0, y0, dx, dy, nx, ny). ``cells[i]`` >= 0 is the owner of
    a clean cell, -1 a clean empty cell, and ``-2 - b`` points to boundary cell
    ``b``, whose candidates are rows ``cand_start[b]:cand_start[b + 1]`` of
    ``cands``: (leaf, rank, first, stop) with the leaf's edges in the cell's
    lattice row at ``row_edges[first:stop]``; ``background[b]`` is the (owner, rank)
    of the leaf holding the whole cell. ``deep`` is, per block of ``block[0]`` x
    ``block[0]`` cells (``block[1]`` blocks a row), the level of the deepest grid *with
    children* meeting the block (0: none): where it is not shallower than the leaf
    found, that grid may be the answer (its children leave a gap), so the point is
    NEEDS_GEOS. Non-finite points get NO_OWNER.
    """
    x0, y0, inv_dx, inv_dy = lattice[0], lattice[1], 1.0 / lattice[2], 1.0 / lattice[3]
    nx, ny = int(lattice[4]), int(lattice[5])
    out = np.empty(xs.size, dtype=np.int32)
    for i in numba.prange(xs.size):
        x = xs[i]
        y = ys[i]
        fx = (x - x0) * inv_dx
        fy = (y - y0) * inv_dy
        if not (fx >= 0.0 and fy >= 0.0 and fx < nx and fy < ny):  # also rejects NaN
            out[i] = NO_OWNER
            continue
        col, row = int(fx), int(fy)
        v = cells[row * nx + col]
        if v < -1:
            v = _boundary_owner(x, y, -v - 2, cand_start, cands, row_edges, edges, background)
        d = deep[(row // block[0]) * block[1] + col // block[0]]
        out[i] = _unless_parent(v, d, owner_level)
    return out


@numba.njit(cache=True)
def query_one(
    x: float,
    y: float,
    lattice: npt.NDArray[np.float64],
    cells: npt.NDArray[np.int32],
    cand_start: npt.NDArray[np.int64],
    cands: npt.NDArray[np.int32],
    row_edges: npt.NDArray[np.int32],
    edges: npt.NDArray[np.float64],
    background: npt.NDArray[np.int32],
    deep: npt.NDArray[np.int8],
    block: npt.NDArray[np.int64],
    owner_level: npt.NDArray[np.int8],
) -> int:
    """:func:`query` for one point, without the array and thread overhead."""
    fx = (x - lattice[0]) / lattice[2]
    fy = (y - lattice[1]) / lattice[3]
    nx, ny = int(lattice[4]), int(lattice[5])
    if not (fx >= 0.0 and fy >= 0.0 and fx < nx and fy < ny):
        return NO_OWNER
    col, row = int(fx), int(fy)
    v = cells[row * nx + col]
    if v < -1:
        v = _boundary_owner(x, y, -v - 2, cand_start, cands, row_edges, edges, background)
    d = deep[(row // block[0]) * block[1] + col // block[0]]
    return int(_unless_parent(v, d, owner_level))


@numba.njit(cache=True, inline="always")
def _unless_parent(found: int, deep: int, owner_level: npt.NDArray[np.int8]) -> int:
    """``found`` (a leaf, NO_OWNER or NEEDS_GEOS), or NEEDS_GEOS where a grid with children
    at level ``deep`` meets the cell and is not shallower than the leaf: there the deepest
    grid covering the point may be that parent (in a gap its children leave)."""
    if deep > 0 and found != NEEDS_GEOS and (found < 0 or owner_level[found] <= deep):
        return NEEDS_GEOS
    return found


@numba.njit(cache=True)
def _boundary_owner(
    x: float,
    y: float,
    b: int,
    cand_start: npt.NDArray[np.int64],
    cands: npt.NDArray[np.int32],
    row_edges: npt.NDArray[np.int32],
    edges: npt.NDArray[np.float64],
    background: npt.NDArray[np.int32],
) -> int:
    """The smallest-rank grid holding the point: a candidate of boundary cell ``b`` (sorted
    by rank), or the
    cell's background (the deepest grid containing the whole cell, ``background[b]`` =
    (owner, rank), owner -1 when none)."""
    best = int(background[b, 0])
    best_rank = background[b, 1]
    # candidates are sorted by rank: the first one holding the point wins
    for c in range(cand_start[b], cand_start[b + 1]):
        if cands[c, 1] >= best_rank:
            break  # neither this nor any later candidate can beat the background
        r = point_in_polygon(x, y, edges, row_edges, cands[c, 2], cands[c, 3])
        if r == UNCERTAIN:
            return NEEDS_GEOS
        if r == INSIDE:
            return int(cands[c, 0])
    return best


@numba.njit(cache=True, parallel=True)
def count_edge_cells(
    edges: npt.NDArray[np.float64], lattice: npt.NDArray[np.float64], margin: float
) -> npt.NDArray[np.int64]:
    """Number of cells each edge touches (first pass of the rasterisation)."""
    counts = np.zeros(edges.shape[0], dtype=np.int64)
    nothing = np.empty(0, dtype=np.int64)
    for e in numba.prange(edges.shape[0]):
        counts[e] = _edge_cells(edges[e], lattice, margin, nothing, 0)
    return counts


@numba.njit(cache=True, parallel=True)
def fill_edge_cells(
    edges: npt.NDArray[np.float64],
    lattice: npt.NDArray[np.float64],
    margin: float,
    offsets: npt.NDArray[np.int64],
) -> npt.NDArray[np.int64]:
    """Cell indices touched by each edge, concatenated in edge order (second pass)."""
    out = np.empty(offsets[-1], dtype=np.int64)
    for e in numba.prange(edges.shape[0]):  # each edge writes its own slice
        _edge_cells(edges[e], lattice, margin, out, offsets[e])
    return out


@numba.njit(cache=True)
def _edge_cells(
    edge: npt.NDArray[np.float64],
    lattice: npt.NDArray[np.float64],
    margin: float,
    out: npt.NDArray[np.int64],
    at: int,
) -> int:
    """Cells whose rectangle, grown by ``margin`` cells, meets the segment ``edge``.

    Walks the columns the segment spans; in each, the rows between the
    segment's lowest and highest y there. Conservative by ``margin`` so that a
    clean cell is never within rounding distance of an edge. Writes into
    ``out`` from ``at`` when ``out`` is non-empty; returns the count.
    """
    ax, ay, bx, by = edge[0], edge[1], edge[2], edge[3]
    x0, y0, dx, dy = lattice[0], lattice[1], lattice[2], lattice[3]
    nx, ny = int(lattice[4]), int(lattice[5])
    xmin, xmax = min(ax, bx), max(ax, bx)
    c0 = max(int(np.floor((xmin - x0) / dx - margin)), 0)
    c1 = min(int(np.floor((xmax - x0) / dx + margin)), nx - 1)
    n = 0
    for c in range(c0, c1 + 1):
        lo_x = max(x0 + (c - margin) * dx, xmin)
        hi_x = min(x0 + (c + 1 + margin) * dx, xmax)
        if bx != ax:
            ya = ay + (lo_x - ax) / (bx - ax) * (by - ay)
            yb = ay + (hi_x - ax) / (bx - ax) * (by - ay)
        else:
            ya, yb = ay, by
        r0 = max(int(np.floor((min(ya, yb) - y0) / dy - margin)), 0)
        r1 = min(int(np.floor((max(ya, yb) - y0) / dy + margin)), ny - 1)
        for r in range(r0, r1 + 1):
            if out.size:
                out[at + n] = r * nx + c
            n += 1
    return n


@numba.njit(cache=True)
def fill_owners(
    key_row: npt.NDArray[np.int64],
    key_poly: npt.NDArray[np.int64],
    key_start: npt.NDArray[np.int64],
    row_edges: npt.NDArray[np.int32],
    edges: npt.NDArray[np.float64],
    lattice: npt.NDArray[np.float64],
    cells: npt.NDArray[np.int32],
    cand_start: npt.NDArray[np.int64],
    cands: npt.NDArray[np.int32],
    background: npt.NDArray[np.int32],
) -> None:
    """Owner of every clean cell and background of every boundary cell, by scan-filling.

    Polygons are numbered in rank order (deepest level, then smallest code), so
    the owner of a cell is the smallest-numbered polygon holding it. Each
    polygon is scan-filled along the centre line of every lattice row it
    touches: between pairs of crossings, a cell whose centre is inside and
    which none of the polygon's edges touches lies wholly inside it. A clean
    cell (no edge at all) takes the smallest such polygon as its owner
    (``cells`` starts at NO_OWNER there); a boundary cell records it as its
    background (``background[b]`` = (polygon, rank), the answer when none of
    its candidates holds the point). Only untouched cells are decided, and all
    crossings lie in touched cells, so rounding cannot misorder them.
    ``key_row``/``key_poly`` with CSR ``key_start`` list each polygon's edges
    touching each row.
    """
    nx = int(lattice[4])
    xs = np.empty(_widest(key_start), dtype=np.float64)
    for k in range(key_row.size):
        row, poly = int(key_row[k]), int(key_poly[k])
        start, stop = key_start[k], key_start[k + 1]
        crossings = _row_crossings(row, start, stop, row_edges, edges, lattice, xs)
        for i in range(0, crossings.size - 1, 2):
            first, last = _inner_columns(crossings[i], crossings[i + 1], lattice)
            for col in range(first, last + 1):
                _claim(row * nx + col, poly, cells, cand_start, cands, background)


@numba.njit(cache=True, parallel=True)
def fill_parents(
    edges: npt.NDArray[np.float64],
    edge_start: npt.NDArray[np.int64],
    polys: npt.NDArray[np.int64],
    lattice: npt.NDArray[np.float64],
    level: npt.NDArray[np.int8],
    deep: npt.NDArray[np.int8],
) -> None:
    """Raise ``deep`` to the polygon's level in every cell whose centre it holds.

    The scan-fill of the grids with children, one polygon at a time: the
    crossings of its edges (rows ``edge_start[k]:edge_start[k + 1]`` of
    ``edges`` for polygon ``polys[k]``) with the lattice rows' centre lines,
    sorted by row then x, fill the cells between pairs (even-odd rule, holes
    included). Cells the edges touch are marked by rasterising the edges, so a
    centre within rounding of an edge is marked either way.
    """
    nx = int(lattice[4])
    y0, dy = lattice[1], lattice[3]
    # polygons in parallel: all write the same level, so racing writes of a cell agree
    for k in numba.prange(polys.size):
        n = 0
        for e in range(edge_start[k], edge_start[k + 1]):
            r0, r1 = _crossed_rows(edges[e, 1], edges[e, 3], lattice)
            n += max(0, r1 - r0 + 1)
        rows = np.empty(n, dtype=np.int64)
        xs = np.empty(n, dtype=np.float64)
        n = 0
        for e in range(edge_start[k], edge_start[k + 1]):
            ax, ay, bx, by = edges[e, 0], edges[e, 1], edges[e, 2], edges[e, 3]
            r0, r1 = _crossed_rows(ay, by, lattice)
            for row in range(r0, r1 + 1):
                rows[n] = row
                xs[n] = ax + (y0 + (row + 0.5) * dy - ay) * (bx - ax) / (by - ay)
                n += 1
        order = np.argsort(rows, kind="mergesort")
        lv = level[polys[k]]
        i = 0
        while i < n:
            row = rows[order[i]]
            j = i
            while j < n and rows[order[j]] == row:
                j += 1
            line = np.sort(xs[order[i:j]])
            for m in range(0, line.size - 1, 2):
                first, last = _inner_columns(line[m], line[m + 1], lattice)
                for col in range(first, last + 1):
                    deep[row * nx + col] = max(deep[row * nx + col], lv)
            i = j


@numba.njit(cache=True, inline="always")
def _crossed_rows(ay: float, by: float, lattice: npt.NDArray[np.float64]) -> tuple[int, int]:
    """Rows whose centre line y satisfies min(ay, by) <= y < max(ay, by) (may be empty)."""
    y0, dy, ny = lattice[1], lattice[3], int(lattice[5])
    lo, hi = min(ay, by), max(ay, by)
    # one row wider than the formula on each side (rounding), then settled by the test itself
    r0 = max(0, int(np.ceil((lo - y0) / dy - 0.5)) - 1)
    r1 = min(ny - 1, int(np.ceil((hi - y0) / dy - 0.5)))
    while r0 <= r1 and not (lo <= y0 + (r0 + 0.5) * dy < hi):
        r0 += 1
    while r1 >= r0 and not (lo <= y0 + (r1 + 0.5) * dy < hi):
        r1 -= 1
    return r0, r1


@numba.njit(cache=True)
def _widest(key_start: npt.NDArray[np.int64]) -> int:
    width = 1
    for k in range(key_start.size - 1):
        width = max(width, int(key_start[k + 1] - key_start[k]))
    return width


@numba.njit(cache=True, inline="always")
def _row_crossings(
    row: int,
    start: int,
    stop: int,
    row_edges: npt.NDArray[np.int32],
    edges: npt.NDArray[np.float64],
    lattice: npt.NDArray[np.float64],
    xs: npt.NDArray[np.float64],
) -> npt.NDArray[np.float64]:
    """Sorted x where the centre line of lattice ``row`` crosses the edges
    ``row_edges[start:stop]`` of one polygon (``xs`` is scratch space)."""
    yc = lattice[1] + (row + 0.5) * lattice[3]
    m = 0
    for j in range(start, stop):
        e = row_edges[j]
        ay, by = edges[e, 1], edges[e, 3]
        if (ay > yc) != (by > yc):  # half-open: a vertex on the line counts once
            ax, bx = edges[e, 0], edges[e, 2]
            xs[m] = ax + (yc - ay) * (bx - ax) / (by - ay)
            m += 1
    return np.sort(xs[:m])


@numba.njit(cache=True, inline="always")
def _inner_columns(a: float, b: float, lattice: npt.NDArray[np.float64]) -> tuple[int, int]:
    """First and last column whose cell centre lies between crossings ``a`` and ``b``."""
    x0, dx, nx = lattice[0], lattice[2], int(lattice[4])
    first = max(0, int(np.ceil((a - x0) / dx - 0.5)))
    last = min(nx - 1, int(np.floor((b - x0) / dx - 0.5)))
    return first, last


@numba.njit(cache=True, inline="always")
def _claim(
    cell: int,
    poly: int,
    cells: npt.NDArray[np.int32],
    cand_start: npt.NDArray[np.int64],
    cands: npt.NDArray[np.int32],
    background: npt.NDArray[np.int32],
) -> None:
    """Record that ``poly`` holds the whole of ``cell`` unless its edges touch the cell."""
    v = cells[cell]
    if v >= NO_OWNER:  # clean cell
        if v == NO_OWNER or poly < v:
            cells[cell] = poly
        return
    b = -v - 2
    if poly >= background[b, 1]:
        return
    for c in range(cand_start[b], cand_start[b + 1]):
        if cands[c, 0] == poly:
            return  # its edges cross the cell: the kernel tests it as a candidate
    background[b, 0] = poly
    background[b, 1] = poly
