"""IoT and reefer events (DCSA Track & Trace 3): ``sensor_events``.

What a container's own sensors report (a door opened or closed, a location, a reefer's
temperatures) is kept apart from ``events``, the movements the anomaly detectors read, whose
every row has a UN/LOCODE: a sensor often knows its coordinates only. One event id names one
event in either table (intake looks both up). A new table only: no existing table is copied,
so nothing already stored is touched.

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-07 06:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0020"
down_revision = "0019"
branch_labels = None
depends_on = None


def upgrade() -> None:
    moment = sa.DateTime(timezone=True)
    op.create_table(
        "sensor_events",
        sa.Column("event_id", sa.String(100), nullable=False),
        sa.Column("content_sha256", sa.String(64), nullable=False),
        sa.Column("event_type", sa.String(9), nullable=False),
        sa.Column("classifier", sa.String(3), nullable=False),
        sa.Column("event_code", sa.String(4), nullable=False),
        sa.Column("event_time", moment, nullable=False),
        sa.Column("created_time", moment, nullable=False),
        sa.Column("container_number", sa.String(11), nullable=False),
        sa.Column("un_locode", sa.String(5), nullable=True),
        sa.Column("facility_type", sa.String(4), nullable=True),
        sa.Column("latitude", sa.Float(), nullable=True),
        sa.Column("longitude", sa.Float(), nullable=True),
        sa.Column("iot_code", sa.String(3), nullable=True),
        sa.Column("temperature_unit", sa.String(3), nullable=True),
        sa.Column("setpoint_temperature", sa.Float(), nullable=True),
        sa.Column("ambient_temperature", sa.Float(), nullable=True),
        sa.Column("lowest_probe_temperature", sa.Float(), nullable=True),
        sa.Column("highest_probe_temperature", sa.Float(), nullable=True),
        sa.Column("received_at", moment, nullable=False),
        sa.Column("known_at", moment, nullable=False),
        sa.Column("batch_id", sa.String(36), nullable=False),
        sa.PrimaryKeyConstraint("event_id", name="pk_sensor_events"),
    )
    op.create_index(
        "ix_sensor_events_container_number_event_time",
        "sensor_events",
        ["container_number", "event_time"],
    )


def downgrade() -> None:
    op.drop_index("ix_sensor_events_container_number_event_time", table_name="sensor_events")
    op.drop_table("sensor_events")
