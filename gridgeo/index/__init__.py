"""Fast exact assignment of points to leaf grids (see :class:`GridIndex`)."""

from __future__ import annotations

from gridgeo.index.grid_index import GridIndex

__all__ = ["GridIndex"]
