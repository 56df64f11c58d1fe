"""The work behind ``/v1/lookup``: per-Dataset tables, one point, many points.

Everything that depends only on the owner grid of a point (its chain, the
workstation, the people of each level) is computed once per grid and kept
with the Dataset, so a request pays only for the point test
(:meth:`gridgeo.index.GridIndex.assign_one`) and the JSON. The tables are
keyed on the Dataset object: publishing a new version builds new ones and
the old ones go with the old Dataset.

The answer is the core's (:meth:`gridgeo.lookup.LookupResult.to_dict`: the point, then
the place) with the data's version between them and the people and partners after:
:func:`answer_dict`. The fast path writes the same members as JSON, the place and what
follows it cached per owner grid (:meth:`LookupTables.tail_json`), the point through
:data:`HEAD` (a template written from :func:`gridgeo.lookup.point_members`).
"""

from __future__ import annotations

import json
import math
import threading
import weakref
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

from gridgeo.api.redaction import StaffAccess
from gridgeo.coords import (
    bad_lonlat_mask,
    check_lonlat,
    parse_coord_system,
    to_cgcs2000,
    to_cgcs2000_point,
)
from gridgeo.dataset import Dataset
from gridgeo.dispatch import DispatchResult, ZonesOver, dispatch, staff_by_grid
from gridgeo.errors import CoordinateError, GridgeoError
from gridgeo.i18n import Lang, current_lang, tr
from gridgeo.index import GridIndex
from gridgeo.index.cache import index_for
from gridgeo.levels import Level
from gridgeo.lookup import GridRef, LookupResult, place_members, point_members
from gridgeo.partners import PartnerUnit
from gridgeo.staffing import POST_WORDS, Post, StaffMember
from gridgeo.wording import listing
from gridgeo.workstation import Workstation, serving

HIDDEN = StaffAccess(names=False, contacts=False)  # names and phones withheld


class BatchFormatError(GridgeoError):
    """A batch body that is neither a list of points nor a FeatureCollection of Points."""


class TooManyPointsError(GridgeoError):
    """A batch above the per-request limit (413): such work belongs to ``gridgeo assign``."""


@dataclass
class OwnerInfo:
    """What a lookup answers for every point of one owner grid."""

    refs: tuple[GridRef, ...]
    workstation: Workstation | None
    place: dict[str, Any]  # the answer's grids, workstation and nearest (None)
    # per level (leaf first): the grid dict and its people, leader first
    teams: list[tuple[dict[str, Any], list[StaffMember]]]


@dataclass
class LookupTables:
    """Index and per-owner answers of one Dataset (built once, shared by all requests)."""

    data: Dataset
    index: GridIndex
    staff: dict[str, list[StaffMember]]
    _owners: dict[int, OwnerInfo] = field(default_factory=dict)
    _zones: dict[int, ZonesOver] = field(default_factory=dict)
    # the answer after "version", per (owner, posts, visibility, covering partners,
    # language: the partners' zone descriptions are text)
    _tails: dict[tuple[int, frozenset[Post] | None, StaffAccess, tuple[int, ...], Lang], bytes] = (
        field(default_factory=dict)
    )

    def owner(self, owner: int) -> OwnerInfo:
        """The answer parts of an owner position of ``index`` (cached)."""
        info = self._owners.get(owner)
        if info is None:
            info = self._build(owner)
            self._owners[owner] = info  # a race builds the same value twice: harmless
        return info

    def covering(self, owner: int, x: float, y: float) -> tuple[int, ...]:
        """Positions of the partner zones covering a CGCS2000 point of ``owner`` (-1: a
        point outside every grid, tested against all zones).

        The zones are split once per owner grid into those covering all of it and
        those crossing it (:meth:`gridgeo.dispatch.ZoneIndex.over`), so a request
        tests the point against the crossing ones only.
        """
        if not self.data.partners:
            return ()
        if owner < 0:
            return tuple(self.data.zones.covering(x, y))
        over = self._zones.get(owner)
        if over is None:
            grid = self.data.grids.geometries[int(self.index.owner_positions[owner])]
            over = self._zones[owner] = self.data.zones.over(grid)
        return over.covering(x, y)

    def tail_json(
        self,
        owner: int,
        posts: frozenset[Post] | None,
        see: StaffAccess,
        partners: tuple[int, ...],
    ) -> bytes:
        """``"grids":...,"dispatch":null}``: the answer of an owner after its head (cached)."""
        key = (owner, posts, see, partners, current_lang())
        found = self._tails.get(key)
        if found is None:
            info = self.owner(owner)
            zones = self.data.zones
            covering = [partner(zones.partners[p], see) for p in partners]
            found = _members(info.place | responsible(info, posts, see, covering, None)) + b"}"
            if len(self._tails) < MAX_CACHED_ANSWERS:  # posts filters are few, but bound it
                self._tails[key] = found
        return found

    def _build(self, owner: int) -> OwnerInfo:
        grids = self.data.grids
        position = int(self.index.owner_positions[owner])
        refs = tuple(
            GridRef(Level(int(grids.levels[p])), grids.codes[p] or grids.refs[p], grids.names[p])
            for p in grids.chain(position)
        )
        station = serving(self.data.workstations, [r.code for r in refs])
        place = place_members(refs, station, None)
        teams = [(d, self.staff.get(r.code, [])) for d, r in zip(place["grids"], refs, strict=True)]
        return OwnerInfo(refs, station, place, teams)


