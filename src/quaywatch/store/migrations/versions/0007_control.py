"""The control workflow: inspection orders, NII scan results and each order's history.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-27 09:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "inspection_orders",
        sa.Column("order_id", sa.String(length=35), nullable=False),
        sa.Column("run_id", sa.String(length=36), nullable=False),
        sa.Column("consignment_id", sa.String(length=35), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("decided_type", sa.String(length=11), nullable=False),
        sa.Column("control_type", sa.String(length=11), nullable=False),
        sa.Column("lane", sa.String(length=6), nullable=False),
        sa.Column("selected_by", sa.String(length=7), nullable=False),
        sa.Column("propensity", sa.Float(), nullable=False),
        sa.Column("terminal", sa.String(length=16), nullable=False),
        sa.Column("shift_start", sa.DateTime(timezone=True), nullable=False),
        sa.Column("state", sa.String(length=11), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("released_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["run_id"],
            ["selection_runs.run_id"],
            name=op.f("fk_inspection_orders_run_id_selection_runs"),
        ),
        sa.ForeignKeyConstraint(
            ["consignment_id", "version"],
            ["consignments.consignment_id", "consignments.version"],
            name=op.f("fk_inspection_orders_consignment_id_consignments"),
        ),
        sa.PrimaryKeyConstraint("order_id", name=op.f("pk_inspection_orders")),
    )
    with op.batch_alter_table("inspection_orders", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_inspection_orders_consignment_id_decided_type"),
            ["consignment_id", "decided_type"],
            unique=True,
        )
        batch_op.create_index(batch_op.f("ix_inspection_orders_state"), ["state"], unique=False)

    op.create_table(
        "scan_results",
        sa.Column("scan_id", sa.String(length=35), nullable=False),
        sa.Column("order_id", sa.String(length=35), nullable=False),
        sa.Column("image_ref", sa.Text(), nullable=False),
        sa.Column("verdict", sa.String(length=10), nullable=False),
        sa.Column("analyst", sa.String(length=128), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("recorded_by", sa.String(length=128), nullable=False),
        sa.ForeignKeyConstraint(
            ["order_id"],
            ["inspection_orders.order_id"],
            name=op.f("fk_scan_results_order_id_inspection_orders"),
        ),
        sa.PrimaryKeyConstraint("scan_id", name=op.f("pk_scan_results")),
    )
    with op.batch_alter_table("scan_results", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_scan_results_order_id"), ["order_id"], unique=False)

    op.create_table(
        "order_history",
        sa.Column("entry_id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("order_id", sa.String(length=35), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor", sa.String(length=128), nullable=False),
        sa.Column("action", sa.String(length=16), nullable=False),
        sa.Column("from_state", sa.String(length=11), nullable=True),
        sa.Column("to_state", sa.String(length=11), nullable=True),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("details", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["order_id"],
            ["inspection_orders.order_id"],
            name=op.f("fk_order_history_order_id_inspection_orders"),
        ),
        sa.PrimaryKeyConstraint("entry_id", name=op.f("pk_order_history")),
    )
    with op.batch_alter_table("order_history", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_order_history_order_id"), ["order_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("order_history", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_order_history_order_id"))
    op.drop_table("order_history")
    with op.batch_alter_table("scan_results", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_scan_results_order_id"))
    op.drop_table("scan_results")
    with op.batch_alter_table("inspection_orders", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_inspection_orders_state"))
        batch_op.drop_index(batch_op.f("ix_inspection_orders_consignment_id_decided_type"))
    op.drop_table("inspection_orders")
