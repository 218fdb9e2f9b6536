"""CLI commands of the risk engine: ``quaywatch train``, ``quaywatch score`` and
``quaywatch model compile``.

Kept apart from ``app.py`` so that each file stays readable; ``app.py`` registers them. Each
reads its options, calls one service of ``quaywatch.services.risk`` and prints its result; the
service (and LightGBM) is loaded only when the command runs.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.table import Table

from quaywatch.cli.context import (
    DATE_FORMATS,
    console,
    get_settings,
    label,
    open_store,
    shown,
    sub_app,
)
from quaywatch.cli.training import (
    MAX,
    WEIGHTING,
    AllowFewHitsOption,
    MaxWeightOption,
    WeightingOption,
    figures_line,
    print_warnings,
)

if TYPE_CHECKING:
    from quaywatch.risk.combine import Saturated

model_app = sub_app("Trained models.")


def _saturation(s: Saturated, weight_set: int | None, pct: float) -> str:
    """The warning for a code firing on more than ``pct`` % of the consignments."""
    if s.damped and s.window_share is not None:
        return (f"{s.code} fires on {s.window_share:.0%} of the consignments of hit weight set "
                f"{weight_set}'s fit window, more than {pct:g} %: its weight was damped "
                f"×{s.factor:.2f}; narrow it or retire it (docs/risk-engine.md).")  # fmt: skip
    share = f"{s.batch_share or 0.0:.0%} of the consignments scored, more than {pct:g} %"
    if weight_set is None:
        return (f"{s.code} fires on {share}; its weight was not damped (no fitted weight set: "
                "a share of one batch does not damp): run quaywatch weights fit to measure its "
                "share over a window and damp it, or narrow or retire it (docs/risk-engine.md).")  # fmt: skip
    seen = "" if s.window_share is None else f" (it saw {s.window_share:.0%})"
    return (f"{s.code} fires on {share}, not in hit weight set {weight_set}'s fit window{seen}: "
            "its weight was not damped; if the traffic changed, fit the weights again (quaywatch "
            "weights fit), or narrow or retire it (docs/risk-engine.md).")  # fmt: skip


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
    weighting: WeightingOption = WEIGHTING,
    max_weight: MaxWeightOption = MAX,
    allow_few_hits: AllowFewHitsOption = False,
) -> None:
    """Train the fraud and revenue models on the controlled consignments and their outcomes.

    Refused below QUAYWATCH_TRAIN_MIN_HITS hits (50), with what to do instead, unless
    --allow-few-hits; prints the hits, the held-out AUC and precision, and any warning.
    """
    from quaywatch.services.risk import train_models

    settings = get_settings(ctx)
    result = train_models(
        open_store(ctx), until=until, model_dir=models or settings.model_dir,
        capacity_pct=settings.control_capacity_pct, actor=settings.actor, weighting=weighting,
        max_weight=max_weight, min_hits=settings.train_min_hits, allow_few_hits=allow_few_hits,
    )  # fmt: skip
    console.print(
        f"Trained {result.version} on {figures_line(result.metrics)}. Training lodged "
        f"{result.window_start:%Y-%m-%d} to {result.window_end:%Y-%m-%d}. Saved in "
        f"{result.folder} (now current).",
        markup=False, highlight=False,
    )  # fmt: skip
    print_warnings(result.warnings)


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
    from quaywatch.services.risk import score_period

    settings = get_settings(ctx)
    result = score_period(
        open_store(ctx), model_path=model_path or settings.model_dir, at=at, since=since,
        rescore=rescore, explain_all=explain_all, top=top, actor=settings.actor,
        saturation_pct=settings.hit_saturation_pct, key_dir=settings.key_dir,
    )  # fmt: skip
    weights = "shipped hit weights" if result.weight_set is None else (
        f"hit weight set {result.weight_set}")  # fmt: skip
    console.print(
        f"Scoring run {result.run_id}: {result.assessed:,} consignments assessed with "
        f"{result.model_version} and {weights}, {result.explained:,} at or above the review "
        f"probability {result.review_probability:.3f} explained.",
        markup=False, highlight=False,
    )  # fmt: skip
    for s in result.saturated:
        console.print(
            label("warning:", "yellow"),
            _saturation(s, result.weight_set, settings.hit_saturation_pct),
            highlight=False,
        )
    if not result.assessed or result.share_above_review is None:
        return
    table = Table(title=f"Highest {top} scores")
    for column in ("consignment", "score", "revenue at stake", "reasons"):
        table.add_column(
            column, justify="right" if column in ("score", "revenue at stake") else "left"
        )
    for row in result.top:
        table.add_row(
            shown(f"{row.consignment_id} v{row.version}"), f"{row.score:.1f}",
            f"€{row.revenue_at_stake_eur:,.0f}", shown("; ".join(row.reasons)),
        )  # fmt: skip
    console.print(table)
    console.print(
        f"Share above the review probability: {result.share_above_review:.1%}", highlight=False
    )


@model_app.command("compile")
def model_compile(
    ctx: typer.Context,
    path: Annotated[
        Path | None,
        typer.Argument(
            help="Model folder, or models folder (its current model); default QUAYWATCH_MODEL_DIR."
        ),
    ] = None,
) -> None:
    """Compile a model for large batches on this machine (a model folder copied from another).

    quaywatch train and a promotion compile the model they make; scoring never compiles.
    Exit code 1 when the model could not be compiled here (LightGBM then predicts).
    """
    from quaywatch.services.risk import compile_models

    result = compile_models(path or get_settings(ctx).model_dir)
    if result.compiled:
        console.print(
            f"Compiled {result.version} for large batches on this machine in "
            f"{result.seconds:.1f} s; kept in {result.folder}.",
            markup=False, highlight=False,
        )  # fmt: skip
        return
    why = (
        "the compiled models differ from LightGBM or the compiler failed"
        if result.compiler_installed
        else "lleaves is not installed (pip install 'quaywatch[compiled]')"
    )
    console.print(
        f"{result.version} is not compiled here: {why}; LightGBM predicts every batch.",
        markup=False, highlight=False,
    )  # fmt: skip
    raise typer.Exit(1)
