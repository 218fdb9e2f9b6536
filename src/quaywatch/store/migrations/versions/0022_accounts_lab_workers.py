"""One-time passwords; lab runs with an owner, a heartbeat and a queue slot; party link keys.

``users.must_change_password``: a password an administrator had generated (shown once) must be
replaced by its user at the next login. ``lab_runs.owner`` and ``heartbeat_at``: which worker
runs a run and when it last said it was alive, so a run whose worker died is found and marked
failed by another. ``lab_runs.queue_slot``: a waiting run holds one of ``MAX_WAITING`` slots,
unique, so concurrent submits cannot queue more (the runs waiting now are given theirs).
``party_link_keys`` (and ``party_link_batches``, the import batches keyed): each party's
normalised address, phone, e-mail and EORI, indexed, for the entity review; created empty and
filled by the review itself (the normalisation is the risk layer's).

Revision ID: 0022
Revises: 0021
Create Date: 2026-12-08 09:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0022"
down_revision = "0021"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("users") as batch:
        batch.add_column(
            sa.Column("must_change_password", sa.Boolean(), server_default=sa.false(),
                      nullable=False)
        )  # fmt: skip
    with op.batch_alter_table("lab_runs") as batch:
        batch.add_column(sa.Column("owner", sa.String(length=128), nullable=True))
        batch.add_column(sa.Column("heartbeat_at", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("queue_slot", sa.Integer(), nullable=True))
    op.create_index("ix_lab_runs_queue_slot", "lab_runs", ["queue_slot"], unique=True)
    runs = sa.table("lab_runs", sa.column("run_id"), sa.column("state"),
                    sa.column("created_at"), sa.column("queue_slot"))  # fmt: skip
    conn = op.get_bind()
    waiting = conn.execute(
        sa.select(runs.c.run_id).where(runs.c.state == "queued")
        .order_by(runs.c.created_at, runs.c.run_id)
    ).scalars().all()  # fmt: skip
    for slot, run_id in enumerate(waiting, start=1):
        conn.execute(sa.update(runs).where(runs.c.run_id == run_id).values(queue_slot=slot))
    op.create_table(
        "party_link_keys",
        sa.Column("party_key", sa.String(32), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("value", sa.Text(), nullable=False),
        sa.Column("shown", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("party_key", "kind", "value", name="pk_party_link_keys"),
    )
    op.create_index("ix_party_link_keys_kind_value", "party_link_keys", ["kind", "value"])
    op.create_table(
        "party_link_batches",
        sa.Column("batch_id", sa.String(36), nullable=False),
        sa.PrimaryKeyConstraint("batch_id", name="pk_party_link_batches"),
    )


def downgrade() -> None:
    op.drop_table("party_link_batches")
    op.drop_index("ix_party_link_keys_kind_value", table_name="party_link_keys")
    op.drop_table("party_link_keys")
    op.drop_index("ix_lab_runs_queue_slot", table_name="lab_runs")
    with op.batch_alter_table("lab_runs") as batch:
        batch.drop_column("queue_slot")
        batch.drop_column("heartbeat_at")
        batch.drop_column("owner")
    with op.batch_alter_table("users") as batch:
        batch.drop_column("must_change_password")
