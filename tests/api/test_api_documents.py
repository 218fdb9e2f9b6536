"""GET /api/v1/documents/{reference} and /consignments/{id}/document-check: a carrier's
document and a consignment's discrepancies with it, over HTTP, on SQLite and PostgreSQL; for
analysts and targeting officers only."""

from __future__ import annotations

import csv
import io
from pathlib import Path

from api_support import Api

from quaywatch.domain.access import Role
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
