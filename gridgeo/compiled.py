"""Whether this process runs the compiled (numba) kernels, and loading them ahead.

numba and LLVM cost a process about 0.5 s and 125 MB to load. The grid index's point
queries (:mod:`gridgeo.index.plain_query`) and the number scanner
(:mod:`gridgeo.number_text`) give the same answers in whole-array numpy, two to three
times slower per point: below a few million points that is the faster way to the end.
So the kernels run only once a large run has asked for them (:func:`load_in_background`,
which ``gridgeo assign`` calls for an input of :data:`LARGE_INPUT_BYTES` or more), and
are used from the moment they are ready: every answer is the same either way.
"""

from __future__ import annotations

import logging
import threading

# an input this large (about two million CSV rows) pays for loading the kernels
LARGE_INPUT_BYTES = 64 << 20

log = logging.getLogger(__name__)
_ready = threading.Event()


def ready() -> bool:
    """True once :func:`load` has finished in this process."""
    return _ready.is_set()


def load() -> None:
    """Import the kernels and run each once (numba loads their machine code on first
    call), then mark them ready."""
    import numpy as np

    from gridgeo.index import kernels
    from gridgeo.number_kernels import scan
    from gridgeo.number_text import _EXACT_POWERS

    empty = np.zeros(0)
    scan(np.zeros(1, np.int64), np.zeros(0, np.uint8), _EXACT_POWERS, np.zeros(0, np.uint8), empty)
    lattice = np.array([0.0, 0.0, 1.0, 1.0, 1.0, 1.0])
    kernels.query(
        empty,
        empty,
        lattice,
        np.full(1, -1, np.int32),
        np.zeros(1, np.int64),
        np.zeros((0, 4), np.int32),
        np.zeros(0, np.int32),
        np.zeros((0, 4)),
        np.zeros((0, 2), np.int32),
        np.zeros(1, np.int8),
        np.ones(2, np.int64),
        np.zeros(0, np.int8),
    )
    _ready.set()


def load_in_background() -> threading.Thread:
    """:func:`load` in a daemon thread, so that the run goes on meanwhile (in numpy, for
    good, should the kernels fail to load: the answers are the same)."""
    thread = threading.Thread(target=_load_quietly, name="gridgeo-kernels", daemon=True)
    thread.start()
    return thread


def _load_quietly() -> None:
    try:
        load()
    except Exception as exc:
        log.info("the compiled kernels did not load (%s); going on without them", exc)
