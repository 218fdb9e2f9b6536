"""Selection runs and the control decision each made per consignment.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-26 09:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "selection_runs",
        sa.Column("run_id", sa.String(length=36), nullable=False),
        sa.Column("window_from", sa.DateTime(timezone=True), nullable=False),
        sa.Column("window_to", sa.DateTime(timezone=True), nullable=False),
        sa.Column("capacity_source", sa.Text(), nullable=False),
        sa.Column("capacity_sha256", sa.String(length=64), nullable=False),
        sa.Column("random_rate", sa.Float(), nullable=False),
        sa.Column("seed", sa.Integer(), nullable=False),
        sa.Column("objective", sa.Float(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor", sa.String(length=128), nullable=False),
        sa.Column("candidates", sa.Integer(), nullable=False),
        sa.Column("selected", sa.Integer(), nullable=False),
        sa.Column("overloads", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("run_id", name=op.f("pk_selection_runs")),
    )
    op.create_table(
        "control_decisions",
        sa.Column("run_id", sa.String(length=36), nullable=False),
        sa.Column("consignment_id", sa.String(length=35), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("assessment_id", sa.Integer(), nullable=True),
        sa.Column("lane", sa.String(length=6), nullable=False),
        sa.Column("control_type", sa.String(length=11), nullable=True),
        sa.Column("selected_by", sa.String(length=7), nullable=False),
        sa.Column("propensity", sa.Float(), nullable=False),
        sa.Column("expected_value", sa.Float(), nullable=False),
        sa.Column("terminal", sa.String(length=16), nullable=False),
        sa.Column("shift_start", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["run_id"],
            ["selection_runs.run_id"],
            name=op.f("fk_control_decisions_run_id_selection_runs"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["consignment_id", "version"],
            ["consignments.consignment_id", "consignments.version"],
            name=op.f("fk_control_decisions_consignment_id_consignments"),
        ),
        sa.PrimaryKeyConstraint("run_id", "consignment_id", name=op.f("pk_control_decisions")),
    )
    with op.batch_alter_table("control_decisions", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_control_decisions_consignment_id_version"),
            ["consignment_id", "version"],
            unique=False,
        )


def downgrade() -> None:
    with op.batch_alter_table("control_decisions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_control_decisions_consignment_id_version"))
    op.drop_table("control_decisions")
    op.drop_table("selection_runs")
