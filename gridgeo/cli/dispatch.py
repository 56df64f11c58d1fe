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
    grid_lines,
    outside_lines,
    point_line,
    workstation_line,
)
from gridgeo.cli.source import (
    add_responsibility_options,
    add_source_options,
    load_source,
    source_line,
)
from gridgeo.dataset import Dataset
from gridgeo.dispatch import DispatchResult, LevelTeam
from gridgeo.i18n import current_lang, tr
from gridgeo.io.writers import write_json
from gridgeo.responsibility_coverage import CSV_COLUMNS
from gridgeo.staffing import StaffingReport, StaffMember, employment_label
from gridgeo.wording import bilingual, listing

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


def register(sub: Any) -> None:
    """Add ``dispatch`` and ``coverage`` to the ``gridgeo`` parser."""
    p = sub.add_parser(
        "dispatch",
        help=help_of("dispatch"),
        description=tr(
            "Find the grid chain of a point, the leader and members of each level, "
            "the workstation, and the partner units whose zones cover the point and whose "
            "type the routing table gives the category, each with the reason it matched. "
            "Exit 0 when somebody handles the report, 1 when nobody does or the point is "
            "outside every grid, 2 for bad input."
        ),
    )
    add_point_arguments(p)
    p.add_argument(
        "--category",
        required=True,
        metavar="CODE",
        help=tr(
            "report category: GB/T 30428.2 code (0505, or a major class 05), local code "
            "(9001) or Chinese name (机动车乱停放)"
        ),
    )
    _sources(p)
    add_format(p)
    p.set_defaults(handler=run_dispatch)

    p = sub.add_parser(
        "coverage",
        help=help_of("coverage"),
        description=tr(
            "Over the fifth-level grids in scope (default: the staffed ones), list "
            "grids without staff, same-type partner zones that overlap, area-wide partner "
            "types (enforcement team, police, traffic police, sanitation) that leave gaps, and "
            "the findings of the roster, partner and routing files. Exit 0 clean, 1 problems "
            "found."
        ),
    )
    p.add_argument(
        "--within",
        action="append",
        metavar="CODE",
        help=tr("grid code whose fifth-level grids form the scope (repeatable)"),
    )
    _sources(p)
    add_format(p, ("text", "json", "csv"))
    p.add_argument("-o", "--output", type=Path, help=tr("write the report here (.csv implies csv)"))
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
    """The dispatch answer for people, in the current language."""
    look = result.lookup
    cat = result.category
    lines = [
        point_line(look),
        tr("category {category}", category=_category_name(cat.code, cat.name_zh, cat.name_en))
        + ("" if cat.confirmed else tr(" [code not confirmed against the standard's text]")),
    ]
    if result.rule is not None:
        note = tr(" ({note})", note=result.rule.note) if result.rule.note else ""
        lines.append(tr("routing rule {category}{note}", category=result.rule.category, note=note))
    lines.append(tr("grid chain and staff:"))
    chain = grid_lines([t.grid for t in result.teams])
    for line, team in zip(chain, result.teams, strict=True):
        lines += [line, *_team_lines(team)]
    if not look.grids:
        lines += outside_lines(look)
    workstation = workstation_line(look)
    if workstation:
        lines.append(workstation)
    lines.append(tr("responsible:"))
    if result.grid_involved and result.grid_team:
        g = result.grid_team.grid
        leaders = listing(p.name for p in result.grid_team.leaders)
        lines.append(
            tr(
                "  grid staff (the 2): {code} {name}, grid leader {leader}",
                code=g.code,
                name=g.name,
                leader=leaders or tr("none on the roster"),
            )
        )
        lines.append(tr("      why: {reason}", reason=result.grid_reason))
    for m in result.partners:
        u = m.partner
        contact = listing(v for v in (u.contact, u.phone) if v)
        lines.append(
            tr(
                "  {type} [{group}]: {code} {name}  {contact}",
                type=bilingual(u.type.en, u.type.zh),
                group=u.type.group,
                code=u.code,
                name=u.name,
                contact=contact,
            ).rstrip()
        )
        lines.append(tr("      why: {reason}", reason=m.reason))
    if not result.reached:
        lines.append(tr("  NOBODY: no grid staff involved and no partner zone covers the point"))
    lines += [
        tr(
            "  not covered here: {type} (no unit's zone covers the point)",
            type=bilingual(t.en, t.zh),
        )
        for t in result.uncovered_types
    ]
    lines += [tr("note: {note}", note=n) for n in result.notes]
    return "\n".join(lines)


def _category_name(code: str, zh: str, en: str) -> str:
    """``0505 机动车乱停放``, in English ``0505 机动车乱停放 (illegal motor-vehicle parking)``."""
    return f"{code} {zh}" if current_lang() == "zh" else f"{code} {zh} ({en})"


def _team_lines(t: LevelTeam) -> list[str]:
    """The people of one grid of the chain, under its line."""
    lines = []
    for label, people in (
        (tr("grid leader"), t.leaders),
        (tr("deputy grid leaders"), t.deputies),
        (tr("grid members"), t.members),
    ):
        if people:
            lines.append(tr("      {post}: {names}", post=label, names=_names(people)))
    return lines


def _names(people: Iterable[StaffMember]) -> str:
    return listing(
        tr("{name} ({employment})", name=p.name, employment=employment_label(p.employment))
        for p in people
    )


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
