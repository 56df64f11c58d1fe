"""``gridgeo dispatch``, ``gridgeo coverage`` and the CSV export of ``gridgeo staffing``.

Dispatch answers who handles a report of a category at a point under the
"1+2+N" model (docs/DISPATCH.md); coverage lists grids without staff and the
partner zones' overlaps and gaps, with the findings of the roster, partner
and routing files.
"""

from __future__ import annotations

import argparse
import csv
import io
import sys
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from gridgeo.cli.commands import help_of
from gridgeo.cli.options import (
    add_column_options,
    add_format,
    add_point_arguments,
    emit_json,
)
from gridgeo.cli.source import add_source_options, load_source, source_line
from gridgeo.coverage import CSV_COLUMNS
from gridgeo.dispatch import DispatchResult, LevelTeam
from gridgeo.io.dataset import Dataset
from gridgeo.io.writers import write_json
from gridgeo.staffing import StaffingReport, StaffMember

STAFFING_CSV_COLUMNS = (
    "level",
    "level_name",
    "role",
    "role_zh",
    "employment",
    "employment_zh",
    "grids",
    "required",
    "actual",
    "status",
)


def add_responsibility_options(p: argparse.ArgumentParser) -> None:
    """--partners and --routing (defaults: the configured files with the default boundaries)."""
    p.add_argument(
        "--partners", type=Path, metavar="FILE", help="partner units and zones (GeoJSON or CSV)"
    )
    p.add_argument("--routing", type=Path, metavar="FILE", help="routing table (YAML or CSV)")


def register(sub: Any) -> None:
    """Add ``dispatch`` and ``coverage`` to the ``gridgeo`` parser."""
    p = sub.add_parser(
        "dispatch",
        help=help_of("dispatch"),
        description="Find the grid chain of a point, the leader and members of each level, "
        "the workstation, and the partner units whose zones cover the point and whose type "
        "the routing table gives the category, each with the reason it matched. Exit 0 when "
        "somebody handles the report, 1 when nobody does or the point is outside every grid, "
        "2 for bad input.",
    )
    add_point_arguments(p)
    p.add_argument(
        "--category",
        required=True,
        metavar="CODE",
        help="report category: GB/T 30428.2 code (0505, or a major class 05), local code "
        "(9001) or Chinese name (机动车乱停放)",
    )
    _sources(p)
    add_format(p)
    p.set_defaults(handler=run_dispatch)

    p = sub.add_parser(
        "coverage",
        help=help_of("coverage"),
        description="Over the fifth-level grids in scope (default: the staffed ones), list "
        "grids without staff, same-type partner zones that overlap, area-wide partner types "
        "(enforcement team, police, traffic police, sanitation) that leave gaps, and the "
        "findings of the roster, partner and routing files. Exit 0 clean, 1 problems found.",
    )
    p.add_argument(
        "--within",
        action="append",
        metavar="CODE",
        help="grid code whose fifth-level grids form the scope (repeatable)",
    )
    _sources(p)
    add_format(p, ("text", "json", "csv"))
    p.add_argument("-o", "--output", type=Path, help="write the report here (.csv implies csv)")
    p.set_defaults(handler=run_coverage)


def _sources(p: argparse.ArgumentParser) -> None:
    add_source_options(p, staff=True)
    add_responsibility_options(p)
    add_column_options(p)


def dataset(args: argparse.Namespace) -> Dataset:
    """The dataset of the command's source options (docs: ``gridgeo.cli.source``)."""
    return load_source(
        args, partners=getattr(args, "partners", None), routing=getattr(args, "routing", None)
    )


def run_dispatch(args: argparse.Namespace) -> int:
    """Handler of ``gridgeo dispatch``."""
    data = dataset(args)
    result = data.dispatch(args.lon, args.lat, args.category, crs=args.crs)
    if args.format == "json":
        emit_json({**result.to_dict(), "version": data.version})
    else:
        print(dispatch_text(result))
        print(f"  {source_line(data)}")
    return 0 if result.reached and result.lookup.grids else 1


