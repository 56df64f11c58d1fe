"""Numbers read from Arrow text columns in one compiled pass, exactly as the rules say.

A CSV column arrives as text. Two questions are asked of it, at every row of a
batch: which number does each value hold (the coordinates of ``gridgeo assign``),
and is the column whole numbers, numbers or text (the Parquet types of
:meth:`gridgeo.io.tables.TableReader.csv_types`). Arrow's regular expressions
answered both at about 0.2 s per million values and column, more than the point
lookup itself; the kernel (:mod:`gridgeo.number_kernels`) reads the string buffers
directly. Loading numba costs a process 0.5 s, so the kernel runs only where a large
run has loaded it (:mod:`gridgeo.compiled`); elsewhere the same answers
come from whole-array numpy over the same buffers (:func:`_scan_plain`: plain numbers
read by one Arrow cast, the other values tallied by :func:`_scan_arrays`), and a column of
fewer than :data:`WHOLE_ARRAY_FROM` values is read by the rules themselves.

The rules are the regular expressions below, after trimming white space: the
kernels follow them byte by byte for ASCII text and hand any value with other
bytes (full-width digits, an ideographic space) back to Python's :mod:`re`, so
the answer never depends on which path read it. A number's value is exact:
Clinger's fast path (a mantissa below 2**53 times or over an exact power of
ten, one correctly rounded operation) and :func:`float` for anything longer.
"""

from __future__ import annotations

import re

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc

from gridgeo.arrow_arrays import from_numpy, nulls_of, text_offsets, values_of
from gridgeo.compiled import ready

# a column of fewer values is read by the rules themselves, value by value
WHOLE_ARRAY_FROM = 64

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
    # the compiled pass where a large run has loaded numba: loading it costs more than it saves
    compiled = ready()
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
    if n < WHOLE_ARRAY_FROM and not compiled:
        _in_python(text, np.arange(n), flags, values)
        return flags, values
    offsets, data = _buffers(text)
    if compiled:
        from gridgeo.number_kernels import scan  # numba: loaded for a large run

        scan(offsets, data, _EXACT_POWERS, flags, values)
    else:
        _scan_plain(text, offsets, data, flags, values)
    if text.null_count:
        nulls = nulls_of(text)
        flags[nulls], values[nulls] = BLANK, np.nan
    slow = np.flatnonzero(flags & SLOW)
    if slow.size:
        _in_python(text, slow, flags, values)
    return flags, values


def _buffers(text: pa.Array) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.uint8]]:
    """The value offsets (as int64) and the bytes of a string array."""
    data_buffer = text.buffers()[2]
    offsets = text_offsets(text)
    assert offsets is not None  # a string array of one value at least has them
    data = (
        np.frombuffer(data_buffer, dtype=np.uint8)
        if data_buffer is not None
        else np.zeros(0, np.uint8)
    )
    return offsets.astype(np.int64), data


# Per byte, the count it adds to its value's tally, one field each (bits): digits (0-15),
# points (16-31), signs (32-47), "soft" bytes (48-55: white space, e and E, anything
# beyond ASCII, which need the rules themselves) and "hard" ones (56-63: any other ASCII,
# which no number holds). A value shorter than 256 bytes fills no field.
_DIGIT, _POINT, _SIGN, _SOFT, _HARD = 1, 1 << 16, 1 << 32, 1 << 48, 1 << 56
_TALLY = np.full(256, _HARD, dtype=np.uint64)
_TALLY[ord("0") : ord("9") + 1] = _DIGIT
_TALLY[ord(".")] = _POINT
_TALLY[[ord("+"), ord("-")]] = _SIGN
_TALLY[[ord("e"), ord("E"), 9, 10, 11, 12, 13, 28, 29, 30, 31, 32]] = _SOFT  # str.strip's
_TALLY[128:] = _SOFT
_SHORT = 256


