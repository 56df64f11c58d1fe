"""Store commands: import, publish, versions, rollback, export, reassign, prune-media, audit
(the cases of the work loop: ``gridgeo cases``, :mod:`gridgeo.cli.cases`).

All of them call the store's one core (``gridgeo.store``), the same the API calls.
``import`` is a dry run unless ``--commit``: it validates and says what it would write.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Sequence
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from gridgeo.cli.commands import help_of
from gridgeo.cli.options import (
    add_column_options,
    add_database_options,
    add_format,
    columns,
    emit_json,
    finding_line,
    settings,
)
from gridgeo.dataset import Dataset
from gridgeo.errors import ConflictError, InputFileError
from gridgeo.findings import Severity
from gridgeo.i18n import tr
from gridgeo.index.cache import index_of_version
from gridgeo.io.boundaries import read_boundaries
from gridgeo.io.partners import read_partners
from gridgeo.io.routing import read_routing
from gridgeo.io.staff import read_staff, read_workstations
from gridgeo.io.writers import write_grids
from gridgeo.settings import Settings
from gridgeo.store import cases, versions
from gridgeo.store.audit import actor_name
from gridgeo.store.core import Store
from gridgeo.store.datasets import load_dataset, stored_version_name
from gridgeo.store.responsibility import import_partners, import_roster, import_routing
from gridgeo.store.snapshots import get_version, load_grids, published_version, version_label
from gridgeo.store.versioned_import import ImportOptions
from gridgeo.store.versions import VersionInfo
from gridgeo.wording import text_table

EXIT_OK, EXIT_PROBLEMS = 0, 1


def register(sub: Any) -> None:
    _register_import(sub)
    p = sub.add_parser(
        "publish",
        help=help_of("publish"),
        description=tr(
            "Publish a draft boundaries version: the previous one is retired in the "
            "same transaction and running services reload. A version with validation errors "
            "is refused unless --force, which is recorded in the audit log."
        ),
    )
    p.add_argument("version", type=int, metavar="VERSION", help=tr("the draft version"))
    p.add_argument("--force", action="store_true", help=tr("publish despite validation errors"))
    add_store_options(p)
    add_format(p)
    p.set_defaults(handler=run_publish)

    p = sub.add_parser(
        "rollback",
        help=help_of("rollback"),
        description=tr(
            "Make an earlier (retired) version the published one again. A version "
            "with validation errors (one that was force-published) is refused unless --force, "
            "which is recorded in the audit log."
        ),
    )
    p.add_argument("version", type=int, metavar="VERSION", help=tr("the version to restore"))
    p.add_argument(
        "--force",
        action="store_true",
        help=tr("restore a version despite its validation errors"),
    )
    add_store_options(p)
    add_format(p)
    p.set_defaults(handler=run_rollback)

    p = sub.add_parser("versions", help=help_of("versions"), description=help_of("versions"))
    p.add_argument(
        "--kind", default="boundaries", help=tr("boundaries (default), roster, ... or all")
    )
    p.add_argument("--show", type=int, metavar="VERSION", help=tr("print one version's report"))
    add_store_options(p)
    add_format(p)
    p.set_defaults(handler=run_versions)

    p = sub.add_parser(
        "export",
        help=help_of("export"),
        description=tr(
            "Write the grids of VERSION (default: the published one) with every "
            "attribute: .gpkg (one layer per level), .geojson or .zip (Shapefile)."
        ),
    )
    p.add_argument(
        "version", type=int, nargs="?", metavar="VERSION", help=tr("the version to export")
    )
    p.add_argument(
        "-o",
        "--output",
        type=Path,
        required=True,
        metavar="FILE",
        help=tr("the file to write (.gpkg, .geojson or .zip)"),
    )
    add_store_options(p)
    p.set_defaults(handler=run_export)

    p = sub.add_parser("reassign", help=help_of("reassign"), description=help_of("reassign"))
    p.add_argument(
        "--to",
        type=int,
        required=True,
        metavar="VERSION",
        dest="to_version",
        help=tr("the boundaries version to assign the open cases to"),
    )
    add_store_options(p)
    add_format(p)
    p.set_defaults(handler=run_reassign)

    _register_prune_media(sub)  # the cases themselves: gridgeo.cli.cases

    p = sub.add_parser("audit", help=help_of("audit"), description=help_of("audit"))
    p.add_argument(
        "--limit", type=int, default=50, metavar="N", help=tr("at most N entries (default 50)")
    )
    add_store_options(p)
    add_format(p)
    p.set_defaults(handler=run_audit)


def _register_prune_media(sub: Any) -> None:
    p = sub.add_parser(
        "prune-media",
        help=help_of("prune-media"),
        description=tr(
            "Open311 photos are kept in the store with their case. This deletes those "
            "of cases closed at least --older-than days ago, in one transaction with an audit "
            "entry; open cases keep theirs. Without --commit it only counts."
        ),
    )
    p.add_argument(
        "--older-than", type=_days, required=True, metavar="DAYS", help=tr("days since closing")
    )
    p.add_argument("--commit", action="store_true", help=tr("delete (default: dry run)"))
    add_store_options(p)
    add_format(p)
    p.set_defaults(handler=run_prune_media)


def _register_import(sub: Any) -> None:
    p = sub.add_parser(
        "import",
        help=help_of("import"),
        description=tr(
            "Read and validate FILE (boundaries by default; --kind roster, partners or "
            "routing for the 1+2+N files); with --commit write it as a new draft version in one "
            "transaction (all or nothing). Without --commit nothing is written. Publish the "
            "draft with `gridgeo publish VERSION`."
        ),
    )
    p.add_argument(
        "--kind",
        choices=("boundaries", "roster", "partners", "routing"),
        default="boundaries",
        help=tr(
            "what FILE holds: boundaries (default), roster (staff CSV), partners "
            "(GeoJSON/CSV) or routing (YAML/CSV); the last three are checked against the "
            "published boundaries"
        ),
    )
    p.add_argument("files", nargs="+", type=Path, metavar="FILE")
    p.add_argument("--note", default="", help=tr("what changed, kept with the version"))
    p.add_argument("--commit", action="store_true", help=tr("write the draft (default: dry run)"))
    p.add_argument(
        "--workstations",
        type=Path,
        metavar="FILE",
        help=tr("workstations GeoJSON (default: carry over the published version's)"),
    )
    add_store_options(p)
    add_format(p)
    add_column_options(p)
    p.set_defaults(handler=run_import)


def add_store_options(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group(tr("store"))
    add_database_options(g)


def _settings(args: argparse.Namespace) -> Settings:
    cfg = settings(args)
    update = {k: v for k in ("database_url", "actor") if (v := getattr(args, k, None))}
    return cfg.with_store(**update) if update else cfg


def open_store(args: argparse.Namespace) -> tuple[Store, Settings, str]:
    cfg = _settings(args)
    return Store(cfg.store.database_url), cfg, actor_name(cfg.store.actor)


def run_import(args: argparse.Namespace) -> int:
    if args.kind != "boundaries":
        return _import_responsibility(args)
    store, cfg, actor = open_store(args)
    grids = read_boundaries(
        args.files, columns=columns(args), assume_crs=args.assume_crs, scheme=cfg.scheme
    )
    source = ", ".join(str(f) for f in args.files)
    digest = versions.file_sha256(args.files[0]) if len(args.files) == 1 else ""
    result = versions.import_boundaries(
        store,
        grids,
        author=actor,
        workstations=read_workstations(args.workstations) if args.workstations else None,
        note=args.note,
        source_name=source,
        source_sha256=digest,
        commit=args.commit,
        validation=cfg.validation,
        on_progress=_progress,
    )
    if args.format == "json":
        emit_json(result.to_dict())
    else:
        _print_import(result)
    return EXIT_OK if result.report.ok else EXIT_PROBLEMS


def _import_responsibility(args: argparse.Namespace) -> int:
    """Roster, partners or routing: read, check against the published boundaries, write."""
    if len(args.files) != 1:
        raise InputFileError(tr("--kind {kind} takes one file", kind=args.kind))
    path = args.files[0]
    store, cfg, actor = open_store(args)
    options: ImportOptions = {
        "author": actor,
        "note": args.note,
        "source": (str(path), versions.file_sha256(path)),
        "commit": args.commit,
    }
    if args.kind == "roster":
        findings, draft = import_roster(store, read_staff(path), **options)
    elif args.kind == "partners":
        findings, draft = import_partners(
            store,
            read_partners(path),
            area_tolerance_m2=cfg.validation.area_tolerance_m2,
            **options,
        )
    else:
        findings, draft = import_routing(store, read_routing(path), **options)
    errors = [f for f in findings if f.severity == Severity.ERROR]
    if args.format == "json":
        emit_json(
            {
                "dry_run": draft is None,
                "kind": args.kind,
                "findings": [f.to_dict() for f in findings],
                "version": draft.to_dict() if draft else None,
            }
        )
    else:
        print(
            tr(
                "{path}: {errors} error(s), {warnings} warning(s)",
                path=path,
                errors=len(errors),
                warnings=len(findings) - len(errors),
            )
        )
        for f in findings:
            print("  " + finding_line(f.severity, f.rule, str(f)))
        if draft is None:
            print(_dry_run())
        else:
            print(
                tr(
                    "wrote draft {version}; publish it with `gridgeo publish {id}`",
                    version=version_label(draft.id, args.kind),
                    id=draft.id,
                )
            )
    return EXIT_PROBLEMS if errors else EXIT_OK


def _dry_run() -> str:
    return tr("dry run: nothing written; run again with --commit to write a draft version")


def _kind(kind: str) -> str:
    """A kind of version for people: ``roster`` (``人员名册``)."""
    return {
        "boundaries": tr("boundaries"),
        "roster": tr("roster"),
        "partners": tr("partners"),
        "routing": tr("routing"),
    }.get(kind, kind)


def _progress(message: str) -> None:
    import sys

    print(message, file=sys.stderr, flush=True)


def _print_import(result: versions.ImportResult) -> None:
    report = result.report
    print(
        tr(
            "{source}: {features} features, {errors} error(s), {warnings} warning(s)",
            source=result.source_name,
            features=result.feature_count,
            errors=len(report.errors),
            warnings=len(report.warnings),
        )
    )
    if report.errors or report.warnings:
        print(report.to_text())
    if result.version is None:
        print(_dry_run())
        return
    carried = tr(" (workstations carried over from the published version)")
    print(
        tr(
            "wrote draft version {id}{carried}; publish it with `gridgeo publish {id}`",
            id=result.version.id,
            carried=carried if result.carried_workstations else "",
        )
    )


def run_publish(args: argparse.Namespace) -> int:
    store, cfg, actor = open_store(args)
    info = versions.publish(store, args.version, actor=actor, force=args.force)
    _index(store, cfg, info)
    _print_version(args, info, rolled_back=False)
    return EXIT_OK


def run_rollback(args: argparse.Namespace) -> int:
    store, cfg, actor = open_store(args)
    info = versions.rollback(store, args.version, actor=actor, force=args.force)
    _index(store, cfg, info)
    _print_version(args, info, rolled_back=True)
    return EXIT_OK


def _index(store: Store, cfg: Settings, info: VersionInfo) -> None:
    """Build the published boundaries' index file and each level's vector tile
    geometries now, so that no service start or ``gridgeo assign`` pays for them (a
    version that has them already keeps them)."""
    if info.kind == "boundaries":
        with store.reading() as session:
            grids = load_grids(session, info.id, cfg.scheme)
            key = stored_version_name(cfg, get_version(session, info.id))
        # found by the version's name too: `gridgeo assign` then reads no grids at all
        index_of_version(key, lambda: grids, cfg.store.index_folder)
        from gridgeo.api.ogc.tiles import save_level_files  # the CLI starts without it

        save_level_files(Dataset(grids, settings=cfg))


def _print_version(args: argparse.Namespace, info: VersionInfo, *, rolled_back: bool) -> None:
    if args.format == "json":
        emit_json(info.to_dict())
        return
    version = version_label(info.id, info.kind)
    if rolled_back:
        print(tr("rolled back to {version} ({n} features)", version=version, n=info.feature_count))
    else:
        print(tr("published {version} ({n} features)", version=version, n=info.feature_count))


def run_versions(args: argparse.Namespace) -> int:
    store, _, _ = open_store(args)
    if args.show is not None:
        report = versions.version_report(store, args.show)
        if args.format == "json":
            emit_json(report)
        else:
            # boundaries store the validation report; the other kinds a findings list
            findings = report.get("findings") or [
                *report.get("errors", []),
                *report.get("warnings", []),
            ]
            print(tr("version {id}: {n} finding(s)", id=args.show, n=len(findings)))
            for f in findings:
                line = finding_line(str(f.get("severity")), str(f.get("rule")), f.get("message"))
                print("  " + line)
        return EXIT_OK
    kind = None if args.kind == "all" else args.kind
    infos = versions.list_versions(store, kind)
    if args.format == "json":
        emit_json([i.to_dict() for i in infos])
        return EXIT_OK
    print(_table(infos))
    return EXIT_OK


def _table(infos: Sequence[VersionInfo]) -> str:
    head = [
        tr("id"),
        tr("kind"),
        tr("status"),
        tr("features"),
        tr("errors"),
        tr("warnings"),
        tr("created (UTC)"),
        tr("author"),
        tr("note"),
    ]
    rows = [
        [
            str(i.id),
            _kind(i.kind),
            _status(i.status),
            str(i.feature_count),
            str(i.errors),
            str(i.warnings),
            _when(i.created_at),
            i.author,
            i.note,
        ]
        for i in infos
    ]
    lines = text_table(head, rows, right=(0, 3, 4, 5))
    if not infos:
        lines.append(tr("(no versions: `gridgeo import FILE --commit`)"))
    return "\n".join(lines)


def _status(status: str) -> str:
    """A version's status for people: ``draft`` (``草稿``), ``published``, ``retired``."""
    return {
        "draft": tr("draft"),
        "published": tr("published"),
        "retired": tr("retired"),
    }.get(status, status)


