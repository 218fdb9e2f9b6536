"""Risk assessments: score, probability, revenue at stake, reasons and the model that made them.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-25 10:45:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "assessments",
        sa.Column("assessment_id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("run_id", sa.String(length=36), nullable=False),
        sa.Column("consignment_id", sa.String(length=35), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("assessed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("model_version", sa.String(length=64), nullable=False),
        sa.Column("profile_version", sa.String(length=64), nullable=True),
        sa.Column("probability", sa.Float(), nullable=False),
        sa.Column("score", sa.Float(), nullable=False),
        sa.Column("revenue_at_stake_eur", sa.Float(), nullable=False),
        sa.Column("reasons", sa.Text(), nullable=False),
        sa.Column("explained", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(
            ["consignment_id", "version"],
            ["consignments.consignment_id", "consignments.version"],
            name=op.f("fk_assessments_consignment_id_consignments"),
        ),
        sa.PrimaryKeyConstraint("assessment_id", name=op.f("pk_assessments")),
    )
    with op.batch_alter_table("assessments", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_assessments_consignment_id_version"),
            ["consignment_id", "version"],
            unique=False,
        )
        batch_op.create_index(batch_op.f("ix_assessments_run_id"), ["run_id"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_assessments_assessed_at"), ["assessed_at"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("assessments", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_assessments_assessed_at"))
        batch_op.drop_index(batch_op.f("ix_assessments_run_id"))
        batch_op.drop_index(batch_op.f("ix_assessments_consignment_id_version"))

    op.drop_table("assessments")
