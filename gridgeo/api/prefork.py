"""Several service workers forked from one loaded process (gunicorn with ``preload_app``).

uvicorn's own ``--workers`` spawns fresh interpreters: each imports every library and
loads the published version again, so each further worker cost about 200 MB of private
memory. Here the parent loads the app once (imports, the published Dataset, the lookup
tables and the mapped index file), freezes the garbage collector's view of those
objects, and gunicorn forks the workers from it: their pages stay shared copy-on-write
until written, and the index file's pages are the page cache's (docs/SCALING.md).

No database connection crosses the fork: the parent closes its pool once loaded (a
connection shared by two processes corrupts its protocol state, and a child closing
it would end the parent's session), and each worker opens its own. Each worker's
lifespan then starts its own publication watcher, as with uvicorn's workers. A worker
that dies is forked again from the same loaded parent by gunicorn.
"""

from __future__ import annotations

import gc
from typing import Any

from fastapi import FastAPI
from gunicorn.app.base import BaseApplication

from gridgeo.api import lookup_service
from gridgeo.api.app import app_from_env
from gridgeo.api.ogc import tiles

WORKER_CLASS = "uvicorn_worker.UvicornWorker"


class PreforkServer(BaseApplication):  # type: ignore[misc]  # gunicorn has no type hints
    """gunicorn running the gridgeo app built once in the parent, in ``workers`` forks."""

    def __init__(self, *, host: str, port: int, workers: int) -> None:
        self.options: dict[str, Any] = {
            "bind": f"{host}:{port}",
            "workers": workers,
            "worker_class": WORKER_CLASS,
            "preload_app": True,
            "control_socket_disable": True,  # no runtime control socket in $HOME
            "graceful_timeout": 10,
            "accesslog": None,
        }
        super().__init__()

    def load_config(self) -> None:
        for key, value in self.options.items():
            self.cfg.set(key, value)

    def load(self) -> FastAPI:
        app = app_from_env()
        live = app.state.live
        # what every worker would build for itself, built once and shared
        lookup_service.warm(live.current)
        tiles.warm_levels(live.current)
        if app.state.store is not None:
            app.state.store.engine.dispose()  # no connection crosses the fork
        gc.collect()
        gc.freeze()  # later collections leave the parent's objects (and their pages) alone
        return app


def serve_forked(*, host: str, port: int, workers: int) -> None:
    """Serve on ``host:port`` with ``workers`` processes forked after loading."""
    PreforkServer(host=host, port=port, workers=workers).run()
