"""``quaywatch demo`` (a port day, end to end) and ``quaywatch generate`` (synthetic traffic)."""

from __future__ import annotations

import tempfile
from datetime import date
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from quaywatch.cli.context import console, get_settings, open_store
from quaywatch.cli.intake import ingest_paths, print_store, print_summaries
from quaywatch.errors import ConfigurationError


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
    from quaywatch.audit import chain
    from quaywatch.learning import report as evaluation_report
    from quaywatch.learning.dataset import consignments_with_truth, load_truth
    from quaywatch.learning.evaluate import evaluate
    from quaywatch.synth import traffic

    settings = get_settings(ctx)
    store = open_store(ctx)
    directory = out or Path(tempfile.mkdtemp(prefix="quaywatch-demo-"))
    day = traffic.generate(directory, days=1, per_day=count, seed=seed, noise=0.01)
    console.print(
        f"Generated {day.consignments:,} consignments and {day.events:,} container events "
        f"in {directory}",
        highlight=False,
    )
    files = [*day.consignment_files, *day.event_files, *day.outcome_files]
    print_summaries(ingest_paths(store, settings, files, None))
    print_store(store)
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
    from quaywatch.synth import traffic

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
