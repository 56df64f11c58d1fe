"""Make the example files the commands in README.md and docs/ use (deterministic).

Run from the repository root: ``.venv/bin/python data/examples/make_examples.py``.
Every file is derived from the sample pilot data (data/sample), so the commands
that read them answer as the documents say; tests/test_docs_examples.py runs
those commands. ``events.csv``, ``bad_events.csv`` and ``november.csv`` are written by
hand (the event logs of docs/CASES.md and docs/REPORTS.md) and are not touched here.
"""

from __future__ import annotations

import csv
import io
import zipfile
from pathlib import Path

import geopandas as gpd
import numpy as np
import pyogrio
import shapely
from PIL import Image

from gridgeo.coords import wgs84_to_gcj02
from gridgeo.geometry import difference, union
from gridgeo.io.boundaries import read_boundaries
from gridgeo.io.writers import write_grids
from gridgeo.model import GridSet

HERE = Path(__file__).resolve().parent
SAMPLE = HERE.parent / "sample" / "boundaries.gpkg"

# redrawn.gpkg: grid 1 of 文明社区 takes a strip of grid 2 along their shared border
# (the same redraw as tests/geometries.py, "version 2" of the sample in the tests)
REDRAWN_GRIDS = ("450302001001001", "450302001001002")
REDRAW_STRIP_DEG = 0.0003  # about 30 m

# new_grids.gpkg: 五美社区第3网格 drawn again as two grids, not yet numbered
SPLIT_GRID = "450302001002003"

# streets.shp.zip and communities.gpkg: projected, with no CRS in the file
GAUSS_KRUGER = "EPSG:4546"  # CGCS2000 / 3-degree Gauss-Kruger CM 111E (Guilin)

# reports.csv (GCJ-02, as an Amap or WeChat app sends them) and reports.parquet (WGS84)
REPORTED = (
    ("R001", "450302001001001", "机动车乱停放", "路口机动车乱停放"),
    ("R002", "450302001001002", "店外经营", "店外摆摊"),
    ("R003", "450302001001003", "暴露垃圾", "垃圾未清运"),
    ("R004", "450302001002001", "乱堆物堆料", "楼道口堆放建材"),
    ("R005", "450302001002002", "非法小广告", "电线杆小广告"),
    ("R006", "450302001002003", "无照经营游商", "流动摊贩"),
    ("R007", "450302002001001", "机动车乱停放", "人行道停车"),
    ("R008", "450302003001001", "暴露垃圾", "绿化带垃圾"),
)


def main() -> None:
    sample = read_boundaries([SAMPLE])
    write_redrawn(sample)
    write_new_grids()
    write_projected()
    write_reports(sample)
    write_photo()


def write_redrawn(sample: GridSet) -> None:
    one, two = (sample.geometries[sample.position(c)] for c in REDRAWN_GRIDS)
    strip = shapely.intersection(two, shapely.buffer(one, REDRAW_STRIP_DEG))
    geoms = sample.geometries.copy()
    first, second = (sample.position(c) for c in REDRAWN_GRIDS)
    geoms[first] = union([geoms[first], strip])
    geoms[second] = difference(geoms[second], strip)
    write_grids(sample.with_geometries(geoms), HERE / "redrawn.gpkg")


def write_new_grids() -> None:
    grids = gpd.read_file(SAMPLE, layer="level5_grid")
    grid = grids.loc[grids["code"] == SPLIT_GRID, "geometry"].iloc[0]
    west, south, east, north = grid.bounds
    middle = (west + east) / 2
    halves = [
        shapely.intersection(grid, shapely.box(west - 1, south - 1, middle, north + 1)),
        shapely.intersection(grid, shapely.box(middle, south - 1, east + 1, north + 1)),
    ]
    frame = gpd.GeoDataFrame(
        {"name": ["五美社区新网格（西）", "五美社区新网格（东）"]}, geometry=halves, crs=grids.crs
    )
    _write_fresh(frame, HERE / "new_grids.gpkg", driver="GPKG")


def write_projected() -> None:
    for layer, name in (("level3_street", "streets"), ("level4_community", "communities")):
        frame = gpd.read_file(SAMPLE, layer=layer).drop(columns=["pilot"]).to_crs(GAUSS_KRUGER)
        frame = frame.set_crs(None, allow_override=True)
        if name == "communities":
            _write_fresh(frame, HERE / "communities.gpkg", driver="GPKG")
            continue
        shapefile = HERE / ".streets" / "streets.shp"
        shapefile.parent.mkdir(exist_ok=True)
        pyogrio.write_dataframe(frame, shapefile, encoding="UTF-8")
        with zipfile.ZipFile(HERE / "streets.shp.zip", "w", zipfile.ZIP_DEFLATED) as zf:
            for part in sorted(shapefile.parent.iterdir()):
                if part.suffix != ".prj":  # no CRS: the reader says --assume-crs
                    zf.write(part, part.name)
                part.unlink()
        shapefile.parent.rmdir()


def write_reports(sample: GridSet) -> None:
    points = [
        sample.geometries[sample.position(code)].point_on_surface() for _, code, _, _ in REPORTED
    ]
    lon = np.array([p.x for p in points])
    lat = np.array([p.y for p in points])
    gcj_lon, gcj_lat = wgs84_to_gcj02(lon, lat)
    rows = [
        [rid, f"{x:.6f}", f"{y:.6f}", category, text]
        for (rid, _, category, text), x, y in zip(REPORTED, gcj_lon, gcj_lat, strict=True)
    ]
    rows.append(["R009", "", "", "暴露垃圾", "没有坐标"])  # bad_input: missing
    rows.append(["R010", f"{gcj_lat[0]:.6f}", f"{gcj_lon[0]:.6f}", "店外经营", "经纬度写反"])
    rows.append(["R011", "110.452100", "25.301800", "暴露垃圾", "七星区，样例网格以外"])
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["id", "lon", "lat", "category", "description"])
    writer.writerows(rows)
    (HERE / "reports.csv").write_text(out.getvalue(), encoding="utf-8")

    frame = gpd.GeoDataFrame(
        {
            "id": [r[0] for r in REPORTED],
            "category": [r[2] for r in REPORTED],
            "description": [r[3] for r in REPORTED],
        },
        geometry=gpd.points_from_xy(lon, lat),
        crs="EPSG:4326",
    )
    frame.to_parquet(HERE / "reports.parquet", index=False)


def write_photo() -> None:
    """after.jpg: a small photo to attach to a 处置 (handle) action."""
    image = Image.new("RGB", (64, 48), (96, 140, 80))
    image.save(HERE / "after.jpg", format="JPEG", quality=70)


def _write_fresh(frame: gpd.GeoDataFrame, path: Path, *, driver: str) -> None:
    path.unlink(missing_ok=True)
    pyogrio.write_dataframe(frame, path, driver=driver)


if __name__ == "__main__":
    main()
