"""booking rules: a no-show fee per resource, and what happens to bookings when access is lost

Revision ID: 0010
Revises: 0008
Create Date: 2026-11-29 15:00:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


OLD_CHARGE_KINDS = ("usage", "refund", "late_cancel_fee")


def _charge_kind(values: Sequence[str]) -> sa.Enum:
    return sa.Enum(*values, name="chargekind", native_enum=False, create_constraint=True, length=32)


def upgrade() -> None:
    with op.batch_alter_table("availabilities") as batch:
        batch.add_column(sa.Column("no_show_fee_percent", sa.Integer(), server_default="100", nullable=False))
        batch.add_column(
            sa.Column(
                "lost_access_effect",
                sa.Enum(
                    "cancel",
                    "flag",
                    name="lost_access_effect",
                    native_enum=False,
                    create_constraint=True,
                    length=32,
                ),
                server_default="cancel",
                nullable=False,
            )
        )
    # The no-show fee gets a ledger line of its own kind.
    with op.batch_alter_table("charges") as batch:
        batch.alter_column(
            "kind",
            existing_type=_charge_kind(OLD_CHARGE_KINDS),
            type_=_charge_kind((*OLD_CHARGE_KINDS, "no_show_fee")),
            existing_nullable=False,
        )
    # A no-show never pays less than cancelling late.
    op.execute(
        "UPDATE availabilities SET no_show_fee_percent = late_cancel_fee_percent "
        "WHERE no_show_fee_percent < late_cancel_fee_percent"
    )


def downgrade() -> None:
    op.execute("DELETE FROM charges WHERE kind = 'no_show_fee'")
    with op.batch_alter_table("charges") as batch:
        batch.alter_column(
            "kind",
            existing_type=_charge_kind((*OLD_CHARGE_KINDS, "no_show_fee")),
            type_=_charge_kind(OLD_CHARGE_KINDS),
            existing_nullable=False,
        )
    with op.batch_alter_table("availabilities") as batch:
        batch.drop_column("lost_access_effect")
        batch.drop_column("no_show_fee_percent")
