"""``gridgeo diff A B`` on real files: the sample data with one community's grids redrawn."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest
import shapely
from geometries import REDRAWN_GRIDS, redraw_strip, redrawn_sample
from shapely.geometry import shape

from gridgeo.cli.main import main
from gridgeo.crs import local_metres
from gridgeo.io.boundaries import read_boundaries
from gridgeo.io.writers import write_grids
from gridgeo.model import GridSet

SAMPLE = Path(__file__).resolve().parents[1] / "data" / "sample" / "boundaries.gpkg"
GRID_1, GRID_2 = REDRAWN_GRIDS


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture(scope="module")
def sample() -> GridSet:
    return read_boundaries([SAMPLE])


@pytest.fixture(scope="module")
def strip(sample: GridSet) -> shapely.Geometry:
    return redraw_strip(sample)


@pytest.fixture
def redrawn(tmp_path: Path, sample: GridSet) -> Path:
    return write_grids(redrawn_sample(sample), tmp_path / "redrawn.gpkg")


def strip_m2(strip: shapely.Geometry) -> float:
    """Area on the CGCS2000 ellipsoid, as the diff measures it."""
    return float(shapely.area(local_metres([strip])[0]))


def test_redrawn_community_reshapes_exactly_its_two_grids(
    capsys: pytest.CaptureFixture[str], redrawn: Path, strip: shapely.Geometry
) -> None:
    code, out, err = run(capsys, "diff", str(SAMPLE), str(redrawn), "--format", "json")
    assert code == 1 and err == ""
    data = json.loads(out)
    assert data["summary"]["counts"] == {
        "added": 0,
        "removed": 0,
        "reshaped": 2,
        "renamed": 0,
        "recoded": 0,
        "reparented": 0,
    }
    one, two = data["reshaped"]
    assert (one["code"], two["code"]) == (GRID_1, GRID_2)
    moved = strip_m2(strip)
    assert 5_000 < moved < 50_000
    assert one["gained_m2"] == pytest.approx(moved, abs=0.01)
    assert two["lost_m2"] == pytest.approx(moved, abs=0.01)
    assert one["lost_m2"] < 0.01 and two["gained_m2"] < 0.01
    assert one["area_change_m2"] == pytest.approx(moved, abs=0.1)
    assert two["area_change_m2"] == pytest.approx(-moved, abs=0.1)


def test_text_output_names_the_grids(
    capsys: pytest.CaptureFixture[str], redrawn: Path, strip: shapely.Geometry
) -> None:
    code, out, _ = run(capsys, "diff", str(SAMPLE), str(redrawn), "--lang", "en")
    assert code == 1
    lines = out.splitlines()
    assert lines[0].startswith("2 reshaped (79 -> 79 features")
    gained = f"{strip_m2(strip):,.1f}"
    assert lines[1].startswith(f"reshaped {GRID_1} 文明社区第1网格 (grid 五级网格): +{gained} m²")
    assert lines[2].startswith(f"reshaped {GRID_2} 文明社区第2网格 (grid 五级网格): +0.0 m²")
    assert f"-{gained} m² lost" in lines[2]
    assert len(lines) == 3


def test_geojson_moved_area_is_the_strip_and_ogrinfo_reads_it(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, redrawn: Path, strip: shapely.Geometry
) -> None:
    out_file = tmp_path / "changes.geojson"
    code, out, _ = run(
        capsys, "diff", str(SAMPLE), str(redrawn), "--format", "geojson", "-o", str(out_file)
    )
    assert code == 1 and out == ""
    features = json.loads(out_file.read_text(encoding="utf-8"))["features"]
    assert [f["properties"]["code"] for f in features] == [GRID_1, GRID_2]
    for feature in features:
        assert feature["properties"]["kind"] == "reshaped"
        leftover = shapely.symmetric_difference(shape(feature["geometry"]), strip)
        assert strip_m2(leftover) < 0.01
    ogrinfo = shutil.which("ogrinfo")
    assert ogrinfo, "gdal-bin (ogrinfo) is a declared system package"
    info = subprocess.run(
        [ogrinfo, "-so", "-al", str(out_file)], capture_output=True, text=True, check=True
    ).stdout
    assert "Feature Count: 2" in info and 'ID["EPSG",4490]' in info
    assert "area_change_m2: Real" in info and "kind: String" in info


@pytest.mark.parametrize("suffix", [".gpkg", ".geojson", ".zip"])
def test_export_and_reimport_is_an_empty_diff(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, sample: GridSet, suffix: str
) -> None:
    copy = write_grids(sample, tmp_path / f"copy{suffix}")
    code, out, _ = run(capsys, "diff", str(SAMPLE), str(copy), "--lang", "en")
    assert code == 0
    assert out.startswith("no differences (79 -> 79 features")


def test_json_to_stdout_when_identical(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "diff", str(SAMPLE), str(SAMPLE), "--format", "json")
    assert code == 0
    data = json.loads(out)
    assert data["summary"]["empty"] is True and data["reshaped"] == []


def test_text_to_file_and_chinese(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, redrawn: Path
) -> None:
    out_file = tmp_path / "diff.txt"
    code, out, _ = run(
        capsys, "diff", str(SAMPLE), str(redrawn), "--lang", "zh", "-o", str(out_file)
    )
    assert code == 1 and out == ""
    assert out_file.read_text(encoding="utf-8").splitlines()[1].startswith(f"边界调整 {GRID_1}")


def test_area_tolerance_option_hides_the_move(
    capsys: pytest.CaptureFixture[str], redrawn: Path
) -> None:
    code, _, _ = run(capsys, "diff", str(SAMPLE), str(redrawn), "--area-tolerance", "1e9")
    assert code == 0


def test_missing_file_exits_2(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    code, out, err = run(capsys, "diff", str(SAMPLE), str(tmp_path / "nope.gpkg"))
    assert code == 2 and out == ""
    assert "nope.gpkg：既不是存在的边界文件，也不是版本号" in err
    code, out, err = run(capsys, "diff", str(SAMPLE), "nope.gpkg", "--lang", "en")
    assert code == 2 and "nope.gpkg: no such boundary file (nor a version number)" in err


@pytest.mark.parametrize("option", [["--min-iou", "2"], ["--area-tolerance", "-1"]])
def test_bad_threshold_exits_2(capsys: pytest.CaptureFixture[str], option: list[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        main(["diff", str(SAMPLE), str(SAMPLE), *option])
    assert exc.value.code == 2
    assert f"参数 {option[0]}：须" in capsys.readouterr().err
