"""Entity states: the track record of every entity at each moment it changed.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-03 09:00:00.000000

A store that existed before gets its state computed from the stored history
(``intake.entity_state.rebuild``); an empty store gets an empty table.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "entity_states",
        sa.Column("entity", sa.String(length=16), nullable=False),
        sa.Column("entity_key", sa.String(length=160), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("records", sa.Integer(), nullable=False),
        sa.Column("controls", sa.Integer(), nullable=False),
        sa.Column("hits", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("entity", "entity_key", "at", name=op.f("pk_entity_states")),
    )
    from quaywatch.intake import entity_state

    # The tallies have their own table from 0026 on, which fills it from this one.
    entity_state.rebuild(None, op.get_bind(), with_tallies=False)


def downgrade() -> None:
    op.drop_table("entity_states")
