"""``gridgeo serve``: the HTTP service (uvicorn)."""

from __future__ import annotations

import argparse
import os
from typing import Any

from gridgeo.cli.commands import help_of
from gridgeo.i18n import current_lang, tr
from gridgeo.settings import Settings


def register(sub: Any) -> None:
    p = sub.add_parser(
        "serve",
        help=help_of("serve"),
        description=tr("Serve the API with uvicorn (settings from GRIDGEO_*)."),
    )
    p.add_argument("--host", help=tr("bind address (default GRIDGEO_HOST or 127.0.0.1)"))
    p.add_argument("--port", type=int, help=tr("port (default GRIDGEO_PORT or 8000)"))
    p.add_argument(
        "--workers", type=int, default=1, metavar="N", help=tr("worker processes (default 1)")
    )
    p.set_defaults(handler=run_serve)


def run_serve(args: argparse.Namespace) -> int:
    import uvicorn  # imported here so other commands start fast

    # the workers read their settings from the environment: --lang becomes their default
    os.environ["GRIDGEO_LANG"] = current_lang()
    cfg = Settings()
    host, port = args.host or cfg.api.host, args.port or cfg.api.port
    if args.workers > 1:
        from gridgeo.api.prefork import serve_forked

        serve_forked(host=host, port=port, workers=args.workers)
        return 0
    uvicorn.run(
        "gridgeo.api.app:app_from_env", factory=True, host=host, port=port, log_level="info"
    )
    return 0
