"""The ``gridgeo`` command: argument parsing and the error-to-exit-code table.

Exit codes: 0 success / clean, 1 problems found (validation errors, staffing
rule findings, point outside every grid), 2 unreadable input or bad arguments.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from collections.abc import Sequence

from gridgeo import __version__
from gridgeo.caseflow import IllegalActionError
from gridgeo.cli.commands import COMMANDS
from gridgeo.errors import (
    CodeError,
    ConflictError,
    CoordinateError,
    CRSError,
    GridgeoError,
    InputFileError,
    StoreError,
)

EXIT_OK, EXIT_PROBLEMS, EXIT_INPUT = 0, 1, 2

# One table: which domain error means which exit code.
ERROR_EXIT_CODES: dict[type[GridgeoError], int] = {
    InputFileError: EXIT_INPUT,
    CRSError: EXIT_INPUT,
    CoordinateError: EXIT_INPUT,
    CodeError: EXIT_INPUT,
    IllegalActionError: EXIT_INPUT,  # an action the case's state refuses: bad input, not findings
    ConflictError: EXIT_PROBLEMS,  # e.g. publishing a version with validation errors
    StoreError: EXIT_INPUT,
    GridgeoError: EXIT_INPUT,
}


def build_parser(argv: Sequence[str] | None = None) -> argparse.ArgumentParser:
    """The parser for ``argv``: with a known command, only that command's module is
    imported and registered (each module imports what its commands need); otherwise
    (``--help``, no command, an unknown one) every command is listed from the table
    in :mod:`gridgeo.cli.commands`, importing none."""
    parser = argparse.ArgumentParser(
        prog="gridgeo",
        description="Spatial core of urban grid management (城市网格化管理): validate, repair "
        "and number boundary files of the five grid levels (市/区/街道/社区/五级网格), and "
        "find the grid chain of a point.",
    )
    parser.add_argument("--version", action="version", version=f"gridgeo {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    command = _command_of(sys.argv[1:] if argv is None else argv)
    if command in COMMANDS:
        module = importlib.import_module(f"gridgeo.cli.{COMMANDS[command].module}")
        module.register(sub)
    else:
        for name, entry in COMMANDS.items():
            sub.add_parser(name, help=entry.help, description=entry.help)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI; returns the exit code (also used by the console script)."""
    parser = build_parser(argv)
    args = parser.parse_args(argv)
    try:
        code: int = args.handler(args)
    except GridgeoError as exc:
        print(f"gridgeo {args.command}: error: {exc}", file=sys.stderr)
        return _exit_code(exc)
    except KeyboardInterrupt:
        print(f"gridgeo {args.command}: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        # the reader went away (``gridgeo ... | head``): stop quietly, as Unix tools do
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 141
    return code


def _command_of(argv: Sequence[str]) -> str | None:
    """The command named in ``argv``: its first word that is not an option (the
    top-level options, ``--help`` and ``--version``, take no value)."""
    return next((a for a in argv if not a.startswith("-")), None)


def _exit_code(exc: GridgeoError) -> int:
    for cls in type(exc).__mro__:
        if cls in ERROR_EXIT_CODES:
            return ERROR_EXIT_CODES[cls]
    return EXIT_INPUT


if __name__ == "__main__":
    sys.exit(main())
