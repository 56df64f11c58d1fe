"""Rebuild the sample dataset: ``python -m gridgeo.sample [--source F] [--out DIR]``."""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from gridgeo.errors import GridgeoError
from gridgeo.sample.build import build

REPO_ROOT = Path(__file__).resolve().parents[2]
DEFAULT_SOURCE = REPO_ROOT / "data" / "real" / "guilin_districts.geojson"
DEFAULT_OUT = REPO_ROOT / "data" / "sample"


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Command-line options; paths default to the repository's data folders."""
    parser = argparse.ArgumentParser(
        prog="python -m gridgeo.sample",
        description="Rebuild the sample pilot dataset (boundaries, workstations, staff).",
    )
    parser.add_argument(
        "--source",
        type=Path,
        default=DEFAULT_SOURCE,
        help="district outlines GeoJSON (default: %(default)s)",
    )
    parser.add_argument(
        "--out", type=Path, default=DEFAULT_OUT, help="output directory (default: %(default)s)"
    )
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    """Build the dataset and print a short summary; return the exit code."""
    args = parse_args(argv)
    started = time.perf_counter()
    try:
        counts = build(args.source, args.out)
    except (GridgeoError, OSError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print(f"sample dataset written to {args.out} in {time.perf_counter() - started:.1f} s")
    for name, count in counts.items():
        print(f"  {name:<18} {count:>4}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
