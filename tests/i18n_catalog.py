"""The message templates of the source and the Chinese catalog, read for tests/test_i18n.py.

Run it to list what a part of the catalog still lacks, as ``.po`` entries to fill in::

    .venv/bin/python tests/i18n_catalog.py gridgeo/cli > /tmp/missing.po
"""

from __future__ import annotations

import ast
import string
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.pofile import read_po

PACKAGE = Path(__file__).resolve().parents[1] / "gridgeo"
ZH = PACKAGE / "locale" / "zh" / "LC_MESSAGES"
ARGPARSE_PO = ZH / "argparse.po"


@dataclass(frozen=True)
class Use:
    """One ``tr(...)`` call: where it is and its template (None if not a literal)."""

    path: Path
    line: int
    template: str | None
    keywords: frozenset[str] | None = None  # None: the call passes **fields we cannot see


def uses(root: Path = PACKAGE) -> Iterator[Use]:
    """Every call of ``tr`` under ``root``, with its literal template."""
    for path in sorted(root.rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
        for node in ast.walk(tree):
            if isinstance(node, ast.Call) and _is_tr(node.func):
                first = node.args[0] if node.args else None
                literal = (
                    first.value
                    if isinstance(first, ast.Constant) and isinstance(first.value, str)
                    else None
                )
                names = [k.arg for k in node.keywords]
                keywords = None if None in names else frozenset(n for n in names if n)
                yield Use(path, node.lineno, literal, keywords)


def _is_tr(func: ast.expr) -> bool:
    return (isinstance(func, ast.Name) and func.id == "tr") or (
        isinstance(func, ast.Attribute) and func.attr == "tr"
    )


def parts() -> dict[Path, Catalog]:
    """The parts of the gridgeo catalog (every ``.po`` but argparse's)."""
    found = {}
    for po in sorted(ZH.glob("*.po")):
        if po != ARGPARSE_PO:
            with po.open("rb") as fh:
                found[po] = read_po(fh)
    return found


def fields(template: str) -> set[str]:
    """The names of the ``str.format`` fields of ``template``."""
    return {name for _, name, _, _ in string.Formatter().parse(template) if name is not None}


def missing(root: Path) -> list[str]:
    """Templates used under ``root`` that no part translates, in order of use."""
    known = {m.id for cat in parts().values() for m in cat if m.id and m.string}
    seen: list[str] = []
    for use in uses(root):
        if use.template is not None and use.template not in known and use.template not in seen:
            seen.append(use.template)
    return seen


def _po_string(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
    return f'"{escaped}"'


if __name__ == "__main__":
    for template in missing(Path(sys.argv[1]).resolve()):
        print(f'msgid {_po_string(template)}\nmsgstr ""\n')
