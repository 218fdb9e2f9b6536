"""CLI commands of the risk engine: ``quaywatch train`` and ``quaywatch score``.

Kept apart from ``app.py`` so that each file stays readable; ``app.py`` registers them. Both
load LightGBM only when run.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from quaywatch.cli.context import DATE_FORMATS, console, get_settings, open_store, utc


def train(
    ctx: typer.Context,
    until: Annotated[
        datetime | None,
        typer.Option(
            help="Learn from outcomes known before this moment (UTC unless it says; default now).",
            formats=DATE_FORMATS,
        ),
    ] = None,
    models: Annotated[
        Path | None, typer.Option(help="Models folder (default: QUAYWATCH_MODEL_DIR).")
    ] = None,
) -> None:
    """Train the fraud and revenue models on the controlled consignments and their outcomes."""
    from quaywatch.audit import chain
    from quaywatch.learning import train as training
    from quaywatch.store import reads

    settings = get_settings(ctx)
    store = open_store(ctx)
    moment = utc(until) if until else datetime.now(UTC)
    items = reads.goods_item_rows(store, lodged_before=moment)
    outcomes = reads.control_outcomes(store, known_before=moment)
    model = training.fit(items, outcomes, until=moment, capacity_pct=settings.control_capacity_pct)
    folder = model.save(models or settings.model_dir)
    model.compile()  # for large scoring runs; kept in the model's folder
    m = model.metrics
    console.print(
        f"Trained {model.version} on {m['labelled']:,} controlled consignments ({m['hits']:,} "
        f"hits) lodged {m['training_window'][0][:10]} to {m['training_window'][1][:10]}; "
        f"held out {m['held_out']:,}: AUC {m['held_out_auc']:.3f}, precision at capacity "
        f"{m['held_out_precision_at_capacity']:.1%}. Saved in {folder} (now current).",
        highlight=False,
    )
    with store.transaction() as conn:
        chain.append(
            conn, actor=settings.actor, action="train", object_type="model",
            object_id=model.version, details={"until": moment.isoformat(), **m},
        )  # fmt: skip


def score(
    ctx: typer.Context,
    since: Annotated[
        datetime | None,
        typer.Option(
            help="Only consignments lodged at or after this moment.", formats=DATE_FORMATS
        ),
    ] = None,
    rescore: Annotated[
        bool, typer.Option(help="Assess again what the current model already assessed.")
    ] = False,
    explain_all: Annotated[
        bool, typer.Option("--explain-all", help="Reasons for every assessment, not only review.")
    ] = False,
    model_path: Annotated[
        Path | None, typer.Option("--model", help="Model or models folder (default: current).")
    ] = None,
    top: Annotated[int, typer.Option(help="Highest scores to show with their reasons.")] = 10,
    at: Annotated[
        datetime | None,
        typer.Option(
            help="Assess as of this moment: outcomes, events and lists known then (default now).",
            formats=DATE_FORMATS,
        ),
    ] = None,
) -> None:
    """Assess stored consignments with the current model; store score, revenue and reasons."""
    from quaywatch.risk import engine, explain
    from quaywatch.risk.bundle import RiskModel

    settings = get_settings(ctx)
    store = open_store(ctx)
    model = RiskModel.load(model_path or settings.model_dir)
    run = engine.score_store(
        store, model, now=utc(at) if at else datetime.now(UTC),
        since=utc(since) if since else None,
        rescore=rescore, actor=settings.actor,
        explain_rows=engine.Explain.ALL if explain_all else engine.Explain.AUTO,
    )  # fmt: skip
    console.print(
        f"Scoring run {run.run_id}: {run.assessed:,} consignments assessed with {model.version}, "
        f"{run.explained:,} at or above the review probability {model.review_probability:.3f} "
        "explained.",
        highlight=False,
    )
    if not run.assessed:
        return
    table = Table(title=f"Highest {top} scores")
    for column in ("consignment", "score", "revenue at stake", "reasons"):
        table.add_column(
            column, justify="right" if column in ("score", "revenue at stake") else "left"
        )
    for row in run.assessments.sort("score", descending=True).head(top).iter_rows(named=True):
        reasons = "; ".join(r.text for r in explain.from_json(row["reasons"])[:3])
        table.add_row(
            f"{row['consignment_id']} v{row['version']}", f"{row['score']:.1f}",
            f"€{row['revenue_at_stake_eur']:,.0f}", reasons,
        )  # fmt: skip
    console.print(table)
    import polars as pl

    share = run.assessments.select((pl.col("probability") >= model.review_probability).mean())
    console.print(f"Share above the review probability: {share.item():.1%}", highlight=False)
