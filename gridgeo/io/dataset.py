"""``gridgeo.load``: boundaries, workstations and staff as one object with the core verbs."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

from gridgeo.io.boundaries import ColumnMap, read_boundaries
from gridgeo.io.staff import read_staff, read_workstations
from gridgeo.levels import Level
from gridgeo.lookup import Locator, LookupResult
from gridgeo.model import GridSet
from gridgeo.repair import RepairResult, repair
from gridgeo.settings import Settings
from gridgeo.staffing import StaffingReport, StaffMember, staffing_report
from gridgeo.validation import Report, validate
from gridgeo.workstation import Workstation


@dataclass
class Dataset:
    """Boundaries with their workstations and staff, and what can be asked of them.

    Examples
    --------
    >>> import gridgeo
    >>> data = gridgeo.load()                      # the sample pilot data
    >>> data.lookup(110.2965, 25.2775, crs="wgs84").leaf.code   # doctest: +SKIP
    '450302001001002'
    """

    grids: GridSet
    workstations: list[Workstation] = field(default_factory=list)
    staff: list[StaffMember] = field(default_factory=list)
    settings: Settings = field(default_factory=Settings)

    @cached_property
    def locator(self) -> Locator:
        return Locator(self.grids, self.workstations, self.settings.nearest_tolerance_m)

    def validate(self) -> Report:
        """All validation findings (see :func:`gridgeo.validation.validate`)."""
        return validate(self.grids, self.settings.validation)

    def repair(self) -> RepairResult:
        """Repaired boundaries and the changes (see :func:`gridgeo.repair.repair`)."""
        return repair(self.grids, self.settings.validation)

    def lookup(self, lon: float, lat: float, crs: str = "wgs84") -> LookupResult:
        """The grid chain and workstation of one point (see :class:`gridgeo.lookup.Locator`)."""
        return self.locator.lookup(lon, lat, crs)

    def staffing(self) -> StaffingReport:
        """Staff counts and rule findings."""
        levels = {
            c: Level(int(lv))
            for c, lv in zip(self.grids.codes, self.grids.levels, strict=True)
            if c is not None and lv > 0
        }
        return staffing_report(self.staff, levels)


def load(
    paths: str | Path | Sequence[str | Path] | None = None,
    *,
    workstations: str | Path | None = None,
    staff: str | Path | None = None,
    settings: Settings | None = None,
    columns: ColumnMap | None = None,
    assume_crs: str | None = None,
) -> Dataset:
    """Load boundary files (default: the configured source, the sample pilot data).

    Workstations and staff default to the configured files only when the
    boundaries are the configured default too; pass them explicitly otherwise.
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
    )
