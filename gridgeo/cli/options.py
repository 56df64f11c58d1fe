"""Options shared by several commands, and output helpers."""

from __future__ import annotations

import argparse
import json
import sys
import unicodedata
from collections.abc import Sequence
from typing import Any

from gridgeo.io.boundaries import ColumnMap
from gridgeo.settings import Settings


def add_column_options(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("input columns and CRS")
    group.add_argument("--code-col", help="attribute holding the code (default: code/编码/...)")
    group.add_argument("--name-col", help="attribute holding the name (default: name/名称/...)")
    group.add_argument("--level-col", help="attribute holding the level (default: level/级别/...)")
    group.add_argument(
        "--parent-col", help="attribute holding the parent code (default: parent_code/上级编码/...)"
    )
    group.add_argument(
        "--assume-crs",
        metavar="CRS",
        help="CRS for files that declare none, e.g. EPSG:4490 or EPSG:4546",
    )
    group.add_argument(
        "--sequence-width",
        type=int,
        choices=range(1, 7),
        metavar="N",
        help="digits of the fifth-level sequence (default 3: 15-digit grid codes)",
    )


def columns(args: argparse.Namespace) -> ColumnMap:
    return ColumnMap(
        code=args.code_col, name=args.name_col, level=args.level_col, parent_code=args.parent_col
    )


def settings(args: argparse.Namespace) -> Settings:
    """Settings from the environment, overridden by command-line options."""
    base = Settings()
    width = getattr(args, "sequence_width", None)
    return base.model_copy(update={"sequence_width": width}) if width else base


def add_format(
    parser: argparse.ArgumentParser, choices: tuple[str, ...] = ("text", "json")
) -> None:
    parser.add_argument("--format", choices=choices, default="text", help="output format")


def emit_json(data: Any) -> None:
    sys.stdout.write(json.dumps(data, ensure_ascii=False, indent=2) + "\n")


def add_point_arguments(parser: argparse.ArgumentParser) -> None:
    """LON LAT and --crs, as ``lookup`` and ``dispatch`` take them."""
    parser.add_argument("lon", type=float, help="longitude (x)")
    parser.add_argument("lat", type=float, help="latitude (y)")
    parser.add_argument(
        "--crs",
        default="wgs84",
        help="wgs84 (default; GPS), cgcs2000, gcj02 (Amap/Tencent/WeChat), bd09 (Baidu)",
    )


def display_width(text: str) -> int:
    """Terminal columns of ``text``: Chinese (wide) characters take two."""
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def text_table(head: Sequence[str], rows: Sequence[Sequence[str]], indent: str = "") -> list[str]:
    """Lines of a table whose columns line up in a terminal (wide characters counted twice)."""
    widths = [max(display_width(r[i]) for r in (head, *rows)) for i in range(len(head))]
    return [
        (
            indent
            + "  ".join(c + " " * (w - display_width(c)) for c, w in zip(r, widths, strict=True))
        ).rstrip()
        for r in (head, *rows)
    ]
