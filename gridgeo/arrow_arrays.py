"""Arrow arrays to and from numpy and Python values, without pandas.

pyarrow's own converters (``pa.array``, ``Array.to_numpy``, any ``pa.scalar``) import
pandas the first time they run when it is installed: 0.17 s and 40 MB in a process
that has no other use for it, such as ``gridgeo assign`` from CSV to Parquet. These
build the arrays from their buffers (``pa.Array.from_buffers``), which imports nothing.

Examples
--------
>>> import numpy as np
>>> from_numpy(np.array([3, 4], np.int32), mask=np.array([False, True])).to_pylist()
[3, None]
>>> strings(["一", None, "b"]).to_pylist()
['一', None, 'b']
>>> values_of(from_numpy(np.array([1.5, 2.0])), np.float64).tolist()
[1.5, 2.0]
>>> nulls_of(strings(["a", None])).tolist()
[False, True]
>>> from_text_buffers(np.array([0, 1, 4, 4]), np.frombuffer("a东".encode(), np.uint8),
...                   np.array([True, True, False])).to_pylist()
['a', '东', None]
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import numpy.typing as npt
import pyarrow as pa


def from_numpy(
    values: npt.NDArray[np.number], mask: npt.NDArray[np.bool_] | None = None
) -> pa.Array:
    """A numeric array of ``values`` (their buffer, not copied when contiguous); ``mask``
    True where the value is null."""
    data = np.ascontiguousarray(values)
    nulls = 0 if mask is None else int(np.count_nonzero(mask))
    validity = None
    if mask is not None and nulls:
        validity = pa.py_buffer(np.packbits(~np.asarray(mask, dtype=bool), bitorder="little"))
    kind = pa.from_numpy_dtype(data.dtype)
    return pa.Array.from_buffers(kind, data.size, [validity, pa.py_buffer(data)], null_count=nulls)


def strings(values: Iterable[str | None]) -> pa.Array:
    """A ``string`` array of ``values`` (None: null)."""
    items = list(values)
    encoded = [b"" if v is None else v.encode() for v in items]
    offsets = np.zeros(len(items) + 1, dtype=np.int32)
    np.cumsum([len(e) for e in encoded], out=offsets[1:])
    missing = np.array([v is None for v in items], dtype=bool)
    nulls = int(np.count_nonzero(missing))
    validity = pa.py_buffer(np.packbits(~missing, bitorder="little")) if nulls else None
    buffers = [validity, pa.py_buffer(offsets), pa.py_buffer(b"".join(encoded))]
    return pa.Array.from_buffers(pa.string(), len(items), buffers, null_count=nulls)


def from_text_buffers(
    offsets: npt.NDArray[np.int64], data: npt.NDArray[np.uint8], valid: npt.NDArray[np.bool_]
) -> pa.Array:
    """A ``large_string`` array of UTF-8 ``data`` cut at ``offsets`` (one more than the
    values), null where ``valid`` is False; the buffers are used, not copied."""
    n = valid.size
    nulls = n - int(np.count_nonzero(valid))
    validity = pa.py_buffer(np.packbits(valid, bitorder="little")) if nulls else None
    buffers = [validity, pa.py_buffer(np.ascontiguousarray(offsets)), pa.py_buffer(data)]
    return pa.Array.from_buffers(pa.large_string(), n, buffers, null_count=nulls)


def values_of(
    array: pa.Array, dtype: type[np.generic] | np.dtype[np.generic] | None = None
) -> npt.NDArray[np.generic]:
    """The values of a numeric array as numpy ``dtype`` (its width; by default the
    array's own type), nulls' slots as they lie in the buffer (see :func:`nulls_of`); a
    view, not a copy."""
    kind = np.dtype(array.type.to_pandas_dtype() if dtype is None else dtype)
    data = array.buffers()[1]
    if data is None or len(array) == 0:
        return np.zeros(len(array), dtype=kind)
    return np.frombuffer(data, dtype=kind)[array.offset : array.offset + len(array)]


def text_offsets(text: pa.Array) -> npt.NDArray[np.signedinteger] | None:
    """Where each value of a ``string`` or ``large_string`` array starts in its bytes, and
    where the last ends (one more than the values; int32 or int64 as the type has them);
    a view; None for an array without an offsets buffer."""
    offsets = text.buffers()[1]
    if offsets is None:
        return None
    width = np.int64 if pa.types.is_large_string(text.type) else np.int32
    found: npt.NDArray[np.signedinteger] = np.frombuffer(offsets, dtype=width)
    return found[text.offset : text.offset + len(text) + 1]


def nulls_of(array: pa.Array) -> npt.NDArray[np.bool_]:
    """Where ``array`` is null."""
    n = len(array)
    if array.null_count == 0:
        return np.zeros(n, dtype=bool)
    if pa.types.is_null(array.type):
        return np.ones(n, dtype=bool)
    bits = np.unpackbits(np.frombuffer(array.buffers()[0], dtype=np.uint8), bitorder="little")
    found: npt.NDArray[np.bool_] = bits[array.offset : array.offset + n] == 0
    return found


def empty_as_null(text: pa.Array | pa.ChunkedArray) -> pa.Array | pa.ChunkedArray:
    """A ``string`` or ``large_string`` column with its empty values made null (its
    buffers shared, the validity only new).

    >>> empty_as_null(strings(["a", "", None, "b"])).to_pylist()
    ['a', None, None, 'b']
    """
    if isinstance(text, pa.ChunkedArray):
        return pa.chunked_array([empty_as_null(chunk) for chunk in text.chunks], type=text.type)
    n = len(text)
    offsets = text_offsets(text)
    if offsets is None:
        return text
    data = text.buffers()[2]
    present = (np.diff(offsets) > 0) & ~nulls_of(text)
    nulls = n - int(np.count_nonzero(present))
    validity = pa.py_buffer(np.packbits(present, bitorder="little"))
    buffers = [validity, pa.py_buffer(np.ascontiguousarray(offsets)), data]
    return pa.Array.from_buffers(text.type, n, buffers, null_count=nulls)
