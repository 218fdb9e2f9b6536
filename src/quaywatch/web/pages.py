"""The pages of the web application: logging in and out, the language switch, the worklist,
a consignment's dossier.

Every page is rendered on the server from a Jinja2 template (``templates/``), escaped by
default, in the user's language (``web.i18n``); htmx swaps parts of a page where a form
changes them (the worklist's filters), and every form works without it. A page asks the
services what to show and shows it: it decides nothing.

People log in with a username and password (``services.accounts.login``) and get the same
session cookie as the API's ``POST /api/v1/session``. Every form that changes something
carries a CSRF token: the session's; before login, the login form's own (a random value in a
cookie that the form repeats). A page a role may not open answers 403 and says which
permission it needs; without a session, a page sends the browser to the login form and back.
"""

from __future__ import annotations

import logging
import re
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import quote, urlencode

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from jinja2 import Environment, PackageLoader, select_autoescape
from starlette.concurrency import run_in_threadpool

from quaywatch.api.context import (
    SESSION_COOKIE,
    Service,
    served_on_loopback,
    service,
    set_session_cookie,
)
from quaywatch.domain.access import Permission, Principal
from quaywatch.errors import (
    AuthenticationError,
    InputError,
    ModelError,
    NotFoundError,
    QuaywatchError,
    RecordError,
    Said,
    TooManyAttemptsError,
)
from quaywatch.services import accounts, documents, selection, worklist as worklists
from quaywatch.services.accounts.users import MIN_PASSWORD
from quaywatch.services.control import create_orders as selection_orders
from quaywatch.services.dossier import ConsignmentDossier, consignment_dossier
from quaywatch.web import i18n

router = APIRouter(include_in_schema=False)
_LOG = logging.getLogger(__name__)

#: The cookie of the login form's CSRF token (before there is a session).
LOGIN_CSRF_COOKIE = "quaywatch_login_csrf"
#: The form field every form's CSRF token travels in.
CSRF_FIELD = "csrf_token"
#: Worklist rows shown at most on one page.
WORKLIST_ROWS = 200
#: The screens a visitor lands on after logging in: the first their roles open.
HOME_SCREENS = (
    ("/worklist", Permission.SELECTION_READ),
    ("/orders", Permission.ORDER_READ),
    ("/kpis", Permission.KPI_READ),
    ("/audit", Permission.AUDIT_READ),
)
#: Selection runs offered in the worklist's run picker.
RUNS_OFFERED = 20

#: What every page's answer carries: no script or style from elsewhere and none inline, no
#: framing, no guessing of content types, no referrer beyond this site.
SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'; "
        "object-src 'none'"
    ),
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
}


def _environment(language: str) -> Environment:
    environment = Environment(
        loader=PackageLoader("quaywatch.web", "templates"),
        autoescape=select_autoescape(default=True, default_for_string=True),
        extensions=["jinja2.ext.i18n"],
        trim_blocks=True,
        lstrip_blocks=True,
    )
    environment.install_gettext_translations(i18n.translations(language), newstyle=True)  # type: ignore[attr-defined]
    # A service's message made with ``errors.said`` (a trial's note): ``{{ note | said }}``.
    environment.filters["said"] = lambda message: said_in(language, message)
    return environment


_ENVIRONMENTS = {language: _environment(language) for language in i18n.LANGUAGES}


def gettext(language: str, message: str) -> str:
    """``message`` (an English source string) in ``language``. The catalogs take the strings
    of this package's code from calls of this function (its second argument)."""
    return str(i18n.translations(language).gettext(message))


def _filled(language: str, template: str, params: Mapping[str, Any]) -> str:
    """``template`` in ``language`` filled with ``params``, each parameter that is itself a
    ``said`` message translated first; the English of the whole message when a catalog's
    string does not fit its parameters (a wrong or missing placeholder): logged, never a 500,
    and never half in one language, half in another."""
    try:
        return _translated(language, template, params)
    except (KeyError, ValueError, TypeError) as exc:
        _LOG.error("the %s catalog's string for %r does not fit its parameters: %r",
                   language, template, exc)  # fmt: skip
        return template % dict(params) if params else template


def _translated(language: str, template: str, params: Mapping[str, Any]) -> str:
    if not params:
        return gettext(language, template)
    filled = {
        name: _translated(language, value.template, value.params)
        if isinstance(value, Said) else value
        for name, value in params.items()
    }  # fmt: skip
    return gettext(language, template) % filled


