"""Numbering fifth-level grids inside their communities (assign_grid_codes)."""

from __future__ import annotations

from pathlib import Path

import pytest
from shapely.geometry import Polygon, box

from gridgeo.codes import CodeScheme
from gridgeo.errors import CodeError, InputFileError
from gridgeo.io.boundaries import read_boundaries
from gridgeo.model import GridSet
from gridgeo.numbering import CodeAssignment, assign_grid_codes

COMMUNITY = "450302001001"
OTHER = "450302001002"
# Community 3 cells wide and 2 high; its eastern neighbour has the same shape.
COMMUNITY_BOX = (110.30, 25.30, 110.33, 25.32)
OTHER_BOX = (110.33, 25.30, 110.36, 25.32)
# Visual rows are not perfectly level: the cells' centres wobble by 0.0004 deg north-south.
WOBBLE = (0.0, 0.0004, -0.0004)


def cell(row: int, col: int, x0: float = 110.30) -> Polygon:
    """Grid cell ``row`` (0 = north) ``col`` (0 = west) of a 3x2 community starting at ``x0``."""
    x = x0 + 0.01 * col
    y = 25.31 - 0.01 * row + WOBBLE[col]
    return box(x + 0.0005, y + 0.0005, x + 0.0095, y + 0.0095)


CELLS = {f"r{r}c{c}": cell(r, c) for r in range(2) for c in range(3)}
# reading order: north row west to east, then south row west to east
READING = ["r0c0", "r0c1", "r0c2", "r1c0", "r1c1", "r1c2"]
SHUFFLED = ["r1c1", "r0c2", "r1c0", "r0c0", "r1c2", "r0c1"]


def communities(scheme: CodeScheme | None = None) -> GridSet:
    """The two communities on their own (level 4 from their 12-digit codes)."""
    return GridSet.from_records(
        [COMMUNITY, OTHER],
        [box(*COMMUNITY_BOX), box(*OTHER_BOX)],
        names=["文明社区", "五美社区"],
        scheme=scheme,
    )


def code_by_name(grids: GridSet) -> dict[str, str | None]:
    return dict(zip(grids.names, grids.codes, strict=True))


def test_six_grids_numbered_in_reading_order() -> None:
    """Unnumbered grids get 001-006: north row west to east, then the south row."""
    grids = GridSet.from_records(
        [COMMUNITY] + [None] * 6,
        [box(*COMMUNITY_BOX)] + [CELLS[k] for k in SHUFFLED],
        names=["文明社区", *SHUFFLED],
    )
    assert grids.levels.tolist() == [4] + [-1] * 6  # no code, no level: a grid
    numbered, assignments = assign_grid_codes(grids)
    expected = {name: f"{COMMUNITY}{i:03d}" for i, name in enumerate(READING, start=1)}
    assert code_by_name(numbered) == {"文明社区": COMMUNITY, **expected}
    assert numbered.levels.tolist() == [4] + [5] * 6
    assert numbered.parent_codes == ["450302001"] + [COMMUNITY] * 6
    assert assignments == [
        CodeAssignment(f"#{1 + SHUFFLED.index(name)}", name, expected[name], COMMUNITY)
        for name in READING
    ]
    # the input set is left as it was
    assert grids.codes == [COMMUNITY] + [None] * 6
    assert numbered.refs == grids.refs
    assert (numbered.geometries == grids.geometries).all()


def test_existing_codes_kept_and_new_ones_continue_after_highest() -> None:
    """Grids with codes keep them; the others follow the highest sequence, in reading order."""
    given = {"r0c1": f"{COMMUNITY}002", "r1c0": f"{COMMUNITY}007"}
    grids = GridSet.from_records(
        [given.get(k) for k in SHUFFLED],
        [CELLS[k] for k in SHUFFLED],
        names=SHUFFLED,
        levels=[5] * 6,
    )
    numbered, assignments = assign_grid_codes(grids, communities())
    assert code_by_name(numbered) == {
        "r0c0": f"{COMMUNITY}008",
        "r0c1": f"{COMMUNITY}002",
        "r0c2": f"{COMMUNITY}009",
        "r1c0": f"{COMMUNITY}007",
        "r1c1": f"{COMMUNITY}010",
        "r1c2": f"{COMMUNITY}011",
    }
    assert [a.name for a in assignments] == ["r0c0", "r0c2", "r1c1", "r1c2"]
    assert numbered.parent_codes == [COMMUNITY] * 6


def test_duplicate_codes_refused() -> None:
    """Two grids with the same code raise CodeError naming it; nothing is numbered."""
    dup = f"{COMMUNITY}001"
    grids = GridSet.from_records(
        [dup, None, dup], [CELLS["r0c0"], CELLS["r0c1"], CELLS["r0c2"]], levels=[5, 5, 5]
    )
    with pytest.raises(CodeError, match="more than one feature") as info:
        assign_grid_codes(grids, communities())
    assert info.value.code == dup


def test_grid_outside_every_community_refused_naming_it() -> None:
    """A grid overlapping no community raises InputFileError with its name and ref."""
    stray = box(111.00, 25.00, 111.01, 25.01)
    touching = box(110.36, 25.30, 110.37, 25.31)  # shares only an edge with OTHER
    for geom in (stray, touching):
        grids = GridSet.from_records(
            [None, None], [CELLS["r0c0"], geom], names=["ok", "远处网格"], levels=[5, 5]
        )
        with pytest.raises(InputFileError, match="lies in no community") as info:
            assign_grid_codes(grids, communities())
        assert "远处网格" in str(info.value)
        assert "[#1]" in str(info.value)


