"""Where a command's boundaries come from: the store's published version, or files.

The store is the one source of truth. A command that reads boundaries answers,
like the HTTP API, from the store's published version (``--version N``: that
version; ``--at TIME``: the one published then), with the published roster,
partner units and routing table. ``--boundaries FILE`` reads files instead, as
before; ``--workstations``, ``--staff``, ``--partners`` and ``--routing`` files
replace the store's for this run. An empty embedded store is first filled
with the sample pilot data (``GRIDGEO_SEED_SAMPLE``), as ``gridgeo serve`` does.
"""

from __future__ import annotations

import argparse
import dataclasses
from pathlib import Path
from typing import TYPE_CHECKING, Any

from gridgeo.cli import collector
from gridgeo.cli.options import columns, settings
from gridgeo.errors import GridgeoError
from gridgeo.i18n import tr

if TYPE_CHECKING:  # a Dataset and its file readers are imported where one is loaded:
    from gridgeo.dataset import Dataset  # ``gridgeo assign`` with an index needs neither
    from gridgeo.settings import Settings
    from gridgeo.store.datasets import StoredIndex


def add_source_options(parser: argparse.ArgumentParser, *, staff: bool = False) -> None:
    """--version/--at/--database-url, --boundaries (repeatable), --workstations, --staff."""
    g = add_version_options(parser)
    g.add_argument(
        "--boundaries",
        type=Path,
        action="append",
        metavar="FILE",
        help=tr("read boundary files instead of the store (repeatable)"),
    )
    g.add_argument(
        "--workstations",
        type=Path,
        metavar="FILE",
        help=tr("workstations GeoJSON (replaces the store's)"),
    )
    if staff:
        g.add_argument(
            "--staff", type=Path, metavar="FILE", help=tr("staff roster CSV (replaces the store's)")
        )


def add_responsibility_options(p: argparse.ArgumentParser) -> None:
    """--partners and --routing (defaults: the configured files with the default boundaries)."""
    p.add_argument(
        "--partners",
        type=Path,
        metavar="FILE",
        help=tr("partner units and zones (GeoJSON or CSV)"),
    )
    p.add_argument("--routing", type=Path, metavar="FILE", help=tr("routing table (YAML or CSV)"))


def add_version_options(parser: argparse.ArgumentParser) -> Any:
    """--version N, --at TIME and --database-url, in a group it returns."""
    g = parser.add_argument_group(
        tr("boundaries (default: the store's published version, as the HTTP API answers)")
    )
    g.add_argument(
        "--version", type=_version_number, metavar="N", help=tr("this boundaries version instead")
    )
    g.add_argument(
        "--at",
        metavar="TIME",
        help=tr(
            "the version published at this time (2026-11-01 is Beijing midnight, or ISO "
            "8601 with its offset)"
        ),
    )
    g.add_argument(
        "--database-url", metavar="URL", help=tr("the store (default GRIDGEO_DATABASE_URL)")
    )
    return g


def _version_number(text: str) -> int:
    if not text.strip().isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(
            tr("{text!r} is not a version number (1, 2, ...)", text=text)
        )
    return int(text)


def store_settings(args: argparse.Namespace) -> Settings:
    """Settings with ``--database-url`` applied."""
    cfg = settings(args)
    url = getattr(args, "database_url", None)
    return cfg.with_store(database_url=url) if url else cfg


def load_source(
    args: argparse.Namespace, cfg: Settings | None = None, **files: Path | None
) -> Dataset:
    """The Dataset a command works on (see the module docstring).

    ``files`` are the responsibility files the command takes (``partners``,
    ``routing``); ``workstations`` and ``staff`` are read from ``args``.
    """
    cfg = cfg or store_settings(args)
    files = {
        "workstations": getattr(args, "workstations", None),
        "staff": getattr(args, "staff", None),
        **files,
    }
    version, at = getattr(args, "version", None), getattr(args, "at", None)
    if args.boundaries:
        if version is not None or at is not None:
            raise GridgeoError(tr("give --boundaries FILE or --version/--at, not both"))
        from gridgeo.io.dataset import load

        return load(
            args.boundaries,
            settings=cfg,
            columns=columns(args),
            assume_crs=getattr(args, "assume_crs", None),
            **files,
        )
    return _replace_files(store_dataset(args, cfg), files)


def store_dataset(args: argparse.Namespace, cfg: Settings) -> Dataset:
    """The store's Dataset of ``--version``/``--at`` (default: the published version)."""
    # the store's modules (SQLAlchemy) only when the store is used: --help stays instant
    with collector.loading():
        from gridgeo.store.datasets import open_dataset

    return open_dataset(cfg, **_version_or_time(args))


def store_index(args: argparse.Namespace, cfg: Settings) -> StoredIndex:
    """The index of the store's ``--version``/``--at`` (default: the published version),
    without its Dataset: what ``gridgeo assign`` takes from the store."""
    with collector.loading():
        from gridgeo.store.datasets import open_index

    return open_index(cfg, **_version_or_time(args))


def _version_or_time(args: argparse.Namespace) -> dict[str, Any]:
    """``--version`` and ``--at`` (parsed) as :func:`~gridgeo.store.datasets.open_dataset`
    takes them."""
    from gridgeo.assessment import parse_time

    at = getattr(args, "at", None)
    when = parse_time(at, "--at") if at is not None else None
    return {"version": getattr(args, "version", None), "at": when}


def _replace_files(data: Dataset, files: dict[str, Path | None]) -> Dataset:
    from gridgeo.io.partners import read_partners
    from gridgeo.io.routing import read_routing
    from gridgeo.io.staff import read_staff, read_workstations

    readers: dict[str, Any] = {
        "workstations": read_workstations,
        "staff": read_staff,
        "partners": read_partners,
        "routing": read_routing,
    }
    given = {name: path for name, path in files.items() if path is not None}
    if not given:
        return data
    parts = {name: readers[name](path) for name, path in given.items()}
    sources = {**data.sources, **{name: str(path) for name, path in given.items()}}
    return dataclasses.replace(data, **parts, sources=sources)


def source_line(data: Dataset) -> str:
    """Which boundaries answered, for text output: ``boundaries: store version 3 (published)``."""
    return tr("boundaries: {source}", source=data.sources.get("boundaries") or tr("files"))
