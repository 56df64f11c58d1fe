"""gridgeo.dispatch: who handles a report, for each partner type, on, off and at zone edges."""

from __future__ import annotations

from functools import cache

import numpy as np
import pytest
import shapely

import gridgeo
from gridgeo.categories import Category, CategorySource, CategoryTable, default_categories
from gridgeo.crs import MetricFrame
from gridgeo.dataset import Dataset
from gridgeo.dispatch import ZONE_CELLS, ZoneIndex, ZonesOver, dispatch, dispatch_columns
from gridgeo.errors import CategoryError
from gridgeo.levels import Level
from gridgeo.lookup import GridRef, LookupResult
from gridgeo.partners import PartnerType, PartnerUnit, ResolvedZones, Zone, ZoneKind, buffer_metres
from gridgeo.routing import RoutingRule, RoutingTable


@cache
def sample() -> Dataset:
    return gridgeo.load()


def unit(code: str) -> PartnerUnit:
    return next(p for p in sample().partners if p.code == code)


def on_unit(code: str) -> tuple[float, float]:
    """A point on the unit's line (or its post): distance 0 from what was buffered."""
    geom = unit(code).zone.geometry
    assert geom is not None
    p = geom.interpolate(0.5, normalized=True) if geom.length else geom
    return float(p.x), float(p.y)


def inside(code: str) -> tuple[float, float]:
    """A point inside grid ``code``."""
    grids = sample().grids
    p = grids.geometries[grids.position(code)].point_on_surface()
    return float(p.x), float(p.y)


# (partner type, category, a unit of that type, grid to stand in or None: on the unit's line)
CASES = [
    (PartnerType.ENFORCEMENT_TEAM, "0101", "ENF-450302001", "450302001003001"),  # 榕湖社区
    (PartnerType.POLICE, "9005", "PS-YANGQIAO", "450302001004002"),  # 杉湖社区
    (PartnerType.TRAFFIC_POLICE, "9002", "TP-450302", "450302002"),  # 丽君街道
    (PartnerType.DEPUTIES_LIAISON, "9008", "RD-450302001", "450302001001003"),
    (PartnerType.SANITATION, "0102", "SAN-WUMEI", "450302001002001"),
    (PartnerType.ENTERPRISE, "9004", "ENT-BINJIANG-01", None),
    (PartnerType.PROPERTY_MANAGER, "9004", "PM-WUMEI-01", None),
    (PartnerType.VOLUNTEER, "9007", "VOL-WENMING-01", None),
    (PartnerType.PARKING_COLLECTOR, "9006", "PARK-ZHONGSHAN", None),
]


@pytest.mark.parametrize(("ptype", "category", "code", "where"), CASES)
def test_each_partner_type_is_dispatched_with_a_reason(
    ptype: PartnerType, category: str, code: str, where: str | None
) -> None:
    lon, lat = inside(where) if where else on_unit(code)
    result = sample().dispatch(lon, lat, category, crs="cgcs2000")
    matched = {m.partner.code: m for m in result.partners}
    assert code in matched, [m.partner.code for m in result.partners]
    match = matched[code]
    assert match.partner.type is ptype
    assert f"routing rule {category}" in match.reason
    assert ptype.zh in match.reason
    if match.partner.zone.kind is ZoneKind.BUFFER:
        assert match.distance_m is not None and match.distance_m < 0.5
    assert result.reached


def test_partner_types_not_routed_are_not_returned() -> None:
    # 0505 goes to traffic police and parking collectors; the enforcement team's zone
    # covers the point too, but its type does not handle the category
    result = sample().dispatch(110.3005, 25.2785, "0505", crs="cgcs2000")
    types = [m.partner.type for m in result.partners]
    assert types == [PartnerType.TRAFFIC_POLICE]
    assert result.uncovered_types == (PartnerType.PARKING_COLLECTOR,)
    assert result.grid_involved and result.grid_team is not None
    assert result.grid_team.grid.code == "450302001001002"
    assert [p.role.value for p in result.grid_team.leaders] == ["leader"]
    assert len(result.grid_team.members) == 2


def test_chain_teams_follow_the_plan_table() -> None:
    result = sample().dispatch(110.3005, 25.2785, "0101", crs="cgcs2000")
    by_level = {t.grid.level: t for t in result.teams}
    community = by_level[Level.COMMUNITY]
    assert len(community.leaders) == 1 and len(community.deputies) == 1
    assert (
        sorted(p.employment.value for p in community.members) == ["auxiliary"] * 8 + ["sworn"] * 2
    )
    assert len(by_level[Level.STREET].members) == 2
    assert result.lookup.workstation is not None
    assert result.lookup.workstation.code == "WS450302001001"


