"""The work loop: case state and urgency, tasks per unit, the case event log, the outbox,
webhook cursors, and the unit or grids an API key acts for.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def _tz() -> sa.DateTime:
    return sa.DateTime(timezone=True)


def upgrade() -> None:
    op.add_column(
        "cases", sa.Column("state", sa.String(16), nullable=False, server_default="reported")
    )
    op.add_column(
        "cases", sa.Column("urgency", sa.String(16), nullable=False, server_default="normal")
    )
    op.add_column("cases", sa.Column("revision", sa.Integer, nullable=False, server_default="0"))
    op.add_column("cases", sa.Column("public_note", sa.Text))
    op.add_column("cases", sa.Column("closed_at", _tz()))
    op.add_column("cases", sa.Column("registered_at", _tz()))
    op.create_index("ix_cases_registered_at", "cases", ["registered_at"])
    op.create_index("ix_cases_state", "cases", ["state"])
    # Cases from before the loop: closed ones stay closed, open ones wait for registration.
    op.execute("UPDATE cases SET state = 'closed', closed_at = updated_at WHERE status = 'closed'")
    op.add_column("case_media", sa.Column("event_id", sa.Integer))
    op.add_column("api_keys", sa.Column("unit_code", sa.String(64)))
    op.add_column("api_keys", sa.Column("grid_codes", sa.JSON, nullable=False, server_default="[]"))
    op.create_table(
        "case_tasks",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column(
            "case_id", sa.Integer, sa.ForeignKey("cases.id", ondelete="CASCADE"), nullable=False
        ),
        sa.Column("unit_code", sa.String(64), nullable=False),
        sa.Column("unit_name", sa.String(200), nullable=False),
        sa.Column("unit_type", sa.String(64), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("deadline", _tz(), nullable=False),
        sa.Column("dispatched_at", _tz(), nullable=False),
        sa.Column("updated_at", _tz(), nullable=False),
        sa.Column("extension_until", _tz()),
        sa.Column("grid_code", sa.String(32)),
        sa.Column("category", sa.String(64), nullable=False),
        sa.Column("suggested", sa.Boolean, nullable=False),
        sa.Column("prior_deadline", _tz()),
        sa.Column("extended_at", _tz()),
        sa.Column("prev_extended_at", _tz()),
        sa.Column("first_extended_at", _tz()),
        sa.Column("handled_at", _tz()),
        sa.Column("handled_by", sa.String(200)),
        sa.Column("failed_at", _tz()),
        sa.Column("cancelled_at", _tz()),
    )
    op.create_index("ix_case_tasks_case_id", "case_tasks", ["case_id"])
    op.create_index("ix_case_tasks_grid_code", "case_tasks", ["grid_code"])
    open_states = sa.text("state IN ('dispatched', 'accepted', 'rework')")
    op.create_index(
        "ix_case_tasks_open_unit_deadline",
        "case_tasks",
        ["unit_code", "deadline", "id"],
        sqlite_where=open_states,
        postgresql_where=open_states,
    )
    op.create_index("ix_case_tasks_unit_deadline", "case_tasks", ["unit_code", "deadline", "id"])
    op.create_index("ix_case_tasks_state_deadline", "case_tasks", ["state", "deadline"])
    op.create_table(
        "case_events",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column(
            "case_id", sa.Integer, sa.ForeignKey("cases.id", ondelete="CASCADE"), nullable=False
        ),
        sa.Column("task_id", sa.Integer, sa.ForeignKey("case_tasks.id", ondelete="CASCADE")),
        sa.Column("at", _tz(), nullable=False),
        sa.Column("action", sa.String(32), nullable=False),
        sa.Column("actor", sa.String(200), nullable=False),
        sa.Column("unit", sa.String(64), nullable=False),
        sa.Column("deadline", _tz()),
        sa.Column("note", sa.Text, nullable=False),
        sa.Column("from_state", sa.String(16), nullable=False),
        sa.Column("to_state", sa.String(16), nullable=False),
        sa.Column("detail", sa.JSON, nullable=False),
    )
    op.create_index("ix_case_events_case_id", "case_events", ["case_id"])
    op.create_index("ix_case_events_task_id", "case_events", ["task_id"])
    op.create_index("ix_case_events_at", "case_events", ["at"])
    op.create_index("ix_case_events_action", "case_events", ["action"])
    op.create_table(
        "outbox",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("created_at", _tz(), nullable=False),
        sa.Column("topic", sa.String(64), nullable=False),
        sa.Column("event_id", sa.Integer, sa.ForeignKey("case_events.id", ondelete="CASCADE")),
        sa.Column("payload", sa.JSON, nullable=False),
    )
    op.create_index("ix_outbox_event_id", "outbox", ["event_id"])
    op.create_table(
        "webhook_cursors",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("url", sa.String(1000), nullable=False, unique=True),
        sa.Column("delivered_id", sa.Integer, nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False),
        sa.Column("next_attempt_at", _tz()),
        sa.Column("last_error", sa.Text, nullable=False),
        sa.Column("updated_at", _tz(), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("webhook_cursors")
    op.drop_table("outbox")
    op.drop_table("case_events")
    op.drop_table("case_tasks")
    op.drop_index("ix_cases_state", "cases")
    op.drop_index("ix_cases_registered_at", "cases")
    for column in ("registered_at", "closed_at", "public_note", "revision", "urgency", "state"):
        op.drop_column("cases", column)
    op.drop_column("case_media", "event_id")
    op.drop_column("api_keys", "grid_codes")
    op.drop_column("api_keys", "unit_code")