def said_in(language: str, message: str) -> str:
    """``message`` in ``language`` if it was made with ``errors.said`` (a service's message
    that translates), else as it is."""
    if isinstance(message, Said):
        return _filled(language, message.template, message.params)
    return message


def told(language: str, error: QuaywatchError, *, with_field: bool = True) -> str:
    """What ``error`` says, in ``language``: a message made with ``errors.said`` through the
    catalogs (a record error's field named before it), any other as it is (English). Without
    ``with_field``, a record error gives its reason only (its form shows it at the field)."""
    if isinstance(error, RecordError) and not with_field:
        if error.code is None:
            return error.reason
        return _filled(language, error.code, error.params)
    if error.code is None:
        return error.message
    text = _filled(language, error.code, error.params)
    if isinstance(error, RecordError):
        return f"{error.field}: {text}" if error.field else text
    return error.told(text)


@dataclass(frozen=True, slots=True)
class Visitor:
    """Who asks for a page: their language, and their session when they are logged in."""

    language: str
    session: accounts.SessionPrincipal | None

    @property
    def principal(self) -> Principal | None:
        return None if self.session is None else self.session.principal


def _visitor(request: Request, state: Service) -> Visitor:
    """The visitor's session (if the cookie names a live one) and language: the one they
    chose (saved with their account, else in a cookie before login), else their browser's."""
    cookie = request.cookies.get(SESSION_COOKIE)
    session = None
    if cookie:
        try:
            session = accounts.authenticate_session(state.store, cookie)
        except AuthenticationError:
            session = None
    chosen = session.language if session is not None and session.language else None
    language = i18n.negotiate(
        chosen or request.cookies.get(i18n.LANGUAGE_COOKIE), request.headers.get("accept-language")
    )
    return Visitor(language, session)


def _local(target: str | None, default: str = "/") -> str:
    """``target`` if it is a path of this site (never another site: ``//host`` or a URL)."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return default
    return target


def render(
    request: Request,
    visitor: Visitor,
    template: str,
    context: Mapping[str, Any],
    *,
    status: int = 200,
    csrf: str | None = None,
) -> HTMLResponse:
    """A page (or, for an htmx request that names a fragment, only that block), with the
    security headers."""
    environment = _ENVIRONMENTS[visitor.language]
    page = environment.get_template(template)
    principal = visitor.principal
    values = {
        "language": visitor.language,
        "languages": i18n.LANGUAGES,
        "principal": principal,
        "csrf": csrf
        if csrf is not None
        else (visitor.session.csrf_token if visitor.session else ""),
        "csrf_field": CSRF_FIELD,
        "here": request.url.path + (f"?{request.url.query}" if request.url.query else ""),
        "request_path": request.url.path,
        "may": (lambda p: principal is not None and principal.allows(Permission(p))),
        **context,
    }
    html = page.render(values)
    return HTMLResponse(html, status_code=status, headers=SECURITY_HEADERS)


#: Paths that are not pages: the API and the probes answer their errors as problems (JSON).
NOT_PAGES = ("/api/", "/health", "/ready", "/metrics", "/docs", "/redoc", "/openapi.json")


def is_page(path: str) -> bool:
    """Whether ``path`` is one of the web application's (its errors are pages, not JSON)."""
    return not path.startswith(NOT_PAGES)


async def error_page(request: Request, status: int, message: str | QuaywatchError) -> HTMLResponse:
    """An error a page's service raised (or an unknown page), as a page with its status: not
    found (404), or what cannot be done and why (in the visitor's language where the error
    was said translatably)."""
    visitor = await run_in_threadpool(_visitor, request, service(request))
    if isinstance(message, QuaywatchError):
        message = told(visitor.language, message)
    if status == 404:
        return render(request, visitor, "refused.html", {"missing": message}, status=404)
    return render(request, visitor, "refused.html", {"failure": message}, status=status)


def _to_login(request: Request) -> RedirectResponse:
    back = quote(_local(request.url.path + (f"?{request.url.query}" if request.url.query else "")))
    return redirect_to(f"/login?next={back}")


