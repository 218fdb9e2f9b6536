"""Entity tallies: the kept entity state without the rows where only a record count changed.

``entity_states`` has a row per key at every lodging (about nine per goods item); assessing
reads only each key's first sighting and its controls and hits, which change at a fifth of
those rows. ``entity_tallies`` keeps just those rows (``intake.entity_state.tallies``), filled
here from the stored state in one statement, the same SQL on SQLite and PostgreSQL: a row of
``entity_states`` is kept where whether the key was sighted, its controls or its hits differ
from its row before (for its first row: from nothing sighted, nothing counted).

Revision ID: 0026
Revises: 0025
Create Date: 2026-12-07 17:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0026"
down_revision = "0025"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "entity_tallies",
        sa.Column("entity", sa.String(length=16), nullable=False),
        sa.Column("entity_key", sa.String(length=160), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("sighted", sa.Boolean(), nullable=False),
        sa.Column("controls", sa.Integer(), nullable=False),
        sa.Column("hits", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("entity", "entity_key", "at", name=op.f("pk_entity_tallies")),
    )
    op.execute(
        sa.text(
            "INSERT INTO entity_tallies (entity, entity_key, at, sighted, controls, hits) "
            "SELECT entity, entity_key, at, sighted, controls, hits FROM ("
            "SELECT entity, entity_key, at, records > 0 AS sighted, controls, hits, "
            "LAG(records > 0) OVER w AS was_sighted, LAG(controls) OVER w AS had_controls, "
            "LAG(hits) OVER w AS had_hits FROM entity_states "
            "WINDOW w AS (PARTITION BY entity, entity_key ORDER BY at)) s "
            "WHERE sighted <> COALESCE(was_sighted, FALSE) OR controls <> COALESCE(had_controls, 0) "
            "OR hits <> COALESCE(had_hits, 0)"
        )
    )


def downgrade() -> None:
    op.drop_table("entity_tallies")
