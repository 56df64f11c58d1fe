"""The grid set: the boundary features of one or more levels, in EPSG:4490.

A :class:`GridSet` is an immutable table with one row per feature as read
(valid or not) and these columns:

``code``        str or None: the grid code as written in the file
``name``        str: display name ("" when the file has none)
``level``       int 1-5, or -1 when neither the file nor the code tells
``parent_code`` str or None: the parent as written, else derived from the code
``ref``         str: where the feature came from (``file.geojson#3``), for messages
``geometry``    shapely geometry in EPSG:4490 (may be invalid or empty)

Extra attribute columns from the source are kept, so a repaired file keeps
them. A grid set is immutable: derive a new one (``with_geometries``,
``subset``, ``from_frame``) instead of editing ``frame``, since columns are
cached as arrays and lists on first use. Nothing here does I/O.
"""

from __future__ import annotations

import math
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from gridgeo.codes import CodeScheme
from gridgeo.crs import STORAGE_EPSG, MetricFrame
from gridgeo.errors import CodeError, NotFoundError
from gridgeo.i18n import tr
from gridgeo.levels import Level, parse_level

if TYPE_CHECKING:
    import geopandas as gpd

CORE_COLUMNS = ("code", "name", "level", "parent_code", "ref")
UNKNOWN_LEVEL = -1


@dataclass(frozen=True)
class _Columns:
    """A grid set's columns without pandas, normalised (:meth:`GridSet.from_records`)."""

    codes: list[str | None]
    names: list[str]
    levels: npt.NDArray[np.int64]
    parent_codes: list[str | None]
    refs: list[str]
    geometries: npt.NDArray[np.object_]
    extra: dict[str, list[Any]] = field(default_factory=dict)

    def take(self, positions: npt.NDArray[np.intp]) -> _Columns:
        at = positions.tolist()
        return _Columns(
            codes=[self.codes[i] for i in at],
            names=[self.names[i] for i in at],
            levels=self.levels[positions],
            parent_codes=[self.parent_codes[i] for i in at],
            refs=[self.refs[i] for i in at],
            geometries=self.geometries[positions],
            extra={k: [v[i] for i in at] for k, v in self.extra.items()},
        )

    def frame(self) -> gpd.GeoDataFrame:
        import geopandas as gpd
        import pandas as pd

        # object dtype keeps None as None (pandas' string dtype would turn it into NaN)
        data: dict[str, Any] = {
            "code": pd.Series(self.codes, dtype=object),
            "name": pd.Series(self.names, dtype=object),
            "level": pd.Series(self.levels, dtype="int64"),
            "parent_code": pd.Series(self.parent_codes, dtype=object),
            "ref": pd.Series(self.refs, dtype=object),
        }
        data.update({k: pd.Series(v, dtype=object) for k, v in self.extra.items()})
        frame = pd.DataFrame(data, index=pd.RangeIndex(len(self.codes)))
        return gpd.GeoDataFrame(frame, geometry=list(self.geometries), crs=STORAGE_EPSG)


