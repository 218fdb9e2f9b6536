"""Carriers' documents: DCSA eBL transport documents and shipping instructions as filed.

``carrier_documents`` keeps each document (identified by its content; the same reference with
other content is a new revision), with its parties, equipment, seals and cargo items in child
tables. They are linked to consignments by transport document number, not merged into them.

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-10 10:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0018"
# Prepared beside other changes after 0016; the chain is set when they are merged.
down_revision = "0017"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "carrier_documents",
        sa.Column("document_id", sa.String(64), nullable=False),
        sa.Column("content_sha256", sa.String(64), nullable=False),
        sa.Column("document_kind", sa.String(2), nullable=False),
        sa.Column("reference", sa.String(100), nullable=False),
        sa.Column("revision", sa.Integer(), nullable=False),
        sa.Column("transport_document_reference", sa.String(35), nullable=True),
        sa.Column("shipping_instructions_reference", sa.String(100), nullable=True),
        sa.Column("booking_references", sa.Text(), nullable=True),
        sa.Column("status", sa.String(50), nullable=True),
        sa.Column("carrier_code", sa.String(10), nullable=True),
        sa.Column("carrier_code_list", sa.String(5), nullable=True),
        sa.Column("vessel_name", sa.Text(), nullable=True),
        sa.Column("vessel_imo", sa.String(7), nullable=True),
        sa.Column("voyage", sa.String(50), nullable=True),
        sa.Column("port_of_loading", sa.String(5), nullable=True),
        sa.Column("port_of_discharge", sa.String(5), nullable=True),
        sa.Column("place_of_delivery", sa.String(5), nullable=True),
        sa.Column("planned_arrival", sa.Date(), nullable=True),
        sa.Column("issue_date", sa.Date(), nullable=True),
        sa.Column("shipped_on_board_date", sa.Date(), nullable=True),
        sa.Column("is_to_order", sa.Boolean(), nullable=True),
        sa.Column("cargo_in_ics2_zone", sa.Boolean(), nullable=True),
        sa.Column("advance_manifest_filings", sa.Text(), nullable=True),
        sa.Column("declared_value", sa.Float(), nullable=True),
        sa.Column("declared_value_currency", sa.String(3), nullable=True),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("known_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("batch_id", sa.String(36), nullable=False),
        sa.ForeignKeyConstraint(
            ["batch_id"],
            ["import_batches.batch_id"],
            name="fk_carrier_documents_batch_id_import_batches",
            deferrable=True,
            initially="DEFERRED",
        ),  # fmt: skip
        sa.PrimaryKeyConstraint("document_id", name="pk_carrier_documents"),
    )
    op.create_index(
        "ix_carrier_documents_transport_document_reference",
        "carrier_documents",
        ["transport_document_reference"],
    )
    op.create_index("ix_carrier_documents_reference", "carrier_documents", ["reference"])
    op.create_table(
        "carrier_document_parties",
        sa.Column("document_id", sa.String(64), nullable=False),
        sa.Column("sequence", sa.Integer(), nullable=False),
        sa.Column("role", sa.String(20), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("address", sa.Text(), nullable=True),
        sa.Column("country", sa.String(2), nullable=True),
        sa.Column("eori", sa.String(17), nullable=True),
        sa.Column("tax_ids", sa.Text(), nullable=True),
        sa.Column("party_codes", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["document_id"],
            ["carrier_documents.document_id"],
            name="fk_carrier_document_parties_document_id_carrier_documents",
            ondelete="CASCADE",
        ),  # fmt: skip
        sa.PrimaryKeyConstraint("document_id", "sequence", name="pk_carrier_document_parties"),
    )
    op.create_table(
        "carrier_document_equipment",
        sa.Column("document_id", sa.String(64), nullable=False),
        sa.Column("container_number", sa.String(11), nullable=False),
        sa.Column("check_digit_valid", sa.Boolean(), nullable=False),
        sa.Column("size_type", sa.String(4), nullable=True),
        sa.Column("status", sa.String(5), nullable=True),
        sa.Column("shipper_owned", sa.Boolean(), nullable=True),
        sa.Column("tare_kg", sa.Float(), nullable=True),
        sa.Column("cargo_gross_kg", sa.Float(), nullable=True),
        sa.ForeignKeyConstraint(
            ["document_id"],
            ["carrier_documents.document_id"],
            name="fk_carrier_document_equipment_document_id_carrier_documents",
            ondelete="CASCADE",
        ),  # fmt: skip
        sa.PrimaryKeyConstraint(
            "document_id", "container_number", name="pk_carrier_document_equipment"
        ),
    )
    op.create_index(
        "ix_carrier_document_equipment_container_number",
        "carrier_document_equipment",
        ["container_number"],
    )
    equipment = ["carrier_document_equipment.document_id",
                 "carrier_document_equipment.container_number"]  # fmt: skip
    op.create_table(
        "carrier_document_seals",
        sa.Column("document_id", sa.String(64), nullable=False),
        sa.Column("container_number", sa.String(11), nullable=False),
        sa.Column("seal_number", sa.String(15), nullable=False),
        sa.Column("source", sa.String(3), nullable=True),
        sa.Column("type", sa.String(3), nullable=True),
        sa.ForeignKeyConstraint(
            ["document_id", "container_number"],
            equipment,
            name="fk_carrier_document_seals",
            ondelete="CASCADE",
        ),  # fmt: skip
        sa.PrimaryKeyConstraint(
            "document_id", "container_number", "seal_number", name="pk_carrier_document_seals"
        ),
    )
    op.create_table(
        "carrier_document_cargo",
        sa.Column("document_id", sa.String(64), nullable=False),
        sa.Column("sequence", sa.Integer(), nullable=False),
        sa.Column("consignment_item", sa.Integer(), nullable=False),
        sa.Column("hs_codes", sa.String(255), nullable=True),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("packages", sa.Integer(), nullable=True),
        sa.Column("package_code", sa.String(2), nullable=True),
        sa.Column("gross_weight_kg", sa.Float(), nullable=False),
        sa.Column("container_number", sa.String(11), nullable=False),
        sa.ForeignKeyConstraint(
            ["document_id", "container_number"],
            equipment,
            name="fk_carrier_document_cargo",
            ondelete="CASCADE",
        ),  # fmt: skip
        sa.PrimaryKeyConstraint("document_id", "sequence", name="pk_carrier_document_cargo"),
    )


def downgrade() -> None:
    for table in ("carrier_document_cargo", "carrier_document_seals",
                  "carrier_document_equipment", "carrier_document_parties"):  # fmt: skip
        op.drop_table(table)
    op.drop_index("ix_carrier_documents_reference", "carrier_documents")
    op.drop_index("ix_carrier_documents_transport_document_reference", "carrier_documents")
    op.drop_table("carrier_documents")
