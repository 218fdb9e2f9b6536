"""Bind the rows stored before row hashes existed into one audited write, the baseline.

Before 0016 no import bound its rows; ``audit verify --full`` could only tell those rows by
their batch and time, which whoever writes to the database can also set. This binds them once
(``audit.full.bind_legacy``): their hashes are kept under the group ``BASELINE`` and an
``audit_baseline`` event carries the group's root, so from here on every covered row is judged.
A new or empty store has nothing to bind and gets no event. Where the trail is signed, the
upgrade needs the audit key (the event must be signed like the others).

The binding reads the covered tables as they were at this revision (``COVERED_THEN``, and
their columns but those ``audit.rows.LATE`` names): a table or column added later is not read.

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-07 05:30:00.000000
"""

from __future__ import annotations

from alembic import op

from quaywatch.audit.full import bind_legacy

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None


#: The tables row hashes covered at this revision: a table added later has no old rows.
COVERED_THEN = (
    "import_batches", "parties", "consignments", "goods_items", "containers", "seals", "events",
    "event_seals", "control_outcomes", "quarantine",
)  # fmt: skip


def upgrade() -> None:
    bind_legacy(op.get_bind(), COVERED_THEN)


def downgrade() -> None:
    """Nothing to undo: the baseline is part of the audit trail, which is never rewritten."""
