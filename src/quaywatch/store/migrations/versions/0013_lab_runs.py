"""The policy lab's runs: simulations started from the web application or the API, their
state, parameters and figures.

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-07 09:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "lab_runs",
        sa.Column("run_id", sa.String(length=36), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=True),
        sa.Column("parameters", sa.Text(), nullable=False),
        sa.Column("state", sa.String(length=7), nullable=False),
        sa.Column("running", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.String(length=128), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("strategies_done", sa.Integer(), nullable=False),
        sa.Column("consignments", sa.Integer(), nullable=True),
        sa.Column("replay_start", sa.DateTime(timezone=True), nullable=True),
        sa.Column("summary", sa.Text(), nullable=True),
        sa.Column("weekly", sa.Text(), nullable=True),
        sa.Column("seconds", sa.Text(), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("run_id", name=op.f("pk_lab_runs")),
    )
    with op.batch_alter_table("lab_runs", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_lab_runs_running"), ["running"], unique=True)
        batch_op.create_index(batch_op.f("ix_lab_runs_state"), ["state"], unique=False)
        batch_op.create_index(batch_op.f("ix_lab_runs_created_at"), ["created_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("lab_runs", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_lab_runs_created_at"))
        batch_op.drop_index(batch_op.f("ix_lab_runs_state"))
        batch_op.drop_index(batch_op.f("ix_lab_runs_running"))
    op.drop_table("lab_runs")
