"""``gridgeo maps``: render the coverage, pilot, validation and case maps into a folder.

``--assess`` adds the work loop's maps of a period, from the store's published
version: one assessment choropleth per indicator and level
(:mod:`gridgeo.maps.assessment_map`) and the case heat map with the overdue cases
(:mod:`gridgeo.maps.heat`).
"""

from __future__ import annotations

import argparse
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pandas as pd

from gridgeo.assessment import Grouping, Period
from gridgeo.cli.commands import help_of
from gridgeo.cli.options import (
    add_column_options,
    add_format,
    columns,
    emit_json,
)
from gridgeo.cli.source import add_source_options, load_source, source_line, store_settings
from gridgeo.deadlines import BEIJING
from gridgeo.errors import InputFileError
from gridgeo.i18n import current_lang, tr
from gridgeo.io.dataset import load
from gridgeo.io.tables import read_chunks
from gridgeo.levels import Level
from gridgeo.maps.assessment_map import INDICATORS, assessment_map, page_name, page_title
from gridgeo.maps.assets import copy_leaflet_heat
from gridgeo.maps.cases import DEFAULT_CLASSES, DEFAULT_SCHEME, SCHEMES
from gridgeo.maps.heat import MAX_POINTS, case_points, heat_map
from gridgeo.maps.heat import say as heat_text
from gridgeo.maps.render import (
    CaseOptions,
    RenderedMaps,
    basemap_from,
    render_maps,
    write_index,
    write_page,
)
from gridgeo.settings import Settings
from gridgeo.store.assessment import assess, overdue_open
from gridgeo.store.core import Store
from gridgeo.store.datasets import published_dataset
from gridgeo.wording import text_table

HEAT_PAGE = "case_heat.html"
OVERDUE_SHOWN = 200  # overdue cases drawn on the heat map, most overdue first


def register(sub: Any) -> None:
    """Add the ``maps`` sub-command to the ``gridgeo`` parser."""
    p = sub.add_parser(
        "maps",
        help=help_of("maps"),
        description=tr(
            "Render one coverage map per level, the pilot overview, a map of the "
            "validation findings and a case map into a folder of HTML pages with Leaflet "
            "beside them (lib/): they open from disk or any intranet server with no internet."
        ),
    )
    p.add_argument(
        "-o",
        "--output",
        type=Path,
        metavar="DIR",
        help=tr("output folder (default GRIDGEO_MAPS_DIR: maps/ in the data home)"),
    )
    add_source_options(p, staff=True)
    p.add_argument(
        "--basemap",
        choices=("none", "tianditu", "xyz"),
        help=tr("base layer (default GRIDGEO_BASEMAP or none)"),
    )
    p.add_argument(
        "--validate",
        type=Path,
        action="append",
        metavar="FILE",
        help=tr(
            "boundary file(s) whose validation findings the validation map shows "
            "(default: the mapped boundaries)"
        ),
    )
    g = p.add_argument_group(tr("case map"))
    g.add_argument(
        "--cases",
        type=Path,
        metavar="FILE",
        help=tr("case points, CSV/GeoJSON/Parquet (default GRIDGEO_MAP_CASES when it exists)"),
    )
    g.add_argument("--no-cases", action="store_true", help=tr("no case map"))
    g.add_argument(
        "--lon-col", default="lon", metavar="COL", help=tr("longitude column (default lon)")
    )
    g.add_argument(
        "--lat-col", default="lat", metavar="COL", help=tr("latitude column (default lat)")
    )
    g.add_argument(
        "--crs",
        default="wgs84",
        help=tr("coordinates of the cases: wgs84, cgcs2000, gcj02, bd09"),
    )
    g.add_argument(
        "--case-level",
        type=int,
        choices=[int(lv) for lv in Level],
        default=int(Level.GRID),
        help=tr("level whose grids count the cases (default 5)"),
    )
    g.add_argument(
        "--classes",
        type=int,
        choices=range(1, 8),
        default=DEFAULT_CLASSES,
        metavar="K",
        help=tr("number of classes (default {n})", n=DEFAULT_CLASSES),
    )
    g.add_argument(
        "--scheme",
        choices=SCHEMES,
        default=DEFAULT_SCHEME,
        help=tr("class breaks (mapclassify; default {scheme})", scheme=DEFAULT_SCHEME),
    )
    a = p.add_argument_group(
        tr("assessment maps (the work loop: cases in the store, on its published boundaries)")
    )
    a.add_argument(
        "--assess",
        action="store_true",
        help=tr(
            "also render the assessment maps of a period (one page per indicator and level) "
            "and the case heat map with the overdue cases"
        ),
    )
    a.add_argument(
        "--from",
        dest="start",
        metavar="DATE",
        help=tr(
            "first day (2026-11-01, Beijing midnight) or ISO 8601 time with offset "
            "(default: the first day of this month)"
        ),
    )
    a.add_argument(
        "--to",
        dest="end",
        metavar="DATE",
        help=tr(
            "end, exclusive (2026-12-01 counts November whole; default: tomorrow, so today is in)"
        ),
    )
    a.add_argument(
        "--indicator",
        action="append",
        choices=list(INDICATORS),
        help=tr("indicator to map (repeatable; default: all)"),
    )
    a.add_argument(
        "--level",
        action="append",
        type=int,
        choices=[int(lv) for lv in Level],
        help=tr("grid level to count per (repeatable; default 5, the fifth-level grids)"),
    )
    add_column_options(p)
    add_format(p)
    p.set_defaults(handler=run_maps)


