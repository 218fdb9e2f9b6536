"""``quaywatch serve``: the web application and the HTTP API under uvicorn."""

from __future__ import annotations

import os
from typing import Annotated

import typer

from quaywatch.cli.context import console, get_settings


def serve(
    ctx: typer.Context,
    host: Annotated[
        str, typer.Option(help="Address to listen on; the default answers this machine only.")
    ] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=1, max=65535)] = 8000,
    workers: Annotated[
        int, typer.Option(min=1, help="Worker processes (several need PostgreSQL).")
    ] = 1,
    log_level: Annotated[str, typer.Option(help="uvicorn's log level.")] = "info",
) -> None:
    """Serve the web application (at /) and the HTTP API (/api/v1, OpenAPI document at /docs,
    probes at /health and /ready)."""
    import uvicorn

    from quaywatch.config import LOOPBACK
    from quaywatch.services.health import check_serving
    from quaywatch.store.database import redact
    from quaywatch.store.store import Store

    settings = get_settings(ctx)
    store = Store.open(
        settings.database_url,
        migrate=settings.auto_migrate,
        lock_timeout_s=settings.lock_timeout_s,
        audit_key=settings.audit_key(),
    )
    try:
        check_serving(store.dialect, workers)
    finally:
        store.close()
    # Workers read their settings from the environment: hand them what the command line set,
    # and the migration is done.
    os.environ["QUAYWATCH_DATABASE_URL"] = settings.database_url
    os.environ["QUAYWATCH_AUTO_MIGRATE"] = "false"
    if host not in LOOPBACK:
        console.print(
            f"listening on {host}: reachable from other machines; put TLS in front "
            "(session cookies are then marked Secure)",
            markup=False, highlight=False,
        )  # fmt: skip
    console.print(
        f"quaywatch on http://{host}:{port}: the application at /, the API at /api/v1 "
        f"(store {redact(settings.database_url)})",
        markup=False, highlight=False,
    )  # fmt: skip
    uvicorn.run(
        "quaywatch.web.asgi:create", factory=True, host=host, port=port, workers=workers,
        log_level=log_level, proxy_headers=False,
    )  # fmt: skip
