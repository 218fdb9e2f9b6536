"""Control outcomes: the result of every documentary check, scan and physical examination,
with the selection propensity the learning loop needs and the seizure, if any.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-25 10:20:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "control_outcomes",
        sa.Column("control_id", sa.String(length=35), nullable=False),
        sa.Column("content_sha256", sa.String(length=64), nullable=False),
        sa.Column("consignment_id", sa.String(length=35), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("container_number", sa.String(length=11), nullable=True),
        sa.Column("control_type", sa.String(length=11), nullable=False),
        sa.Column("selected_by", sa.String(length=7), nullable=False),
        sa.Column("propensity", sa.Float(), nullable=False),
        sa.Column("controlled_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("known_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("result", sa.String(length=9), nullable=False),
        sa.Column("irregularity", sa.String(length=14), nullable=True),
        sa.Column("revenue_recovered_eur", sa.Float(), nullable=False),
        sa.Column("seizure_goods", sa.Text(), nullable=True),
        sa.Column("seizure_quantity", sa.Float(), nullable=True),
        sa.Column("seizure_unit", sa.String(length=3), nullable=True),
        sa.Column("seizure_hs6", sa.String(length=6), nullable=True),
        sa.Column("concealment", sa.String(length=14), nullable=True),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("batch_id", sa.String(length=36), nullable=False),
        sa.ForeignKeyConstraint(
            ["consignment_id", "version"],
            ["consignments.consignment_id", "consignments.version"],
            name=op.f("fk_control_outcomes_consignment_id_consignments"),
        ),
        sa.PrimaryKeyConstraint("control_id", name=op.f("pk_control_outcomes")),
    )
    with op.batch_alter_table("control_outcomes", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_control_outcomes_consignment_id_version"),
            ["consignment_id", "version"],
            unique=False,
        )
        batch_op.create_index(
            batch_op.f("ix_control_outcomes_known_at"), ["known_at"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("control_outcomes", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_control_outcomes_known_at"))
        batch_op.drop_index(batch_op.f("ix_control_outcomes_consignment_id_version"))

    op.drop_table("control_outcomes")
