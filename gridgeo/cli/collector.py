"""The console script's way with the cyclic garbage collector: the modules a command
loads are kept out of its reach.

A command loads tens of thousands of objects that live as long as it does (numpy,
pyarrow, pydantic, the parser; SQLAlchemy for a store), and every full collection walks
them all (35 ms for 45,000 on a small machine): Python ran several while the modules
loaded and more at exit, 0.1-0.2 s of a run of a second. So the console script
(:func:`gridgeo.cli.main.console`) turns the collector off while they load and then
freezes them out of its reach (:func:`gc.freeze`, with the little garbage the loading
made); it runs as usual for what the command makes, which the exit collects: a store's
connections are closed there (an SQLite store's write-ahead log folded back into its
file). Tests and programs that call :func:`gridgeo.cli.main.main` in a process that
goes on after it get none of this: freezing would keep their garbage.
"""

from __future__ import annotations

import contextlib
import gc
import sys
from collections.abc import Iterator


class _Policy:
    on = False  # set by the console script only


@contextlib.contextmanager
def console() -> Iterator[None]:
    """The console script's run: the collector off until the command's modules load
    (:func:`loaded`), and on again at the end whatever happened."""
    _Policy.on = True
    gc.disable()
    try:
        yield
    finally:
        gc.enable()  # a command that stopped before its modules loaded


def loaded() -> None:
    """The modules loaded: frozen out of the collector's reach, which runs again (nothing
    outside :func:`console`)."""
    if _Policy.on:
        gc.freeze()
        gc.enable()


@contextlib.contextmanager
def loading() -> Iterator[None]:
    """Modules imported in the block are kept out of the collector's reach too: those a
    command loads only when it needs them (a store's SQLAlchemy, GeoAlchemy2 and schema:
    93 ms of collections in a run that opened a store; the settings' pydantic). Modules
    only: everything alive is frozen when the block has loaded one, so a module's first
    load comes before the command makes an object that must be collected at exit (a
    store's engine); a block that loads nothing new (the module is there) freezes
    nothing."""
    if not _Policy.on:
        yield
        return
    modules = len(sys.modules)
    gc.disable()
    try:
        yield
    finally:
        if len(sys.modules) > modules:
            loaded()
        else:
            gc.enable()
