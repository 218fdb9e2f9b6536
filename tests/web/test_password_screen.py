"""The change-password form: the user's other sessions end when it succeeds (the browser
asking stays logged in), and wrong current passwords lock the account as failed logins do."""

from __future__ import annotations

from typing import Any

import pytest
from web_support import PASSWORD, Site, csrf_of

from quaywatch.domain.access import Role
from quaywatch.errors import AuthenticationError
from quaywatch.services import accounts

MINE = "my very own password"


def _change(site: Site, current: str) -> Any:
    token = csrf_of(site.client.get("/password").text)
    return site.client.post(
        "/password",
        data={"csrf_token": token, "current": current, "password": MINE,
              "password_again": MINE, "next": "/worklist"},
        follow_redirects=False,
    )  # fmt: skip


def test_a_changed_password_ends_the_other_sessions_not_this_one(site: Site) -> None:
    name = site.user(Role.ANALYST)
    site.login(name)
    elsewhere = accounts.login(site.store, name, PASSWORD, client="10.6.6.6")
    done = _change(site, PASSWORD)
    assert done.status_code == 303 and done.headers["location"] == "/worklist"
    assert site.client.get("/worklist", follow_redirects=False).status_code == 200
    with pytest.raises(AuthenticationError):
        accounts.authenticate_session(site.store, elsewhere.session)


def test_guessing_the_current_password_locks_the_account(site: Site) -> None:
    name = site.user(Role.ANALYST)
    site.login(name)
    for guess in range(5):
        wrong = _change(site, f"guess number {guess}")
        assert wrong.status_code == 403 and "the current password is not right" in wrong.text
    locked = _change(site, PASSWORD)  # the right one, refused before it is checked
    assert locked.status_code == 429 and "Too many failed attempts." in locked.text
    site.client.cookies.clear()
    assert site.login(name).status_code == 429
