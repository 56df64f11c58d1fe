"""The top-level commands of ``gridgeo``: which module defines each, and its one-line help.

One table, so that ``gridgeo --help`` lists every command without importing any, and
``gridgeo CMD`` imports only the module of CMD (gridgeo.cli.main). A help is written
when it is asked for (:attr:`Command.help`), in the language of the run, which
``gridgeo.cli.main`` sets before it builds the parser.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from gridgeo.i18n import tr


@dataclass(frozen=True)
class Command:
    """A command: the module under ``gridgeo.cli`` that registers it, and its help."""

    module: str
    text: Callable[[], str]

    @property
    def help(self) -> str:
        """The one-line help, in the current language."""
        return self.text()


COMMANDS: dict[str, Command] = {
    "validate": Command(
        "boundaries",
        lambda: tr("check boundary files; exit 0 clean, 1 problems, 2 unreadable"),
    ),
    "repair": Command(
        "boundaries", lambda: tr("make geometries valid, resolve overlaps, fill gaps")
    ),
    "codes": Command("boundaries", lambda: tr("assign missing fifth-level grid codes")),
    "lookup": Command("lookup", lambda: tr("the grid chain and workstation of a point")),
    "staffing": Command("lookup", lambda: tr("staff by level and role against the plan's rules")),
    "serve": Command("serve", lambda: tr("serve the HTTP API on 127.0.0.1:8000")),
    "import": Command(
        "store",
        lambda: tr("validate a file and write it as a draft version (dry run unless --commit)"),
    ),
    "publish": Command(
        "store", lambda: tr("make a draft version the published one (atomic switch)")
    ),
    "rollback": Command("store", lambda: tr("re-publish an earlier version")),
    "versions": Command("store", lambda: tr("list the stored versions, newest first")),
    "export": Command(
        "store",
        lambda: tr(
            "write a stored version as a file to edit (GeoPackage, GeoJSON or zipped Shapefile)"
        ),
    ),
    "reassign": Command(
        "store",
        lambda: tr("re-assign open cases to another boundaries version and report which moved"),
    ),
    "audit": Command("store", lambda: tr("show the audit log, newest first")),
    "prune-media": Command(
        "store",
        lambda: tr(
            "delete the photos of cases closed more than N days ago (dry run unless --commit)"
        ),
    ),
    "cases": Command(
        "cases",
        lambda: tr("the work loop: list, show, add and act on cases; import/export the event log"),
    ),
    "assign": Command(
        "assign", lambda: tr("assign a table of points (CSV, GeoJSON, Parquet) to grids")
    ),
    "dispatch": Command(
        "dispatch", lambda: tr("who handles a report of a category at a point (1+2+N)")
    ),
    "coverage": Command(
        "dispatch",
        lambda: tr("grids without staff, partner zone overlaps and gaps, file findings"),
    ),
    "maps": Command(
        "maps",
        lambda: tr("render coverage, pilot, validation and case maps (HTML, work offline)"),
    ),
    "diff": Command(
        "diff",
        lambda: tr("compare two versions of the boundaries; exit 0 same, 1 different, 2 bad input"),
    ),
    "keys": Command("keys", lambda: tr("manage API keys of the HTTP API (create, list, revoke)")),
    "outbox": Command(
        "outbox",
        lambda: tr("deliver case events to the webhooks (GRIDGEO_WEBHOOKS) and show their state"),
    ),
    "report": Command("report", lambda: tr("daily, weekly or monthly report as .xlsx or .html")),
    "assess": Command(
        "assess",
        lambda: tr(
            "assessment indicators of a period (closure, on-time closure, rework and "
            "extension rates ...)"
        ),
    ),
}


def help_of(name: str) -> str:
    """The one-line help of command ``name``, in the current language."""
    return COMMANDS[name].help
