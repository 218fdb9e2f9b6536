"""What each selection run's terminal shifts offered and used (the worklist's capacity meter),
the targeting officer's decision panel (lane overrides with a reason code, examiner
instructions, referrals with their state) and attachments to inspection orders (content kept
once, named by its SHA-256).

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-06 20:40:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None

_CONSIGNMENT = (
    ["consignment_id", "version"],
    ["consignments.consignment_id", "consignments.version"],
)


def upgrade() -> None:
    op.create_table(
        "selection_capacity",
        sa.Column("run_id", sa.String(length=36), nullable=False),
        sa.Column("shift_start", sa.DateTime(timezone=True), nullable=False),
        sa.Column("terminal", sa.String(length=16), nullable=False),
        sa.Column("resource", sa.String(length=64), nullable=False),
        sa.Column("shift", sa.String(length=32), nullable=False),
        sa.Column("capacity", sa.Float(), nullable=False),
        sa.Column("used", sa.Float(), nullable=False),
        sa.ForeignKeyConstraint(
            ["run_id"],
            ["selection_runs.run_id"],
            name=op.f("fk_selection_capacity_run_id_selection_runs"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint(
            "run_id", "shift_start", "terminal", "resource", name=op.f("pk_selection_capacity")
        ),
    )
    op.create_table(
        "selection_control_use",
        sa.Column("run_id", sa.String(length=36), nullable=False),
        sa.Column("control_type", sa.String(length=11), nullable=False),
        sa.Column("resource", sa.String(length=64), nullable=False),
        sa.Column("amount", sa.Float(), nullable=False),
        sa.ForeignKeyConstraint(
            ["run_id"],
            ["selection_runs.run_id"],
            name=op.f("fk_selection_control_use_run_id_selection_runs"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint(
            "run_id", "control_type", "resource", name=op.f("pk_selection_control_use")
        ),
    )
    op.create_table(
        "lane_overrides",
        sa.Column("override_id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("run_id", sa.String(length=36), nullable=False),
        sa.Column("consignment_id", sa.String(length=35), nullable=False),
        sa.Column("from_lane", sa.String(length=6), nullable=False),
        sa.Column("to_lane", sa.String(length=6), nullable=False),
        sa.Column("control_type", sa.String(length=11), nullable=True),
        sa.Column("reason_code", sa.String(length=24), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor", sa.String(length=128), nullable=False),
        sa.ForeignKeyConstraint(
            ["run_id", "consignment_id"],
            ["control_decisions.run_id", "control_decisions.consignment_id"],
            name=op.f("fk_lane_overrides_run_id_control_decisions"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("override_id", name=op.f("pk_lane_overrides")),
    )
    with op.batch_alter_table("lane_overrides", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_lane_overrides_run_id_consignment_id"),
            ["run_id", "consignment_id"],
            unique=False,
        )

    op.create_table(
        "examiner_instructions",
        sa.Column("instruction_id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("consignment_id", sa.String(length=35), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor", sa.String(length=128), nullable=False),
        sa.ForeignKeyConstraint(
            *_CONSIGNMENT, name=op.f("fk_examiner_instructions_consignment_id_consignments")
        ),
        sa.PrimaryKeyConstraint("instruction_id", name=op.f("pk_examiner_instructions")),
    )
    with op.batch_alter_table("examiner_instructions", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_examiner_instructions_consignment_id"), ["consignment_id"], unique=False
        )

    op.create_table(
        "referrals",
        sa.Column("referral_id", sa.String(length=36), nullable=False),
        sa.Column("consignment_id", sa.String(length=35), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=3), nullable=False),
        sa.Column("request", sa.Text(), nullable=False),
        sa.Column("state", sa.String(length=6), nullable=False),
        sa.Column("opened_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("opened_by", sa.String(length=128), nullable=False),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("closed_by", sa.String(length=128), nullable=True),
        sa.Column("result", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            *_CONSIGNMENT, name=op.f("fk_referrals_consignment_id_consignments")
        ),
        sa.PrimaryKeyConstraint("referral_id", name=op.f("pk_referrals")),
    )
    with op.batch_alter_table("referrals", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_referrals_consignment_id"), ["consignment_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_referrals_state"), ["state"], unique=False)

    op.create_table(
        "blobs",
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("media_type", sa.String(length=64), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("content", sa.LargeBinary(), nullable=False),
        sa.Column("stored_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("sha256", name=op.f("pk_blobs")),
    )
    op.create_table(
        "order_attachments",
        sa.Column("order_id", sa.String(length=35), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("filename", sa.String(length=255), nullable=False),
        sa.Column("caption", sa.Text(), nullable=True),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor", sa.String(length=128), nullable=False),
        sa.ForeignKeyConstraint(
            ["order_id"],
            ["inspection_orders.order_id"],
            name=op.f("fk_order_attachments_order_id_inspection_orders"),
        ),
        sa.ForeignKeyConstraint(
            ["sha256"], ["blobs.sha256"], name=op.f("fk_order_attachments_sha256_blobs")
        ),
        sa.PrimaryKeyConstraint("order_id", "sha256", name=op.f("pk_order_attachments")),
    )


def downgrade() -> None:
    op.drop_table("order_attachments")
    op.drop_table("blobs")
    with op.batch_alter_table("referrals", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_referrals_state"))
        batch_op.drop_index(batch_op.f("ix_referrals_consignment_id"))
    op.drop_table("referrals")
    with op.batch_alter_table("examiner_instructions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_examiner_instructions_consignment_id"))
    op.drop_table("examiner_instructions")
    with op.batch_alter_table("lane_overrides", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_lane_overrides_run_id_consignment_id"))
    op.drop_table("lane_overrides")
    op.drop_table("selection_control_use")
    op.drop_table("selection_capacity")
