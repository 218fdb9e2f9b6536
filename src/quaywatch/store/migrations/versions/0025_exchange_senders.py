"""The exchange keys what it receives on (sender, message id), and partner_node tokens name
their partner.

- ``exchange_received``: primary key ``(sender, message_id)`` (was ``message_id``): a message
  id is its sender's to give, so another partner's message that happens to reuse it is stored
  too; an index on ``message_id`` keeps the look-ups by id.
- ``exchange_profile_reviews``: ``sender`` joins its key, filled from the inbox for the reviews
  already made (each id had one sender until now).
- ``api_tokens.partner``: the partner administration a ``partner_node`` token delivers for
  (null for every other token, and for partner_node tokens issued before: those are refused at
  the inbox until one bound to the partner is issued).

Revision ID: 0025
Revises: 0024
Create Date: 2026-12-09 10:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0025"
down_revision = "0024"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("exchange_received", recreate="auto") as batch:
        batch.drop_constraint("pk_exchange_received", type_="primary")
        batch.create_primary_key("pk_exchange_received", ["sender", "message_id"])
    op.create_index("ix_exchange_received_message_id", "exchange_received", ["message_id"])
    with op.batch_alter_table("exchange_profile_reviews") as batch:
        batch.add_column(sa.Column("sender", sa.String(20), nullable=True))
    received = sa.table(
        "exchange_received", sa.column("sender", sa.String), sa.column("message_id", sa.String)
    )
    reviews = sa.table(
        "exchange_profile_reviews",
        sa.column("sender", sa.String), sa.column("message_id", sa.String),
    )  # fmt: skip
    op.execute(
        reviews.update().values(
            sender=sa.select(received.c.sender)
            .where(received.c.message_id == reviews.c.message_id)
            .scalar_subquery()
        )
    )
    with op.batch_alter_table("exchange_profile_reviews", recreate="auto") as batch:
        batch.alter_column("sender", existing_type=sa.String(20), nullable=False)
        batch.drop_constraint("pk_exchange_profile_reviews", type_="primary")
        batch.create_primary_key("pk_exchange_profile_reviews", ["sender", "message_id"])
    with op.batch_alter_table("api_tokens") as batch:
        batch.add_column(sa.Column("partner", sa.String(20), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("api_tokens") as batch:
        batch.drop_column("partner")
    with op.batch_alter_table("exchange_profile_reviews", recreate="auto") as batch:
        batch.drop_constraint("pk_exchange_profile_reviews", type_="primary")
        batch.create_primary_key("pk_exchange_profile_reviews", ["message_id"])
        batch.drop_column("sender")
    op.drop_index("ix_exchange_received_message_id", "exchange_received")
    with op.batch_alter_table("exchange_received", recreate="auto") as batch:
        batch.drop_constraint("pk_exchange_received", type_="primary")
        batch.create_primary_key("pk_exchange_received", ["message_id"])
