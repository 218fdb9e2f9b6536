"""``quaywatch audit`` (the tamper-evident trail) and ``quaywatch db`` (the schema).

Thin adapters over ``services.audit`` and ``services.schema``.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
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
        str | None,
        typer.Option(
            help="SEQ:HASH printed by an earlier verify, or a signed anchor file written by "
            "`audit anchor` (needs QUAYWATCH_AUDIT_KEY_FILE)."
        ),
    ] = None,
    full: Annotated[
        bool,
        typer.Option(
            "--full",
            help="Also re-hash every stored row the trail binds and name any changed, "
            "missing or added (slower: see docs/reliability.md).",
        ),
    ] = False,
) -> None:
    """Check the whole audit chain; exit code 4 if anything was edited, inserted or deleted."""
    from quaywatch.services.audit import verify_audit

    as_pair = anchor is not None and _ANCHOR_PAIR.fullmatch(anchor.strip()) is not None
    result = verify_audit(
        open_store(ctx),
        anchor=anchor if as_pair else None,
        anchor_file=Path(anchor) if anchor is not None and not as_pair else None,
        full=full,
    )
    signatures = (
        f"{result.signed} signed, signatures checked"
        if result.key_checked
        else f"{result.signed} signed, signatures not checked (no audit key set)"
    )
    console.print(
        f"audit trail intact: {result.events} events ({signatures}); "
        f"head {result.head_seq}:{result.head_hash}",
        markup=False,
        highlight=False,
    )
    if result.rows is not None:
        r = result.rows
        rate = r.rows / r.seconds if r.seconds else float(r.rows)
        legacy = (
            f"; {r.legacy_rows:,} of them stored before row hashes and bound at the upgrade"
            if r.legacy_rows
            else ""
        )
        console.print(
            f"stored data intact: {r.rows:,} rows re-hashed in {r.seconds:.2f} s "
            f"({rate:,.0f} rows/s) against {r.groups:,} audited writes{legacy}",
            markup=False,
            highlight=False,
        )


_ANCHOR_PAIR = re.compile(r"\d+:[0-9A-Fa-f]{64}")


@audit_app.command("anchor")
def audit_anchor(
    ctx: typer.Context,
    to: Annotated[Path, typer.Option(help="New file to write the signed anchor to.")],
) -> None:
    """Export the head of the trail, signed with the audit key, to a file kept elsewhere."""
    from quaywatch.services.audit import export_anchor

    written = export_anchor(open_store(ctx), to)
    signed = "its event signed" if written.signed_event else "its event not signed"
    console.print(
        f"anchor written to {written.path}: event {written.seq}:{written.hash} ({signed}); "
        "keep it outside the database host",
        markup=False,
        highlight=False,
    )


@audit_app.command("keygen")
def audit_keygen(
    to: Annotated[Path, typer.Option(help="New file to write the key to (mode 600).")],
) -> None:
    """Make a new random audit key; point QUAYWATCH_AUDIT_KEY_FILE at it."""
    from quaywatch.services.audit import make_key

    key_id = make_key(to)
    console.print(
        f"audit key {key_id} written to {to}; set QUAYWATCH_AUDIT_KEY_FILE={to} and keep a "
        "copy off the database host",
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
