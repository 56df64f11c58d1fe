"""PostGIS as an independent oracle for point lookup (``ST_Covers`` on subdivided grids).

The in-memory engines (``gridgeo.lookup``, ``gridgeo.index``) are tested
against this: same points, same boundaries version, answers from a different
implementation (PostGIS/GEOS in the server, GiST index, SQL). Grids are cut
with ``ST_Subdivide`` into parts of at most ``MAX_VERTICES`` vertices, so the
GiST index and the ``ST_Covers`` test on a part are cheap. Clipping can move a
vertex by a rounding error, though (seen on the sample data: a vertex shared
by two grids was covered by only one grid's parts), so where the point lies
within ``NEAR_DEG`` of a part's boundary, ``ST_Covers`` on the whole grid
(made valid) decides instead.

Semantics match the core: *covers* (a point on a boundary belongs to the
grid), and among grids covering a point the deepest level wins, then the
smallest code.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import text
from sqlalchemy.orm import Session

from gridgeo.i18n import tr
from gridgeo.store.core import Store
from gridgeo.store.engine import StoreError

MAX_VERTICES = 64
NEAR_DEG = 1e-9  # far above clipping's rounding, far below any real distance
PARTS_TABLE = "gridgeo_oracle_parts"
GRIDS_TABLE = "gridgeo_oracle_grids"
_DDL = (
    f"CREATE UNLOGGED TABLE IF NOT EXISTS {GRIDS_TABLE} (version_id integer NOT NULL,"
    " grid_id integer PRIMARY KEY, code varchar(32) NOT NULL, level integer NOT NULL,"
    " geom geometry(Geometry, 4490) NOT NULL)",
    f"CREATE UNLOGGED TABLE IF NOT EXISTS {PARTS_TABLE} (version_id integer NOT NULL,"
    " grid_id integer NOT NULL, geom geometry(Polygon, 4490) NOT NULL,"
    " edge geometry(Geometry, 4490) NOT NULL)",
    f"CREATE INDEX IF NOT EXISTS {PARTS_TABLE}_geom ON {PARTS_TABLE} USING gist (geom)",
)


def ensure_parts(store: Store, version_id: int) -> int:
    """Build the oracle's tables for a version (once); returns the part count.

    ``gridgeo_oracle_grids`` holds each grid made valid; ``gridgeo_oracle_parts``
    its ``ST_Subdivide`` parts with their boundaries, GiST-indexed.
    """
    _require_postgis(store)
    with store.transaction() as session:
        for ddl in _DDL:
            session.execute(text(ddl))
        # one builder at a time per version; a second caller waits, then finds the parts
        session.execute(text("SELECT pg_advisory_xact_lock(4490, :v)"), {"v": version_id})
        if not _part_count(session, version_id):
            session.execute(
                text(
                    f"INSERT INTO {GRIDS_TABLE} (version_id, grid_id, code, level, geom)"
                    " SELECT version_id, id, code, level,"
                    " CASE WHEN ST_IsValid(geom) THEN geom ELSE ST_MakeValid(geom) END"
                    " FROM grids WHERE version_id = :v"
                ),
                {"v": version_id},
            )
            session.execute(
                text(
                    f"INSERT INTO {PARTS_TABLE} (version_id, grid_id, geom, edge)"
                    " SELECT version_id, grid_id, part, ST_Boundary(part) FROM ("
                    f"  SELECT version_id, grid_id, (ST_Dump(ST_Subdivide(geom, :n))).geom AS part"
                    f"  FROM {GRIDS_TABLE} WHERE version_id = :v) AS cut"
                    " WHERE ST_GeometryType(part) = 'ST_Polygon'"
                ),
                {"v": version_id, "n": MAX_VERTICES},
            )
            session.execute(text(f"ANALYZE {PARTS_TABLE}"))
        return _part_count(session, version_id)


def _part_count(session: Session, version_id: int) -> int:
    return int(
        session.execute(
            text(f"SELECT count(*) FROM {PARTS_TABLE} WHERE version_id = :v"), {"v": version_id}
        ).scalar_one()
    )


def locate(
    store: Store, version_id: int, lon: Sequence[float], lat: Sequence[float]
) -> list[str | None]:
    """The leaf grid code of each CGCS2000 point (None outside every grid), computed by PostGIS."""
    ensure_parts(store, version_id)
    # A part decides alone unless the point is within NEAR_DEG of the part's boundary
    # (a cut line or a clipped vertex); then the whole grid's geometry decides.
    stmt = text(
        f"""
        SELECT (
            SELECT g.code FROM {PARTS_TABLE} gp JOIN {GRIDS_TABLE} g ON g.grid_id = gp.grid_id
            WHERE gp.version_id = :v AND ST_DWithin(gp.geom, p.pt, :near)
              AND (NOT ST_DWithin(gp.edge, p.pt, :near) OR ST_Covers(g.geom, p.pt))
            ORDER BY g.level DESC, g.code ASC LIMIT 1
        )
        FROM (
            SELECT i, ST_SetSRID(ST_MakePoint(x, y), 4490) AS pt
            FROM unnest(CAST(:xs AS float8[]), CAST(:ys AS float8[])) WITH ORDINALITY AS u(x, y, i)
        ) AS p
        ORDER BY p.i
        """
    )
    with store.reading() as session:
        rows = session.execute(
            stmt,
            {
                "v": version_id,
                "near": NEAR_DEG,
                "xs": [float(v) for v in lon],
                "ys": [float(v) for v in lat],
            },
        ).all()
    return [r[0] for r in rows]


def _require_postgis(store: Store) -> None:
    if store.backend != "postgresql":
        raise StoreError(tr("the ST_Covers oracle needs PostGIS (a postgresql+psycopg:// store)"))
