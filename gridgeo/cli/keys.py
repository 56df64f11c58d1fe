"""``gridgeo keys``: create, list and revoke the API keys of the HTTP API.

The plain key is printed once, by ``create``; the store keeps only its hash
(``gridgeo.store.api_keys``). Creating and revoking are audit-logged.
"""

from __future__ import annotations

import argparse
from typing import Any

from gridgeo.cli.commands import help_of
from gridgeo.cli.options import add_database_options, add_format, emit_json
from gridgeo.cli.store import open_store
from gridgeo.i18n import tr
from gridgeo.roles import Role
from gridgeo.store import api_keys
from gridgeo.wording import text_table

EXIT_OK = 0


def register(sub: Any) -> None:
    p = sub.add_parser(
        "keys",
        help=help_of("keys"),
        description=tr(
            "API keys for the HTTP API. Roles: viewer < reporter < handler < inspector "
            "< dispatcher < planner < admin "
            "(each may do what the ones before it may; case actions need their own role: "
            "docs/CASES.md). The key is printed once, on create; "
            "only its SHA-256 is stored."
        ),
    )
    keys = p.add_subparsers(dest="keys_command", required=True, metavar=tr("ACTION"))

    text = tr("create a key and print it (once)")
    c = keys.add_parser("create", help=text, description=text)
    c.add_argument("name", help=tr("unique name of the key (its holder); the audit log shows it"))
    c.add_argument("--role", required=True, choices=[r.value for r in Role], help=tr("its role"))
    c.add_argument("--unit", metavar="CODE", help=tr("the unit code a handler key acts for"))
    c.add_argument(
        "--grids",
        type=lambda text: tuple(g for g in text.split(",") if g.strip()),
        default=(),
        metavar="CODES",
        help=tr("grid codes an inspector key covers, comma-separated (each with its sub-grids)"),
    )
    _options(c)
    c.set_defaults(handler=run_create)

    text = tr("list the keys (names, roles, dates; never the keys)")
    ls = keys.add_parser("list", help=text, description=text)
    _options(ls)
    ls.set_defaults(handler=run_list)

    text = tr("revoke a key: requests with it are refused from now on")
    r = keys.add_parser("revoke", help=text, description=text)
    r.add_argument("name", help=tr("the name of the key"))
    _options(r)
    r.set_defaults(handler=run_revoke)


def _options(p: argparse.ArgumentParser) -> None:
    add_database_options(p)
    add_format(p)


def run_create(args: argparse.Namespace) -> int:
    store, _, actor = open_store(args)
    key = api_keys.create_key(
        store, args.name, args.role, actor=actor, unit=args.unit, grids=args.grids
    )
    if args.format == "json":
        emit_json({"name": args.name.strip(), "role": args.role, "key": key})
    else:
        print(key)
        print(
            tr(
                "API key {name!r} ({role}) created: this is the only time it is shown; "
                "send it as the X-API-Key header.",
                name=args.name.strip(),
                role=args.role,
            )
        )
    return EXIT_OK


def run_list(args: argparse.Namespace) -> int:
    store, _, _ = open_store(args)
    rows = api_keys.list_keys(store)
    if args.format == "json":
        emit_json([k.to_dict() for k in rows])
        return EXIT_OK
    if not rows:
        print(tr("no API keys"))
        return EXIT_OK
    table = [
        [
            k.name,
            k.role,
            k.unit or ",".join(k.grids) or "-",
            f"{k.created_at:%Y-%m-%d %H:%M}",
            tr("revoked {at}", at=f"{k.revoked_at:%Y-%m-%d %H:%M}")
            if k.revoked_at
            else tr("active"),
        ]
        for k in rows
    ]
    head = [tr("name"), tr("role"), tr("scope"), tr("created"), tr("state")]
    print("\n".join(text_table(head, table)))
    return EXIT_OK


def run_revoke(args: argparse.Namespace) -> int:
    store, _, actor = open_store(args)
    info = api_keys.revoke_key(store, args.name, actor=actor)
    if args.format == "json":
        emit_json(info.to_dict())
    else:
        print(tr("API key {name!r} revoked", name=info.name))
    return EXIT_OK