def _when(value: datetime | None) -> str:
    return value.strftime("%Y-%m-%d %H:%M:%S") if value else ""


def run_export(args: argparse.Namespace) -> int:
    store, cfg, _ = open_store(args)
    with store.reading() as session:
        version = args.version
        if version is None:
            current = published_version(session)
            if current is None:
                raise ConflictError(tr("nothing is published; name a VERSION to export"))
            version = current.id
        grids = load_grids(session, version, cfg.scheme)
    path = write_grids(grids, args.output)
    print(
        tr(
            "wrote version {id} ({n} features) to {path}",
            id=version,
            n=len(grids),
            path=path,
        )
    )
    return EXIT_OK


def run_reassign(args: argparse.Namespace) -> int:
    store, cfg, actor = open_store(args)
    data = load_dataset(store, cfg, args.to_version)
    report = cases.reassign(store, data, actor=actor)
    if args.format == "json":
        emit_json(report.to_dict())
        return EXIT_OK
    print(
        tr(
            "re-assigned {n} open case(s) to version {version}; {moved} moved to another grid",
            n=report.open_cases,
            version=report.to_version,
            moved=len(report.moved),
        )
    )
    for m in report.moved:
        print(
            tr(
                "  case {id}: {old} (version {version}) -> {new}",
                id=m.case_id,
                old=m.old_code,
                version=m.old_version,
                new=m.new_code,
            )
        )
    return EXIT_OK


