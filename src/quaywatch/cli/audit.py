"""``quaywatch audit`` (the tamper-evident trail) and ``quaywatch db`` (the schema).

Thin adapters over ``services.audit`` and ``services.schema``.
"""

from __future__ import annotations

import json
from typing import Annotated

import typer
from rich.table import Table

from quaywatch.cli.context import console, open_store, shown, sub_app

audit_app = sub_app("The tamper-evident audit trail.")
db_app = sub_app("Database schema.")


@audit_app.command("verify")
def audit_verify(
    ctx: typer.Context,
    anchor: Annotated[
        str | None, typer.Option(help="SEQ:HASH printed by an earlier verify.")
    ] = None,
) -> None:
    """Check the whole audit chain; exit code 4 if anything was edited, inserted or deleted."""
    from quaywatch.services.audit import verify_audit

    result = verify_audit(open_store(ctx), anchor=anchor)
    console.print(
        f"audit trail intact: {result.events} events; head {result.head_seq}:{result.head_hash}",
        markup=False,
        highlight=False,
    )


@audit_app.command("log")
def audit_log(
    ctx: typer.Context,
    limit: Annotated[int, typer.Option()] = 20,
    actor: Annotated[str | None, typer.Option(help="Only this actor's events.")] = None,
    action: Annotated[str | None, typer.Option(help="Only this action (import, ...).")] = None,
    object_type: Annotated[str | None, typer.Option(help="Only objects of this kind.")] = None,
    object_id: Annotated[str | None, typer.Option(help="Only the object of this id.")] = None,
    before: Annotated[int | None, typer.Option(help="Only events below this seq.")] = None,
) -> None:
    """The newest audit events (those that pass the filters given)."""
    from quaywatch.services.audit import audit_log as newest_events

    table = Table()
    for column in ("seq", "at", "actor", "action", "object", "details"):
        table.add_column(column)
    found = newest_events(
        open_store(ctx), limit=limit, actor=actor, action=action, object_type=object_type,
        object_id=object_id, before=before,
    )  # fmt: skip
    for e in found:
        table.add_row(
            str(e.seq), e.at.isoformat(timespec="seconds"), shown(e.actor), shown(e.action),
            shown(f"{e.object_type} {e.object_id}"), shown(json.dumps(e.details, default=str)),
        )  # fmt: skip
    console.print(table)


@db_app.command("upgrade")
def db_upgrade(ctx: typer.Context) -> None:
    """Apply pending schema migrations."""
    from quaywatch.services import schema

    result = schema.upgrade(open_store(ctx, schema=False))
    console.print(f"database at revision {result.database_revision}", highlight=False)


@db_app.command("status")
def db_status(ctx: typer.Context) -> None:
    """Show the schema revision of the database and of this quaywatch."""
    from quaywatch.services import schema

    result = schema.status(open_store(ctx, schema=False))
    console.print(
        f"database: {result.database_revision}; quaywatch: {result.code_revision}",
        highlight=False,
    )
