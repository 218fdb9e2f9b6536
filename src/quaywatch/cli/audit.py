"""``quaywatch audit`` (the tamper-evident trail) and ``quaywatch db`` (the schema)."""

from __future__ import annotations

import json
from typing import Annotated

import typer
from rich.table import Table

from quaywatch.cli.context import console, open_store, sub_app
from quaywatch.errors import ConfigurationError

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
    from quaywatch.audit import chain

    expected = None
    if anchor:
        seq, _, digest = anchor.partition(":")
        if not seq.isdigit() or len(digest) != 64:
            raise ConfigurationError("--anchor is SEQ:HASH as printed by `quaywatch audit verify`")
        expected = (int(seq), digest)
    with open_store(ctx).reading() as conn:
        result = chain.verify(conn, anchor=expected)
    console.print(
        f"audit trail intact: {result.events} events; head {result.head_seq}:{result.head_hash}"
    )


@audit_app.command("log")
def audit_log(ctx: typer.Context, limit: Annotated[int, typer.Option()] = 20) -> None:
    """The newest audit events."""
    from quaywatch.audit import chain

    with open_store(ctx).reading() as conn:
        entries = chain.recent(conn, limit)
    table = Table()
    for column in ("seq", "at", "actor", "action", "object", "details"):
        table.add_column(column)
    for e in entries:
        table.add_row(str(e.seq), e.at.isoformat(timespec="seconds"), e.actor, e.action,
                      f"{e.object_type} {e.object_id}", json.dumps(e.details))  # fmt: skip
    console.print(table)


@db_app.command("upgrade")
def db_upgrade(ctx: typer.Context) -> None:
    """Apply pending schema migrations."""
    from quaywatch.store import database

    store = open_store(ctx, migrate=False)
    store.upgrade()
    console.print(f"database at revision {database.current_revision(store.engine)}")


@db_app.command("status")
def db_status(ctx: typer.Context) -> None:
    """Show the schema revision of the database and of this quaywatch."""
    from quaywatch.store import database

    store = open_store(ctx, migrate=False)
    console.print(
        f"database: {database.current_revision(store.engine)}; quaywatch: {database.head_revision()}"
    )
