"""The HTTP push of the exchange outbox: each partner's inbox URL, and on each outbox message
its push attempts, when the next one is due, the last error, and when it was delivered or why
the partner refused it.

New nullable columns (and ``push_attempts``, 0 for the messages already queued): nothing
stored changes meaning.

Revision ID: 0024
Revises: 0023
Create Date: 2026-12-07 10:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0024"
down_revision = "0023"
branch_labels = None
depends_on = None


def upgrade() -> None:
    moment = sa.DateTime(timezone=True)
    with op.batch_alter_table("exchange_partners") as batch:
        batch.add_column(sa.Column("inbox_url", sa.Text(), nullable=True))
    with op.batch_alter_table("exchange_outbox") as batch:
        batch.add_column(
            sa.Column("push_attempts", sa.Integer(), nullable=False, server_default="0")
        )
        batch.add_column(sa.Column("next_push_at", moment, nullable=True))
        batch.add_column(sa.Column("last_push_error", sa.Text(), nullable=True))
        batch.add_column(sa.Column("delivered_at", moment, nullable=True))
        batch.add_column(sa.Column("refused_reason", sa.String(20), nullable=True))
    op.create_index(
        "ix_exchange_outbox_delivered_at_next_push_at", "exchange_outbox",
        ["delivered_at", "next_push_at"],
    )  # fmt: skip


def downgrade() -> None:
    op.drop_index("ix_exchange_outbox_delivered_at_next_push_at", "exchange_outbox")
    with op.batch_alter_table("exchange_outbox") as batch:
        for column in ("refused_reason", "delivered_at", "last_push_error", "next_push_at",
                       "push_attempts"):  # fmt: skip
            batch.drop_column(column)
    with op.batch_alter_table("exchange_partners") as batch:
        batch.drop_column("inbox_url")
