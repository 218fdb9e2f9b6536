"""Exchange with partner administrations: roots of keys, partners, revoked keys, the inbox of
accepted messages, the rejected messages with their reasons, and the outbox.

New tables only: nothing already stored is touched.

Revision ID: 0021
Revises: 0020
Create Date: 2026-12-07 09:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0021"
down_revision = "0020"
branch_labels = None
depends_on = None


def upgrade() -> None:
    moment = sa.DateTime(timezone=True)
    op.create_table(
        "exchange_roots",
        sa.Column("administration", sa.String(20), nullable=False),
        sa.Column("version", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("own", sa.Boolean(), nullable=False),
        sa.Column("envelope", sa.Text(), nullable=False),
        sa.Column("fingerprint", sa.String(64), nullable=False),
        sa.Column("threshold", sa.Integer(), nullable=False),
        sa.Column("key_ids", sa.JSON(), nullable=False),
        sa.Column("issued_at", moment, nullable=False),
        sa.Column("expires_at", moment, nullable=False),
        sa.Column("stored_at", moment, nullable=False),
        sa.PrimaryKeyConstraint("administration", "version", name="pk_exchange_roots"),
    )
    op.create_index("ix_exchange_roots_own", "exchange_roots", ["own"])
    op.create_table(
        "exchange_partners",
        sa.Column("administration", sa.String(20), nullable=False),
        sa.Column("root_version", sa.Integer(), nullable=False),
        sa.Column("added_at", moment, nullable=False),
        sa.Column("updated_at", moment, nullable=False),
        sa.Column("revoked_at", moment, nullable=True),
        sa.Column("revoke_reason", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("administration", name="pk_exchange_partners"),
    )
    op.create_table(
        "exchange_revoked_keys",
        sa.Column("key_id", sa.String(64), nullable=False),
        sa.Column("administration", sa.String(20), nullable=False),
        sa.Column("revoked_at", moment, nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("key_id", name="pk_exchange_revoked_keys"),
    )
    op.create_table(
        "exchange_received",
        sa.Column("message_id", sa.String(36), nullable=False),
        sa.Column("sender", sa.String(20), nullable=False),
        sa.Column("recipient", sa.String(20), nullable=False),
        sa.Column("message_type", sa.String(32), nullable=False),
        sa.Column("payload_type", sa.String(100), nullable=False),
        sa.Column("payload_sha256", sa.String(64), nullable=False),
        sa.Column("key_id", sa.String(64), nullable=False),
        sa.Column("issued_at", moment, nullable=False),
        sa.Column("expires_at", moment, nullable=False),
        sa.Column("in_reply_to", sa.String(36), nullable=True),
        sa.Column("payload", sa.Text(), nullable=False),
        sa.Column("record", sa.Text(), nullable=False),
        sa.Column("source", sa.Text(), nullable=False),
        sa.Column("received_at", moment, nullable=False),
        sa.PrimaryKeyConstraint("message_id", name="pk_exchange_received"),
    )
    op.create_index(
        "ix_exchange_received_sender_received_at", "exchange_received", ["sender", "received_at"]
    )
    op.create_index("ix_exchange_received_in_reply_to", "exchange_received", ["in_reply_to"])
    op.create_table(
        "exchange_rejected",
        sa.Column("rejection_id", sa.String(36), nullable=False),
        sa.Column("raw_sha256", sa.String(64), nullable=False),
        sa.Column("reason", sa.String(20), nullable=False),
        sa.Column("detail", sa.Text(), nullable=False),
        sa.Column("payload_type", sa.String(200), nullable=True),
        sa.Column("sender", sa.String(20), nullable=True),
        sa.Column("message_id", sa.String(36), nullable=True),
        sa.Column("raw", sa.LargeBinary(), nullable=False),
        sa.Column("source", sa.Text(), nullable=False),
        sa.Column("received_at", moment, nullable=False),
        sa.PrimaryKeyConstraint("rejection_id", name="pk_exchange_rejected"),
    )
    op.create_index(
        "ix_exchange_rejected_raw_sha256_reason",
        "exchange_rejected",
        ["raw_sha256", "reason"],
        unique=True,
    )
    op.create_index("ix_exchange_rejected_received_at", "exchange_rejected", ["received_at"])
    op.create_table(
        "exchange_outbox",
        sa.Column("message_id", sa.String(36), nullable=False),
        sa.Column("recipient", sa.String(20), nullable=False),
        sa.Column("message_type", sa.String(32), nullable=False),
        sa.Column("payload_type", sa.String(100), nullable=False),
        sa.Column("payload_sha256", sa.String(64), nullable=False),
        sa.Column("in_reply_to", sa.String(36), nullable=True),
        sa.Column("payload", sa.Text(), nullable=False),
        sa.Column("record", sa.Text(), nullable=False),
        sa.Column("created_at", moment, nullable=False),
        sa.Column("created_by", sa.String(128), nullable=False),
        sa.Column("expires_at", moment, nullable=False),
        sa.Column("exported_at", moment, nullable=True),
        sa.Column("exports", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("message_id", name="pk_exchange_outbox"),
    )
    op.create_index(
        "ix_exchange_outbox_recipient_created_at", "exchange_outbox", ["recipient", "created_at"]
    )


def downgrade() -> None:
    for table in ("exchange_outbox", "exchange_rejected", "exchange_received",
                  "exchange_revoked_keys", "exchange_partners", "exchange_roots"):  # fmt: skip
        op.drop_table(table)
