"""What the tile tests share: the Web Mercator tile under a point, and a pilot point."""

from __future__ import annotations

import math

PILOT = (110.2965, 25.2785)  # 文明社区, in the pilot street


def tile_of(lon: float, lat: float, z: int) -> tuple[int, int]:
    """Column and row (XYZ, y down) of the zoom-``z`` tile holding a WGS84 point."""
    n = 2**z
    x = int((lon + 180) / 360 * n)
    y = int((1 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2 * n)
    return x, y
