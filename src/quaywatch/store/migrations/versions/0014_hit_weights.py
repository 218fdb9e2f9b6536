"""Hit weights fitted on the site's own outcomes: versioned sets, their per-code rows, and the
set each assessment applied.

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-08 09:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "hit_weight_sets",
        sa.Column("version", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("fitted_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("fitted_by", sa.String(length=128), nullable=False),
        sa.Column("window_from", sa.DateTime(timezone=True), nullable=False),
        sa.Column("window_to", sa.DateTime(timezone=True), nullable=False),
        sa.Column("model_version", sa.String(length=64), nullable=False),
        sa.Column("prior_strength", sa.Float(), nullable=False),
        sa.Column("saturation_pct", sa.Float(), nullable=False),
        sa.Column("weighting", sa.String(length=8), nullable=False),
        sa.Column("max_weight", sa.Float(), nullable=False),
        sa.Column("consignments", sa.Integer(), nullable=False),
        sa.Column("controlled", sa.Integer(), nullable=False),
        sa.Column("hits", sa.Integer(), nullable=False),
        sa.Column("active", sa.Integer(), nullable=True),
        sa.Column("activated_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("version", name=op.f("pk_hit_weight_sets")),
    )
    with op.batch_alter_table("hit_weight_sets", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_hit_weight_sets_active"), ["active"], unique=True)
    op.create_table(
        "hit_weights",
        sa.Column("weight_set", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=128), nullable=False),
        sa.Column("source", sa.String(length=32), nullable=False),
        sa.Column("shipped_weight", sa.Float(), nullable=False),
        sa.Column("fitted_weight", sa.Float(), nullable=False),
        sa.Column("weight", sa.Float(), nullable=False),
        sa.Column("fired", sa.Integer(), nullable=False),
        sa.Column("controlled", sa.Integer(), nullable=False),
        sa.Column("hits", sa.Integer(), nullable=False),
        sa.Column("local_precision", sa.Float(), nullable=True),
        sa.Column("shrunk_precision", sa.Float(), nullable=False),
        sa.Column("expected", sa.Float(), nullable=False),
        sa.Column("evidence", sa.Float(), nullable=False),
        sa.Column("share", sa.Float(), nullable=False),
        sa.Column("saturated", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(
            ["weight_set"],
            ["hit_weight_sets.version"],
            name=op.f("fk_hit_weights_weight_set_hit_weight_sets"),
        ),
        sa.PrimaryKeyConstraint("weight_set", "code", name=op.f("pk_hit_weights")),
    )
    with op.batch_alter_table("assessments", schema=None) as batch_op:
        batch_op.add_column(sa.Column("weight_set", sa.Integer(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("assessments", schema=None) as batch_op:
        batch_op.drop_column("weight_set")
    op.drop_table("hit_weights")
    with op.batch_alter_table("hit_weight_sets", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_hit_weight_sets_active"))
    op.drop_table("hit_weight_sets")
