"""The ``gridgeo`` command: argument parsing and the error-to-exit-code table.

Exit codes: 0 success / clean, 1 problems found (validation errors, staffing
rule findings, point outside every grid), 2 unreadable input or bad arguments.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import os
import signal
import sys
import threading
from collections.abc import Iterator, Sequence

from gridgeo import __version__
from gridgeo.caseflow import IllegalActionError
from gridgeo.cli import collector
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
from gridgeo.i18n import LANGS, Lang, parse_lang, tr, use_argparse_lang, use_lang

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
        description=tr(
            "Spatial service of urban grid management: validate, repair, version and "
            "publish the boundaries of the five grid levels, assign points to grids, "
            "dispatch and work cases, assess and report."
        ),
    )
    parser.add_argument(
        "--version",
        action="version",
        version=f"gridgeo {__version__}",
        help=tr("show the version and exit"),
    )
    _document_lang(parser)
    sub = parser.add_subparsers(dest="command", required=True, metavar=tr("COMMAND"))
    command = _command_of(sys.argv[1:] if argv is None else argv)
    if command in COMMANDS:
        module = importlib.import_module(f"gridgeo.cli.{COMMANDS[command].module}")
        module.register(sub)
        for command_parser in sub.choices.values():
            _document_lang(command_parser)
    else:
        for name, entry in COMMANDS.items():
            sub.add_parser(name, help=entry.help, description=entry.help)
    return parser


def _document_lang(parser: argparse.ArgumentParser) -> None:
    """List ``--lang`` in the help of ``parser`` (:func:`split_lang` reads it)."""
    parser.add_argument(
        "--lang",
        choices=LANGS,
        help=tr("language of text and errors: zh (default) or en; also GRIDGEO_LANG"),
    )


# gridgeo does no linear algebra, and its compiled kernels run once per chunk beside
# threads of its own: pools that spin while idle only take the two cores from those
# (OpenBLAS's threads spin when numpy and scipy load, OpenMP's after every kernel call;
# 0.3-1.2 s of the 10 s of CPU of a run of ten million rows). A value set is kept.
QUIET_THREAD_POOLS = {"OPENBLAS_NUM_THREADS": "1", "OMP_WAIT_POLICY": "PASSIVE"}


def quiet_thread_pools() -> None:
    """Set :data:`QUIET_THREAD_POOLS` where the environment does not: before numpy or
    numba loads, which read them once (the commands and the service's workers)."""
    for name, value in QUIET_THREAD_POOLS.items():
        os.environ.setdefault(name, value)


def console() -> int:
    """The ``gridgeo`` console script: :func:`main`, the modules the command loads kept
    out of the cyclic garbage collector's reach (:mod:`gridgeo.cli.collector`)."""
    with collector.console():
        try:
            return main()
        except KeyboardInterrupt:  # while the modules load, or as the command ends
            print(tr("gridgeo: interrupted"), file=sys.stderr)
            return 130


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI; returns the exit code."""
    quiet_thread_pools()
    try:
        lang, words = split_lang(
            sys.argv[1:] if argv is None else argv, os.environ.get("GRIDGEO_LANG")
        )
    except ValueError as exc:
        print(f"gridgeo: {exc}", file=sys.stderr)
        return EXIT_INPUT
    use_argparse_lang(lang)
    try:
        with use_lang(lang), _ended_cleanly_on_sigterm():
            return _run(words)
    except _Terminated:  # every with block has unwound: now end as SIGTERM ends a process
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        os.kill(os.getpid(), signal.SIGTERM)
        raise  # not reached: the default action ends the process


class _Terminated(SystemExit):
    """SIGTERM arrived: raised where the main thread stood, so that every ``with`` block
    unwinds, then the process ends by the signal itself (:func:`main`)."""


@contextlib.contextmanager
def _ended_cleanly_on_sigterm() -> Iterator[None]:
    """SIGTERM (``kill``, ``timeout``, a scheduler's stop) ends the command as Ctrl-C
    does, through every ``with`` block, so an output half written is removed (the
    default action ended the process where it stood, and left it in a hidden folder);
    the process still ends by the signal, as a service manager expects of a stop. The
    handler before is put back after (a caller's, the tests')."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    before = signal.signal(signal.SIGTERM, _terminated)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, before)


def _terminated(signum: int, frame: object) -> None:
    raise _Terminated(128 + signum)


def _run(argv: list[str]) -> int:
    parser = build_parser(argv)  # imports the command's modules
    args = parser.parse_args(argv)
    collector.loaded()
    try:
        code: int = args.handler(args)
    except GridgeoError as exc:
        print(
            tr("gridgeo {command}: error: {error}", command=args.command, error=exc),
            file=sys.stderr,
        )
        return _exit_code(exc)
    except KeyboardInterrupt:
        print(tr("gridgeo {command}: interrupted", command=args.command), file=sys.stderr)
        return 130
    except BrokenPipeError:
        # the reader went away (``gridgeo ... | head``): stop quietly, as Unix tools do
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 141
    return code


def _command_of(argv: Sequence[str]) -> str | None:
    """The command named in ``argv``: its first word that is not an option (the
    top-level options, ``--help`` and ``--version``, take no value; ``--lang`` is
    taken out before)."""
    return next((a for a in argv if not a.startswith("-")), None)


def split_lang(argv: Sequence[str], env: str | None) -> tuple[Lang, list[str]]:
    """The language of this run and ``argv`` without its ``--lang`` options.

    The language is the last ``--lang`` in ``argv``, wherever it stands (before or
    after a command or a subcommand), else ``GRIDGEO_LANG``, else Chinese. It is
    needed before the parser is built, since the help is written in it; the
    parsers then never see the option.

    >>> split_lang(["validate", "--lang", "en", "a.gpkg"], None)
    ('en', ['validate', 'a.gpkg'])
    >>> split_lang(["--lang=zh", "versions"], "en_US.UTF-8")
    ('zh', ['versions'])
    """
    chosen, rest = env or "zh", []
    words = iter(argv)
    for word in words:
        if word == "--lang":
            chosen = next(words, "")
        elif word.startswith("--lang="):
            chosen = word.partition("=")[2]
        else:
            rest.append(word)
    return parse_lang(chosen), rest


def _exit_code(exc: GridgeoError) -> int:
    for cls in type(exc).__mro__:
        if cls in ERROR_EXIT_CODES:
            return ERROR_EXIT_CODES[cls]
    return EXIT_INPUT


if __name__ == "__main__":
    sys.exit(console())
