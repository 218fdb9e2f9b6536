"""Risk profiles (every version an analyst loaded, and its status) and screening watchlists.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-25 12:05:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "risk_profiles",
        sa.Column("profile_id", sa.String(length=64), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("content_sha256", sa.String(length=64), nullable=False),
        sa.Column("source", sa.Text(), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("owner", sa.String(length=128), nullable=False),
        sa.Column("valid_from", sa.DateTime(timezone=True), nullable=True),
        sa.Column("valid_to", sa.DateTime(timezone=True), nullable=True),
        sa.Column("status", sa.String(length=8), nullable=False),
        sa.Column("loaded_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("changed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("changed_by", sa.String(length=128), nullable=False),
        sa.PrimaryKeyConstraint("profile_id", "version", name=op.f("pk_risk_profiles")),
    )
    with op.batch_alter_table("risk_profiles", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_risk_profiles_status"), ["status"], unique=False)
    op.create_table(
        "watchlists",
        sa.Column("watchlist_id", sa.String(length=64), nullable=False),
        sa.Column("source", sa.Text(), nullable=False),
        sa.Column("list_date", sa.Date(), nullable=False),
        sa.Column("file", sa.Text(), nullable=False),
        sa.Column("content_sha256", sa.String(length=64), nullable=False),
        sa.Column("entries", sa.Integer(), nullable=False),
        sa.Column("loaded_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("loaded_by", sa.String(length=128), nullable=False),
        sa.PrimaryKeyConstraint("watchlist_id", name=op.f("pk_watchlists")),
    )
    op.create_table(
        "watchlist_entries",
        sa.Column("watchlist_id", sa.String(length=64), nullable=False),
        sa.Column("entry_id", sa.String(length=64), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("address", sa.Text(), nullable=True),
        sa.Column("country", sa.String(length=2), nullable=True),
        sa.Column("identifiers", sa.Text(), nullable=True),
        sa.Column("category", sa.String(length=32), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["watchlist_id"],
            ["watchlists.watchlist_id"],
            name=op.f("fk_watchlist_entries_watchlist_id_watchlists"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("watchlist_id", "entry_id", name=op.f("pk_watchlist_entries")),
    )


def downgrade() -> None:
    op.drop_table("watchlist_entries")
    op.drop_table("watchlists")
    with op.batch_alter_table("risk_profiles", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_risk_profiles_status"))
    op.drop_table("risk_profiles")
