"""What every route shares: the service's state, who is calling, and what they may do.

- ``Service``: the settings, the store, the current model, the filing desk and the policy
  lab's worker of one running application, kept on ``app.state.service``;
- ``Requires(permission)``: a dependency giving the ``Principal`` of the request (a bearer
  token, or a session cookie with its CSRF token on writes) after checking that one of its
  roles holds ``permission`` (the table of ``domain.access``); a route declares its caller
  as ``Annotated[Principal, Depends(Requires(Permission.X))]`` and never decides itself;
- ``ModelSlot``: the current model, loaded once and again only when ``train`` or a promotion
  made another one current (the ``CURRENT`` file changed), so requests never load a model.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

from fastapi import Depends, Request, Response
from fastapi.security import APIKeyCookie, HTTPAuthorizationCredentials, HTTPBearer
from starlette.concurrency import run_in_threadpool

from quaywatch.config import LOOPBACK, Settings
from quaywatch.domain.access import Permission, Principal
from quaywatch.errors import AuthenticationError, ModelError, PermissionDeniedError
from quaywatch.risk.bundle import RiskModel
from quaywatch.services import accounts
from quaywatch.services.assessments import current_model
from quaywatch.services.filing import FilingDesk
from quaywatch.services.lab_runs import LabWorker
from quaywatch.store.store import Store

#: Where every route but the probes lives.
PREFIX = "/api/v1"
#: The session cookie the web application and ``POST /api/v1/session`` set.
SESSION_COOKIE = "quaywatch_session"
#: The header that must carry the session's CSRF token on every write made with a session.
CSRF_HEADER = "X-CSRF-Token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
#: The headers of a signed DCSA event delivery.
SIGNATURE_HEADER = "Notification-Signature"
SUBSCRIPTION_HEADER = "Subscription-ID"


@dataclass
class ModelSlot:
    """The current model of ``model_dir``, reloaded when ``CURRENT`` names another."""

    model_dir: Path
    _model: RiskModel | None = None
    _error: ModelError | None = None
    _stamp: tuple[float, int] | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def _current_stamp(self) -> tuple[float, int] | None:
        try:
            found = (self.model_dir / "CURRENT").stat()
        except OSError:
            return None
        return found.st_mtime, found.st_size

    def get(self) -> RiskModel | None:
        """The current model (None before the first ``train``); ``ModelError`` while the
        current one cannot be loaded (tried again once ``CURRENT`` changes, not per request)."""
        stamp = self._current_stamp()
        if stamp != self._stamp:
            with self._lock:
                if stamp != self._stamp:
                    try:
                        model = current_model(self.model_dir) if stamp is not None else None
                        self._model, self._error = model, None
                    except ModelError as exc:
                        self._model, self._error = None, exc
                    self._stamp = stamp
        if self._error is not None:
            raise self._error
        return self._model

    def require(self) -> RiskModel:
        """The current model, or ``ModelError`` (there is none yet)."""
        model = self.get()
        if model is None:
            raise ModelError(f"no current model in {self.model_dir}: train one first")
        return model


@dataclass
class Service:
    """The state of one running application: its settings, store and current model, the
    desk that files consignments posted one at a time (``services.filing``) and the thread
    that runs the policy lab's runs (``services.lab_runs``)."""

    settings: Settings
    store: Store
    models: ModelSlot
    filing: FilingDesk
    lab: LabWorker
    started_at: datetime = field(default_factory=lambda: datetime.now(UTC))


def served_on_loopback(request: Request) -> bool:
    """Whether the server answers on a loopback address over plain HTTP (its own address, not
    the client's Host header, which the client chooses): development on this machine."""
    server = request.scope.get("server") or ("", None)
    return bool(server[0] in LOOPBACK) and request.url.scheme == "http"


def set_session_cookie(
    request: Request, response: Response, session: str, expires_at: datetime
) -> None:
    """Set the session cookie: HttpOnly, SameSite=Strict, and Secure unless the service is
    reached on this machine itself (``served_on_loopback``)."""
    response.set_cookie(
        SESSION_COOKIE, session, expires=expires_at, httponly=True,
        secure=not served_on_loopback(request), samesite="strict", path="/",
    )  # fmt: skip


def service(request: Request) -> Service:
    """The application's state."""
    found = request.app.state.service
    assert isinstance(found, Service)
    return found


_bearer = HTTPBearer(auto_error=False, description="An API token: `quaywatch tokens create`.")
_cookie = APIKeyCookie(
    name=SESSION_COOKIE, auto_error=False, description="A session from POST /api/v1/session."
)


