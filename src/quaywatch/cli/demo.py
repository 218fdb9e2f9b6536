"""``quaywatch demo`` (the engine, end to end) and ``quaywatch generate`` (synthetic traffic).

Thin adapters over ``services.demo``: they call one service and print its result.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.table import Table

from quaywatch.cli.context import console, get_settings, label, open_store, shown

if TYPE_CHECKING:
    from quaywatch.services.demo import DemoResult


def demo(
    ctx: typer.Context,
    count: Annotated[int, typer.Option(help="Consignments lodged each day.")] = 2_000,
    seed: Annotated[int, typer.Option(help="Random seed; the same seed gives the same days.")] = 7,
    out: Annotated[
        Path | None, typer.Option(help="Keep the generated files and models here.")
    ] = None,
    serve_after: Annotated[
        bool,
        typer.Option(
            "--serve",
            help="Then serve the demo's store and model on this machine (Ctrl-C stops).",
        ),
    ] = False,
    port: Annotated[int, typer.Option(min=1, max=65535, help="Port to serve on.")] = 8000,
) -> None:
    """Show what quaywatch does on six generated days at Antwerp-Bruges, in about a minute.

    Generates the days (with a 1 % noisy feed, container events and the results of the legacy
    controls), imports them, trains the models on the legacy controls of the first five days,
    activates the starter risk profiles, assesses the last day, selects controls within
    capacity, and measures the assessments against the day's ground truth, which only the
    evaluation reads.
    """
    from quaywatch.services.demo import run_demo

    settings = get_settings(ctx)
    result = run_demo(
        open_store(ctx), out=out, count=count, seed=seed,
        capacity_pct=settings.control_capacity_pct, actor=settings.actor,
    )  # fmt: skip
    print_demo(result)
    if serve_after:
        from quaywatch.cli.serve import serve

        # The service assesses with the model the demo trained (its workers read the setting
        # from the environment, as `serve` hands them the store's).
        os.environ["QUAYWATCH_MODEL_DIR"] = str(result.model_folder.parent)
        console.print(
            f"Open http://127.0.0.1:{port} and log in as {result.account.username} with the "
            "password above; Ctrl-C stops the service.",
            markup=False, highlight=False,
        )  # fmt: skip
        serve(ctx, port=port)


def print_demo(result: DemoResult) -> None:
    """The demo's story: imports, model, worklist, audit, detection figures."""
    from quaywatch.learning import report as evaluation_report

    console.print(
        f"Generated {result.days} days: {result.consignments:,} consignments, "
        f"{result.events:,} container events and {result.legacy_controls:,} legacy control "
        f"results in {result.out}",
        markup=False,
        highlight=False,
    )
    imports = Table(title="Import")
    for column in ("kind", "files", "read", "new", "unchanged", "quarantined"):
        imports.add_column(column, justify="left" if column == "kind" else "right")
    for t in result.import_totals:
        imports.add_row(t.kind, f"{t.files:,}", f"{t.read:,}", f"{t.new:,}", f"{t.unchanged:,}",
                        f"{t.quarantined:,}")  # fmt: skip
    console.print(imports)
    rejected = [(s.source, r) for s in result.imports for r in s.rejected][:5]
    for source, r in rejected:
        where = ", ".join(x for x in (Path(source).name, r.location, r.record_id, r.field) if x)
        console.print(f"  quarantined {where}: {r.reason}", markup=False, highlight=False)
    if rejected:
        console.print("  ... every quarantined record: quaywatch quarantine list")
    m = result.model_metrics
    console.print(
        f"Trained {result.model_version} on {m['labelled']:,} controlled consignments "
        f"({m['hits']:,} hits) lodged before {result.assessed_day}; held out {m['held_out']:,}: "
        f"AUC {m['held_out_auc']:.3f}. Saved in {result.model_folder}.",
        markup=False,
        highlight=False,
    )
    console.print(
        f"Active risk profiles: {', '.join(result.profiles)}", markup=False, highlight=False
    )
    c = result.selection_counts
    console.print(
        f"Assessed {result.assessed:,} consignments lodged on {result.assessed_day}; selected "
        f"{c['selected']:,} controls ({c['by_rule']:,} by rule, {c['by_random']:,} random, "
        f"{c['by_model']:,} by the model) within the capacity file sized to this traffic.",
        markup=False,
        highlight=False,
    )
    table = Table(
        title=f"Worklist: the {len(result.worklist)} selected controls with the highest scores"
    )
    for column in ("consignment", "score", "revenue at stake", "lane", "control", "selected by",
                   "reasons"):  # fmt: skip
        table.add_column(
            column, justify="right" if column in ("score", "revenue at stake") else "left"
        )
    for row in result.worklist:
        table.add_row(
            shown(f"{row.consignment_id} v{row.version}"),
            "-" if row.score is None else f"{row.score:.1f}",
            "-" if row.revenue_at_stake_eur is None else f"€{row.revenue_at_stake_eur:,.0f}",
            shown(row.lane), shown(row.control_type or "-"), shown(row.selected_by),
            shown("; ".join(r.text for r in row.reasons)),
        )  # fmt: skip
    console.print(table)
    a = result.audit
    console.print(
        f"Audit trail verified: {a.events} events, head {a.head_seq}:{a.head_hash}",
        markup=False,
        highlight=False,
    )
    console.print(evaluation_report.render_table(result.evaluation))
    console.print(
        "model is the fraud model alone; combined adds the starter profiles, anomalies, "
        "screening and the party graph. The ground truth is what a customs administration "
        "never sees; quaywatch reads it only to measure detection. Next: quaywatch evaluate "
        f"--truth {result.truth} --split {result.assessed_day} --model {result.model_folder}",
        markup=False,
        highlight=False,
    )
    account = result.account
    console.print(
        f"Demo login: username {account.username}, password {account.password}",
        markup=False,
        highlight=False,
    )
    console.print(
        shown(
            "WARNING: the demo account's password is published: never run the demo on a store "
            "people rely on; disable it there with: quaywatch users disable demo",
            style="bold yellow",
        )
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
    from quaywatch.services.demo import generate_traffic

    result = generate_traffic(
        out, days=days, per_day=per_day, seed=seed, start=start, port_of_discharge=port,
        noise=noise, watchlist_share=watchlist_share,
    )  # fmt: skip
    table = Table(title=shown(f"Generated traffic in {out}"))
    table.add_column("pattern")
    table.add_column("consignments", justify="right")
    table.add_column("share", justify="right")
    for name, count in result.counts.items():
        table.add_row(name, f"{count:,}", f"{count / result.consignments:.2%}")
    table.add_row(label("total", "bold"), f"{result.consignments:,}", "100.00%")
    console.print(table)
    console.print(
        f"{result.goods_items:,} goods items in {len(result.consignment_files)} consignment files, "
        f"{result.events:,} container events; ground truth in {result.truth}",
        markup=False,
        highlight=False,
    )
