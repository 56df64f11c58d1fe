"""docs/ARCHITECTURE.md's module map says where every module lives and which way imports
go: it must name every module of the package once, nothing that does not exist, and
agree with the import contracts ``make lint`` enforces (pyproject.toml)."""

from __future__ import annotations

import pkgutil
import re
import tomllib
from pathlib import Path

import gridgeo

REPO = Path(__file__).resolve().parents[1]
DOC = REPO / "docs" / "ARCHITECTURE.md"
HEADING = re.compile(r"^── (.+?) ─")
ROW = re.compile(r"^(gridgeo(?:\.\w+)*): (.*)$")

# the package's own modules that are not code a reader looks for in the map
NOT_MAPPED = {"gridgeo.sample.__main__"}


def module_map() -> list[tuple[str, list[str]]]:
    """The map's layers in order, each with the full names of the modules it lists."""
    text = DOC.read_text(encoding="utf-8")
    block = text.split("## Module map", 1)[1].split("```text\n", 1)[1].split("```", 1)[0]
    layers: list[tuple[str, list[str]]] = []
    package = ""
    for line in block.splitlines():
        if heading := HEADING.match(line):
            layers.append((heading.group(1), []))
        elif row := ROW.match(line):
            package = row.group(1)
            layers[-1][1].extend(f"{package}.{name}" for name in row.group(2).split())
        elif line.startswith("    ") and package:  # a row's continuation
            layers[-1][1].extend(f"{package}.{name}" for name in line.split())
    return layers


def package_modules() -> set[str]:
    found = set()
    for info in pkgutil.walk_packages(gridgeo.__path__, "gridgeo."):
        if info.ispkg or ".migrations" in info.name or info.name in NOT_MAPPED:
            continue
        found.add(info.name)
    return found


def contracts() -> list[dict[str, object]]:
    config = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))
    found: list[dict[str, object]] = config["tool"]["importlinter"]["contracts"]
    return found


def test_the_map_names_every_module_once_and_nothing_else() -> None:
    listed = [name for _, names in module_map() for name in names]
    assert len(listed) == len(set(listed)), "a module is listed twice"
    assert sorted(set(listed) - package_modules()) == []  # named, but no such module
    assert sorted(package_modules() - set(listed)) == []  # a module the map forgets


def test_the_layers_are_the_contracts_layers_in_order() -> None:
    (layered,) = [c for c in contracts() if c["type"] == "layers"]
    layers: list[str] = layered["layers"]
    expected = [{part.strip() for part in layer.split("|")} for layer in layers]
    # a layer's packages: gridgeo.api.ogc and gridgeo.api.routers sit with gridgeo.api
    top = [{".".join(n.split(".")[:2]) for n in names} for _, names in module_map()]
    assert top[: len(expected)] == expected


def test_the_core_row_is_the_core_contract() -> None:
    core_contract = next(
        c for c in contracts() if "no web framework, no database" in str(c["name"])
    )
    sources = {str(m) for m in core_contract["source_modules"]}
    heading, names = module_map()[-1]
    assert heading.startswith("the core")
    mapped = {n for n in names if n.count(".") == 1} | {
        n.rsplit(".", 1)[0] for n in names if n.count(".") == 2
    }
    assert mapped == sources
