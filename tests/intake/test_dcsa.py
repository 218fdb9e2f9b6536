"""DCSA Track & Trace 2.2 and 3.0 events, as DCSA publishes them, imported as a user would.

The fixtures in data/dcsa/ are DCSA's own conformance examples (README there): each imports
with every event stored, or acknowledged and counted as skipped (shipment events), or, in the
examples DCSA wrote wrong on purpose, quarantined with a clear reason; the one structurally
wrong file is refused once, naming what it found. Nothing of the valid examples is
quarantined: their transport event's vessel number 7654321 fails the IMO check digit, so the
event is stored without it, with a data-quality warning naming record and field.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from quaywatch.audit import full
from quaywatch.cli import app
from quaywatch.errors import InputError
from quaywatch.intake.pipeline import ingest_file
from quaywatch.store import tables
from quaywatch.store.store import Store

DCSA = Path(__file__).parent / "data" / "dcsa"
EXAMPLES = Path(__file__).parents[2] / "examples"
SHIPMENT = "SHIPMENT events"
#: DCSA's example vessels 7654321 and 2468135 fail the IMO check digit (7654329 would pass):
#: no ship holds such a number, so the event is stored without it, with a warning.
BAD_IMO = (
    "IMO check digit does not match (declared {}): the event is stored without a vessel IMO number"
)


@pytest.mark.parametrize(
    ("name", "fmt", "read", "new", "skipped", "quarantined", "warned"),
    [
        ("tnt-220-response.json", "dcsa-tnt-2.2", 7, 4, 3, [], []),
        ("tnt-300-request-equipment.json", "dcsa-tnt-3", 1, 1, 0, [], []),
        ("tnt-300-request-transport.json", "dcsa-tnt-3", 1, 1, 0, [], []),
        ("tnt-300-request-iot.json", "dcsa-tnt-3", 1, 1, 0, [], []),
        ("tnt-300-request-reefer.json", "dcsa-tnt-3", 1, 1, 0, [], []),
        ("tnt-300-request-shipment.json", "dcsa-tnt-3", 1, 0, 1, [], []),
        # nothing quarantined: the transport event stored, its vessel number set aside
        ("tnt-300-response.json", "dcsa-tnt-3", 5, 4, 1, [],
         [("item 2", "evt-resp-trans-001", "vessel_imo", BAD_IMO.format("7654321"))]),
        ("tnt-300-response-nextpage.json", "dcsa-tnt-3", 5, 4, 1, [],
         [("item 2", "evt-resp-trans-002", "vessel_imo", BAD_IMO.format("2468135"))]),
        # DCSA's deliberately wrong examples: one clear first reason each
        ("tnt-220-response-wrong-attribute-values.json", "dcsa-tnt-2.2", 3, 0, 1,
         [("event_id", "missing"), ("un_locode", "UN/LOCODE XYABC has an unknown country")], []),
        ("tnt-220-response-wrong-date-times.json", "dcsa-tnt-2.2", 7, 0, 0,
         [("event_id", "missing")] * 7, []),
        # a numeric id is refused; ids repeated with the same content are one event each
        ("tnt-220-response-wrong-event-ids.json", "dcsa-tnt-2.2", 7, 0, 6,
         [("eventID", "is a number, not a string")], []),
    ],
)  # fmt: skip
def test_dcsa_examples_import_with_every_event_accounted_for(
    store: Store,
    name: str,
    fmt: str,
    read: int,
    new: int,
    skipped: int,
    quarantined: list[tuple[str, str]],
    warned: list[tuple[str, str, str, str]],
) -> None:
    summary = ingest_file(store, DCSA / name)
    assert summary.format == fmt
    assert (summary.read, summary.new) == (read, new)
    assert summary.skipped == ({SHIPMENT: skipped} if skipped else {})
    assert [r.problems[0] for r in summary.rejected] == quarantined
    assert summary.quarantined == len(quarantined)
    assert [(w.location, w.record_id, w.field, w.reason) for w in summary.warnings] == warned
    assert summary.warned == len(warned)
    assert summary.balanced
    again = ingest_file(store, DCSA / name)  # idempotent: nothing new, the same skipped
    assert (again.new, again.unchanged, again.skipped) == (0, new, summary.skipped)
    assert (again.quarantined, again.warned) == (summary.quarantined, summary.warned)
    with store.reading() as conn:
        checked, findings, _ = full.verify_rows(conn)
    assert findings == [] and checked.rows > 0


def test_a_structurally_wrong_file_is_refused_once_naming_what_was_found(store: Store) -> None:
    with pytest.raises(
        InputError, match=r"not a recognised format: found keys someEvents in item 1"
    ):
        ingest_file(store, DCSA / "tnt-220-response-wrong-structure.json")
    assert store.counts()["quarantine_open"] == 0 and store.counts()["events"] == 0


def test_iot_and_reefer_events_keep_what_they_say_about_the_container(store: Store) -> None:
    ingest_file(store, DCSA / "tnt-300-response.json")
    s = tables.sensor_events
    with store.reading() as conn:
        rows = {r.event_id: r for r in conn.execute(select(s))}
    iot, reefer = rows["evt-resp-iot-001"], rows["evt-resp-reefer-001"]
    assert (iot.event_type, iot.event_code, iot.iot_code, iot.container_number) == (
        "IOT",
        "DETC",
        "LOC",
        "APZU4812090",
    )
    assert (iot.un_locode, iot.latitude, iot.longitude) == (None, 51.5074, -0.1278)
    assert (reefer.event_code, reefer.temperature_unit, reefer.un_locode) == (
        "MEAS",
        "CEL",
        "BEANR",
    )
    assert (reefer.setpoint_temperature, reefer.ambient_temperature) == (-20.0, 18.5)
    assert (reefer.lowest_probe_temperature, reefer.highest_probe_temperature) == (-20.1, -19.8)
    with store.reading() as conn:
        moves = {r.event_id: r for r in conn.execute(select(tables.events))}
    gate_in = moves["evt-resp-equip-001"]
    assert (gate_in.event_code, gate_in.un_locode, gate_in.facility_type) == (
        "GTIN",
        "FRPAR",
        "DEPO",
    )
    assert gate_in.created_time.isoformat() == "2025-01-27T01:23:45+00:00"  # eventUpdatedDateTime


def _as_v3(event: dict[str, Any]) -> dict[str, Any]:
    """An event of examples/events.json (2.2) written as Track & Trace 3.x."""
    call = event["transportCall"]
    kind = event["eventType"]
    code = "equipmentEventTypeCode" if kind == "EQUIPMENT" else "transportEventTypeCode"
    found: dict[str, Any] = {
        "eventID": event["eventID"],
        "eventDateTime": event["eventDateTime"],
        "eventUpdatedDateTime": event["eventCreatedDateTime"],
        "eventClassification": {
            "eventTypeCode": kind, "eventClassifierCode": event["eventClassifierCode"],
            code: event[code],
        },
        "eventLocation": {"UNLocationCode": call["UNLocationCode"],
                          "facilityTypeCode": call["facilityTypeCode"]},
        "transportDetails": {"transportCall": {"vesselTransport": call["vessel"]}},
    }  # fmt: skip
    if "equipmentReference" in event:
        found["equipmentDetails"] = {
            "equipmentReference": event["equipmentReference"],
            "emptyIndicatorCode": event["emptyIndicatorCode"],
            "movementType": "TRANSSHIPMENT" if event["isTransshipmentMove"] else "IMPORT",
            "seals": [{"number": s["sealNumber"], "source": s["sealSource"], "type": s["sealType"]}
                      for s in event.get("seals") or []],
        }  # fmt: skip
    if event.get("documentReferences"):
        reference = event["documentReferences"][0]
        found["shipmentDetails"] = {"documentReference": {
            "typeCode": reference["documentReferenceType"],
            "reference": reference["documentReferenceValue"],
        }}  # fmt: skip
    return found


@pytest.mark.parametrize("layout", ["wrapped", "wrapped-one-line", "array", "lines"])
def test_an_event_sent_again_in_3x_is_the_event_stored_from_2_2(
    store: Store, tmp_path: Path, layout: str
) -> None:
    events = json.loads((EXAMPLES / "events.json").read_text())
    first = ingest_file(store, EXAMPLES / "events.json")
    v3 = [_as_v3(e) for e in events]
    path = tmp_path / ("events.jsonl" if layout == "lines" else "events.json")
    text = {
        "wrapped": json.dumps({"events": v3, "feedbackElements": []}, indent=2),
        "wrapped-one-line": json.dumps({"events": v3}),
        "array": json.dumps(v3, indent=2),
        "lines": "".join(json.dumps(e) + "\n" for e in v3),
    }[layout]
    path.write_text(text)
    again = ingest_file(store, path)
    assert again.format == "dcsa-tnt-3"
    assert (again.read, again.unchanged, again.new, again.quarantined) == (
        first.new,
        first.new,
        0,
        0,
    )


def test_a_pretty_printed_3x_response_is_not_read_line_by_line(
    store: Store, tmp_path: Path
) -> None:
    # The issue: a 3.x response read as JSON Lines gave one "not valid JSON" entry per line.
    summary = ingest_file(store, DCSA / "tnt-300-request-equipment.json")
    assert summary.read == 1 and summary.new == 1 and store.counts()["quarantine_open"] == 0


def test_format_overrides_detection(store: Store) -> None:
    forced = ingest_file(store, DCSA / "tnt-300-request-equipment.json", format_name="dcsa-tnt-2.2")
    assert forced.format == "dcsa-tnt-2.2" and forced.quarantined == 1  # read as 2.2: no eventType
    assert ("event_type", "missing") in forced.rejected[0].problems
    with pytest.raises(InputError, match="unknown format 'dcsa-9' \\(known: dcsa-tnt-3"):
        ingest_file(store, DCSA / "tnt-300-request-equipment.json", format_name="dcsa-9")
    with pytest.raises(InputError, match="format dcsa-tnt-3 is not read from CSV"):
        ingest_file(store, EXAMPLES / "consignments.csv", format_name="dcsa-tnt-3")


def _summary_line(out: str, name: str) -> str:
    return next(line for line in out.splitlines() if name in line and "│" in line)


def test_the_cli_says_what_it_skipped_and_in_which_format(store_url: str) -> None:
    runner = CliRunner()
    result = runner.invoke(
        app, ["--database", store_url, "ingest", str(DCSA / "tnt-300-response.json")]
    )
    assert result.exit_code == 0, result.output
    assert "dcsa-tnt-3" in _summary_line(result.output, "tnt-300-response.json")
    assert "skipped tnt-300-response.json: 1 SHIPMENT events" in result.output
    forced = runner.invoke(
        app, ["--database", store_url, "ingest", "--format", "dcsa-tnt-2.2",
              str(DCSA / "tnt-300-request-iot.json")],
    )  # fmt: skip
    assert "dcsa-tnt-2.2" in _summary_line(forced.output, "tnt-300-request-iot.json")
    wrong = runner.invoke(
        app,
        ["--database", store_url, "ingest", str(DCSA / "tnt-220-response-wrong-structure.json")],
    )
    assert wrong.exit_code != 0 and "Traceback" not in wrong.output
    assert "not a recognised format: found keys someEvents" in wrong.output
    assert wrong.output.count("someEvents") == 1  # refused once, not line by line


def test_an_event_with_a_failing_imo_check_digit_is_stored_without_it_and_warned(
    store: Store, tmp_path: Path
) -> None:
    summary = ingest_file(store, DCSA / "tnt-300-response.json")
    assert summary.quarantined == 0 and store.counts()["quarantine_open"] == 0
    e = tables.events
    with store.reading() as conn:
        stored = conn.execute(select(e).where(e.c.event_id == "evt-resp-trans-001")).one()
        [details] = conn.execute(
            select(tables.audit_events.c.details).where(
                tables.audit_events.c.object_id == summary.batch_id
            )
        ).scalars()
    # set aside: no vessel number stored; everything else the event says is
    assert (stored.event_code, stored.vessel_imo, stored.un_locode) == ("DEPA", None, "GBSOU")
    assert stored.transport_document == "HHL71800000"  # the TRD, not the booking
    # the import's audit event keeps the value declared, naming record and field
    audited = json.loads(details)
    assert audited["warnings"] == 1
    assert audited["warned"] == [
        ["item 2", "evt-resp-trans-001", "vessel_imo", BAD_IMO.format("7654321")]
    ]
    # the same event with another vessel number is another event, not the one stored
    record = json.loads((DCSA / "tnt-300-response.json").read_text())["events"][1]
    record["transportDetails"]["transportCall"]["vesselTransport"]["vesselIMONumber"] = "7654329"
    corrected = tmp_path / "corrected.json"
    corrected.write_text(json.dumps({"events": [record]}))
    again = ingest_file(store, corrected)
    assert (again.new, again.unchanged, again.warned) == (0, 0, 0)
    assert again.rejected[0].problems == [
        ("event_id", "an event with this id is already stored with different content")
    ]
    with store.reading() as conn:
        checked, findings, _ = full.verify_rows(conn)
    assert findings == [] and checked.rows > 0


def test_the_cli_names_the_warning_and_the_declared_value(store_url: str) -> None:
    result = CliRunner().invoke(
        app, ["--database", store_url, "ingest", str(DCSA / "tnt-300-response-nextpage.json")]
    )
    assert result.exit_code == 0, result.output
    assert (
        "warning tnt-300-response-nextpage.json item 2, evt-resp-trans-002, vessel_imo: "
        "IMO check digit does not match (declared 2468135)"
    ) in " ".join(result.output.split())
