"""``gridgeo.load``: read boundary, workstation, staff, partner and routing files into a
:class:`gridgeo.dataset.Dataset`."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TypeVar

from gridgeo.dataset import Dataset
from gridgeo.io.boundaries import ColumnMap, read_boundaries
from gridgeo.io.partners import read_partners
from gridgeo.io.routing import read_routing
from gridgeo.io.staff import read_staff, read_workstations
from gridgeo.settings import Settings
from gridgeo.wording import files_source

_T = TypeVar("_T")


def load(
    paths: str | Path | Sequence[str | Path] | None = None,
    *,
    workstations: str | Path | None = None,
    staff: str | Path | None = None,
    partners: str | Path | None = None,
    routing: str | Path | None = None,
    settings: Settings | None = None,
    columns: ColumnMap | None = None,
    assume_crs: str | None = None,
) -> Dataset:
    """Load boundary files (default: the configured source, the sample pilot data).

    Workstations and staff default to the configured files only when the
    boundaries are the configured default too; pass them explicitly otherwise.
    The same holds for the partner units and the routing table; a file given
    explicitly must exist, a configured default that is missing is skipped.
    """
    settings = settings or Settings()
    default = paths is None
    if paths is None:
        paths = [settings.boundaries]
    elif isinstance(paths, str | Path):
        paths = [paths]
    grids = read_boundaries(paths, columns=columns, assume_crs=assume_crs, scheme=settings.scheme)
    ws_path = workstations or (settings.workstations if default else None)
    staff_path = staff or (settings.staff if default else None)
    return Dataset(
        grids,
        read_workstations(ws_path) if ws_path and Path(ws_path).exists() else [],
        read_staff(staff_path) if staff_path and Path(staff_path).exists() else [],
        settings,
        partners=_read_optional(read_partners, partners, settings.partners, default) or [],
        routing=_read_optional(read_routing, routing, settings.routing, default),
        sources={
            name: str(path)
            for name, path in (
                ("boundaries", files_source(paths)),
                ("staff", staff_path),
                ("partners", partners or (settings.partners if default else None)),
                ("routing", routing or (settings.routing if default else None)),
            )
            if path
        },
    )


def _read_optional(
    reader: Callable[[str | Path], _T],
    given: str | Path | None,
    configured: Path,
    default: bool,
) -> _T | None:
    """Read ``given`` (must exist), else the configured file when it exists and applies."""
    if given is not None:
        return reader(given)
    if default and configured.exists():
        return reader(configured)
    return None
