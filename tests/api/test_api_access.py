"""Who may call what, over HTTP, on SQLite and PostgreSQL.

Every operation of the API is tried by every role that lacks its permission (403), and without
credentials (401); the permission each operation needs is read from the application itself,
so an operation added later is covered without editing this test.
"""

from __future__ import annotations

import re
from typing import Any

import pytest
from api_support import Api, consignment

from quaywatch.api.app import operations
from quaywatch.api.context import CSRF_HEADER, SESSION_COOKIE
from quaywatch.domain.access import ROLE_PERMISSIONS, Permission, Role
from quaywatch.services import accounts


def _operations(api: Api) -> list[tuple[str, str, Permission | None]]:
    return [
        (o.method, re.sub(r"\{[a-z_]+\}", "1", o.path), o.permission)
        for o in operations()
        if o.guarded
    ]


def _call(api: Api, method: str, path: str, headers: dict[str, str]) -> Any:
    body = {} if method in ("POST", "PUT") else None
    return api.client.request(method, path, headers=headers, json=body)


def test_every_operation_needs_credentials(api: Api) -> None:
    operations = _operations(api)
    assert len(operations) >= 30
    for method, path, _ in operations:
        answer = _call(api, method, path, {})
        assert answer.status_code == 401, (method, path, answer.text)
        if method != "HEAD":
            assert answer.json()["type"] == "urn:quaywatch:problem:unauthenticated"
        assert answer.headers["WWW-Authenticate"].startswith("Bearer")


@pytest.mark.parametrize("role", list(Role))
def test_each_role_is_denied_what_it_may_not_do(api: Api, role: Role) -> None:
    headers = api.as_roles(role)
    denied = [(m, p, perm) for m, p, perm in _operations(api)
              if perm is not None and perm not in ROLE_PERMISSIONS[role]]  # fmt: skip
    assert denied or role is Role.ADMIN
    for method, path, permission in denied:
        answer = _call(api, method, path, headers)
        assert answer.status_code == 403, (role, method, path, answer.text)
        if method != "HEAD":
            assert permission.value in answer.json()["detail"]


def test_a_revoked_or_unknown_token_is_refused(api: Api) -> None:
    headers = api.as_roles(Role.FEED)
    token = headers["Authorization"].removeprefix("Bearer ")
    assert api.post("/api/v1/consignments", Role.FEED, json=consignment(1)).status_code == 201
    token_id = accounts.parse_token(token)[0]
    accounts.revoke_token(api.store, token_id, actor="admin")
    answer = api.client.post("/api/v1/consignments", headers=headers, json=consignment(2))
    assert answer.status_code == 401
    for bad in ("qw_nothing", "Bearer", "x" * 5000, token[:-1] + "A"):
        answer = api.client.get("/api/v1/me", headers={"Authorization": f"Bearer {bad}"})
        assert answer.status_code == 401, bad


def test_a_session_works_and_its_writes_need_the_csrf_token(api: Api) -> None:
    accounts.add_user(api.store, "olga", roles=[Role.TARGETING_OFFICER],
                      password="a long enough secret", actor="admin")  # fmt: skip
    wrong = api.client.post("/api/v1/session", json={"username": "olga", "password": "nope"})
    assert wrong.status_code == 401
    opened = api.client.post("/api/v1/session",
                             json={"username": "olga", "password": "a long enough secret"})  # fmt: skip
    assert opened.status_code == 201, opened.text
    cookie = opened.headers["set-cookie"]
    assert SESSION_COOKIE in cookie and "HttpOnly" in cookie and "Secure" in cookie
    assert "samesite=strict" in cookie.lower()
    csrf = opened.json()["csrf_token"]
    me = api.client.get("/api/v1/me")
    assert me.status_code == 200 and me.json()["roles"] == ["targeting_officer"]
    body = {"window_from": "2026-12-10T00:00:00Z", "window_to": "2026-12-11T00:00:00Z"}
    without = api.client.post("/api/v1/selection-runs", json=body)
    assert without.status_code == 403 and CSRF_HEADER in without.json()["detail"]
    with_token = api.client.post("/api/v1/selection-runs", json=body, headers={CSRF_HEADER: csrf})
    assert with_token.status_code != 403, with_token.text
    assert api.client.delete("/api/v1/session", headers={CSRF_HEADER: csrf}).status_code == 204
    api.client.cookies.set(SESSION_COOKIE, cookie.split(";")[0].split("=", 1)[1])
    assert api.client.get("/api/v1/me").status_code == 401


