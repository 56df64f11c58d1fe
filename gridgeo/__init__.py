"""gridgeo: the spatial core of urban grid management (城市网格化管理).

The pure core (levels, codes, CRS, coordinates, validation, repair, lookup,
staffing) does no I/O; adapters (``gridgeo.io``, ``gridgeo.cli``,
``gridgeo.api``) sit at the edge. Start with :func:`load`.
"""

from __future__ import annotations

from gridgeo.codes import CodeScheme
from gridgeo.io.dataset import Dataset, load
from gridgeo.levels import Level
from gridgeo.lookup import Locator, LookupResult
from gridgeo.model import GridSet
from gridgeo.settings import Settings

__all__ = [
    "CodeScheme",
    "Dataset",
    "GridSet",
    "Level",
    "Locator",
    "LookupResult",
    "Settings",
    "load",
]
__version__ = "0.1.0"
