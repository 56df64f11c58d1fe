"""Code rules: missing, malformed, level mismatch, duplicate, parent mismatch, missing parent.

=====================  ========  ====================================================
rule                   severity  trips when
=====================  ========  ====================================================
``missing_code``       error     the feature has no code
``unknown_level``      error     neither the level column nor the code gives a level
``malformed_code``     error     the code is not digits of its level's length
``level_mismatch``     error     the code's length says another level than the column
``duplicate_code``     error     two or more features share a code
``parent_mismatch``    error     the ``parent_code`` column disagrees with the code's
                                 prefix (the code does not extend its parent's code)
``missing_parent``     error     the parent's level is in the data but the parent is not
=====================  ========  ====================================================
"""

from __future__ import annotations

from collections.abc import Iterator

from gridgeo.codes import find_duplicates
from gridgeo.errors import CodeError
from gridgeo.findings import Severity
from gridgeo.i18n import tr
from gridgeo.levels import Level
from gridgeo.model import UNKNOWN_LEVEL
from gridgeo.validation.context import Context
from gridgeo.validation.report import BoundaryFinding
from gridgeo.wording import level_name, listing


def check_codes(ctx: Context) -> Iterator[BoundaryFinding]:
    """Yield the code findings of every feature."""
    grids = ctx.grids
    present = {int(lv) for lv in grids.levels_present()}
    for i, code in enumerate(grids.codes):
        level = ctx.level_of(i)
        if code is None:
            yield BoundaryFinding(
                "missing_code",
                Severity.ERROR,
                level,
                (grids.refs[i],),
                tr("{grid} has no code", grid=grids.label(i)),
            )
            continue
        if level is None:
            yield BoundaryFinding(
                "unknown_level",
                Severity.ERROR,
                None,
                (code,),
                tr(
                    "{grid}: level unknown (no readable level column and the code gives none)",
                    grid=grids.label(i),
                ),
            )
            continue
        finding = _format_finding(ctx, i, code, level)
        if finding is not None:
            yield finding
            continue
        yield from _parent_findings(ctx, i, code, level, present)
    for code, positions in find_duplicates([c for c in grids.codes if c is not None]).items():
        refs = listing(grids.refs[p] for p in _positions_of(grids.codes, code))
        yield BoundaryFinding(
            "duplicate_code",
            Severity.ERROR,
            _level_or_none(ctx, code),
            (code,),
            tr(
                "code {code} is used by {n} features ({refs})",
                code=code,
                n=len(positions),
                refs=refs,
            ),
        )


def _format_finding(ctx: Context, i: int, code: str, level: Level) -> BoundaryFinding | None:
    scheme = ctx.grids.scheme
    try:
        inferred = scheme.infer_level(code)
    except CodeError as exc:
        return _malformed(ctx, i, code, level, exc)
    if inferred is not level:
        return BoundaryFinding(
            "level_mismatch",
            Severity.ERROR,
            level,
            (code,),
            tr(
                "{grid}: the code is a {inferred} code but the level column says {level} {name}",
                grid=ctx.grids.label(i),
                inferred=level_name(inferred),
                level=int(level),
                name=level_name(level),
            ),
        )
    try:
        scheme.check(code, level)
    except CodeError as exc:
        return _malformed(ctx, i, code, level, exc)
    return None


def _malformed(ctx: Context, i: int, code: str, level: Level, exc: CodeError) -> BoundaryFinding:
    message = tr("{grid}: {problem}", grid=ctx.grids.label(i), problem=exc)
    return BoundaryFinding("malformed_code", Severity.ERROR, level, (code,), message)


def _parent_findings(
    ctx: Context, i: int, code: str, level: Level, present: set[int]
) -> Iterator[BoundaryFinding]:
    grids = ctx.grids
    parent = grids.parent_codes[i]
    derived = grids.scheme.parent(code, level)
    if parent != derived:
        yield BoundaryFinding(
            "parent_mismatch",
            Severity.ERROR,
            level,
            (code, str(parent)),
            tr(
                "{grid}: parent_code {parent} but the code extends {derived}",
                grid=grids.label(i),
                parent=parent,
                derived=derived,
            ),
        )
    if (
        level.parent is not None
        and int(level.parent) in present
        and parent not in grids.position_of
    ):
        yield BoundaryFinding(
            "missing_parent",
            Severity.ERROR,
            level,
            (code, str(parent)),
            tr(
                "{grid}: parent {parent} ({level}) is not in the data",
                grid=grids.label(i),
                parent=parent,
                level=level_name(level.parent),
            ),
        )


def _positions_of(codes: list[str | None], code: str) -> list[int]:
    return [i for i, c in enumerate(codes) if c == code]


def _level_or_none(ctx: Context, code: str) -> Level | None:
    lv = int(ctx.grids.levels[ctx.grids.position_of[code]])
    return None if lv == UNKNOWN_LEVEL else Level(lv)
