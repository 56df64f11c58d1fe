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

from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import geopandas as gpd
import numpy as np
import numpy.typing as npt
import pandas as pd

from gridgeo.codes import CodeScheme
from gridgeo.crs import STORAGE_EPSG, MetricFrame
from gridgeo.errors import CodeError, NotFoundError
from gridgeo.i18n import tr
from gridgeo.levels import Level, parse_level

CORE_COLUMNS = ("code", "name", "level", "parent_code", "ref")
UNKNOWN_LEVEL = -1


@dataclass(frozen=True, eq=False)
class GridSet:
    """Boundary features of the five grid levels, with their hierarchy.

    Build one with :meth:`from_records` or :meth:`from_frame`; files are read by
    :func:`gridgeo.io.boundaries.read_boundaries`.
    """

    frame: gpd.GeoDataFrame
    scheme: CodeScheme = field(default_factory=CodeScheme)

    # --- construction -------------------------------------------------------
    @classmethod
    def from_records(
        cls,
        codes: Sequence[str | None],
        geometries: Sequence[Any] | npt.NDArray[np.object_],
        *,
        names: Sequence[str] | None = None,
        levels: Sequence[int | None] | None = None,
        parent_codes: Sequence[str | None] | None = None,
        refs: Sequence[str] | None = None,
        scheme: CodeScheme | None = None,
    ) -> GridSet:
        """A grid set from parallel sequences; levels default to those the codes imply.

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
        n = len(codes)
        frame = gpd.GeoDataFrame(
            {
                "code": list(codes),
                "name": list(names) if names is not None else [""] * n,
                "level": list(levels) if levels is not None else [None] * n,
                "parent_code": list(parent_codes) if parent_codes is not None else [None] * n,
                "ref": list(refs) if refs is not None else [f"#{i}" for i in range(n)],
            },
            geometry=list(geometries),
            crs=STORAGE_EPSG,
        )
        return cls.from_frame(frame, scheme or CodeScheme())

    @classmethod
    def from_frame(cls, frame: gpd.GeoDataFrame, scheme: CodeScheme | None = None) -> GridSet:
        """Normalise a frame with the core columns (missing ones are filled).

        Levels missing from the frame are inferred from the codes; parents
        missing from the frame are derived from the codes. Codes that cannot be
        read leave level -1 or parent None; validation reports them.
        """
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
        codes = [_clean_code(c) for c in frame["code"]]
        levels = [
            _resolve_level(lv, code, scheme) for lv, code in zip(frame["level"], codes, strict=True)
        ]
        parents = [
            _resolve_parent(p, code, lv, scheme)
            for p, code, lv in zip(frame["parent_code"], codes, levels, strict=True)
        ]
        # object dtype keeps None as None (pandas' string dtype would turn it into NaN)
        frame["code"] = pd.Series(codes, dtype=object, index=frame.index)
        frame["name"] = pd.Series(
            ["" if _missing(v) else str(v) for v in frame["name"]], dtype=object, index=frame.index
        )
        frame["ref"] = pd.Series(
            [f"#{i}" if _missing(r) else str(r) for i, r in enumerate(frame["ref"])],
            dtype=object,
            index=frame.index,
        )
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

    def with_geometries(self, geoms: npt.NDArray[np.object_] | Sequence[Any]) -> GridSet:
        """The same features with new geometries."""
        frame = self.frame.copy()
        frame["geometry"] = gpd.GeoSeries(list(geoms), crs=self.frame.crs)
        return GridSet(frame, self.scheme)

    def subset(self, mask: npt.NDArray[Any] | Sequence[int]) -> GridSet:
        """The features selected by a boolean mask or positions, renumbered."""
        frame = self.frame.iloc[np.asarray(mask)].reset_index(drop=True)
        return GridSet(
            gpd.GeoDataFrame(frame, geometry="geometry", crs=self.frame.crs), self.scheme
        )

    @classmethod
    def concat(cls, parts: Sequence[GridSet]) -> GridSet:
        """Several grid sets as one (for validating files of several levels together)."""
        if not parts:
            raise ValueError(tr("nothing to combine"))
        frame = pd.concat([p.frame for p in parts], ignore_index=True)
        return cls(gpd.GeoDataFrame(frame, geometry="geometry", crs=STORAGE_EPSG), parts[0].scheme)

    # --- columns ------------------------------------------------------------
    def __len__(self) -> int:
        return len(self.frame)

    @cached_property
    def geometries(self) -> npt.NDArray[np.object_]:
        """Geometries as a numpy object array (EPSG:4490)."""
        return np.asarray(self.frame.geometry.array, dtype=object)

    @cached_property
    def codes(self) -> list[str | None]:
        return list(self.frame["code"])

    @cached_property
    def names(self) -> list[str]:
        return list(self.frame["name"])

    @cached_property
    def levels(self) -> npt.NDArray[np.int64]:
        return np.asarray(self.frame["level"], dtype=np.int64)

    @cached_property
    def parent_codes(self) -> list[str | None]:
        return list(self.frame["parent_code"])

    @cached_property
    def refs(self) -> list[str]:
        return list(self.frame["ref"])

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
        row = self.frame.iloc[position]
        code = row["code"] if row["code"] is not None else tr("(no code)")
        name = f" {row['name']}" if row["name"] else ""
        return f"{code}{name} [{row['ref']}]"


def _missing(value: object) -> bool:
    if value is None:
        return True
    if isinstance(value, float) and np.isnan(value):
        return True
    return bool(value is pd.NA)


def _clean_code(value: object) -> str | None:
    """Codes as strings; a float such as 450302.0 from a numeric column loses its ``.0``."""
    if _missing(value):
        return None
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    text = str(value).strip()
    return text or None


def _resolve_level(level: object, code: str | None, scheme: CodeScheme) -> int:
    if not _missing(level) and str(level).strip():
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
