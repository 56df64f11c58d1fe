"""The grid index's point queries in plain Python and numpy, without numba.

The service answers one point, or a request's few thousand, per call: there the
compiled kernels (:mod:`gridgeo.index.kernels`) save microseconds but cost about
125 MB of numba and LLVM in every worker, and their first call loads machine code.
These functions give the kernels' answers exactly, with the same arithmetic in the
same order (the cell a point falls in, the half-open crossing rule, Shewchuk's
error filter), so a worker that only queries never imports numba. :func:`query`
answers a whole batch in numpy: slower per point than the parallel kernel, faster to
the end of a run that would otherwise load numba (:mod:`gridgeo.compiled` says when
the kernels run instead).

The constants are the kernels' too: they are defined here, where importing them
costs nothing, and the kernels take them from here.

Examples
--------
>>> import numpy as np
>>> square = np.array([[0, 0, 1, 0], [1, 0, 1, 1], [1, 1, 0, 1], [0, 1, 0, 0]], float)
>>> ids = np.arange(4, dtype=np.int32)
>>> point_in_polygon(0.5, 0.5, square, ids, 0, 4) == INSIDE
True
>>> point_in_polygon(1.5, 0.5, square, ids, 0, 4) == OUTSIDE
True
>>> point_in_polygon(1.0, 0.5, square, ids, 0, 4) == UNCERTAIN  # on an edge: GEOS decides
True
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

# Shewchuk's error bound for the orientation determinant: (3 + 16 eps) * eps.
CCW_ERRBOUND = 3.3306690738754716e-16


INSIDE, OUTSIDE, UNCERTAIN = 1, 0, 2
NO_OWNER = -1
NEEDS_GEOS = -2


def orient_sign(ax: float, ay: float, bx: float, by: float, cx: float, cy: float) -> int:
    """Sign of the turn a->b->c: +1 left, -1 right, 0 collinear *or not certain*."""
    detleft = (ax - cx) * (by - cy)
    detright = (ay - cy) * (bx - cx)
    det = detleft - detright
    bound = CCW_ERRBOUND * (abs(detleft) + abs(detright))
    if det > bound:
        return 1
    if -det > bound:
        return -1
    return 0


def point_in_polygon(
    x: float,
    y: float,
    edges: npt.NDArray[np.float64],
    ids: npt.NDArray[np.int32],
    start: int,
    stop: int,
) -> int:
    """Crossing-number test of (x, y) against the edges ``ids[start:stop]`` of one polygon.

    The rule of :func:`gridgeo.index.kernels.point_in_polygon`: rows of ``edges`` are
    (ax, ay, bx, by); an edge is crossed when it straddles ``y`` half-open (one end
    strictly above) and the point is on its -x side. Returns INSIDE, OUTSIDE or
    UNCERTAIN (a sign the error filter cannot vouch for, or a point on a horizontal
    edge or at a vertex).
    """
    inside = False
    for ax, ay, bx, by in edges[ids[start:stop]].tolist():
        b_above = by > y
        if (ay > y) == b_above:
            if ay == y and (ax == x or (by == y and min(ax, bx) <= x <= max(ax, bx))):
                return UNCERTAIN
            continue
        # orient_sign(ax, ay, bx, by, x, y), inlined: this loop is the one-point path's cost
        detleft = (ax - x) * (by - y)
        detright = (ay - y) * (bx - x)
        det = detleft - detright
        bound = CCW_ERRBOUND * (abs(detleft) + abs(detright))
        if not (det > bound or det < -bound):  # NaN too, as orient_sign has it
            return UNCERTAIN
        if (det > 0) == b_above:
            inside = not inside
    return INSIDE if inside else OUTSIDE


def unless_parent(found: int, deep: int, owner_level: npt.NDArray[np.int8]) -> int:
    """``found``, or NEEDS_GEOS where a grid with children at level ``deep`` meets the cell
    and is not shallower than the leaf found (the answer may be that parent, in a gap)."""
    if deep > 0 and found != NEEDS_GEOS and (found < 0 or owner_level[found] <= deep):
        return NEEDS_GEOS
    return found


def boundary_owner(
    x: float,
    y: float,
    b: int,
    cand_start: npt.NDArray[np.int64],
    cands: npt.NDArray[np.int32],
    row_edges: npt.NDArray[np.int32],
    edges: npt.NDArray[np.float64],
    background: npt.NDArray[np.int32],
) -> int:
    """The smallest-rank grid holding the point among boundary cell ``b``'s candidates
    (sorted by rank), else the cell's background; NEEDS_GEOS when a test is uncertain."""
    best = int(background[b, 0])
    best_rank = int(background[b, 1])
    for leaf, rank, first, stop in cands[cand_start[b] : cand_start[b + 1]].tolist():
        if rank >= best_rank:
            break  # neither this nor any later candidate can beat the background
        r = point_in_polygon(x, y, edges, row_edges, first, stop)
        if r == UNCERTAIN:
            return NEEDS_GEOS
        if r == INSIDE:
            return int(leaf)
    return best


