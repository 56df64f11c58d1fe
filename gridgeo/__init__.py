"""gridgeo: the spatial core of urban grid management (城市网格化管理).

The pure core (levels, codes, CRS, coordinates, validation, repair, lookup,
staffing) does no I/O; adapters (``gridgeo.io``, ``gridgeo.cli``,
``gridgeo.api``) sit at the edge. Start with :func:`load`.

``import gridgeo`` is light: the names below are imported on first use (PEP 562),
so a command or a worker that needs none of them does not pay for geopandas.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from gridgeo.codes import CodeScheme
    from gridgeo.dataset import Dataset
    from gridgeo.io.dataset import load
    from gridgeo.levels import Level
    from gridgeo.lookup import Locator, LookupResult
    from gridgeo.model import GridSet
    from gridgeo.settings import Settings

_HOMES = {
    "CodeScheme": "gridgeo.codes",
    "Dataset": "gridgeo.dataset",
    "load": "gridgeo.io.dataset",
    "Level": "gridgeo.levels",
    "Locator": "gridgeo.lookup",
    "LookupResult": "gridgeo.lookup",
    "GridSet": "gridgeo.model",
    "Settings": "gridgeo.settings",
}
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


def __getattr__(name: str) -> Any:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module 'gridgeo' has no attribute {name!r}")
    value = getattr(importlib.import_module(home), name)
    globals()[name] = value  # once: later lookups are plain attribute reads
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *_HOMES])
