"""Every ``gridgeo`` command shown in README.md and docs/*.md runs as a reader runs it.

Which commands. The fenced code blocks of each document tagged ``sh``, ``bash``,
``shell`` or ``console``, and untagged blocks whose commands carry a ``$ `` prompt. In a
block with ``$ `` prompts only the prompted lines are commands (the rest is output);
otherwise every line is. A line ending in ``\\`` continues on the next; ``&&`` and ``;``
separate commands; ``NAME=value`` before a command sets that variable for it, and
``export NAME=value`` for every later command of the document. Lines that are not
``gridgeo`` commands (``curl``, ``make``, ``. .venv/bin/activate``) are left alone. An
untagged block of ``gridgeo`` lines without prompts is refused: tag it ``text`` if it is
a synopsis, ``sh`` if it runs.

How they run. Each document's commands run in order, in process
(``gridgeo.cli.main.main``), in a temporary directory holding a copy of the shipped
``data/`` (so ``data/sample/...``, ``data/real/...`` and ``data/examples/...`` resolve as
they do in the checkout), against a store of the document's own
(``GRIDGEO_DATABASE_URL=sqlite:///<dir>/gridgeo.sqlite``) that starts as ``make run``
leaves a new machine's store, the sample pilot data loaded and published (versions 1-4:
boundaries, roster, partners, routing), and with no other ``GRIDGEO_*`` variable set.
Each must exit 0, and a command that exits 0 or 1 (done, with findings) must have
written what it names with ``-o``. ``-k`` may pick single examples: the earlier ones of
the same document run first, as the reader ran them.

Marking examples, in the document on the line(s) right before the opening fence (HTML
comments, invisible on the rendered page; a marker applies to the whole block)::

    <!-- example: needs-server -->          needs a running gridgeo serve, a PostgreSQL
    <!-- example: needs-server: REASON -->  host, a webhook receiver ...: not run
    <!-- example: needs-key -->             needs a real key (API key, Tianditu tk): not run
    <!-- example: skip: REASON -->          not runnable as written, for REASON: not run
    <!-- example: exit N -->                runs and must exit N (an error example)

One line of a block shows its own exit code with a trailing comment that starts with it:
``gridgeo validate data/real/guilin_districts.geojson  # exit 1: the real file's
problems``. Examples not run are pytest skips with the marker's reason, and must stay
under a third of all. Commands that never end (``gridgeo serve``, ``gridgeo outbox
deliver`` without ``--once``) must be marked. Files a reader would bring are shipped
small under ``data/examples/`` (data/examples/README.md) rather than marked.

Shown output. A line ending "`gridgeo ...` prints:" followed by a code block claims that
output: the command is run on a fresh store and must print exactly that.

README figures. Every throughput the README states in points/s or rows/s must appear,
figure and unit, in docs/BENCHMARKS.md: the README cannot quote a figure nobody measured,
such as the engine's points/s for what ``gridgeo assign`` gives end to end.
"""

from __future__ import annotations

import contextlib
import os
import re
import shlex
import shutil
import traceback
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from gridgeo.cli.main import main
from gridgeo.settings import Settings
from gridgeo.store.core import Store
from gridgeo.store.seed import seed_if_empty

REPO = Path(__file__).resolve().parents[1]
DOCUMENTS = [REPO / "README.md", *sorted((REPO / "docs").glob("*.md"))]
SHIPPED_DATA = ("sample", "real", "cases", "examples")  # data/ folders a reader has

SHELL_LANGUAGES = {"sh", "bash", "shell", "console", "shell-session", "zsh"}
FENCE = re.compile(r"^(?P<indent>\s*)(?P<fence>`{3,}|~{3,})\s*(?P<info>[^`\s]*)")
MARKER = re.compile(r"^\s*<!--\s*example:\s*(?P<body>.*?)\s*-->\s*$")
SKIP_KINDS = ("needs-server", "needs-key", "skip")
EXIT_MARKER = re.compile(r"^exit\s+(?P<code>\d+)$")
EXIT_COMMENT = re.compile(r"(?:^|\s)#\s*exit\s+(?P<code>\d+)\b")
PROMPT = re.compile(r"^\$ ")
ENV_ASSIGNMENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*=")
EXPORT = re.compile(r"^export\s")
SEPARATORS = {"&&", ";"}
GRIDGEO_WORD = re.compile(r"(?:^|[\s;&|])gridgeo(?:\s|$)")
MAX_SKIPPED_SHARE = 1 / 3