def test_communities_supplied_separately_each_numbered_from_one() -> None:
    """With a grids-only set, the communities argument places and numbers grids per community."""
    east = {f"e{k}": cell(int(k[1]), int(k[3]), x0=110.33) for k in READING}
    names = [*SHUFFLED, *east]
    grids = GridSet.from_records(
        [None] * 12,
        [CELLS[k] for k in SHUFFLED] + list(east.values()),
        names=names,
        levels=[5] * 12,
    )
    numbered, assignments = assign_grid_codes(grids, communities())
    assert len(numbered) == 12  # communities are not added to the output
    codes = code_by_name(numbered)
    for i, name in enumerate(READING, start=1):
        assert codes[name] == f"{COMMUNITY}{i:03d}"
        assert codes[f"e{name}"] == f"{OTHER}{i:03d}"
    assert [a.community_code for a in assignments] == [COMMUNITY] * 6 + [OTHER] * 6
    assert numbered.parent_codes == [COMMUNITY] * 6 + [OTHER] * 6


def test_no_community_at_all_refused() -> None:
    """Grids without any community (none in the file, none passed) are refused."""
    grids = GridSet.from_records([None], [CELLS["r0c0"]], names=["孤立"], levels=[5])
    with pytest.raises(InputFileError, match="孤立"):
        assign_grid_codes(grids)


def test_parent_code_column_wins_over_geometry() -> None:
    """A grid's parent_code decides its community even when it lies inside another one."""
    grids = GridSet.from_records(
        [None, None],
        [CELLS["r0c0"], CELLS["r0c1"]],
        names=["declared", "by-geometry"],
        levels=[5, 5],
        parent_codes=[OTHER, None],
    )
    numbered, _ = assign_grid_codes(grids, communities())
    assert numbered.codes == [f"{OTHER}001", f"{COMMUNITY}001"]
    assert numbered.parent_codes == [OTHER, COMMUNITY]


def test_grid_across_two_communities_goes_to_larger_overlap() -> None:
    """A grid straddling two communities belongs to the one it overlaps most."""
    straddling = box(110.325, 25.30, 110.345, 25.31)  # 0.005 in COMMUNITY, 0.015 in OTHER
    grids = GridSet.from_records([None], [straddling], levels=[5])
    numbered, assignments = assign_grid_codes(grids, communities())
    assert numbered.codes == [f"{OTHER}001"]
    assert assignments[0].community_code == OTHER


def test_sequence_width_two_gives_fourteen_digit_codes() -> None:
    """CodeScheme(sequence_width=2) numbers grids 01, 02, ... as 14-digit codes."""
    scheme = CodeScheme(sequence_width=2)
    existing = f"{COMMUNITY}04"
    grids = GridSet.from_records(
        [None, existing, None],
        [CELLS["r0c0"], CELLS["r0c1"], CELLS["r0c2"]],
        names=["a", "b", "c"],
        scheme=scheme,
    )
    assert grids.levels.tolist() == [-1, 5, -1]  # 14 digits is a grid under this scheme
    numbered, _ = assign_grid_codes(grids, communities(scheme))
    assert numbered.codes == [f"{COMMUNITY}05", existing, f"{COMMUNITY}06"]
    assert all(len(c) == 14 for c in numbered.codes if c is not None)
    assert numbered.scheme == scheme


@pytest.mark.parametrize(
    ("width", "given", "new"),
    [(2, f"{COMMUNITY}99", 1), (1, None, 10)],
    ids=["after-99", "ten-in-one-digit"],
)
def test_more_grids_than_sequence_allows_refused(width: int, given: str | None, new: int) -> None:
    """Running past the largest sequence the width allows raises CodeError naming the community."""
    scheme = CodeScheme(sequence_width=width)
    geoms = [
        box(110.30 + 0.002 * i, 25.30 + 0.01 * j, 110.301 + 0.002 * i, 25.301 + 0.01 * j)
        for j in range(2)
        for i in range(6)
    ][: new + (given is not None)]
    codes = [given] if given else []
    grids = GridSet.from_records(
        codes + [None] * new, geoms, levels=[5] * len(geoms), scheme=scheme
    )
    with pytest.raises(CodeError, match="cannot hold grid number") as info:
        assign_grid_codes(grids, communities(scheme))
    assert info.value.code == COMMUNITY


@pytest.mark.parametrize("keep_parent", [False, True], ids=["by-geometry", "by-parent-code"])
@pytest.mark.parametrize("together", [False, True], ids=["communities-arg", "same-set"])
def test_sample_grids_renumbered_identically(
    sample_dir: Path, keep_parent: bool, together: bool
) -> None:
    """The sample's 48 fifth-level grids, codes removed, get exactly their published codes."""
    path = sample_dir / "boundaries.gpkg"
    if not path.exists():
        pytest.skip(f"{path} not generated yet (run `make data`)")
    every = read_boundaries([path])
    comms = every.subset(every.levels == 4)
    grids = every.subset(every.levels == 5)
    assert (len(comms), len(grids)) == (10, 48)
    frame = grids.frame.copy()
    frame["code"] = None
    if not keep_parent:
        frame["parent_code"] = None
    stripped = GridSet.from_frame(frame)
    assert stripped.codes == [None] * 48
    if together:
        numbered, assignments = assign_grid_codes(GridSet.concat([comms, stripped]))
        numbered = numbered.subset(numbered.levels == 5)
    else:
        numbered, assignments = assign_grid_codes(stripped, comms)
    assert numbered.codes == grids.codes
    assert numbered.parent_codes == grids.parent_codes
    assert len(assignments) == 48
    assert sorted(a.code for a in assignments) == sorted(grids.codes)  # type: ignore[type-var]
