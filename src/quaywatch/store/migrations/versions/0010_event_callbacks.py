"""DCSA event-subscription callbacks: the shared key each publisher signs its events with.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-06 16:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "event_callbacks",
        sa.Column("subscription_id", sa.String(length=100), nullable=False),
        sa.Column("user_id", sa.String(length=36), nullable=False),
        sa.Column("secret", sa.String(length=128), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.user_id"], name=op.f("fk_event_callbacks_user_id_users")
        ),
        sa.PrimaryKeyConstraint("subscription_id", name=op.f("pk_event_callbacks")),
    )


def downgrade() -> None:
    op.drop_table("event_callbacks")
