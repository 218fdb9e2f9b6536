"""Container events in the DCSA Track & Trace shape: flattening, checks, content hash."""

from __future__ import annotations

from typing import Any

import polars as pl

from quaywatch.domain import identifiers as ids
from quaywatch.domain.models import (
    EmptyIndicator,
    EquipmentEventCode,
    EventClassifier,
    EventType,
    FacilityType,
    TransportEventCode,
)
from quaywatch.intake import fields as f
from quaywatch.intake.records import as_text

FIELDS: list[f.Field] = [
    f.Field("event_id", f.text(100), required=True),
    f.Field("event_type", f.enum(EventType), required=True),
    f.Field("classifier", f.enum(EventClassifier), required=True),
    f.Field("event_code", f.enum([*EquipmentEventCode, *TransportEventCode]), required=True),
    f.Field("event_time", f.timestamp(), required=True, bound=f.plausible_time),
    f.Field("created_time", f.timestamp(), required=True, bound=f.plausible_time),
    f.Field("un_locode", f.code(ids.locode_problem), required=True),
    f.Field("facility_type", f.enum(FacilityType)),
    f.Field("container_number", f.code(ids.container_number_problem)),
    f.Field("empty_indicator", f.enum(EmptyIndicator)),
    f.Field("seals", f.seal_list()),
    f.Field("vessel_imo", f.code(ids.imo_problem, ids.normalise_imo_expr)),
    f.Field("transport_document", f.text(35)),
    f.Field("is_transshipment", f.boolean()),
]
COLUMNS = [field.name for field in FIELDS]
REQUIRED_COLUMNS = ["event_id"]
#: DCSA document reference types that name the transport document (B/L) of a container.
_DOCUMENT_TYPES = ("TRD", "BKG")


def flatten(event: dict[str, Any]) -> dict[str, str | None]:
    """One DCSA event object to a flat row of raw strings."""
    location = event.get("eventLocation") or {}
    call = event.get("transportCall") or {}
    vessel = call.get("vessel") or {} if isinstance(call, dict) else {}
    documents = event.get("documentReferences") or []
    document = next(
        (
            d.get("documentReferenceValue")
            for d in documents
            if isinstance(d, dict) and d.get("documentReferenceType") in _DOCUMENT_TYPES
        ),
        None,
    )
    seals = [
        f"{s.get('sealSource')}:{s.get('sealType')}:{s.get('sealNumber')}"
        for s in event.get("seals") or []
        if isinstance(s, dict)
    ]
    row = {
        "event_id": event.get("eventID"),
        "event_type": event.get("eventType"),
        "classifier": event.get("eventClassifierCode"),
        "event_code": event.get("equipmentEventTypeCode") or event.get("transportEventTypeCode"),
        "event_time": event.get("eventDateTime"),
        "created_time": event.get("eventCreatedDateTime"),
        "un_locode": location.get("UNLocationCode") or call.get("UNLocationCode"),
        "facility_type": call.get("facilityTypeCode") or location.get("facilityTypeCode"),
        "container_number": event.get("equipmentReference"),
        "empty_indicator": event.get("emptyIndicatorCode"),
        "seals": f.LIST_SEP.join(seals) if seals else None,
        "vessel_imo": vessel.get("vesselIMONumber"),
        "transport_document": document,
        "is_transshipment": event.get("isTransshipmentMove"),
    }
    return {key: as_text(value) for key, value in row.items()}


def validate(frame: pl.DataFrame, plausible: f.Plausible = f.PLAUSIBLE) -> pl.DataFrame:
    """Check raw event rows; adds ``_key`` (the event id) and ``_problems``."""
    frame = f.blanks_to_null(frame, COLUMNS).with_columns(
        pl.col("is_transshipment").fill_null("false")
    )
    checked = f.check(frame, FIELDS, plausible)
    equipment = pl.col("event_type") == EventType.EQUIPMENT
    transport_codes = [str(code) for code in TransportEventCode]
    rules = [
        f.problem_of(
            "event_code",
            pl.when(equipment & pl.col("event_code").is_in(transport_codes))
            .then(pl.lit("is a transport event code on an equipment event"))
            .when(~equipment & ~pl.col("event_code").is_in(transport_codes))
            .then(pl.lit("is an equipment event code on a transport event")),
        ),
        f.problem_of(
            "container_number",
            pl.when(equipment & pl.col("container_number").is_null()).then(
                pl.lit("missing: an equipment event names its container")
            ),
        ),
    ]
    return f.with_rules(checked, rules, "event_id")


def content_hashes(valid: pl.DataFrame, *, legacy: bool = False) -> pl.DataFrame:
    """``_run``, ``_key``, ``event_id`` and the SHA-256 of the normalised event."""
    return f.content_hashes(valid, COLUMNS, ["event_id"], legacy=legacy)
