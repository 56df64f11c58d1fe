from __future__ import annotations

import json

import pytest

from gridgeo.maps.basemap import NO_BASEMAP, BasemapError, basemap
from gridgeo.maps.page import new_map, render_html

BOUNDS = (110.2, 25.2, 110.4, 25.4)


def test_none_adds_no_tiles() -> None:
    assert basemap("none") is NO_BASEMAP
    page = render_html(new_map(BOUNDS))
    assert "tileLayer" not in page


def test_tianditu_vector_and_annotation_per_language() -> None:
    base = basemap("tianditu", key=" abc123 ")
    zh = render_html(new_map(BOUNDS, basemap=base, lang="zh"))
    en = render_html(new_map(BOUNDS, basemap=base, lang="en"))
    assert "LAYER=vec" in zh and "LAYER=cva" in zh and "tk=abc123" in zh
    assert "LAYER=eva" in en and "LAYER=cva" not in en
    with pytest.raises(BasemapError, match="needs a key"):
        basemap("tianditu")


def test_xyz_template() -> None:
    base = basemap("xyz", url="http://10.1.1.1/tiles/{z}/{x}/{y}.png", attribution="市测绘院")
    page = render_html(new_map(BOUNDS, basemap=base))
    assert '"http://10.1.1.1/tiles/{z}/{x}/{y}.png"' in page
    assert json.dumps("市测绘院") in page  # the attribution, as folium writes it
    with pytest.raises(BasemapError, match=r"\{z\}"):
        basemap("xyz", url="http://x/tiles.png")
    with pytest.raises(BasemapError, match="unknown basemap"):
        basemap("google")