def dispatch_text(result: DispatchResult) -> str:
    """The dispatch answer for people: English, Chinese names alongside."""
    look = result.lookup
    lon, lat = look.cgcs2000
    cat = result.category
    lines = [
        f"point ({look.lon}, {look.lat}) {look.crs} -> CGCS2000 ({lon:.7f}, {lat:.7f})",
        f"category {cat.label}"
        + ("" if cat.confirmed else " [code not confirmed against the standard's text]"),
    ]
    if result.rule is not None:
        where = f" ({result.rule.note})" if result.rule.note else ""
        lines.append(f"routing rule {result.rule.category}{where}")
    lines.append("grid chain and staff (网格与人员):")
    lines += [line for t in result.teams for line in _team_lines(t)]
    if not look.grids:
        lines.append("  outside every grid")
        if look.nearest:
            n = look.nearest
            lines.append(f"  nearest: {n.code} {n.name}, {n.distance_m:.1f} m away")
    if look.workstation:
        ws = look.workstation
        note = " (illustrative location)" if ws.illustrative else ""
        lines.append(f"workstation (城市管理工作站): {ws.code} {ws.name}, {ws.address}{note}")
    lines.append("responsible (责任方):")
    if result.grid_involved and result.grid_team:
        g = result.grid_team.grid
        leader = ", ".join(p.name for p in result.grid_team.leaders) or "no leader on the roster"
        lines.append(f"  grid staff (网格, the 2): {g.code} {g.name}, leader 网格长 {leader}")
        lines.append(f"      why: {result.grid_reason}")
    for m in result.partners:
        u = m.partner
        contact = ", ".join(v for v in (u.contact, u.phone) if v)
        lines.append(f"  {u.type.label} [{u.type.group}]: {u.code} {u.name}  {contact}".rstrip())
        lines.append(f"      why: {m.reason}")
    if not result.reached:
        lines.append("  NOBODY: no grid staff involved and no partner zone covers the point")
    lines += [
        f"  not covered here: {t.label} (no unit's zone covers the point)"
        for t in result.uncovered_types
    ]
    lines += [f"note: {n}" for n in result.notes]
    return "\n".join(lines)


def _team_lines(t: LevelTeam) -> list[str]:
    g = t.grid
    lines = [f"  level {int(g.level)} {g.level.label:22} {g.code:16} {g.name}"]
    for label, people in (
        ("leader 网格长", t.leaders),
        ("deputies 副网格长", t.deputies),
        ("members 网格员", t.members),
    ):
        if people:
            lines.append(f"      {label}: {_names(people)}")
    return lines


def _names(people: Iterable[StaffMember]) -> str:
    return ", ".join(f"{p.name} ({p.employment.zh} {p.employment.value})" for p in people)


def run_coverage(args: argparse.Namespace) -> int:
    """Handler of ``gridgeo coverage``."""
    data = dataset(args)
    report = data.coverage(args.within)
    fmt = _format(args)
    if fmt == "csv":
        _emit_csv(report.rows(), CSV_COLUMNS, args.output)
    elif fmt == "json":
        _emit_json({**report.to_dict(), "version": data.version}, args.output)
    else:
        _emit_text(f"{report.to_text()}\n{source_line(data)}", args.output)
    return 0 if report.ok else 1


def run_staffing_export(
    report: StaffingReport, fmt: str, output: Path | None, data: Dataset
) -> None:
    """Write the staffing report as text, JSON or CSV, to a file or stdout."""
    if fmt == "csv":
        _emit_csv(report.csv_rows(), STAFFING_CSV_COLUMNS, output)
    elif fmt == "json":
        _emit_json({**report.to_dict(), "version": data.version}, output)
    else:
        _emit_text(f"{report.to_text()}\n{source_line(data)}", output)


def _format(args: argparse.Namespace) -> str:
    output: Path | None = getattr(args, "output", None)
    if output is not None and output.suffix.lower() == ".csv":
        return "csv"
    return str(args.format)


def output_format(args: argparse.Namespace) -> str:
    """``--format``, or csv when ``-o`` names a .csv file."""
    return _format(args)


def _emit_csv(
    rows: Sequence[Mapping[str, Any]], header: Sequence[str], output: Path | None
) -> None:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=list(header), lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    _emit_text(buffer.getvalue().rstrip("\n"), output, bom=output is not None)


def _emit_json(data: Any, output: Path | None) -> None:
    if output is None:
        emit_json(data)
    else:
        write_json(data, output)


def _emit_text(text: str, output: Path | None, *, bom: bool = False) -> None:
    if output is None:
        sys.stdout.write(text + "\n")
        return
    output.parent.mkdir(parents=True, exist_ok=True)
    tmp = output.with_name(f".{output.name}.tmp")
    # a BOM lets Excel open UTF-8 CSV with the Chinese names intact
    tmp.write_text(text + "\n", encoding="utf-8-sig" if bom else "utf-8")
    tmp.replace(output)
