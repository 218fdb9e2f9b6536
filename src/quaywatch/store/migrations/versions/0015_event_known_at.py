"""When a container event counts as known to an assessment: ``events.known_at``.

``received_at`` stays the audit of arrival (when quaywatch stored the event); ``known_at`` is
what every as-of read compares with. An import chooses it explicitly: the moment it received
the event (the leak-free default) or the event's own creation time (a history loaded after the
fact, for backtests). Events stored before this migration were all imported with the first
meaning, so their ``known_at`` is their ``received_at``.

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-08 10:00:00.000000
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import sqlalchemy as sa
from alembic import op

revision = "0015"
# 0014 is another change prepared at the same time; the chain is set when both are merged.
down_revision = "0014"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("events") as batch:
        batch.add_column(sa.Column("known_at", sa.DateTime(timezone=True), nullable=True))
    op.execute("UPDATE events SET known_at = received_at")
    with _seals_kept(), op.batch_alter_table("events") as batch:
        batch.alter_column("known_at", existing_type=sa.DateTime(timezone=True), nullable=False)


def downgrade() -> None:
    with _seals_kept(), op.batch_alter_table("events") as batch:
        batch.drop_column("known_at")


@contextmanager
def _seals_kept() -> Iterator[None]:
    """Keep ``event_seals`` across a rebuild of ``events``: SQLite rebuilds the table (copy,
    drop, rename), and with foreign keys on, dropping ``events`` deletes every seal by its
    ``ON DELETE CASCADE`` (a pragma cannot turn them off inside the migration's transaction).
    The seals are copied aside first and put back after."""
    if op.get_bind().dialect.name != "sqlite":
        yield
        return
    op.execute("CREATE TEMP TABLE kept_event_seals AS SELECT * FROM event_seals")
    yield
    op.execute(
        "INSERT INTO event_seals SELECT * FROM kept_event_seals AS k WHERE NOT EXISTS "
        "(SELECT 1 FROM event_seals AS s WHERE s.event_id = k.event_id "
        "AND s.seal_number = k.seal_number)"
    )
    op.execute("DROP TABLE kept_event_seals")
