"""The account screens in a real browser (headless Chromium, the helpers of web_support.py):
an administrator adds an inspector at a terminal from the form, and the inspector logs in
with the password given and sees the orders of that terminal; no browser error, no serious
accessibility violation."""

from __future__ import annotations

from web_support import open_browser, shoot

from quaywatch.domain.access import Role
from quaywatch.services import accounts, control, selection
from quaywatch.store.store import Store

GIVEN = "first day at the quay 2026"


def test_an_administrator_adds_an_inspector_who_then_logs_in(served: tuple[str, Store]) -> None:
    base, store = served
    run = selection.list_selection_runs(store)[0]
    orders = control.create_orders(store, run.run_id, actor="olga").orders
    terminal = orders[0].terminal
    accounts.add_user(store, "root", roles=[Role.ADMIN], password=GIVEN, actor="setup")
    with open_browser() as page:
        page.goto(f"{base}/login")
        page.fill("#username", "root")
        page.fill("#password", GIVEN)
        page.click("form.login button")
        page.wait_for_url(f"{base}/audit")
        page.click("nav >> text=Accounts")
        page.wait_for_url(f"{base}/accounts")
        shoot(page, "accounts")

        page.fill("#username", "ivo")
        page.fill("#display_name", "Ivo <Peeters>")
        page.fill("#terminals", terminal)
        page.fill("#password", "quay password 12")
        page.fill("#password_again", "quay password 12")
        page.check("#new-role-inspector")
        page.click("text=Add the user")
        page.wait_for_url(f"{base}/accounts/ivo?done=added")
        assert page.locator("[role=status]").inner_text() == "User ivo added."
        assert page.locator("dl.pairs dd").first.inner_text() == "Ivo <Peeters>"
        assert page.locator("#user-role-inspector").is_checked()
        shoot(page, "account")
        page.click("form.inline button[type=submit] >> text=Log out")
        page.wait_for_url(f"{base}/login")

        page.fill("#username", "ivo")
        page.fill("#password", "quay password 12")
        page.click("form.login button")
        page.wait_for_url(f"{base}/orders")
        cells = page.locator("table.data tbody tr td:nth-child(3)").all_inner_texts()
        assert cells and set(cells) == {terminal}
        assert page.locator("nav >> text=Accounts").count() == 0

    assert accounts.get_user(store, "ivo").terminals == (terminal,)
