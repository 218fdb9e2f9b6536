"""The application ``quaywatch serve`` runs: the HTTP API and the web application together."""

from __future__ import annotations

from importlib import resources
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import Response
from starlette.exceptions import HTTPException
from starlette.staticfiles import StaticFiles
from starlette.types import Scope

from quaywatch.api import problems
from quaywatch.api.app import create_app as create_api
from quaywatch.config import Settings
from quaywatch.errors import QuaywatchError
from quaywatch.store.store import Store
from quaywatch.web import (
    accounts,
    audit,
    dashboard,
    decisions,
    documents,
    entities,
    inspection,
    lab,
    pages,
    profiles,
)


class _Static(StaticFiles):
    """The package's static files, with the pages' security headers."""

    async def get_response(self, path: str, scope: Scope) -> Any:
        response = await super().get_response(path, scope)
        for name, value in pages.SECURITY_HEADERS.items():
            if name != "Cache-Control":
                response.headers[name] = value
        return response


def _page_errors(app: FastAPI) -> None:
    """Errors on a page's path answer as pages (with their headers); the API's and the
    probes' stay problems (``api.problems``)."""

    async def quaywatch_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, QuaywatchError)
        if not pages.is_page(request.url.path):
            return problems.from_error(exc, request)
        if exc.status >= 500:
            problems.log.error("%s %s: %s", request.method, request.url.path, exc.message)
        return await pages.error_page(request, exc.status, exc.message)

    async def http_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, HTTPException)
        if not pages.is_page(request.url.path):
            slug = {404: "not-found", 405: "method-not-allowed"}.get(exc.status_code, "http")
            return problems.response(exc.status_code, slug, str(exc.detail), str(exc.detail),
                                     request)  # fmt: skip
        return await pages.error_page(request, exc.status_code, str(exc.detail))

    app.add_exception_handler(QuaywatchError, quaywatch_error)
    app.add_exception_handler(HTTPException, http_error)


def create_app(settings: Settings, *, store: Store | None = None) -> FastAPI:
    """The API (``api.app.create_app``, same arguments) with the web application's pages at
    ``/`` and its static files at ``/static``."""
    app = create_api(settings, store=store)
    _page_errors(app)
    app.include_router(pages.router)
    app.include_router(inspection.router)
    app.include_router(dashboard.router)
    app.include_router(profiles.router)
    app.include_router(decisions.router)
    app.include_router(entities.router)
    app.include_router(documents.router)
    app.include_router(audit.router)
    app.include_router(lab.router)
    app.include_router(accounts.router)
    folder = resources.files("quaywatch.web").joinpath("static")
    app.mount("/static", _Static(directory=str(folder)), name="static")
    return app
