"""The version of the reference data in use (``domain.reference``: ports, HS codes, tariff,
exchange rates, shipped and the site's) on every import batch and every assessment.

Rows written before this migration keep a null version: the reference data they were checked
with was the shipped one of their release, which nothing recorded.

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-07 06:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0019"
down_revision = "0018"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("import_batches") as batch:
        batch.add_column(sa.Column("reference_version", sa.String(32), nullable=True))
    with op.batch_alter_table("assessments") as batch:
        batch.add_column(sa.Column("reference_version", sa.String(32), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("assessments") as batch:
        batch.drop_column("reference_version")
    with op.batch_alter_table("import_batches") as batch:
        batch.drop_column("reference_version")
