"""Grid codes: format, level inference, parent derivation and fifth-level numbering.

A code is a string of digits whose prefix is its parent's code:

======  ==========  ==============================================  ==========
level   name        form                                            digits
======  ==========  ==============================================  ==========
1       city 市      GB/T 2260 code ending in ``00`` (``450300``)     6
2       district 区  GB/T 2260 code not ending in ``00`` (``450302``) 6
3       street 街道  district + 3-digit street (``450302001``)        9
4       community    street + 3-digit community                      12
5       grid         community + sequence (width a setting, 3)       12 + width
======  ==========  ==============================================  ==========

A district's parent is its city: the first four digits followed by ``00``.
Every other parent is the code's prefix one level up. Nothing here does I/O.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from gridgeo.errors import CodeError
from gridgeo.i18n import tr
from gridgeo.levels import Level
from gridgeo.wording import level_name

DEFAULT_SEQUENCE_WIDTH = 3


@dataclass(frozen=True, slots=True)
class CodeScheme:
    """The code widths in force; only the fifth-level sequence width varies.

    Parameters
    ----------
    sequence_width
        Digits of the fifth-level sequence: 3 as in DB11/T 2157-2023 (15-digit
        grid codes), 2 for the 14-digit codes of older national texts.

    Examples
    --------
    >>> scheme = CodeScheme()
    >>> scheme.infer_level("450302001001002").name
    'GRID'
    >>> scheme.chain("450302001001002")
    ['450302001001002', '450302001001', '450302001', '450302', '450300']
    >>> scheme.grid_code("450302001001", 7)
    '450302001001007'
    >>> CodeScheme(sequence_width=2).grid_code("450302001001", 7)
    '45030200100107'
    """

    sequence_width: int = DEFAULT_SEQUENCE_WIDTH

    def __post_init__(self) -> None:
        if not 1 <= self.sequence_width <= 6:
            raise ValueError(
                tr("sequence width must be 1-6, not {width}", width=self.sequence_width)
            )

    def length(self, level: Level) -> int:
        """Number of digits of a code at ``level``."""
        return {1: 6, 2: 6, 3: 9, 4: 12, 5: 12 + self.sequence_width}[int(level)]

    def infer_level(self, code: str) -> Level:
        """The level a well-formed code belongs to.

        Raises
        ------
        CodeError
            If the code is not digits, has no level's length, or is a
            province code (``xx0000``), which is no grid level.

        Examples
        --------
        >>> CodeScheme().infer_level("450300").name, CodeScheme().infer_level("450302").name
        ('CITY', 'DISTRICT')
        >>> CodeScheme().infer_level("4503020")  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        ...
        gridgeo.errors.CodeError: ...4503020... has 7 digits; expected 6 (city/district), ...
        """
        self._require_digits(code)
        n = len(code)
        if n == 6:
            if code.endswith("0000"):
                raise CodeError(
                    code, tr("is a province code (ends in 0000), not a city or district")
                )
            return Level.CITY if code.endswith("00") else Level.DISTRICT
        by_length = {9: Level.STREET, 12: Level.COMMUNITY, 12 + self.sequence_width: Level.GRID}
        if n not in by_length:
            raise CodeError(
                code,
                tr(
                    "has {n} digits; expected 6 (city/district), 9 (street), 12 (community) "
                    "or {grid} (grid)",
                    n=n,
                    grid=12 + self.sequence_width,
                ),
            )
        return by_length[n]

    def check(self, code: str, level: Level) -> None:
        """Check that ``code`` is a well-formed code of ``level``.

        Raises
        ------
        CodeError
            Naming the code and what is wrong with it.
        """
        inferred = self.infer_level(code)
        if inferred is not level:
            raise CodeError(
                code,
                tr(
                    "is a {inferred} code but the feature is at level {level} {name}",
                    inferred=level_name(inferred),
                    level=int(level),
                    name=level_name(level),
                ),
            )
        if level is Level.GRID and int(code[12:]) == 0:
            raise CodeError(code, tr("has sequence 0; fifth-level sequences start at 1"))
        if level in (Level.STREET, Level.COMMUNITY) and code[-3:] == "000":
            raise CodeError(
                code, tr("ends in 000, which is no {level} number", level=level_name(level))
            )

    def parent(self, code: str, level: Level | None = None) -> str | None:
        """The parent's code derived from the prefix, or None for a city.

        Examples
        --------
        >>> CodeScheme().parent("450302001"), CodeScheme().parent("450302")
        ('450302', '450300')
        >>> CodeScheme().parent("450300") is None
        True
        """
        level = self.infer_level(code) if level is None else level
        if level is Level.CITY:
            return None
        if level is Level.DISTRICT:
            return code[:4] + "00"
        return code[: self.length(Level(level - 1))]

    def chain(self, code: str) -> list[str]:
        """Codes from ``code`` up to its city, the code itself first."""
        out = [code]
        parent = self.parent(code)
        while parent is not None:
            out.append(parent)
            parent = self.parent(parent)
        return out

    def extends(self, code: str, parent_code: str) -> bool:
        """True if ``code`` is a valid child code of ``parent_code``."""
        try:
            return self.parent(code) == parent_code
        except CodeError:
            return False

    def grid_code(self, community_code: str, sequence: int) -> str:
        """The fifth-level code for ``sequence`` inside a community."""
        self.check(community_code, Level.COMMUNITY)
        limit = 10**self.sequence_width - 1
        if not 1 <= sequence <= limit:
            raise CodeError(
                community_code,
                tr(
                    "cannot hold grid number {sequence}: the {width}-digit "
                    "sequence allows 1-{limit}",
                    sequence=sequence,
                    width=self.sequence_width,
                    limit=limit,
                ),
            )
        return f"{community_code}{sequence:0{self.sequence_width}d}"

    @staticmethod
    def _require_digits(code: str) -> None:
        if not code or not code.isascii() or not code.isdigit():
            raise CodeError(code, tr("must be ASCII digits only"))


def reading_order(
    x: npt.ArrayLike, y: npt.ArrayLike, row_height: float | None = None
) -> npt.NDArray[np.intp]:
    """Order points west to east, then north to south, as text is read.

    Points are grouped into rows from the north: a point starts a new row when
    it lies more than ``row_height`` below the first (northernmost) point of the
    current row. Inside a row points run west to east. This is how DB11/T
    2157-2023 numbers unit grids inside a community.

    Parameters
    ----------
    x, y
        Easting/longitude and northing/latitude of one representative point
        per grid (for example ``shapely.point_on_surface``).
    row_height
        Vertical extent of a row in the units of ``y``. Default: half the
        median north-south spacing implied by the points, which keeps grids of
        one visual row together.

    Returns
    -------
    numpy.ndarray
        Indices into ``x``/``y`` in numbering order.
    """
    xs = np.asarray(x, dtype=float)
    ys = np.asarray(y, dtype=float)
    if xs.shape != ys.shape or xs.ndim != 1:
        raise ValueError(tr("x and y must be 1-D arrays of equal length"))
    if xs.size == 0:
        return np.empty(0, dtype=np.intp)
    by_north = np.lexsort((xs, -ys))
    if row_height is None:
        spread = float(ys.max() - ys.min())
        row_height = spread / (2 * max(1.0, np.sqrt(xs.size))) if spread > 0 else 0.0
    rows = np.empty(xs.size, dtype=np.intp)
    row, top = 0, ys[by_north[0]]
    for i in by_north:
        if top - ys[i] > row_height:
            row, top = row + 1, ys[i]
        rows[i] = row
    return np.lexsort((xs, rows)).astype(np.intp)


def next_sequences(existing: Iterable[str], scheme: CodeScheme, count: int) -> list[int]:
    """The ``count`` smallest free sequence numbers above the highest in use."""
    used = [int(c[12:]) for c in existing if len(c) == scheme.length(Level.GRID)]
    start = max(used, default=0) + 1
    return list(range(start, start + count))


def find_duplicates(codes: Sequence[str]) -> dict[str, list[int]]:
    """Codes that occur more than once, with the positions they occur at."""
    seen: dict[str, list[int]] = {}
    for i, code in enumerate(codes):
        seen.setdefault(code, []).append(i)
    return {c: idx for c, idx in seen.items() if len(idx) > 1}
