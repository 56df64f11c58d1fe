"""JavaScript and CSS of the maps, from the installed XStatic-Leaflet package (no CDN).

folium points its pages at CDNs (jsDelivr, code.jquery.com, cdnjs). On an
intranet those never load, so every map page here references only Leaflet,
copied from the installed ``xstatic.pkg.leaflet`` package next to the pages
(``lib/leaflet/``) or served by the API (``/map/lib/leaflet/``). The maps use
no element that needs jQuery, Bootstrap or Font Awesome, and
:func:`remote_assets` refuses any page that still references a remote script or
stylesheet, so a future element that does fails loudly instead of blanking the
page on an intranet.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import folium

LIB = "lib"
LEAFLET = "leaflet"
# files of the Leaflet distribution the pages load (the images are marker and layer icons)
LEAFLET_FILES = ("leaflet.js", "leaflet.css", "images")

_ASSET_REF = re.compile(
    r"""<(?:script|link|img)\b[^>]*?\b(?:src|href)\s*=\s*["']([^"']+)["']""", re.IGNORECASE
)
_REMOTE = re.compile(r"^(?:[a-z][a-z0-9+.-]*:)?//", re.IGNORECASE)


def leaflet_dir() -> Path:
    """Folder of the installed Leaflet distribution (``xstatic.pkg.leaflet``)."""
    from xstatic.pkg import leaflet

    return Path(leaflet.BASE_DIR)


def leaflet_version() -> str:
    """Version of the installed Leaflet."""
    from xstatic.pkg import leaflet

    return str(leaflet.VERSION)


def local_resources(prefix: str) -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
    """folium-style ``(name, url)`` lists of the JS and CSS under ``prefix`` (e.g. ``lib``)."""
    base = f"{prefix.rstrip('/')}/{LEAFLET}"
    return [("leaflet", f"{base}/leaflet.js")], [("leaflet_css", f"{base}/leaflet.css")]


def localize(m: folium.Map, prefix: str = LIB) -> folium.Map:
    """Make ``m`` load Leaflet from ``prefix`` instead of folium's CDN defaults."""
    m.default_js, m.default_css = local_resources(prefix)
    return m


def remote_assets(html: str) -> list[str]:
    """URLs of scripts, stylesheets and images in ``html`` that are not local files."""
    return [url for url in _ASSET_REF.findall(html) if _REMOTE.match(url)]


def copy_leaflet(out_dir: Path) -> Path:
    """Copy Leaflet into ``out_dir/lib/leaflet`` (replacing an older copy); returns that folder."""
    target = out_dir / LIB / LEAFLET
    source = leaflet_dir()
    target.mkdir(parents=True, exist_ok=True)
    for name in LEAFLET_FILES:
        src, dst = source / name, target / name
        if src.is_dir():
            shutil.copytree(src, dst, dirs_exist_ok=True)
        else:
            shutil.copyfile(src, dst)
    return target
