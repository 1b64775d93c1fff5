"""task recommendations: which teams were told that a published task fits them, once each

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-29 19:00:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import models.base

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "task_recommendations",
        sa.Column("task_id", sa.Integer(), nullable=False),
        sa.Column("team_id", sa.Integer(), nullable=False),
        sa.Column("told_at", models.base.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["task_id"],
            ["tasks.id"],
            name=op.f("fk_task_recommendations_task_id_tasks"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["team_id"],
            ["teams.id"],
            name=op.f("fk_task_recommendations_team_id_teams"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("task_id", "team_id", name=op.f("pk_task_recommendations")),
    )
    with op.batch_alter_table("task_recommendations", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_task_recommendations_team_id"), ["team_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("task_recommendations", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_task_recommendations_team_id"))
    op.drop_table("task_recommendations")
