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
