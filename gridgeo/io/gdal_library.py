"""GDAL in the process before SQLite loads SpatiaLite, without pyogrio's pandas.

SQLite opens extensions with ``RTLD_GLOBAL``: once a store connection has loaded
``mod_spatialite``, SpatiaLite's functions and those of the system's PROJ and GEOS are in
the process's global scope. A GDAL set up after that (pyogrio's, which carries its own
copies) takes some of them instead of its own, and reading a file then crashes the
process: a segfault, or a double free at exit (``tests/test_gdal_library.py`` shows both
orders). Set up first, GDAL keeps its own.

What must come first is ``pyogrio.core``: it loads GDAL's library, points it at its data
files and registers its drivers. ``import pyogrio`` would do that and then import
``pyogrio.geopandas``, which imports pandas, geopandas and pyarrow (~130 MB in every
service worker on a SQLite store, which reads no file). So :func:`load_gdal_first` runs
``pyogrio.core`` under a package module whose own ``__init__`` is left for later: the
module stays in ``sys.modules`` as a lazy module (``importlib.util.LazyLoader``), and
the first use of ``pyogrio`` (an upload, seeding a new store, ``gridgeo import``) runs
the rest of its ``__init__``, reusing the ``pyogrio.core`` already set up.
"""

from __future__ import annotations

import importlib
import importlib.util
import sys
import threading
from types import ModuleType

_lock = threading.Lock()


def load_gdal_first() -> None:
    """Set GDAL up (``pyogrio.core``) if it is not yet; import nothing else of pyogrio.

    Call it before anything loads SpatiaLite (:func:`gridgeo.store.engine.make_engine`
    does, for SQLite stores). Without pyogrio installed it does nothing.
    """
    with _lock:
        if "pyogrio.core" in sys.modules:
            return
        spec = importlib.util.find_spec("pyogrio")
        if spec is None or spec.loader is None:
            return  # no GDAL to protect
        if "pyogrio" in sys.modules:  # imported, or being imported: let it finish
            importlib.import_module("pyogrio.core")
            return
        # shapely's GEOS and pyproj's PROJ before GDAL's copies (pyogrio's __init__ does
        # the former; without the latter a process crashed at exit, double free)
        importlib.import_module("shapely")
        importlib.import_module("pyproj")
        package = importlib.util.module_from_spec(spec)  # __path__ set, __init__ not run
        sys.modules["pyogrio"] = package
        try:
            importlib.import_module("pyogrio.core")
        except BaseException:
            del sys.modules["pyogrio"]
            raise
        # the package's own __init__ runs on its first use, in this same module object
        importlib.util.LazyLoader(spec.loader).exec_module(package)


def pyogrio_module() -> ModuleType:
    """pyogrio, with its ``errors`` and ``raw`` modules, GDAL set up first
    (:func:`load_gdal_first`): what the functions that read or write files call, so that
    a command that reads none (``gridgeo assign`` with its index found) never loads
    GDAL, pandas and geopandas (0.3 s)."""
    load_gdal_first()
    import pyogrio
    import pyogrio.errors
    import pyogrio.raw

    module: ModuleType = pyogrio
    return module