async def admitted(
    request: Request, permission: Permission
) -> tuple[Service, Visitor, Response | None]:
    """The service and the visitor of a page that needs ``permission``, and the answer that
    keeps them out: to the login form without a session, 403 without the permission."""
    state = service(request)
    visitor = await run_in_threadpool(_visitor, request, state)
    if visitor.principal is None:
        return state, visitor, _to_login(request)
    if must_change_password(visitor):
        return state, visitor, _to_password(request)
    if not visitor.principal.allows(permission):
        return state, visitor, _refused(request, visitor, permission)
    return state, visitor, None


def must_change_password(visitor: Visitor) -> bool:
    """Whether the visitor logged in with a one-time password: every page but the
    change-password form sends them there first."""
    return visitor.session is not None and visitor.session.must_change_password


def _to_password(request: Request) -> RedirectResponse:
    back = quote(_local(request.url.path + (f"?{request.url.query}" if request.url.query else "")))
    return redirect_to(f"/password?next={back}")


def _refused(request: Request, visitor: Visitor, permission: Permission) -> HTMLResponse:
    return render(request, visitor, "refused.html", {"permission": permission.value}, status=403)


async def posted(request: Request) -> tuple[Service, Visitor, dict[str, str]]:
    """The service, the visitor and the text fields of a posted form."""
    state = service(request)
    visitor = await run_in_threadpool(_visitor, request, state)
    form = await request.form()
    return state, visitor, {k: v for k, v in form.items() if isinstance(v, str)}


async def posted_by(
    request: Request, permission: Permission
) -> tuple[Service, Visitor, dict[str, str], Response | None]:
    """``posted``, and the answer that refuses the form: to the login form without a session,
    403 without ``permission`` or without the form's CSRF token."""
    state, visitor, form = await posted(request)
    if visitor.principal is None:
        return state, visitor, form, redirect_to("/login")
    if must_change_password(visitor):
        return state, visitor, form, redirect_to("/password")
    if not visitor.principal.allows(permission):
        return state, visitor, form, _refused(request, visitor, permission)
    if not csrf_ok(request, visitor, form.get(CSRF_FIELD)):
        return state, visitor, form, bad_form(request, visitor)
    return state, visitor, form, None


def redirect_to(target: str) -> RedirectResponse:
    """Go on to ``target`` (a path of this site) after a form: 303, so the browser GETs it."""
    return RedirectResponse(target, status_code=303, headers=SECURITY_HEADERS)


def csrf_ok(request: Request, visitor: Visitor, sent: str | None) -> bool:
    """Whether a form's CSRF token is the session's, or (no session) the login form's."""
    if not sent:
        return False
    if visitor.session is not None:
        return visitor.session.csrf_ok(sent)
    expected = request.cookies.get(LOGIN_CSRF_COOKIE)
    return expected is not None and secrets.compare_digest(expected.encode(), sent.encode())


def bad_form(request: Request, visitor: Visitor) -> HTMLResponse:
    return render(request, visitor, "refused.html", {"permission": None}, status=403)


# --- Routes --------------------------------------------------------------------------------


@router.get("/")
def home(request: Request) -> Response:
    """The first screen the visitor's roles open (worklist, orders, key figures), else the
    login form."""
    visitor = _visitor(request, service(request))
    principal = visitor.principal
    if principal is None:
        return redirect_to("/login")
    if must_change_password(visitor):
        return redirect_to("/password")
    for path, permission in HOME_SCREENS:
        if principal.allows(permission):
            return redirect_to(path)
    return render(request, visitor, "refused.html", {"nothing": True}, status=403)


@router.get("/login")
def login_form(request: Request, next: str | None = None) -> Response:  # noqa: A002
    """The login form (a logged-in visitor goes on to where they were going)."""
    visitor = _visitor(request, service(request))
    if visitor.session is not None:
        return redirect_to(_local(next))
    return _login_page(request, visitor, _local(next), error=None, status=200)


def _login_page(
    request: Request, visitor: Visitor, target: str, *, error: str | None, status: int
) -> HTMLResponse:
    token = request.cookies.get(LOGIN_CSRF_COOKIE) or secrets.token_urlsafe(32)
    page = render(
        request, visitor, "login.html", {"next": target, "error": error}, status=status,
        csrf=token,
    )  # fmt: skip
    page.set_cookie(
        LOGIN_CSRF_COOKIE, token, httponly=True, samesite="strict", path="/",
        secure=not served_on_loopback(request),
    )  # fmt: skip
    return page


