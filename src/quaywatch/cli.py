"""The ``quaywatch`` command line. Errors a user can cause are printed here, in one place."""

from __future__ import annotations

import json
import tempfile
from datetime import date, datetime
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.progress import (
    BarColumn,
    DownloadColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeRemainingColumn,
)
from rich.table import Table
from typer.core import TyperGroup

from quaywatch import (
    cli_anomaly,
    cli_control,
    cli_learning,
    cli_profiles,
    cli_risk,
    cli_screening,
    cli_select,
    cli_simulate,
)
from quaywatch.audit import chain
from quaywatch.cli_common import DATE_FORMATS, utc
from quaywatch.config import Settings, load_settings
from quaywatch.errors import ConfigurationError, InputError, QuaywatchError
from quaywatch.intake import quarantine
from quaywatch.intake.pipeline import ImportSummary, ingest_file
from quaywatch.intake.records import RecordKind
from quaywatch.learning import report as evaluation_report
from quaywatch.learning.dataset import consignments_with_truth, load_truth
from quaywatch.learning.evaluate import ScoreColumn, evaluate, time_split
from quaywatch.store import database
from quaywatch.store.store import Store
from quaywatch.synth import traffic

console = Console()
errors = Console(stderr=True)


class _Group(TyperGroup):
    """Turns quaywatch errors into a message and an exit code, never a traceback."""

    def invoke(self, ctx: Any) -> Any:
        try:
            return super().invoke(ctx)
        except QuaywatchError as exc:
            errors.print(f"[bold red]error:[/] {exc.message}", highlight=False, soft_wrap=True)
            raise typer.Exit(exc.exit_code) from None


app = typer.Typer(cls=_Group, no_args_is_help=True, help=__doc__, pretty_exceptions_enable=False)
quarantine_app = typer.Typer(
    cls=_Group, no_args_is_help=True, help="Records intake could not store."
)
audit_app = typer.Typer(cls=_Group, no_args_is_help=True, help="The tamper-evident audit trail.")
db_app = typer.Typer(cls=_Group, no_args_is_help=True, help="Database schema.")
app.add_typer(quarantine_app, name="quarantine")
app.add_typer(audit_app, name="audit")
app.add_typer(db_app, name="db")


@app.callback()
def _root(
    ctx: typer.Context,
    database_url: Annotated[
        str | None, typer.Option("--database", help="Store URL (default: QUAYWATCH_DATABASE_URL).")
    ] = None,
) -> None:
    """quaywatch: customs risk management for container ports."""
    settings = load_settings()
    if database_url:
        settings = settings.model_copy(update={"database_url": database_url})
    ctx.obj = settings


def _settings(ctx: typer.Context) -> Settings:
    settings = ctx.find_root().obj
    assert isinstance(settings, Settings)
    return settings


def _store(ctx: typer.Context) -> Store:
    settings = _settings(ctx)
    store = Store.open(settings.database_url, migrate=settings.auto_migrate)
    ctx.call_on_close(store.close)
    return store


def _ingest(
    store: Store, settings: Settings, paths: list[Path], kind: RecordKind | None
) -> list[ImportSummary]:
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


def _print_summaries(summaries: list[ImportSummary]) -> None:
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


def _print_store(store: Store) -> None:
    table = Table(title="Store")
    table.add_column("table")
    table.add_column("rows", justify="right")
    for name, count in store.counts().items():
        table.add_row(name, str(count))
    console.print(table)


@app.command()
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
    settings = _settings(ctx)
    store = _store(ctx)
    _print_summaries(_ingest(store, settings, paths, kind))


@app.command()
def demo(
    ctx: typer.Context,
    count: Annotated[int, typer.Option(help="Consignments in the port day.")] = 2_000,
    seed: Annotated[int, typer.Option(help="Random seed; the same seed gives the same day.")] = 7,
    out: Annotated[Path | None, typer.Option(help="Keep the generated files here.")] = None,
) -> None:
    """Generate a port day at Antwerp-Bruges, import it, show what was stored and what it hid.

    The day comes from the synthetic traffic generator with a 1 % noisy feed (so the quarantine
    has work), its container events, the results of the legacy controls made on it, and fraud
    patterns whose ground truth only the evaluation reads.
    """
    settings = _settings(ctx)
    store = _store(ctx)
    directory = out or Path(tempfile.mkdtemp(prefix="quaywatch-demo-"))
    day = traffic.generate(directory, days=1, per_day=count, seed=seed, noise=0.01)
    console.print(
        f"Generated {day.consignments:,} consignments and {day.events:,} container events "
        f"in {directory}",
        highlight=False,
    )
    files = [*day.consignment_files, *day.event_files, *day.outcome_files]
    _print_summaries(_ingest(store, settings, files, None))
    _print_store(store)
    with store.reading() as conn:
        result = chain.verify(conn)
    console.print(
        f"Audit trail verified: {result.events} events, head {result.head_seq}:{result.head_hash}"
    )
    stored = consignments_with_truth(store, load_truth(day.truth))
    report = evaluate(stored, [], capacity_pct=settings.control_capacity_pct)
    console.print(evaluation_report.render_table(report))
    console.print(
        "The ground truth above is what a customs administration never sees; quaywatch uses it "
        "only to measure detection. Next: quaywatch evaluate --truth "
        f"{day.truth} --split {day.consignment_files[0].stem}",
        highlight=False,
    )


