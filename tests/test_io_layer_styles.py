"""GeoPackages open in QGIS looking as the viewer draws them, and round-trip unchanged.

``gridgeo export`` writes one layer per level and a ``layer_styles`` table; QGIS
itself (Debian's python3-qgis, run by the system Python in a subprocess) opens
each layer and must find the viewer's outline colour and width, the grids'
light fill and the name labels. Re-importing the export gives an empty diff.
"""

from __future__ import annotations

import json
import os
import subprocess
import xml.etree.ElementTree as ET
from pathlib import Path

import pyogrio
import pytest

from gridgeo.cli.main import main
from gridgeo.io.layer_styles import LABELLED, MM_PER_PX, qml, sld
from gridgeo.io.writers import layer_name
from gridgeo.levels import Level
from gridgeo.maps.style import GRID_FILL_OPACITY, LEVEL_STYLES

REPO = Path(__file__).resolve().parents[1]
SAMPLE = REPO / "data" / "sample"
SYSTEM_PYTHON = "/usr/bin/python3"  # the interpreter Debian's python3-qgis is built for

QGIS_PROBE = """
import json, os, sys
from qgis.core import QgsApplication, QgsVectorLayer
app = QgsApplication([], False)
app.initQgis()
out = {}
for name in sys.argv[2:]:
    layer = QgsVectorLayer(f"{sys.argv[1]}|layername={name}", name, "ogr")
    fill = layer.renderer().symbol().symbolLayer(0)
    labeling = layer.labeling()
    out[name] = {
        "valid": layer.isValid(),
        "features": layer.featureCount(),
        "outline": fill.strokeColor().name(),
        "outline_mm": fill.strokeWidth(),
        "fill_alpha": fill.fillColor().alpha(),
        "labels": layer.labelsEnabled(),
        "label_field": labeling.settings().fieldName if labeling else None,
    }
print(json.dumps(out), flush=True)
os._exit(0)  # QGIS 3.22 tears labelled layers down twice at exit and crashes: skip teardown
"""


def run(capsys: pytest.CaptureFixture[str], url: str, *args: str) -> tuple[int, str, str]:
    code = main([*args, "--database-url", url])
    out, err = capsys.readouterr()
    return code, out, err


@pytest.mark.parametrize("level", list(Level))
def test_styles_are_well_formed_xml_with_the_viewer_colours(level: Level) -> None:
    colour = LEVEL_STYLES[level][0]
    style = ET.fromstring(qml(level).split(">", 1)[1])  # past the DOCTYPE line
    props = {p.get("k"): p.get("v") for p in style.iter("prop")}
    r, g, b = (int(colour[k : k + 2], 16) for k in (1, 3, 5))
    assert props["outline_color"] == f"{r},{g},{b},255"
    assert (style.find("labeling") is not None) == (level in LABELLED)
    encoding = ET.fromstring(sld(level, layer_name(level)).encode())
    values = [e.text for e in encoding.iter("{http://www.opengis.net/se}SvgParameter")]
    assert colour in values


def test_export_opens_in_qgis_styled_as_in_the_viewer(
    capsys: pytest.CaptureFixture[str], store_url: str, tmp_path: Path
) -> None:
    sample = str(SAMPLE / "boundaries.gpkg")
    assert run(capsys, store_url, "import", sample, "--commit")[0] == 0
    assert run(capsys, store_url, "publish", "1")[0] == 0
    exported = tmp_path / "export.gpkg"
    assert run(capsys, store_url, "export", "-o", str(exported))[0] == 0

    layers = [layer_name(level) for level in Level]
    listed = {str(name): kind for name, kind in pyogrio.list_layers(exported)}
    assert all(listed[name] is not None for name in layers)
    assert listed["layer_styles"] is None  # an attributes table, not a map layer
    styles = pyogrio.read_dataframe(exported, layer="layer_styles")
    assert sorted(styles["f_table_name"]) == sorted(layers)
    assert styles["useAsDefault"].all()

    # a clean environment: this process's libraries (the wheels' GDAL and PROJ) set
    # variables that Debian's QGIS must not see
    env = {"PATH": "/usr/bin:/bin", "HOME": os.environ.get("HOME", "/tmp"),
           "QT_QPA_PLATFORM": "offscreen", "LANG": "C.UTF-8"}  # fmt: skip
    probe = subprocess.run(
        [SYSTEM_PYTHON, "-c", QGIS_PROBE, str(exported), *layers],
        capture_output=True,
        text=True,
        timeout=300,
        env=env,
        check=True,
    )
    seen = json.loads(probe.stdout.strip().splitlines()[-1])
    for level in Level:
        got = seen[layer_name(level)]
        colour, width_px = LEVEL_STYLES[level]
        assert got["valid"] and got["features"] > 0
        assert got["outline"] == colour
        assert got["outline_mm"] == pytest.approx(width_px * MM_PER_PX, abs=1e-3)
        expected_alpha = round(GRID_FILL_OPACITY * 255) if level is Level.GRID else 0
        assert got["fill_alpha"] == expected_alpha
        assert got["labels"] == (level in LABELLED)
        if level in LABELLED:
            assert got["label_field"] == "name"

    # QGIS's round trip: the export, read back, is the published version unchanged
    code, out, _ = run(capsys, store_url, "diff", "1", str(exported), "--format", "json")
    assert code == 0, out
    assert json.loads(out)["summary"]["counts"] == {
        key: 0 for key in json.loads(out)["summary"]["counts"]
    }