@router.post("/login")
async def login(request: Request) -> Response:
    """Check the username and password; open a session and go on, or show the form again."""
    state, visitor, form = await posted(request)
    target = _local(form.get("next"))
    if not csrf_ok(request, Visitor(visitor.language, None), form.get(CSRF_FIELD)):
        return _login_page(
            request, visitor, target, status=403,
            error=gettext(visitor.language, "The form expired. Please log in again."),
        )  # fmt: skip
    client = request.client.host if request.client else "unknown"
    try:
        opened = await run_in_threadpool(
            accounts.login, state.store, form.get("username", ""), form.get("password", ""),
            client=client,
        )  # fmt: skip
    except TooManyAttemptsError:
        return _login_page(
            request, visitor, target, status=429,
            error=gettext(visitor.language, "Too many failed logins. Try again later."),
        )  # fmt: skip
    except AuthenticationError:
        return _login_page(
            request, visitor, target, status=401,
            error=gettext(visitor.language, "Invalid username or password."),
        )  # fmt: skip
    answer = redirect_to(target)
    set_session_cookie(request, answer, opened.session, opened.expires_at)
    answer.delete_cookie(LOGIN_CSRF_COOKIE, path="/")
    return answer


def _password_page(
    request: Request, visitor: Visitor, target: str, *, error: str | None, status: int = 200
) -> HTMLResponse:
    return render(
        request, visitor, "password.html",
        {"next": target, "error": error, "forced": must_change_password(visitor),
         "min_password": MIN_PASSWORD},
        status=status,
    )  # fmt: skip


@router.get("/password")
def password_form(request: Request, next: str | None = None) -> Response:  # noqa: A002
    """The form where a logged-in user changes their password: the first page they see when
    they logged in with a one-time password."""
    visitor = _visitor(request, service(request))
    if visitor.session is None:
        return _to_login(request)
    return _password_page(request, visitor, _local(next), error=None)


@router.post("/password")
async def change_password(request: Request) -> Response:
    """Check the current password and set the new one (typed twice); then go on to where the
    user was going. A refusal shows the form again with the reason."""
    state, visitor, form = await posted(request)
    principal = visitor.principal
    if principal is None:
        return redirect_to("/login")
    if not csrf_ok(request, visitor, form.get(CSRF_FIELD)):
        return bad_form(request, visitor)
    target = _local(form.get("next"))
    new, again = form.get("password", ""), form.get("password_again", "")
    try:
        if new != again:
            raise InputError(gettext(visitor.language, "The two passwords differ."))
        await run_in_threadpool(
            lambda: accounts.change_password(
                state.store, principal.name, current=form.get("current", ""), new=new,
                client=request.client.host if request.client else "unknown",
                keep_session=request.cookies.get(SESSION_COOKIE),
            )
        )  # fmt: skip
    except TooManyAttemptsError:
        return _password_page(
            request, visitor, target, status=429,
            error=gettext(visitor.language, "Too many failed attempts. Try again later."),
        )  # fmt: skip
    except AuthenticationError as exc:
        return _password_page(request, visitor, target, error=told(visitor.language, exc),
                              status=403)  # fmt: skip
    except InputError as exc:
        return _password_page(request, visitor, target, error=told(visitor.language, exc),
                              status=422)  # fmt: skip
    return redirect_to(target)


@router.post("/logout")
async def logout(request: Request) -> Response:
    """End the session and go back to the login form."""
    state, visitor, form = await posted(request)
    if visitor.session is not None:
        if not csrf_ok(request, visitor, form.get(CSRF_FIELD)):
            return bad_form(request, visitor)
        await run_in_threadpool(accounts.logout, state.store, request.cookies[SESSION_COOKIE])
    answer = redirect_to("/login")
    answer.delete_cookie(SESSION_COOKIE, path="/")
    return answer


@router.post("/language")
async def choose_language(request: Request) -> Response:
    """Remember the language chosen (with the account when logged in, and in a cookie) and
    show the same page again in it."""
    state, visitor, form = await posted(request)
    chosen = form.get("language", "")
    if chosen not in i18n.LANGUAGES or not csrf_ok(request, visitor, form.get(CSRF_FIELD)):
        return bad_form(request, visitor)
    principal = visitor.principal
    if principal is not None:  # kept with the account, for every browser they use
        await run_in_threadpool(
            lambda: accounts.set_language(state.store, principal.name, chosen,
                                          actor=principal.name)
        )  # fmt: skip
    answer = redirect_to(_local(form.get("next")))
    answer.set_cookie(
        i18n.LANGUAGE_COOKIE, chosen, max_age=365 * 86_400, samesite="strict", path="/",
        secure=not served_on_loopback(request), httponly=True,
    )  # fmt: skip
    return answer


