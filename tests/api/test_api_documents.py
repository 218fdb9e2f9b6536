"""GET /api/v1/documents/{reference} and /consignments/{id}/document-check: a carrier's
document and a consignment's discrepancies with it, over HTTP, on SQLite and PostgreSQL; for
analysts and targeting officers only. POST /api/v1/documents: carriers' documents in, for feeds
only, checked, quarantined and idempotent as a file is."""

from __future__ import annotations

import copy
import csv
import io
import json
from pathlib import Path
from typing import Any

import pytest
from api_support import Api

from quaywatch.api.schemas import EXAMPLE_DOCUMENT
from quaywatch.domain.access import ROLE_PERMISSIONS, Permission, Role
from quaywatch.intake.pipeline import ingest_file

ROOT = Path(__file__).parents[2]
BL = "HHL71800000"


def _declared(tmp_path: Path) -> Path:
    """The example CSV's first goods item, declaring DCSA's B/L with another seal."""
    with (ROOT / "examples" / "consignments.csv").open(encoding="utf-8", newline="") as file:
        rows = list(csv.DictReader(file))
    item = rows[0] | {"transport_document": BL, "container_number": "NARU3472484",
                      "seals": "SHI:BLT:XX-999"}  # fmt: skip
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(rows[0]))
    writer.writeheader()
    writer.writerow(item)
    path = tmp_path / "declared.csv"
    path.write_text(out.getvalue(), encoding="utf-8")
    return path


def test_a_document_and_a_consignment_check_over_http(
    api_without_model: Api, tmp_path: Path
) -> None:
    api = api_without_model
    dcsa = ROOT / "tests" / "intake" / "data" / "dcsa-ebl"
    for name in ("td-notification-draft", "td-notification-issued"):
        ingest_file(api.store, dcsa / f"{name}.json")
    ingest_file(api.store, _declared(tmp_path))
    answer = api.get(f"/api/v1/documents/{BL}", Role.ANALYST)
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert [r["revision"] for r in body["revisions"]] == [1, 2] and body["status"] == "ISSUED"
    assert body["equipment"][0]["seals"] == ["DCSA-CTK-1234"]
    [linked] = body["consignments"]
    check = api.get(
        f"/api/v1/consignments/{linked['consignment_id']}/document-check", Role.TARGETING_OFFICER
    )
    assert check.status_code == 200, check.text
    seals = [d for d in check.json()["discrepancies"] if d["kind"] == "SEAL_DIFFERS"]
    assert [(d["declared"], d["filed"]) for d in seals] == [("XX-999", "DCSA-CTK-1234")]
    assert api.get(f"/api/v1/documents/{BL}", Role.INSPECTOR).status_code == 403
    assert api.get("/api/v1/documents/NOPE", Role.ANALYST).status_code == 404
    assert api.client.get(f"/api/v1/documents/{BL}").status_code == 401


# --- POST /api/v1/documents -----------------------------------------------------------------

DCSA = ROOT / "tests" / "intake" / "data" / "dcsa-ebl"


def _example() -> dict[str, Any]:
    return copy.deepcopy(EXAMPLE_DOCUMENT)


def test_a_posted_document_is_new_then_unchanged_then_a_revision(api_without_model: Api) -> None:
    api = api_without_model
    first = api.post("/api/v1/documents", Role.FEED, json=_example())
    assert first.status_code == 201, first.text
    body = first.json()
    assert (body["read"], body["new"], body["quarantined"], body["format"]) == (
        1, 1, 0, "dcsa-ebl-3",
    )  # fmt: skip
    again = api.post("/api/v1/documents", Role.FEED, json=_example())
    assert again.status_code == 200 and again.json()["unchanged"] == 1
    amended = _example() | {"transportDocumentStatus": "SURRENDERED"}
    assert api.post("/api/v1/documents", Role.FEED, json=amended).status_code == 201
    shown = api.get("/api/v1/documents/MAEU0300000001", Role.ANALYST).json()
    assert [r["revision"] for r in shown["revisions"]] == [1, 2]
    assert shown["status"] == "SURRENDERED"
    assert shown["equipment"][0]["seals"] == ["SL23490025"]


def test_an_array_and_dcsas_own_notifications_are_stored(api_without_model: Api) -> None:
    api = api_without_model
    notified = [json.loads((DCSA / f"{n}.json").read_text(encoding="utf-8"))
                for n in ("td-notification-draft", "td-notification-issued")]  # fmt: skip
    answer = api.post("/api/v1/documents", Role.FEED, json=[*notified, _example()])
    assert answer.status_code == 201, answer.text
    assert (answer.json()["new"], answer.json()["quarantined"]) == (3, 0)
    shown = api.get(f"/api/v1/documents/{BL}", Role.TARGETING_OFFICER).json()
    assert [r["status"] for r in shown["revisions"]] == ["DRAFT", "ISSUED"]


def test_an_invalid_document_is_quarantined_naming_each_field(api_without_model: Api) -> None:
    api = api_without_model
    bad = _example()
    bad["utilizedTransportEquipments"][0]["equipment"]["equipmentReference"] = "NOT-A-BOX"
    bad["transports"]["portOfLoading"]["UNLocationCode"] = "XX1"
    answer = api.post("/api/v1/documents", Role.FEED, json=bad)
    assert answer.status_code == 422, answer.text
    assert answer.headers["content-type"] == "application/problem+json"
    problem = answer.json()
    fields = {e["field"] for e in problem["errors"]}
    assert "utilizedTransportEquipments[0].equipment.equipmentReference" in fields
    assert any(f and "portOfLoading" in f for f in fields), fields
    [quarantine_id] = {e["quarantine_id"] for e in problem["errors"]}
    assert quarantine_id is not None
    entry = api.get(f"/api/v1/quarantine/{quarantine_id}", Role.ADMIN)
    assert entry.status_code == 200 and entry.json()["kind"] == "documents"
    again = api.post("/api/v1/documents", Role.FEED, json=bad).json()
    assert {e["quarantine_id"] for e in again["errors"]} == {quarantine_id}
    assert api.get("/api/v1/documents/MAEU0300000001", Role.ANALYST).status_code == 404
    mixed = api.post("/api/v1/documents", Role.FEED, json=[_example(), bad])
    assert mixed.status_code == 201
    assert mixed.json()["new"] == 1
    assert {(e["index"], e["quarantine_id"] is not None) for e in mixed.json()["rejected"]} == {
        (1, True)
    }


@pytest.mark.parametrize(
    "role", [r for r in Role if Permission.DATA_SUBMIT not in ROLE_PERMISSIONS[r]]
)
def test_only_a_feed_may_post_documents(api_without_model: Api, role: Role) -> None:
    api = api_without_model
    answer = api.post("/api/v1/documents", role, json=_example())
    assert answer.status_code == 403 and "data:submit" in answer.json()["detail"]
    assert api.client.post("/api/v1/documents", json=_example()).status_code == 401
    assert api.get("/api/v1/documents/MAEU0300000001", Role.ANALYST).status_code == 404


def test_the_openapi_document_shows_a_document_to_post(api_without_model: Api) -> None:
    spec = api_without_model.client.get("/openapi.json").json()
    body = spec["paths"]["/api/v1/documents"]["post"]["requestBody"]["content"]
    example = body["application/json"]["examples"]["one"]["value"]
    assert example == EXAMPLE_DOCUMENT
    assert "DcsaDocument" in spec["components"]["schemas"]