# Examples in documents this test may not edit (their owners are changing them) that need a
# marker they do not have yet: (document, command line) -> the marker. Remove an entry once
# the document carries the marker (test_unmarked_skips_are_still_needed says when).
UNMARKED_SKIPS: dict[tuple[str, str], str] = {}


@dataclass(frozen=True)
class Example:
    """One ``gridgeo`` command of a document, with what the document says about it."""

    document: str  # path relative to the repository
    line: int  # 1-based line of the command in the document
    source: str  # the command line as written (continuations joined, comment dropped)
    argv: tuple[str, ...]  # the arguments after ``gridgeo``
    env: tuple[tuple[str, str], ...] = ()  # NAME=value in force: exported, or given before it
    expect: int = 0
    skip: str | None = None  # the marker's reason, when not run
    shown: tuple[str, ...] = ()  # output a transcript shows after it

    @property
    def id(self) -> str:
        return f"{self.document}:{self.line}:{self.argv[0] if self.argv else ''}"

    def where(self) -> str:
        return f"{self.document}:{self.line}: `{self.source}`"


@dataclass(frozen=True)
class Block:
    """A fenced code block: where it opens, its language, its lines and its markers."""

    document: str
    line: int  # 1-based line of the opening fence
    language: str
    lines: tuple[tuple[int, str], ...]  # (1-based line, text without the fence's indent)
    markers: tuple[str, ...]


# --- extraction --------------------------------------------------------------------------


def blocks_of(path: Path, root: Path = REPO) -> list[Block]:
    """The fenced code blocks of a Markdown file, each with the markers right before it."""
    document = path.relative_to(root).as_posix()
    lines = path.read_text(encoding="utf-8").splitlines()
    blocks: list[Block] = []
    i = 0
    while i < len(lines):
        opening = FENCE.match(lines[i])
        if not opening:
            i += 1
            continue
        indent, fence = len(opening["indent"]), opening["fence"]
        markers = _markers_before(lines, i)
        body: list[tuple[int, str]] = []
        j = i + 1
        while j < len(lines) and not lines[j].strip().startswith(fence):
            text = lines[j]
            body.append((j + 1, text[indent:] if not text[:indent].strip() else text.lstrip()))
            j += 1
        language = opening["info"].lower()
        blocks.append(Block(document, i + 1, language, tuple(body), tuple(markers)))
        i = j + 1
    return blocks


def _markers_before(lines: list[str], fence: int) -> list[str]:
    """The ``<!-- example: ... -->`` bodies on the lines right before line ``fence``."""
    markers: list[str] = []
    k = fence - 1
    while k >= 0 and (m := MARKER.match(lines[k])):
        markers.insert(0, m["body"])
        k -= 1
    return markers


def is_shell(block: Block) -> bool:
    if block.language in SHELL_LANGUAGES:
        return True
    return block.language == "" and any(PROMPT.match(t) for _, t in block.lines)


def command_lines(block: Block) -> list[tuple[int, str]]:
    """The block's command lines: continuations joined, prompts removed."""
    prompted = block.language == "console" or any(PROMPT.match(t) for _, t in block.lines)
    commands: list[tuple[int, str]] = []
    pending: tuple[int, str] | None = None
    for number, text in block.lines:
        if pending is not None:
            start, joined = pending
            joined = f"{joined} {text.strip()}"
        elif prompted and not PROMPT.match(text):
            continue  # output shown after a prompted command
        else:
            start, joined = number, PROMPT.sub("", text).strip()
        if joined.endswith("\\"):
            pending = (start, joined[:-1].rstrip())
            continue
        pending = None
        if joined and not joined.startswith("#"):
            commands.append((start, joined))
    if pending is not None:
        commands.append(pending)
    return commands