@dataclass(frozen=True, slots=True)
class WorklistView:
    """What the worklist page shows: the runs to pick from, the run shown, one page of its
    rows after the filter and in the order chosen, the capacity meter of the shifts in view,
    and the choices of each filter."""

    runs: tuple[selection.SelectionRun, ...]
    run: selection.SelectionRun | None
    rows: list[worklists.WorklistEntry]
    summary: worklists.WorklistSummary | None
    meter: worklists.CapacityMeter | None
    chosen: worklists.WorklistFilter
    sort: str
    offset: int

    @property
    def total(self) -> int:
        return 0 if self.summary is None else self.summary.total

    def link(self, **changed: object) -> str:
        """This view's address with ``changed`` query values (a page, a sort)."""
        values: dict[str, object] = {
            "run": self.run.run_id if self.run else None, "terminal": self.chosen.terminal,
            "lane": self.chosen.lane, "vessel": self.chosen.vessel_call,
            "shift": self.chosen.shift_start.isoformat() if self.chosen.shift_start else None,
            "sort": self.sort if self.sort != "shift" else None,
            "offset": self.offset or None,
        }  # fmt: skip
        values.update(changed)
        return "/worklist?" + urlencode({k: v for k, v in values.items() if v})


def _worklist_view(
    state: Service, run_id: str | None, chosen: worklists.WorklistFilter, sort: str, offset: int
) -> WorklistView:
    runs = selection.list_selection_runs(state.store, limit=RUNS_OFFERED)
    run = selection.get_selection_run(state.store, run_id) if run_id else next(iter(runs), None)
    if run is not None and run not in runs:
        runs = (run, *runs)  # an older run asked for by its id is offered too
    if run is None:
        return WorklistView(runs, None, [], None, None, chosen, sort, 0)
    summary = worklists.worklist_summary(state.store, run.run_id, chosen)
    shown = worklists.worklist(state.store, run.run_id, chosen, sort=sort, offset=offset,
                               limit=WORKLIST_ROWS)  # fmt: skip
    meter = worklists.capacity_meter(state.store, run.run_id, chosen)
    return WorklistView(runs, run, shown, summary, meter, chosen, sort, offset)


def _number(text: str, name: str) -> int:
    """A whole number as a page's address gives it (empty: 0); ``InputError`` naming it for
    anything else (the page answers 422, never a JSON problem)."""
    if not text:
        return 0
    if not re.fullmatch(r"[0-9]{1,18}", text):
        raise InputError(f"{name} must be a whole number, got {text!r}")
    return int(text)


def _moment(text: str) -> datetime | None:
    """A shift's start as the filter sends it (ISO 8601 with its offset); None when empty."""
    if not text:
        return None
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise InputError(f"shift must be a time in ISO 8601, got {text!r}") from None
    if moment.tzinfo is None:
        raise InputError(f"shift must carry its time zone, got {text!r}")
    return moment


@router.get("/worklist")
async def worklist(
    request: Request,
    run: str | None = None,
    terminal: str = "",
    lane: str = "",
    shift: str = "",
    vessel: str = "",
    sort: str = "shift",
    offset: str = "",
) -> Response:
    """The consignments a selection run chose, by shift and terminal, with their score, lane,
    hits and strongest reasons, and the capacity meter of the shifts in view; filters by
    terminal, lane, shift and vessel call, sorts, pages of ``WORKLIST_ROWS``."""
    state, visitor, refusal = await admitted(request, Permission.SELECTION_READ)
    if refusal is not None:
        return refusal
    try:
        chosen = worklists.WorklistFilter(terminal or None, lane or None, _moment(shift),
                                          vessel or None)  # fmt: skip
        first = _number(offset, "offset")
        view = await run_in_threadpool(_worklist_view, state, run, chosen, sort, first)
    except NotFoundError:
        missing = gettext(visitor.language, "There is no selection run %(run)s.") % {"run": run}
        return render(request, visitor, "refused.html", {"missing": missing}, status=404)
    except InputError as exc:
        return render(
            request, visitor, "refused.html", {"failure": told(visitor.language, exc)}, status=422
        )
    # Only the filters' requests (htmx, aimed at the table) get the table alone; a history
    # restore (Back) gets the whole page.
    fragment = request.headers.get("hx-target") == "worklist-rows" and not request.headers.get(
        "hx-history-restore-request"
    )
    page = render(request, visitor, "worklist_rows.html" if fragment else "worklist.html",
                  {"view": view, "sorts": worklists.SORTS, "page_rows": WORKLIST_ROWS})  # fmt: skip
    page.headers["Vary"] = "HX-Request, HX-Target"
    return page