class GridSet:
    """Boundary features of the five grid levels, with their hierarchy.

    Build one with :meth:`from_records` or :meth:`from_frame`; files are read by
    :func:`gridgeo.io.boundaries.read_boundaries`. A set built from records (as the
    store reads a published version) holds plain columns and makes its GeoDataFrame
    (:attr:`frame`) only when asked: a service answering lookups and tiles never
    imports pandas or geopandas (~80 MB per worker).
    """

    def __init__(
        self,
        frame: gpd.GeoDataFrame | None = None,
        scheme: CodeScheme | None = None,
        *,
        columns: _Columns | None = None,
    ) -> None:
        if (frame is None) == (columns is None):
            raise ValueError("a GridSet takes a frame or columns")
        self.scheme = scheme or CodeScheme()
        self._columns = columns
        if frame is not None:
            self.__dict__["frame"] = frame

    # --- construction -------------------------------------------------------
    @classmethod
    def of_owners(
        cls,
        codes: Sequence[str | None],
        levels: npt.NDArray[np.integer[Any]],
        geometries: npt.NDArray[np.object_],
    ) -> GridSet:
        """Grids whose codes and levels are already normalised (an index file's owners),
        without names, parents or refs: enough to locate points (:class:`gridgeo.lookup.
        Locator`), at none of :meth:`from_records`' per-grid cost (0.4 s at 22,852 grids)."""
        n = len(codes)
        columns = _Columns(
            codes=list(codes),
            names=[""] * n,
            levels=np.asarray(levels, dtype=np.int64),
            parent_codes=[None] * n,
            refs=[""] * n,
            geometries=np.asarray(geometries, dtype=object),
        )
        return cls(columns=columns)

    @classmethod
    def from_records(
        cls,
        codes: Sequence[str | None],
        geometries: Sequence[Any] | npt.NDArray[np.object_],
        *,
        names: Sequence[object] | None = None,
        levels: Sequence[object] | None = None,
        parent_codes: Sequence[object] | None = None,
        refs: Sequence[object] | None = None,
        extra: dict[str, list[Any]] | None = None,
        scheme: CodeScheme | None = None,
    ) -> GridSet:
        """A grid set from parallel sequences; levels default to those the codes imply.

        The values are normalised as :meth:`from_frame` does (codes as text, levels and
        parents from the codes where missing). ``extra``: further attribute columns
        (kept, and written back to files).

        Examples
        --------
        >>> from shapely import box
        >>> grids = GridSet.from_records(
        ...     ["450302001001", "450302001001001"],
        ...     [box(110.28, 25.27, 110.30, 25.29), box(110.28, 25.27, 110.29, 25.28)],
        ...     names=["叠彩社区", "第一网格"],
        ... )
        >>> [int(lv) for lv in grids.levels], grids.parent_codes   # both from the codes
        ([4, 5], ['450302001', '450302001001'])
        """
        scheme = scheme or CodeScheme()
        n = len(codes)
        geoms = np.empty(n, dtype=object)
        geoms[:] = list(geometries)
        clean = _normalised(
            scheme,
            codes=codes,
            names=names if names is not None else [""] * n,
            levels=levels if levels is not None else [None] * n,
            parents=parent_codes if parent_codes is not None else [None] * n,
            refs=refs if refs is not None else [None] * n,
        )
        extra = {
            k: list(v) for k, v in (extra or {}).items() if k not in (*CORE_COLUMNS, "geometry")
        }
        return cls(columns=_Columns(*clean, geometries=geoms, extra=extra), scheme=scheme)

    @classmethod
    def from_frame(cls, frame: gpd.GeoDataFrame, scheme: CodeScheme | None = None) -> GridSet:
        """Normalise a frame with the core columns (missing ones are filled).

        Levels missing from the frame are inferred from the codes; parents
        missing from the frame are derived from the codes. Codes that cannot be
        read leave level -1 or parent None; validation reports them.
        """
        import geopandas as gpd
        import pandas as pd

        scheme = scheme or CodeScheme()
        frame = frame.reset_index(drop=True).copy()
        n = len(frame)
        for column, default in (
            ("code", None),
            ("name", ""),
            ("level", None),
            ("parent_code", None),
            ("ref", None),
        ):
            if column not in frame.columns:
                frame[column] = [default] * n
        codes, names, levels, parents, refs = _normalised(
            scheme,
            codes=list(frame["code"]),
            names=list(frame["name"]),
            levels=list(frame["level"]),
            parents=list(frame["parent_code"]),
            refs=list(frame["ref"]),
        )
        # object dtype keeps None as None (pandas' string dtype would turn it into NaN)
        frame["code"] = pd.Series(codes, dtype=object, index=frame.index)
        frame["name"] = pd.Series(names, dtype=object, index=frame.index)
        frame["ref"] = pd.Series(refs, dtype=object, index=frame.index)
        frame["level"] = pd.Series(levels, dtype="int64", index=frame.index)
        frame["parent_code"] = pd.Series(parents, dtype=object, index=frame.index)
        if frame.crs is None:
            frame = frame.set_crs(STORAGE_EPSG)
        ordered = [
            *CORE_COLUMNS,
            *[c for c in frame.columns if c not in (*CORE_COLUMNS, "geometry")],
        ]
        return cls(
            gpd.GeoDataFrame(frame[[*ordered, "geometry"]], geometry="geometry", crs=frame.crs),
            scheme,
        )

    @property
    def _plain_columns(self) -> _Columns | None:
        """The plain columns while they are the set: built from records, its frame not
        made yet. Once made, the frame is the set, as for a set made from a frame (code
        that added a column to it keeps it through :meth:`subset` and the like)."""
        return self._columns if "frame" not in self.__dict__ else None

    @cached_property
    def frame(self) -> gpd.GeoDataFrame:
        """The features as a GeoDataFrame: the core columns, the extra ones, ``geometry``
        (EPSG:4490). Made on first use for a set built from records."""
        assert self._columns is not None  # a set made from a frame holds it already
        return self._columns.frame()

    def with_geometries(self, geoms: npt.NDArray[np.object_] | Sequence[Any]) -> GridSet:
        """The same features with new geometries."""
        plain = self._plain_columns
        if plain is not None:
            new = np.empty(len(self), dtype=object)
            new[:] = list(geoms)
            columns = _Columns(
                codes=plain.codes,
                names=plain.names,
                levels=plain.levels,
                parent_codes=plain.parent_codes,
                refs=plain.refs,
                geometries=new,
                extra=plain.extra,
            )
            return GridSet(columns=columns, scheme=self.scheme)
        import geopandas as gpd

        frame = self.frame.copy()
        frame["geometry"] = gpd.GeoSeries(list(geoms), crs=self.frame.crs)
        return GridSet(frame, self.scheme)

    def subset(self, mask: npt.NDArray[Any] | Sequence[int]) -> GridSet:
        """The features selected by a boolean mask or positions, renumbered."""
        chosen = np.asarray(mask)
        plain = self._plain_columns
        if plain is not None:
            positions = np.flatnonzero(chosen) if chosen.dtype == bool else chosen.astype(np.intp)
            return GridSet(columns=plain.take(positions), scheme=self.scheme)
        import geopandas as gpd

        frame = self.frame.iloc[chosen].reset_index(drop=True)
        return GridSet(
            gpd.GeoDataFrame(frame, geometry="geometry", crs=self.frame.crs), self.scheme
        )

    @classmethod
    def concat(cls, parts: Sequence[GridSet]) -> GridSet:
        """Several grid sets as one (for validating files of several levels together)."""
        import geopandas as gpd
        import pandas as pd

        if not parts:
            raise ValueError(tr("nothing to combine"))
        frame = pd.concat([p.frame for p in parts], ignore_index=True)
        return cls(gpd.GeoDataFrame(frame, geometry="geometry", crs=STORAGE_EPSG), parts[0].scheme)

    # --- columns ------------------------------------------------------------
    def __len__(self) -> int:
        return len(self.codes)

    @cached_property
    def geometries(self) -> npt.NDArray[np.object_]:
        """Geometries as a numpy object array (EPSG:4490)."""
        plain = self._plain_columns
        if plain is not None:
            return plain.geometries
        return np.asarray(self.frame.geometry.array, dtype=object)

    @cached_property
    def codes(self) -> list[str | None]:
        plain = self._plain_columns
        return plain.codes if plain is not None else list(self.frame["code"])

    @cached_property
    def names(self) -> list[str]:
        plain = self._plain_columns
        return plain.names if plain is not None else list(self.frame["name"])

    @cached_property
    def levels(self) -> npt.NDArray[np.int64]:
        plain = self._plain_columns
        if plain is not None:
            return plain.levels
        return np.asarray(self.frame["level"], dtype=np.int64)

    @cached_property
    def parent_codes(self) -> list[str | None]:
        plain = self._plain_columns
        return plain.parent_codes if plain is not None else list(self.frame["parent_code"])

    @cached_property
    def refs(self) -> list[str]:
        plain = self._plain_columns
        return plain.refs if plain is not None else list(self.frame["ref"])

    @cached_property
    def extra_columns(self) -> dict[str, list[Any]]:
        """The attribute columns beyond the core ones, by name, in the set's order
        (values as stored: a missing one is None or NaN)."""
        plain = self._plain_columns
        if plain is not None:
            return plain.extra
        frame = self.frame
        return {c: frame[c].tolist() for c in frame.columns if c not in (*CORE_COLUMNS, "geometry")}

    def levels_present(self) -> list[Level]:
        """Levels that have at least one feature, top first."""
        return [Level(v) for v in sorted(set(self.levels.tolist())) if v != UNKNOWN_LEVEL]

    def level_counts(self) -> dict[Level, int]:
        """Features per level present, top first."""
        values, counts = np.unique(self.levels, return_counts=True)
        pairs = zip(values, counts, strict=True)
        return {Level(int(v)): int(n) for v, n in pairs if v != UNKNOWN_LEVEL}

    @cached_property
    def metric(self) -> MetricFrame:
        """The Gauss-Kruger zone for areas and distances of this set."""
        return MetricFrame.for_geometries(self.geometries)

    # --- hierarchy ----------------------------------------------------------
    @cached_property
    def position_of(self) -> dict[str, int]:
        """First position of each code (duplicates are a validation error)."""
        out: dict[str, int] = {}
        for i, code in enumerate(self.codes):
            if code is not None:
                out.setdefault(code, i)
        return out

    def position(self, code: str) -> int:
        """Position of the feature with ``code``; raises NotFoundError."""
        try:
            return self.position_of[code]
        except KeyError:
            raise NotFoundError(tr("no grid with code {code!r}", code=code)) from None

    @cached_property
    def parent_positions(self) -> npt.NDArray[np.intp]:
        """Position of each feature's parent in this set, -1 where it is not here."""
        return np.array(
            [self.position_of.get(p, -1) if p is not None else -1 for p in self.parent_codes],
            dtype=np.intp,
        )

    def chain(self, position: int) -> list[int]:
        """Positions from ``position`` up through the parents present in the set."""
        out = [position]
        seen = {position}
        parent = int(self.parent_positions[position])
        while parent >= 0 and parent not in seen:  # guard against cyclic parent columns
            out.append(parent)
            seen.add(parent)
            parent = int(self.parent_positions[parent])
        return out

    def has_children(self) -> npt.NDArray[np.bool_]:
        """True for features that are some other feature's parent in this set."""
        mask = np.zeros(len(self), dtype=bool)
        parents = self.parent_positions
        mask[parents[parents >= 0]] = True
        return mask

    def label(self, position: int) -> str:
        """Human reference for messages: code, name and where it came from."""
        code = self.codes[position]
        name = self.names[position]
        shown = code if code is not None else tr("(no code)")
        return f"{shown}{f' {name}' if name else ''} [{self.refs[position]}]"


