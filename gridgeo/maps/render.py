"""Write every map of a dataset into a folder (the adapter behind ``gridgeo maps``).

The folder gets one HTML page per map, an ``index.html`` linking them and
``lib/leaflet/`` (copied from the installed package), so it can be opened from
disk or served by any web server on an intranet. Each page is written to a
temporary file and renamed into place, so a viewer never sees half a page.
"""

from __future__ import annotations

import html
import os
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import folium
import pandas as pd

from gridgeo.dataset import Dataset
from gridgeo.errors import GridgeoError
from gridgeo.i18n import tr
from gridgeo.io.writers import layer_name
from gridgeo.levels import Level
from gridgeo.maps import basemap as _basemap
from gridgeo.maps.assets import copy_leaflet
from gridgeo.maps.cases import DEFAULT_CLASSES, DEFAULT_SCHEME, assign_cases, case_map
from gridgeo.maps.level_map import level_map
from gridgeo.maps.page import page_title, render_html
from gridgeo.maps.pilot import PartnerArea, partner_areas, pilot_map
from gridgeo.maps.responsibility_map import responsibility_map
from gridgeo.maps.text import FONT_STACK, html_lang, t
from gridgeo.maps.validation_map import validation_map
from gridgeo.settings import Settings
from gridgeo.validation.report import ValidationReport

# at home in gridgeo.maps.basemap (the live viewer takes it without folium); the CLI
# imports it from here
basemap_from = _basemap.basemap_from


@dataclass
class CaseOptions:
    """The case table and how to read and class it."""

    frame: pd.DataFrame
    lon_col: str = "lon"
    lat_col: str = "lat"
    crs: str = "wgs84"
    level: Level = Level.GRID
    scheme: str = DEFAULT_SCHEME
    classes: int = DEFAULT_CLASSES


@dataclass
class RenderedMaps:
    """What was written: map name -> page path and title, and what was skipped with why."""

    folder: Path
    pages: dict[str, Path] = field(default_factory=dict)
    skipped: dict[str, str] = field(default_factory=dict)
    titles: dict[str, str] = field(default_factory=dict)


def dataset_partners(data: Dataset, lang: str) -> list[PartnerArea]:
    """The dataset's "1+2+N" partner units (issue 7) as areas; [] when it has none."""
    units = getattr(data, "partners", None)  # present once partner files are loaded
    if not units:
        return []
    from gridgeo.partners import resolve_zones

    return partner_areas(resolve_zones(units, data.grids), lang)


def coverage_page(level: Level) -> str:
    """File name of a level's coverage map, e.g. ``coverage_level5_grid.html``."""
    return f"coverage_{layer_name(level)}.html"


def render_maps(
    data: Dataset,
    out_dir: str | Path,
    *,
    settings: Settings | None = None,
    report: ValidationReport | None = None,
    validation_data: Dataset | None = None,
    cases: CaseOptions | None = None,
    partners: Sequence[PartnerArea] = (),
) -> RenderedMaps:
    """Render the coverage, pilot, validation and case maps of ``data`` into ``out_dir``.

    Parameters
    ----------
    data
        Boundaries, workstations and staff.
    settings
        Language and base layer (default: ``data.settings``).
    report, validation_data
        The validation map shows ``report`` over ``validation_data``'s
        boundaries (default: ``data`` validated now).
    cases
        Case points for the case map (skipped when None).
    partners
        Partner zones for the pilot overview (default: the dataset's partner
        units, when it has any, with their zones resolved).
    """
    settings = settings or data.settings
    lang = settings.lang
    base = basemap_from(settings)
    folder = Path(out_dir)
    folder.mkdir(parents=True, exist_ok=True)
    copy_leaflet(folder)
    out = RenderedMaps(folder)

    for level in data.grids.levels_present():
        write_page(
            out,
            f"coverage_{int(level)}",
            coverage_page(level),
            level_map(data.grids, level, lang=lang, basemap=base),
        )
    partners = partners or dataset_partners(data, lang)
    try:
        m = pilot_map(data.grids, data.workstations, data.staff, partners, lang=lang, basemap=base)
        write_page(out, "pilot", "pilot.html", m)
    except GridgeoError as exc:  # boundaries without the pilot: say so, render the rest
        out.skipped["pilot"] = str(exc)

    checked = validation_data or data
    found = report if report is not None else checked.validate()
    write_page(
        out,
        "validation",
        "validation.html",
        validation_map(checked.grids, found, lang=lang, basemap=base),
    )

    if data.staff:
        m = responsibility_map(
            data.grids,
            data.coverage(),
            data.staffing(),
            data.staff,
            data.zones.zones,
            lang=lang,
            basemap=base,
        )
        write_page(out, "responsibility", "responsibility.html", m)
    else:
        out.skipped["responsibility"] = tr("no staff roster given")

    if cases is not None:
        assigned = assign_cases(
            cases.frame,
            data.grids,
            lon_col=cases.lon_col,
            lat_col=cases.lat_col,
            crs=cases.crs,
            workstations=data.workstations,
        )
        m = case_map(
            data.grids,
            assigned,
            cases.level,
            lon_col=cases.lon_col,
            lat_col=cases.lat_col,
            crs=cases.crs,
            scheme=cases.scheme,
            k=cases.classes,
            lang=lang,
            basemap=base,
        )
        write_page(out, "cases", "cases.html", m)
    else:
        out.skipped["cases"] = tr("no case points given")

    write_index(out, lang)
    return out


def write_page(out: RenderedMaps, key: str, filename: str, m: folium.Map, title: str = "") -> None:
    """Write the page ``m`` into ``out``'s folder (atomically) and list it under ``key``,
    with ``title`` (default: the map's own title) for the index."""
    path = out.folder / filename
    _atomic_write(path, render_html(m))
    out.pages[key] = path
    out.titles[key] = title or page_title(m) or path.stem


def write_index(out: RenderedMaps, lang: str, titles: Mapping[str, str] | None = None) -> None:
    """``index.html``: a link to each page under its title (in ``titles`` by page key, else
    the one the page was written with), its file name in small type beside it."""
    _atomic_write(out.folder / "index.html", _index(out, lang, {**out.titles, **(titles or {})}))


def _atomic_write(path: Path, text: str) -> None:
    """Write to a temporary file and rename it into place: a reader never sees half a page."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _index(out: RenderedMaps, lang: str, titles: Mapping[str, str]) -> str:
    items = "".join(
        f"<li><a href='{html.escape(p.name)}'>{html.escape(titles.get(k) or p.stem)}</a> "
        f"<small class='file'>{html.escape(p.name)}</small></li>"
        for k, p in out.pages.items()
    )
    title = html.escape(t("index_title", lang))
    return (
        f"<!doctype html><html lang='{html_lang(lang)}'><meta charset='utf-8'>"
        f"<meta name='viewport' content='width=device-width, initial-scale=1'>"
        f"<title>{title}</title><style>{_INDEX_CSS}</style>"
        f"<h1>{title}</h1><ul>{items}</ul></html>\n"
    )


_INDEX_CSS = (
    f"body{{font-family:{FONT_STACK};margin:2em;line-height:1.8;color:#222}}"
    "h1{font-size:22px}ul{padding-left:1.2em}a{font-size:16px}"
    ".file{color:#888;font-size:12px;margin-left:.5em}"
)
