"""The store is the one source of truth for the commands that read boundaries.

After ``import --commit`` and ``publish``, ``lookup``, ``dispatch``, ``assign``,
``coverage``, ``staffing``, ``maps`` and ``codes`` answer from the published
version (``--version N`` / ``--at TIME`` for history, ``--boundaries FILE`` for
files) and say which version answered; on SpatiaLite and on PostGIS.
"""

from __future__ import annotations

import csv
import json
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest
from geometries import REDRAWN_GRIDS, redraw_strip, redrawn_sample

from gridgeo.cli.main import main
from gridgeo.io.boundaries import read_boundaries
from gridgeo.io.writers import write_grids

REPO = Path(__file__).resolve().parents[1]
SAMPLE = REPO / "data" / "sample"


def run(capsys: pytest.CaptureFixture[str], url: str, *args: str) -> tuple[int, str, str]:
    code = main([*args, "--database-url", url])
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture
def two_versions(
    capsys: pytest.CaptureFixture[str], store_url: str, tmp_path: Path
) -> tuple[str, str, tuple[float, float]]:
    """A store with the sample published as version 1, then the redrawn sample as version 2.

    Returns the store URL, a time between the two publications, and a point of the
    strip the redraw moved from grid 2 to grid 1 of 文明社区 (CGCS2000).
    """
    sample_file = SAMPLE / "boundaries.gpkg"
    stations = str(SAMPLE / "workstations.geojson")
    assert run(capsys, store_url, "import", str(sample_file), "--commit", "--workstations",
               stations)[0] == 0  # fmt: skip
    assert run(capsys, store_url, "publish", "1")[0] == 0
    time.sleep(0.05)
    between = datetime.now(UTC).isoformat()
    time.sleep(0.05)
    sample = read_boundaries([sample_file])
    redrawn = write_grids(redrawn_sample(sample), tmp_path / "redrawn.gpkg")
    assert run(capsys, store_url, "import", str(redrawn), "--commit")[0] == 0
    assert run(capsys, store_url, "publish", "2")[0] == 0
    point = redraw_strip(sample).representative_point()
    return store_url, between, (point.x, point.y)


def _lookup(capsys: pytest.CaptureFixture[str], url: str, lonlat: tuple[float, float],
            *extra: str) -> dict[str, object]:  # fmt: skip
    lon, lat = (str(v) for v in lonlat)
    code, out, err = run(capsys, url, "lookup", lon, lat, "--crs", "cgcs2000", "--format",
                         "json", *extra)  # fmt: skip
    assert code == 0, err
    data: dict[str, object] = json.loads(out)
    return data


def _leaf(data: dict[str, object]) -> str:
    grids = data["grids"]
    assert isinstance(grids, list)
    return str(grids[0]["code"])


def test_lookup_answers_from_the_published_version_and_from_history(
    capsys: pytest.CaptureFixture[str], two_versions: tuple[str, str, tuple[float, float]]
) -> None:
    url, between, point = two_versions
    now = _lookup(capsys, url, point)
    assert (now["version"], _leaf(now)) == (2, REDRAWN_GRIDS[0])
    before = _lookup(capsys, url, point, "--version", "1")
    assert (before["version"], _leaf(before)) == (1, REDRAWN_GRIDS[1])
    then = _lookup(capsys, url, point, "--at", between)
    assert (then["version"], _leaf(then)) == (1, REDRAWN_GRIDS[1])
    files = _lookup(capsys, url, point, "--boundaries", str(SAMPLE / "boundaries.gpkg"))
    assert (files["version"], _leaf(files)) == (None, REDRAWN_GRIDS[1])

    lon, lat = (str(v) for v in point)
    code, out, _ = run(capsys, url, "lookup", lon, lat, "--crs", "cgcs2000", "--lang", "en")
    assert code == 0 and "boundaries: store version 2 (published)" in out
    code, out, _ = run(capsys, url, "lookup", lon, lat, "--crs", "cgcs2000", "--at", between,
                       "--lang", "en")  # fmt: skip
    assert f"boundaries: store version 1 (published at {between})" in out
    code, out, _ = run(capsys, url, "lookup", lon, lat, "--crs", "cgcs2000")
    assert code == 0 and out.splitlines()[-1].startswith("  边界：")


