"""Lane index: consignments by port of discharge and port of loading.

A live run reads a lane's earlier traffic (``risk.anomaly.reads.lane_boxes``: the
consignments from one country of origin to one port of discharge) the first time it assesses
a consignment of that lane each day. Without an index the read scanned every consignment; with
this one it reads the lane's own entries: the port of discharge, then the ports of loading of
the country of origin, a range of this index.

Building it reads every consignment once; on PostgreSQL the build holds a lock that makes
writes to consignments wait until it is done (seconds for a port's store, longer for a national
one): run ``quaywatch db upgrade`` when no import is running, as for every migration.

Revision ID: 0027
Revises: 0026
Create Date: 2026-12-07 20:30:00.000000
"""

from __future__ import annotations

from alembic import op

revision = "0027"
down_revision = "0026"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index(
        "ix_consignments_port_of_discharge_port_of_loading",
        "consignments",
        ["port_of_discharge", "port_of_loading"],
    )


def downgrade() -> None:
    op.drop_index("ix_consignments_port_of_discharge_port_of_loading", table_name="consignments")
