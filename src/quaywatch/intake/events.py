"""Container events in the DCSA Track & Trace shape: flattening, checks, content hash.

Every event becomes one flat row (``COLUMNS``) whichever version it came in (``flatten`` for
2.2, ``flatten_v3`` for 3.x), and is checked by its type:

- equipment and transport events (movements) exactly as they always were (``FIELDS``), and
  stored in ``events``;
- IoT and reefer events (what a container's own sensors report) by ``SENSOR_FIELDS``, and
  stored in ``sensor_events``;
- shipment events (the state of a booking or transport document) by ``SHIPMENT_FIELDS``: a
  valid one is acknowledged and counted as skipped (``_skip``), since quaywatch has no use for
  it yet; a retracted 3.x event (``isRetracted``) likewise, needing only its id.

A movement's content hash is over ``COLUMNS_HASHED`` as before, so an event stored from 2.2 is
found unchanged when it comes again, in 2.2 or in 3.x.

A movement whose vessel IMO number is seven digits whose check digit does not match (DCSA's
own published 3.0 examples use ``7654321``) is stored, not quarantined: the vessel number is
set aside (stored null, since no ship holds that number) and the event carries a data-quality
warning (``_warnings``) naming the field and the value declared, which the import reports and
its audit event keeps. The content hash is over the event as declared (``_declared_imo``), so
the same event sent again is unchanged, and one sent with another vessel number conflicts.
"""

from __future__ import annotations

from typing import Any

import polars as pl

