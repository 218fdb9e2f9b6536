"""Logging in and out: a session cookie for the web application (and for people trying the
API in a browser); systems use tokens instead.

The cookie is HttpOnly, SameSite=Strict, and Secure unless the service is reached on this
machine itself (plain HTTP on loopback, for development). The CSRF token comes back in the
body; every write made with the session must carry it in ``X-CSRF-Token``.
"""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter, Request, Response
from pydantic import BaseModel, Field

from quaywatch.api import problems
from quaywatch.api.context import (
    CSRF_HEADER,
    PREFIX,
    SESSION_COOKIE,
    Anyone,
    ServiceState,
    set_session_cookie,
)
from quaywatch.domain.access import Principal
from quaywatch.services import accounts

router = APIRouter(prefix=PREFIX, tags=["session"])


class Credentials(BaseModel):
    """A username and password."""

    username: str = Field(min_length=1, max_length=128)
    password: str = Field(min_length=1, max_length=1024)


class Caller(BaseModel):
    """Who the request acts as: name, roles, terminals, and the permissions they give."""

    name: str
    roles: list[str]
    terminals: list[str]
    permissions: list[str]


class SessionOpened(BaseModel):
    """A session: who it is, the CSRF token its writes carry, and when it ends."""

    caller: Caller
    csrf_token: str = Field(description=f"Send it in {CSRF_HEADER} with every write.")
    expires_at: datetime


def _caller(who: Principal) -> Caller:
    return Caller(
        name=who.name, roles=sorted(who.roles), terminals=sorted(who.terminals),
        permissions=sorted(p.value for p in who.permissions),
    )  # fmt: skip


@router.post(
    "/session",
    summary="Log in",
    status_code=201,
    responses=problems.documented(401, 422, 429),
)
def login(
    body: Credentials, request: Request, response: Response, state: ServiceState
) -> SessionOpened:
    """Open a session; too many failed logins for an account or a client are refused for a
    while (429 with ``Retry-After``)."""
    client = request.client.host if request.client else "unknown"
    opened = accounts.login(state.store, body.username, body.password, client=client)
    set_session_cookie(request, response, opened.session, opened.expires_at)
    return SessionOpened(
        caller=_caller(opened.principal), csrf_token=opened.csrf_token,
        expires_at=opened.expires_at,
    )  # fmt: skip


@router.delete(
    "/session", summary="Log out", status_code=204, responses=problems.documented(401, 403)
)
def logout(request: Request, state: ServiceState, who: Anyone) -> Response:
    """End the session of the cookie sent."""
    cookie = request.cookies.get(SESSION_COOKIE)
    if cookie:
        accounts.logout(state.store, cookie)
    response = Response(status_code=204)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


@router.get("/me", summary="Who am I", responses=problems.documented(401))
def me(who: Anyone) -> Caller:
    """The caller's name, roles, terminals and permissions."""
    return _caller(who)
