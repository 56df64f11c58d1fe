from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from gridgeo.cli.main import main
from gridgeo.io.writers import write_grids
from gridgeo.maps.assets import remote_assets
from gridgeo.maps.text import FONT_STACK
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
    assert "覆盖图：五级网格" in pages["coverage_5"].read_text(encoding="utf-8")
    # the index lists the maps by their Chinese titles, each file name small beside
    links = dict(re.findall(r"<a href='([^']+)'>([^<]*)</a> <small class='file'>\1</small>", index))
    assert set(links) == {p.name for p in pages.values()}
    assert links["coverage_level4_community.html"] == "覆盖图：四级网格（社区）"
    assert links["pilot.html"] == "试点概览：秀峰街道（文明社区、五美社区）"
    assert links["validation.html"] == "边界校验问题图"
    assert links["responsibility.html"] == "责任覆盖图"
    assert links["cases.html"] == "案件分布：各五级网格案件数"
    assert all(re.search(r"[\u4e00-\u9fff]", title) for title in links.values()), links
    assert "<html lang='zh-CN'>" in index and f"font-family:{FONT_STACK}" in index
    assert "<title>城市网格化管理专题图</title>" in index
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
    assert re.search(r"pilot +skipped: no pilot community", printed)
    assert re.search(r"cases +skipped: no case points given", printed)
    page = (out / "coverage_level3_street.html").read_text(encoding="utf-8")
    assert "Coverage of level 3: street" in page
    assert not (out / "pilot.html").exists()
    index = (out / "index.html").read_text(encoding="utf-8")
    assert "<a href='coverage_level3_street.html'>Coverage of level 3: street</a>" in index


def test_maps_errors(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "maps"
    assert main(["maps", "-o", str(out), "--basemap", "tianditu", "--no-cases"]) == 2
    assert "底图 tianditu（天地图）需要密钥：请设置 GRIDGEO_TIANDITU_KEY" in capsys.readouterr().err
    english = ["--lang", "en"]
    assert main(["maps", "-o", str(out), "--basemap", "tianditu", "--no-cases", *english]) == 2
    assert "needs a key" in capsys.readouterr().err
    assert main(["maps", "-o", str(out), "--cases", str(tmp_path / "none.csv"), *english]) == 2
    assert "case file not found" in capsys.readouterr().err
    bad = tmp_path / "cases.csv"
    bad.write_text("x,y\n1,2\n", encoding="utf-8")
    assert main(["maps", "-o", str(out), "--cases", str(bad), *english]) == 2
    assert "missing coordinate column" in capsys.readouterr().err
