"""Benchmark of ``gridgeo assign`` on a large CSV: rows/s and bounded memory.

Writes a CSV of N rows (default 10 M; 1 % of them bad: text, empty, NaN, out
of range) of points around the sample pilot data, runs ``gridgeo assign`` on it
in a child process, and reports rows/s, the child's peak RSS and the summary.
Peak memory must not grow with N: compare a run with ``--rows 1000000``.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

GRIDGEO = Path(sys.executable).with_name("gridgeo")


def write_points(path: Path, rows: int, seed: int = 1, block: int = 1_000_000) -> None:
    rng = np.random.default_rng(seed)
    with path.open("w", encoding="utf-8") as fh:
        fh.write("id,lon,lat,note\n")
        for start in range(0, rows, block):
            n = min(block, rows - start)
            lon = rng.uniform(110.10, 110.45, n).round(6).astype(str)
            lat = rng.uniform(25.15, 25.40, n).round(6).astype(str)
            bad = rng.random(n) < 0.01
            lon[bad] = rng.choice(["abc", "", "nan", "200.5"], int(bad.sum()))
            ids = np.arange(start, start + n).astype(str)
            fh.write("\n".join(f"{i},{x},{y},r" for i, x, y in zip(ids, lon, lat, strict=True)))
            fh.write("\n")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=10_000_000)
    parser.add_argument("--chunk-size", type=int, default=1_000_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        src, dst = Path(tmp) / "points.csv", Path(tmp) / "assigned.csv"
        write_points(src, args.rows)
        start = time.perf_counter()
        proc = subprocess.run(
            [
                str(GRIDGEO),
                "assign",
                str(src),
                "-o",
                str(dst),
                "--no-progress",
                "--format",
                "json",
                "--chunk-size",
                str(args.chunk_size),
            ],
            capture_output=True,
            text=True,
            check=True,
        )
        seconds = time.perf_counter() - start
        peak_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
        summary = json.loads(proc.stdout)
        with dst.open(encoding="utf-8") as fh:
            lines = sum(1 for _ in fh)
    print(
        f"| gridgeo assign CSV | {args.rows:,} rows, chunk {args.chunk_size:,} | "
        f"{args.rows / seconds / 1e6:.2f} M rows/s end to end ({seconds:.0f} s) | "
        f"peak RSS {peak_mb:.0f} MB | output lines {lines - 1:,} | "
        f"ok {summary.get('ok')}, unassigned {summary.get('unassigned')}, "
        f"bad_input {summary.get('bad_input')} |"
    )


if __name__ == "__main__":
    main()
