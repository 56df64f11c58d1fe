"""Validation of boundary data: geometry, codes and hierarchy rules.

Use :func:`validate`; the rules and their names are listed in the modules
``geometry_rules``, ``code_rules`` and ``hierarchy_rules`` and in
docs/VALIDATION.md.
"""

from __future__ import annotations

from gridgeo.model import GridSet
from gridgeo.settings import ValidationSettings
from gridgeo.validation.code_rules import check_codes
from gridgeo.validation.context import Context
from gridgeo.validation.geometry_rules import check_geometries
from gridgeo.validation.hierarchy_rules import check_hierarchy
from gridgeo.validation.report import BoundaryFinding, ValidationReport

__all__ = ["BoundaryFinding", "ValidationReport", "validate"]


def validate(grids: GridSet, settings: ValidationSettings | None = None) -> ValidationReport:
    """Check a grid set against every rule and return all findings.

    Never raises on bad geometry: invalid, empty or non-polygonal features are
    reported and the hierarchy rules run on their made-valid polygonal part.

    Parameters
    ----------
    grids
        Features of one or more levels, in EPSG:4490.
    settings
        Thresholds; defaults come from ``GRIDGEO_*`` environment variables.

    Returns
    -------
    ValidationReport
        Errors and warnings; ``report.ok`` is True when there are no errors.
    """
    ctx = Context(grids, settings or ValidationSettings.defaults())
    report = ValidationReport(features=len(grids), metric_epsg=ctx.frame.epsg)
    for rules in (check_geometries, check_codes, check_hierarchy):
        report.findings.extend(rules(ctx))
    return report
