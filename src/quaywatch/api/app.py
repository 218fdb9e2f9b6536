"""The FastAPI application: ``create_app(settings)``.

The store is opened (and migrated when ``auto_migrate`` is on) when the application starts
and closed when it stops; the current model is loaded at start and again whenever another
becomes current; the policy lab's worker (``services.lab_runs``) starts with the application,
after marking the runs a stopped process left running as failed, and stops before the store
closes; so does the exchange outbox's HTTP push when ``exchange_push_interval_s`` is set. Every route is under ``/api/v1`` but the probes (``/health``, ``/ready``,
``/metrics``), which orchestrators and Prometheus call without credentials and which say
nothing about the traffic.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

from fastapi import APIRouter, FastAPI
from fastapi.openapi.utils import get_openapi
from fastapi.routing import APIRoute

from quaywatch import __version__
from quaywatch.api import metrics, problems, schemas
from quaywatch.api.context import ModelSlot, Requires, Service
from quaywatch.api.routes import (
    accounts,
    assessments,
    audit,
    decisions,
    documents,
    exchange,
    intake,
    kpis,
    lab,
    ops,
    orders,
    parties,
    profiles,
    quarantine,
    selection,
    session,
    watchlists,
)
from quaywatch.api.uploads import UploadLimit
from quaywatch.config import Settings
from quaywatch.domain.access import Permission
from quaywatch.errors import ModelError
from quaywatch.services import reference
from quaywatch.services.exchange_push import Backoff, OutboxPusher
from quaywatch.services.filing import FilingDesk
from quaywatch.services.lab_runs import LabWorker
from quaywatch.store.store import Store

#: Every router of the application.
ROUTERS: tuple[APIRouter, ...] = tuple(
    module.router
    for module in (ops, intake, assessments, parties, documents, selection, orders, decisions, profiles,
                   watchlists, kpis, lab, quarantine, audit, accounts, session, exchange)
)  # fmt: skip


@dataclass(frozen=True, slots=True)
class Operation:
    """One operation of the API: method, path template, and who may call it (``guarded``:
    credentials needed; ``permission``: the one needed, None for any caller)."""

    method: str
    path: str
    guarded: bool
    permission: Permission | None
    route: APIRoute


def _requirement(route: APIRoute) -> Requires | None:
    stack = list(route.dependant.dependencies)
    while stack:
        dependency = stack.pop()
        if isinstance(dependency.call, Requires):
            return dependency.call
        stack.extend(dependency.dependencies)
    return None


def operations() -> list[Operation]:
    """Every operation of the API, in the order of its routers."""
    found: list[Operation] = []
    for router in ROUTERS:
        for route in router.routes:
            if isinstance(route, APIRoute):
                needed = _requirement(route)
                permission = None if needed is None else needed.permission
                found.extend(
                    Operation(method, route.path, needed is not None, permission, route)
                    for method in sorted(route.methods or ())
                )
    return found


DESCRIPTION = """\
Customs risk management for maritime container traffic: submit cargo data and container
events, get assessments with their reasons, select controls within capacity, work inspection
orders, manage risk profiles and watchlists, read KPIs and verify the audit trail.

**Authentication**: an API token (`quaywatch tokens create`) as `Authorization: Bearer <token>`,
or a session (`POST /api/v1/session`) whose cookie is sent back, with its CSRF token in the
`X-CSRF-Token` header on every write. What each role may do: `docs/permissions.md`.

