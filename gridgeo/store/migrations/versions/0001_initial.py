"""Initial schema: versions, publications, grids, workstations, staff, partners, routing,
cases, API keys and the audit log.

Revision ID: 0001
Revises:
Create Date: 2026-11-28
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from geoalchemy2 import (
    Geometry,
    alembic_helpers,  # noqa: F401  (registers the geospatial table ops)
)

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

SRID = 4490
SPATIAL_TABLES = {"grids", "workstations", "partner_units", "cases"}


def _tz() -> sa.DateTime:
    return sa.DateTime(timezone=True)


def _version_fk() -> sa.Column[int]:
    return sa.Column(
        "version_id",
        sa.Integer,
        sa.ForeignKey("versions.id", ondelete="CASCADE", name=None),
        nullable=False,
        index=True,
    )


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("CREATE EXTENSION IF NOT EXISTS postgis")
    op.create_table(
        "versions",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("kind", sa.String(16), nullable=False, index=True),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("author", sa.String(200), nullable=False),
        sa.Column("note", sa.Text, nullable=False),
        sa.Column("source_name", sa.String(500), nullable=False),
        sa.Column("source_sha256", sa.String(64), nullable=False),
        sa.Column("feature_count", sa.Integer, nullable=False),
        sa.Column("errors", sa.Integer, nullable=False),
        sa.Column("warnings", sa.Integer, nullable=False),
        sa.Column("report", sa.JSON, nullable=False),
        sa.Column("created_at", _tz(), nullable=False),
        sa.Column("published_at", _tz()),
        sa.Column("retired_at", _tz()),
    )
    op.create_index(
        "uq_versions_one_published",
        "versions",
        ["kind"],
        unique=True,
        sqlite_where=sa.text("status = 'published'"),
        postgresql_where=sa.text("status = 'published'"),
    )
    op.create_table(
        "publications",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("kind", sa.String(16), nullable=False, index=True),
        sa.Column(
            "version_id", sa.Integer, sa.ForeignKey("versions.id"), nullable=False, index=True
        ),
        sa.Column("started_at", _tz(), nullable=False),
        sa.Column("ended_at", _tz()),
        sa.Column("actor", sa.String(200), nullable=False),
        sa.Column("forced", sa.Boolean, nullable=False),
        sa.Column("rollback", sa.Boolean, nullable=False),
    )
    op.create_geospatial_table(  # type: ignore[attr-defined]
        "grids",
        sa.Column("id", sa.Integer, primary_key=True),
        _version_fk(),
        sa.Column("code", sa.String(32), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("level", sa.Integer, nullable=False, index=True),
        sa.Column("parent_code", sa.String(32)),
        sa.Column("ref", sa.String(500), nullable=False),
        sa.Column("attributes", sa.JSON, nullable=False),
        sa.Column("geom", Geometry("MULTIPOLYGON", srid=SRID, spatial_index=True)),
        sa.UniqueConstraint("version_id", "code"),
    )
    op.create_geospatial_table(  # type: ignore[attr-defined]
        "workstations",
        sa.Column("id", sa.Integer, primary_key=True),
        _version_fk(),
        sa.Column("code", sa.String(32), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("community_codes", sa.JSON, nullable=False),
        sa.Column("address", sa.String(500), nullable=False),
        sa.Column("illustrative", sa.Boolean, nullable=False),
        sa.Column("note", sa.Text, nullable=False),
        sa.Column("geom", Geometry("POINT", srid=SRID, spatial_index=True)),
        sa.UniqueConstraint("version_id", "code"),
    )
    op.create_table(
        "staff",
        sa.Column("id", sa.Integer, primary_key=True),
        _version_fk(),
        sa.Column("person_id", sa.String(64), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("role", sa.String(32), nullable=False),
        sa.Column("employment", sa.String(32), nullable=False),
        sa.Column("grid_code", sa.String(32), nullable=False, index=True),
        sa.Column("title", sa.String(200), nullable=False),
        sa.Column("phone", sa.String(64), nullable=False),
    )
    op.create_geospatial_table(  # type: ignore[attr-defined]
        "partner_units",
        sa.Column("id", sa.Integer, primary_key=True),
        _version_fk(),
        sa.Column("unit_id", sa.String(64), nullable=False),
        sa.Column("type", sa.String(64), nullable=False, index=True),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("contact", sa.String(200), nullable=False),
        sa.Column("attributes", sa.JSON, nullable=False),
        sa.Column("geom", Geometry("MULTIPOLYGON", srid=SRID, spatial_index=True)),
    )
    op.create_table(
        "routing_rules",
        sa.Column("id", sa.Integer, primary_key=True),
        _version_fk(),
        sa.Column("category", sa.String(32), nullable=False),
        sa.Column("attributes", sa.JSON, nullable=False),
    )
    op.create_geospatial_table(  # type: ignore[attr-defined]
        "cases",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("created_at", _tz(), nullable=False),
        sa.Column("updated_at", _tz(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False, index=True),
        sa.Column("category", sa.String(64), nullable=False),
        sa.Column("description", sa.Text, nullable=False),
        sa.Column("address", sa.String(500), nullable=False),
        sa.Column("reporter", sa.String(200), nullable=False),
        sa.Column("source_lon", sa.Float, nullable=False),
        sa.Column("source_lat", sa.Float, nullable=False),
        sa.Column("source_crs", sa.String(16), nullable=False),
        *(sa.Column(f"code_l{n}", sa.String(32), index=n == 5) for n in range(1, 6)),
        sa.Column("workstation_code", sa.String(32)),
        sa.Column("partner_units", sa.JSON, nullable=False),
        sa.Column("agency_responsible", sa.String(500), nullable=False),
        sa.Column("boundary_version_id", sa.Integer, sa.ForeignKey("versions.id")),
        sa.Column("attributes", sa.JSON, nullable=False),
        sa.Column("geom", Geometry("POINT", srid=SRID, spatial_index=True)),
    )
    op.create_table(
        "api_keys",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("name", sa.String(200), nullable=False, unique=True),
        sa.Column("key_hash", sa.String(128), nullable=False, unique=True),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("created_at", _tz(), nullable=False),
        sa.Column("revoked_at", _tz()),
    )
    op.create_table(
        "audit_log",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("at", _tz(), nullable=False, index=True),
        sa.Column("actor", sa.String(200), nullable=False),
        sa.Column("action", sa.String(64), nullable=False, index=True),
        sa.Column("entity", sa.String(64), nullable=False),
        sa.Column("entity_id", sa.String(64), nullable=False),
        sa.Column("detail", sa.JSON, nullable=False),
    )


def downgrade() -> None:
    for table in (
        "audit_log",
        "api_keys",
        "cases",
        "routing_rules",
        "partner_units",
        "staff",
        "workstations",
        "grids",
        "publications",
        "versions",
    ):
        if table in SPATIAL_TABLES:
            # SpatiaLite's DropTable also removes the R*Tree index and metadata rows
            op.drop_geospatial_table(table)  # type: ignore[attr-defined]
        else:
            op.drop_table(table)
