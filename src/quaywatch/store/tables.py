"""The store's tables (SQLAlchemy Core). Alembic migrations in ``migrations/`` create them.

Natural keys throughout (consignment id + version, event id, party key): intake computes them,
so bulk loads need no round trip for generated ids. Every record carries ``received_at``, the
moment quaywatch learnt it, and the import batch that brought it. Container events also carry
``known_at``, the moment an assessment as of a time may see them: their ``received_at`` unless
their import chose their own creation time (a history loaded after the fact, for a backtest).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    Date,
    DateTime as _DateTime,
    Dialect,
    Float,
    ForeignKeyConstraint,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    false,
)
from sqlalchemy.types import TypeDecorator

metadata = MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)


class UtcDateTime(TypeDecorator[datetime]):
    """A timestamp stored in UTC and always read back timezone-aware.

    PostgreSQL keeps it as ``timestamptz``; SQLite has no time zones, so the UTC wall time is
    stored and the zone put back on read.
    """

    impl = _DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the store; quaywatch stores aware UTC times")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        assert isinstance(value, datetime)
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _batch() -> Column[str]:
    return Column("batch_id", String(36), nullable=False)


import_batches = Table(
    "import_batches",
    metadata,
    Column("batch_id", String(36), primary_key=True),
    Column("source", Text, nullable=False, doc="file path, or quarantine:ID for a retry"),
    Column("source_sha256", String(64)),
    Column("kind", String(16), nullable=False, doc="consignments, events or outcomes"),
    Column("actor", String(128), nullable=False),
    Column("started_at", UtcDateTime, nullable=False),
    Column("finished_at", UtcDateTime, nullable=False),
    Column("records_read", Integer, nullable=False),
    Column("records_new", Integer, nullable=False),
    Column("records_unchanged", Integer, nullable=False),
    Column("records_quarantined", Integer, nullable=False),
    Column("reference_version", String(32), doc="reference data the records were checked with"),
)

parties = Table(
    "parties",
    metadata,
    Column("party_key", String(32), primary_key=True, doc="hash of the normalised description"),
    Column("name", Text, nullable=False),
    Column("address", Text),
    Column("country", String(2), nullable=False),
    Column("eori", String(17)),
    Column("aeo", String(4), nullable=False),
    Column("phone", String(64)),
    Column("email", String(254)),
    Column("first_seen_at", UtcDateTime, nullable=False),
    _batch(),
)

# The linking keys of each party (normalised address, phone, e-mail, EORI: ``risk.graph``),
# indexed so that a party's neighbours are found without reading every party
# (``risk.neighbourhood``); filled import batch by import batch as the review needs them.
party_link_keys = Table(
    "party_link_keys",
    metadata,
    Column("party_key", String(32), primary_key=True),
    Column("kind", String(16), primary_key=True, doc="address, phone, email or eori"),
    Column("value", Text, primary_key=True, doc="the normalised value that links"),
    Column("shown", Text, nullable=False, doc="the value as the party declared it"),
    Index(None, "kind", "value"),
)

party_link_batches = Table(
    "party_link_batches",
    metadata,
    Column("batch_id", String(36), primary_key=True, doc="an import batch whose parties are keyed"),
)

consignments = Table(
    "consignments",
    metadata,
    Column("consignment_id", String(35), primary_key=True),
    Column("version", Integer, primary_key=True),
    Column("content_sha256", String(64), nullable=False),
    Column("transport_document", String(35), nullable=False),
    Column("master_transport_document", String(35)),
    Column("lodged_at", UtcDateTime, nullable=False),
    Column("declarant_key", String(32), nullable=False),
    Column("consignor_key", String(32), nullable=False),
    Column("consignee_key", String(32), nullable=False),
    Column("notify_party_key", String(32)),
    Column("carrier_scac", String(4), nullable=False),
    Column("vessel_imo", String(7), nullable=False),
    Column("vessel_name", Text),
    Column("voyage", String(35)),
    Column("port_of_loading", String(5), nullable=False),
    Column("transshipment_ports", String(255), doc="ordered UN/LOCODEs separated by |"),
    Column("port_of_discharge", String(5), nullable=False),
    Column("place_of_delivery", String(5)),
    Column("eta", UtcDateTime, nullable=False),
    Column("received_at", UtcDateTime, nullable=False),
    _batch(),
    Index(None, "transport_document"),
    Index(None, "received_at"),
    # A lane's earlier traffic (``risk.anomaly.reads.lane_boxes``): its port of discharge,
    # then the range of ports of loading of its country of origin.
    Index(None, "port_of_discharge", "port_of_loading"),
)

_consignment_fk = (
    ["consignment_id", "version"],
    ["consignments.consignment_id", "consignments.version"],
)

goods_items = Table(
    "goods_items",
    metadata,
    Column("consignment_id", String(35), primary_key=True),
    Column("version", Integer, primary_key=True),
    Column("sequence", Integer, primary_key=True),
    Column("hs6", String(6), nullable=False),
    Column("description", Text, nullable=False),
    Column("packages", Integer, nullable=False),
    Column("package_type", String(2), nullable=False),
    Column("gross_mass_kg", Float, nullable=False),
    Column("value", Float, nullable=False),
    Column("currency", String(3), nullable=False),
    Column("origin_country", String(2), nullable=False),
    Column("container_number", String(11), nullable=False),
    ForeignKeyConstraint(*_consignment_fk, ondelete="CASCADE"),
    Index(None, "hs6"),
)

containers = Table(
    "containers",
    metadata,
    Column("consignment_id", String(35), primary_key=True),
    Column("version", Integer, primary_key=True),
    Column("container_number", String(11), primary_key=True),
    Column("size_type", String(4), nullable=False),
    Column("status", String(5), nullable=False),
    ForeignKeyConstraint(*_consignment_fk, ondelete="CASCADE"),
    Index(None, "container_number"),
)

seals = Table(
    "seals",
    metadata,
    Column("consignment_id", String(35), primary_key=True),
    Column("version", Integer, primary_key=True),
    Column("container_number", String(11), primary_key=True),
    Column("seal_number", String(15), primary_key=True),
    Column("source", String(3), nullable=False),
    Column("type", String(3), nullable=False),
    ForeignKeyConstraint(
        ["consignment_id", "version", "container_number"],
        ["containers.consignment_id", "containers.version", "containers.container_number"],
        ondelete="CASCADE",
    ),
)

events = Table(
    "events",
    metadata,
    Column("event_id", String(100), primary_key=True),
    Column("content_sha256", String(64), nullable=False),
    Column("event_type", String(9), nullable=False),
    Column("classifier", String(3), nullable=False),
    Column("event_code", String(4), nullable=False),
    Column("event_time", UtcDateTime, nullable=False),
    Column("created_time", UtcDateTime, nullable=False),
    Column("un_locode", String(5), nullable=False),
    Column("facility_type", String(4)),
    Column("container_number", String(11)),
    Column("empty_indicator", String(5)),
    Column("vessel_imo", String(7)),
    Column("transport_document", String(35)),
    Column("is_transshipment", Boolean, nullable=False),
    Column("received_at", UtcDateTime, nullable=False, doc="when quaywatch stored it"),
    Column(
        "known_at",
        UtcDateTime,
        nullable=False,
        doc="when an assessment may know it: received_at, or created_time if the import chose",
    ),
    _batch(),
    Index(None, "container_number", "event_time"),
)

event_seals = Table(
    "event_seals",
    metadata,
    Column("event_id", String(100), primary_key=True),
    Column("seal_number", String(15), primary_key=True),
    Column("source", String(3), nullable=False),
    Column("type", String(3), nullable=False),
    ForeignKeyConstraint(["event_id"], ["events.event_id"], ondelete="CASCADE"),
)

sensor_events = Table(
    "sensor_events",
    metadata,
    Column("event_id", String(100), primary_key=True, doc="DCSA eventID: one key with events"),
    Column("content_sha256", String(64), nullable=False),
    Column("event_type", String(9), nullable=False, doc="IOT or REEFER"),
    Column("classifier", String(3), nullable=False),
    Column("event_code", String(4), nullable=False, doc="DETC (IoT), MEAS or ADJU (reefer)"),
    Column("event_time", UtcDateTime, nullable=False),
    Column("created_time", UtcDateTime, nullable=False),
    Column("container_number", String(11), nullable=False),
    Column("un_locode", String(5), doc="where known: a sensor often reports coordinates only"),
    Column("facility_type", String(4)),
    Column("latitude", Float),
    Column("longitude", Float),
    Column("iot_code", String(3), doc="DRO door opened, DRC door closed, LOC location"),
    Column("temperature_unit", String(3), doc="CEL or FAH"),
    Column("setpoint_temperature", Float),
    Column("ambient_temperature", Float),
    Column("lowest_probe_temperature", Float, doc="the coldest probe's measurement"),
    Column("highest_probe_temperature", Float, doc="the warmest probe's measurement"),
    Column("received_at", UtcDateTime, nullable=False, doc="when quaywatch stored it"),
    Column("known_at", UtcDateTime, nullable=False, doc="as events.known_at"),
    _batch(),
    Index(None, "container_number", "event_time"),
)

control_outcomes = Table(
    "control_outcomes",
    metadata,
    Column("control_id", String(35), primary_key=True, doc="the administration's control id"),
    Column("content_sha256", String(64), nullable=False),
    Column("consignment_id", String(35), nullable=False),
    Column("version", Integer, nullable=False),
    Column("container_number", String(11)),
    Column("control_type", String(11), nullable=False, doc="DOCUMENTARY, SCAN or PHYSICAL"),
    Column("selected_by", String(7), nullable=False, doc="RANDOM, RULE, OFFICER or MODEL"),
    Column("propensity", Float, nullable=False, doc="probability the policy selected it"),
    Column("controlled_at", UtcDateTime, nullable=False),
    Column("known_at", UtcDateTime, nullable=False, doc="when the result was recorded"),
    Column("result", String(9), nullable=False, doc="COMPLIANT, IRREGULAR or SEIZURE"),
    Column("irregularity", String(14)),
    Column("revenue_recovered_eur", Float, nullable=False),
    Column("seizure_goods", Text),
    Column("seizure_quantity", Float),
    Column("seizure_unit", String(3), doc="UN/ECE Rec. 20: KGM, NAR, MTQ"),
    Column("seizure_hs6", String(6)),
    Column("concealment", String(14)),
    Column("received_at", UtcDateTime, nullable=False),
    _batch(),
    ForeignKeyConstraint(*_consignment_fk),
    Index(None, "consignment_id", "version"),
    Index(None, "known_at"),
)

# Carriers' documents (DCSA eBL transport documents and shipping instructions): the carrier's
# filing, kept as it is and linked to consignments by transport document number. A document is
# identified by its content; the same reference with other content is a new revision.
carrier_documents = Table(
    "carrier_documents",
    metadata,
    Column("document_id", String(64), primary_key=True, doc="the SHA-256 of its content"),
    Column("content_sha256", String(64), nullable=False),
    Column("document_kind", String(2), nullable=False, doc="TD (transport document) or SI"),
    Column("reference", String(100), nullable=False, doc="its own reference (TD or SI number)"),
    Column("revision", Integer, nullable=False, doc="1, 2, ... by reference, in order received"),
    Column("transport_document_reference", String(35), doc="the B/L number"),
    Column("shipping_instructions_reference", String(100)),
    Column("booking_references", Text, doc="carrier booking references separated by |"),
    Column("status", String(50), doc="as the carrier gives it: DRAFT, ISSUED, RECEIVED, ..."),
    Column("carrier_code", String(10)),
    Column("carrier_code_list", String(5), doc="SMDG (liner code) or NMFTA (SCAC)"),
    Column("vessel_name", Text),
    Column("vessel_imo", String(7)),
    Column("voyage", String(50)),
    Column("port_of_loading", String(5)),
    Column("port_of_discharge", String(5)),
    Column("place_of_delivery", String(5)),
    Column("planned_arrival", Date),
    Column("issue_date", Date),
    Column("shipped_on_board_date", Date),
    Column("is_to_order", Boolean),
    Column("cargo_in_ics2_zone", Boolean, doc="isCargoDeliveredInICS2Zone, as given"),
    Column("advance_manifest_filings", Text, doc="TYPE:COUNTRY:FILED_BY separated by |"),
    Column("declared_value", Float),
    Column("declared_value_currency", String(3)),
    Column("received_at", UtcDateTime, nullable=False),
    Column("known_at", UtcDateTime, nullable=False, doc="when an assessment may know it"),
    _batch(),
    ForeignKeyConstraint(
        ["batch_id"], ["import_batches.batch_id"], deferrable=True, initially="DEFERRED"
    ),
    Index(None, "transport_document_reference"),
    Index(None, "reference"),
)

_document_fk = (["document_id"], ["carrier_documents.document_id"])

carrier_document_parties = Table(
    "carrier_document_parties",
    metadata,
    Column("document_id", String(64), primary_key=True),
    Column("sequence", Integer, primary_key=True),
    Column("role", String(20), nullable=False, doc="SHIPPER, CONSIGNEE, NOTIFY, ISSUER, ..."),
    Column("name", Text, nullable=False),
    Column("address", Text),
    Column("country", String(2)),
    Column("eori", String(17)),
    Column("tax_ids", Text, doc="TYPE:COUNTRY:VALUE separated by |"),
    Column("party_codes", Text, doc="LIST:CODE separated by | (e.g. LEI:5299...)"),
    ForeignKeyConstraint(*_document_fk, ondelete="CASCADE"),
)

carrier_document_equipment = Table(
    "carrier_document_equipment",
    metadata,
    Column("document_id", String(64), primary_key=True),
    Column("container_number", String(11), primary_key=True),
    Column("check_digit_valid", Boolean, nullable=False, doc="its ISO 6346 check digit holds"),
    Column("size_type", String(4)),
    Column("status", String(5)),
    Column("shipper_owned", Boolean),
    Column("tare_kg", Float),
    Column("cargo_gross_kg", Float, doc="the gross weight of the cargo items stowed in it"),
    ForeignKeyConstraint(*_document_fk, ondelete="CASCADE"),
    Index(None, "container_number"),
)

_equipment_fk = (
    ["document_id", "container_number"],
    ["carrier_document_equipment.document_id", "carrier_document_equipment.container_number"],
)

carrier_document_seals = Table(
    "carrier_document_seals",
    metadata,
    Column("document_id", String(64), primary_key=True),
    Column("container_number", String(11), primary_key=True),
    Column("seal_number", String(15), primary_key=True),
    Column("source", String(3), doc="CAR, SHI, PHY, VET or CUS where given"),
    Column("type", String(3), doc="KLP, BLT or WIR where given (DCSA eBL 3 gives none)"),
    ForeignKeyConstraint(*_equipment_fk, ondelete="CASCADE", name="fk_carrier_document_seals"),
)

carrier_document_cargo = Table(
    "carrier_document_cargo",
    metadata,
    Column("document_id", String(64), primary_key=True),
    Column("sequence", Integer, primary_key=True),
    Column("consignment_item", Integer, nullable=False),
    Column("hs_codes", String(255), doc="HS subheadings (six digits) separated by |"),
    Column("description", Text, nullable=False),
    Column("packages", Integer),
    Column("package_code", String(2)),
    Column("gross_weight_kg", Float, nullable=False),
    Column("container_number", String(11), nullable=False),
    # its container is one of the document's equipment (so the document's too)
    ForeignKeyConstraint(*_equipment_fk, ondelete="CASCADE", name="fk_carrier_document_cargo"),
)

assessments = Table(
    "assessments",
    metadata,
    Column("assessment_id", Integer, primary_key=True, autoincrement=True),
    Column("run_id", String(36), nullable=False, doc="the scoring run that made it"),
    Column("consignment_id", String(35), nullable=False),
    Column("version", Integer, nullable=False),
    Column("assessed_at", UtcDateTime, nullable=False),
    Column("model_version", String(64), nullable=False),
    Column("profile_version", String(64), doc="the risk profile set, once profiles exist"),
    Column("probability", Float, nullable=False, doc="calibrated probability of a hit"),
    Column("score", Float, nullable=False, doc="0-100, what officers see and rank by"),
    Column("revenue_at_stake_eur", Float, nullable=False, doc="expected duties and taxes"),
    Column("reasons", Text, nullable=False, doc="JSON list of reasons, strongest first"),
    Column("explained", Boolean, nullable=False, doc="whether reasons were computed"),
    Column("model_probability", Float, doc="the fraud model's probability alone"),
    Column("lane_floor", String(6), doc="the lowest lane a profile or anomaly demands"),
    Column("referral", String(3), doc="pre-loading referral demanded: RFI, RFS or DNL"),
    Column(
        "critical",
        Boolean,
        nullable=False,
        server_default=false(),
        doc="a security or health threat, weighed above revenue by selection",
    ),  # fmt: skip
    Column("weight_set", Integer, doc="the fitted hit weight set applied; null: shipped weights"),
    Column("reference_version", String(32), doc="reference data (ports, tariff, rates) in use"),
    ForeignKeyConstraint(*_consignment_fk),
    Index(None, "consignment_id", "version"),
    Index(None, "run_id"),
    Index(None, "assessed_at"),
)

risk_profiles = Table(
    "risk_profiles",
    metadata,
    Column("profile_id", String(64), primary_key=True),
    Column("version", Integer, primary_key=True),
    Column("content_sha256", String(64), nullable=False),
    Column("source", Text, nullable=False, doc="the YAML file it was loaded from"),
    Column("body", Text, nullable=False, doc="the profile's YAML exactly as loaded"),
    Column("description", Text, nullable=False),
    Column("owner", String(128), nullable=False),
    Column("valid_from", UtcDateTime),
    Column("valid_to", UtcDateTime),
    Column("status", String(8), nullable=False, doc="draft, active or retired"),
    Column("loaded_at", UtcDateTime, nullable=False),
    Column("changed_at", UtcDateTime, nullable=False, doc="when the status last changed"),
    Column("changed_by", String(128), nullable=False),
    Index(None, "status"),
)

watchlists = Table(
    "watchlists",
    metadata,
    Column("watchlist_id", String(64), primary_key=True),
    Column("source", Text, nullable=False, doc="who publishes the list, and its licence"),
    Column("list_date", Date, nullable=False, doc="the date the list was published"),
    Column("file", Text, nullable=False),
    Column("content_sha256", String(64), nullable=False),
    Column("entries", Integer, nullable=False),
    Column("loaded_at", UtcDateTime, nullable=False),
    Column("loaded_by", String(128), nullable=False),
)

watchlist_entries = Table(
    "watchlist_entries",
    metadata,
    Column("watchlist_id", String(64), primary_key=True),
    Column("entry_id", String(64), primary_key=True),
    Column("name", Text, nullable=False),
    Column("address", Text),
    Column("country", String(2)),
    Column("identifiers", Text, doc="EORI, phone, e-mail, ... separated by |"),
    Column("category", String(32), nullable=False, doc="e.g. drugs, counterfeit, sanctions"),
    Column("note", Text),
    ForeignKeyConstraint(["watchlist_id"], ["watchlists.watchlist_id"], ondelete="CASCADE"),
)

quarantine = Table(
    "quarantine",
    metadata,
    Column("quarantine_id", Integer, primary_key=True, autoincrement=True),
    Column("batch_id", String(36), nullable=False),
    Column("kind", String(16), nullable=False, doc="consignments, events or outcomes"),
    Column("source", Text, nullable=False),
    Column("location", String(64), nullable=False, doc="line 12, lines 12-14, row 7, item 3"),
    Column("record_id", String(140)),
    Column("field", String(64)),
    Column("reason", Text, nullable=False),
    Column("errors", JSON, nullable=False, doc="every problem found, as [field, reason] pairs"),
    Column("raw", Text, nullable=False, doc="the record exactly as read, as JSON"),
    Column("raw_sha256", String(64), nullable=False),
    Column("status", String(8), nullable=False, doc="open, or resolved once stored"),
    Column("created_at", UtcDateTime, nullable=False),
    Column("resolved_at", UtcDateTime),
    Column("resolved_batch_id", String(36)),
    Index(None, "status", "raw_sha256"),
    Index(None, "record_id"),
)

audit_events = Table(
    "audit_events",
    metadata,
    Column("seq", Integer, primary_key=True, autoincrement=False),
    Column("at", UtcDateTime, nullable=False),
    Column("actor", String(128), nullable=False),
    Column("action", String(64), nullable=False),
    Column("object_type", String(64), nullable=False),
    Column("object_id", String(140), nullable=False),
    Column("details", Text, nullable=False, doc="canonical JSON"),
    Column("prev_hash", String(64), nullable=False),
    Column("hash", String(64), nullable=False),
    Column("mac", String(64), doc="HMAC-SHA256 of hash under the audit key, if one is set"),
    Column("key_id", String(16), doc="which audit key made mac"),
)

record_hashes = Table(
    "record_hashes",
    metadata,
    Column("table_name", String(32), primary_key=True),
    Column("row_key", Text, primary_key=True, doc="the row's key columns, canonical JSON"),
    Column("group_id", String(64), primary_key=True,
           doc="the audited write that stored this state of the row (an import batch, ...)"),
    Column("row_sha256", String(64), nullable=False, doc="audit.rows: the row's canonical hash"),
)  # fmt: skip

audit_head = Table(
    "audit_head",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=False, doc="always 1"),
    Column("seq", Integer, nullable=False),
    Column("hash", String(64), nullable=False),
    Column("signed_from", Integer, doc="the first event appended with the audit key"),
    Column("mac", String(64), doc="HMAC of seq, hash and signed_from under the audit key"),
)


selection_runs = Table(
    "selection_runs",
    metadata,
    Column("run_id", String(36), primary_key=True),
    Column("window_from", UtcDateTime, nullable=False, doc="ETAs from (inclusive)"),
    Column("window_to", UtcDateTime, nullable=False, doc="ETAs before (exclusive)"),
    Column("capacity_source", Text, nullable=False, doc="the capacity file used"),
    Column("capacity_sha256", String(64), nullable=False),
    Column("random_rate", Float, nullable=False),
    Column("seed", Integer, nullable=False),
    Column("objective", Float, nullable=False, doc="expected detected value, EUR"),
    Column("created_at", UtcDateTime, nullable=False),
    Column("actor", String(128), nullable=False),
    Column("candidates", Integer, nullable=False),
    Column("selected", Integer, nullable=False),
    Column("overloads", Integer, nullable=False, doc="terminal shift resources rules overrun"),
)

selection_capacity = Table(
    "selection_capacity",
    metadata,
    Column("run_id", String(36), primary_key=True),
    Column("shift_start", UtcDateTime, primary_key=True),
    Column("terminal", String(16), primary_key=True),
    Column("resource", String(64), primary_key=True),
    Column("shift", String(32), nullable=False, doc="the shift's name in the capacity file"),
    Column("capacity", Float, nullable=False, doc="what the shift offers of the resource"),
    Column("used", Float, nullable=False, doc="what the run's controls use of it"),
    ForeignKeyConstraint(["run_id"], ["selection_runs.run_id"], ondelete="CASCADE"),
)

selection_control_use = Table(
    "selection_control_use",
    metadata,
    Column("run_id", String(36), primary_key=True),
    Column("control_type", String(11), primary_key=True, doc="DOCUMENTARY, SCAN or PHYSICAL"),
    Column("resource", String(64), primary_key=True),
    Column("amount", Float, nullable=False, doc="what one control of the type uses"),
    ForeignKeyConstraint(["run_id"], ["selection_runs.run_id"], ondelete="CASCADE"),
)

control_decisions = Table(
    "control_decisions",
    metadata,
    Column("run_id", String(36), primary_key=True),
    Column("consignment_id", String(35), primary_key=True),
    Column("version", Integer, nullable=False),
    Column("assessment_id", Integer, doc="the assessment decided on"),
    Column("lane", String(6), nullable=False, doc="green, yellow, orange, red or blue"),
    Column("control_type", String(11), doc="DOCUMENTARY, SCAN or PHYSICAL; null if none"),
    Column("selected_by", String(7), nullable=False, doc="RULE, RANDOM, MODEL or NONE"),
    Column("propensity", Float, nullable=False, doc="probability the policy selected it"),
    Column("expected_value", Float, nullable=False, doc="expected detected value, EUR"),
    Column("terminal", String(16), nullable=False),
    Column("shift_start", UtcDateTime, nullable=False),
    ForeignKeyConstraint(["run_id"], ["selection_runs.run_id"], ondelete="CASCADE"),
    ForeignKeyConstraint(*_consignment_fk),
    Index(None, "consignment_id", "version"),
)

inspection_orders = Table(
    "inspection_orders",
    metadata,
    Column("order_id", String(35), primary_key=True, doc="also the control_id of its outcome"),
    Column("run_id", String(36), nullable=False, doc="the selection run that asked for it"),
    Column("consignment_id", String(35), nullable=False),
    Column("version", Integer, nullable=False),
    Column("decided_type", String(11), nullable=False, doc="the control the run decided"),
    Column("control_type", String(11), nullable=False, doc="the control to make, after overrides"),
    Column("lane", String(6), nullable=False),
    Column("selected_by", String(7), nullable=False),
    Column("propensity", Float, nullable=False),
    Column("terminal", String(16), nullable=False),
    Column("shift_start", UtcDateTime, nullable=False),
    Column("state", String(11), nullable=False, doc="planned, in_progress, done or cancelled"),
    Column("created_at", UtcDateTime, nullable=False),
    Column("started_at", UtcDateTime),
    Column("finished_at", UtcDateTime, doc="done or cancelled"),
    Column("released_at", UtcDateTime, doc="when CUSR was emitted"),
    ForeignKeyConstraint(["run_id"], ["selection_runs.run_id"]),
    ForeignKeyConstraint(*_consignment_fk),
    Index(None, "consignment_id", "decided_type", unique=True),
    Index(None, "state"),
)

scan_results = Table(
    "scan_results",
    metadata,
    Column("scan_id", String(35), primary_key=True),
    Column("order_id", String(35), nullable=False),
    Column("image_ref", Text, nullable=False, doc="where the NII image is kept"),
    Column("verdict", String(10), nullable=False, doc="clear or suspicious"),
    Column("analyst", String(128), nullable=False, doc="the image analyst"),
    Column("recorded_at", UtcDateTime, nullable=False),
    Column("recorded_by", String(128), nullable=False),
    ForeignKeyConstraint(["order_id"], ["inspection_orders.order_id"]),
    Index(None, "order_id"),
)

order_history = Table(
    "order_history",
    metadata,
    Column("entry_id", Integer, primary_key=True, autoincrement=True),
    Column("order_id", String(35), nullable=False),
    Column("at", UtcDateTime, nullable=False),
    Column("actor", String(128), nullable=False),
    Column("action", String(16), nullable=False, doc="create, start, scan, finding, override, ..."),
    Column("from_state", String(11)),
    Column("to_state", String(11)),
    Column("reason", Text, doc="an officer's reason, mandatory for overrides"),
    Column("details", Text, nullable=False, doc="canonical JSON"),
    ForeignKeyConstraint(["order_id"], ["inspection_orders.order_id"]),
    Index(None, "order_id"),
)


# --- accounts: users, their API tokens, login sessions and login attempts -----------------
# Secrets are never stored: passwords as argon2id hashes, tokens and session cookies as the
# SHA-256 of their random secret (services/accounts.py says why each).

users = Table(
    "users",
    metadata,
    Column("user_id", String(36), primary_key=True),
    Column("username", String(64), nullable=False, doc="lower case, [a-z0-9._-]{2,64}"),
    Column("display_name", String(128), nullable=False),
    Column("roles", JSON, nullable=False, doc="list of role names"),
    Column("terminals", JSON, nullable=False, doc="terminal codes an inspector works at"),
    Column("password_hash", Text, doc="argon2id; none for a machine account (tokens only)"),
    Column("disabled", Boolean, nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
    Column("password_changed_at", UtcDateTime),
    Column("language", String(8), doc="the web application's language chosen; null: the browser's"),
    Column(
        "must_change_password",
        Boolean,
        nullable=False,
        server_default=false(),
        doc="its password was generated (a one-time password): the user must replace it",
    ),
    Index(None, "username", unique=True),
)

api_tokens = Table(
    "api_tokens",
    metadata,
    Column("token_id", String(16), primary_key=True, doc="public part of the token"),
    Column("user_id", String(36), nullable=False),
    Column("name", String(128), nullable=False, doc="what the token is for"),
    Column("token_hash", String(64), nullable=False, doc="SHA-256 of the secret, hex"),
    Column("roles", JSON, nullable=False, doc="roles it carries, a subset of its user's"),
    Column("created_at", UtcDateTime, nullable=False),
    Column("expires_at", UtcDateTime, nullable=False),
    Column("revoked_at", UtcDateTime),
    Column("last_used_at", UtcDateTime, doc="updated at most once a minute"),
    Column("partner", String(20), doc="the partner a partner_node token delivers for"),
    ForeignKeyConstraint(["user_id"], ["users.user_id"]),
    Index(None, "token_hash", unique=True),
    Index(None, "user_id"),
)

sessions = Table(
    "sessions",
    metadata,
    Column("session_id_hash", String(64), primary_key=True, doc="SHA-256 of the cookie, hex"),
    Column("user_id", String(36), nullable=False),
    Column("client", String(64), nullable=False, doc="address the login came from"),
    Column("created_at", UtcDateTime, nullable=False),
    Column("last_seen_at", UtcDateTime, nullable=False, doc="updated at most once a minute"),
    Column("expires_at", UtcDateTime, nullable=False, doc="absolute end, whatever the use"),
    Column("revoked_at", UtcDateTime, doc="logout, password reset or user disabled"),
    ForeignKeyConstraint(["user_id"], ["users.user_id"]),
    Index(None, "user_id"),
)

login_attempts = Table(
    "login_attempts",
    metadata,
    Column("attempt_id", Integer, primary_key=True, autoincrement=True),
    Column("username", String(128), nullable=False, doc="as typed, lower case, cut to 128"),
    Column("client", String(64), nullable=False),
    Column("at", UtcDateTime, nullable=False),
    Column("succeeded", Boolean, nullable=False),
    Index(None, "username", "at"),
    Index(None, "client", "at"),
    Index(None, "at"),
)


entity_states = Table(
    "entity_states",
    metadata,
    Column("entity", String(16), primary_key=True, doc="entity name, or * for all outcomes"),
    Column("entity_key", String(160), primary_key=True, doc="key columns joined by U+001F"),
    Column("at", UtcDateTime, primary_key=True, doc="a moment the entity's state changed"),
    Column("records", Integer, nullable=False, doc="consignments lodged at or before then"),
    Column("controls", Integer, nullable=False, doc="outcomes known at or before then"),
    Column("hits", Integer, nullable=False, doc="of those outcomes, the hits"),
)


#: ``entity_states`` without the rows where only the record count changed: what assessing
#: reads (``intake.entity_state.tallies``), a row per key at its first sighting and at every
#: moment its controls or hits changed, about a fifth of the rows.
entity_tallies = Table(
    "entity_tallies",
    metadata,
    Column("entity", String(16), primary_key=True, doc="entity name, or * for all outcomes"),
    Column("entity_key", String(160), primary_key=True, doc="key columns joined by U+001F"),
    Column("at", UtcDateTime, primary_key=True, doc="a moment sighted, controls or hits changed"),
    Column("sighted", Boolean, nullable=False, doc="a consignment lodged at or before then"),
    Column("controls", Integer, nullable=False, doc="outcomes known at or before then"),
    Column("hits", Integer, nullable=False, doc="of those outcomes, the hits"),
)


event_callbacks = Table(
    "event_callbacks",
    metadata,
    Column("subscription_id", String(100), primary_key=True,
           doc="the publisher's id of the DCSA event subscription"),
    Column("user_id", String(36), nullable=False, doc="the feed account its events post as"),
    Column("secret", String(128), nullable=False,
           doc="the shared HMAC key, base64: the publisher signs with it, so it is kept"),
    Column("created_at", UtcDateTime, nullable=False),
    Column("revoked_at", UtcDateTime),
    ForeignKeyConstraint(["user_id"], ["users.user_id"]),
)  # fmt: skip


# --- the targeting officer's decisions on a consignment, and evidence attached to orders ---

lane_overrides = Table(
    "lane_overrides",
    metadata,
    Column("override_id", Integer, primary_key=True, autoincrement=True),
    Column("run_id", String(36), nullable=False, doc="the selection run whose lane it changes"),
    Column("consignment_id", String(35), nullable=False),
    Column("from_lane", String(6), nullable=False, doc="the lane before this override"),
    Column("to_lane", String(6), nullable=False),
    Column("control_type", String(11), doc="the control the new lane asks for; null if none"),
    Column("reason_code", String(24), nullable=False, doc="domain.vocabulary: OVERRIDE_REASONS"),
    Column("note", Text, doc="the officer's words beside the reason code"),
    Column("at", UtcDateTime, nullable=False),
    Column("actor", String(128), nullable=False),
    ForeignKeyConstraint(["run_id", "consignment_id"],
                         ["control_decisions.run_id", "control_decisions.consignment_id"],
                         ondelete="CASCADE"),
    Index(None, "run_id", "consignment_id"),
)  # fmt: skip

examiner_instructions = Table(
    "examiner_instructions",
    metadata,
    Column("instruction_id", Integer, primary_key=True, autoincrement=True),
    Column("consignment_id", String(35), nullable=False),
    Column("version", Integer, nullable=False, doc="the version the officer looked at"),
    Column("text", Text, nullable=False, doc="what the examiner is to look for, and where"),
    Column("at", UtcDateTime, nullable=False),
    Column("actor", String(128), nullable=False),
    ForeignKeyConstraint(*_consignment_fk),
    Index(None, "consignment_id"),
)

referrals = Table(
    "referrals",
    metadata,
    Column("referral_id", String(36), primary_key=True),
    Column("consignment_id", String(35), nullable=False),
    Column("version", Integer, nullable=False),
    Column("kind", String(3), nullable=False,
           doc="ICS2 referral type: RFI (information), RFS (screening) or DNL (do not load)"),
    Column("request", Text, nullable=False, doc="what is asked, in words"),
    Column("state", String(6), nullable=False, doc="open or closed"),
    Column("opened_at", UtcDateTime, nullable=False),
    Column("opened_by", String(128), nullable=False),
    Column("closed_at", UtcDateTime),
    Column("closed_by", String(128)),
    Column("result", Text, doc="the answer or result it was closed with"),
    ForeignKeyConstraint(*_consignment_fk),
    Index(None, "consignment_id"),
    Index(None, "state"),
)  # fmt: skip

blobs = Table(
    "blobs",
    metadata,
    Column("sha256", String(64), primary_key=True, doc="of the content: its name and its proof"),
    Column("media_type", String(64), nullable=False),
    Column("size", Integer, nullable=False, doc="bytes"),
    Column("content", LargeBinary, nullable=False),
    Column("stored_at", UtcDateTime, nullable=False),
)

order_attachments = Table(
    "order_attachments",
    metadata,
    Column("order_id", String(35), primary_key=True),
    Column("sha256", String(64), primary_key=True),
    Column("filename", String(255), nullable=False, doc="the name it was uploaded under"),
    Column("caption", Text),
    Column("at", UtcDateTime, nullable=False),
    Column("actor", String(128), nullable=False),
    ForeignKeyConstraint(["order_id"], ["inspection_orders.order_id"]),
    ForeignKeyConstraint(["sha256"], ["blobs.sha256"]),
)


# --- the policy lab's runs: simulations started from the web application or the API -------

lab_runs = Table(
    "lab_runs",
    metadata,
    Column("run_id", String(36), primary_key=True),
    Column("title", String(200), doc="the name its author gave it, if any"),
    Column("parameters", Text, nullable=False,
           doc="canonical JSON: weeks, warmup_weeks, per_day, seed, strategies, displacement"),
    Column("state", String(7), nullable=False, doc="queued, running, done or failed"),
    Column("running", Integer,
           doc="1 while the run runs, else null: unique, so one run at most runs at a time"),
    Column("created_at", UtcDateTime, nullable=False),
    Column("created_by", String(128), nullable=False),
    Column("started_at", UtcDateTime),
    Column("finished_at", UtcDateTime, doc="when it was done or failed"),
    Column("strategies_done", Integer, nullable=False, doc="set-ups replayed so far"),
    Column("consignments", Integer, doc="consignments generated for the replay"),
    Column("replay_start", UtcDateTime, doc="the first day of the replayed weeks"),
    Column("summary", Text, doc="JSON: the figures of each strategy over the replay"),
    Column("weekly", Text, doc="JSON: the figures of each strategy and week"),
    Column("seconds", Text, doc="JSON: the seconds each strategy's replay took"),
    Column("error", Text, doc="why it failed"),
    Column("owner", String(128), doc="the worker running it (host, process, thread)"),
    Column("heartbeat_at", UtcDateTime, doc="when its worker last said it was alive"),
    Column("queue_slot", Integer,
           doc="1 to MAX_WAITING while it waits, else null: unique, so no more runs wait"),
    Index(None, "running", unique=True),
    Index(None, "queue_slot", unique=True),
    Index(None, "state"),
    Index(None, "created_at"),
)  # fmt: skip


# --- hit weights fitted on the site's own outcomes (learning.hit_weights) -------------------

hit_weight_sets = Table(
    "hit_weight_sets",
    metadata,
    Column("version", Integer, primary_key=True, autoincrement=False, doc="1, 2, ... in order"),
    Column("fitted_at", UtcDateTime, nullable=False),
    Column("fitted_by", String(128), nullable=False),
    Column("window_from", UtcDateTime, nullable=False, doc="first lodging time of the window"),
    Column("window_to", UtcDateTime, nullable=False,
           doc="end of the window (exclusive); outcomes known before it"),
    Column("model_version", String(64), nullable=False, doc="the model it was fitted given"),
    Column("prior_strength", Float, nullable=False, doc="pseudo-controls the shipped weight is worth"),
    Column("saturation_pct", Float, nullable=False),
    Column("weighting", String(8), nullable=False, doc="ipw or none"),
    Column("max_weight", Float, nullable=False),
    Column("consignments", Integer, nullable=False, doc="assessed in the window"),
    Column("controlled", Integer, nullable=False, doc="of them, controlled with an outcome"),
    Column("hits", Integer, nullable=False, doc="of those, where the control found something"),
    Column("active", Integer,
           doc="1 for the set scoring applies, else null: unique, so one set at most is active"),
    Column("activated_at", UtcDateTime),
    Index(None, "active", unique=True),
)  # fmt: skip

hit_weights = Table(
    "hit_weights",
    metadata,
    Column("weight_set", Integer, primary_key=True),
    Column("code", String(128), primary_key=True, doc="source:id, e.g. profile:COC-001"),
    Column("source", String(32), nullable=False),
    Column("shipped_weight", Float, nullable=False, doc="its mean weight in the window's hits"),
    Column("fitted_weight", Float, nullable=False, doc="shrunk, given the model, unsaturated"),
    Column("weight", Float, nullable=False, doc="applied: fitted, damped if saturated"),
    Column("fired", Integer, nullable=False),
    Column("controlled", Integer, nullable=False),
    Column("hits", Integer, nullable=False),
    Column("local_precision", Float, doc="weighted share of its controls that found something"),
    Column("shrunk_precision", Float, nullable=False),
    Column("expected", Float, nullable=False, doc="the model's shrunk probability for them"),
    Column("evidence", Float, nullable=False, doc="effective number of controls"),
    Column("share", Float, nullable=False, doc="share of the window's consignments it hit"),
    Column("saturated", Boolean, nullable=False),
    ForeignKeyConstraint(["weight_set"], ["hit_weight_sets.version"]),
)  # fmt: skip


# --- exchange with partner administrations (exchange/) --------------------------------------

exchange_roots = Table(
    "exchange_roots",
    metadata,
    Column("administration", String(20), primary_key=True),
    Column("version", Integer, primary_key=True, autoincrement=False),
    Column("own", Boolean, nullable=False, doc="this administration's root, else a partner's"),
    Column("envelope", Text, nullable=False, doc="the signed root, DSSE envelope JSON"),
    Column("fingerprint", String(64), nullable=False, doc="SHA-256 of the root's payload"),
    Column("threshold", Integer, nullable=False),
    Column("key_ids", JSON, nullable=False),
    Column("issued_at", UtcDateTime, nullable=False),
    Column("expires_at", UtcDateTime, nullable=False),
    Column("stored_at", UtcDateTime, nullable=False),
    Index(None, "own"),
)  # fmt: skip

exchange_partners = Table(
    "exchange_partners",
    metadata,
    Column("administration", String(20), primary_key=True),
    Column("root_version", Integer, nullable=False, doc="the root in force (exchange_roots)"),
    Column("added_at", UtcDateTime, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
    Column("revoked_at", UtcDateTime, doc="set: every message of the partner is refused"),
    Column("revoke_reason", Text),
    Column("inbox_url", Text, doc="where the outbox pushes its messages (HTTP), if set"),
)  # fmt: skip

exchange_revoked_keys = Table(
    "exchange_revoked_keys",
    metadata,
    Column("key_id", String(64), primary_key=True),
    Column("administration", String(20), nullable=False),
    Column("revoked_at", UtcDateTime, nullable=False),
    Column("reason", Text, nullable=False),
)  # fmt: skip

exchange_received = Table(
    "exchange_received",
    metadata,
    Column("sender", String(20), primary_key=True, doc="a message id is its sender's to give"),
    Column("message_id", String(36), primary_key=True),
    Column("recipient", String(20), nullable=False),
    Column("message_type", String(32), nullable=False),
    Column("payload_type", String(100), nullable=False),
    Column("payload_sha256", String(64), nullable=False),
    Column("key_id", String(64), nullable=False, doc="the sender's key whose signature held"),
    Column("issued_at", UtcDateTime, nullable=False),
    Column("expires_at", UtcDateTime, nullable=False),
    Column("in_reply_to", String(36)),
    Column("payload", Text, nullable=False, doc="the signed payload, JSON text"),
    Column("record", Text, nullable=False, doc="the transport record as received"),
    Column("source", Text, nullable=False, doc="the file (and line) it came from"),
    Column("received_at", UtcDateTime, nullable=False),
    Index(None, "sender", "received_at"),
    Index(None, "in_reply_to"),
    Index(None, "message_id"),
)  # fmt: skip

exchange_rejected = Table(
    "exchange_rejected",
    metadata,
    Column("rejection_id", String(36), primary_key=True),
    Column("raw_sha256", String(64), nullable=False),
    Column("reason", String(20), nullable=False, doc="exchange.receive.Reason"),
    Column("detail", Text, nullable=False),
    Column("payload_type", String(200)),
    Column("sender", String(20), doc="the partner whose key it names, when known"),
    Column("message_id", String(36)),
    Column("raw", LargeBinary, nullable=False, doc="the bytes received, exactly"),
    Column("source", Text, nullable=False),
    Column("received_at", UtcDateTime, nullable=False),
    Index(None, "raw_sha256", "reason", unique=True),
    Index(None, "received_at"),
)  # fmt: skip

exchange_outbox = Table(
    "exchange_outbox",
    metadata,
    Column("message_id", String(36), primary_key=True),
    Column("recipient", String(20), nullable=False),
    Column("message_type", String(32), nullable=False),
    Column("payload_type", String(100), nullable=False),
    Column("payload_sha256", String(64), nullable=False),
    Column("in_reply_to", String(36)),
    Column("payload", Text, nullable=False, doc="the message, canonical JSON text"),
    Column("record", Text, nullable=False,
           doc="the transport record as last signed (at queueing, then at each export)"),
    Column("created_at", UtcDateTime, nullable=False),
    Column("created_by", String(128), nullable=False),
    Column("expires_at", UtcDateTime, nullable=False),
    Column("exported_at", UtcDateTime, doc="last written to an export file"),
    Column("exports", Integer, nullable=False, doc="times written to an export file"),
    Column("push_attempts", Integer, nullable=False, server_default="0",
           doc="times the HTTP push tried to deliver it"),
    Column("next_push_at", UtcDateTime, doc="not pushed before (backoff, or a push under way)"),
    Column("last_push_error", Text, doc="why the last push failed"),
    Column("delivered_at", UtcDateTime, doc="the partner's inbox took it (accepted or had it)"),
    Column("refused_reason", String(20), doc="the partner's inbox refused it: no more pushes"),
    Index(None, "recipient", "created_at"),
    Index(None, "delivered_at", "next_push_at"),
)  # fmt: skip


def utcnow() -> datetime:
    """Now, timezone-aware, at the microsecond the store can keep."""
    return datetime.now(UTC)


exchange_permissions = Table(
    "exchange_permissions",
    metadata,
    Column("partner", String(20), primary_key=True),
    Column("message_type", String(32), primary_key=True),
    Column("personal", Boolean, nullable=False, doc="whether personal data may be sent"),
    Column("legal_basis", Text, doc="the legal basis recorded when personal data are allowed"),
    Column("granted_at", UtcDateTime, nullable=False),
    Column("granted_by", String(128), nullable=False),
)

exchange_profile_reviews = Table(
    "exchange_profile_reviews",
    metadata,
    Column("sender", String(20), primary_key=True, doc="the partner that shared the profile"),
    Column("message_id", String(36), primary_key=True, doc="the RiskProfileShare received"),
    Column("decision", String(8), nullable=False, doc="accepted or declined"),
    Column("profile_id", String(64), doc="the draft profile created when accepted"),
    Column("profile_version", Integer),
    Column("note", Text),
    Column("decided_at", UtcDateTime, nullable=False),
    Column("decided_by", String(128), nullable=False),
)