def run_maps(args: argparse.Namespace) -> int:
    cfg = store_settings(args)
    updates: dict[str, object] = {}
    if lang := current_lang():
        updates["lang"] = lang
    if args.basemap:
        updates["maps"] = cfg.maps.model_copy(update={"basemap": args.basemap})
    cfg = cfg.model_copy(update=updates)
    data = load_source(args, cfg)
    checked = (
        load(args.validate, settings=cfg, columns=columns(args), assume_crs=args.assume_crs)
        if args.validate
        else None
    )
    result = render_maps(
        data,
        args.output or cfg.maps.maps_dir,
        settings=cfg,
        validation_data=checked,
        cases=_cases(args, cfg.maps.map_cases),
    )
    if args.assess:
        titles = render_assessment(args, cfg, result)
        write_index(result, cfg.lang, titles)
    if args.format == "json":
        emit_json(
            {
                "folder": str(result.folder),
                "pages": {k: str(v) for k, v in result.pages.items()},
                "skipped": result.skipped,
                "version": data.version,
            }
        )
    else:
        rows = [[key, str(path)] for key, path in result.pages.items()]
        rows += [[key, tr("skipped: {why}", why=why)] for key, why in result.skipped.items()]
        print("\n".join(text_table(["", ""], rows)[1:]))
        print(source_line(data))
    return 0


def _cases(args: argparse.Namespace, default: Path) -> CaseOptions | None:
    if args.no_cases:
        return None
    path = args.cases or (default if default.exists() else None)
    if path is None:
        return None
    if not Path(path).exists():
        raise InputFileError(tr("{path}: case file not found", path=path))
    chunks = list(read_chunks(path, lon_col=args.lon_col, lat_col=args.lat_col))
    frame = pd.concat(chunks, ignore_index=True) if len(chunks) > 1 else chunks[0]
    return CaseOptions(
        frame,
        lon_col=args.lon_col,
        lat_col=args.lat_col,
        crs=args.crs,
        level=Level(args.case_level),
        scheme=args.scheme,
        classes=args.classes,
    )


def render_assessment(args: argparse.Namespace, cfg: Settings, out: RenderedMaps) -> dict[str, str]:
    """Write the assessment pages and the heat map of the period into ``out``'s folder.

    Returns the index titles of the pages written (key -> title).
    """
    period = _period(args.start, args.end)
    store = Store(cfg.store.database_url)
    data = published_dataset(store, cfg)  # the version the cases were assigned with
    base = basemap_from(cfg)
    lang = cfg.lang
    titles: dict[str, str] = {}
    for level in args.level or [int(Level.GRID)]:
        found = assess(store, period, Grouping.GRID, level=level, data=data)
        for key in args.indicator or list(INDICATORS):
            m = assessment_map(data.grids, found, key, lang=lang, basemap=base)
            page = f"assess_{key}_{level}"
            write_page(out, page, page_name(key, level), m)
            titles[page] = page_title(key, level, lang)

    copy_leaflet_heat(out.folder)
    cutoff = min(period.end, datetime.now(UTC))  # overdue as of the end, or of now
    points = case_points(store, period, limit=MAX_POINTS)
    overdue = overdue_open(store, cutoff, limit=OVERDUE_SHOWN)
    m = heat_map(
        data.grids,
        points,
        overdue,
        period=period,
        categories=data.categories,
        limit=MAX_POINTS,
        overdue_limit=OVERDUE_SHOWN,
        lang=lang,
        basemap=base,
    )
    write_page(out, "case_heat", HEAT_PAGE, m)
    titles["case_heat"] = heat_text("title", lang)
    return titles


def _period(start: str | None, end: str | None) -> Period:
    """The period asked for; by default this month so far (today included), Beijing time."""
    today = datetime.now(BEIJING).date()
    first = start or today.replace(day=1).isoformat()
    last = end or (today + timedelta(days=1)).isoformat()
    return Period.parse(first, last)