def test_every_boundary_command_says_which_version_answered(
    capsys: pytest.CaptureFixture[str],
    two_versions: tuple[str, str, tuple[float, float]],
    tmp_path: Path,
) -> None:
    url, _, (lon, lat) = two_versions
    code, out, _ = run(capsys, url, "dispatch", str(lon), str(lat), "--crs", "cgcs2000",
                       "--category", "0101", "--format", "json",
                       "--routing", str(SAMPLE / "routing.yaml"))  # fmt: skip
    assert code in (0, 1) and json.loads(out)["version"] == 2
    for command in ("coverage", "staffing"):
        code, out, _ = run(capsys, url, command, "--format", "json", "--version", "1")
        assert json.loads(out)["version"] == 1, command

    points = tmp_path / "points.csv"
    with points.open("w", newline="", encoding="utf-8") as fh:
        csv.writer(fh).writerows([["id", "lon", "lat"], ["1", lon, lat]])
    out_csv = tmp_path / "assigned.csv"
    code, out, _ = run(capsys, url, "assign", str(points), "-o", str(out_csv), "--crs",
                       "cgcs2000", "--format", "json", "--no-progress")  # fmt: skip
    assert code == 0 and json.loads(out)["version"] == 2
    with out_csv.open(encoding="utf-8-sig") as fh:
        assert next(csv.DictReader(fh))["code_l5"] == REDRAWN_GRIDS[0]

    code, out, _ = run(capsys, url, "maps", "-o", str(tmp_path / "maps"), "--no-cases",
                       "--format", "json", "--version", "1")  # fmt: skip
    assert code == 0 and json.loads(out)["version"] == 1


def test_bad_version_choices_are_refused(
    capsys: pytest.CaptureFixture[str], two_versions: tuple[str, str, tuple[float, float]]
) -> None:
    url, _, (lon, lat) = two_versions
    where = [str(lon), str(lat), "--crs", "cgcs2000", "--lang", "en"]
    code, _, err = run(capsys, url, "lookup", *where, "--version", "99")
    assert code == 2 and "99" in err
    code, _, err = run(capsys, url, "lookup", *where, "--at", "2001-01-01")
    assert code == 2 and "no boundaries version was published at 2001-01-01" in err
    code, _, err = run(capsys, url, "lookup", *where, "--at", "yesterday")
    assert code == 2 and "'yesterday' is not a date" in err
    code, _, err = run(capsys, url, "lookup", *where, "--version", "1", "--at", "2026-01-01")
    assert code == 2 and "not both" in err
    both = ["--version", "1", "--boundaries", str(SAMPLE / "boundaries.gpkg")]
    code, _, err = run(capsys, url, "lookup", *where, *both)
    assert code == 2 and "give --boundaries FILE or --version/--at, not both" in err
    code, _, err = run(capsys, url, "lookup", *where[:-2], *both)
    assert code == 2 and "--boundaries FILE 与 --version/--at 只能二选一" in err
    with pytest.raises(SystemExit) as exited:
        main(["lookup", *where[:-2], "--version", "0"])
    assert exited.value.code == 2
    assert "参数 --version：'0' 不是版本号（应为 1、2……）" in capsys.readouterr().err


def test_codes_refuse_a_file_and_a_version_at_once(
    capsys: pytest.CaptureFixture[str], two_versions: tuple[str, str, tuple[float, float]],
    tmp_path: Path,
) -> None:  # fmt: skip
    url = two_versions[0]
    sample = str(SAMPLE / "boundaries.gpkg")
    out = str(tmp_path / "numbered.gpkg")
    code, _, err = run(capsys, url, "codes", sample, "-o", out, "--parents", sample,
                       "--version", "1")  # fmt: skip
    assert code == 2 and "--parents FILE 与 --version/--at 只能二选一" in err
