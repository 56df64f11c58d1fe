"""The dataset: boundaries, workstations, staff, partner units and routing as one object
with the core verbs (validate, repair, lookup, dispatch, coverage).

It is the core's front object and does no I/O: :func:`gridgeo.load` (in
:mod:`gridgeo.io.dataset`) reads files into one, the store reads its published version
into one.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cached_property

from gridgeo.categories import CategoryTable, default_categories
from gridgeo.dispatch import DispatchResult, ZoneIndex, dispatch, staff_by_grid
from gridgeo.errors import InputFileError
from gridgeo.findings import Finding
from gridgeo.i18n import tr
from gridgeo.levels import Level
from gridgeo.lookup import Locator, LookupResult
from gridgeo.model import GridSet
from gridgeo.partners import PartnerUnit
from gridgeo.repair import RepairResult, repair
from gridgeo.responsibility_coverage import CoverageReport, coverage_report, validate_partners
from gridgeo.routing import RoutingTable, validate_routing
from gridgeo.settings import Settings
from gridgeo.staffing import StaffingReport, StaffMember, roster_findings, staffing_report
from gridgeo.validation import ValidationReport, validate
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
    # The store's boundaries version these grids are (None when read from files).
    version: int | None = None
    # 1+2+N responsibility model (docs/DISPATCH.md): partner units, routing table, and
    # the files they came from (for findings that name the file)
    partners: list[PartnerUnit] = field(default_factory=list)
    routing: RoutingTable | None = None
    sources: dict[str, str] = field(default_factory=dict)

    @cached_property
    def locator(self) -> Locator:
        return Locator(self.grids, self.workstations, self.settings.nearest_tolerance_m)

    def validate(self) -> ValidationReport:
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
        return staffing_report(self.staff, self._grid_levels())

    def _grid_levels(self) -> dict[str, Level]:
        return {
            c: Level(int(lv))
            for c, lv in zip(self.grids.codes, self.grids.levels, strict=True)
            if c is not None and lv > 0
        }

    @cached_property
    def zones(self) -> ZoneIndex:
        """The partners' zones resolved against the boundaries, indexed."""
        return ZoneIndex.from_partners(self.partners, self.grids)

    @cached_property
    def categories(self) -> CategoryTable:
        """National and pilot categories, plus the routing file's own local ones."""
        return self.routing.category_table() if self.routing else default_categories()

    @cached_property
    def _teams(self) -> dict[str, list[StaffMember]]:
        return staff_by_grid(self.staff)

    def dispatch(self, lon: float, lat: float, category: str, crs: str = "wgs84") -> DispatchResult:
        """Who handles a report of ``category`` at a point (see :func:`gridgeo.dispatch.dispatch`).

        Raises
        ------
        InputFileError
            When no routing table is loaded.
        CategoryError, CoordinateError
            For an unknown category or a bad coordinate.
        """
        routing = self.require_routing()
        result = self.lookup(lon, lat, crs)
        return dispatch(
            result,
            category,
            staff=self._teams,
            zones=self.zones,
            routing=routing,
            categories=self.categories,
        )

    def require_routing(self) -> RoutingTable:
        """The routing table, or an error saying how to give one."""
        if self.routing is None:
            raise InputFileError(
                tr("no routing table loaded: give --routing FILE or set GRIDGEO_ROUTING")
            )
        return self.routing

    def responsibility_findings(self) -> list[Finding]:
        """Findings of the roster, partner and routing files (docs/DISPATCH.md)."""
        findings = roster_findings(
            self.staff, self._grid_levels(), source=self.sources.get("staff", "")
        )
        findings += validate_partners(
            self.zones.zones,
            self.grids,
            source=self.sources.get("partners", ""),
            area_tolerance_m2=self.settings.validation.area_tolerance_m2,
        )
        if self.routing is not None:
            available = {p.type for p in self.partners}
            findings += validate_routing(self.routing, self.categories, available)
        return findings

    def coverage(self, within: Sequence[str] | None = None) -> CoverageReport:
        """Grids without staff, zone overlaps and gaps, and the files' findings."""
        return coverage_report(
            self.grids,
            self.staff,
            self.zones.zones,
            within=within,
            area_tolerance_m2=self.settings.validation.area_tolerance_m2,
            findings=self.responsibility_findings(),
        )