def authenticate(
    request: Request,
    bearer: HTTPAuthorizationCredentials | None,
    cookie: str | None,
) -> Principal:
    """The principal of the request: its bearer token, else its session (whose CSRF token must
    come with every write); ``AuthenticationError`` when there is neither."""
    store = service(request).store
    if bearer is not None:
        return accounts.authenticate_token(store, bearer.credentials)
    if cookie:
        session = accounts.authenticate_session(store, cookie)
        if request.method not in SAFE_METHODS and not session.csrf_ok(
            request.headers.get(CSRF_HEADER)
        ):
            raise PermissionDeniedError(
                f"a write with a session must carry its CSRF token in the {CSRF_HEADER} header"
            )
        if session.must_change_password:  # a token of theirs is another credential: it works
            raise PermissionDeniedError(
                "this session logged in with a one-time password: change it first, in the web "
                "application (/password)"
            )
        return session.principal
    raise AuthenticationError("authentication required: send a bearer token or log in")


class Requires:
    """A dependency: the caller, if one of its roles holds ``permission``."""

    def __init__(self, permission: Permission | None) -> None:
        self.permission = permission

    def __call__(
        self,
        request: Request,
        bearer: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
        cookie: Annotated[str | None, Depends(_cookie)],
    ) -> Principal:
        principal = authenticate(request, bearer, cookie)
        if self.permission is not None:
            principal.require(self.permission)
        return principal


class SignedDelivery(Requires):
    """A dependency for the DCSA event callback: a feed's bearer token or session as anywhere,
    or a delivery signed with the subscription's shared secret (``Notification-Signature``,
    ``Subscription-ID``), which is how a DCSA publisher authenticates its callbacks."""

    def __init__(self) -> None:
        super().__init__(Permission.DATA_SUBMIT)

    async def __call__(  # type: ignore[override]
        self,
        request: Request,
        bearer: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
        cookie: Annotated[str | None, Depends(_cookie)],
    ) -> Principal:
        if bearer is None and not cookie and SIGNATURE_HEADER in request.headers:
            body = await request.body()
            principal = await run_in_threadpool(
                accounts.authenticate_callback, service(request).store,
                str(request.path_params.get("subscription_id", "")),
                signature=request.headers.get(SIGNATURE_HEADER),
                header_id=request.headers.get(SUBSCRIPTION_HEADER), body=body,
            )  # fmt: skip
        else:
            principal = await run_in_threadpool(authenticate, request, bearer, cookie)
        assert self.permission is not None
        principal.require(self.permission)
        return principal


ServiceState = Annotated[Service, Depends(service)]


# The callers of the routes, one alias per permission a route needs (the routes only name
# one; ``Requires`` checks it).
Anyone = Annotated[Principal, Depends(Requires(None))]
AccountManager = Annotated[Principal, Depends(Requires(Permission.ACCOUNT_MANAGE))]
AssessmentReader = Annotated[Principal, Depends(Requires(Permission.ASSESSMENT_READ))]
AssessmentRunner = Annotated[Principal, Depends(Requires(Permission.ASSESSMENT_RUN))]
AuditReader = Annotated[Principal, Depends(Requires(Permission.AUDIT_READ))]
Submitter = Annotated[Principal, Depends(Requires(Permission.DATA_SUBMIT))]
ExchangeLiaison = Annotated[Principal, Depends(Requires(Permission.EXCHANGE))]
PartnerNode = Annotated[Principal, Depends(Requires(Permission.EXCHANGE_DELIVER))]
KpiReader = Annotated[Principal, Depends(Requires(Permission.KPI_READ))]
LabRunner = Annotated[Principal, Depends(Requires(Permission.LAB_RUN))]
OrderReader = Annotated[Principal, Depends(Requires(Permission.ORDER_READ))]
OrderCreator = Annotated[Principal, Depends(Requires(Permission.ORDER_CREATE))]
OrderWorker = Annotated[Principal, Depends(Requires(Permission.ORDER_WORK))]
OrderOverrider = Annotated[Principal, Depends(Requires(Permission.ORDER_OVERRIDE))]
ProfileReader = Annotated[Principal, Depends(Requires(Permission.PROFILE_READ))]
ProfileWriter = Annotated[Principal, Depends(Requires(Permission.PROFILE_WRITE))]
ProfileActivator = Annotated[Principal, Depends(Requires(Permission.PROFILE_ACTIVATE))]
QuarantineReader = Annotated[Principal, Depends(Requires(Permission.QUARANTINE_READ))]
QuarantineRetrier = Annotated[Principal, Depends(Requires(Permission.QUARANTINE_RETRY))]
SelectionReader = Annotated[Principal, Depends(Requires(Permission.SELECTION_READ))]
Selector = Annotated[Principal, Depends(Requires(Permission.SELECTION_RUN))]
Decider = Annotated[Principal, Depends(Requires(Permission.SELECTION_DECIDE))]
WatchlistReader = Annotated[Principal, Depends(Requires(Permission.WATCHLIST_READ))]
WatchlistWriter = Annotated[Principal, Depends(Requires(Permission.WATCHLIST_WRITE))]
SignedSubmitter = Annotated[Principal, Depends(SignedDelivery())]
