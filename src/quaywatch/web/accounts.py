"""The administrator's account screens (``account:manage``): users, their roles, terminals,
passwords and API tokens.

``/accounts`` lists the users (display name, roles, terminals, enabled or not, last login,
live tokens; ``services.accounts.account_overview``) above the form that adds one. A user's
page, ``/accounts/<username>``, changes their roles and terminals, disables or enables them,
sets a new password, and lists their tokens with a button that revokes each and the form that
issues one; a token carrying ``partner_node`` names the partner it delivers for, chosen among
the partners registered and not revoked (``services.exchange.list_partners``). Every change is a service's (``services.accounts``), which audits it and refuses
what cannot be done, including an administrator locking themselves out; a refused form shows
the page again with the reason (422 for a field, 409 for the account's state: the last
enabled administrator, say). A change answers with a redirect to the user's page
(``?done=``), which says what was done; a new token's secret, and a one-time password made
when the administrator gave none (adding a person, or setting a new password), are shown in
the answer that creates them only (pages are never cached).
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from quaywatch.api.context import Service
from quaywatch.domain.access import Permission, Role
from quaywatch.errors import ConflictError, InputError, NotFoundError
from quaywatch.services import accounts, exchange
from quaywatch.services.accounts.tokens import DEFAULT_TOKEN_DAYS, MAX_TOKEN_DAYS
from quaywatch.services.accounts.users import MIN_PASSWORD
from quaywatch.web.pages import (
    Visitor,
    admitted,
    bad_form,
    gettext,
    posted_by,
    redirect_to,
    render,
    told,
)

router = APIRouter(include_in_schema=False)

#: What a change's redirect says was done (``?done=``), each said by the user's page.
DONE = ("added", "roles", "disabled", "enabled", "password", "revoked")
#: The changes a user's page posts (``/accounts/<username>/<change>``).
CHANGES = ("roles", "disable", "enable", "password")
_TOKEN_ID = re.compile(r"[0-9a-f]{12}")


def _terminals(text: str) -> list[str]:
    """Terminal codes as typed: separated by commas or spaces."""
    return [code for code in re.split(r"[\s,]+", text) if code]


def _roles(form: Any) -> list[str]:
    return [v for v in form.getlist("role") if isinstance(v, str)]


def _missing(visitor: Visitor, username: str) -> str:
    return gettext(visitor.language, "There is no user %(name)s.") % {"name": username}


def _list_page(
    request: Request,
    visitor: Visitor,
    state: Service,
    *,
    values: dict[str, Any] | None = None,
    error: str | None = None,
    status: int = 200,
) -> Response:
    found = accounts.account_overview(state.store)
    values = values or {"username": "", "display_name": "", "roles": [], "terminals": "",
                        "machine": False}  # fmt: skip
    return render(
        request, visitor, "accounts.html",
        {"accounts": found, "roles": list(Role), "values": values, "error": error,
         "min_password": MIN_PASSWORD},
        status=status,
    )  # fmt: skip


def _user_page(
    request: Request,
    visitor: Visitor,
    state: Service,
    username: str,
    *,
    done: str | None = None,
    failed: str | None = None,
    error: str | None = None,
    values: dict[str, Any] | None = None,
    issued: accounts.IssuedToken | None = None,
    one_time: str | None = None,
    status: int = 200,
) -> Response:
    """A user's page; ``failed`` names the form whose ``error`` it shows, ``values`` what
    that form had (a password never comes back, but a one-time password just made is shown,
    in this answer only)."""
    (summary,) = accounts.account_overview(state.store, username)
    tokens = accounts.list_tokens(state.store, summary.user.username)
    partners = [p.administration for p in exchange.list_partners(state.store)
                if p.revoked_at is None]  # fmt: skip
    return render(
        request, visitor, "account.html",
        {"a": summary, "u": summary.user, "tokens": tokens, "roles": list(Role),
         "done": done, "failed": failed, "error": error, "values": values or {},
         "issued": issued, "one_time": one_time, "default_days": DEFAULT_TOKEN_DAYS,
         "max_days": MAX_TOKEN_DAYS, "partners": partners, "partner_node": Role.PARTNER_NODE,
         "min_password": MIN_PASSWORD},
        status=status,
    )  # fmt: skip


@router.get("/accounts")
async def account_list(request: Request) -> Response:
    """The users, and the form that adds one."""
    state, visitor, refusal = await admitted(request, Permission.ACCOUNT_MANAGE)
    if refusal is not None:
        return refusal
    return await run_in_threadpool(lambda: _list_page(request, visitor, state))


@router.post("/accounts")
async def add(request: Request) -> Response:
    """Add a user (a person with a password, or a machine account without one) and go to
    their page; the form again, with the reason, if it cannot be done."""
    state, visitor, form, refusal = await posted_by(request, Permission.ACCOUNT_MANAGE)
    principal = visitor.principal
    if refusal is not None or principal is None:
        return refusal or redirect_to("/login")
    language = visitor.language
    values: dict[str, Any] = {
        "username": form.get("username", "").strip(), "display_name": form.get("display_name", ""),
        "roles": _roles(await request.form()), "terminals": form.get("terminals", ""),
        "machine": form.get("machine") == "on",
    }  # fmt: skip
    password, again = form.get("password", ""), form.get("password_again", "")
    problem = None
    if values["machine"] and (password or again):
        problem = gettext(language, "A machine account has no password: leave both empty.")
    elif password != again:
        problem = gettext(language, "The two passwords differ.")

    def added() -> Response:
        if problem is not None:
            return _list_page(request, visitor, state, values=values, error=problem, status=422)
        given = {"roles": values["roles"], "display_name": values["display_name"],
                 "terminals": _terminals(values["terminals"]), "actor": principal.name}  # fmt: skip
        try:
            if not values["machine"] and not password:  # one made, shown this once
                one_time = accounts.add_user_with_one_time_password(
                    state.store, values["username"], **given
                )
                return _user_page(request, visitor, state, one_time.user.username, done="added",
                                  one_time=one_time.password, status=201)  # fmt: skip
            made = accounts.add_user(
                state.store, values["username"],
                password=None if values["machine"] else password, **given,
            )  # fmt: skip
        except InputError as exc:
            return _list_page(request, visitor, state, values=values, error=told(visitor.language, exc),
                              status=422)  # fmt: skip
        except ConflictError as exc:
            return _list_page(request, visitor, state, values=values, error=told(visitor.language, exc),
                              status=409)  # fmt: skip
        return redirect_to(f"/accounts/{quote(made.username)}?done=added")

    return await run_in_threadpool(added)


@router.get("/accounts/{username}")
async def account_page(
    request: Request, username: str, done: str = "", token: str = ""
) -> Response:
    """A user's account: roles and terminals, state, password, tokens; ``done`` says what
    the last change did (``token``: the token it revoked)."""
    state, visitor, refusal = await admitted(request, Permission.ACCOUNT_MANAGE)
    if refusal is not None:
        return refusal
    said = done if done in DONE else None
    values = {"token": token if _TOKEN_ID.fullmatch(token) else ""}

    def shown() -> Response:
        try:
            return _user_page(request, visitor, state, username, done=said, values=values)
        except NotFoundError:
            missing = _missing(visitor, username)
            return render(request, visitor, "refused.html", {"missing": missing}, status=404)

    return await run_in_threadpool(shown)


@router.post("/accounts/{username}/tokens")
async def issue(request: Request, username: str) -> Response:
    """Issue a token to the user and show its secret, on this answer only."""
    state, visitor, form, refusal = await posted_by(request, Permission.ACCOUNT_MANAGE)
    principal = visitor.principal
    if refusal is not None or principal is None:
        return refusal or redirect_to("/login")
    values: dict[str, Any] = {"name": form.get("name", ""), "roles": _roles(await request.form()),
              "days": form.get("days", "").strip(),
              "partner": form.get("partner", "").strip()}  # fmt: skip

    def issued() -> Response:
        try:
            days = values["days"]
            if not re.fullmatch(r"[0-9]{1,6}", days):
                raise InputError(
                    gettext(visitor.language, "Days until it expires must be a whole number.")
                )
            made = accounts.create_token(
                state.store, username, name=values["name"], roles=values["roles"] or None,
                expires_in_days=int(days), partner=values["partner"] or None,
                actor=principal.name,
            )  # fmt: skip
        except NotFoundError:
            missing = _missing(visitor, username)
            return render(request, visitor, "refused.html", {"missing": missing}, status=404)
        except (InputError, ConflictError) as exc:
            status = 409 if isinstance(exc, ConflictError) else 422
            return _user_page(request, visitor, state, username, failed="token",
                              error=told(visitor.language, exc), values=values, status=status)  # fmt: skip
        return _user_page(request, visitor, state, username, issued=made, status=201)

    return await run_in_threadpool(issued)


@router.post("/accounts/{username}/tokens/{token_id}/revoke")
async def revoke(request: Request, username: str, token_id: str) -> Response:
    """Revoke one of the user's tokens."""
    state, visitor, _form, refusal = await posted_by(request, Permission.ACCOUNT_MANAGE)
    principal = visitor.principal
    if refusal is not None or principal is None:
        return refusal or redirect_to("/login")

    def revoked() -> Response:
        try:
            held = [t.token_id for t in accounts.list_tokens(state.store, username)]
            if token_id not in held:
                raise NotFoundError(
                    gettext(visitor.language, "%(name)s has no token %(id)s.")
                    % {"name": username, "id": token_id}
                )
            accounts.revoke_token(state.store, token_id, actor=principal.name)
        except NotFoundError as exc:
            return render(
                request,
                visitor,
                "refused.html",
                {"missing": told(visitor.language, exc)},
                status=404,
            )
        except ConflictError as exc:
            return _user_page(request, visitor, state, username, failed="tokens",
                              error=told(visitor.language, exc), status=409)  # fmt: skip
        return redirect_to(f"/accounts/{quote(username)}?done=revoked&token={token_id}")

    return await run_in_threadpool(revoked)


