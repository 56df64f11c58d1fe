"""Edits in the browser: a draft records the version it was edited from, and a draft
replaced by a later save of the same edits records its successor.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("versions", sa.Column("based_on", sa.Integer))
    op.add_column("versions", sa.Column("superseded_by", sa.Integer))


def downgrade() -> None:
    op.drop_column("versions", "superseded_by")
    op.drop_column("versions", "based_on")