@app.command("evaluate")
def evaluate_command(
    ctx: typer.Context,
    truth: Annotated[
        Path, typer.Option(help="Ground-truth Parquet file written by the traffic generator.")
    ],
    split: Annotated[
        datetime,
        typer.Option(
            help="Evaluate consignments lodged at or after this moment (UTC unless it says).",
            formats=DATE_FORMATS,
        ),
    ],
    capacity_pct: Annotated[
        float | None,
        typer.Option(
            help="Share of consignments controlled, in percent (default: setting "
            "QUAYWATCH_CONTROL_CAPACITY_PCT, 3.0)."
        ),
    ] = None,  # fmt: skip
    report: Annotated[Path | None, typer.Option(help="Also write the report as JSON here.")] = None,
    html: Annotated[
        Path | None, typer.Option(help="Also write the report as a self-contained HTML page.")
    ] = None,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print the report as JSON instead of a table.")
    ] = False,
    model: Annotated[
        Path | None,
        typer.Option(help="Also evaluate this trained model (a model or models folder)."),
    ] = None,
) -> None:
    """Measure detection against ground truth on the stored consignments lodged since --split.

    Shows the references every scorer is compared with: random selection (the floor) and a
    perfect oracle (the ceiling), at 1, 2, 5, 10 % and at the control capacity; with --model,
    the model's assessments too, using only the control outcomes known before --split.
    """
    settings = _settings(ctx)
    capacity = settings.control_capacity_pct if capacity_pct is None else capacity_pct
    if not 0 < capacity <= 100:
        raise ConfigurationError(f"--capacity-pct must be above 0 and at most 100, got {capacity}")
    split_at = utc(split)
    known = load_truth(truth)
    stored = consignments_with_truth(_store(ctx), known)
    _, test = time_split(stored, split_at)
    if test.is_empty():
        raise InputError(
            f"no stored consignment was lodged at or after {split_at.isoformat()} "
            f"({stored.height} stored in all)"
        )
    scorers = []
    if model is not None:
        test = test.join(
            cli_risk.model_scores(_store(ctx), model, split_at),
            on=["consignment_id", "version"],
            how="left",
        )
        scorers.append(ScoreColumn("model", calibrated=True))
        if test.get_column("rules").fill_null(0.0).abs().max() or 0.0 > 0:
            # Profiles, anomalies, screening or the graph found something: show them apart
            # and combined with the model, side by side.
            scorers += [ScoreColumn("rules"), ScoreColumn("combined", calibrated=True)]
        else:
            test = test.drop("rules", "combined")
    result = evaluate(test, scorers, capacity_pct=capacity)
    if as_json:
        typer.echo(evaluation_report.to_json(result))
    else:
        console.print(evaluation_report.render_table(result))
    written = errors if as_json else console
    if report:
        evaluation_report.write_json(result, report)
        written.print(f"report written to {report}", highlight=False)
    if html:
        evaluation_report.write_html(result, html)
        written.print(f"HTML report written to {html}", highlight=False)


@app.command()
def generate(
    out: Annotated[Path, typer.Option(help="Folder to write the traffic into.")],
    days: Annotated[int, typer.Option(help="Days of lodged consignments.")] = 30,
    per_day: Annotated[int, typer.Option(help="Consignments lodged per day.")] = 20_000,
    seed: Annotated[int, typer.Option(help="Random seed; the same seed gives the same files.")] = 7,
    start: Annotated[str, typer.Option(help="First day, YYYY-MM-DD.")] = "2026-10-01",
    port: Annotated[str, typer.Option(help="Port of discharge (UN/LOCODE).")] = "BEANR",
    noise: Annotated[
        float, typer.Option(help="Share of consignments with an invalid identifier.")
    ] = 0.0,
    watchlist_share: Annotated[
        float, typer.Option(help="Share of known offenders on watchlists/offenders.csv.")
    ] = 0.4,
) -> None:
    """Generate synthetic port traffic with injected fraud patterns and its ground truth."""
    try:
        first_day = date.fromisoformat(start)
    except ValueError:
        raise ConfigurationError(f"--start {start!r} is not a date (YYYY-MM-DD)") from None
    result = traffic.generate(
        out, days=days, per_day=per_day, seed=seed, start=first_day, port_of_discharge=port,
        noise=noise, watchlist_share=watchlist_share,
    )  # fmt: skip
    table = Table(title=f"Generated traffic in {out}")
    table.add_column("pattern")
    table.add_column("consignments", justify="right")
    table.add_column("share", justify="right")
    for name, count in result.counts.items():
        table.add_row(name, f"{count:,}", f"{count / result.consignments:.2%}")
    table.add_row("[bold]total[/]", f"{result.consignments:,}", "100.00%")
    console.print(table)
    console.print(
        f"{result.goods_items:,} goods items in {len(result.consignment_files)} consignment files, "
        f"{result.events:,} container events; ground truth in {result.truth}",
        highlight=False,
    )


