"""Assignment of a table of points to grids: the core behind ``gridgeo assign`` and Dask.

:func:`assign_frame` takes one chunk (a pandas DataFrame), keeps every row and
column as they are, and adds:

==================  ==========================================================
``code_l1``..``l5`` code of the grid at each level holding the point (empty
                    when the point is outside every grid or the input is bad)
``workstation_code`` the workstation serving the point's community, if any
``status``          ``ok``, ``unassigned`` (valid point outside every leaf
                    grid) or ``bad_input`` (missing, non-numeric, NaN or
                    out-of-range coordinates)
==================  ==========================================================

It is a pure function of the chunk and the index, so any chunked reader or a
Dask ``map_partitions`` can call it.
"""

from __future__ import annotations

import weakref
from collections import Counter
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc

from gridgeo.arrow_arrays import from_numpy, from_text_buffers, nulls_of, strings, values_of
from gridgeo.coords import bad_lonlat_mask, looks_swapped, parse_coord_system, to_cgcs2000
from gridgeo.levels import Level
from gridgeo.number_text import numbers

if TYPE_CHECKING:  # pandas is imported by the functions that take DataFrames: the Arrow
    import pandas as pd  # path of ``gridgeo assign`` has no use for it

    # an index is handed in: ``gridgeo assign`` checks a table's columns against
    # ADDED_COLUMNS before it loads the index modules
    from gridgeo.index import GridIndex
    from gridgeo.workstation import Workstation

CODE_COLUMNS = tuple(f"code_l{int(lv)}" for lv in Level)
ADDED_COLUMNS = (*CODE_COLUMNS, "workstation_code", "status", "status_reason")
# why a row is not ``ok``: ASCII codes in the data, explained in docs/ASSIGNMENT.md
STATUS_REASONS = (
    "missing",  # a coordinate is empty
    "not_a_number",  # a coordinate is text that is no number
    "not_finite",  # infinite
    "out_of_range",  # longitude outside [-180, 180] or latitude outside [-90, 90]
    "swapped",  # looks like (lat, lon) for China: longitude must come first
    "outside_grids",  # a good point that no grid holds (unassigned)
)
STATUSES = ("ok", "unassigned", "bad_input")


@dataclass
class AssignSummary:
    """Counts of a batch run, by status."""

    rows: int = 0
    statuses: Counter[str] = field(default_factory=Counter)

    def add(self, status: pd.Series) -> None:
        self.rows += len(status)
        self.statuses.update({str(k): int(v) for k, v in status.value_counts().items()})

    def add_arrow(self, status: pa.ChunkedArray | pa.Array) -> None:
        self.rows += len(status)
        counts = pc.value_counts(status).to_pylist()
        self.statuses.update({str(c["values"]): int(c["counts"]) for c in counts})

    def to_dict(self) -> dict[str, int]:
        return {"rows": self.rows, **{s: int(self.statuses.get(s, 0)) for s in STATUSES}}


def workstation_lookup(workstations: list[Workstation]) -> dict[str, str]:
    """Community code -> workstation code."""
    return {c: ws.code for ws in workstations for c in ws.community_codes}


