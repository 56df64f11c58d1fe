"""The top-level commands of ``gridgeo``: which module defines each, and its one-line help.

One table, so that ``gridgeo --help`` lists every command without importing any, and
``gridgeo CMD`` imports only the module of CMD (gridgeo.cli.main).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Command:
    """A command: the module under ``gridgeo.cli`` that registers it, and its help."""

    module: str
    help: str


COMMANDS: dict[str, Command] = {
    "validate": Command(
        "boundaries", "check boundary files; exit 0 clean, 1 problems, 2 unreadable"
    ),
    "repair": Command("boundaries", "make geometries valid, resolve overlaps, fill gaps"),
    "codes": Command("boundaries", "assign missing fifth-level grid codes"),
    "lookup": Command("lookup", "the grid chain and workstation of a point"),
    "staffing": Command("lookup", "staff by level and role against the plan's rules"),
    "serve": Command("serve", "serve the HTTP API on 127.0.0.1:8000"),
    "import": Command(
        "store", "validate a file and write it as a draft version (dry run unless --commit)"
    ),
    "publish": Command("store", "make a draft version the published one (atomic switch)"),
    "rollback": Command("store", "re-publish an earlier version"),
    "versions": Command("store", "list the stored versions, newest first"),
    "export": Command(
        "store",
        "write a stored version as a file to edit (GeoPackage, GeoJSON or zipped Shapefile)",
    ),
    "reassign": Command(
        "store", "re-assign open cases to another boundaries version and report which moved"
    ),
    "audit": Command("store", "show the audit log, newest first"),
    "prune-media": Command(
        "store", "delete the photos of cases closed more than N days ago (dry run unless --commit)"
    ),
    "cases": Command(
        "cases", "the work loop: list, show, add and act on cases; import/export the event log"
    ),
    "assign": Command("assign", "assign a table of points (CSV, GeoJSON, Parquet) to grids"),
    "dispatch": Command("dispatch", "who handles a report of a category at a point (1+2+N)"),
    "coverage": Command(
        "dispatch", "grids without staff, partner zone overlaps and gaps, file findings"
    ),
    "maps": Command(
        "maps", "render coverage, pilot, validation and case maps (HTML, work offline)"
    ),
    "diff": Command(
        "diff", "compare two versions of the boundaries; exit 0 same, 1 different, 2 bad input"
    ),
    "keys": Command("keys", "manage API keys of the HTTP API (create, list, revoke)"),
    "outbox": Command(
        "outbox", "deliver case events to the webhooks (GRIDGEO_WEBHOOKS) and show their state"
    ),
    "report": Command(
        "report", "daily, weekly or monthly report (日报/周报/月报) as .xlsx or .html"
    ),
    "assess": Command(
        "assess", "assessment indicators of a period (结案率, 按期结案率, 返工率, 延期率 ...)"
    ),
}


def help_of(name: str) -> str:
    """The one-line help of command ``name``."""
    return COMMANDS[name].help
