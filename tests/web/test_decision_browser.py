"""The decision panel in a real browser (headless Chromium, the helpers of web_support.py): a
targeting officer moves a consignment to another lane with the keyboard alone, a refused form
puts the focus on the field at fault, and axe-core finds no serious violation on either page."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from playwright.sync_api import Page, sync_playwright
from web_support import CHROMIUM, PASSWORD, log_in, shoot

from quaywatch.domain.access import Role
from quaywatch.services import accounts, decisions, selection
from quaywatch.services.worklist import worklist
from quaywatch.store.store import Store


@contextmanager
def _counting_browser(*, refused: int) -> Iterator[Page]:
    """``web_support.open_browser``, where the browser reports ``refused`` answers of 422 (a
    refused form's page) and no other error."""
    problems: list[str] = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 800})
            page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
            page.on("pageerror", lambda e: problems.append(str(e)))
            yield page
        finally:
            browser.close()
    unexpected = [p for p in problems if "status of 422" not in p]
    assert unexpected == [] and len(problems) == refused, problems


def _tab_to(page: Page, element_id: str) -> None:
    for _ in range(300):
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.id") == element_id:
            return
    raise AssertionError(f"#{element_id} is not reached with the Tab key")


def test_an_officer_overrides_a_lane_by_keyboard(served: tuple[str, Store]) -> None:
    base, store = served
    accounts.add_user(store, "olga", roles=[Role.TARGETING_OFFICER], password=PASSWORD,
                      actor="admin")  # fmt: skip
    run = selection.list_selection_runs(store)[0].run_id
    row = next(e for e in worklist(store, run) if e.lane == "yellow" and e.selected_by == "MODEL")
    with _counting_browser(refused=1) as page:
        log_in(page, base, "olga")
        page.goto(f"{base}/consignments/{row.consignment_id}")
        _tab_to(page, "lane-to")
        page.keyboard.type("red")  # a focused select picks the option its text starts with
        _tab_to(page, "lane-reason")
        page.keyboard.type("new")
        _tab_to(page, "lane-note")
        page.keyboard.type("Alert from the port of loading")
        page.keyboard.press("Tab")
        assert page.evaluate("document.activeElement.textContent") == "Override the lane"
        page.keyboard.press("Enter")
        page.wait_for_url(f"{base}/consignments/{row.consignment_id}#lane")
        assert "(overridden)" in page.locator("#lane table").first.inner_text()
        shoot(page, "decision-panel")

        # Officer's judgement without a note: the page comes back with the focus on the note.
        _tab_to(page, "lane-to")
        page.keyboard.type("orange")
        _tab_to(page, "lane-reason")
        page.keyboard.type("off")
        _tab_to(page, "lane-note")
        page.keyboard.press("Tab")
        with page.expect_navigation():
            page.keyboard.press("Enter")
        assert page.evaluate("document.activeElement.id") == "lane-note"
        assert page.locator("#lane-note-error").inner_text() == "must not be empty"
        shoot(page, "decision-panel-error")
    shown = next(d for d in decisions.decision_panel(store, row.consignment_id).decisions
                 if d.run_id == run)  # fmt: skip
    assert (shown.lane, [o.reason_code for o in shown.overrides]) == ("red", ["NEW_INTELLIGENCE"])
