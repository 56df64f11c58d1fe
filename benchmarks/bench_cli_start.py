"""Cold start of the command line: ``gridgeo --help``, ``import gridgeo`` and a whole
small command, ``gridgeo assign`` of the fifteen rows of ``data/examples/events.csv``
against ``data/examples/communities.gpkg`` (Gauss-Kruger zone 37, EPSG:4546, which the
file does not say) with its index built (what every command pays before
its own work: the imports, the settings, the index, the exit), run as the console script
runs it.

Run with ``make bench`` (or ``.venv/bin/python benchmarks/bench_cli_start.py``). Each
is started as a new process ``--runs`` times (wall clock, the first run dropped as the
file-cache warm-up); the median and the range are printed. With ``--compare REV`` the
same is measured on the code of git revision REV, alternating with this code, so that
the machine's noise hits both alike. Target (issue: users' tools): ``--help`` within
0.3 s.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from bench_api import machine
from bench_cases import REPO, worktree

ASSIGN = (
    "import sys, tempfile, gridgeo.cli.main as cli; "
    "sys.argv = ['gridgeo', 'assign', 'data/examples/events.csv', '--boundaries', "
    "'data/examples/communities.gpkg', '--assume-crs', 'EPSG:4546', '-o', "
    "tempfile.gettempdir() + '/cli-start.parquet', "
    "'--no-progress']; "
    "sys.exit((getattr(cli, 'console', None) or cli.main)())"  # the console script's entry
)
PROBES = {
    "gridgeo --help": "from gridgeo.cli.main import main; main(['--help'])",
    "import gridgeo": "import gridgeo",
    "gridgeo assign (15 rows)": ASSIGN,
}
INDEX_DIR = Path(tempfile.mkdtemp(prefix="gridgeo-cli-start-"))  # the first run builds it


def wall(code: str, root: Path) -> float:
    env = os.environ | {"PYTHONPATH": str(root), "GRIDGEO_INDEX_DIR": str(INDEX_DIR)}
    start = time.perf_counter()
    subprocess.run(
        [sys.executable, "-c", code], env=env, cwd=root, stdout=subprocess.DEVNULL, check=True
    )
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=11)
    parser.add_argument("--compare", default="", metavar="REV")
    args = parser.parse_args()
    with worktree(args.compare) if args.compare else contextlib.nullcontext(REPO) as other:
        roots = {"this code": REPO} | ({args.compare: other} if args.compare else {})
        times: dict[tuple[str, str], list[float]] = {}
        for n in range(args.runs):
            for label, root in roots.items() if n % 2 == 0 else reversed(roots.items()):
                for probe, code in PROBES.items():
                    times.setdefault((label, probe), []).append(wall(code, root))
    print(f"## CLI cold start ({dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC, {machine()})")
    print()
    print("| code | command | median | range | target |")
    print("|---|---|---|---|---|")
    for (label, probe), measured in times.items():
        runs = measured[1:]  # the first: file cache warm-up
        target = "<= 0.3 s: " + ("met" if statistics.median(runs) <= 0.3 else "NOT met")
        print(
            f"| {label} | `{probe}` | {statistics.median(runs):.3f} s | "
            f"{min(runs):.3f}-{max(runs):.3f} s | {target if 'help' in probe else ''} |"
        )


if __name__ == "__main__":
    main()
