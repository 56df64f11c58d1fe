"""Open311 media: the ``media_url`` a reporter gave, and uploaded photos in ``case_media``.

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-05
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def _tz() -> sa.DateTime:
    return sa.DateTime(timezone=True)


def upgrade() -> None:
    # Nullable, so existing cases need no value and SQLite can add it with a plain ALTER.
    op.add_column("cases", sa.Column("media_url", sa.String(2000)))
    op.create_table(
        "case_media",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column(
            "case_id",
            sa.Integer,
            sa.ForeignKey("cases.id", ondelete="CASCADE"),
            nullable=False,
            index=True,
        ),
        sa.Column("content_type", sa.String(64), nullable=False),
        sa.Column("size", sa.Integer, nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("filename", sa.String(255), nullable=False),
        sa.Column("data", sa.LargeBinary, nullable=False),
        sa.Column("created_at", _tz(), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("case_media")
    # SQLite (3.35+) drops an unindexed column in place: no table copy, so SpatiaLite's
    # geometry metadata and triggers on ``cases`` stay as they are.
    op.drop_column("cases", "media_url")
