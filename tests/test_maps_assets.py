from __future__ import annotations

from pathlib import Path

import folium

from gridgeo.maps import assets


def test_leaflet_comes_from_the_installed_package() -> None:
    folder = assets.leaflet_dir()
    for name in assets.LEAFLET_FILES:
        assert (folder / name).exists(), name
    assert (
        "L.version" in (folder / "leaflet.js").read_text(encoding="utf-8")[:100000]
        or (folder / "leaflet.js").stat().st_size > 100_000
    )
    assert assets.leaflet_version().startswith("1.9")


def test_localize_replaces_every_cdn_reference() -> None:
    plain = folium.Map(tiles=None).get_root().render()
    assert assets.remote_assets(plain), "folium's defaults point at CDNs"
    m = assets.localize(folium.Map(tiles=None), "lib")
    page = m.get_root().render()
    assert assets.remote_assets(page) == []
    assert '<script src="lib/leaflet/leaflet.js">' in page
    assert 'href="lib/leaflet/leaflet.css"' in page
    # the class defaults are untouched: other folium users keep theirs
    assert any("cdn" in url for _, url in folium.Map.default_js)


def test_remote_assets_finds_scheme_relative_and_https() -> None:
    page = (
        '<script src="//cdn.example/x.js"></script><link rel="stylesheet" href="https://a/b.css">'
        '<img src="lib/a.png"><script src="/map/lib/leaflet/leaflet.js"></script>'
    )
    assert assets.remote_assets(page) == ["//cdn.example/x.js", "https://a/b.css"]


def test_copy_leaflet(tmp_path: Path) -> None:
    target = assets.copy_leaflet(tmp_path)
    assert target == tmp_path / "lib" / "leaflet"
    assert (target / "leaflet.js").read_bytes() == (
        assets.leaflet_dir() / "leaflet.js"
    ).read_bytes()
    assert (target / "images" / "marker-icon.png").exists()
    assets.copy_leaflet(tmp_path)  # again: replaces in place
