"""Tamper evidence over the stored data: ``record_hashes``, and signed audit events.

``record_hashes`` keeps the canonical hash of every row an import batch (or another audited
write, such as the events control emits) wrote, grouped by that write; the write's audit event
carries the Merkle root of its group, so the hashes are bound into the chain
(``audit.rows``). ``audit_events.mac`` and ``key_id`` hold the HMAC-SHA256 of the event's hash
under the audit key held outside the store, when one is configured (``audit.signing``).

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-07 02:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "record_hashes",
        sa.Column("table_name", sa.String(32), nullable=False),
        sa.Column("row_key", sa.Text(), nullable=False),
        sa.Column("group_id", sa.String(64), nullable=False),
        sa.Column("row_sha256", sa.String(64), nullable=False),
        sa.PrimaryKeyConstraint("table_name", "row_key", "group_id", name="pk_record_hashes"),
    )
    with op.batch_alter_table("audit_events") as batch:
        batch.add_column(sa.Column("mac", sa.String(64), nullable=True))
        batch.add_column(sa.Column("key_id", sa.String(16), nullable=True))
    with op.batch_alter_table("audit_head") as batch:
        batch.add_column(sa.Column("signed_from", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("mac", sa.String(64), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("audit_head") as batch:
        batch.drop_column("mac")
        batch.drop_column("signed_from")
    with op.batch_alter_table("audit_events") as batch:
        batch.drop_column("key_id")
        batch.drop_column("mac")
    op.drop_table("record_hashes")
