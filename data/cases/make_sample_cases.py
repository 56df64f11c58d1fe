"""Make sample_cases.csv: illustrative case reports over the sample grids (deterministic).

Run from the repository root: ``.venv/bin/python data/cases/make_sample_cases.py``.
Each fifth-level grid gets a number of cases drawn from a seeded gamma-Poisson
(pilot grids twice as busy), placed uniformly inside it; five points fall
in 七星区, east of the sample streets, where there are no fifth-level grids, so
the case map shows reports outside the counted level too.

Categories are written as the exact Chinese names of the category table
(``gridgeo.categories``), so every row resolves: 0501 无照经营游商 (street
vending on the road, 占道经营), 0507 乱堆物堆料, 0201 非法小广告, 0505 机动车乱停放,
0102 暴露垃圾 and 0504 店外经营. Names rather than codes because a CSV reader
that guesses types would turn ``0505`` into 505.
"""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import shapely

import gridgeo

# Six names, in the order of the file's first version: the seeded draws, hence the
# points, stay the same.
CATEGORIES = ("无照经营游商", "乱堆物堆料", "非法小广告", "机动车乱停放", "暴露垃圾", "店外经营")
PILED = CATEGORIES[1]
OUT = Path(__file__).with_name("sample_cases.csv")


def main() -> None:
    rng = np.random.default_rng(20261128)
    data = gridgeo.load()
    grids = data.grids
    pilot = grids.frame["pilot"].to_numpy(dtype=int)
    rows: list[tuple[str, str, str, float, float]] = []
    for p in np.flatnonzero(grids.levels == 5):
        geom = grids.geometries[p]
        rate = rng.gamma(2.0, 4.0) * (2.0 if pilot[p] else 1.0)
        n = int(rng.poisson(rate))
        minx, miny, maxx, maxy = geom.bounds
        shapely.prepare(geom)
        placed = 0
        while placed < n:
            x, y = rng.uniform(minx, maxx), rng.uniform(miny, maxy)
            if geom.contains(shapely.Point(x, y)):
                placed += 1
                rows.append(("", str(rng.choice(CATEGORIES)), "", round(x, 6), round(y, 6)))
    for _ in range(5):  # 七星区: no fifth-level grid there
        rows.append(("", PILED, "", round(rng.uniform(110.33, 110.34), 6), 25.27))
    order = rng.permutation(len(rows))
    with OUT.open("w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(["id", "category", "reported_at", "lon", "lat"])
        for k, i in enumerate(order, start=1):
            _, category, _, lon, lat = rows[i]
            day = 1 + int(rng.integers(0, 28))
            w.writerow([f"C{k:04d}", category, f"2026-11-{day:02d}", lon, lat])


if __name__ == "__main__":
    main()
