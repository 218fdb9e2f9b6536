"""A consignment filed through the API is assessed with the carrier's documents of its B/L
(risk.document_hits): DCSA's transport document HHL71800000 is imported, a consignment declaring
its container with another seal is posted, and its assessment carries the seal reason with the
document revision as evidence; one declaring an unknown B/L carries no document reason."""

from __future__ import annotations

from pathlib import Path

from api_support import Api, consignment
from sqlalchemy import select

from quaywatch.domain.access import Role
from quaywatch.intake.pipeline import ingest_file
from quaywatch.store import tables

ROOT = Path(__file__).parents[2]
BL = "HHL71800000"


def test_a_posted_consignment_is_assessed_with_the_carriers_document(api: Api) -> None:
    for name in ("td-notification-draft", "td-notification-issued"):
        ingest_file(api.store, ROOT / "tests" / "intake" / "data" / "dcsa-ebl" / f"{name}.json")
    d = tables.carrier_documents
    with api.store.reading() as conn:
        newest = conn.execute(select(d.c.document_id).where(d.c.revision == 2)).scalar_one()
    record = consignment(1, transport_document=BL)
    record["goods_items"][0]["container_number"] = "NARU3472484"
    record["containers"][0]["number"] = "NARU3472484"
    record["containers"][0]["seals"][0]["number"] = "XX-999"
    answer = api.post("/api/v1/consignments", Role.FEED, json=record)
    assert answer.status_code == 201, answer.text
    reasons = {r["code"]: r for r in answer.json()["assessment"]["reasons"]}
    seal = reasons["document:seal_differs"]
    assert seal["source"] == "document" and seal["evidence"] == [newest]
    assert "lists seal DCSA-CTK-1234, the declaration XX-999" in seal["text"]
    plain = api.post("/api/v1/consignments", Role.FEED, json=consignment(2))
    assert plain.status_code == 201, plain.text
    assert all(r["source"] != "document" for r in plain.json()["assessment"]["reasons"])
    assert all(r["evidence"] == [] for r in plain.json()["assessment"]["reasons"])