def test_off_zone_point_reaches_only_the_district_wide_units() -> None:
    # in 秀峰区 but outside the pilot street: no police zone here, only the district's
    # traffic police; 9005 (public order) involves no grid staff, so nobody handles it
    data = sample()
    lon, lat = inside("450302003")  # 甲山街道
    assert data.lookup(lon, lat, "cgcs2000").grids[2].code == "450302003"
    order = data.dispatch(lon, lat, "9005", crs="cgcs2000")
    assert order.partners == () and order.uncovered_types == (PartnerType.POLICE,)
    assert not order.grid_involved and not order.reached
    parking = data.dispatch(lon, lat, "9002", crs="cgcs2000")
    assert [m.partner.code for m in parking.partners] == ["TP-450302"]


def test_point_outside_every_grid_has_no_grid_staff() -> None:
    result = sample().dispatch(116.40, 39.90, "0505")  # Beijing: no grid, no zone
    assert result.teams == () and not result.grid_involved and not result.reached
    assert "outside every grid" in result.grid_reason


def test_major_class_rule_routes_a_minor_class_without_its_own() -> None:
    result = sample().dispatch(110.3005, 25.2785, "0302", crs="cgcs2000")
    assert result.rule is not None and result.rule.category == "03"
    assert [m.partner.code for m in result.partners] == ["ENF-450302001"]


def test_unknown_category_is_refused_with_suggestions() -> None:
    with pytest.raises(CategoryError, match=r"unknown category '机动车停放'.*0505 机动车乱停放"):
        sample().dispatch(110.3005, 25.2785, "机动车停放", crs="cgcs2000")


# --- hand-made zones: covers semantics at the boundary ---------------------------------

BOX = shapely.box(110.29, 25.27, 110.30, 25.28)


def handmade(lon: float, lat: float, zones: list[PartnerUnit]) -> tuple[LookupResult, ZoneIndex]:
    geoms = tuple(u.zone.geometry for u in zones)
    index = ZoneIndex(ResolvedZones(tuple(zones), geoms))  # type: ignore[arg-type]
    leaf = GridRef(Level.GRID, "450302001001001", "g")
    return LookupResult(lon, lat, "cgcs2000", (lon, lat), (leaf,), None, None), index


ROUTING = RoutingTable((RoutingRule("05", (PartnerType.POLICE,), grid=False),))


@pytest.mark.parametrize(
    ("lon", "lat", "covered", "on_boundary"),
    [
        (110.295, 25.275, True, False),  # inside
        (110.30, 25.275, True, True),  # exactly on the east edge
        (110.30, 25.28, True, True),  # exactly on the north-east corner
        (110.3000001, 25.275, False, False),  # just outside
    ],
)
def test_zone_covers_its_boundary(lon: float, lat: float, covered: bool, on_boundary: bool) -> None:
    police = PartnerUnit("P1", PartnerType.POLICE, "派出所", Zone(ZoneKind.POLYGON, BOX))
    result, index = handmade(lon, lat, [police])
    answer = dispatch(result, "0505", staff=[], zones=index, routing=ROUTING)
    assert bool(answer.partners) is covered
    if covered:
        assert answer.partners[0].on_boundary is on_boundary
        assert ("on its boundary" in answer.partners[0].reason) is on_boundary
    else:
        assert answer.uncovered_types == (PartnerType.POLICE,)


def test_two_units_sharing_an_edge_both_match_a_point_on_it() -> None:
    west = PartnerUnit("P-W", PartnerType.POLICE, "西", Zone(ZoneKind.POLYGON, BOX))
    east_box = shapely.box(110.30, 25.27, 110.31, 25.28)
    east = PartnerUnit("P-E", PartnerType.POLICE, "东", Zone(ZoneKind.POLYGON, east_box))
    result, index = handmade(110.30, 25.275, [east, west])
    answer = dispatch(result, "0505", staff=[], zones=index, routing=ROUTING)
    assert [m.partner.code for m in answer.partners] == ["P-E", "P-W"]  # by code


def test_line_buffer_is_measured_in_metres_with_square_ends() -> None:
    frame = MetricFrame(110.3)
    x0, y0 = frame.xy(110.295, 25.275)
    line_m = shapely.LineString([(float(x0), float(y0)), (float(x0) + 100, float(y0))])
    line = frame.unproject(np.array([line_m], dtype=object))[0]
    zone = buffer_metres(line, 15.0)
    back = frame.unproject(
        np.array(
            [
                shapely.Point(float(x0) + 50, float(y0) + 14.9),  # beside the line, inside
                shapely.Point(float(x0) + 50, float(y0) + 15.1),  # just beyond 15 m
                shapely.Point(float(x0) + 101, float(y0)),  # 1 m past the end: square cap
            ],
            dtype=object,
        )
    )
    assert [bool(zone.covers(p)) for p in back] == [True, False, False]


