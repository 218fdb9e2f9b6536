"""``quaywatch ingest`` and ``quaywatch quarantine``: files in, and what could not be stored."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.progress import (
    BarColumn,
    DownloadColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeRemainingColumn,
)
from rich.table import Table

from quaywatch.cli.context import console, errors, get_settings, open_store, sub_app
from quaywatch.domain.vocabulary import RecordKind
from quaywatch.errors import ConfigurationError

if TYPE_CHECKING:
    from quaywatch.config import Settings
    from quaywatch.intake.pipeline import ImportSummary
    from quaywatch.store.store import Store

quarantine_app = sub_app("Records intake could not store.")


def ingest_paths(
    store: Store, settings: Settings, paths: list[Path], kind: RecordKind | None
) -> list[ImportSummary]:
    from quaywatch.intake.pipeline import ingest_file

    summaries = []
    with Progress(
        TextColumn("{task.description}"), BarColumn(), DownloadColumn(), TimeRemainingColumn(),
        console=errors, transient=True,
    ) as bar:  # fmt: skip
        for path in paths:
            task = bar.add_task(path.name, total=path.stat().st_size if path.is_file() else None)

            def advance(done: int, total: int, task: TaskID = task) -> None:
                bar.update(task, completed=done, total=total)

            summaries.append(
                ingest_file(
                    store, path, kind=kind, batch_size=settings.batch_size, actor=settings.actor,
                    progress=advance,
                )
            )  # fmt: skip
    return summaries


def print_summaries(summaries: list[ImportSummary]) -> None:
    table = Table(title="Import")
    for column in ("file", "kind", "read", "new", "unchanged", "quarantined", "resolved"):
        left = column in ("file", "kind")
        table.add_column(column, justify="left" if left else "right", overflow="fold")
    for s in summaries:
        quarantined = f"{s.quarantined}" + (
            f" ({s.already_quarantined} already)" if s.already_quarantined else ""
        )
        table.add_row(Path(s.source).name, s.kind.value, str(s.read), str(s.new), str(s.unchanged),
                      quarantined, str(s.resolved))  # fmt: skip
    console.print(table)
    for s in summaries:
        for r in s.rejected[:5]:
            where = ", ".join(x for x in (r.location, r.record_id, r.field) if x)
            console.print(
                f"  [yellow]quarantined[/] {Path(s.source).name} {where}: {r.reason}",
                highlight=False,
            )
        if s.quarantined > 5:
            console.print(
                f"  ... {s.quarantined - 5} more in {Path(s.source).name}: quaywatch quarantine list"
            )


def print_store(store: Store) -> None:
    table = Table(title="Store")
    table.add_column("table")
    table.add_column("rows", justify="right")
    for name, count in store.counts().items():
        table.add_row(name, str(count))
    console.print(table)


def ingest(
    ctx: typer.Context,
    paths: Annotated[
        list[Path], typer.Argument(help="CSV, JSON Lines, Parquet or DCSA JSON files.")
    ],
    kind: Annotated[
        RecordKind | None, typer.Option(help="Override detection of the record kind.")
    ] = None,
) -> None:
    """Import consignments and container events; bad records go to quarantine."""
    settings = get_settings(ctx)
    store = open_store(ctx)
    print_summaries(ingest_paths(store, settings, paths, kind))


@quarantine_app.command("list")
def quarantine_list(
    ctx: typer.Context,
    status: Annotated[str, typer.Option(help="open, resolved or all.")] = "open",
    limit: Annotated[int, typer.Option(help="At most this many, newest first.")] = 50,
) -> None:
    """Quarantined records with their reasons."""
    from quaywatch.intake import quarantine

    rows = quarantine.list_entries(
        open_store(ctx), status=None if status == "all" else status, limit=limit
    )
    table = Table()
    for column in ("id", "status", "source", "location", "record", "field", "reason"):
        table.add_column(column)
    for r in rows:
        table.add_row(str(r.quarantine_id), r.status, Path(r.source).name, r.location,
                      r.record_id or "", r.field or "", r.reason)  # fmt: skip
    console.print(table)


@quarantine_app.command("show")
def quarantine_show(ctx: typer.Context, quarantine_id: Annotated[int, typer.Argument()]) -> None:
    """One quarantined record: every problem, and the record as read (JSON, ready to edit)."""
    from quaywatch.intake import quarantine

    r = quarantine.get_entry(open_store(ctx), quarantine_id)
    console.print(
        f"[bold]quarantine {r.quarantine_id}[/] ({r.status}) {r.kind} from {r.source}, {r.location}"
    )
    if r.record_id:
        console.print(f"record {r.record_id}", highlight=False)
    for field, reason in r.errors:
        console.print(f"  {field or '(record)'}: {reason}", highlight=False)
    console.print_json(r.raw) if r.raw.startswith(("{", "[")) else console.print(r.raw)


@quarantine_app.command("retry")
def quarantine_retry(
    ctx: typer.Context,
    quarantine_ids: Annotated[list[int], typer.Argument(help="Entries to retry.")],
    record: Annotated[
        Path | None,
        typer.Option(help="A corrected record (JSON, as `show` prints it); one entry only."),
    ] = None,
) -> None:
    """Check and store quarantined records again, as they are or as corrected."""
    from quaywatch.intake import quarantine

    if record is not None and len(quarantine_ids) != 1:
        raise ConfigurationError("--record corrects exactly one quarantine entry")
    settings = get_settings(ctx)
    store = open_store(ctx)
    text = record.read_text("utf-8") if record else None
    failed = 0
    for qid in quarantine_ids:
        result = quarantine.retry(store, qid, record=text, actor=settings.actor)
        if result.stored:
            console.print(f"quarantine {qid}: stored, entry resolved")
        else:
            failed += 1
            console.print(f"quarantine {qid}: still invalid: {result.reason}", highlight=False)
    if failed:
        raise typer.Exit(1)