def coordinates(
    frame: pd.DataFrame, lon_col: str, lat_col: str
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    """Float coordinates of a chunk; anything unreadable becomes NaN (marked bad later)."""
    (lon, _), (lat, _) = _parsed(frame, lon_col, lat_col)
    return lon, lat


Parsed = tuple[npt.NDArray[np.float64], npt.NDArray[np.bool_]]


def _parsed(frame: pd.DataFrame, lon_col: str, lat_col: str) -> tuple[Parsed, Parsed]:
    for column in (lon_col, lat_col):
        if column not in frame.columns:
            raise KeyError(column)
    return column_numbers(frame[lon_col]), column_numbers(frame[lat_col])


def column_numbers(column: pd.Series) -> Parsed:
    """The column as floats (NaN where it holds no number) and where it is blank
    (missing, NaN, or text of blanks only): one pass over the text for both."""
    import pandas as pd

    if pd.api.types.is_numeric_dtype(column.dtype):
        values = column.to_numpy(dtype=float, na_value=np.nan)
        return values, np.isnan(values)
    try:
        text = pa.array(column, type=pa.large_string(), from_pandas=True)
    except (pa.ArrowInvalid, pa.ArrowTypeError, TypeError):  # mixed objects: pandas' rules
        numeric = pd.to_numeric(column, errors="coerce")
        stripped = column.astype("string").str.strip()
        blank = (stripped.isna() | (stripped == "")).to_numpy(dtype=bool, na_value=True)
        return numeric.to_numpy(dtype=float, na_value=np.nan), np.asarray(blank, dtype=bool)
    return numbers(text)


# Per index (weakly held, so an index of an old boundary version can be freed) and
# per station table: the code columns built once, reused by every chunk.
_TABLES: weakref.WeakKeyDictionary[
    GridIndex, dict[tuple[tuple[str, str], ...], dict[str, pa.Array]]
] = weakref.WeakKeyDictionary()
# the text of the status and status_reason codes, as Arrow arrays to take from
_STATUS_TEXT = strings(STATUSES)
_REASON_TEXT = strings(("", *STATUS_REASONS))


def _code_tables(index: GridIndex, stations: tuple[tuple[str, str], ...]) -> dict[str, pa.Array]:
    """Per-leaf text of every added column, with a trailing null for 'no leaf'."""
    per_index = _TABLES.setdefault(index, {})
    if stations not in per_index:
        per_index[stations] = _build_code_tables(index, stations)
    return per_index[stations]


def _build_code_tables(
    index: GridIndex, stations: tuple[tuple[str, str], ...]
) -> dict[str, pa.Array]:
    per_level = {level: _level_codes(index, level) for level in Level}
    tables = {c: _and_none(per_level[lv]) for lv, c in zip(Level, CODE_COLUMNS, strict=True)}
    # each community's workstation, looked up once per community, then spread
    communities = pc.dictionary_encode(per_level[Level.COMMUNITY])
    lookup = dict(stations)
    names = communities.dictionary.to_pylist()
    served = strings([lookup.get(c) for c in names])
    tables["workstation_code"] = _and_none(served.take(communities.indices))
    return tables


def _level_codes(index: GridIndex, level: Level) -> pa.Array:
    """Every owner's code at ``level`` (null where it has none), from the index file's
    bytes when it has them."""
    stored = index.stored_codes(level)
    if stored is None:
        return strings(index.codes(np.arange(index.n_owners), level))
    return from_text_buffers(*stored)


def _and_none(per_owner: pa.Array) -> pa.Array:
    """The column with a last null: what rows in no grid take."""
    return pa.concat_arrays([per_owner.cast(pa.string()), pa.nulls(1, pa.string())])


@dataclass(frozen=True)
class _Coded:
    """One added column's text per leaf as a dictionary: its distinct values, and for
    each leaf one more than the position of its value among them (0: none), the last
    for 'no leaf'."""

    values: pa.Array
    slots: npt.NDArray[np.int32]

    @classmethod
    def of(cls, per_leaf: pa.Array) -> _Coded:
        encoded = pc.dictionary_encode(per_leaf)
        slots = np.array(values_of(encoded.indices, np.int32), dtype=np.int32)  # writable
        slots += 1
        slots[nulls_of(encoded.indices)] = 0
        return cls(encoded.dictionary, slots)

    def column(
        self, at: npt.NDArray[np.intp], owners_used: npt.NDArray[np.bool_] | None = None
    ) -> pa.DictionaryArray:
        """The column for rows in owners ``at``: its dictionary only the values they use
        (as a Parquet writer's own dictionary would be, whatever the chunk size).

        ``owners_used``: which owners ``at`` holds (:func:`_owners_used`, one pass over
        the rows for every column), given for a chunk of more rows than there are owners:
        then every step but one runs per owner. Without it, they run per row."""
        if owners_used is None:  # per row
            slots = kept = self.slots[at]
        else:  # per owner, and the rows taken at the end
            slots, kept = self.slots, self.slots[owners_used]
        used = np.zeros(len(self.values) + 1, dtype=bool)
        used[kept] = True
        used[0] = False  # slot 0 is no value
        # each used value's new position; rows without a value are masked, and read 0
        renumbered = np.cumsum(used, dtype=np.int32)
        renumbered -= 1
        renumbered[0] = 0
        indices, none = renumbered[slots], slots == 0
        if owners_used is not None:
            indices, none = indices[at], (none[at] if none[owners_used].any() else None)
        dictionary = self.values.take(from_numpy(np.flatnonzero(used[1:])))
        return pa.DictionaryArray.from_arrays(from_numpy(indices, mask=none), dictionary)


def _owners_used(at: npt.NDArray[np.intp], owners: int) -> npt.NDArray[np.bool_]:
    """Which of ``owners`` + 1 positions (the last: no owner) ``at`` holds."""
    used = np.zeros(owners + 1, dtype=bool)
    used[at] = True
    return used


_CODED: weakref.WeakKeyDictionary[
    GridIndex, dict[tuple[tuple[str, str], ...], dict[str, _Coded]]
] = weakref.WeakKeyDictionary()


def _coded_tables(index: GridIndex, stations: tuple[tuple[str, str], ...]) -> dict[str, _Coded]:
    """:func:`_code_tables` as dictionaries, built once per index and station table."""
    per_index = _CODED.setdefault(index, {})
    if stations not in per_index:
        tables = _code_tables(index, stations)
        per_index[stations] = {c: _Coded.of(t) for c, t in tables.items()}
    return per_index[stations]


def prepare_columns(
    index: GridIndex, stations: dict[str, str] | None = None, *, dictionary: bool = False
) -> None:
    """Build the added columns' text per grid now, as the first batch with this index and
    these stations would (:func:`added_columns`): a run does it while its first rows are
    read."""
    key = _stations_key(stations)
    if dictionary:
        _coded_tables(index, key)
    else:
        _code_tables(index, key)


def _stations_key(stations: dict[str, str] | None) -> tuple[tuple[str, str], ...]:
    return tuple(sorted((stations or {}).items()))


def added_columns(
    lon: Parsed,
    lat: Parsed,
    index: GridIndex,
    *,
    crs: str = "wgs84",
    stations: dict[str, str] | None = None,
    dictionary: bool = False,
) -> dict[str, pa.Array]:
    """The columns :data:`ADDED_COLUMNS` for points given as parsed coordinates
    (values and blank masks): the one assignment rule behind :func:`assign_frame` and
    :func:`assign_batch`. ``dictionary``: as dictionary arrays of the same text, which
    a Parquet writer writes as they are (no text copied per row, nothing hashed)."""
    (x_in, x_blank), (y_in, y_blank) = lon, lat
    system = parse_coord_system(crs)
    bad = bad_lonlat_mask(x_in, y_in)
    x, y = x_in.copy(), y_in.copy()
    good = ~bad
    if system not in ("wgs84", "cgcs2000") and good.any():
        x[good], y[good] = to_cgcs2000(x_in[good], y_in[good], system)
    x[bad], y[bad] = np.nan, np.nan
    positions = index.assign(x, y, crs="cgcs2000")
    at = np.where(positions >= 0, positions, index.n_owners)
    key = _stations_key(stations)
    status = from_numpy(np.where(bad, 2, np.where(positions >= 0, 0, 1)).astype(np.int8))
    reasons = from_numpy(_reason_codes(x_in, y_in, x_blank | y_blank, positions))
    out: dict[str, pa.Array]
    if dictionary:
        coded = _coded_tables(index, key)
        # per owner where the rows outnumber the owners (a chunk of 200,000 at 20,000 grids)
        owners_used = _owners_used(at, index.n_owners) if at.size > index.n_owners else None
        out = {c: coded[c].column(at, owners_used) for c in (*CODE_COLUMNS, "workstation_code")}
        out["status"] = pa.DictionaryArray.from_arrays(status, _STATUS_TEXT)
        out["status_reason"] = pa.DictionaryArray.from_arrays(reasons, _REASON_TEXT)
        return out
    tables = _code_tables(index, key)
    take = from_numpy(at)
    out = {c: tables[c].take(take) for c in (*CODE_COLUMNS, "workstation_code")}
    out["status"] = _STATUS_TEXT.take(status)
    out["status_reason"] = _REASON_TEXT.take(reasons)
    return out


def assign_frame(
    frame: pd.DataFrame,
    index: GridIndex,
    *,
    lon_col: str = "lon",
    lat_col: str = "lat",
    crs: str = "wgs84",
    stations: dict[str, str] | None = None,
) -> pd.DataFrame:
    """The chunk with the grid codes, workstation and status columns added.

    Parameters
    ----------
    frame
        One chunk of input rows; its columns and values are kept untouched.
    index
        The leaf-grid index of the boundary version in force.
    lon_col, lat_col
        Columns holding the coordinates (text or numbers).
    crs
        Coordinate system of the input: wgs84, cgcs2000, gcj02 or bd09.
    stations
        Community code -> workstation code (see :func:`workstation_lookup`).
    """
    import pandas as pd

    lon, lat = _parsed(frame, lon_col, lat_col)
    out = frame.copy()
    # one text dtype whatever the chunk holds (all-empty, or no rows), so chunks and
    # partitions share a schema
    for column, values in added_columns(lon, lat, index, crs=crs, stations=stations).items():
        out[column] = pd.Series(values, index=frame.index, dtype="str")
    return out


def assign_batch(
    batch: pa.Table,
    index: GridIndex,
    *,
    lon_col: str = "lon",
    lat_col: str = "lat",
    crs: str = "wgs84",
    stations: dict[str, str] | None = None,
    coordinates: tuple[Parsed, Parsed] | None = None,
    dictionary: bool = False,
) -> pa.Table:
    """:func:`assign_frame` for an Arrow table: its columns kept as they are (no
    pandas round trip), the added columns appended as ``string``. ``coordinates``: the
    columns ``lon_col`` and ``lat_col`` as :func:`~gridgeo.number_text.numbers` reads
    them, when the caller has read them already. ``dictionary``: the added columns as
    dictionary arrays of the same text (see :func:`added_columns`).

    Examples
    --------
    >>> import pyarrow as pa, shapely
    >>> from gridgeo.index import GridIndex
    >>> from gridgeo.model import GridSet
    >>> grids = GridSet.from_records(
    ...     codes=["450302"], geometries=[shapely.box(110, 25, 111, 26)], levels=[2])
    >>> out = assign_batch(pa.table({"lon": ["110.5", "abc"], "lat": ["25.5", "25.5"]}),
    ...                    GridIndex(grids))
    >>> out["code_l2"].to_pylist(), out["status"].to_pylist(), out["status_reason"].to_pylist()
    (['450302', None], ['ok', 'bad_input'], ['', 'not_a_number'])
    """
    for column in (lon_col, lat_col):
        if column not in batch.column_names:
            raise KeyError(column)
    if coordinates is None:
        coordinates = numbers(batch.column(lon_col)), numbers(batch.column(lat_col))
    lon, lat = coordinates
    added = added_columns(lon, lat, index, crs=crs, stations=stations, dictionary=dictionary)
    for name, values in added.items():
        batch = batch.append_column(name, values)
    return batch


def status_reasons(
    lon: npt.NDArray[np.float64],
    lat: npt.NDArray[np.float64],
    blank: npt.NDArray[np.bool_],
    positions: npt.NDArray[np.integer[Any]],
) -> npt.NDArray[np.object_]:
    """Why each row is not ``ok`` (see :data:`STATUS_REASONS`); empty for ``ok`` rows.

    Examples
    --------
    >>> import numpy as np
    >>> lon = np.array([110.3, np.nan, np.nan, 25.28, 200.0, 100.0])  # "", "abc" unreadable
    >>> lat = np.array([25.28, 25.2, 25.2, 110.3, 25.2, 30.0])
    >>> blank = np.array([False, True, False, False, False, False])
    >>> status_reasons(lon, lat, blank, np.array([0, -1, -1, -1, -1, -1])).tolist()
    ['', 'missing', 'not_a_number', 'swapped', 'out_of_range', 'outside_grids']
    """
    labels = np.array(("", *STATUS_REASONS), dtype=object)
    return np.asarray(labels[_reason_codes(lon, lat, blank, positions)], dtype=object)


def _reason_codes(
    lon: npt.NDArray[np.float64],
    lat: npt.NDArray[np.float64],
    blank: npt.NDArray[np.bool_],
    positions: npt.NDArray[np.integer[Any]],
) -> npt.NDArray[np.int8]:
    """:func:`status_reasons` as positions into ``("", *STATUS_REASONS)``."""
    code = {reason: k for k, reason in enumerate(("", *STATUS_REASONS))}
    reason = np.zeros(len(lon), dtype=np.int8)
    number = ~np.isnan(lon) & ~np.isnan(lat)
    finite = np.isfinite(lon) & np.isfinite(lat)
    reason[~number] = code["not_a_number"]
    reason[blank] = code["missing"]
    reason[number & ~finite] = code["not_finite"]
    in_range = finite & (np.abs(lon) <= 180) & (np.abs(lat) <= 90)
    reason[finite & ~in_range] = code["out_of_range"]
    reason[in_range & (positions < 0)] = code["outside_grids"]
    reason[finite & looks_swapped(lon, lat) & ~((positions >= 0) & in_range)] = code["swapped"]
    return reason