class PointQuery:
    """:func:`query_one` for one index, with its lattice's numbers read once (a lookup
    service asks it for every request: the per-call conversions were a third of it)."""

    def __init__(
        self,
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
    ) -> None:
        x0, y0, dx, dy, fnx, fny = lattice.tolist()
        self._frame = (x0, y0, dx, dy, int(fnx), int(fny))
        self._block = (int(block[0]), int(block[1]))
        self._cells, self._deep, self._owner_level = cells, deep, owner_level
        self._boundary = (cand_start, cands, row_edges, edges, background)

    def __call__(self, x: float, y: float) -> int:
        x0, y0, dx, dy, nx, ny = self._frame
        fx = (x - x0) / dx
        fy = (y - y0) / dy
        if not (fx >= 0.0 and fy >= 0.0 and fx < nx and fy < ny):
            return NO_OWNER
        col, row = int(fx), int(fy)
        v = int(self._cells[row * nx + col])
        if v < -1:
            v = boundary_owner(x, y, -v - 2, *self._boundary)
        b0, b1 = self._block
        return unless_parent(v, int(self._deep[(row // b0) * b1 + col // b0]), self._owner_level)


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
    """Owner of one point, as :func:`gridgeo.index.kernels.query_one` answers it."""
    tables = (cells, cand_start, cands, row_edges, edges, background, deep, block, owner_level)
    return PointQuery(lattice, *tables)(x, y)


# Points per pass of :func:`query`: the arrays of a pass's crossing tests grow with its
# points in boundary cells (a million random points at once held 155 MB at 20,000 grids,
# ten million would hold 1.5 GB); a pass of this size holds about 40 MB. ``gridgeo
# assign``'s chunks (200,000 rows by default) take one pass each.
BLOCK = 1 << 18


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
    """Owners of many points, as :func:`gridgeo.index.kernels.query` answers them.

    Whole-array numpy, :data:`BLOCK` points at a time: clean cells by one lookup; the
    points in boundary cells (about one in six at 20,000 grids) by
    :func:`boundary_owners`, every crossing test of a block at once.
    """
    if xs.size > BLOCK:  # pass by pass: each pass's crossing-test arrays stay small
        arrays = (lattice, cells, cand_start, cands, row_edges, edges, background, deep)
        out = np.empty(xs.size, dtype=np.int32)
        for start in range(0, xs.size, BLOCK):
            part = slice(start, start + BLOCK)
            out[part] = query(xs[part], ys[part], *arrays, block, owner_level)
        return out
    x0, y0, dx, dy, fnx, fny = lattice.tolist()
    nx, ny = int(fnx), int(fny)
    # the kernel's arithmetic: multiply by the reciprocal (query_one divides)
    fx = (xs - x0) * (1.0 / dx)
    fy = (ys - y0) * (1.0 / dy)
    with np.errstate(invalid="ignore"):
        ok = (fx >= 0.0) & (fy >= 0.0) & (fx < nx) & (fy < ny)  # NaN fails every test
    out = np.full(xs.size, NO_OWNER, dtype=np.int32)
    at = np.flatnonzero(ok)
    col = fx[at].astype(np.int64)
    row = fy[at].astype(np.int64)
    cell = row * nx
    cell += col
    v = cells[cell]
    inner = np.flatnonzero(v < -1)
    if inner.size:
        p = at[inner]
        boundary = (-2 - v[inner]).astype(np.int64)
        tables = (cand_start, cands, row_edges, edges, background)
        v[inner] = boundary_owners(xs[p], ys[p], boundary, *tables)
    b0, b1 = int(block[0]), int(block[1])
    row //= b0
    row *= b1
    col //= b0
    row += col
    d = deep[row]
    parent = d > 0
    if parent.any():  # only where a grid with children meets the cell
        level = owner_level[np.maximum(v, 0)]
        parent &= (v != NEEDS_GEOS) & ((v < 0) | (level <= d))
        v[parent] = NEEDS_GEOS
    out[at] = v
    return out


def boundary_owners(
    xs: npt.NDArray[np.float64],
    ys: npt.NDArray[np.float64],
    b: npt.NDArray[np.int64],
    cand_start: npt.NDArray[np.int64],
    cands: npt.NDArray[np.int32],
    row_edges: npt.NDArray[np.int32],
    edges: npt.NDArray[np.float64],
    background: npt.NDArray[np.int32],
) -> npt.NDArray[np.int32]:
    """:func:`boundary_owner` of many points at once (point ``i`` in boundary cell ``b[i]``).

    Every (point, candidate) pair the loop could reach (a rank below the cell's
    background) and every edge of each pair are laid out flat, and the crossing rule of
    :func:`point_in_polygon` runs on all of them: a pair is UNCERTAIN when any of its
    edges is, else INSIDE on an odd count of crossings. A point takes its first pair in
    rank order that is not OUTSIDE (a leaf, or NEEDS_GEOS when that pair is UNCERTAIN),
    else the background: the loop's answer, which stops at that same pair.
    """
    best: npt.NDArray[np.int32] = background[b, 0].astype(np.int32)
    first, stop = cand_start[b], cand_start[b + 1]
    pair_point, pair_cand = _spread(first, stop)
    # candidates are sorted by rank: those not below the background's are never tried
    keep = cands[pair_cand, 1] < background[b[pair_point], 1]
    pair_point, pair_cand = pair_point[keep], pair_cand[keep]
    if pair_cand.size == 0:
        return best
    edge_pair, at = _spread(cands[pair_cand, 2].astype(np.int64), cands[pair_cand, 3])
    ax, ay, bx, by = edges[row_edges[at]].T
    owner = pair_point[edge_pair]
    x, y = xs[owner], ys[owner]
    b_above = by > y
    straddles = (ay > y) != b_above
    # not straddling: a point on a horizontal edge or at a vertex is for GEOS
    on_edge = ~straddles & (ay == y)
    on_edge &= (ax == x) | ((by == y) & (np.minimum(ax, bx) <= x) & (x <= np.maximum(ax, bx)))
    # orient_sign(ax, ay, bx, by, x, y), term by term as the loop computes it
    detleft = (ax - x) * (by - y)
    detright = (ay - y) * (bx - x)
    det = detleft - detright
    bound = CCW_ERRBOUND * (np.abs(detleft) + np.abs(detright))
    with np.errstate(invalid="ignore"):
        sure = (det > bound) | (det < -bound)  # NaN is not sure, as orient_sign has it
    unsure = on_edge | (straddles & ~sure)
    crossed = straddles & sure & ((det > 0) == b_above)
    pairs = pair_cand.size
    uncertain = np.bincount(edge_pair[unsure], minlength=pairs) > 0
    inside = np.bincount(edge_pair[crossed], minlength=pairs) % 2 == 1
    # each point's first pair that holds it or cannot tell (pairs are in point, then
    # rank order): the loop returns there
    decisive = np.flatnonzero(uncertain | inside)
    point = pair_point[decisive]
    first_of_point = np.ones(point.size, dtype=bool)
    first_of_point[1:] = point[1:] != point[:-1]
    decisive, point = decisive[first_of_point], point[first_of_point]
    best[point] = np.where(uncertain[decisive], NEEDS_GEOS, cands[pair_cand[decisive], 0])
    return best


def _spread(
    first: npt.NDArray[np.int64], stop: npt.NDArray[np.int64]
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]:
    """Ranges ``first[i]:stop[i]`` laid end to end: for each item, its range's number
    ``i`` and its value.

    >>> _spread(np.array([5, 0, 9]), np.array([7, 0, 10]))
    (array([0, 0, 2]), array([5, 6, 9]))
    """
    sizes = stop - first
    owner = np.repeat(np.arange(sizes.size), sizes)
    starts = np.cumsum(sizes) - sizes  # where each range begins in the output
    value = np.arange(owner.size, dtype=np.int64)
    value += (first - starts)[owner]
    return owner, value
