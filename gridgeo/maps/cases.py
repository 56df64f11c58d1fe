"""Case map: case counts per grid at a chosen level as a choropleth, plus the case points.

Points are assigned with the batch engine (:func:`gridgeo.batch.assign_frame`
on a :class:`gridgeo.index.GridIndex`), counted per grid of the chosen level
and classed with mapclassify (Fisher-Jenks by default: optimal and
deterministic, unlike k-means natural breaks).
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import folium
import numpy as np
import numpy.typing as npt
import pandas as pd

from gridgeo.batch import assign_frame, coordinates, workstation_lookup
from gridgeo.coords import bad_lonlat_mask, parse_coord_system, to_cgcs2000
from gridgeo.errors import GridgeoError
from gridgeo.geometry import make_valid_polygonal
from gridgeo.i18n import current_lang, tr
from gridgeo.index import GridIndex
from gridgeo.levels import Level
from gridgeo.maps import style
from gridgeo.maps.basemap import NO_BASEMAP, Basemap
from gridgeo.maps.page import (
    PRECISION,
    LegendRow,
    add_legend,
    add_title,
    bounds_of,
    escape,
    feature_collection,
    new_map,
)
from gridgeo.maps.text import scheme_name, t
from gridgeo.model import GridSet
from gridgeo.workstation import Workstation

SCHEMES = ("FisherJenks", "NaturalBreaks", "Quantiles", "EqualInterval")
DEFAULT_SCHEME = "FisherJenks"
DEFAULT_CLASSES = 5
# points drawn on the page; beyond this the page would be slow to open, the counts
# (choropleth) still use every point
MAX_POINTS = 5_000


@dataclass(frozen=True)
class CaseCounts:
    """Case counts of the grids of one level.

    Attributes
    ----------
    level
        The level counted.
    positions
        Positions (in the grid set) of the grids of that level.
    counts
        Cases in each of those grids (same order).
    total, outside, bad_input
        Points read; usable points in no grid of ``level``; points with unusable
        coordinates.
    """

    level: Level
    positions: npt.NDArray[np.intp]
    counts: npt.NDArray[np.int64]
    total: int
    outside: int
    bad_input: int


@dataclass(frozen=True)
class Classes:
    """Class breaks of the counts: upper bounds, class of each grid, colours."""

    scheme: str
    bins: tuple[float, ...]
    classes: npt.NDArray[np.intp]
    colours: tuple[str, ...]

    def labels(self, minimum: float) -> list[str]:
        """Legend labels ``low – high`` of each class (counts are whole numbers)."""
        out, low = [], minimum
        for upper in self.bins:
            out.append(f"{low:g} – {upper:g}" if upper > low else f"{upper:g}")
            low = np.floor(upper) + 1
        return out


def assign_cases(
    frame: pd.DataFrame,
    grids: GridSet,
    *,
    lon_col: str = "lon",
    lat_col: str = "lat",
    crs: str = "wgs84",
    workstations: list[Workstation] | None = None,
    index: GridIndex | None = None,
) -> pd.DataFrame:
    """The case table with ``code_l1``..``code_l5``, ``workstation_code`` and ``status``."""
    index = index or GridIndex(grids)
    return assign_frame(
        frame,
        index,
        lon_col=lon_col,
        lat_col=lat_col,
        crs=crs,
        stations=workstation_lookup(workstations or []),
    )


def case_counts(assigned: pd.DataFrame, grids: GridSet, level: Level) -> CaseCounts:
    """Cases per grid of ``level`` from a table assigned by :func:`assign_cases`."""
    positions = np.flatnonzero(grids.levels == int(level))
    if positions.size == 0:
        raise GridgeoError(
            tr(
                "no grid of level {n} ({level}) in the boundaries",
                n=int(level),
                level=level.name_in(current_lang()),
            )
        )
    column = assigned[f"code_l{int(level)}"].fillna("").astype(str)
    per_code = column[column != ""].value_counts()
    counts = np.array(
        [int(per_code.get(grids.codes[p] or "", 0)) for p in positions], dtype=np.int64
    )
    bad = (assigned["status"].astype(str) == "bad_input").to_numpy()
    return CaseCounts(
        level,
        positions,
        counts,
        total=len(assigned),
        outside=int(((column == "").to_numpy() & ~bad).sum()),
        bad_input=int(bad.sum()),
    )


def classify(
    counts: npt.ArrayLike, scheme: str = DEFAULT_SCHEME, k: int = DEFAULT_CLASSES
) -> Classes:
    """Class breaks of ``counts`` with mapclassify; fewer classes when fewer distinct values.

    Raises
    ------
    GridgeoError
        For an unknown scheme or ``k`` outside 1..7.
    """
    if scheme not in SCHEMES:
        raise GridgeoError(
            tr(
                "unknown classification {scheme!r}; use one of {known}",
                scheme=scheme,
                known=", ".join(SCHEMES),
            )
        )
    if not 1 <= k <= len(style.SEQUENTIAL):
        raise GridgeoError(
            tr("classes must be 1..{most}, not {k}", most=len(style.SEQUENTIAL), k=k)
        )
    y = np.asarray(counts, dtype=float)
    k = max(1, min(k, len(np.unique(y))))
    if k == 1:
        bins: tuple[float, ...] = (float(y.max()) if y.size else 0.0,)
        return Classes(scheme, bins, np.zeros(y.size, dtype=np.intp), style.sequential(1))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # mapclassify warns when it merges equal breaks
        import mapclassify  # seconds to import (it brings matplotlib): only when classing

        result = mapclassify.classify(y, scheme, k=k)
    bins = tuple(float(b) for b in result.bins)
    return Classes(scheme, bins, np.asarray(result.yb, dtype=np.intp), style.sequential(len(bins)))


def case_map(
    grids: GridSet,
    assigned: pd.DataFrame,
    level: Level = Level.GRID,
    *,
    lon_col: str = "lon",
    lat_col: str = "lat",
    crs: str = "wgs84",
    scheme: str = DEFAULT_SCHEME,
    k: int = DEFAULT_CLASSES,
    max_points: int = MAX_POINTS,
    lang: str = "zh",
    basemap: Basemap = NO_BASEMAP,
    prefix: str = "lib",
) -> folium.Map:
    """The choropleth of case counts per grid of ``level`` with the case points on top.

    Parameters
    ----------
    assigned
        Cases as returned by :func:`assign_cases` (coordinates in ``crs``).
    max_points
        At most this many points are drawn (the first ones); all are counted.
    """
    counted = case_counts(assigned, grids, level)
    classes = classify(counted.counts, scheme, k)
    geoms = make_valid_polygonal(grids.geometries[counted.positions])
    level_name = level.name_in(lang)
    props = [
        {
            "code": escape(grids.codes[p]),
            "name": escape(grids.names[p]),
            "cases": int(n),
            "colour": classes.colours[c],
        }
        for p, n, c in zip(counted.positions, counted.counts, classes.classes, strict=True)
    ]
    m = new_map(bounds_of(list(geoms)), basemap=basemap, lang=lang, prefix=prefix)
    aliases = [t("code", lang), t("name", lang), t("cases", lang)]
    folium.GeoJson(
        feature_collection(geoms, props),
        name=level_name,
        style_function=lambda f: style.polygon_style(
            f["properties"]["colour"], opacity=style.CHOROPLETH_OPACITY, weight=1
        ),
        highlight_function=lambda f: {"weight": 3},
        tooltip=folium.GeoJsonTooltip(fields=["code", "name", "cases"], aliases=aliases),
        popup=folium.GeoJsonPopup(fields=["code", "name", "cases"], aliases=aliases),
        zoom_on_click=False,
    ).add_to(m)

    shown = _points(
        m,
        assigned,
        level=level,
        lon_col=lon_col,
        lat_col=lat_col,
        crs=crs,
        max_points=max_points,
        lang=lang,
    )
    add_title(
        m,
        t("cases_title", lang, level=level_name),
        t("cases_subtitle", lang, total=counted.total, outside=counted.outside, level=level_name),
    )
    minimum = float(counted.counts.min()) if counted.counts.size else 0.0
    rows = [
        LegendRow(colour, label)
        for colour, label in zip(classes.colours, classes.labels(minimum), strict=True)
    ]
    rows.append(LegendRow(style.CASE_POINT, t("case_points", lang), "point"))
    note = (
        t("case_points_shown", lang, shown=shown, total=counted.total)
        if shown < counted.total
        else ""
    )
    add_legend(m, t("cases_legend", lang, scheme=scheme_name(scheme, lang)), rows, note)
    return m


def _points(
    m: folium.Map,
    assigned: pd.DataFrame,
    *,
    level: Level,
    lon_col: str,
    lat_col: str,
    crs: str,
    max_points: int,
    lang: str,
) -> int:
    head = assigned.iloc[:max_points]
    lon, lat = coordinates(head, lon_col, lat_col)
    good = ~bad_lonlat_mask(lon, lat)
    x, y = to_cgcs2000(lon[good], lat[good], parse_coord_system(crs))  # draw where they are
    codes = head[f"code_l{int(level)}"].to_numpy(dtype=object)[good]
    ids = _ids(head)[good]
    features = [
        {
            "type": "Feature",
            "properties": {"id": escape(i), "code": escape(c) if isinstance(c, str) else ""},
            "geometry": {
                "type": "Point",
                "coordinates": [round(float(a), PRECISION), round(float(b), PRECISION)],
            },
        }
        for i, c, a, b in zip(ids, codes, x, y, strict=True)
    ]
    if features:
        folium.GeoJson(
            {"type": "FeatureCollection", "features": features},
            name=t("case_points", lang),
            marker=folium.CircleMarker(
                radius=3, color="#ffffff", weight=1, fill=True, fill_opacity=0.9
            ),
            style_function=lambda f: {"fillColor": style.CASE_POINT},
            tooltip=folium.GeoJsonTooltip(
                fields=["id", "code"], aliases=[t("case_id", lang), t("code", lang)]
            ),
        ).add_to(m)
    return len(features)


def _ids(frame: pd.DataFrame) -> npt.NDArray[np.object_]:
    for column in ("id", "case_id", "编号"):
        if column in frame.columns:
            return frame[column].astype(str).to_numpy(dtype=object)
    return np.asarray([str(i + 1) for i in range(len(frame))], dtype=object)