def _tallies(offsets: npt.NDArray[np.int64], data: npt.NDArray[np.uint8]) -> npt.NDArray[np.uint64]:
    """Each value's :data:`_TALLY` sum, a block of a quarter megabyte of text at a time
    (the per-byte arrays of a whole column, eight bytes a byte, cost more in page faults
    and cache misses than in arithmetic)."""
    n = offsets.size - 1
    counts = np.zeros(n, dtype=np.uint64)
    step = max(1, int(n * _BLOCK_BYTES // max(int(offsets[-1] - offsets[0]), 1)))
    for first in range(0, n, step):
        stop = min(first + step, n)
        lo, hi = int(offsets[first]), int(offsets[stop])
        if hi == lo:
            continue  # empty values only
        running = np.cumsum(_TALLY[data[lo:hi]])
        last = offsets[first + 1 : stop + 1] - (lo + 1)  # each value's last byte in the block
        ends = running[last]
        ends[: int(np.searchsorted(last, 0))] = 0  # empty values at the block's start
        counts[first:stop] = ends
        counts[first + 1 : stop] -= ends[:-1]  # wraps around, exactly, in uint64
    return counts


_BLOCK_BYTES = 1 << 18


def _scan_arrays(
    text: pa.Array,
    offsets: npt.NDArray[np.int64],
    data: npt.NDArray[np.uint8],
    flags: npt.NDArray[np.uint8],
    values: npt.NDArray[np.float64],
) -> None:
    """The scanner's answers in whole-array numpy (no numba to load): each value's bytes
    tallied by kind (:data:`_TALLY`), then the rules decided from the tallies and the
    bytes at its start and end. A value of digits, at most one point and a leading sign
    is read by Arrow's own parser (correctly rounded, as :func:`float`); one with a
    "soft" byte (white space, an exponent, text beyond ASCII) or of 256 bytes or more
    is passed to the rules themselves; any other is no number."""
    start, end = offsets[:-1], offsets[1:]
    if data.size == 0:  # no text at all: every value empty or null
        flags[:] = BLANK
        return
    counts = _tallies(offsets, data)
    size = end - start
    digits = (counts & 0xFFFF).astype(np.int64)
    points = (counts >> 16) & 0xFFFF
    signs = (counts >> 32) & 0xFFFF
    soft, hard = (counts >> 48) & 0xFF, counts >> 56
    short = size < _SHORT
    slow = (size >= _SHORT) | ((soft > 0) & (hard == 0))
    flags[slow] = SLOW
    flags[size == 0] = BLANK
    top = max(data.size - 1, 0)
    first = data[np.minimum(start, top)]
    signed = (first == ord("+")) | (first == ord("-"))
    # a number: digits with at most one point, a sign only in front
    number = short & (soft == 0) & (hard == 0) & (digits > 0) & (points <= 1)
    number &= (signs == 0) | ((signs == 1) & signed)
    at = np.flatnonzero(number)
    if at.size == 0:
        return
    flags[at] = _number_bits(
        data,
        start[at],
        end[at],
        signed[at],
        points[at].astype(np.int64),
        no_plus=first[at] != ord("+"),
    )
    values[at] = values_of(pc.cast(text.take(from_numpy(at)), pa.float64()), np.float64)


def _number_bits(
    data: npt.NDArray[np.uint8],
    start: npt.NDArray[np.int64],
    end: npt.NDArray[np.int64],
    signed: npt.NDArray[np.bool_],
    points: npt.NDArray[np.int64],
    *,
    no_plus: npt.NDArray[np.bool_] | bool,
) -> npt.NDArray[np.uint8]:
    """The bits of values known to be numbers (digits, at most one point, a sign only in
    front): whether they are whole numbers and decimals, from their lengths and the bytes
    at their start and end."""
    top = max(data.size - 1, 0)
    size = end - start
    digits = size - signed - points
    lead = start + signed  # the first digit or point
    head = data[np.minimum(lead, top)]
    after = data[np.minimum(lead + 1, top)]
    # no leading zero: a single "0", or a first digit 1-9 ("007" is a code, kept text)
    whole = (head != ord("0")) | (size - signed == 1)
    integer = (points == 0) & whole & (digits <= 18) & no_plus
    # decimals: the whole part empty, "0" or without a leading zero, and digits after a point
    decimal = (head == ord(".")) | whole | ((head == ord("0")) & (after == ord(".")))
    decimal &= (points == 0) | (data[end - 1] != ord("."))
    decimal &= no_plus
    bits: npt.NDArray[np.uint8] = integer.view(np.uint8) * np.uint8(IS_INTEGER)  # no masks
    bits += decimal.view(np.uint8) * np.uint8(IS_DECIMAL)
    bits += np.uint8(IS_NUMBER)
    return bits


def _scan_plain(
    text: pa.Array,
    offsets: npt.NDArray[np.int64],
    data: npt.NDArray[np.uint8],
    flags: npt.NDArray[np.uint8],
    values: npt.NDArray[np.float64],
) -> None:
    """The numpy pass (:func:`_scan_arrays`'s answers) with a short cut for the values of
    a column of coordinates or ids: those of ASCII digits, points and minus signs only.

    Over those bytes Arrow's parser accepts exactly what :data:`NUMBER` matches (tests
    try every string of up to seven of them) and reads it as :func:`float` does, so the
    plain values are read by one Arrow cast, their bits decided by :func:`_number_bits`,
    and only the others are tallied: a quarter of the tallies' time for a column of
    numbers. When the cast refuses one plain value ("1.2.3", "5-"), the whole column is
    tallied."""
    plain = _plain_rows(offsets, data)
    if plain.size == 0:
        _scan_arrays(text, offsets, data, flags, values)
        return
    part = text if plain.size == len(text) else text.take(from_numpy(plain))
    try:
        read = pc.cast(part, pa.float64())
    except pa.ArrowInvalid:  # a plain value that is no number: the tallies decide all
        _scan_arrays(text, offsets, data, flags, values)
        return
    found = values_of(pc.find_substring(part, "."))  # int32, or int64 for large_string
    points = (np.asarray(found) >= 0).astype(np.int64)
    if plain.size == len(text):  # all of them: no gathers
        values[:] = values_of(read, np.float64)
        start, end = offsets[:-1], offsets[1:]
        flags[:] = _number_bits(data, start, end, data[start] == ord("-"), points, no_plus=True)
        return
    values[plain] = values_of(read, np.float64)
    start, end = offsets[plain], offsets[plain + 1]
    flags[plain] = _number_bits(data, start, end, data[start] == ord("-"), points, no_plus=True)
    others = np.ones(len(text), dtype=bool)
    others[plain] = False
    rest = np.flatnonzero(others)
    sub = text.take(from_numpy(rest))
    sub_flags, sub_values = np.zeros(rest.size, np.uint8), np.full(rest.size, np.nan)
    _scan_arrays(sub, *_buffers(sub), sub_flags, sub_values)
    flags[rest], values[rest] = sub_flags, sub_values


def _plain_rows(
    offsets: npt.NDArray[np.int64], data: npt.NDArray[np.uint8]
) -> npt.NDArray[np.intp]:
    """The values that are not empty and hold only ASCII digits, "." and "-"."""
    lo, hi = int(offsets[0]), int(offsets[-1])
    text = data[lo:hi]
    # "-", "." and "/" are 45-47, the digits 48-57: one subtraction and one comparison
    other = (text - np.uint8(45)) > np.uint8(12)
    other |= text == ord("/")
    plain = offsets[1:] > offsets[:-1]
    at = np.flatnonzero(other)
    if at.size:  # the value each such byte lies in (empty values share its start)
        plain[np.searchsorted(offsets, at + lo, side="right") - 1] = False
    return np.flatnonzero(plain)


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
        read = pc.cast(column, pa.float64())
        parts = read.chunks if isinstance(read, pa.ChunkedArray) else [read]
        values = np.concatenate([_floats(part) for part in parts] or [np.zeros(0)])
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
    for row, raw in zip(rows.tolist(), text.take(from_numpy(rows)).to_pylist(), strict=True):
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


def _floats(read: pa.Array) -> npt.NDArray[np.float64]:
    """A float64 array's values, NaN where null (without pandas: :mod:`gridgeo.arrow_arrays`)."""
    values = np.array(values_of(read, np.float64), dtype=np.float64)  # a copy: writable
    values[nulls_of(read)] = np.nan
    return values
