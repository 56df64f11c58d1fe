from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from gridgeo.cli.main import main
from gridgeo.io.writers import write_grids
from gridgeo.maps.assets import remote_assets
from gridgeo.model import GridSet

REPO = Path(__file__).resolve().parents[1]


def test_maps_renders_every_map_offline(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "maps"
    assert main(["maps", "-o", str(out), "--format", "json"]) == 0
    result = json.loads(capsys.readouterr().out)
    pages = {k: Path(v) for k, v in result["pages"].items()}
    assert set(pages) == {
        *(f"coverage_{n}" for n in range(1, 6)),
        "pilot",
        "validation",
        "cases",
        "responsibility",
    }
    assert result["skipped"] == {}
    assert pages["coverage_5"].name == "coverage_level5_grid.html"
    for page in pages.values():
        text = page.read_text(encoding="utf-8")
        assert remote_assets(text) == []
        assert '<script src="lib/leaflet/leaflet.js">' in text
        assert "window.gridgeoMap" in text
    assert (out / "lib" / "leaflet" / "leaflet.js").exists()
    index = (out / "index.html").read_text(encoding="utf-8")
    assert sorted(re.findall(r"href='([^']+)'", index)) == sorted(p.name for p in pages.values())
    # Chinese by default
    assert "覆盖图：五级网格（第5级）" in pages["coverage_5"].read_text(encoding="utf-8")
    assert not list(out.glob(".*.tmp")), "no temporary files left"


def test_maps_english_without_cases_and_pilot(
    tmp_path: Path, nested: GridSet, capsys: pytest.CaptureFixture[str]
) -> None:
    boundaries = write_grids(nested, tmp_path / "nested.gpkg")
    out = tmp_path / "maps"
    code = main(
        ["maps", "-o", str(out), "--boundaries", str(boundaries), "--no-cases", "--lang", "en"]
    )
    assert code == 0
    printed = capsys.readouterr().out
    assert "pilot        skipped: no pilot community" in printed
    assert "cases        skipped: no case points given" in printed
    page = (out / "coverage_level3_street.html").read_text(encoding="utf-8")
    assert "Coverage of level 3: street" in page
    assert not (out / "pilot.html").exists()


def test_maps_errors(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "maps"
    assert main(["maps", "-o", str(out), "--basemap", "tianditu", "--no-cases"]) == 2
    assert "needs a key" in capsys.readouterr().err
    assert main(["maps", "-o", str(out), "--cases", str(tmp_path / "none.csv")]) == 2
    assert "case file not found" in capsys.readouterr().err
    bad = tmp_path / "cases.csv"
    bad.write_text("x,y\n1,2\n", encoding="utf-8")
    assert main(["maps", "-o", str(out), "--cases", str(bad)]) == 2
    assert "missing coordinate column" in capsys.readouterr().err