def test_logins_are_rate_limited(api: Api) -> None:
    accounts.add_user(api.store, "pieter", roles=[Role.ANALYST],
                      password="another long secret", actor="admin")  # fmt: skip
    codes = [
        api.client.post("/api/v1/session",
                        json={"username": "pieter", "password": "wrong"}).status_code
        for _ in range(8)
    ]  # fmt: skip
    assert codes[0] == 401 and codes[-1] == 429
    limited = api.client.post(
        "/api/v1/session", json={"username": "pieter", "password": "another long secret"}
    )
    assert limited.status_code == 429 and int(limited.headers["Retry-After"]) > 0


def test_an_administrator_manages_users_and_tokens(api: Api) -> None:
    admin = api.as_roles(Role.ADMIN)
    made = api.client.post("/api/v1/users", headers=admin, json={
        "username": "ivo", "roles": ["inspector"], "terminals": ["BEANRDP"],
        "password": "short"})  # fmt: skip
    assert made.status_code == 422 and "password" in made.json()["detail"]
    made = api.client.post("/api/v1/users", headers=admin, json={
        "username": "ivo", "roles": ["inspector"], "terminals": ["BEANRDP"]})  # fmt: skip
    assert made.status_code == 201 and made.json()["roles"] == ["inspector"]
    again = api.client.post("/api/v1/users", headers=admin,
                            json={"username": "ivo", "roles": ["inspector"]})  # fmt: skip
    assert again.status_code == 409
    issued = api.client.post("/api/v1/users/ivo/tokens", headers=admin,
                             json={"name": "handheld", "expires_in_days": 30})  # fmt: skip
    assert issued.status_code == 201
    secret, token_id = issued.json()["token"], issued.json()["info"]["token_id"]
    ivo = {"Authorization": f"Bearer {secret}"}
    assert api.client.get("/api/v1/me", headers=ivo).json()["terminals"] == ["BEANRDP"]
    listed = api.client.get("/api/v1/tokens", headers=admin, params={"username": "ivo"}).json()
    assert [t["token_id"] for t in listed] == [token_id] and "token" not in listed[0]
    changed = api.client.put("/api/v1/users/ivo/roles", headers=admin,
                             json={"roles": ["inspector", "analyst"]})  # fmt: skip
    assert changed.status_code == 200 and changed.json()["terminals"] == ["BEANRDP"]
    assert api.client.delete(f"/api/v1/tokens/{token_id}", headers=admin).status_code == 204
    assert api.client.get("/api/v1/me", headers=ivo).status_code == 401
    assert api.client.post("/api/v1/users/ivo/disable", headers=admin).json()["disabled"]
    assert api.client.post("/api/v1/users/nobody/disable", headers=admin).status_code == 404
    assert "ivo" in {u["username"] for u in api.client.get("/api/v1/users", headers=admin).json()}
    me = api.client.get("/api/v1/me", headers=admin).json()["name"]
    last = api.client.post(f"/api/v1/users/{me}/disable", headers=admin)
    assert last.status_code == 409 and (
        f"{me} is the last enabled administrator" in last.json()["detail"]
    )
    api.as_roles(Role.ADMIN, Role.MANAGER)  # another administrator: the rule for oneself speaks
    own = api.client.post(f"/api/v1/users/{me}/disable", headers=admin)
    assert own.status_code == 409 and "cannot disable their own account" in own.json()["detail"]
    demoted = api.client.put(
        f"/api/v1/users/{me}/roles", headers=admin, json={"roles": ["manager"]}
    )
    assert demoted.status_code == 409 and "from themselves" in demoted.json()["detail"]
