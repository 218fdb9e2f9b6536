"""A carrier's document in a real browser (headless Chromium, the helpers of web_support.py):
an analyst goes from a dossier's document check to the carrier's document and back to the
dossier by keyboard alone. No browser error, no serious accessibility violation, screenshots
of the document page at both sizes."""

from __future__ import annotations

import pytest
from web_support import HOSTILE, PASSWORD, file_carrier_document, log_in, open_browser, shoot

from quaywatch.domain.access import Role
from quaywatch.services import accounts
from quaywatch.store.store import Store


@pytest.mark.slow
def test_an_analyst_follows_the_document_check_to_the_carriers_document(
    served: tuple[str, Store],
) -> None:
    base, store = served
    consignment_id, bl, box = file_carrier_document(store)
    accounts.add_user(store, "ana", roles=[Role.ANALYST], password=PASSWORD, actor="admin")
    with open_browser() as page:
        dialogs: list[str] = []
        page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
        log_in(page, base, "ana")
        page.goto(f"{base}/consignments/{consignment_id}")
        check = page.locator("section[aria-labelledby=filing-check-h]")
        assert "rip-on/rip-off" in check.inner_text()
        check.locator(f"a[href='/documents/{bl}']").first.focus()
        page.keyboard.press("Enter")
        page.wait_for_url(f"{base}/documents/{bl}")
        assert page.locator("h1").inner_text() == f"Transport document {bl}"
        # Stored text is shown as text, never run: the shipper's name is on the page as typed.
        assert HOSTILE in page.locator("section[aria-labelledby=doc-parties-h]").inner_text()
        assert dialogs == []
        assert box in page.locator("section[aria-labelledby=equipment-h]").inner_text()
        shoot(page, "carrier-document")
        declared = page.locator("section[aria-labelledby=declared-h]")
        declared.locator(f"a[href='/consignments/{consignment_id}']").focus()
        page.keyboard.press("Enter")
        page.wait_for_url(f"{base}/consignments/{consignment_id}")
