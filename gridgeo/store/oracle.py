"""PostGIS as an independent oracle for point lookup (``ST_Covers`` on subdivided grids).

The in-memory engines (``gridgeo.lookup``, ``gridgeo.index``) are tested
against this: same points, same boundaries version, answers from a different
implementation (PostGIS/GEOS in the server, GiST index, SQL). Grids are cut
with ``ST_Subdivide`` into parts of at most ``MAX_VERTICES`` vertices so each
``ST_Covers`` test is cheap; a point on a cut line is covered by both halves
of the same grid, so subdividing never changes an answer.

Semantics match the core: *covers* (a point on a boundary belongs to the
grid), and among grids covering a point the deepest level wins, then the
smallest code.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import text

from gridgeo.store.core import Store
from gridgeo.store.engine import StoreError

MAX_VERTICES = 64
PARTS_TABLE = "gridgeo_grid_parts"


def ensure_parts(store: Store, version_id: int) -> int:
    """Build the subdivided, GiST-indexed parts of a version (once); returns the part count."""
    _require_postgis(store)
    with store.transaction() as session:
        session.execute(
            text(
                f"CREATE UNLOGGED TABLE IF NOT EXISTS {PARTS_TABLE} ("
                " version_id integer NOT NULL, code varchar(32) NOT NULL, level integer NOT NULL,"
                " geom geometry(Polygon, 4490) NOT NULL)"
            )
        )
        session.execute(
            text(
                f"CREATE INDEX IF NOT EXISTS {PARTS_TABLE}_geom ON {PARTS_TABLE} USING gist (geom)"
            )
        )
        # one builder at a time per version; a second caller waits, then finds the parts
        session.execute(text("SELECT pg_advisory_xact_lock(4490, :v)"), {"v": version_id})
        count = session.execute(
            text(f"SELECT count(*) FROM {PARTS_TABLE} WHERE version_id = :v"), {"v": version_id}
        ).scalar_one()
        if count == 0:
            session.execute(
                text(
                    f"INSERT INTO {PARTS_TABLE} (version_id, code, level, geom)"
                    " SELECT version_id, code, level, (ST_Dump(ST_Subdivide(ST_MakeValid(geom),"
                    " :n))).geom FROM grids WHERE version_id = :v"
                ),
                {"v": version_id, "n": MAX_VERTICES},
            )
            session.execute(text(f"ANALYZE {PARTS_TABLE}"))
            count = session.execute(
                text(f"SELECT count(*) FROM {PARTS_TABLE} WHERE version_id = :v"),
                {"v": version_id},
            ).scalar_one()
        return int(count)


def locate(
    store: Store, version_id: int, lon: Sequence[float], lat: Sequence[float]
) -> list[str | None]:
    """The leaf grid code of each CGCS2000 point (None outside every grid), computed by PostGIS."""
    ensure_parts(store, version_id)
    stmt = text(
        f"""
        SELECT (
            SELECT gp.code FROM {PARTS_TABLE} gp
            WHERE gp.version_id = :v
              AND ST_Covers(gp.geom, ST_SetSRID(ST_MakePoint(p.x, p.y), 4490))
            ORDER BY gp.level DESC, gp.code ASC LIMIT 1
        )
        FROM unnest(CAST(:xs AS float8[]), CAST(:ys AS float8[])) WITH ORDINALITY AS p(x, y, i)
        ORDER BY p.i
        """
    )
    with store.reading() as session:
        rows = session.execute(
            stmt, {"v": version_id, "xs": [float(v) for v in lon], "ys": [float(v) for v in lat]}
        ).all()
    return [r[0] for r in rows]


def _require_postgis(store: Store) -> None:
    if store.backend != "postgresql":
        raise StoreError("the ST_Covers oracle needs PostGIS (a postgresql+psycopg:// store)")