MAX_CACHED_ANSWERS = 100_000


def _members(obj: dict[str, Any]) -> bytes:
    """The members of a JSON object without its braces, e.g. ``"a":1,"b":[]``."""
    text = json.dumps(obj, ensure_ascii=False, allow_nan=False, separators=(",", ":"))
    return text[1:-1].encode("utf-8")


def _head_template() -> str:
    """The answer's JSON up to its place (``{"input":...,"point":...,"version":...,``) as a
    :meth:`str.format` template, written once from :func:`gridgeo.lookup.point_members`
    with a marker for each value: a request formats its numbers into it (under a
    microsecond, where encoding the members takes three).

    Examples
    --------
    >>> head = HEAD.format(lon=1.5, lat=2.5, crs="wgs84", x=1.5, y=2.5, version=3)
    >>> head
    '{"input":{"lon":1.5,"lat":2.5,"crs":"wgs84"},"point":{"lon":1.5,"lat":2.5,...,"version":3,'
    >>> json.loads(head[:-1] + "}")["point"]
    {'lon': 1.5, 'lat': 2.5, 'crs': 'EPSG:4490'}
    """
    names = ("lon", "lat", "crs", "x", "y", "version")
    marks: dict[str, Any] = {name: f"@{name}@" for name in names}  # text where numbers go
    head = point_members(marks["lon"], marks["lat"], marks["crs"], (marks["x"], marks["y"]))
    text = _members(head | {"version": marks["version"]}).decode()
    text = "{{" + text.replace("{", "{{").replace("}", "}}") + ","
    for name in names:  # a number's marker loses its quotes; crs stays a JSON string
        text = text.replace(f'"@{name}@"', f'"{{{name}}}"' if name == "crs" else f"{{{name}}}")
    assert "@" not in text, text
    return text


HEAD = _head_template()


_tables: dict[int, LookupTables] = {}
_tables_lock = threading.Lock()


def tables(data: Dataset) -> LookupTables:
    """The lookup tables of ``data``, built on first use and dropped with the Dataset.

    Dataset is a mutable dataclass (unhashable), so the cache is keyed on its
    id with a finaliser that removes the entry when the Dataset is collected.
    """
    found = _tables.get(id(data))
    if found is not None and found.data is data:
        return found
    with _tables_lock:
        found = _tables.get(id(data))
        if found is None or found.data is not data:
            # every worker maps the one index file of these grids (built by the first)
            index = index_for(data.grids, data.settings.store.index_folder)
            found = LookupTables(data, index, staff_by_grid(data.staff))
            _tables[id(data)] = found
            weakref.finalize(data, _tables.pop, id(data), None)
        return found


def warm(data: Dataset) -> None:
    """Build (or map) the tables of ``data`` before the first request."""
    t = tables(data)
    if len(t.index.owner_positions):
        t.index.assign_one(0.0, 0.0)  # touches the index's first pages


# --- one point ---------------------------------------------------------------------------


def parse_posts(value: str | None) -> frozenset[Post] | None:
    """The posts of a ``role`` filter (comma-separated, English or Chinese); None for all.

    Raises
    ------
    GridgeoError
        For an unknown post; the message lists the accepted words.
    """
    if value is None or not value.strip():
        return None
    posts = set()
    for word in (w.strip() for w in value.split(",")):
        if word not in POST_WORDS:
            raise GridgeoError(
                tr(
                    "role: unknown post {post!r}; use {posts} (comma-separated)",
                    post=word,
                    posts=listing(POST_WORDS),
                )
            )
        posts.add(POST_WORDS[word])
    return frozenset(posts)


