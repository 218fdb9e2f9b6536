"""Helpers of the web application's tests (fixtures are in conftest.py)."""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from starlette.testclient import TestClient

from quaywatch.config import Settings
from quaywatch.domain.access import Role
from quaywatch.services import accounts
from quaywatch.store.store import Store

if TYPE_CHECKING:
    from playwright.sync_api import Page

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


# The browser tests' helpers: headless Chromium (Debian's package) driven by Playwright.

CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = Path(__file__).parents[2] / "test-artifacts" / "web"
SIZES = {"desktop": (1280, 800), "tablet": (768, 1024)}


AXE = Path(__file__).parent / "vendor" / "axe-4.14.1.min.js"


def accessible(page: Page) -> None:
    """axe-core finds no serious or critical violation on the page (its script is evaluated
    through the browser's debugging protocol, not loaded by the page, whose CSP forbids it)."""
    if not page.evaluate("typeof window.axe !== 'undefined'"):
        page.evaluate(AXE.read_text(encoding="utf-8"))
    found = page.evaluate(
        "async () => (await axe.run(document, {resultTypes: ['violations']})).violations"
        ".map(v => ({id: v.id, impact: v.impact, nodes: v.nodes.map(n => n.target.join(' '))}))"
    )
    bad = [v for v in found if v["impact"] in ("serious", "critical")]
    assert bad == [], bad


def shoot(page: Page, name: str) -> None:
    """Check ``page`` with axe-core, then save its screenshots at each of ``SIZES``."""
    accessible(page)
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    for size, (width, height) in SIZES.items():
        page.set_viewport_size({"width": width, "height": height})
        page.screenshot(path=str(ARTIFACTS / f"{name}-{size}.png"), full_page=False)
    page.set_viewport_size({"width": 1280, "height": 800})


REFUSED = "Failed to load resource: the server responded with a status of 403 (Forbidden)"


@contextmanager
def open_browser(*, refusals: bool = False) -> Iterator[Page]:
    """A page of headless Chromium; afterwards, the browser must have reported no error (a
    script or style the Content-Security-Policy refused would be one), except, with
    ``refusals``, the 403 of a page the test expects to be refused."""
    assert CHROMIUM.exists(), "Debian's chromium is not installed: run `make install`"
    problems: list[str] = []
    from playwright.sync_api import sync_playwright  # only the browser tests need it

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True)
        try:
            page = chromium.new_page(viewport={"width": 1280, "height": 800})
            page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
            page.on("pageerror", lambda e: problems.append(str(e)))
            yield page
        finally:
            chromium.close()
    assert [p for p in problems if not (refusals and p == REFUSED)] == []


def log_in(page: Page, base: str, name: str) -> None:
    """Log ``name`` in (password ``PASSWORD``) through the login form of ``base``."""
    page.goto(f"{base}/login")
    page.fill("#username", name)
    page.fill("#password", PASSWORD)
    page.click("form.login button")
    page.wait_for_load_state()