@quarantine_app.command("list")
def quarantine_list(
    ctx: typer.Context,
    status: Annotated[str, typer.Option(help="open, resolved or all.")] = "open",
    limit: Annotated[int, typer.Option(help="At most this many, newest first.")] = 50,
) -> None:
    """Quarantined records with their reasons."""
    rows = quarantine.list_entries(
        _store(ctx), status=None if status == "all" else status, limit=limit
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
    r = quarantine.get_entry(_store(ctx), quarantine_id)
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
    if record is not None and len(quarantine_ids) != 1:
        raise ConfigurationError("--record corrects exactly one quarantine entry")
    settings = _settings(ctx)
    store = _store(ctx)
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


@audit_app.command("verify")
def audit_verify(
    ctx: typer.Context,
    anchor: Annotated[
        str | None, typer.Option(help="SEQ:HASH printed by an earlier verify.")
    ] = None,
) -> None:
    """Check the whole audit chain; exit code 4 if anything was edited, inserted or deleted."""
    expected = None
    if anchor:
        seq, _, digest = anchor.partition(":")
        if not seq.isdigit() or len(digest) != 64:
            raise ConfigurationError("--anchor is SEQ:HASH as printed by `quaywatch audit verify`")
        expected = (int(seq), digest)
    with _store(ctx).reading() as conn:
        result = chain.verify(conn, anchor=expected)
    console.print(
        f"audit trail intact: {result.events} events; head {result.head_seq}:{result.head_hash}"
    )


@audit_app.command("log")
def audit_log(ctx: typer.Context, limit: Annotated[int, typer.Option()] = 20) -> None:
    """The newest audit events."""
    with _store(ctx).reading() as conn:
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
    store = Store.open(_settings(ctx).database_url, migrate=False)
    ctx.call_on_close(store.close)
    store.upgrade()
    console.print(f"database at revision {database.current_revision(store.engine)}")


@db_app.command("status")
def db_status(ctx: typer.Context) -> None:
    """Show the schema revision of the database and of this quaywatch."""
    store = Store.open(_settings(ctx).database_url, migrate=False)
    ctx.call_on_close(store.close)
    console.print(
        f"database: {database.current_revision(store.engine)}; quaywatch: {database.head_revision()}"
    )


benchmark_app = typer.Typer(cls=_Group, no_args_is_help=True, help="Public benchmarks.")
app.add_typer(benchmark_app, name="benchmark")


@benchmark_app.command("kcs")
def benchmark_kcs(
    data: Annotated[Path, typer.Option(help="Folder with the three KCS CSV files.")],
    output: Annotated[Path, typer.Option(help="Write the report here as JSON.")],
    sample: Annotated[
        int | None, typer.Option(min=100, help="Use this many random rows of each split.")
    ] = None,
) -> None:
    """Train on the KCS train split, stop early on valid, report on test (AUC, precision@n)."""
    from quaywatch.risk import kcs_run  # lightgbm loads only for this command

    report = kcs_run.run(data, sample=sample)
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(json.dumps(report, indent=2), encoding="utf-8")
    console.print(kcs_run.table(report))
    console.print(f"report written to {output} ({report['seconds']} s)", highlight=False)


app.command()(cli_risk.train)
app.command()(cli_risk.score)
app.command()(cli_anomaly.anomalies)
app.command()(cli_screening.screen)
app.command()(cli_select.select)
app.command()(cli_simulate.simulate)
app.command()(cli_learning.retrain)
app.command()(cli_learning.drift)
app.add_typer(cli_profiles.app, name="profiles")
app.add_typer(cli_screening.watchlists_app, name="watchlists")
app.add_typer(cli_control.app, name="control")
app.command()(cli_control.kpis)


def main() -> None:
    """Console entry point."""
    app()
