"""A one-time password in a real browser (headless Chromium, the helpers of
web_support.py): an administrator adds a targeting officer without typing a password and is
shown one, once; the officer logs in with it, lands on the change-password form before any
other page, changes it, and goes on to the worklist; no browser error, no serious
accessibility violation on the new pages."""

from __future__ import annotations

import re

from web_support import open_browser, shoot

from quaywatch.domain.access import Role
from quaywatch.services import accounts
from quaywatch.store.store import Store

ROOT = "first day at the quay 2026"
CHOSEN = "olga chose this one"


def test_a_one_time_password_is_changed_before_anything_else(served: tuple[str, Store]) -> None:
    base, store = served
    accounts.add_user(store, "root", roles=[Role.ADMIN], password=ROOT, actor="setup")
    with open_browser() as page:
        page.goto(f"{base}/login")
        page.fill("#username", "root")
        page.fill("#password", ROOT)
        page.click("form.login button")
        page.wait_for_url(f"{base}/audit")
        page.goto(f"{base}/accounts")
        page.fill("#username", "olga")
        page.check("#new-role-targeting_officer")
        page.click("text=Add the user")
        page.wait_for_load_state()
        one_time = page.locator("#one-time-password").inner_text()
        assert re.fullmatch(r"[A-Za-z0-9_-]{24}", one_time)
        shoot(page, "account-one-time-password")
        page.click("form.inline button[type=submit] >> text=Log out")
        page.wait_for_url(f"{base}/login")

        page.goto(f"{base}/worklist")  # to the login form, then on to the worklist
        page.fill("#username", "olga")
        page.fill("#password", one_time)
        page.click("form.login button")
        page.wait_for_url(re.compile(r".*/password\?next=/worklist$"))
        assert page.locator("#password-forced").is_visible()
        shoot(page, "password")
        page.keyboard.type(one_time)  # the current password has the focus
        page.fill("#password", CHOSEN)
        page.fill("#password_again", CHOSEN)
        page.click("text=Change the password")
        page.wait_for_url(f"{base}/worklist")
        assert page.locator("h1").count() == 1
    user = accounts.get_user(store, "olga")
    assert not user.must_change_password
    assert accounts.login(store, "olga", CHOSEN, client="t").principal.name == "olga"