**Errors** are RFC 9457 problem details (`application/problem+json`).
"""

TAGS: list[dict[str, Any]] = [
    {"name": "intake", "description": "Consignments, container events and control outcomes in."},
    {"name": "assessments", "description": "Risk assessments and scoring runs."},
    {"name": "parties", "description": "Parties: their neighbourhood and track record."},
    {
        "name": "documents",
        "description": "Carriers' documents (DCSA eBL) and their discrepancies with declarations.",
    },
    {"name": "selection", "description": "Selection of controls within capacity."},
    {"name": "orders", "description": "Inspection orders and their steps."},
    {"name": "decisions", "description": "Lane overrides, examiner instructions, referrals."},
    {"name": "profiles", "description": "Analysts' risk profiles."},
    {"name": "watchlists", "description": "Watchlists and name screening."},
    {"name": "kpis", "description": "Key performance indicators."},
    {
        "name": "lab",
        "description": "Policy lab runs: control set-ups compared on generated traffic.",
    },
    {"name": "quarantine", "description": "Records intake could not store."},
    {"name": "audit", "description": "The tamper-evident audit trail."},
    {"name": "accounts", "description": "Users, roles and tokens (administrators)."},
    {"name": "session", "description": "Logging in and out."},
    {
        "name": "exchange",
        "description": "Signed messages with partner administrations: the inbox partners' nodes "
        "deliver to, and the partner liaison's inbox, outbox and partners.",
    },
    {"name": "operations", "description": "Probes and metrics."},
]


def operations_markdown() -> str:
    """The table of every operation and the permission it needs, as docs/api.md shows it."""
    lines = ["| Method | Path | Permission | What it does |", "|---|---|---|---|"]
    for o in operations():
        needed = (o.permission.value if o.permission else "any user") if o.guarded else "none"
        lines.append(f"| {o.method} | `{o.path}` | {needed} | {o.route.summary or ''} |")
    return "\n".join(lines) + "\n"


def _openapi(app: FastAPI) -> dict[str, Any]:
    """The OpenAPI document, with the schemas of the bodies intake reads itself."""
    if app.openapi_schema is None:
        document = get_openapi(
            title=app.title, version=app.version, description=app.description,
            routes=app.routes, tags=app.openapi_tags,
        )  # fmt: skip
        components = document.setdefault("components", {}).setdefault("schemas", {})
        for name, schema in schemas.component_schemas().items():
            components.setdefault(name, schema)
        app.openapi_schema = document
    return app.openapi_schema


def create_app(settings: Settings, *, store: Store | None = None) -> FastAPI:
    """The application serving ``settings``' store and models.

    ``store``: an open store to serve instead of opening the one the settings name (it is then
    left open when the application stops). The site reference directory the settings name is
    checked and put in use here: a bad file stops the start (``ReferenceDataError``).
    """
    reference.activate(settings.reference_dir)
    measured = metrics.Metrics()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        opened = store or Store.open(
            settings.database_url,
            migrate=settings.auto_migrate,
            lock_timeout_s=settings.lock_timeout_s,
            audit_key=settings.audit_key(),
        )
        models = ModelSlot(settings.model_dir)
        try:
            models.get()
        except ModelError as exc:
            # Serve anyway: /ready says what is wrong, and a fixed folder is picked up.
            problems.log.error("the current model cannot be loaded: %s", exc.message)
        filing = FilingDesk(opened, models.get, saturation_pct=settings.hit_saturation_pct,
                            key_dir=settings.key_dir)  # fmt: skip
        lab_worker = LabWorker(opened)
        lab_worker.start()  # runs left running by a stopped process are marked failed first
        pusher = None
        if settings.exchange_push_interval_s > 0:
            pusher = OutboxPusher(
                opened, settings.key_dir, interval_s=settings.exchange_push_interval_s,
                backoff=Backoff.with_timeout(
                    settings.exchange_push_base_s, settings.exchange_push_max_s,
                    settings.exchange_push_timeout_s),
                timeout_s=settings.exchange_push_timeout_s, actor=settings.actor,
            )  # fmt: skip
            pusher.start()
        app.state.service = Service(settings=settings, store=opened, models=models, filing=filing,
                                    lab=lab_worker)  # fmt: skip
        try:
            yield
        finally:
            if pusher is not None:
                pusher.close()
            lab_worker.close()
            filing.close()
            if store is None:
                opened.close()

    app = FastAPI(
        title="quaywatch",
        version=__version__,
        description=DESCRIPTION,
        openapi_tags=TAGS,
        lifespan=lifespan,
    )
    app.state.metrics = measured
    problems.install(app)
    for operation in operations():
        if operation.permission is not None:
            # Each operation says in the OpenAPI document which permission it needs.
            extra = operation.route.openapi_extra or {}
            operation.route.openapi_extra = {**extra, "x-permission": operation.permission.value}
    for router in ROUTERS:
        app.include_router(router)
    app.openapi = lambda: _openapi(app)  # type: ignore[method-assign]
    app.add_middleware(metrics.MetricsMiddleware, metrics=measured)
    app.add_middleware(UploadLimit, max_bytes=settings.attachment_max_bytes)
    return app
