"""The application ``quaywatch serve`` runs: the HTTP API and the web application together."""

from __future__ import annotations

from importlib import resources
from typing import Any

from fastapi import FastAPI
from starlette.staticfiles import StaticFiles
from starlette.types import Scope

from quaywatch.api.app import create_app as create_api
from quaywatch.config import Settings
from quaywatch.store.store import Store
from quaywatch.web import dashboard, inspection, pages, profiles


class _Static(StaticFiles):
    """The package's static files, with the pages' security headers."""

    async def get_response(self, path: str, scope: Scope) -> Any:
        response = await super().get_response(path, scope)
        for name, value in pages.SECURITY_HEADERS.items():
            if name != "Cache-Control":
                response.headers[name] = value
        return response


def create_app(settings: Settings, *, store: Store | None = None) -> FastAPI:
    """The API (``api.app.create_app``, same arguments) with the web application's pages at
    ``/`` and its static files at ``/static``."""
    app = create_api(settings, store=store)
    app.include_router(pages.router)
    app.include_router(inspection.router)
    app.include_router(dashboard.router)
    app.include_router(profiles.router)
    folder = resources.files("quaywatch.web").joinpath("static")
    app.mount("/static", _Static(directory=str(folder)), name="static")
    return app
