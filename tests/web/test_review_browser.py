"""The entity review and the audit screen in a real browser (headless Chromium, the helpers of
web_support.py): an officer goes from a dossier to a party's review and on to a neighbour's
by keyboard alone; a manager verifies the audit chain. No browser error, no serious
accessibility violation, screenshots of both screens at both sizes."""

from __future__ import annotations

import pytest
from sqlalchemy import select
from web_support import PASSWORD, log_in, open_browser, shoot

from quaywatch.domain.access import Role
from quaywatch.services import accounts
from quaywatch.services.entities import party_review
from quaywatch.store import tables
from quaywatch.store.store import Store


def _linked_consignment(store: Store) -> tuple[str, str]:
    """A consignment whose consignee shares something with another party, and that party."""
    c = tables.consignments
    with store.reading() as conn:
        rows = conn.execute(select(c.c.consignment_id, c.c.consignee_key).limit(400)).all()
    for row in rows:
        near = party_review(store, row.consignee_key, hops=1).neighbours
        if near:
            return row.consignment_id, near[0].party_key
    raise AssertionError("no consignee of the demo shares anything with another party")


@pytest.mark.slow
def test_an_officer_reviews_a_party_by_keyboard(served: tuple[str, Store]) -> None:
    base, store = served
    consignment_id, neighbour = _linked_consignment(store)
    accounts.add_user(store, "olga", roles=[Role.TARGETING_OFFICER], password=PASSWORD,
                      actor="admin")  # fmt: skip
    with open_browser() as page:
        log_in(page, base, "olga")
        page.goto(f"{base}/consignments/{consignment_id}")
        page.locator("section[aria-labelledby=parties-h] a[href^='/parties/']").nth(1).focus()
        page.keyboard.press("Enter")
        page.wait_for_url(f"{base}/parties/*")
        assert page.locator("svg.graph").count() == 1
        shoot(page, "entity-review")
        # The drawing's links stay out of the tab order; the table's lead on.
        link = page.locator(f"table a[href='/parties/{neighbour}']")
        link.focus()
        assert page.evaluate("document.activeElement.closest('svg') === null")
        page.keyboard.press("Enter")
        page.wait_for_url(f"{base}/parties/{neighbour}")


@pytest.mark.slow
def test_a_manager_verifies_the_audit_chain(served: tuple[str, Store]) -> None:
    base, store = served
    accounts.add_user(store, "mia", roles=[Role.MANAGER], password=PASSWORD, actor="admin")
    with open_browser() as page:
        log_in(page, base, "mia")
        page.click("nav >> text=Audit")
        page.wait_for_url(f"{base}/audit")
        page.click("button:has-text('Verify the chain')")
        page.wait_for_selector("text=The audit trail is intact.")
        shoot(page, "audit")
