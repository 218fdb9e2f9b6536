"""Initial tables: parties, consignments and their goods, containers and seals, events,
import batches, quarantine and the audit chain.

Revision ID: 0001
Revises: (none)
Create Date: 2026-11-23 14:29:23.577768
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:

    op.create_table(
        "audit_events",
        sa.Column("seq", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor", sa.String(length=128), nullable=False),
        sa.Column("action", sa.String(length=64), nullable=False),
        sa.Column("object_type", sa.String(length=64), nullable=False),
        sa.Column("object_id", sa.String(length=140), nullable=False),
        sa.Column("details", sa.Text(), nullable=False),
        sa.Column("prev_hash", sa.String(length=64), nullable=False),
        sa.Column("hash", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("seq", name=op.f("pk_audit_events")),
    )
    op.create_table(
        "audit_head",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("hash", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_head")),
    )
    op.create_table(
        "consignments",
        sa.Column("consignment_id", sa.String(length=35), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("content_sha256", sa.String(length=64), nullable=False),
        sa.Column("transport_document", sa.String(length=35), nullable=False),
        sa.Column("master_transport_document", sa.String(length=35), nullable=True),
        sa.Column("lodged_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("declarant_key", sa.String(length=32), nullable=False),
        sa.Column("consignor_key", sa.String(length=32), nullable=False),
        sa.Column("consignee_key", sa.String(length=32), nullable=False),
        sa.Column("notify_party_key", sa.String(length=32), nullable=True),
        sa.Column("carrier_scac", sa.String(length=4), nullable=False),
        sa.Column("vessel_imo", sa.String(length=7), nullable=False),
        sa.Column("vessel_name", sa.Text(), nullable=True),
        sa.Column("voyage", sa.String(length=35), nullable=True),
        sa.Column("port_of_loading", sa.String(length=5), nullable=False),
        sa.Column("transshipment_ports", sa.String(length=255), nullable=True),
        sa.Column("port_of_discharge", sa.String(length=5), nullable=False),
        sa.Column("place_of_delivery", sa.String(length=5), nullable=True),
        sa.Column("eta", sa.DateTime(timezone=True), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("batch_id", sa.String(length=36), nullable=False),
        sa.PrimaryKeyConstraint("consignment_id", "version", name=op.f("pk_consignments")),
    )
    with op.batch_alter_table("consignments", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_consignments_received_at"), ["received_at"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_consignments_transport_document"), ["transport_document"], unique=False
        )

    op.create_table(
        "events",
        sa.Column("event_id", sa.String(length=100), nullable=False),
        sa.Column("content_sha256", sa.String(length=64), nullable=False),
        sa.Column("event_type", sa.String(length=9), nullable=False),
        sa.Column("classifier", sa.String(length=3), nullable=False),
        sa.Column("event_code", sa.String(length=4), nullable=False),
        sa.Column("event_time", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_time", sa.DateTime(timezone=True), nullable=False),
        sa.Column("un_locode", sa.String(length=5), nullable=False),
        sa.Column("facility_type", sa.String(length=4), nullable=True),
        sa.Column("container_number", sa.String(length=11), nullable=True),
        sa.Column("empty_indicator", sa.String(length=5), nullable=True),
        sa.Column("vessel_imo", sa.String(length=7), nullable=True),
        sa.Column("transport_document", sa.String(length=35), nullable=True),
        sa.Column("is_transshipment", sa.Boolean(), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("batch_id", sa.String(length=36), nullable=False),
        sa.PrimaryKeyConstraint("event_id", name=op.f("pk_events")),
    )
    with op.batch_alter_table("events", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_events_container_number_event_time"),
            ["container_number", "event_time"],
            unique=False,
        )

    op.create_table(
        "import_batches",
        sa.Column("batch_id", sa.String(length=36), nullable=False),
        sa.Column("source", sa.Text(), nullable=False),
        sa.Column("source_sha256", sa.String(length=64), nullable=True),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("actor", sa.String(length=128), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("records_read", sa.Integer(), nullable=False),
        sa.Column("records_new", sa.Integer(), nullable=False),
        sa.Column("records_unchanged", sa.Integer(), nullable=False),
        sa.Column("records_quarantined", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("batch_id", name=op.f("pk_import_batches")),
    )
    op.create_table(
        "parties",
        sa.Column("party_key", sa.String(length=32), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("address", sa.Text(), nullable=True),
        sa.Column("country", sa.String(length=2), nullable=False),
        sa.Column("eori", sa.String(length=17), nullable=True),
        sa.Column("aeo", sa.String(length=4), nullable=False),
        sa.Column("phone", sa.String(length=64), nullable=True),
        sa.Column("email", sa.String(length=254), nullable=True),
        sa.Column("first_seen_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("batch_id", sa.String(length=36), nullable=False),
        sa.PrimaryKeyConstraint("party_key", name=op.f("pk_parties")),
    )
    op.create_table(
        "quarantine",
        sa.Column("quarantine_id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("batch_id", sa.String(length=36), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("source", sa.Text(), nullable=False),
        sa.Column("location", sa.String(length=64), nullable=False),
        sa.Column("record_id", sa.String(length=140), nullable=True),
        sa.Column("field", sa.String(length=64), nullable=True),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("errors", sa.JSON(), nullable=False),
        sa.Column("raw", sa.Text(), nullable=False),
        sa.Column("raw_sha256", sa.String(length=64), nullable=False),
        sa.Column("status", sa.String(length=8), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("resolved_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("resolved_batch_id", sa.String(length=36), nullable=True),
        sa.PrimaryKeyConstraint("quarantine_id", name=op.f("pk_quarantine")),
    )
    with op.batch_alter_table("quarantine", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_quarantine_record_id"), ["record_id"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_quarantine_status_raw_sha256"), ["status", "raw_sha256"], unique=False
        )

    op.create_table(
        "containers",
        sa.Column("consignment_id", sa.String(length=35), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("container_number", sa.String(length=11), nullable=False),
        sa.Column("size_type", sa.String(length=4), nullable=False),
        sa.Column("status", sa.String(length=5), nullable=False),
        sa.ForeignKeyConstraint(
            ["consignment_id", "version"],
            ["consignments.consignment_id", "consignments.version"],
            name=op.f("fk_containers_consignment_id_consignments"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint(
            "consignment_id", "version", "container_number", name=op.f("pk_containers")
        ),
    )
    with op.batch_alter_table("containers", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_containers_container_number"), ["container_number"], unique=False
        )

    op.create_table(
        "event_seals",
        sa.Column("event_id", sa.String(length=100), nullable=False),
        sa.Column("seal_number", sa.String(length=15), nullable=False),
        sa.Column("source", sa.String(length=3), nullable=False),
        sa.Column("type", sa.String(length=3), nullable=False),
        sa.ForeignKeyConstraint(
            ["event_id"],
            ["events.event_id"],
            name=op.f("fk_event_seals_event_id_events"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("event_id", "seal_number", name=op.f("pk_event_seals")),
    )
    op.create_table(
        "goods_items",
        sa.Column("consignment_id", sa.String(length=35), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("sequence", sa.Integer(), nullable=False),
        sa.Column("hs6", sa.String(length=6), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("packages", sa.Integer(), nullable=False),
        sa.Column("package_type", sa.String(length=2), nullable=False),
        sa.Column("gross_mass_kg", sa.Float(), nullable=False),
        sa.Column("value", sa.Float(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("origin_country", sa.String(length=2), nullable=False),
        sa.Column("container_number", sa.String(length=11), nullable=False),
        sa.ForeignKeyConstraint(
            ["consignment_id", "version"],
            ["consignments.consignment_id", "consignments.version"],
            name=op.f("fk_goods_items_consignment_id_consignments"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint(
            "consignment_id", "version", "sequence", name=op.f("pk_goods_items")
        ),
    )
    with op.batch_alter_table("goods_items", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_goods_items_hs6"), ["hs6"], unique=False)

    op.create_table(
        "seals",
        sa.Column("consignment_id", sa.String(length=35), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("container_number", sa.String(length=11), nullable=False),
        sa.Column("seal_number", sa.String(length=15), nullable=False),
        sa.Column("source", sa.String(length=3), nullable=False),
        sa.Column("type", sa.String(length=3), nullable=False),
        sa.ForeignKeyConstraint(
            ["consignment_id", "version", "container_number"],
            ["containers.consignment_id", "containers.version", "containers.container_number"],
            name=op.f("fk_seals_consignment_id_containers"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint(
            "consignment_id", "version", "container_number", "seal_number", name=op.f("pk_seals")
        ),
    )


def downgrade() -> None:

    op.drop_table("seals")
    with op.batch_alter_table("goods_items", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_goods_items_hs6"))

    op.drop_table("goods_items")
    op.drop_table("event_seals")
    with op.batch_alter_table("containers", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_containers_container_number"))

    op.drop_table("containers")
    with op.batch_alter_table("quarantine", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_quarantine_status_raw_sha256"))
        batch_op.drop_index(batch_op.f("ix_quarantine_record_id"))

    op.drop_table("quarantine")
    op.drop_table("parties")
    op.drop_table("import_batches")
    with op.batch_alter_table("events", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_events_container_number_event_time"))

    op.drop_table("events")
    with op.batch_alter_table("consignments", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_consignments_transport_document"))
        batch_op.drop_index(batch_op.f("ix_consignments_received_at"))

    op.drop_table("consignments")
    op.drop_table("audit_head")
    op.drop_table("audit_events")
