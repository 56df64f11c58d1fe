"""JavaScript and CSS of the maps, from the installed XStatic-Leaflet package (no CDN).

folium points its pages at CDNs (jsDelivr, code.jquery.com, cdnjs). On an
intranet those never load, so every map page here references only Leaflet,
copied from the installed ``xstatic.pkg.leaflet`` package next to the pages
(``lib/leaflet/``) or served by the API (``/map/lib/leaflet/``). The maps use
no element that needs jQuery, Bootstrap or Font Awesome, and
:func:`remote_assets` refuses any page that still references a remote script or
stylesheet, so a future element that does fails loudly instead of blanking the
page on an intranet.

The heat maps use Leaflet.heat (BSD 2-clause, Vladimir Agafonkin), the build that
the PyPI package folium ships in ``folium/templates/leaflet_heat.min.js`` (the
npm ``leaflet.heat`` 0.2.0 build with a fix of its weights). folium is a
dependency, so the file is copied from the installed package next to the pages
(``lib/leaflet-heat/``) with its licence, like Leaflet from XStatic; nothing of it
is kept or edited here.
"""

from __future__ import annotations

import importlib.util
import re
import shutil
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import folium

LIB = "lib"
LEAFLET = "leaflet"
# files of the Leaflet distribution the pages load (the images are marker and layer icons)
LEAFLET_FILES = ("leaflet.js", "leaflet.css", "images")
LEAFLET_HEAT = "leaflet-heat"
LEAFLET_HEAT_JS = "leaflet-heat.js"
# Leaflet.heat's licence, as in the LICENSE file of the npm package leaflet.heat 0.2.0
# (folium's copy carries only the copyright line; the licence asks for its whole text)
LEAFLET_HEAT_LICENSE = """\
Copyright (c) 2014, Vladimir Agafonkin
All rights reserved.

Redistribution and use in source and binary forms, with or without modification, are
permitted provided that the following conditions are met:

   1. Redistributions of source code must retain the above copyright notice, this list of
      conditions and the following disclaimer.

   2. Redistributions in binary form must reproduce the above copyright notice, this list
      of conditions and the following disclaimer in the documentation and/or other materials
      provided with the distribution.

THIS SOFTWARE IS PROVIDED BY THE COPYRIGHT HOLDERS AND CONTRIBUTORS "AS IS" AND ANY
EXPRESS OR IMPLIED WARRANTIES, INCLUDING, BUT NOT LIMITED TO, THE IMPLIED WARRANTIES OF
MERCHANTABILITY AND FITNESS FOR A PARTICULAR PURPOSE ARE DISCLAIMED. IN NO EVENT SHALL THE
COPYRIGHT HOLDER OR CONTRIBUTORS BE LIABLE FOR ANY DIRECT, INDIRECT, INCIDENTAL, SPECIAL,
EXEMPLARY, OR CONSEQUENTIAL DAMAGES (INCLUDING, BUT NOT LIMITED TO, PROCUREMENT OF
SUBSTITUTE GOODS OR SERVICES; LOSS OF USE, DATA, OR PROFITS; OR BUSINESS INTERRUPTION)
HOWEVER CAUSED AND ON ANY THEORY OF LIABILITY, WHETHER IN CONTRACT, STRICT LIABILITY, OR
TORT (INCLUDING NEGLIGENCE OR OTHERWISE) ARISING IN ANY WAY OUT OF THE USE OF THIS
SOFTWARE, EVEN IF ADVISED OF THE POSSIBILITY OF SUCH DAMAGE.
"""

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


def leaflet_heat_source() -> Path:
    """Leaflet.heat as the installed folium package ships it."""
    # found, not imported: the service serves Leaflet from here without folium's 10 MB
    spec = importlib.util.find_spec("folium")
    if spec is None or spec.origin is None:
        raise ModuleNotFoundError("folium")
    return Path(spec.origin).parent / "templates" / "leaflet_heat.min.js"


def heat_url(prefix: str = LIB) -> str:
    """URL of Leaflet.heat under ``prefix``, as :func:`copy_leaflet_heat` lays it out."""
    return f"{prefix.rstrip('/')}/{LEAFLET_HEAT}/{LEAFLET_HEAT_JS}"


def copy_leaflet_heat(out_dir: Path) -> Path:
    """Copy Leaflet.heat and its licence into ``out_dir/lib/leaflet-heat``; returns the folder."""
    target = out_dir / LIB / LEAFLET_HEAT
    target.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(leaflet_heat_source(), target / LEAFLET_HEAT_JS)
    (target / "LICENSE").write_text(LEAFLET_HEAT_LICENSE, encoding="utf-8")
    return target
