"""The site reference directory of the settings, through the API: put in use when the
application is made (a bad file stops it), so a consignment from a site port is accepted."""

from __future__ import annotations

from pathlib import Path

import pytest
from api_support import Api, consignment
from fastapi.testclient import TestClient
from sqlalchemy import select

from quaywatch.api.app import create_app
from quaywatch.config import Settings
from quaywatch.domain import reference
from quaywatch.domain.access import Role
from quaywatch.errors import ReferenceDataError
from quaywatch.store import tables
from quaywatch.store.store import Store

HEADER = "locode,name,country,region\n"


def site(tmp_path: Path, ports: str) -> Path:
    folder = tmp_path / "site"
    folder.mkdir()
    (folder / "ports.csv").write_text(HEADER + ports)
    return folder


def test_a_bad_site_directory_stops_the_application(tmp_path: Path) -> None:
    folder = site(tmp_path, "NLQW1,Harbour,NL,\n")
    settings = Settings(database_url=f"sqlite:///{tmp_path / 'q.db'}", reference_dir=folder)
    with pytest.raises(ReferenceDataError, match="ports.csv line 2, field locode"):
        create_app(settings)


def test_a_consignment_from_a_site_port_is_accepted(
    store: Store, store_url: str, tmp_path: Path
) -> None:
    record = consignment(1)
    record["route"]["port_of_loading"] = "NLQWX"
    settings = Settings(database_url=store_url, model_dir=tmp_path / "no-models")
    with TestClient(create_app(settings, store=store), base_url="https://testserver") as client:
        refused = Api(client, store, settings).post("/api/v1/consignments", Role.FEED, json=record)
    assert refused.status_code == 422 and "NLQWX is not a known port" in refused.text
    settings = settings.model_copy(update={"reference_dir": site(tmp_path, "NLQWX,Harbour,NL,\n")})
    with TestClient(create_app(settings, store=store), base_url="https://testserver") as client:
        answer = Api(client, store, settings).post("/api/v1/consignments", Role.FEED, json=record)
    assert answer.status_code == 201, answer.text


def test_the_reference_version_is_in_receipts_and_assessments(api: Api) -> None:
    """What reference data checked a submission and made an assessment is in the answers,
    as recorded on the import batch and the assessment."""
    used = reference.version()
    several = api.post("/api/v1/consignments", Role.FEED, json=[consignment(31), consignment(32)])
    assert several.status_code == 201, several.text
    body = several.json()
    assert body["reference_version"] == used
    with api.store.reading() as conn:
        b = tables.import_batches
        recorded = conn.execute(
            select(b.c.reference_version).where(b.c.batch_id == body["batch_id"])
        ).scalar_one()
    assert recorded == used
    assert {a["reference_version"] for a in body["assessments"]} == {used}
    one = api.post("/api/v1/consignments", Role.FEED, json=consignment(33)).json()
    assert one["assessment"]["reference_version"] == used
    history = api.get("/api/v1/consignments/261206-BEANR-0000031/assessments", Role.ANALYST)
    assert [a["reference_version"] for a in history.json()] == [used]
    asked = api.post("/api/v1/assessments", Role.ANALYST,
                     json={"consignment_ids": ["261206-BEANR-0000032"]})  # fmt: skip
    assert asked.json()[0]["reference_version"] == used
    unchanged = api.post("/api/v1/consignments", Role.FEED, json=[consignment(31)]).json()
    assert unchanged["unchanged"] == 1 and unchanged["reference_version"] == used


def test_the_openapi_document_shows_the_reference_version(api_without_model: Api) -> None:
    spec = api_without_model.client.get("/openapi.json").json()
    schemas = spec["components"]["schemas"]
    assert "reference_version" in schemas["SubmissionReceipt"]["properties"]
    assert "reference_version" in schemas["Assessment"]["properties"]
    history = spec["paths"]["/api/v1/consignments/{consignment_id}/assessments"]["get"]
    [example] = history["responses"]["200"]["content"]["application/json"]["example"]
    assert example["reference_version"]