def person(member: StaffMember, see: StaffAccess) -> dict[str, Any]:
    """A person of the answer; name and phone only when the caller may see them."""
    out = member.to_dict(with_contact=False)
    out["name"] = member.name if see.names else None
    out["phone"] = (member.phone or None) if see.contacts else None
    return out


def responsible(
    info: OwnerInfo | None,
    posts: frozenset[Post] | None,
    see: StaffAccess,
    partners: list[dict[str, Any]],
    dispatch: dict[str, Any] | None,
) -> dict[str, Any]:
    """The answer's members after the place: the people (none outside every grid), what
    the caller may see of them, the partner units and the dispatch section."""
    return {
        "staff": staff_section(info, posts, see) if info else [],
        "staff_names": see.names,
        "staff_contacts": see.contacts,
        "partners": partners,
        "dispatch": dispatch,
    }


def answer_dict(
    result: LookupResult, version: int | None, place: dict[str, Any], rest: dict[str, Any]
) -> dict[str, Any]:
    """The answer of ``GET /v1/lookup``: the core's point members of ``result``, the data's
    ``version``, its ``place`` (``result``'s place members, maybe cached) and the
    :func:`responsible` members ``rest``."""
    head = point_members(result.lon, result.lat, result.crs, result.cgcs2000)
    return head | {"version": version} | place | rest


def staff_section(
    info: OwnerInfo, posts: frozenset[Post] | None, see: StaffAccess
) -> list[dict[str, Any]]:
    """People per level of the chain, filtered by post."""
    return [
        {
            "grid": grid,
            "people": [person(m, see) for m in people if posts is None or m.role in posts],
        }
        for grid, people in info.teams
    ]


def partner(unit: PartnerUnit, see: StaffAccess) -> dict[str, Any]:
    """A covering partner unit (no routing reason)."""
    return {
        "code": unit.code,
        "type": unit.type.value,
        "type_zh": unit.type.zh,
        "type_en": unit.type.en,
        "group": unit.type.group,
        "name": unit.name,
        "zone_description": unit.zone.describe(),
        "rule": None,
        "reason": None,
        "on_boundary": None,
        "distance_m": None,
        "contact": (unit.contact or None) if see.names else None,
        "phone": (unit.phone or None) if see.contacts else None,
    }


