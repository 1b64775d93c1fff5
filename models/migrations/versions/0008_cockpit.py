"""cockpit: quarterly team outcomes, space events and trainings, registrations and attendance

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-29 15:04:30.373502
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import models.base

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("bookings", schema=None) as batch_op:
        batch_op.create_index(
            "ix_bookings_cockpit",
            [
                "resource_id",
                "starts_at",
                "ends_at",
                "status",
                "checked_in_at",
                "checked_out_at",
                "cancelled_at",
            ],
            unique=False,
        )
    op.create_table(
        "space_events",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("space_id", sa.Integer(), nullable=False),
        sa.Column(
            "kind",
            sa.Enum(
                "event", "training", name="eventkind", native_enum=False, create_constraint=True, length=32
            ),
            nullable=False,
        ),
        sa.Column("title_zh", sa.String(length=200), nullable=False),
        sa.Column("title_en", sa.String(length=200), nullable=False),
        sa.Column("starts_at", models.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("ends_at", models.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("capacity", sa.Integer(), nullable=True),
        sa.Column("created_by_id", sa.Integer(), nullable=False),
        sa.Column("created_at", models.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", models.base.UTCDateTime(timezone=True), nullable=False),
        sa.CheckConstraint("ends_at > starts_at", name=op.f("ck_space_events_positive_range")),
        sa.ForeignKeyConstraint(
            ["created_by_id"], ["users.id"], name=op.f("fk_space_events_created_by_id_users")
        ),
        sa.ForeignKeyConstraint(["space_id"], ["spaces.id"], name=op.f("fk_space_events_space_id_spaces")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_space_events")),
    )
    with op.batch_alter_table("space_events", schema=None) as batch_op:
        batch_op.create_index("ix_space_events_space_starts", ["space_id", "starts_at"], unique=False)

    op.create_table(
        "event_registrations",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("event_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("team_id", sa.Integer(), nullable=True),
        sa.Column("attended", sa.Boolean(), nullable=False),
        sa.Column("note", sa.String(length=200), nullable=False),
        sa.Column("created_at", models.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", models.base.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["event_id"],
            ["space_events.id"],
            name=op.f("fk_event_registrations_event_id_space_events"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(["team_id"], ["teams.id"], name=op.f("fk_event_registrations_team_id_teams")),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name=op.f("fk_event_registrations_user_id_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_event_registrations")),
        sa.UniqueConstraint("event_id", "user_id", name=op.f("uq_event_registrations_event_id")),
    )
    with op.batch_alter_table("event_registrations", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_event_registrations_event_id"), ["event_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_event_registrations_user_id"), ["user_id"], unique=False)

    op.create_table(
        "team_outcomes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("team_id", sa.Integer(), nullable=False),
        sa.Column("space_id", sa.Integer(), nullable=False),
        sa.Column("quarter_start", sa.Date(), nullable=False),
        sa.Column(
            "revenue_band",
            sa.Enum(
                "none",
                "under_1m",
                "1m_10m",
                "10m_50m",
                "over_50m",
                name="revenueband",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("employees", sa.Integer(), nullable=False),
        sa.Column("funding_raised_10k_cny", sa.Numeric(precision=12, scale=2), nullable=False),
        sa.Column("patents_applied", sa.Integer(), nullable=False),
        sa.Column("patents_granted", sa.Integer(), nullable=False),
        sa.Column("technical_results", sa.Integer(), nullable=False),
        sa.Column("results_transferred", sa.Integer(), nullable=False),
        sa.Column(
            "status",
            sa.Enum(
                "submitted",
                "verified",
                "returned",
                name="outcomestatus",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("submitted_by_id", sa.Integer(), nullable=False),
        sa.Column("verified_by_id", sa.Integer(), nullable=True),
        sa.Column("verified_at", models.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("review_note", sa.Text(), nullable=False),
        sa.Column("created_at", models.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", models.base.UTCDateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "employees >= 0 AND patents_applied >= 0 AND patents_granted >= 0 AND technical_results >= 0 AND results_transferred >= 0 AND funding_raised_10k_cny >= 0",
            name=op.f("ck_team_outcomes_not_negative"),
        ),
        sa.ForeignKeyConstraint(["space_id"], ["spaces.id"], name=op.f("fk_team_outcomes_space_id_spaces")),
        sa.ForeignKeyConstraint(
            ["submitted_by_id"], ["users.id"], name=op.f("fk_team_outcomes_submitted_by_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["team_id"], ["teams.id"], name=op.f("fk_team_outcomes_team_id_teams"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["verified_by_id"], ["users.id"], name=op.f("fk_team_outcomes_verified_by_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_team_outcomes")),
        sa.UniqueConstraint("team_id", "quarter_start", name=op.f("uq_team_outcomes_team_id")),
    )
    with op.batch_alter_table("team_outcomes", schema=None) as batch_op:
        batch_op.create_index("ix_team_outcomes_space_quarter", ["space_id", "quarter_start"], unique=False)
        batch_op.create_index(batch_op.f("ix_team_outcomes_team_id"), ["team_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("bookings", schema=None) as batch_op:
        batch_op.drop_index("ix_bookings_cockpit")
    with op.batch_alter_table("team_outcomes", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_team_outcomes_team_id"))
        batch_op.drop_index("ix_team_outcomes_space_quarter")

    op.drop_table("team_outcomes")
    with op.batch_alter_table("event_registrations", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_event_registrations_user_id"))
        batch_op.drop_index(batch_op.f("ix_event_registrations_event_id"))

    op.drop_table("event_registrations")
    with op.batch_alter_table("space_events", schema=None) as batch_op:
        batch_op.drop_index("ix_space_events_space_starts")

    op.drop_table("space_events")
