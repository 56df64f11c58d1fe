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
    array: pa.Array, dtype: type[np.generic] | np.dtype[np.generic]
) -> npt.NDArray[np.generic]:
    """The values of a numeric array as numpy ``dtype`` (its width), nulls' slots as they
    lie in the buffer (see :func:`nulls_of`); a view, not a copy."""
    kind = np.dtype(dtype)
    data = array.buffers()[1]
    if data is None or len(array) == 0:
        return np.zeros(len(array), dtype=kind)
    return np.frombuffer(data, dtype=kind)[array.offset : array.offset + len(array)]


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
    width = np.int64 if pa.types.is_large_string(text.type) else np.int32
    _validity, offsets_buffer, data = text.buffers()
    if offsets_buffer is None:
        return text
    offsets = np.frombuffer(offsets_buffer, dtype=width)[text.offset : text.offset + n + 1]
    present = (np.diff(offsets) > 0) & ~nulls_of(text)
    nulls = n - int(np.count_nonzero(present))
    validity = pa.py_buffer(np.packbits(present, bitorder="little"))
    buffers = [validity, pa.py_buffer(np.ascontiguousarray(offsets)), data]
    return pa.Array.from_buffers(text.type, n, buffers, null_count=nulls)
