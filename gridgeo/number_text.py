"""Numbers read from Arrow text columns in one compiled pass, exactly as the rules say.

A CSV column arrives as text. Two questions are asked of it, at every row of a
batch: which number does each value hold (the coordinates of ``gridgeo assign``),
and is the column whole numbers, numbers or text (the Parquet types of
:meth:`gridgeo.io.tables.TableReader.csv_types`). Arrow's regular expressions
answered both at about 0.2 s per million values and column, more than the point
lookup itself; the kernels here read the string buffers directly.

The rules are the regular expressions below, after trimming white space: the
kernels follow them byte by byte for ASCII text and hand any value with other
bytes (full-width digits, an ideographic space) back to Python's :mod:`re`, so
the answer never depends on which path read it. A number's value is exact:
Clinger's fast path (a mantissa below 2**53 times or over an exact power of
ten, one correctly rounded operation) and :func:`float` for anything longer.
"""

from __future__ import annotations

import re

import numba
import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc

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
_SLOW = 16  # a byte outside ASCII, or a value beyond the fast path: Python decides

_EXACT_POWERS = np.array([10.0**k for k in range(23)])  # each exact in binary64
_MAX_EXACT = 2**53


@numba.njit(cache=True, nogil=True, inline="always")
def _is_space(c: int) -> bool:
    # what str.strip() takes away in ASCII: tab to carriage return, the file, group,
    # record and unit separators (28-31) and the space
    return c == 32 or 9 <= c <= 13 or 28 <= c <= 31


@numba.njit(cache=True, nogil=True)
def _scan(  # noqa: PLR0912, PLR0915 - one state machine, kept in one piece for speed
    offsets: npt.NDArray[np.int64],
    data: npt.NDArray[np.uint8],
    powers: npt.NDArray[np.float64],
    flags: npt.NDArray[np.uint8],
    values: npt.NDArray[np.float64],
) -> None:
    for i in range(flags.size):
        start, end = offsets[i], offsets[i + 1]
        slow = False
        for k in range(start, end):
            if data[k] >= 128:
                slow = True
                break
        if slow:
            flags[i] = _SLOW
            values[i] = np.nan
            continue
        while start < end and _is_space(data[start]):
            start += 1
        while end > start and _is_space(data[end - 1]):
            end -= 1
        if start == end:
            flags[i] = BLANK
            values[i] = np.nan
            continue
        k = start
        negative = False
        plus = data[k] == 43  # '+'
        if data[k] == 45 or plus:  # '-'
            negative = data[k] == 45
            k += 1
        int_start = k
        while k < end and 48 <= data[k] <= 57:
            k += 1
        n_int = k - int_start
        dot = k < end and data[k] == 46  # '.'
        n_frac = 0
        if dot:
            k += 1
            frac_start = k
            while k < end and 48 <= data[k] <= 57:
                k += 1
            n_frac = k - frac_start
        exponent = 0
        exp_ok = True
        has_exp = k < end and (data[k] == 101 or data[k] == 69)  # 'e' 'E'
        if has_exp:
            k += 1
            exp_negative = False
            if k < end and (data[k] == 43 or data[k] == 45):
                exp_negative = data[k] == 45
                k += 1
            exp_start = k
            while k < end and 48 <= data[k] <= 57:
                if exponent < 100000:  # beyond, the value is Python's to say (below)
                    exponent = exponent * 10 + (data[k] - 48)
                k += 1
            exp_ok = k > exp_start
            if exp_negative:
                exponent = -exponent
        whole = k == end and exp_ok
        bits = 0
        if whole and (n_int > 0 or n_frac > 0):
            bits |= IS_NUMBER
            lead_zero = n_int > 1 and data[int_start] == 48
            unsigned_or_minus = not plus
            if unsigned_or_minus and not lead_zero:
                if not dot and not has_exp and 0 < n_int <= 18:
                    bits |= IS_INTEGER
                # DECIMAL: (0|[1-9][0-9]*)? then (\.[0-9]+)?: a point needs digits after it
                if not dot or n_frac > 0:
                    bits |= IS_DECIMAL
        flags[i] = bits
        values[i] = np.nan
        if bits & IS_NUMBER == 0:
            continue
        # the value: every digit into one integer mantissa, then one exact scaling
        mantissa = 0
        digits = 0
        for j in range(int_start, int_start + n_int + (1 if dot else 0) + n_frac):
            c = data[j]
            if c == 46:
                continue
            if digits > 0 or c != 48:
                digits += 1
            if digits > 18:
                break
            mantissa = mantissa * 10 + (c - 48)
        scale = exponent - n_frac
        if digits > 18 or mantissa > _MAX_EXACT or not -22 <= scale <= 22 or n_frac > 22:
            flags[i] = bits | _SLOW
            continue
        value = float(mantissa)
        value = value * powers[scale] if scale >= 0 else value / powers[-scale]
        values[i] = -value if negative else value


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
    if isinstance(text, pa.ChunkedArray):
        parts = [classify(chunk) for chunk in text.chunks]
        if not parts:
            return np.zeros(0, np.uint8), np.zeros(0, np.float64)
        return np.concatenate([p[0] for p in parts]), np.concatenate([p[1] for p in parts])
    if not (pa.types.is_string(text.type) or pa.types.is_large_string(text.type)):
        text = text.cast(pa.large_string())
    n = len(text)
    flags = np.zeros(n, dtype=np.uint8)
    values = np.full(n, np.nan)
    if n == 0:
        return flags, values
    _validity, offsets_buffer, data_buffer = text.buffers()
    width = np.int64 if pa.types.is_large_string(text.type) else np.int32
    offsets = np.frombuffer(offsets_buffer, dtype=width)[text.offset : text.offset + n + 1]
    data = (
        np.frombuffer(data_buffer, dtype=np.uint8)
        if data_buffer is not None
        else np.zeros(0, np.uint8)
    )
    _scan(offsets.astype(np.int64), data, _EXACT_POWERS, flags, values)
    if text.null_count:
        nulls = np.asarray(text.is_null().to_numpy(zero_copy_only=False), dtype=bool)
        flags[nulls], values[nulls] = BLANK, np.nan
    slow = np.flatnonzero(flags & _SLOW)
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
    """The rare values the kernel passes on: the same rules, by :mod:`re` and :func:`float`."""
    for row, raw in zip(rows.tolist(), text.take(pa.array(rows)).to_pylist(), strict=True):
        value = raw.strip()
        bits = BLANK if not value else 0
        if NUMBER.fullmatch(value):
            bits |= IS_NUMBER
        if INTEGER.fullmatch(value):
            bits |= IS_INTEGER
        if DECIMAL.fullmatch(value) and NUMBER.fullmatch(value):  # digits before any exponent
            bits |= IS_DECIMAL
        flags[row] = bits
        values[row] = float(value) if bits & IS_NUMBER else np.nan
