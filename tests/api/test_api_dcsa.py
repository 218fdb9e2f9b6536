"""DCSA Track & Trace 3.x events over HTTP: a 3.x response posted as DCSA's consumer endpoint
receives it, its shipment event acknowledged and counted, not quarantined."""

from __future__ import annotations

import json
from pathlib import Path

from api_support import Api

from quaywatch.domain.access import Role

DCSA = Path(__file__).parents[1] / "intake" / "data" / "dcsa"


def test_a_3x_response_is_stored_and_its_shipment_event_counted_as_skipped(api: Api) -> None:
    body = json.loads((DCSA / "tnt-300-request-iot.json").read_text())
    sent = api.post("/api/v1/events", Role.FEED, json=body)
    assert sent.status_code == 201, sent.text
    assert (sent.json()["new"], sent.json()["format"]) == (1, "dcsa-tnt-3")
    shipment = json.loads((DCSA / "tnt-300-request-shipment.json").read_text())
    answer = api.post("/api/v1/events", Role.FEED, json=shipment)
    assert answer.status_code == 200, answer.text
    assert answer.json()["skipped"] == {"SHIPMENT events": 1} and answer.json()["quarantined"] == 0


def test_the_format_can_be_named(api: Api) -> None:
    body = json.loads((DCSA / "tnt-300-request-equipment.json").read_text())
    forced = api.post("/api/v1/events", Role.FEED, json=body, params={"format": "dcsa-tnt-2.2"})
    assert forced.status_code == 422  # read as 2.2, the event has no eventType
    unknown = api.post("/api/v1/events", Role.FEED, json=body, params={"format": "nope"})
    assert unknown.status_code == 422 and "unknown format 'nope'" in unknown.text


def test_an_event_stored_with_its_vessel_number_set_aside_is_listed_as_a_warning(
    api: Api,
) -> None:
    body = json.loads((DCSA / "tnt-300-response.json").read_text())
    sent = api.post("/api/v1/events", Role.FEED, json=body)
    assert sent.status_code == 201, sent.text
    receipt = sent.json()
    assert (receipt["new"], receipt["quarantined"], receipt["rejected"]) == (4, 0, [])
    assert receipt["warnings"] == [
        {
            "record_id": "evt-resp-trans-001",
            "field": "vessel_imo",
            "reason": "IMO check digit does not match (declared 7654321): the event is stored "
            "without a vessel IMO number",
        }
    ]