def shown_after_prompts(block: Block) -> dict[int, tuple[str, ...]]:
    """In a transcript (``$ `` prompts), the output shown after each command, by its line."""
    if not any(PROMPT.match(t) for _, t in block.lines):
        return {}
    shown: dict[int, list[str]] = {}
    current: list[str] | None = None
    continued = False
    for number, text in block.lines:
        if PROMPT.match(text) or continued:
            if not continued:
                current = shown.setdefault(number, [])
            continued = text.rstrip().endswith("\\")
        elif current is not None:
            current.append(text.rstrip())
    return {number: tuple(lines) for number, lines in shown.items()}


def shows(expected: tuple[str, ...], printed: str) -> str | None:
    """None if ``printed`` holds the ``expected`` lines in order, else the first missing.

    A line ``...`` stands for lines left out; ``…`` within a line for any text.
    """
    lines = [line.rstrip() for line in printed.splitlines()]
    at = 0
    for want in expected:
        if want.strip() in ("...", "…", ""):
            continue
        pattern = re.compile(".*".join(re.escape(part) for part in want.split("…")))
        while at < len(lines) and not pattern.fullmatch(lines[at]):
            at += 1
        if at == len(lines):
            return want
        at += 1
    return None


def split_commands(line: str) -> list[list[str]]:
    """The simple commands of a shell line (``a && b; c``), each as its words."""
    lexer = shlex.shlex(line, posix=True, punctuation_chars=True)
    lexer.whitespace_split = True
    lexer.commenters = "#"
    commands: list[list[str]] = [[]]
    for token in lexer:
        if token in SEPARATORS:
            commands.append([])
        elif token and set(token) <= set(lexer.punctuation_chars):
            raise ValueError(f"{token!r} (a pipe or redirect) cannot run in process: {line}")
        else:
            commands[-1].append(token)
    return [c for c in commands if c]


def marker_state(block: Block) -> tuple[str | None, int]:
    """The skip reason (or None) and the expected exit code the block's markers give."""
    skip: str | None = None
    expect = 0
    for body in block.markers:
        if m := EXIT_MARKER.match(body):
            expect = int(m["code"])
            continue
        kind, _, reason = body.partition(":")
        kind = kind.strip()
        if kind not in SKIP_KINDS:
            raise ValueError(f"{block.document}:{block.line}: unknown example marker {body!r}")
        if kind == "skip" and not reason.strip():
            raise ValueError(f"{block.document}:{block.line}: 'skip' needs a reason")
        skip = f"{kind}: {reason.strip()}" if reason.strip() else kind
    return skip, expect


def examples_of(path: Path, root: Path = REPO) -> list[Example]:
    """Every ``gridgeo`` command of a document, in order, with its marks."""
    found: list[Example] = []
    exported: dict[str, str] = {}  # ``export NAME=value``: the reader's shell keeps it
    for block in blocks_of(path, root):
        if not is_shell(block):
            continue
        skip, block_expect = marker_state(block)
        transcript = shown_after_prompts(block)
        for number, line in command_lines(block):
            if EXPORT.match(line):
                exported.update(assignments(shlex.split(line, comments=True)[1:]))
                continue
            if not GRIDGEO_WORD.search(line):
                continue  # curl, make ...: not parsed, their quoting is their own
            comment = EXIT_COMMENT.search(line)
            expect = int(comment["code"]) if comment else block_expect
            commands = split_commands(line)
            for command in commands:
                given = assignments(command)
                words = command[len(given) :]
                if not words or words[0] != "gridgeo":
                    continue
                source = shlex.join([*(f"{n}={v}" for n, v in given.items()), *words])
                env = tuple({**exported, **given}.items())
                reason = skip or UNMARKED_SKIPS.get((block.document, source))
                shown = transcript.get(number, ()) if command is commands[-1] else ()
                found.append(
                    Example(
                        block.document,
                        number,
                        source,
                        tuple(words[1:]),
                        env,
                        expect,
                        reason,
                        shown,
                    )
                )
    return found


