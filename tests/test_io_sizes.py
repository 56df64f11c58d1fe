"""Boundary files measured before they are read: totals over files and layers, the
first feature over a limit named, memory bounded by a batch whatever the file holds."""

from __future__ import annotations

import doctest
import json
import subprocess
import sys
from pathlib import Path

import geopandas as gpd
import pytest
import shapely

import gridgeo.io.sizes
import gridgeo.wording
from gridgeo.errors import InputFileError, TooLargeError
from gridgeo.i18n import use_lang
from gridgeo.io.sizes import FileSize, check_sizes


def squares(n: int, vertices: int = 5) -> gpd.GeoDataFrame:
    """``n`` polygons of ``vertices`` coordinates each (closing one included)."""
    shapes = [
        shapely.Point(110 + i * 0.01, 25).buffer(0.004, quad_segs=(vertices - 1) // 4)
        for i in range(n)
    ]
    frame = gpd.GeoDataFrame({"code": [f"c{i}" for i in range(n)]}, geometry=shapes, crs=4490)
    assert set(shapely.get_num_coordinates(frame.geometry.values)) == {vertices}
    return frame


def test_totals_over_layers_and_files(tmp_path: Path) -> None:
    gpkg = tmp_path / "levels.gpkg"
    squares(3).to_file(gpkg, layer="level4")
    squares(4).to_file(gpkg, layer="level5")
    geojson = tmp_path / "more.geojson"
    squares(2, vertices=9).to_file(geojson)
    assert check_sizes([gpkg, geojson], max_features=9, max_vertices=10**6) == FileSize(9, 53)
    with pytest.raises(TooLargeError, match=r"levels.gpkg:level5: over 6 features"):
        check_sizes([gpkg], max_features=6, max_vertices=10**6)
    # the limit is over all files: the second file passes it, at its second feature
    with pytest.raises(TooLargeError, match=r"more.geojson: over 44 vertices at feature 9"):
        check_sizes([gpkg, geojson], max_features=100, max_vertices=44)


def test_shapefile_and_unreadable(tmp_path: Path) -> None:
    squares(40).to_file(tmp_path / "g.shp")
    assert check_sizes([tmp_path / "g.shp"], max_features=40, max_vertices=200) == FileSize(40, 200)
    with pytest.raises(TooLargeError, match=r"g\.shp: over 199 vertices at feature 40"):
        check_sizes([tmp_path / "g.shp"], max_features=40, max_vertices=199)
    bad = tmp_path / "bad.geojson"
    bad.write_text("{not json")
    with pytest.raises(InputFileError, match=r"bad\.geojson"):
        check_sizes([bad], max_features=10, max_vertices=10)


def test_limits_read_in_chinese_naming_file_limit_and_feature(tmp_path: Path) -> None:
    squares(40).to_file(tmp_path / "g.shp")
    with use_lang("zh"), pytest.raises(TooLargeError) as info:
        check_sizes([tmp_path / "g.shp"], max_features=40, max_vertices=199)
    assert str(info.value) == (
        "g.shp：读到第 40 个要素时顶点已超过 199 个（GRIDGEO_MAX_UPLOAD_VERTICES）"
    )
    with use_lang("zh"), pytest.raises(TooLargeError, match=r"^g\.shp：要素超过 39 个（"):
        check_sizes([tmp_path / "g.shp"], max_features=39, max_vertices=10**6)


@pytest.mark.parametrize("module", [gridgeo.io.sizes, gridgeo.wording])
def test_docstring_examples(module: object) -> None:
    result = doctest.testmod(module)  # type: ignore[arg-type]
    assert result.attempted and not result.failed


def test_memory_is_one_batch_not_the_file(tmp_path: Path) -> None:
    """A 1.2-million-vertex GeoJSON refused at 20,000 vertices: the measuring process's
    peak grows by far less than reading the file whole makes it grow (Linux: the peak is
    reset through /proc/self/clear_refs, then read as VmHWM)."""
    path = tmp_path / "big.geojson"
    ring = [[110 + 0.01 * (k % 2), 25 + 0.00001 * k] for k in range(20_000)]
    ring.append(ring[0])
    feature = json.dumps(
        {"type": "Feature", "properties": {},
         "geometry": {"type": "Polygon", "coordinates": [ring]}}
    )  # fmt: skip
    path.write_text('{"type":"FeatureCollection","features":[' + ",".join([feature] * 60) + "]}")

    def grows_by(code: str) -> float:
        script = (
            "import sys\nfrom pathlib import Path\nimport gridgeo.io.sizes as s\n"
            "from gridgeo.i18n import set_lang\nset_lang('en')\n"
            "import geopandas\n"
            "def peak():\n"
            "    status = Path('/proc/self/status').read_text().splitlines()\n"
            "    return next(int(x.split()[1]) for x in status if x.startswith('VmHWM'))\n"
            "Path('/proc/self/clear_refs').write_text('5')\n"
            "before = peak()\n"
            f"{code}\n"
            "print(peak() - before)"
        )
        out = subprocess.run(
            [sys.executable, "-c", script, str(path)], capture_output=True, text=True, check=True
        )
        return int(out.stdout.split()[-1]) / 1024  # MB

    measured = grows_by(
        "try:\n    s.check_sizes([Path(sys.argv[1])], max_features=99, max_vertices=20_000)\n"
        "except s.TooLargeError as exc:\n    assert 'feature 1 ' in str(exc), exc"
    )
    whole = grows_by("frame = geopandas.read_file(sys.argv[1])")
    assert whole > 50 and measured < whole / 4, (measured, whole)
