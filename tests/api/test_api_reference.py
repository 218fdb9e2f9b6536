"""The site reference directory of the settings, through the API: put in use when the
application is made (a bad file stops it), so a consignment from a site port is accepted."""

from __future__ import annotations

from pathlib import Path

import pytest
from api_support import Api, consignment
from fastapi.testclient import TestClient

from quaywatch.api.app import create_app
from quaywatch.config import Settings
from quaywatch.domain.access import Role
from quaywatch.errors import ReferenceDataError
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