from quaywatch.domain import identifiers as ids
from quaywatch.domain.vocabulary import (
    EmptyIndicator,
    EquipmentEventCode,
    EventClassifier,
    EventType,
    FacilityType,
    IotCode,
    SensorEventCode,
    ShipmentEventCode,
    TemperatureUnit,
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
#: What a movement's content hash is over (every column a 2.2 event has).
COLUMNS_HASHED = [field.name for field in FIELDS]
_ID = FIELDS[0]
#: The one problem of a vessel number that sets it aside instead of quarantining the event.
IMO_CHECK_DIGIT = "IMO check digit does not match"
#: Where a movement keeps the vessel number it declared while it is set aside (hashed as it).
_DECLARED_IMO = "_declared_imo"
_TIMES = [FIELDS[4], FIELDS[5]]
_TEMPERATURE = f.number(-150, maximum=150)
SENSOR_FIELDS: list[f.Field] = [
    _ID,
    f.Field("event_type", f.enum([EventType.IOT, EventType.REEFER]), required=True),
    FIELDS[2],
    f.Field("event_code", f.enum(SensorEventCode), required=True),
    *_TIMES,
    f.Field("un_locode", f.code(ids.locode_problem)),
    FIELDS[7],
    f.Field("container_number", f.code(ids.container_number_problem), required=True),
    f.Field("latitude", f.number(-90, maximum=90)),
    f.Field("longitude", f.number(-180, maximum=180)),
    f.Field("iot_code", f.enum(IotCode)),
    f.Field("temperature_unit", f.enum(TemperatureUnit)),
    *(
        f.Field(name, _TEMPERATURE)
        for name in ("setpoint_temperature", "ambient_temperature",
                     "lowest_probe_temperature", "highest_probe_temperature")
    ),
]  # fmt: skip
SHIPMENT_FIELDS: list[f.Field] = [
    _ID,
    f.Field("event_type", f.enum([EventType.SHIPMENT]), required=True),
    FIELDS[2],
    f.Field("event_code", f.enum(ShipmentEventCode), required=True),
    *_TIMES,
]
_SENSOR_ONLY = [field.name for field in SENSOR_FIELDS if field.name not in COLUMNS_HASHED]
_MOVEMENT_ONLY = ["empty_indicator", "seals", "vessel_imo", "transport_document"]
#: The flat row of any event: a movement's columns, a sensor's, and whether it is retracted.
COLUMNS = [*COLUMNS_HASHED, *_SENSOR_ONLY, "retracted"]
REQUIRED_COLUMNS = ["event_id"]
SENSOR_TYPES = (str(EventType.IOT), str(EventType.REEFER))
MOVEMENT_TYPES = (str(EventType.EQUIPMENT), str(EventType.TRANSPORT))
#: DCSA document reference types that name the transport document (B/L) of a container.
_DOCUMENT_TYPES = ("TRD", "BKG")


def flatten(event: dict[str, Any]) -> dict[str, str | None]:
    """One DCSA Track & Trace 2.2 event object to a flat row of raw strings."""
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
        "event_code": event.get("equipmentEventTypeCode")
        or event.get("transportEventTypeCode")
        or event.get("shipmentEventTypeCode"),
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


def flatten_v3(event: dict[str, Any]) -> dict[str, str | None]:
    """One DCSA Track & Trace 3.x event object to the same flat row as ``flatten``.

    The 3.x event nests what 2.2 kept flat: its type, classifier and code in
    ``eventClassification``, the container in ``equipmentDetails``, the vessel in
    ``transportDetails.transportCall.vesselTransport``, the documents in ``shipmentDetails``.
    It has no creation time: ``eventUpdatedDateTime`` (when the producer last changed the
    event) stands for it. The transport document is the transport document (``TRD``) the event
    names, else its booking (``BKG``). A transshipment move is ``movementType``
    ``TRANSSHIPMENT``. docs/formats.md has the whole mapping.
    """
    # The shape (``shapes.EVENT_V3``) was checked first: each part read is an object or null,
    # each text a string, so only numbers and flags need writing as text.
    kinds = event.get("eventClassification") or _NONE
    location = event.get("eventLocation") or _NONE
    equipment = event.get("equipmentDetails") or _NONE
    call = (event.get("transportDetails") or _NONE).get("transportCall") or _NONE
    code = (
        kinds.get("equipmentEventTypeCode")
        or kinds.get("transportEventTypeCode")
        or kinds.get("shipmentEventTypeCode")
        or kinds.get("iotEventTypeCode")
        or kinds.get("reeferEventTypeCode")
    )
    row: dict[str, Any] = {
        "event_id": event.get("eventID"),
        "event_type": kinds.get("eventTypeCode"),
        "classifier": kinds.get("eventClassifierCode"),
        "event_code": code,
        "event_time": event.get("eventDateTime"),
        "created_time": event.get("eventUpdatedDateTime"),
        "un_locode": location.get("UNLocationCode"),
        "facility_type": location.get("facilityTypeCode"),
        "container_number": equipment.get("equipmentReference"),
        "empty_indicator": equipment.get("emptyIndicatorCode"),
        "vessel_imo": (call.get("vesselTransport") or _NONE).get("vesselIMONumber"),
    }
    if (retracted := event.get("isRetracted")) is not None:
        row["retracted"] = as_text(retracted)
    if seals := equipment.get("seals"):
        row["seals"] = f.LIST_SEP.join(
            f"{s.get('source')}:{s.get('type')}:{s.get('number')}" for s in seals if s
        )
    if (movement := equipment.get("movementType")) is not None:
        row["is_transshipment"] = "true" if movement == "TRANSSHIPMENT" else "false"
    if shipment := event.get("shipmentDetails"):
        references = [shipment.get("documentReference"),
                      *(shipment.get("additionalDocumentReferences") or ())]  # fmt: skip
        by_type = {r.get("typeCode"): r.get("reference") for r in reversed(references) if r}
        row["transport_document"] = by_type.get("TRD") or by_type.get("BKG")
    if point := location.get("geoCoordinate"):
        row["latitude"] = as_text(point.get("latitude"))
        row["longitude"] = as_text(point.get("longitude"))
    if iot := event.get("iotDetails"):
        row["iot_code"] = iot.get("iotEventCode")
    if reefer := event.get("reeferDetails"):
        probes = [p.get("measuredTemperatureValue")
                  for p in reefer.get("temperatureProbeMeasurements") or () if p]  # fmt: skip
        numbers = [float(v) for v in probes if v is not None and _is_number(v)]
        row |= {
            "temperature_unit": reefer.get("temperatureUnit"),
            "setpoint_temperature": as_text(reefer.get("internalSetpointTemperature")),
            "ambient_temperature": as_text(reefer.get("ambientMeasuredTemperature")),
            "lowest_probe_temperature": as_text(min(numbers)) if numbers else None,
            "highest_probe_temperature": as_text(max(numbers)) if numbers else None,
        }
    # Absent values are left out: the reader fills a column no row has without looking.
    return {key: value for key, value in row.items() if value is not None}


#: An empty part, for one that is absent or null.
_NONE: dict[str, Any] = {}


def _is_number(value: Any) -> bool:
    try:
        float(value)
    except (TypeError, ValueError):
        return False
    return True


def validate(frame: pl.DataFrame, plausible: f.Plausible = f.PLAUSIBLE) -> pl.DataFrame:
    """Check raw event rows, each by its type (module docstring); adds ``_key`` (the event
    id), ``_problems`` and ``_skip`` (why a valid row is acknowledged but not stored, or
    null)."""
    frame = f.blanks_to_null(frame, COLUMNS)
    kind = pl.col("event_type").str.to_uppercase()
    retracted = pl.col("retracted").str.to_uppercase().is_in(["TRUE"]).fill_null(False)
    group = (
        pl.when(retracted)
        .then(pl.lit("retracted"))
        .when(kind == EventType.SHIPMENT)
        .then(pl.lit("shipment"))
        .when(kind.is_in(SENSOR_TYPES))
        .then(pl.lit("sensor"))
        .otherwise(pl.lit("movement"))
    )
    groups = frame.select(group.alias("_group")).to_series()
    if groups.eq("movement").all():  # a 2.2 file of movements: checked as it always was
        return _movements(frame, plausible).with_columns(pl.lit(None, pl.String).alias("_skip"))
    parts = []
    for name, checker in (
        ("movement", _movements), ("sensor", _sensors), ("shipment", _shipments),
        ("retracted", _retractions),
    ):  # fmt: skip
        rows = frame.filter(groups == name)
        if rows.height:
            checked = checker(rows, plausible)
            # Each part keeps the columns it checked (a column another part left raw would
            # not concatenate with its parsed values): a row lacks what its type lacks.
            parsed = {field.name for field in _CHECKED[name]}
            if name == "sensor":
                parsed |= {"is_transshipment", *_MOVEMENT_ONLY}
            parts.append(checked.select(c for c in checked.columns if c in parsed or c[0] == "_"))
    return pl.concat(parts, how="diagonal_relaxed").sort("_row")


_CHECKED = {"movement": FIELDS, "sensor": SENSOR_FIELDS, "shipment": SHIPMENT_FIELDS,
            "retracted": [_ID]}  # fmt: skip


def _movements(frame: pl.DataFrame, plausible: f.Plausible) -> pl.DataFrame:
    frame = frame.with_columns(pl.col("is_transshipment").fill_null("false"))
    # A vessel number of seven digits failing only its check digit is set aside (docstring).
    imo = ids.normalise_imo_expr(pl.col("vessel_imo"))
    aside = frame.select((ids.imo_problem(imo) == IMO_CHECK_DIGIT).fill_null(False)).to_series()
    if not aside.any():  # the usual file: nothing set aside, nothing more to compute
        checked = f.check(frame, FIELDS, plausible).with_columns(
            pl.lit(None, pl.String).alias(_DECLARED_IMO), pl.lit(None, pl.String).alias("_warnings")
        )
    else:
        frame = frame.with_columns(
            pl.when(aside).then(imo).alias(_DECLARED_IMO),
            pl.when(aside).then(None).otherwise(pl.col("vessel_imo")).alias("vessel_imo"),
        )
        checked = f.check(frame, FIELDS, plausible).with_columns(
            f.problem_of(
                "vessel_imo",
                pl.format(
                    "{} (declared {}): the event is stored without a vessel IMO number",
                    pl.lit(IMO_CHECK_DIGIT),
                    pl.col(_DECLARED_IMO),
                ),
            ).alias("_warnings")
        )
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


def _sensors(frame: pl.DataFrame, plausible: f.Plausible) -> pl.DataFrame:
    checked = f.check(frame, SENSOR_FIELDS, plausible)
    iot = pl.col("event_type") == EventType.IOT
    rules = [
        f.problem_of(
            "event_code",
            pl.when(iot & (pl.col("event_code") != SensorEventCode.DETC))
            .then(pl.lit("is a reefer event code on an IoT event"))
            .when(~iot & (pl.col("event_code") == SensorEventCode.DETC))
            .then(pl.lit("is an IoT event code on a reefer event")),
        ),
        f.problem_of(
            "iot_code",
            pl.when(iot & pl.col("iot_code").is_null()).then(
                pl.lit("missing: an IoT event says what it detected (iotDetails.iotEventCode)")
            ),
        ),
    ]
    # What only a movement has is not read for a sensor event: null, for one content hash.
    return f.with_rules(checked, rules, "event_id").with_columns(
        *(pl.lit(None, pl.String).alias(n) for n in _MOVEMENT_ONLY),
        pl.lit(False).alias("is_transshipment"),
        pl.lit(None, pl.String).alias("_skip"),
    )


def _shipments(frame: pl.DataFrame, plausible: f.Plausible) -> pl.DataFrame:
    checked = f.check(frame, SHIPMENT_FIELDS, plausible)
    return f.with_rules(checked, [], "event_id").with_columns(
        pl.lit("SHIPMENT events").alias("_skip")
    )


def _retractions(frame: pl.DataFrame, plausible: f.Plausible) -> pl.DataFrame:
    checked = f.check(frame, [_ID], plausible)
    return f.with_rules(checked, [], "event_id").with_columns(
        pl.lit("retracted events").alias("_skip")
    )


def content_hashes(valid: pl.DataFrame, *, legacy: bool = False) -> pl.DataFrame:
    """``_run``, ``_key``, ``event_id`` and the SHA-256 of the normalised event: a movement's
    over ``COLUMNS_HASHED``, as always, with a vessel number set aside as declared; a sensor
    event's over its own columns too."""
    if _DECLARED_IMO in valid.columns and valid[_DECLARED_IMO].is_not_null().any():
        valid = valid.with_columns(pl.coalesce("vessel_imo", _DECLARED_IMO).alias("vessel_imo"))
    movements = f.content_hashes(valid, COLUMNS_HASHED, ["event_id"], legacy=legacy)
    sensor = valid.select(pl.col("event_type").is_in(SENSOR_TYPES)).to_series()
    if not sensor.any():
        return movements
    both = f.content_hashes(valid, [*COLUMNS_HASHED, *_SENSOR_ONLY], ["event_id"])
    return movements.with_columns(
        pl.when(sensor).then(both["content_sha256"]).otherwise(pl.col("content_sha256"))
        .alias("content_sha256")
    )  # fmt: skip
