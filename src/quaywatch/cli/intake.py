"""``quaywatch ingest`` and ``quaywatch quarantine``: files in, and what could not be stored.

Thin adapters over ``services.intake``; ``print_summaries`` and ``print_counts`` render its
results (the demo prints them too).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.table import Table

from quaywatch.cli.context import (
    console,
    errors,
    get_settings,
    label,
    open_store,
    shown,
    sub_app,
    visible,
)
from quaywatch.domain.vocabulary import KnownAt, RecordKind
from quaywatch.errors import InputError
from quaywatch.intake import format_names

if TYPE_CHECKING:
    from quaywatch.intake.pipeline import ImportSummary
    from quaywatch.services.intake import FailedFile, RetryOutcome

quarantine_app = sub_app("Records intake could not store.")


def print_summaries(
    summaries: Iterable[ImportSummary],
    failed: Iterable[FailedFile] = (),
    *,
    order: Iterable[Path] = (),
) -> None:
    """The import table, one row per file (in ``order``, the files as given, where known) with
    the files not imported marked so, then why each was not and the first few quarantined
    records of each file imported."""
    summaries, failed = list(summaries), list(failed)
    table = Table(title="Import")
    for column in ("file", "kind", "read", "new", "unchanged", "quarantined", "resolved",
                   "skipped", "format"):  # fmt: skip
        left = column in ("file", "kind", "format")
        table.add_column(column, justify="left" if left else "right", overflow="fold")
    for row in _in_order(summaries, failed, order):
        if isinstance(row, FailedFileRow):
            state = "FAILED" if row.failed.attempted else "NOT TRIED"
            table.add_row(shown(Path(row.failed.source).name), label(state, "bold red"),
                          *["-"] * 7)  # fmt: skip
            continue
        s = row
        quarantined = f"{s.quarantined}" + (
            f" ({s.already_quarantined} already)" if s.already_quarantined else ""
        )
        table.add_row(shown(Path(s.source).name), s.kind.value, str(s.read), str(s.new),
                      str(s.unchanged), quarantined, str(s.resolved),
                      str(sum(s.skipped.values())), s.format or "-")  # fmt: skip
    console.print(table)
    for f in failed:
        what = "failed (nothing of it stored):" if f.attempted else "not tried:"
        console.print(
            "  ", label(what, "bold red"), f" {f.reason}",
            sep="", highlight=False,
        )  # fmt: skip
    for s in summaries:
        name = Path(s.source).name
        if s.skipped:  # acknowledged, not stored: say what, so that nothing seems lost
            counts = ", ".join(f"{n} {what}" for what, n in sorted(s.skipped.items()))
            console.print(
                "  ", label("skipped", "cyan"), f" {name}: {counts} (valid; quaywatch does "
                "not store them: docs/formats.md)", sep="", markup=False, highlight=False,
            )  # fmt: skip
        for w in s.warnings[:5]:  # stored, with a declared value set aside
            console.print(
                "  ", label("warning", "magenta"),
                f" {name} {w.location}, {w.record_id or '-'}, {w.field}: {w.reason}",
                sep="", markup=False, highlight=False,
            )  # fmt: skip
        if s.warned > 5:
            console.print(
                f"  ... {s.warned - 5} more warnings in {name}: its import's audit event lists "
                f"them (quaywatch audit log --object-id {s.batch_id})",
                markup=False, highlight=False,
            )  # fmt: skip
        for r in s.rejected[:5]:
            where = ", ".join(x for x in (r.location, r.record_id, r.field) if x)
            console.print(
                "  ",
                label("quarantined", "yellow"),
                f" {name} {where}: {r.reason}",
                sep="",
                highlight=False,
            )
        if s.quarantined > 5:
            console.print(
                f"  ... {s.quarantined - 5} more in {name}: quaywatch quarantine list",
                markup=False,
                highlight=False,
            )


@dataclass(frozen=True, slots=True)
class FailedFileRow:
    """A row of the import table for a file not imported."""

    failed: FailedFile


def _in_order(
    summaries: list[ImportSummary], failed: list[FailedFile], order: Iterable[Path]
) -> list[ImportSummary | FailedFileRow]:
    """Summaries and failures merged in the order the files were given (both lists keep it)."""
    done, bad = list(summaries), [FailedFileRow(f) for f in failed]
    rows: list[ImportSummary | FailedFileRow] = []
    for path in order:
        if bad and bad[0].failed.source == str(path):
            rows.append(bad.pop(0))
        elif done and done[0].source == str(path):
            rows.append(done.pop(0))
    return [*rows, *done, *bad]


def print_counts(counts: Mapping[str, int]) -> None:
    """Rows per table."""
    table = Table(title="Store")
    table.add_column("table")
    table.add_column("rows", justify="right")
    for name, count in counts.items():
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
    format_name: Annotated[
        str | None,
        typer.Option(
            "--format",
            help=f"Override detection of the format by content: {format_names.listed()} "
            "(docs/formats.md).",
        ),
    ] = None,
    known_at: Annotated[
        KnownAt,
        typer.Option(
            help="When container events count as known to an assessment as of a time: received "
            "(now; leak-free) or created (their eventCreatedDateTime: only to backtest a history "
            "loaded after the fact; see docs/intake.md).",
        ),
    ] = KnownAt.RECEIVED,
) -> None:
    """Import consignments and container events; bad records go to quarantine."""
    from rich.progress import (
        BarColumn,
        DownloadColumn,
        Progress,
        TaskID,
        TextColumn,
        TimeRemainingColumn,
    )

    from quaywatch.config import read_intake_options
    from quaywatch.services.intake import FilesNotImportedError, ingest_files

    settings = get_settings(ctx)
    store = open_store(ctx)
    with Progress(
        TextColumn("{task.description}", markup=False), BarColumn(), DownloadColumn(), TimeRemainingColumn(),
        console=errors, transient=True,
    ) as bar:  # fmt: skip
        tasks: dict[Path, TaskID] = {}

        def advance(path: Path, done: int, total: int) -> None:
            if path not in tasks:
                tasks[path] = bar.add_task(visible(path.name), total=total)
            bar.update(tasks[path], completed=done, total=total)

        try:
            summaries = ingest_files(
                store, paths, kind=kind, batch_size=settings.batch_size, actor=settings.actor,
                progress=advance, known_at=known_at, options=read_intake_options(settings),
                format_name=format_name,
            )  # fmt: skip
        except FilesNotImportedError as exc:
            # Each file is its own import: show what the others did, then fail (``Group``).
            bar.stop()
            if exc.imported or len(exc.failed) > 1:  # one file alone: its error says it all
                print_summaries(exc.imported, exc.failed, order=paths)
            raise
    print_summaries(summaries, order=paths)
    if known_at is KnownAt.CREATED and any(s.known_at is KnownAt.CREATED for s in summaries):
        console.print(
            label("note:", "yellow"),
            "container events stored now count as known from their creation "
            "time: assessments as of an earlier moment see them (a backtest). Events already "
            "stored keep the time of their first import.",
            highlight=False,
        )


@quarantine_app.command("list")
def quarantine_list(
    ctx: typer.Context,
    status: Annotated[str, typer.Option(help="open, resolved or all.")] = "open",
    limit: Annotated[int, typer.Option(help="At most this many, newest first.")] = 50,
    reason: Annotated[
        str | None, typer.Option(help="Only entries whose reason holds this text (any case).")
    ] = None,
) -> None:
    """Quarantined records counted by cause, then each (newest first) with its reasons."""
    from quaywatch.services.intake import list_quarantine, quarantine_reasons

    store = open_store(ctx)
    groups = quarantine_reasons(store, status=status, reason=reason)
    entries = list_quarantine(store, status=status, limit=limit, reason=reason)
    if not groups:
        console.print(f"no {'' if status == 'all' else status + ' '}quarantine entries"
                      + (" with that reason" if reason else ""))  # fmt: skip
        return
    causes = Table(title="by cause (each number written N)")
    for column in ("entries", "kind", "field", "reason", "newest"):
        causes.add_column(column, justify="right" if column in ("entries", "newest") else "left")
    for g in groups:
        causes.add_row(f"{g.count:,}", g.kind, shown(g.field), shown(g.reason), str(g.newest_id))
    console.print(causes)
    if len(groups) > 1 or groups[0].count > 1:
        console.print(
            "retry every open entry of one cause once it is fixed: "
            "quaywatch quarantine retry --reason TEXT (a part of the reason, not the N)"
        )
    table = Table()
    for column in ("id", "status", "source", "location", "record", "field", "reason"):
        table.add_column(column)
    for e in entries:
        table.add_row(
            str(e.quarantine_id), e.status, shown(Path(e.source).name), shown(e.location),
            shown(e.record_id or ""), shown(e.field or ""), shown(e.reason),
        )  # fmt: skip
    console.print(table)


@quarantine_app.command("show")
def quarantine_show(ctx: typer.Context, quarantine_id: Annotated[int, typer.Argument()]) -> None:
    """One quarantined record: every problem, and the record as read (JSON, ready to edit)."""
    from quaywatch.services.intake import get_quarantine

    e = get_quarantine(open_store(ctx), quarantine_id)
    console.print(
        label(f"quarantine {e.quarantine_id}", "bold"),
        f"({e.status}) {e.kind} from {e.source}, {e.location}",
    )
    if e.record_id:
        console.print(f"record {e.record_id}", markup=False, highlight=False)
    for problem in e.errors:
        console.print(f"  {problem.field or '(record)'}: {problem.reason}", markup=False,
                      highlight=False)  # fmt: skip
    if e.raw.startswith(("{", "[")):
        console.print_json(e.raw)  # JSON rendering: values are never read as markup
    else:
        console.print(e.raw, markup=False, highlight=False)


@quarantine_app.command("retry")
def quarantine_retry(
    ctx: typer.Context,
    quarantine_ids: Annotated[
        list[int] | None, typer.Argument(help="Entries to retry (or --reason).")
    ] = None,
    record: Annotated[
        Path | None,
        typer.Option(help="A corrected record (JSON, as `show` prints it); one entry only."),
    ] = None,
    reason: Annotated[
        str | None,
        typer.Option(
            help="Retry, as they are, every open entry whose reason holds this text (any case)."
        ),
    ] = None,
    kind: Annotated[
        str | None,
        typer.Option(help="With --reason: only consignments, events, outcomes or documents."),
    ] = None,
    limit: Annotated[
        int | None, typer.Option(help="With --reason: at most this many, oldest first.")
    ] = None,
) -> None:
    """Check and store quarantined records again, as they are or as corrected, or every open
    entry of one cause (--reason) once the cause is fixed."""
    from quaywatch.config import read_intake_options
    from quaywatch.services.intake import retry_quarantine, retry_quarantine_matching

    settings = get_settings(ctx)
    if reason is not None:
        if quarantine_ids or record is not None:
            raise InputError("give entry ids (and --record) or --reason, not both")
        result = retry_quarantine_matching(
            open_store(ctx), reason, kind=kind, limit=limit, actor=settings.actor,
            options=read_intake_options(settings),
        )  # fmt: skip
        stored = len(result.outcomes) - result.failed
        console.print(f"{len(result.outcomes):,} open entries matched: {stored:,} stored, "
                      f"{result.failed:,} still invalid")  # fmt: skip
        _still_invalid(result.outcomes)
        if result.failed:
            raise typer.Exit(1)
        return
    if not quarantine_ids:
        raise InputError("name the entries to retry, or retry one cause with --reason TEXT")
    if kind is not None or limit is not None:
        raise InputError("--kind and --limit go with --reason")
    try:
        text = record.read_text("utf-8") if record else None
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"cannot read the corrected record: {exc}", source=str(record)) from None
    result = retry_quarantine(
        open_store(ctx), quarantine_ids, record_text=text, actor=settings.actor,
        options=read_intake_options(settings),
    )  # fmt: skip
    for outcome in result.outcomes:
        qid = outcome.quarantine_id
        if outcome.stored:
            console.print(f"quarantine {qid}: stored, entry resolved")
        else:
            console.print(
                f"quarantine {qid}: still invalid: {outcome.reason}", markup=False, highlight=False
            )
    if result.failed:
        raise typer.Exit(1)


#: Entries still invalid that a retry by reason names one by one.
_SHOWN_STILL_INVALID = 10


def _still_invalid(outcomes: Sequence[RetryOutcome]) -> None:
    failed = [o for o in outcomes if not o.stored]
    for outcome in failed[:_SHOWN_STILL_INVALID]:
        console.print(
            f"  quarantine {outcome.quarantine_id}: still invalid: {outcome.reason}",
            markup=False, highlight=False,
        )  # fmt: skip
    if len(failed) > _SHOWN_STILL_INVALID:
        console.print(
            f"  ... {len(failed) - _SHOWN_STILL_INVALID:,} more: quaywatch quarantine list",
            markup=False, highlight=False,
        )  # fmt: skip