@router.post("/accounts/{username}/{change}")
async def change(request: Request, username: str, change: str) -> Response:
    """Change the user: their roles and terminals (``roles``), ``disable``, ``enable``, or
    their ``password``; then their page says what was done."""
    state, visitor, form, refusal = await posted_by(request, Permission.ACCOUNT_MANAGE)
    principal = visitor.principal
    if refusal is not None or principal is None:
        return refusal or redirect_to("/login")
    if change not in CHANGES:
        return bad_form(request, visitor)
    actor, language = principal.name, visitor.language
    values: dict[str, Any] = {
        "roles": _roles(await request.form()),
        "terminals": form.get("terminals", ""),
    }
    password, again = form.get("password", ""), form.get("password_again", "")

    def changed() -> Response:
        try:
            if change == "roles":
                accounts.set_roles(state.store, username, roles=values["roles"],
                                   terminals=_terminals(values["terminals"]), actor=actor)  # fmt: skip
                done = "roles"
            elif change == "disable":
                accounts.disable_user(state.store, username, actor=actor)
                done = "disabled"
            elif change == "enable":
                accounts.enable_user(state.store, username, actor=actor)
                done = "enabled"
            else:
                if password != again:
                    raise InputError(gettext(language, "The two passwords differ."))
                if not password:  # one made, shown this once
                    made = accounts.reset_to_one_time_password(state.store, username, actor=actor)
                    return _user_page(request, visitor, state, made.user.username,
                                      done="password", one_time=made.password)  # fmt: skip
                accounts.reset_password(state.store, username, password, actor=actor)
                done = "password"
        except NotFoundError:
            missing = _missing(visitor, username)
            return render(request, visitor, "refused.html", {"missing": missing}, status=404)
        except (InputError, ConflictError) as exc:
            status = 409 if isinstance(exc, ConflictError) else 422
            failed = {"disable": "state", "enable": "state"}.get(change, change)
            return _user_page(request, visitor, state, username, failed=failed,
                              error=told(visitor.language, exc), values=values, status=status)  # fmt: skip
        name = accounts.get_user(state.store, username).username
        return redirect_to(f"/accounts/{quote(name)}?done={done}")

    return await run_in_threadpool(changed)
