"""``gridgeo validate``, ``gridgeo repair`` and ``gridgeo codes``."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from gridgeo.cli.commands import help_of
from gridgeo.cli.options import (
    add_column_options,
    add_format,
    columns,
    emit_json,
    finding_line,
    settings,
)
from gridgeo.cli.source import add_version_options, store_dataset, store_settings
from gridgeo.errors import GridgeoError
from gridgeo.i18n import tr
from gridgeo.io.boundaries import read_boundaries
from gridgeo.io.writers import write_grids, write_json
from gridgeo.model import GridSet
from gridgeo.numbering import assign_grid_codes
from gridgeo.repair import repair
from gridgeo.settings import Settings, ValidationSettings
from gridgeo.validation import ValidationReport, validate


def register(sub: Any) -> None:
    p = sub.add_parser(
        "validate",
        help=help_of("validate"),
        description=tr(
            "Check geometry, codes and hierarchy "
            "(overlaps, gaps, outside parent) of boundary files read together."
        ),
    )
    p.add_argument("files", nargs="+", type=Path, metavar="FILE")
    add_format(p, ("text", "json", "geojson"))
    p.add_argument("-o", "--output", type=Path, help=tr("write the report here instead of stdout"))
    _threshold_options(p)
    add_column_options(p)
    p.set_defaults(handler=run_validate)

    p = sub.add_parser(
        "repair",
        help=help_of("repair"),
        description=tr(
            "Repair boundary files and write the result; every change "
            "is reported with its area. The output is validated again."
        ),
    )
    p.add_argument("files", nargs="+", type=Path, metavar="FILE")
    p.add_argument(
        "-o",
        "--output",
        type=Path,
        required=True,
        help=tr("repaired file (.gpkg, .geojson or .zip Shapefile)"),
    )
    add_format(p)
    _threshold_options(p)
    add_column_options(p)
    p.set_defaults(handler=run_repair)

    p = sub.add_parser(
        "codes",
        help=help_of("codes"),
        description=tr(
            "Number grids without a code inside each community, west "
            "to east then north to south; refuses files with duplicate codes."
        ),
    )
    p.add_argument("file", type=Path, metavar="FILE")
    p.add_argument(
        "-o",
        "--output",
        type=Path,
        required=True,
        help=tr("numbered file (.gpkg, .geojson or .zip Shapefile)"),
    )
    p.add_argument(
        "--parents",
        type=Path,
        metavar="FILE",
        help=tr(
            "file with the communities (default: those in FILE and in the store's published "
            "version, whose grid codes are then never given again)"
        ),
    )
    add_version_options(p)
    add_format(p)
    add_column_options(p)
    p.set_defaults(handler=run_codes)


def _threshold_options(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group(tr("thresholds (defaults from GRIDGEO_* settings)"))
    g.add_argument(
        "--area-tolerance",
        type=float,
        metavar="M2",
        help=tr("areas at or below this are noise (default 1 m²)"),
    )
    g.add_argument(
        "--tolerance",
        type=float,
        metavar="M",
        help=tr(
            "overlaps, gaps and outside areas no wider than this are artefacts (default 0.05 m)"
        ),
    )
    g.add_argument("--tiny-part", type=float, metavar="M2", help=tr("tiny-part threshold (m²)"))
    g.add_argument("--sliver-width", type=float, metavar="M", help=tr("sliver mean width (m)"))
    g.add_argument(
        "--max-gap-fill",
        type=float,
        metavar="M2",
        help=tr("repair fills gaps up to this area (m²)"),
    )


def _validation_settings(args: argparse.Namespace) -> ValidationSettings:
    base = ValidationSettings()
    updates = {
        key: value
        for key, value in (
            ("area_tolerance_m2", args.area_tolerance),
            ("tolerance_m", args.tolerance),
            ("tiny_part_m2", args.tiny_part),
            ("sliver_width_m", args.sliver_width),
            ("max_gap_fill_m2", args.max_gap_fill),
        )
        if value is not None
    }
    return base.model_copy(update=updates)


def _read(args: argparse.Namespace, files: list[Path], cfg: Settings) -> GridSet:
    return read_boundaries(
        files, columns=columns(args), assume_crs=args.assume_crs, scheme=cfg.scheme
    )


def run_validate(args: argparse.Namespace) -> int:
    cfg = settings(args)
    report = validate(_read(args, args.files, cfg), _validation_settings(args))
    _write_report(report, args.format, args.output)
    return 0 if report.ok else 1


def _write_report(report: ValidationReport, fmt: str, output: Path | None) -> None:
    if fmt == "text":
        text = report.to_text()
        if output:
            output.write_text(text + "\n", encoding="utf-8")
        else:
            print(text)
        return
    data = report.to_dict() if fmt == "json" else report.to_geojson()
    if output:
        write_json(data, output)
    else:
        emit_json(data)


def run_repair(args: argparse.Namespace) -> int:
    cfg = settings(args)
    thresholds = _validation_settings(args)
    result = repair(_read(args, args.files, cfg), thresholds)
    write_grids(result.grids, args.output)
    after = validate(result.grids, thresholds)
    if args.format == "json":
        emit_json(
            {
                "output": str(args.output),
                "changes": [a.to_dict() for a in result.actions],
                "validation_after": after.to_dict(),
            }
        )
    else:
        print(result.to_text())
        print(
            tr(
                "wrote {path}; validation of the output: {errors} errors, {warnings} warnings",
                path=args.output,
                errors=len(after.errors),
                warnings=len(after.warnings),
            )
        )
        for finding in after.errors:
            print(finding_line("error", finding.rule, finding.message))
    if not after.ok:
        print(
            tr("the output still has errors (see above); codes are not changed by repair"),
            file=sys.stderr,
        )
    return 0 if after.ok else 1


def run_codes(args: argparse.Namespace) -> int:
    cfg = store_settings(args)
    grids = _read(args, [args.file], cfg)
    version: int | None = None
    taken: list[str] = []
    if args.parents:
        if args.version is not None or args.at is not None:
            raise GridgeoError(tr("give --parents FILE or --version/--at, not both"))
        parents = _read(args, [args.parents], cfg)
        source = tr("communities: {path}", path=args.parents)
    else:
        from gridgeo.store.datasets import issued_codes

        published = store_dataset(args, cfg)
        parents, version = published.grids, published.version
        taken = sorted(issued_codes(cfg))
        source = tr(
            "communities: {source}; codes ever published are not reused",
            source=published.sources.get("boundaries") or published.version,
        )
    numbered, assigned = assign_grid_codes(grids, parents, taken=taken)
    write_grids(numbered, args.output)
    if args.format == "json":
        emit_json(
            {
                "output": str(args.output),
                "assigned": [a.__dict__ for a in assigned],
                "version": version,
            }
        )
    else:
        for a in assigned:
            print(
                tr(
                    "{code}  {name} [{ref}] in community {community}",
                    code=a.code,
                    name=a.name or tr("(no name)"),
                    ref=a.ref,
                    community=a.community_code,
                )
            )
        print(tr("{n} codes assigned; wrote {path}", n=len(assigned), path=args.output))
        print(source)
    return 0
