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
)
from gridgeo.cli.source import add_source_options, load_source, source_line
from gridgeo.io.dataset import Dataset
from gridgeo.lookup import LookupResult


def register(sub: Any) -> None:
    p = sub.add_parser(
        "lookup",
        help=help_of("lookup"),
        description="Find the fifth-level grid holding a point and its chain "
        "up to the city. Exit 1 when the point is outside every grid.",
    )
    add_point_arguments(p)
    _source_options(p)
    add_format(p)
    p.set_defaults(handler=run_lookup)

    p = sub.add_parser(
        "staffing",
        help=help_of("staffing"),
        description="Count staff by level, role and sworn (在编) / auxiliary "
        "(协管), and check each staffed grid against its level's rule. Exit 0 when every "
        "staffed grid meets its rule, 1 otherwise.",
    )
    _source_options(p)
    add_format(p, ("text", "json", "csv"))
    p.add_argument("-o", "--output", type=Path, help="write the report here (.csv implies csv)")
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
    lon, lat = result.cgcs2000
    lines = [f"point ({result.lon}, {result.lat}) {result.crs} -> CGCS2000 ({lon:.7f}, {lat:.7f})"]
    lines += [
        f"  level {int(g.level)} {g.level.label:22} {g.code:16} {g.name}" for g in result.grids
    ]
    if not result.grids:
        lines.append("  outside every grid")
        if result.nearest:
            n = result.nearest
            lines.append(f"  nearest: {n.code} {n.name}, {n.distance_m:.1f} m away")
    if result.workstation:
        ws = result.workstation
        note = " (illustrative location)" if ws.illustrative else ""
        lines.append(f"  workstation (城市管理工作站): {ws.code} {ws.name}, {ws.address}{note}")
    return "\n".join(lines)


def run_staffing(args: argparse.Namespace) -> int:
    data = _dataset(args)
    report = data.staffing()
    run_staffing_export(report, output_format(args), args.output, data)
    return 0 if report.ok else 1
