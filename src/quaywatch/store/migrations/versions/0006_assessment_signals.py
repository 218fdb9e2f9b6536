"""Assessments carry what the other risk sources added: model probability, lane floor, referral.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-25 13:30:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("assessments", schema=None) as batch_op:
        batch_op.add_column(sa.Column("model_probability", sa.Float(), nullable=True))
        batch_op.add_column(sa.Column("lane_floor", sa.String(length=6), nullable=True))
        batch_op.add_column(sa.Column("referral", sa.String(length=3), nullable=True))
        batch_op.add_column(
            sa.Column("critical", sa.Boolean(), server_default=sa.false(), nullable=False)
        )


def downgrade() -> None:
    with op.batch_alter_table("assessments", schema=None) as batch_op:
        batch_op.drop_column("critical")
        batch_op.drop_column("referral")
        batch_op.drop_column("lane_floor")
        batch_op.drop_column("model_probability")
