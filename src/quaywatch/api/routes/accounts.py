"""Accounts over HTTP, for administrators: users, their roles and terminals, their tokens.

Passwords set here are checked by the same policy as on the command line; a token's secret is
in the answer that creates it and nowhere else, ever.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query, Response
from pydantic import BaseModel, Field

from quaywatch.api import problems
from quaywatch.api.context import PREFIX, AccountManager, ServiceState
from quaywatch.domain.access import Role
from quaywatch.services import accounts

router = APIRouter(prefix=PREFIX, tags=["accounts"],
                   responses=problems.documented(401, 403, 404, 409, 422))  # fmt: skip

Username = Annotated[str, Path(min_length=2, max_length=64, examples=["olga.peeters"])]
TokenId = Annotated[str, Path(min_length=1, max_length=64)]


class NewUser(BaseModel):
    """A user to create; without a password, a machine account that only uses tokens."""

    username: str = Field(min_length=2, max_length=64, examples=["olga.peeters"])
    roles: list[Role] = Field(min_length=1, examples=[["targeting_officer"]])
    terminals: list[str] = Field(default_factory=list, max_length=100, examples=[["BEANRDP"]])
    display_name: str | None = Field(None, max_length=200)
    password: str | None = Field(None, max_length=1024)


class Roles(BaseModel):
    """The roles (and, for inspectors, terminals) a user holds from now on."""

    roles: list[Role] = Field(min_length=1)
    terminals: list[str] | None = Field(None, max_length=100,
                                        description="Unchanged when absent.")  # fmt: skip


class NewToken(BaseModel):
    """A token to issue: its name, its roles (default: the user's), its lifetime."""

    name: str = Field(min_length=1, max_length=200, examples=["port community system feed"])
    roles: list[Role] | None = None
    expires_in_days: int = Field(90, ge=1, le=365)
    partner: str | None = Field(
        None, max_length=20, examples=["BEANR"],
        description="For a partner_node token (required then): the partner administration "
        "whose messages it delivers; the inbox refuses others' messages from it.",
    )  # fmt: skip


@router.get("/users", summary="Every user")
def users(state: ServiceState, who: AccountManager) -> list[accounts.User]:
    """Users with their roles, terminals and state; never a password hash."""
    return list(accounts.list_users(state.store))


@router.post("/users", summary="Create a user", status_code=201)
def add(body: NewUser, state: ServiceState, who: AccountManager) -> accounts.User:
    """A person (with a password) or a machine account (without)."""
    return accounts.add_user(
        state.store, body.username, roles=body.roles, password=body.password,
        display_name=body.display_name, terminals=body.terminals, actor=who.name,
    )  # fmt: skip


@router.put("/users/{username}/roles", summary="Change a user's roles")
def roles(
    username: Username, body: Roles, state: ServiceState, who: AccountManager
) -> accounts.User:
    """The roles (and terminals) from now on; the user's tokens lose the roles removed."""
    return accounts.set_roles(state.store, username, roles=body.roles,
                              terminals=body.terminals, actor=who.name)  # fmt: skip


@router.post("/users/{username}/disable", summary="Disable a user")
def disable(username: Username, state: ServiceState, who: AccountManager) -> accounts.User:
    """The user can no longer log in; their tokens and sessions are revoked."""
    return accounts.disable_user(state.store, username, actor=who.name)


@router.post("/users/{username}/enable", summary="Enable a user again")
def enable(username: Username, state: ServiceState, who: AccountManager) -> accounts.User:
    """The user may log in again; revoked tokens stay revoked."""
    return accounts.enable_user(state.store, username, actor=who.name)


@router.post("/users/{username}/tokens", summary="Issue a token", status_code=201)
def issue(
    username: Username, body: NewToken, state: ServiceState, who: AccountManager
) -> accounts.IssuedToken:
    """The token's secret is in this answer only: store it now."""
    return accounts.create_token(
        state.store, username, name=body.name, roles=body.roles,
        expires_in_days=body.expires_in_days, partner=body.partner, actor=who.name,
    )  # fmt: skip


@router.get("/tokens", summary="Tokens, without their secrets")
def tokens(
    state: ServiceState,
    who: AccountManager,
    username: Annotated[str | None, Query(max_length=64)] = None,
) -> list[accounts.TokenInfo]:
    """Every token (or a user's), with its roles, expiry and last use."""
    return list(accounts.list_tokens(state.store, username))


@router.delete("/tokens/{token_id}", summary="Revoke a token", status_code=204)
def revoke(token_id: TokenId, state: ServiceState, who: AccountManager) -> Response:
    """The token stops working at once."""
    accounts.revoke_token(state.store, token_id, actor=who.name)
    return Response(status_code=204)
