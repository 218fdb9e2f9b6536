"""Helpers of the web application's tests (fixtures are in conftest.py)."""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass
from pathlib import Path

from starlette.testclient import TestClient

from quaywatch.config import Settings
from quaywatch.domain.access import Role
from quaywatch.services import accounts
from quaywatch.store.store import Store

PASSWORD = "correct horse battery staple"
_users = itertools.count(1)


@dataclass(frozen=True)
class Demo:
    """A demo store made once per test process, and its models folder."""

    db: Path
    models: Path


@dataclass
class Site:
    """The web application under test, its store and settings."""

    client: TestClient
    store: Store
    settings: Settings

    def user(self, *roles: Role, terminals: tuple[str, ...] = ()) -> str:
        """A new user with ``roles`` (at ``terminals``) and the password ``PASSWORD``."""
        name = f"user{next(_users)}"
        accounts.add_user(self.store, name, roles=list(roles), terminals=terminals,
                          password=PASSWORD, actor="admin")  # fmt: skip
        return name

    def login(self, name: str, *, next_page: str = "/") -> object:
        """Log in through the login form, as a browser would."""
        page = self.client.get(f"/login?next={next_page}")
        token = csrf_of(page.text)
        return self.client.post(
            "/login",
            data={"username": name, "password": PASSWORD, "csrf_token": token, "next": next_page},
            follow_redirects=False,
        )


def csrf_of(html: str) -> str:
    """The CSRF token a page's forms carry."""
    found = re.search(r'name="csrf_token" value="([^"]*)"', html)
    assert found, "the page has no form with a CSRF token"
    return found.group(1)


#: A party name no page may show unescaped.
HOSTILE = "<script>alert('x')</script> & \"Sons\""


def file_carrier_document(store: Store) -> tuple[str, str, str]:
    """The carrier's DCSA eBL transport document for a demo consignment's B/L, filed twice
    (a draft, then the issued B/L), listing its first container with a seal of its own (a
    rip-on/rip-off discrepancy) and a shipper named ``HOSTILE``. Returns the consignment id,
    the B/L number and the container."""
    import copy

    from sqlalchemy import select

    from quaywatch.api.schemas import EXAMPLE_DOCUMENT
    from quaywatch.domain.vocabulary import RecordKind
    from quaywatch.services.intake import submit_records
    from quaywatch.store import tables

    c, k = tables.consignments, tables.containers
    with store.reading() as conn:
        row = conn.execute(
            select(c.c.consignment_id, c.c.transport_document, c.c.port_of_loading,
                   c.c.port_of_discharge, k.c.container_number)
            .join(k, (k.c.consignment_id == c.c.consignment_id) & (k.c.version == c.c.version))
            .order_by(c.c.consignment_id).limit(1)
        ).one()  # fmt: skip
    document = copy.deepcopy(EXAMPLE_DOCUMENT)
    document["transportDocumentReference"] = row.transport_document
    document["transportDocumentStatus"] = "DRAFT"
    document["transports"]["portOfLoading"]["UNLocationCode"] = row.port_of_loading
    document["transports"]["portOfDischarge"]["UNLocationCode"] = row.port_of_discharge
    document["documentParties"]["shipper"]["partyName"] = HOSTILE
    document["consignmentItems"][0]["cargoItems"][0]["equipmentReference"] = row.container_number
    equipment = document["utilizedTransportEquipments"][0]
    equipment["equipment"]["equipmentReference"] = row.container_number
    equipment["seals"] = [{"number": "CARRIER-SEAL-1", "source": "CAR"}]
    issued = copy.deepcopy(document) | {"transportDocumentStatus": "ISSUED"}
    for filed in (document, issued):
        done = submit_records(store, [filed], kind=RecordKind.DOCUMENTS, source="test",
                              actor="test")  # fmt: skip
        assert done.summary.new == 1, done.rejected
    return row.consignment_id, row.transport_document, row.container_number