def assignments(words: list[str]) -> dict[str, str]:
    """The leading ``NAME=value`` words."""
    found: dict[str, str] = {}
    for word in words:
        if not ENV_ASSIGNMENT.match(word):
            break
        name, _, value = word.partition("=")
        found[name] = value
    return found


EXAMPLES: dict[str, list[Example]] = {
    doc.relative_to(REPO).as_posix(): examples_of(doc) for doc in DOCUMENTS
}
ALL_EXAMPLES = [ex for examples in EXAMPLES.values() for ex in examples]


# --- running -----------------------------------------------------------------------------


@dataclass
class Workspace:
    """A reader's directory for one document: a copy of data/ and a store of its own."""

    root: Path
    env: dict[str, str]
    outcomes: dict[int, Outcome] = field(default_factory=dict)  # by position in the page


class Workspaces(dict[str, Workspace]):
    """One workspace per document, made when its first example runs."""

    def __init__(self, factory: pytest.TempPathFactory, store: Path) -> None:
        super().__init__()
        self.factory, self.store = factory, store

    def __missing__(self, document: str) -> Workspace:
        root = self.factory.mktemp(re.sub(r"[^A-Za-z0-9]+", "-", document))
        for name in SHIPPED_DATA:
            if (REPO / "data" / name).is_dir():
                shutil.copytree(
                    REPO / "data" / name,
                    root / "data" / name,
                    ignore=shutil.ignore_patterns("__pycache__", "*.py"),
                )
        shutil.copyfile(self.store, root / "gridgeo.sqlite")
        env = {"GRIDGEO_DATABASE_URL": f"sqlite:///{root / 'gridgeo.sqlite'}"}
        self[document] = Workspace(root, env)
        return self[document]


@pytest.fixture(scope="module")
def first_start_store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A store as ``make run`` leaves it: the sample pilot data loaded and published."""
    path = tmp_path_factory.mktemp("first-start") / "gridgeo.sqlite"
    url = f"sqlite:///{path}"
    shell = reader_shell(Workspace(path.parent, {"GRIDGEO_DATABASE_URL": url}), ())
    with shell, Store(url) as store:
        assert seed_if_empty(store, Settings())
    return path


@pytest.fixture(scope="module")
def workspaces(tmp_path_factory: pytest.TempPathFactory, first_start_store: Path) -> Workspaces:
    return Workspaces(tmp_path_factory, first_start_store)


@contextlib.contextmanager
def reader_shell(workspace: Workspace, extra: tuple[tuple[str, str], ...]) -> Iterator[None]:
    """cwd and environment as the reader's shell has them, restored afterwards."""
    saved_env, saved_cwd = os.environ.copy(), os.getcwd()
    try:
        for name in [n for n in os.environ if n.startswith("GRIDGEO_")]:
            del os.environ[name]
        os.environ.update(workspace.env)
        os.environ.update(dict(extra))
        os.chdir(workspace.root)
        yield
    finally:
        os.chdir(saved_cwd)
        os.environ.clear()
        os.environ.update(saved_env)


def never_ends(example: Example) -> bool:
    argv = example.argv
    return argv[:1] == ("serve",) or (argv[:2] == ("outbox", "deliver") and "--once" not in argv)


def run(example: Example, workspace: Workspace, capfd: pytest.CaptureFixture[str]) -> Outcome:
    """Run one example in process; its exit code and what it printed."""
    capfd.readouterr()
    crash = ""
    with reader_shell(workspace, example.env):
        try:
            code = main(list(example.argv))
        except SystemExit as exc:  # argparse: a bad option (2), --help (0)
            code = 0 if exc.code is None else exc.code if isinstance(exc.code, int) else 1
        except Exception:  # a crash is a finding, reported with the example
            code, crash = -1, traceback.format_exc()
    out, err = capfd.readouterr()
    return Outcome(code, out, err + crash)