# --- the vectorised variant agrees with the one-point answer ---------------------------


def test_dispatch_columns_agree_with_dispatch_on_random_points() -> None:
    data = sample()
    rng = np.random.default_rng(7)
    n = 400
    lon = rng.uniform(110.281, 110.306, n)
    lat = rng.uniform(25.270, 25.294, n)
    cats = rng.choice(["0505", "0504", "9004", "9007", "9006", "05", "0102", "bogus", ""], n)
    leaves = data.locator.locate(lon, lat)
    cols = dispatch_columns(
        lon,
        lat,
        list(cats),
        leaves >= 0,
        zones=data.zones,
        routing=data.require_routing(),
        categories=data.categories,
    )
    for i in range(n):
        if cats[i] in ("bogus", ""):
            assert cols["dispatch_status"][i] == "unknown_category"
            continue
        one = data.dispatch(float(lon[i]), float(lat[i]), str(cats[i]), crs="cgcs2000")
        assert cols["dispatch_partners"][i] == ";".join(m.partner.code for m in one.partners)
        assert cols["dispatch_grid"][i] == ("yes" if one.grid_involved else "no")
        assert cols["dispatch_status"][i] == ("ok" if one.reached else "unreached")
        assert cols["category_code"][i] == one.category.code


def test_dispatch_columns_mark_bad_coordinates() -> None:
    data = sample()
    x = np.array([np.nan, 110.3005])
    y = np.array([25.2785, 25.2785])
    cols = dispatch_columns(
        x,
        y,
        ["0505", "0505"],
        np.array([False, True]),
        zones=data.zones,
        routing=data.require_routing(),
    )
    assert list(cols["dispatch_status"]) == ["bad_input", "ok"]
    assert cols["dispatch_partners"][0] == ""


# --- categories ------------------------------------------------------------------------


def test_category_table_has_the_standard_event_classes() -> None:
    table = default_categories()
    majors = {c.code: c.name_zh for c in table.majors()}
    assert {k: majors[k] for k in ("01", "02", "03", "04", "05")} == {
        "01": "市容环境",
        "02": "宣传广告",
        "03": "施工管理",
        "04": "突发事件",
        "05": "街面秩序",
    }
    assert table["0505"].name_zh == "机动车乱停放" and table["0505"].major == "05"
    assert table.resolve("机动车乱停放").code == "0505"
    assert not table["0304"].confirmed and table["0302"].confirmed
    assert table["9001"].source is CategorySource.LOCAL
    assert all(c.major in majors for c in table.minors())


def test_category_table_refuses_orphans_and_duplicates() -> None:
    with pytest.raises(CategoryError, match="no major class"):
        CategoryTable([Category("0701", "x", "x")])
    with pytest.raises(CategoryError, match="defined twice"):
        CategoryTable([Category("07", "x", "x"), Category("07", "y", "y")])


# --- zones seen from one grid (the HTTP lookup's per-grid split) -------------------------


def test_zones_over_a_grid_cover_exactly_what_the_index_covers() -> None:
    # every point a grid covers, random or on an edge of the grid or of a zone, gets the
    # same zones from the per-grid split as from the whole index
    data = sample()
    zones = data.zones
    grids = data.grids
    rng = np.random.default_rng(11)
    checked = crossing = remembered = edge_cells = 0
    for position in np.flatnonzero(grids.levels == int(Level.GRID)):
        grid = grids.geometries[position]
        over = zones.over(grid)
        crossing += bool(over.crossing.size)
        xmin, ymin, xmax, ymax = grid.bounds
        x, y = rng.uniform(xmin, xmax, 300), rng.uniform(ymin, ymax, 300)
        edges = shapely.get_coordinates(
            shapely.segmentize(shapely.boundary(grid), (xmax - xmin) / 40)
        )
        for zone in over.crossing_zones:  # the zone's own edges where they pass the grid
            cut = shapely.intersection(shapely.boundary(zone), grid)
            edges = np.vstack([edges, shapely.get_coordinates(cut)])
        # the corners of the per-grid cells, where a point's cell number is least sure
        cx = np.linspace(xmin, xmax, ZONE_CELLS + 1)
        cy = np.linspace(ymin, ymax, ZONE_CELLS + 1)
        corners = np.column_stack([np.repeat(cx, len(cy)), np.tile(cy, len(cx))])
        pts = np.vstack([np.column_stack([x, y]), edges, corners])
        inside = shapely.intersects_xy(grid, pts[:, 0], pts[:, 1])  # covers, for points
        for _ in range(2):  # first the cells are worked out, then they answer from memory
            for px, py in pts[inside]:
                assert over.covering(px, py) == tuple(zones.covering(px, py)), (grid, px, py)
                checked += 1
        cells = over._cells.values()
        remembered += sum(v is not None for v in cells)
        edge_cells += sum(v is None for v in cells)
    assert checked > 20_000
    assert crossing > 0  # some grids are crossed by a zone edge: the point test ran
    assert remembered > 100 and edge_cells > 10  # both kinds of cell were met


