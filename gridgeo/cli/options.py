"""Options shared by several commands, and output helpers."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from gridgeo.cli import collector
from gridgeo.i18n import tr
from gridgeo.wording import level_label, text_table

if TYPE_CHECKING:  # loaded where a command runs, not to parse its options (pydantic, shapely)
    from gridgeo.io.boundaries import ColumnMap
    from gridgeo.lookup import GridRef, LookupResult
    from gridgeo.settings import Settings


def add_column_options(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group(tr("input columns and CRS"))
    group.add_argument("--code-col", help=tr("attribute holding the code (default: code/编码/...)"))
    group.add_argument("--name-col", help=tr("attribute holding the name (default: name/名称/...)"))
    group.add_argument(
        "--level-col",
        help=tr("attribute holding the level (default: level/级别/...)"),
    )
    group.add_argument(
        "--parent-col",
        help=tr("attribute holding the parent code (default: parent_code/上级编码/...)"),
    )
    group.add_argument(
        "--assume-crs",
        metavar="CRS",
        help=tr("CRS for files that declare none, e.g. EPSG:4490 or EPSG:4546"),
    )
    group.add_argument(
        "--sequence-width",
        type=int,
        choices=range(1, 7),
        metavar="N",
        help=tr("digits of the fifth-level sequence (default 3: 15-digit grid codes)"),
    )


def columns(args: argparse.Namespace) -> ColumnMap:
    from gridgeo.io.boundaries import ColumnMap

    return ColumnMap(
        code=args.code_col, name=args.name_col, level=args.level_col, parent_code=args.parent_col
    )


def settings(args: argparse.Namespace) -> Settings:
    """Settings from the environment, overridden by command-line options."""
    with collector.loading():  # pydantic: loaded by the run, not to parse its options
        from gridgeo.settings import Settings
    base = Settings()
    width = getattr(args, "sequence_width", None)
    return base.model_copy(update={"sequence_width": width}) if width else base


def add_format(
    parser: argparse.ArgumentParser, choices: tuple[str, ...] = ("text", "json")
) -> None:
    parser.add_argument("--format", choices=choices, default="text", help=tr("output format"))


def add_database_options(p: Any, *, actor: bool = True) -> None:
    """--database-url and (with ``actor``) --actor, to a parser or a group."""
    p.add_argument(
        "--database-url", metavar="URL", help=tr("store URL (default GRIDGEO_DATABASE_URL)")
    )
    if actor:
        p.add_argument(
            "--actor",
            metavar="NAME",
            help=tr("who is acting, for the audit log (default GRIDGEO_ACTOR)"),
        )


def emit_json(data: Any) -> None:
    sys.stdout.write(json.dumps(data, ensure_ascii=False, indent=2) + "\n")


def add_point_arguments(parser: argparse.ArgumentParser) -> None:
    """LON LAT and --crs, as ``lookup`` and ``dispatch`` take them."""
    parser.add_argument("lon", type=float, help=tr("longitude (x)"))
    parser.add_argument("lat", type=float, help=tr("latitude (y)"))
    parser.add_argument("--crs", default="wgs84", help=crs_help())


def crs_help() -> str:
    """The help of a ``--crs`` option of input points."""
    return tr("wgs84 (default; GPS), cgcs2000, gcj02 (Amap/Tencent/WeChat), bd09 (Baidu)")


def point_line(look: LookupResult) -> str:
    """The point asked for, and where it is in CGCS2000."""
    x, y = look.cgcs2000
    return tr(
        "point ({lon}, {lat}) {crs} -> CGCS2000 ({x:.7f}, {y:.7f})",
        lon=look.lon,
        lat=look.lat,
        crs=look.crs,
        x=x,
        y=y,
    )


def grid_lines(grids: Sequence[GridRef], indent: str = "  ") -> list[str]:
    """The grid chain of a point, one aligned line per grid, the leaf first."""
    rows = [[level_label(g.level), g.code, g.name] for g in grids]
    return text_table(["", "", ""], rows, indent=indent)[1:]


def outside_lines(look: LookupResult) -> list[str]:
    """What to say of a point outside every grid: that, and the nearest grid."""
    lines = [tr("  outside every grid")]
    if look.nearest:
        n = look.nearest
        lines.append(
            tr(
                "  nearest: {code} {name}, {distance:.1f} m away",
                code=n.code,
                name=n.name,
                distance=n.distance_m,
            )
        )
    return lines


def workstation_line(look: LookupResult, indent: str = "") -> str | None:
    """The workstation of the point's community, or None."""
    ws = look.workstation
    if ws is None:
        return None
    return indent + tr(
        "workstation: {code} {name}, {address}{note}",
        code=ws.code,
        name=ws.name,
        address=ws.address,
        note=tr(" (illustrative location)") if ws.illustrative else "",
    )


def finding_line(severity: str, rule: str, text: str) -> str:
    """One finding for people: ``ERROR   rule: text`` (``错误 rule：text``)."""
    if severity == "error":
        return tr("ERROR   {rule}: {text}", rule=rule, text=text)
    return tr("WARNING {rule}: {text}", rule=rule, text=text)