@dataclass(frozen=True)
class Outcome:
    code: int
    out: str
    err: str

    def tail(self) -> str:
        def last(text: str) -> str:
            lines = text.rstrip().splitlines()
            return "\n".join(lines[-15:]) if lines else "(nothing)"

        return f"--- stdout (end)\n{last(self.out)}\n--- stderr (end)\n{last(self.err)}"


def output_paths(example: Example) -> list[str]:
    """What the example writes with ``-o``/``--output``."""
    argv = example.argv
    named = [argv[i + 1] for i, a in enumerate(argv[:-1]) if a in ("-o", "--output")]
    return [path for path in named if path != "-"]  # "-": standard output


@pytest.mark.parametrize("example", ALL_EXAMPLES, ids=lambda ex: ex.id)
def test_example_runs(
    example: Example, workspaces: Workspaces, capfd: pytest.CaptureFixture[str]
) -> None:
    if example.skip:
        pytest.skip(f"{example.where()}: {example.skip}")
    assert not never_ends(example), (
        f"{example.where()} runs until stopped: mark its block <!-- example: needs-server -->"
    )
    workspace = workspaces[example.document]
    examples = EXAMPLES[example.document]
    position = examples.index(example)
    # a selection (-k) may leave out earlier examples of the page: the reader ran them
    for before, earlier in enumerate(examples[: position + 1]):
        if before not in workspace.outcomes and not earlier.skip and not never_ends(earlier):
            workspace.outcomes[before] = run(earlier, workspace, capfd)
    outcome = workspace.outcomes[position]
    assert outcome.code == example.expect, (
        f"{example.where()} exited {outcome.code}, the document expects {example.expect}\n"
        f"{outcome.tail()}"
    )
    missing = shows(example.shown, outcome.out + outcome.err)
    assert missing is None, (
        f"{example.where()} does not print what the document shows: {missing!r}\n"
        f"--- stdout\n{outcome.out}\n--- stderr\n{outcome.err}"
    )
    if outcome.code in (0, 1):  # done, with or without findings: the file is written
        for written in output_paths(example):
            assert (workspace.root / written).exists(), (
                f"{example.where()} exited {outcome.code} but did not write {written}\n"
                f"{outcome.tail()}"
            )


# --- output the documents show ----------------------------------------------------------

PRINTS = re.compile(r"`(?P<command>gridgeo [^`]+)` prints:\s*$")


@dataclass(frozen=True)
class Shown:
    """'`gridgeo ...` prints:' and the text block after it."""

    document: str
    line: int
    command: str
    text: str


def shown_outputs(path: Path) -> list[Shown]:
    document = path.relative_to(REPO).as_posix()
    lines = path.read_text(encoding="utf-8").splitlines()
    blocks = blocks_of(path)
    found = []
    for number, line in enumerate(lines, start=1):
        if m := PRINTS.search(line):
            after = next(b for b in blocks if b.line > number)
            assert after.line - number <= 2, f"{document}:{number}: no block right after"
            text = "\n".join(t for _, t in after.lines)
            found.append(Shown(document, number, m["command"], text))
    return found


SHOWN = [shown for doc in DOCUMENTS for shown in shown_outputs(doc)]


@pytest.mark.parametrize("shown", SHOWN, ids=lambda s: f"{s.document}:{s.line}")
def test_shown_output_is_what_the_command_prints(
    shown: Shown, workspaces: Workspaces, capfd: pytest.CaptureFixture[str]
) -> None:
    workspace = workspaces[f"{shown.document}#{shown.line}"]  # a fresh one
    words = shlex.split(shown.command)
    example = Example(shown.document, shown.line, shown.command, tuple(words[1:]))
    outcome = run(example, workspace, capfd)
    printed = [line.rstrip() for line in outcome.out.rstrip("\n").splitlines()]
    assert printed == [line.rstrip() for line in shown.text.splitlines()], (
        f"{shown.document}:{shown.line}: `{shown.command}` prints\n{outcome.out}\n"
        f"(exit {outcome.code}), not what the document shows\n{outcome.tail()}"
    )