def test_zones_over_splits_whole_and_crossing() -> None:
    box = PartnerUnit("BOX", PartnerType.POLICE, "box", Zone(ZoneKind.POLYGON, BOX))
    big = shapely.box(110.0, 25.0, 111.0, 26.0)
    city = PartnerUnit("CITY", PartnerType.POLICE, "city", Zone(ZoneKind.POLYGON, big))
    far = PartnerUnit("FAR", PartnerType.POLICE, "far", Zone(ZoneKind.POLYGON, BOX.buffer(-0.004)))
    _, index = handmade(0, 0, [box, city, far])
    grid = shapely.box(110.299, 25.274, 110.301, 25.276)  # straddles the box's east edge
    over = index.over(grid)
    assert over.always == (1,)  # the city covers the whole grid
    assert over.crossing.tolist() == [0]  # the box crosses it; the shrunken one is off
    assert over.covering(110.2995, 25.275) == (0, 1)
    assert over.covering(110.30, 25.275) == (0, 1)  # on the box's edge: covered
    assert over.covering(110.3005, 25.275) == (1,)


def test_zones_over_remembers_cells_away_from_zone_edges() -> None:
    box = PartnerUnit("BOX", PartnerType.POLICE, "box", Zone(ZoneKind.POLYGON, BOX))
    _, index = handmade(0, 0, [box])
    grid = shapely.box(110.299, 25.274, 110.301, 25.276)  # the box's east edge at x=110.3
    over = index.over(grid)
    assert over.covering(110.2991, 25.2741) == (0,)  # west: inside the box
    assert over.covering(110.3009, 25.2759) == ()  # east: outside
    assert over.covering(110.30, 25.275) == (0,)  # on the edge: tested exactly, covered
    assert over.covering(110.30000001, 25.275) == ()  # a hair east of it
    assert sorted(over._cells.values(), key=str) == [(), (0,), None, None]
    # the edge's cells keep no answer: the next point there is tested again
    assert over.covering(110.29999999, 25.2751) == (0,)
    assert over._cells[over._cell(110.29999999, 25.2751)] is None
    assert over._cell(110.31, 25.275) == -1  # outside the bounds: always tested


def test_zones_are_safe_to_share_between_threads() -> None:
    """A service tests a grid's zones on the event loop while worker threads ask the
    whole zone index: GEOS's lazily filled prepared polygons must never be tested by two
    threads at once (that aborted the process). Fresh indexes, three threads, same
    answers as one thread."""
    import threading
    from dataclasses import replace

    data = sample()
    grids = data.grids
    grid = grids.geometries[np.flatnonzero(grids.levels == int(Level.GRID))[0]]
    xmin, ymin, xmax, ymax = grid.bounds
    rng = np.random.default_rng(5)
    x, y = rng.uniform(xmin, xmax, 200), rng.uniform(ymin, ymax, 200)
    inside = shapely.intersects_xy(grid, x, y)
    points = list(zip(x[inside], y[inside], strict=True))

    def per_grid(over: ZonesOver, answers: list[list[tuple[int, ...]]]) -> None:
        fresh = replace(over, _cells={})  # every cell resolved again
        answers.append([fresh.covering(a, b) for a, b in points])

    def whole(index: ZoneIndex) -> None:
        for a, b in zip(x, y, strict=True):
            index.covering(a, b)
        index.query(x, y)

    for _ in range(20):
        index = ZoneIndex.from_partners(data.partners, grids)
        over = index.over(grid)
        expected = [over.covering(a, b) for a, b in points]
        answers: list[list[tuple[int, ...]]] = []
        threads = [
            threading.Thread(target=per_grid, args=(over, answers)),
            threading.Thread(target=per_grid, args=(over, answers)),
            threading.Thread(target=whole, args=(index,)),
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert answers == [expected, expected]
