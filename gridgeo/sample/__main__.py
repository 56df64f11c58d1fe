"""Rebuild the sample dataset: ``python -m gridgeo.sample [--source F] [--out DIR]``.

Its text is Chinese unless ``GRIDGEO_LANG=en``, as the ``gridgeo`` command's.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

from gridgeo.errors import GridgeoError
from gridgeo.i18n import parse_lang, tr, use_argparse_lang, use_lang
from gridgeo.sample.build import build

REPO_ROOT = Path(__file__).resolve().parents[2]
DEFAULT_SOURCE = REPO_ROOT / "data" / "real" / "guilin_districts.geojson"
DEFAULT_OUT = REPO_ROOT / "data" / "sample"


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Command-line options; paths default to the repository's data folders."""
    parser = argparse.ArgumentParser(
        prog="python -m gridgeo.sample",
        description=tr("Rebuild the sample pilot dataset (boundaries, workstations, staff)."),
    )
    parser.add_argument(
        "--source",
        type=Path,
        default=DEFAULT_SOURCE,
        help=tr("district outlines GeoJSON (default: %(default)s)"),
    )
    parser.add_argument(
        "--out",
        type=Path,
        default=DEFAULT_OUT,
        help=tr("output directory (default: %(default)s)"),
    )
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    """Build the dataset and print a short summary; return the exit code."""
    try:
        lang = parse_lang(os.environ.get("GRIDGEO_LANG") or "zh")
    except ValueError as exc:
        print(exc, file=sys.stderr)
        return 2
    use_argparse_lang(lang)
    with use_lang(lang):
        return _run(parse_args(argv))


def _run(args: argparse.Namespace) -> int:
    started = time.perf_counter()
    try:
        counts = build(args.source, args.out)
    except (GridgeoError, OSError) as exc:
        print(tr("error: {message}", message=exc), file=sys.stderr)
        return 1
    print(
        tr(
            "sample dataset written to {path} in {seconds:.1f} s",
            path=args.out,
            seconds=time.perf_counter() - started,
        )
    )
    for name, count in counts.items():
        print(f"  {name:<18} {count:>4}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