@router.get("/consignments/{consignment_id}")
async def dossier(request: Request, consignment_id: str) -> Response:
    """The dossier of a consignment: transport and route, parties, goods against the usual
    value of their HS code, containers and their events, assessments, past controls."""
    state, visitor, refusal = await admitted(request, Permission.ASSESSMENT_READ)
    if refusal is not None:
        return refusal
    return await dossier_page(request, visitor, state, consignment_id)


def gather_dossier(state: Service, consignment_id: str) -> ConsignmentDossier:
    """The dossier of ``consignment_id``, its goods valued against the current model's
    reference (left out while no model can be loaded: the rest of the dossier stands)."""
    try:
        model = state.models.get()
    except ModelError:
        model = None
    reference = None if model is None else model.reference
    return consignment_dossier(
        state.store, consignment_id, reference=reference, key_dir=state.settings.key_dir
    )


async def dossier_page(
    request: Request,
    visitor: Visitor,
    state: Service,
    consignment_id: str,
    *,
    status: int = 200,
    **context: Any,
) -> Response:
    """The dossier page of ``consignment_id`` (``context``: what a refused form of its
    decision panel shows again, ``web.decisions``), with its document check against the
    carrier's filing (``services.documents``); 404 for a consignment not stored."""
    try:
        found = await run_in_threadpool(gather_dossier, state, consignment_id)
        check = await run_in_threadpool(
            documents.document_check, state.store, consignment_id, found.version
        )
    except (NotFoundError, InputError):
        missing = gettext(visitor.language, "There is no consignment %(id)s.") % {
            "id": consignment_id
        }
        return render(request, visitor, "refused.html", {"missing": missing}, status=404)
    return render(
        request, visitor, "dossier.html", {"d": found, "check": check, **context}, status=status
    )


@router.post("/worklist/select")
async def select_again(request: Request) -> Response:
    """A new selection run over the window of the run shown, with its random rate and seed,
    on the newest assessment of each consignment (after a profile change, say); the worklist
    then shows the new run. The old run keeps its overrides and orders."""
    state, visitor, form, refusal = await posted_by(request, Permission.SELECTION_RUN)
    principal = visitor.principal
    if refusal is not None or principal is None:
        return refusal or redirect_to("/login")
    run_id = form.get("run", "")

    def selected() -> str:
        return selection.select_again(state.store, run_id, actor=principal.name,
                                      capacity_file=state.settings.capacity_file).run_id  # fmt: skip

    try:
        new_run = await run_in_threadpool(selected)
    except NotFoundError:
        missing = gettext(visitor.language, "There is no selection run %(run)s.") % {"run": run_id}
        return render(request, visitor, "refused.html", {"missing": missing}, status=404)
    except (InputError, RecordError) as exc:
        return render(
            request, visitor, "refused.html", {"failure": told(visitor.language, exc)}, status=422
        )
    return redirect_to(f"/worklist?run={quote(new_run)}")


@router.post("/worklist/orders")
async def create_orders(request: Request) -> Response:
    """Turn the selection run shown into inspection orders (again: nothing new), and show the
    worklist with each consignment's order."""
    state, visitor, form, refusal = await posted_by(request, Permission.ORDER_CREATE)
    if refusal is not None or visitor.principal is None:
        return refusal or redirect_to("/login")
    run_id = form.get("run", "")
    try:
        await run_in_threadpool(selection_orders, state.store, run_id, actor=visitor.principal.name)
    except NotFoundError:
        missing = gettext(visitor.language, "There is no selection run %(run)s.") % {"run": run_id}
        return render(request, visitor, "refused.html", {"missing": missing}, status=404)
    return redirect_to(f"/worklist?run={quote(run_id)}")