def test_shown_outputs_are_found() -> None:
    assert any(s.document == "README.md" for s in SHOWN)


def test_the_report_example_replays_the_report_tests_history() -> None:
    """docs/REPORTS.md says its example is tests/test_reports.py's history."""
    from test_reports import HISTORY

    assert (REPO / "data" / "examples" / "november.csv").read_text(encoding="utf-8") == HISTORY


# --- the examples as a whole -------------------------------------------------------------


def test_examples_are_found_and_mostly_run() -> None:
    assert len(EXAMPLES["README.md"]) >= 40, "README.md's command examples were not found"
    skipped = [ex for ex in ALL_EXAMPLES if ex.skip]
    assert len(skipped) < MAX_SKIPPED_SHARE * len(ALL_EXAMPLES), (
        f"{len(skipped)} of {len(ALL_EXAMPLES)} examples are marked not to run:\n"
        + "\n".join(f"{ex.where()}: {ex.skip}" for ex in skipped)
    )


def test_untagged_blocks_with_commands_have_prompts() -> None:
    """An untagged block of ``gridgeo`` lines is either a transcript (``$ ``) or tagged."""
    unclear = [
        f"{block.document}:{block.line}"
        for doc in DOCUMENTS
        for block in blocks_of(doc)
        if block.language == ""
        and not is_shell(block)
        and any(t.lstrip().startswith("gridgeo ") for _, t in block.lines)
    ]
    assert not unclear, f"tag these blocks `text` (a synopsis) or `sh` (runnable): {unclear}"


def test_markers_are_known_and_precede_shell_blocks() -> None:
    for doc in DOCUMENTS:
        for block in blocks_of(doc):
            marker_state(block)  # raises on an unknown marker
            if block.markers:
                assert is_shell(block), (
                    f"{block.document}:{block.line}: an example marker on a block "
                    f"that is not a shell block ({block.language or 'untagged'})"
                )


def test_unmarked_skips_are_still_needed() -> None:
    for (document, source), reason in UNMARKED_SKIPS.items():
        matching = [ex for ex in EXAMPLES[document] if ex.source == source]
        assert matching, f"{document}: no example `{source}` any more: drop its entry"
        assert all(ex.skip == reason for ex in matching), (
            f"{document}: `{source}` is marked in the document now: drop its entry"
        )


# --- extraction itself -------------------------------------------------------------------


def test_extraction_of_prompts_continuations_chains_and_markers(tmp_path: Path) -> None:
    page = tmp_path / "page.md"
    page.write_text(
        "\n".join(
            [
                "```sh",
                "gridgeo staffing --format json   # a comment",
                "gridgeo cases act 1 立案 && gridgeo cases act 1 dispatch",
                "GRIDGEO_LANG=en gridgeo maps \\",
                "  -o out/",
                "gridgeo validate bad.geojson  # exit 1: problems found",
                "curl http://127.0.0.1:8000/health",
                "```",
                "<!-- example: exit 2 -->",
                "```",
                "$ gridgeo report --period day -o x.pdf",
                "gridgeo report: error: ...",
                "```",
                "<!-- example: needs-server -->",
                "```bash",
                "gridgeo serve",
                "```",
                "```text",
                "gridgeo import FILE [--note ...]",
                "```",
            ]
        ),
        encoding="utf-8",
    )
    blocks = blocks_of(page, tmp_path)
    assert [b.language for b in blocks] == ["sh", "", "bash", "text"]
    assert blocks[1].markers == ("exit 2",) and blocks[2].markers == ("needs-server",)
    lines = command_lines(blocks[0])
    assert [n for n, _ in lines] == [2, 3, 4, 6, 7]
    assert lines[2][1] == "GRIDGEO_LANG=en gridgeo maps -o out/"
    assert split_commands(lines[1][1]) == [
        ["gridgeo", "cases", "act", "1", "立案"],
        ["gridgeo", "cases", "act", "1", "dispatch"],
    ]
    assert command_lines(blocks[1]) == [(11, "gridgeo report --period day -o x.pdf")]
    assert marker_state(blocks[1]) == (None, 2)
    assert marker_state(blocks[2]) == ("needs-server", 0)
    assert not is_shell(blocks[3])
    with pytest.raises(ValueError, match="pipe or redirect"):
        split_commands("gridgeo staffing | head")
    assert shown_after_prompts(blocks[1]) == {11: ("gridgeo report: error: ...",)}
    assert shown_after_prompts(blocks[0]) == {}