def dispatched(
    data: Dataset, result: LookupResult, category: str, see: StaffAccess
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """The dispatch section and the matched partners (with reasons) for ``category``."""
    answer: DispatchResult = dispatch(
        result,
        category,
        staff=tables(data).staff,
        zones=data.zones,
        routing=data.require_routing(),
        categories=data.categories,
    )
    partners = []
    for match in answer.partners:
        out = partner(match.partner, see)
        out |= {
            "rule": match.rule.category,
            "reason": match.reason,
            "on_boundary": match.on_boundary,
            "distance_m": None if match.distance_m is None else round(match.distance_m, 2),
        }
        partners.append(out)
    section = {
        "category": answer.category.to_dict(),
        "rule": answer.rule.to_dict() if answer.rule else None,
        "grid_involved": answer.grid_involved,
        "grid_reason": answer.grid_reason,
        "uncovered_types": [t.value for t in answer.uncovered_types],
        "reached": answer.reached,
        "notes": list(answer.notes),
    }
    return section, partners


SAME_AS_STORAGE = ("wgs84", "cgcs2000")  # the same coordinates to centimetres


def to_storage(lon: float, lat: float, system: str) -> tuple[float, float]:
    """One checked point in CGCS2000 (scalar fast path; check_lonlat words the errors).

    Raises
    ------
    CoordinateError
        For a non-finite or out-of-range (maybe swapped) coordinate.
    """
    if not (math.isfinite(lon) and math.isfinite(lat) and -180 <= lon <= 180 and -90 <= lat <= 90):
        check_lonlat(lon, lat)  # raises, naming the problem
    if system in SAME_AS_STORAGE:
        return float(lon), float(lat)
    return to_cgcs2000_point(lon, lat, system)


def lookup_one_json(
    data: Dataset,
    lon: float,
    lat: float,
    crs: str,
    *,
    posts: frozenset[Post] | None = None,
    see: StaffAccess = HIDDEN,
) -> bytes:
    """``GET /v1/lookup`` without a category, as JSON bytes assembled from cached parts.

    Only the input, the point and the version are written per request; the rest
    depends on the owner grid (or the covering partner zones) and is cached.
    """
    system = parse_coord_system(crs)
    px, py = to_storage(lon, lat, system)
    t = tables(data)
    owner = t.index.assign_one(px, py)
    if owner < 0:  # outside every grid: the nearest grid differs per point, no cache
        answer = lookup_one(data, lon, lat, crs, posts=posts, see=see)
        return json.dumps(answer, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    x, y = repr(px), repr(py)  # a float's repr is its JSON text
    ix, iy = (x, y) if system in SAME_AS_STORAGE else (repr(float(lon)), repr(float(lat)))
    version = "null" if data.version is None else int(data.version)
    head = HEAD.format(lon=ix, lat=iy, crs=system, x=x, y=y, version=version).encode()
    return head + t.tail_json(owner, posts, see, t.covering(owner, px, py))


def lookup_one(
    data: Dataset,
    lon: float,
    lat: float,
    crs: str,
    *,
    posts: frozenset[Post] | None = None,
    see: StaffAccess = HIDDEN,
    category: str | None = None,
) -> dict[str, Any]:
    """The full answer of ``GET /v1/lookup`` for one point.

    Raises
    ------
    CoordinateError
        For an unknown ``crs``, a non-finite, out-of-range or swapped coordinate.
    CategoryError
        For an unknown ``category``.
    """
    system = parse_coord_system(crs)
    px, py = to_storage(lon, lat, system)
    t = tables(data)
    owner = t.index.assign_one(px, py)
    x, y = float(lon), float(lat)
    info = t.owner(owner) if owner >= 0 else None
    if info is not None:
        result = LookupResult(x, y, system, (px, py), info.refs, info.workstation, None)
        place = info.place
    else:  # outside every grid: the nearest grid, if one is close
        near = data.locator.lookup(px, py, "cgcs2000").nearest
        result = LookupResult(x, y, system, (px, py), (), None, near)
        place = place_members(result.grids, result.workstation, result.nearest)
    if category is None:
        zones = data.zones
        covering = [partner(zones.partners[p], see) for p in t.covering(owner, px, py)]
        rest = responsible(info, posts, see, covering, None)
    else:
        section, partners = dispatched(data, result, category, see)
        rest = responsible(info, posts, see, partners, section)
    return answer_dict(result, data.version, place, rest)


# --- many points -------------------------------------------------------------------------


@dataclass
class BatchPoints:
    """Points of a batch body: raw values (maybe bad) and ids, in input order."""

    lon: list[object]
    lat: list[object]
    ids: list[object]
    problems: list[str | None]


def parse_batch(body: object) -> BatchPoints:
    """Points from a JSON array of ``{lon, lat[, id]}`` or a GeoJSON FeatureCollection.

    A malformed *point* is kept with its problem (answered per point); only a
    body of the wrong shape raises.

    Raises
    ------
    BatchFormatError
        When ``body`` is neither a list nor a FeatureCollection.
    """
    if isinstance(body, list):
        return _points_from_list(body)
    if isinstance(body, dict) and body.get("type") == "FeatureCollection":
        features = body.get("features")
        if not isinstance(features, list):
            raise BatchFormatError(tr("FeatureCollection: 'features' must be an array"))
        return _points_from_features(features)
    if isinstance(body, dict) and "type" in body:
        raise BatchFormatError(
            tr(
                "GeoJSON type {type!r}: send a FeatureCollection of Points",
                type=body.get("type"),
            )
        )
    raise BatchFormatError(
        tr(
            "body must be a JSON array of {point} objects or a GeoJSON FeatureCollection of Points",
            point="{lon, lat[, id]}",
        )
    )


def _points_from_list(items: list[object]) -> BatchPoints:
    out = BatchPoints([], [], [], [])
    for item in items:
        if not isinstance(item, dict):
            wrong = tr("expected an object with lon and lat, got {kind}", kind=_kind(item))
            _add(out, None, None, None, wrong)
            continue
        lon, lat = item.get("lon"), item.get("lat")
        missing = [k for k in ("lon", "lat") if item.get(k) is None]
        _add(out, lon, lat, item.get("id"), _missing(missing) if missing else None)
    return out


def _points_from_features(features: list[object]) -> BatchPoints:
    out = BatchPoints([], [], [], [])
    for feature in features:
        if not isinstance(feature, dict):
            problem = tr("expected a GeoJSON Feature, got {kind}", kind=_kind(feature))
            _add(out, None, None, None, problem)
            continue
        fid = feature.get("id")
        geom = feature.get("geometry")
        if not isinstance(geom, dict) or geom.get("type") != "Point":
            kind = geom.get("type") if isinstance(geom, dict) else _kind(geom)
            _add(out, None, None, fid, tr("geometry must be a Point, got {kind}", kind=kind))
            continue
        coords = geom.get("coordinates")
        if not isinstance(coords, list) or len(coords) not in (2, 3):
            problem = tr("Point coordinates must be [lon, lat] (or with height)")
            _add(out, None, None, fid, problem)
            continue
        _add(out, coords[0], coords[1], fid, None)
    return out


def _add(out: BatchPoints, lon: object, lat: object, pid: object, problem: str | None) -> None:
    out.lon.append(lon)
    out.lat.append(lat)
    out.ids.append(
        pid if isinstance(pid, str | int | float) and not isinstance(pid, bool) else None
    )
    out.problems.append(problem)


def _missing(names: list[str]) -> str:
    """The problem of a point without ``names`` (lon, lat or both)."""
    if len(names) == 2:
        return tr("missing lon and lat")
    return tr("missing {name}", name=names[0])


def _kind(value: object) -> str:
    return "null" if value is None else type(value).__name__


def _numeric(value: object) -> bool:
    # JSON numbers only: a string "110.3" or true is a malformed point, not a coordinate
    return isinstance(value, int | float) and not isinstance(value, bool)


def lookup_many(data: Dataset, points: BatchPoints, crs: str) -> dict[str, Any]:
    """The answer of ``POST /v1/lookup``: one result per point, in input order.

    Raises
    ------
    CoordinateError
        For an unknown ``crs`` (the whole request; point problems are per point).
    """
    system = parse_coord_system(crs)
    n = len(points.lon)
    problems = list(points.problems)
    for i in range(n):
        if problems[i] is None and not (_numeric(points.lon[i]) and _numeric(points.lat[i])):
            problems[i] = tr(
                "lon and lat must be numbers, got {lon!r}, {lat!r}",
                lon=points.lon[i],
                lat=points.lat[i],
            )
    x = np.array(
        [v if p is None else math.nan for v, p in zip(points.lon, problems, strict=True)], float
    )
    y = np.array(
        [v if p is None else math.nan for v, p in zip(points.lat, problems, strict=True)], float
    )
    bad = bad_lonlat_mask(x, y) if n else np.zeros(0, dtype=bool)
    for i in np.flatnonzero(bad).tolist():
        if problems[i] is None:
            problems[i] = _problem(float(x[i]), float(y[i]))
    good = np.flatnonzero(~bad)
    cx, cy = np.full(n, np.nan), np.full(n, np.nan)
    if good.size:
        gx, gy = to_cgcs2000(x[good], y[good], system)
        cx[good], cy[good] = gx, gy
    t = tables(data)
    owners = np.full(n, -1, dtype=np.int64)
    if good.size:
        owners[good] = t.index.assign(cx[good], cy[good], crs="cgcs2000")
    results = _batch_results(
        data, t, ids=points.ids, problems=problems, owners=owners, cx=cx, cy=cy
    )
    counts = {"ok": 0, "unassigned": 0, "bad_input": 0}
    for r in results:
        counts[r["status"]] += 1
    return {
        "version": data.version,
        "crs": system,
        "count": n,
        "counts": counts,
        "results": results,
    }


def _problem(x: float, y: float) -> str:
    try:
        check_lonlat(x, y)
    except CoordinateError as exc:
        return str(exc)
    return tr("unusable coordinate")


def _batch_results(
    data: Dataset,
    t: LookupTables,
    *,
    ids: Sequence[object],
    problems: Sequence[str | None],
    owners: npt.NDArray[np.int64],
    cx: npt.NDArray[np.float64],
    cy: npt.NDArray[np.float64],
) -> list[dict[str, Any]]:
    short: dict[int, tuple[list[dict[str, Any]], dict[str, Any] | None]] = {}
    results = []
    for i, owner in enumerate(owners.tolist()):
        item: dict[str, Any] = {
            "index": i,
            "id": ids[i],
            "status": "ok",
            "error": problems[i],
            "point": None,
            "grids": [],
            "workstation": None,
            "nearest": None,
        }
        if problems[i] is not None:
            item["status"] = "bad_input"
        else:
            item["point"] = {"lon": float(cx[i]), "lat": float(cy[i]), "crs": "EPSG:4490"}
            if owner >= 0:
                if owner not in short:
                    info = t.owner(owner)
                    ws = info.workstation
                    grids = info.place["grids"]
                    short[owner] = (grids, {"code": ws.code, "name": ws.name} if ws else None)
                item["grids"], item["workstation"] = short[owner]
            else:
                item["status"] = "unassigned"
                near = data.locator.lookup(float(cx[i]), float(cy[i]), "cgcs2000").nearest
                item["nearest"] = near.to_dict() if near else None
        results.append(item)
    return results
