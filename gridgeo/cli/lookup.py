"""``gridgeo lookup`` and ``gridgeo staffing``."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from gridgeo.cli.commands import help_of
from gridgeo.cli.dispatch import output_format, run_staffing_export
from gridgeo.cli.options import (
    add_column_options,
    add_format,
    add_point_arguments,
    emit_json,
    grid_lines,
    outside_lines,
    point_line,
    workstation_line,
)
from gridgeo.cli.source import add_source_options, load_source, source_line
from gridgeo.dataset import Dataset
from gridgeo.i18n import tr
from gridgeo.lookup import LookupResult


def register(sub: Any) -> None:
    p = sub.add_parser(
        "lookup",
        help=help_of("lookup"),
        description=tr(
            "Find the fifth-level grid holding a point and its chain "
            "up to the city. Exit 1 when the point is outside every grid."
        ),
    )
    add_point_arguments(p)
    _source_options(p)
    add_format(p)
    p.set_defaults(handler=run_lookup)

    p = sub.add_parser(
        "staffing",
        help=help_of("staffing"),
        description=tr(
            "Count staff by level, role and employment (sworn officers, auxiliary officers, "
            "cadres), and check each staffed grid against its level's rule. Exit 0 when every "
            "staffed grid meets its rule, 1 otherwise."
        ),
    )
    _source_options(p)
    add_format(p, ("text", "json", "csv"))
    p.add_argument("-o", "--output", type=Path, help=tr("write the report here (.csv implies csv)"))
    p.set_defaults(handler=run_staffing)


def _source_options(p: argparse.ArgumentParser) -> None:
    add_source_options(p, staff=True)
    add_column_options(p)


def _dataset(args: argparse.Namespace) -> Dataset:
    return load_source(args)


def run_lookup(args: argparse.Namespace) -> int:
    data = _dataset(args)
    result = data.lookup(args.lon, args.lat, crs=args.crs)
    if args.format == "json":
        emit_json({**result.to_dict(), "version": data.version})
    else:
        print(_as_text(result))
        print(f"  {source_line(data)}")
    return 0 if result.grids else 1


def _as_text(result: LookupResult) -> str:
    lines = [point_line(result), *grid_lines(result.grids)]
    if not result.grids:
        lines += outside_lines(result)
    workstation = workstation_line(result, indent="  ")
    if workstation:
        lines.append(workstation)
    return "\n".join(lines)


def run_staffing(args: argparse.Namespace) -> int:
    data = _dataset(args)
    report = data.staffing()
    run_staffing_export(report, output_format(args), args.output, data)
    return 0 if report.ok else 1