def test_shown_output_matches_in_order_with_gaps() -> None:
    printed = "a.csv: 3 rows\nline 2: bad\nline 5: bad\nnow 2026-12-07 05:42 (Beijing)\n"
    assert shows(("a.csv: 3 rows", "...", "line 5: bad"), printed) is None
    assert shows(("now … (Beijing)",), printed) is None
    assert shows(("line 5: bad", "line 2: bad"), printed) == "line 2: bad"  # order counts
    assert shows(("a.csv: 4 rows",), printed) == "a.csv: 4 rows"
    assert shows(("line 2",), printed) == "line 2"  # whole lines, not parts


def test_examples_of_a_page(tmp_path: Path) -> None:
    page = tmp_path / "page.md"
    page.write_text(
        "```sh\n"
        "GRIDGEO_LANG=en gridgeo maps -o out/\n"
        "gridgeo validate bad.geojson  # exit 1: problems found\n"
        "make run\n"
        "export GRIDGEO_ACTOR=planner-li GRIDGEO_LANG=zh\n"
        "```\n"
        "<!-- example: skip: a file the reader brings -->\n"
        "```sh\n"
        "gridgeo validate mine.gpkg\n"
        "```\n",
        encoding="utf-8",
    )
    found = examples_of(page, tmp_path)
    assert [(ex.line, ex.argv[0], ex.expect, ex.skip) for ex in found] == [
        (2, "maps", 0, None),
        (3, "validate", 1, None),
        (9, "validate", 0, "skip: a file the reader brings"),
    ]
    assert found[0].env == (("GRIDGEO_LANG", "en"),)
    assert found[0].source == "GRIDGEO_LANG=en gridgeo maps -o out/"
    assert dict(found[2].env) == {"GRIDGEO_ACTOR": "planner-li", "GRIDGEO_LANG": "zh"}
    assert output_paths(found[0]) == ["out/"]


# --- README figures ----------------------------------------------------------------------

THROUGHPUT = re.compile(
    r"(?P<figure>~?\s*[\d.,]+(?:\s*[-–]\s*[\d.,]+)?\s*[kM]?)\s*(?P<unit>points|rows)/s"
)


def figures(text: str) -> list[str]:
    """Throughputs stated in a text, normalised: '13.22 M points/s'."""
    found = []
    for m in THROUGHPUT.finditer(text):
        figure = re.sub(r"\s+", " ", m["figure"]).strip()
        figure = re.sub(r"(\d)([kM])$", r"\1 \2", figure)
        found.append(f"{figure} {m['unit']}/s")
    return found


def test_readme_throughputs_are_measured_ones() -> None:
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    benchmarks = re.sub(r"\s+", " ", (REPO / "docs" / "BENCHMARKS.md").read_text("utf-8"))
    stated = figures(readme)
    assert stated, "README.md states no throughput: this test would check nothing"
    unmeasured = [f for f in stated if f not in benchmarks]
    assert not unmeasured, f"README.md figures not in docs/BENCHMARKS.md: {unmeasured}"


def test_throughput_figures_are_read_as_written() -> None:
    assert figures(
        "exact, ~10 M points/s on 2 cores; 0.12 M rows/s end to end; 13.22M points/s"
    ) == [
        "~10 M points/s",
        "0.12 M rows/s",
        "13.22 M points/s",
    ]