MAX_DAYS = 36_500  # a century: beyond it the cutoff falls before year 1


def _days(text: str) -> timedelta:
    try:
        days = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(tr("not a number of days: {text!r}", text=text)) from None
    if not 0 <= days <= MAX_DAYS:
        raise argparse.ArgumentTypeError(
            tr("days must be from 0 to {max:,}, got {text!r}", max=MAX_DAYS, text=text)
        )
    return timedelta(days=days)


def run_prune_media(args: argparse.Namespace) -> int:
    store, _, actor = open_store(args)
    found = cases.prune_media(store, older_than=args.older_than, actor=actor, commit=args.commit)
    if args.format == "json":
        emit_json(found.to_dict())
        return EXIT_OK
    fields = {
        "media": found.media,
        "bytes": found.bytes,
        "cases": found.cases,
        "cutoff": f"{found.cutoff:%Y-%m-%d %H:%M}",
    }
    if args.commit:
        print(
            tr(
                "deleted {media} photo(s), {bytes:,} bytes, of {cases} case(s) closed before "
                "{cutoff} UTC",
                **fields,
            )
        )
    else:
        print(
            tr(
                "would delete {media} photo(s), {bytes:,} bytes, of {cases} case(s) closed "
                "before {cutoff} UTC",
                **fields,
            )
            + (tr("; run again with --commit to delete") if found.media else "")
        )
    return EXIT_OK


def run_audit(args: argparse.Namespace) -> int:
    from sqlalchemy import select

    from gridgeo.store.schema import AuditEntry

    store, _, _ = open_store(args)
    with store.reading() as session:
        rows = session.scalars(
            select(AuditEntry).order_by(AuditEntry.id.desc()).limit(args.limit)
        ).all()
        entries: list[dict[str, Any]] = [
            {
                "at": r.at.isoformat(),
                "actor": r.actor,
                "action": r.action,
                "entity": r.entity,
                "entity_id": r.entity_id,
                "detail": r.detail,
            }
            for r in rows
        ]
    if args.format == "json":
        emit_json(entries)
        return EXIT_OK
    table = [
        [
            e["at"][:19].replace("T", " "),
            str(e["actor"]),
            str(e["action"]),
            f"{e['entity']} {e['entity_id']}",
            json.dumps(e["detail"], ensure_ascii=False) if e["detail"] else "",
        ]
        for e in entries
    ]
    head = [tr("time (UTC)"), tr("actor"), tr("action"), tr("object"), tr("detail")]
    print("\n".join(text_table(head, table)) if table else tr("(the audit log is empty)"))
    return EXIT_OK
