"""Exchange: what personal data each partner may receive (per message type, with the legal
basis), and the review of the risk profiles partners share.

New tables only: nothing already stored is touched.

Revision ID: 0027
Revises: 0021
Create Date: 2026-12-07 10:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0027"
down_revision = "0021"
branch_labels = None
depends_on = None


def upgrade() -> None:
    moment = sa.DateTime(timezone=True)
    op.create_table(
        "exchange_permissions",
        sa.Column("partner", sa.String(20), nullable=False),
        sa.Column("message_type", sa.String(32), nullable=False),
        sa.Column("personal", sa.Boolean(), nullable=False),
        sa.Column("legal_basis", sa.Text(), nullable=True),
        sa.Column("granted_at", moment, nullable=False),
        sa.Column("granted_by", sa.String(128), nullable=False),
        sa.PrimaryKeyConstraint("partner", "message_type", name="pk_exchange_permissions"),
    )
    op.create_table(
        "exchange_profile_reviews",
        sa.Column("message_id", sa.String(36), nullable=False),
        sa.Column("decision", sa.String(8), nullable=False),
        sa.Column("profile_id", sa.String(64), nullable=True),
        sa.Column("profile_version", sa.Integer(), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("decided_at", moment, nullable=False),
        sa.Column("decided_by", sa.String(128), nullable=False),
        sa.PrimaryKeyConstraint("message_id", name="pk_exchange_profile_reviews"),
    )


def downgrade() -> None:
    for table in ("exchange_profile_reviews", "exchange_permissions"):
        op.drop_table(table)
