"""Standard geometries shared by the tests (like shapely's and geopandas' test helpers).

``nested_dataset()`` is a clean five-level tessellation near Guilin: one city,
2 districts, 4 streets, 8 communities and 32 fifth-level grids, all
rectangles whose shared edges come from splitting the parent's bounds, so
neighbours carry the floating-point noise real data has.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
from shapely.geometry import Polygon, box

from gridgeo.model import GridSet

CITY = "450300"
CITY_BOUNDS = (110.20, 25.20, 110.40, 25.40)

# Two districts side by side (west/east), each split north/south into streets, each street
# west/east into communities, each community 2x2 into grids.
DISTRICTS = ("450302", "450304")


def split(
    bounds: tuple[float, float, float, float], nx: int, ny: int
) -> Iterator[tuple[float, float, float, float]]:
    """Bounds of an nx-by-ny split, rows from the north, west to east (reading order)."""
    xs = np.linspace(bounds[0], bounds[2], nx + 1)
    ys = np.linspace(bounds[3], bounds[1], ny + 1)
    for row in range(ny):
        for col in range(nx):
            yield (float(xs[col]), float(ys[row + 1]), float(xs[col + 1]), float(ys[row]))


def nested_records() -> list[tuple[str, str, int, Polygon]]:
    """(code, name, level, geometry) of the clean nested dataset, top first."""
    out: list[tuple[str, str, int, Polygon]] = [(CITY, "桂林市", 1, box(*CITY_BOUNDS))]
    for d_code, d_bounds in zip(DISTRICTS, split(CITY_BOUNDS, 2, 1), strict=True):
        out.append((d_code, f"区{d_code}", 2, box(*d_bounds)))
        for s, s_bounds in enumerate(split(d_bounds, 1, 2), start=1):
            s_code = f"{d_code}{s:03d}"
            out.append((s_code, f"街道{s_code}", 3, box(*s_bounds)))
            for c, c_bounds in enumerate(split(s_bounds, 2, 1), start=1):
                c_code = f"{s_code}{c:03d}"
                out.append((c_code, f"社区{c_code}", 4, box(*c_bounds)))
                for g, g_bounds in enumerate(split(c_bounds, 2, 2), start=1):
                    g_code = f"{c_code}{g:03d}"
                    out.append((g_code, f"网格{g_code}", 5, box(*g_bounds)))
    return out


def nested_dataset() -> GridSet:
    """The clean nested five-level dataset as a GridSet."""
    rows = nested_records()
    return GridSet.from_records(
        [r[0] for r in rows],
        [r[3] for r in rows],
        names=[r[1] for r in rows],
        levels=[r[2] for r in rows],
    )


def grid_set(*items: tuple[str, Polygon], **kwargs: object) -> GridSet:
    """A small grid set from (code, geometry) pairs; levels inferred from codes."""
    return GridSet.from_records([c for c, _ in items], [g for _, g in items], **kwargs)  # type: ignore[arg-type]


def bowtie(x: float = 110.30, y: float = 25.30, d: float = 0.01) -> Polygon:
    """A self-intersecting ring (invalid: Self-intersection at its centre)."""
    return Polygon([(x, y), (x + d, y + d), (x + d, y), (x, y + d), (x, y)])


# Four communities of one street meeting at one vertex (110.3, 25.3), for tie rules.
STREET = "450302001"
QUAD = {
    f"{STREET}001": box(110.29, 25.30, 110.30, 25.31),  # north-west
    f"{STREET}002": box(110.30, 25.30, 110.31, 25.31),  # north-east
    f"{STREET}003": box(110.29, 25.29, 110.30, 25.30),  # south-west
    f"{STREET}004": box(110.30, 25.29, 110.31, 25.30),  # south-east
}


# --- the sample pilot data with one community's grids redrawn ------------------------------
# 文明社区 (450302001001): grid 1 takes a strip of grid 2 along their shared border. Used by
# the diff, store and history tests as "version 2" of the sample boundaries.
REDRAWN_GRIDS = ("450302001001001", "450302001001002")
REDRAW_STRIP_DEG = 0.0003  # about 30 m


def redraw_strip(sample: GridSet) -> Polygon:
    """The part of grid 2 within REDRAW_STRIP_DEG of grid 1: the area the redraw moves."""
    import shapely

    one, two = (sample.geometries[sample.position(c)] for c in REDRAWN_GRIDS)
    strip: Polygon = shapely.intersection(two, shapely.buffer(one, REDRAW_STRIP_DEG))
    return strip


def redrawn_sample(sample: GridSet) -> GridSet:
    """The sample with the border between grids 1 and 2 of 文明社区 moved into grid 2."""
    from gridgeo.geometry import difference, union

    strip = redraw_strip(sample)
    geoms = sample.geometries.copy()
    one, two = (sample.position(c) for c in REDRAWN_GRIDS)
    geoms[one] = union([geoms[one], strip])
    geoms[two] = difference(geoms[two], strip)
    return sample.with_geometries(geoms)