def _normalised(
    scheme: CodeScheme,
    *,
    codes: Sequence[object],
    names: Sequence[object],
    levels: Sequence[object],
    parents: Sequence[object],
    refs: Sequence[object],
) -> tuple[list[str | None], list[str], npt.NDArray[np.int64], list[str | None], list[str]]:
    """The core columns as a grid set holds them: codes as text or None, names as text,
    levels resolved (from the codes where missing), parents resolved, refs filled."""
    clean = [_clean_code(c) for c in codes]
    level_list = [_resolve_level(lv, code, scheme) for lv, code in zip(levels, clean, strict=True)]
    parent_list = [
        _resolve_parent(p, code, lv, scheme)
        for p, code, lv in zip(parents, clean, level_list, strict=True)
    ]
    return (
        clean,
        ["" if is_missing(v) else str(v) for v in names],
        np.array(level_list, dtype=np.int64),
        parent_list,
        [f"#{i}" if is_missing(r) else str(r) for i, r in enumerate(refs)],
    )


def is_missing(value: object) -> bool:
    """Whether a cell read from a table is empty: None, NaN or pandas' NA."""
    if value is None:
        return True
    if isinstance(value, float) and math.isnan(value):
        return True
    # pandas' NA can only come from pandas: no need to import it to recognise it
    pandas = sys.modules.get("pandas")
    return pandas is not None and value is pandas.NA


def _clean_code(value: object) -> str | None:
    """Codes as strings; a float such as 450302.0 from a numeric column loses its ``.0``."""
    if is_missing(value):
        return None
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    text = str(value).strip()
    return text or None


def _resolve_level(level: object, code: str | None, scheme: CodeScheme) -> int:
    if not is_missing(level) and str(level).strip():
        try:
            return int(parse_level(level))
        except ValueError:
            return UNKNOWN_LEVEL
    if code is None:
        return UNKNOWN_LEVEL
    try:
        return int(scheme.infer_level(code))
    except CodeError:
        return UNKNOWN_LEVEL


def _resolve_parent(parent: object, code: str | None, level: int, scheme: CodeScheme) -> str | None:
    explicit = _clean_code(parent)
    if explicit is not None:
        return explicit
    if code is None or level == UNKNOWN_LEVEL:
        return None
    try:  # from the code's own level: a wrong level column is reported, not propagated
        return scheme.parent(code)
    except CodeError:
        return None
