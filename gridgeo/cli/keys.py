"""``gridgeo keys``: create, list and revoke the API keys of the HTTP API.

The plain key is printed once, by ``create``; the store keeps only its hash
(``gridgeo.api.security``). Creating and revoking are audit-logged.
"""

from __future__ import annotations

import argparse
from typing import Any

from gridgeo.api import security
from gridgeo.cli.commands import help_of
from gridgeo.cli.options import add_format, emit_json
from gridgeo.cli.store import open_store
from gridgeo.roles import Role

EXIT_OK = 0


def register(sub: Any) -> None:
    p = sub.add_parser(
        "keys",
        help=help_of("keys"),
        description="API keys for the HTTP API. Roles: viewer < reporter < handler < inspector "
        "< dispatcher < planner < admin "
        "(each may do what the ones before it may; case actions need their own role: "
        "docs/CASES.md). The key is printed once, on create; "
        "only its SHA-256 is stored.",
    )
    keys = p.add_subparsers(dest="keys_command", required=True, metavar="ACTION")

    c = keys.add_parser("create", help="create a key and print it (once)")
    c.add_argument("name", help="unique name of the key (its holder); the audit log shows it")
    c.add_argument("--role", required=True, choices=[r.value for r in Role], help="its role")
    c.add_argument("--unit", help="the unit code a handler key acts for (处置单位)")
    c.add_argument(
        "--grids",
        type=lambda text: tuple(g for g in text.split(",") if g.strip()),
        default=(),
        help="grid codes an inspector key covers, comma-separated (each with its sub-grids)",
    )
    _options(c)
    c.set_defaults(handler=run_create)

    ls = keys.add_parser("list", help="list the keys (names, roles, dates; never the keys)")
    _options(ls)
    ls.set_defaults(handler=run_list)

    r = keys.add_parser("revoke", help="revoke a key: requests with it are refused from now on")
    r.add_argument("name")
    _options(r)
    r.set_defaults(handler=run_revoke)


def _options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--database-url", help="store URL (default GRIDGEO_DATABASE_URL)")
    p.add_argument("--actor", help="who is acting, for the audit log (default GRIDGEO_ACTOR)")
    add_format(p)


def run_create(args: argparse.Namespace) -> int:
    store, _, actor = open_store(args)
    key = security.create_key(
        store, args.name, args.role, actor=actor, unit=args.unit, grids=args.grids
    )
    if args.format == "json":
        emit_json({"name": args.name.strip(), "role": args.role, "key": key})
    else:
        print(key)
        print(
            f"API key {args.name.strip()!r} ({args.role}) created: this is the only time it "
            "is shown; send it as the X-API-Key header."
        )
    return EXIT_OK


def run_list(args: argparse.Namespace) -> int:
    store, _, _ = open_store(args)
    rows = security.list_keys(store)
    if args.format == "json":
        emit_json([k.to_dict() for k in rows])
        return EXIT_OK
    if not rows:
        print("no API keys")
    for k in rows:
        state = f"revoked {k.revoked_at:%Y-%m-%d %H:%M}" if k.revoked_at else "active"
        scope = k.unit or ",".join(k.grids) or "-"
        print(f"{k.name}\t{k.role}\t{scope}\tcreated {k.created_at:%Y-%m-%d %H:%M}\t{state}")
    return EXIT_OK


def run_revoke(args: argparse.Namespace) -> int:
    store, _, actor = open_store(args)
    info = security.revoke_key(store, args.name, actor=actor)
    if args.format == "json":
        emit_json(info.to_dict())
    else:
        print(f"API key {info.name!r} revoked")
    return EXIT_OK
