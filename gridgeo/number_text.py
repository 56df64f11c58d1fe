"""Numbers read from Arrow text columns in one compiled pass, exactly as the rules say.

A CSV column arrives as text. Two questions are asked of it, at every row of a
batch: which number does each value hold (the coordinates of ``gridgeo assign``),
and is the column whole numbers, numbers or text (the Parquet types of
:meth:`gridgeo.io.tables.TableReader.csv_types`). Arrow's regular expressions
answered both at about 0.2 s per million values and column, more than the point
lookup itself; the kernel (:mod:`gridgeo.number_kernels`) reads the string buffers
directly. A column of fewer than :data:`COMPILED_FROM` values is read by the rules
themselves, so that a small run does not load numba (0.5 s of its start-up).

The rules are the regular expressions below, after trimming white space: the
kernels follow them byte by byte for ASCII text and hand any value with other
bytes (full-width digits, an ideographic space) back to Python's :mod:`re`, so
the answer never depends on which path read it. A number's value is exact:
Clinger's fast path (a mantissa below 2**53 times or over an exact power of
ten, one correctly rounded operation) and :func:`float` for anything longer.
"""

from __future__ import annotations

import re
import sys

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc

# a column of fewer values is read by the rules themselves (no numba, as for the index)
from gridgeo.index.plain_query import COMPILED_FROM

# ``gridgeo assign``'s coordinates: a sign, digits with an optional point, an exponent
NUMBER = re.compile(r"[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?", re.ASCII)
# Parquet typing: whole numbers without a leading zero ("007" is a code, kept text)
INTEGER = re.compile(r"-?(0|[1-9][0-9]{0,17})")
# ... and decimals (with digits before any exponent: NUMBER too)
DECIMAL = re.compile(r"-?(0|[1-9][0-9]*)?(\.[0-9]+)?([eE][-+]?[0-9]+)?")

# per value: what it is (bits), from :func:`classify`
BLANK = 1  # empty or white space only (or null)
IS_NUMBER = 2  # matches NUMBER
IS_INTEGER = 4  # matches INTEGER
IS_DECIMAL = 8  # matches DECIMAL and holds a digit
SLOW = 16  # a byte outside ASCII, or a value beyond the fast path: Python decides

_EXACT_POWERS = np.array([10.0**k for k in range(23)])  # each exact in binary64


def classify(
    text: pa.Array | pa.ChunkedArray,
) -> tuple[npt.NDArray[np.uint8], npt.NDArray[np.float64]]:
    """What each value of a text column is (bits :data:`BLANK`, :data:`IS_NUMBER`,
    :data:`IS_INTEGER`, :data:`IS_DECIMAL`) and its number (NaN where it is none).

    Values are trimmed of white space first; nulls are blank.

    Examples
    --------
    >>> import pyarrow as pa
    >>> bits, values = classify(pa.array([" 110.3", "", "007", "-2", "1e400", "东", None]))
    >>> [int(b) for b in bits]
    [10, 1, 2, 14, 10, 0, 1]
    >>> values.tolist()[:5]
    [110.3, nan, 7.0, -2.0, inf]
    """
    # the compiled pass for a large column (all its pieces), or once it is loaded anyway
    compiled = len(text) >= COMPILED_FROM or "gridgeo.number_kernels" in sys.modules
    if isinstance(text, pa.ChunkedArray):
        parts = [_classify(chunk, compiled) for chunk in text.chunks]
        if not parts:
            return np.zeros(0, np.uint8), np.zeros(0, np.float64)
        return np.concatenate([p[0] for p in parts]), np.concatenate([p[1] for p in parts])
    return _classify(text, compiled)


def _classify(
    text: pa.Array, compiled: bool
) -> tuple[npt.NDArray[np.uint8], npt.NDArray[np.float64]]:
    if not (pa.types.is_string(text.type) or pa.types.is_large_string(text.type)):
        text = text.cast(pa.large_string())
    n = len(text)
    flags = np.zeros(n, dtype=np.uint8)
    values = np.full(n, np.nan)
    if n == 0:
        return flags, values
    if not compiled:
        _in_python(text, np.arange(n), flags, values)
        return flags, values
    from gridgeo.number_kernels import scan  # numba: large columns only

    _validity, offsets_buffer, data_buffer = text.buffers()
    width = np.int64 if pa.types.is_large_string(text.type) else np.int32
    offsets = np.frombuffer(offsets_buffer, dtype=width)[text.offset : text.offset + n + 1]
    data = (
        np.frombuffer(data_buffer, dtype=np.uint8)
        if data_buffer is not None
        else np.zeros(0, np.uint8)
    )
    scan(offsets.astype(np.int64), data, _EXACT_POWERS, flags, values)
    if text.null_count:
        nulls = np.asarray(text.is_null().to_numpy(zero_copy_only=False), dtype=bool)
        flags[nulls], values[nulls] = BLANK, np.nan
    slow = np.flatnonzero(flags & SLOW)
    if slow.size:
        _in_python(text, slow, flags, values)
    return flags, values


def numbers(
    column: pa.Array | pa.ChunkedArray,
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.bool_]]:
    """The numbers of a column of any type (NaN where there is none) and where it is
    blank: numbers as they are (nulls blank), text by :func:`classify`, anything else
    as its text.

    Examples
    --------
    >>> import pyarrow as pa
    >>> values, blank = numbers(pa.array(["110.3", " ", "x"]))
    >>> values.tolist(), blank.tolist()
    ([110.3, nan, nan], [False, True, False])
    >>> numbers(pa.array([1, None]))[0].tolist()
    [1.0, nan]
    """
    kind = column.type
    if pa.types.is_integer(kind) or pa.types.is_floating(kind) or pa.types.is_decimal(kind):
        values = np.asarray(
            pc.cast(column, pa.float64()).to_numpy(zero_copy_only=False), dtype=np.float64
        )
        return values, np.isnan(values)
    if not (pa.types.is_string(kind) or pa.types.is_large_string(kind)):
        column = pc.cast(column, pa.large_string())
    bits, values = classify(column)
    return values, (bits & BLANK).astype(bool)


def _in_python(
    text: pa.Array,
    rows: npt.NDArray[np.intp],
    flags: npt.NDArray[np.uint8],
    values: npt.NDArray[np.float64],
) -> None:
    """The values the kernel passes on, or all of a small column: the same rules, by
    :mod:`re` and :func:`float` (nulls are blank)."""
    for row, raw in zip(rows.tolist(), text.take(pa.array(rows)).to_pylist(), strict=True):
        value = "" if raw is None else raw.strip()
        bits = BLANK if not value else 0
        if NUMBER.fullmatch(value):
            bits |= IS_NUMBER
        if INTEGER.fullmatch(value):
            bits |= IS_INTEGER
        if DECIMAL.fullmatch(value) and NUMBER.fullmatch(value):  # digits before any exponent
            bits |= IS_DECIMAL
        flags[row] = bits
        values[row] = float(value) if bits & IS_NUMBER else np.nan
