"""QGIS layer styles for GeoPackages: every level looks in QGIS as it does in the viewer.

QGIS keeps a layer's default style in a ``layer_styles`` table of the
GeoPackage (columns ``f_table_name``, ``styleQML``, ``styleSLD``,
``useAsDefault``, ...): opening a layer applies the row marked default. The
writer adds one row per level layer, with a QML (QGIS's own format) and an SLD
(OGC Symbology Encoding, for GeoServer and other tools): the outline colour and
width of the level in the viewer (:data:`gridgeo.maps.style.LEVEL_STYLES`),
the grids' light fill, and the names as labels on districts, streets and
communities.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from xml.sax.saxutils import quoteattr

from gridgeo.i18n import current_lang, tr
from gridgeo.io.gdal_library import pyogrio_module
from gridgeo.levels import Level
from gridgeo.maps.style import GRID_FILL_OPACITY, LEVEL_STYLES

TABLE = "layer_styles"
GEOMETRY_COLUMN = "geom"  # GDAL's default geometry column name in a GeoPackage
MM_PER_PX = 25.4 / 96  # a CSS pixel at 96 dpi
LABELLED = (Level.DISTRICT, Level.STREET, Level.COMMUNITY)


def _rgba(hex_colour: str, alpha: float) -> str:
    r, g, b = (int(hex_colour[k : k + 2], 16) for k in (1, 3, 5))
    return f"{r},{g},{b},{round(alpha * 255)}"


def _fill_opacity(level: Level) -> float:
    return GRID_FILL_OPACITY if level is Level.GRID else 0.0


def qml(level: Level) -> str:
    """The QGIS style (QML) of a level's layer."""
    colour, width_px = LEVEL_STYLES[level]
    props = {
        "color": _rgba(colour, _fill_opacity(level)),
        "style": "solid" if level is Level.GRID else "no",
        "outline_color": _rgba(colour, 1.0),
        "outline_style": "solid",
        "outline_width": f"{width_px * MM_PER_PX:.3f}",
        "outline_width_unit": "MM",
        "joinstyle": "round",
    }
    prop_xml = "".join(f"<prop k={quoteattr(k)} v={quoteattr(v)}/>" for k, v in props.items())
    labels = level in LABELLED
    label_xml = (
        '<labeling type="simple"><settings calloutType="simple">'
        f'<text-style fieldName="name" fontSize="{10 if level is Level.DISTRICT else 9}" '
        f'textColor="{_rgba(colour, 1.0)}" fontWeight="{75 if level is Level.DISTRICT else 50}" '
        'namedStyle="Regular" isExpression="0" textOpacity="1"/>'
        '<text-buffer bufferDraw="1" bufferSize="0.8" bufferSizeUnits="MM" '
        'bufferColor="255,255,255,255" bufferOpacity="0.8"/>'
        '<placement placement="1" fitInPolygonOnly="0"/>'
        "</settings></labeling>"
        if labels
        else ""
    )
    return (
        "<!DOCTYPE qgis PUBLIC 'http://mrcc.com/qgis.dtd' 'SYSTEM'>"
        f'<qgis version="3.22.0" styleCategories="Symbology|Labeling" '
        f'labelsEnabled="{int(labels)}">'
        '<renderer-v2 type="singleSymbol" symbollevels="0" forceraster="0" enableorderby="0">'
        '<symbols><symbol type="fill" name="0" alpha="1" clip_to_extent="1" force_rhr="0">'
        f'<layer class="SimpleFill" enabled="1" locked="0" pass="0">{prop_xml}</layer>'
        "</symbol></symbols></renderer-v2>"
        f"{label_xml}</qgis>"
    )


def sld(level: Level, layer: str) -> str:
    """The OGC SLD 1.1 (Symbology Encoding) of a level's layer."""
    colour, width_px = LEVEL_STYLES[level]
    text = (
        "<se:TextSymbolizer><se:Label><ogc:PropertyName>name</ogc:PropertyName></se:Label>"
        f'<se:Fill><se:SvgParameter name="fill">{colour}</se:SvgParameter></se:Fill>'
        "</se:TextSymbolizer>"
        if level in LABELLED
        else ""
    )
    return (
        '<?xml version="1.0" encoding="UTF-8"?>'
        '<StyledLayerDescriptor version="1.1.0" xmlns="http://www.opengis.net/sld" '
        'xmlns:se="http://www.opengis.net/se" xmlns:ogc="http://www.opengis.net/ogc">'
        f"<NamedLayer><se:Name>{layer}</se:Name><UserStyle><se:Name>{layer}</se:Name>"
        "<se:FeatureTypeStyle><se:Rule><se:PolygonSymbolizer>"
        f'<se:Fill><se:SvgParameter name="fill">{colour}</se:SvgParameter>'
        f'<se:SvgParameter name="fill-opacity">{_fill_opacity(level):g}</se:SvgParameter>'
        "</se:Fill>"
        f'<se:Stroke><se:SvgParameter name="stroke">{colour}</se:SvgParameter>'
        f'<se:SvgParameter name="stroke-width">{width_px:g}</se:SvgParameter>'
        '<se:SvgParameter name="stroke-linejoin">round</se:SvgParameter></se:Stroke>'
        f"</se:PolygonSymbolizer>{text}</se:Rule></se:FeatureTypeStyle>"
        "</UserStyle></NamedLayer></StyledLayerDescriptor>"
    )


def write_layer_styles(path: Path, layers: dict[Level, str]) -> None:
    """Add the ``layer_styles`` table to the GeoPackage at ``path``: one default style a layer."""
    now = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S")
    rows = [
        {
            "f_table_catalog": "",
            "f_table_schema": "",
            "f_table_name": layer,
            "f_geometry_column": GEOMETRY_COLUMN,
            "styleName": f"gridgeo {layer}",
            "styleQML": qml(level),
            "styleSLD": sld(level, layer),
            "useAsDefault": True,
            "description": tr(
                "gridgeo: {level}, as in the viewer",
                level=level.zh if current_lang() == "zh" else level.label,
            ),
            "owner": "gridgeo",
            "ui": None,
            "update_time": now,
        }
        for level, layer in sorted(layers.items())
    ]
    import pandas as pd  # only when writing: importing this module costs nothing

    pyogrio_module().write_dataframe(
        pd.DataFrame(rows),
        path,
        layer=TABLE,
        driver="GPKG",
        append=True,
        layer_options={"FID": "id", "ASPATIAL_VARIANT": "GPKG_ATTRIBUTES"},
    )
