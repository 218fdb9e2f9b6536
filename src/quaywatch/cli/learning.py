"""CLI commands of the learning loop: ``quaywatch retrain`` and ``quaywatch drift``.

Each reads its options, calls one function of ``services.learning`` and prints the result.
Kept apart from ``app.py`` so that each file stays readable; ``app.py`` registers them. See
``docs/learning-loop.md``.
"""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table
from rich.text import Text

from quaywatch.cli.context import DATE_FORMATS, console, get_settings, open_store, utc
from quaywatch.cli.training import (
    MAX,
    WEIGHTING,
    AllowFewHitsOption,
    MaxWeightOption,
    WeightingOption,
    figures_line,
    print_warnings,
)
from quaywatch.learning.options import Criterion


def _number(value: float | None, spec: str) -> str:
    return "n/a" if value is None else format(value, spec)


def retrain(
    ctx: typer.Context,
    until: Annotated[
        datetime | None,
        typer.Option(
            help="Train the challenger on outcomes known before this moment (default: four "
            "weeks before --to); the random sample after it judges.",
            formats=DATE_FORMATS,
        ),
    ] = None,
    to: Annotated[
        datetime | None,
        typer.Option(help="End of the evaluation window (default now).", formats=DATE_FORMATS),
    ] = None,
    weighting: WeightingOption = WEIGHTING,
    max_weight: MaxWeightOption = MAX,
    allow_few_hits: AllowFewHitsOption = False,
    criterion: Annotated[
        Criterion,
        typer.Option(
            help="auc: AUC gain significant; precision: higher at capacity, AUC no worse."
        ),
    ] = Criterion.AUC,
    promote: Annotated[
        bool, typer.Option(help="Make the challenger current when it wins (--no-promote: never).")
    ] = True,
    force: Annotated[
        bool, typer.Option(help="Make the challenger current whatever the comparison says.")
    ] = False,
    models: Annotated[
        Path | None, typer.Option(help="Models folder (default: QUAYWATCH_MODEL_DIR).")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the result as JSON.")] = False,
) -> None:
    """Train a challenger with bias correction; promote it only if it beats the current model."""
    from quaywatch.services import learning

    settings = get_settings(ctx)
    result = learning.retrain(
        open_store(ctx), models=models or settings.model_dir,
        capacity_pct=settings.control_capacity_pct, until=utc(until) if until else None,
        to=utc(to) if to else None, weighting=weighting, max_weight=max_weight,
        min_hits=settings.train_min_hits, allow_few_hits=allow_few_hits, criterion=criterion,
        promote=promote, force=force, actor=settings.actor,
    )  # fmt: skip
    if as_json:
        console.print_json(json.dumps(result.to_dict()))
        return
    c = result.comparison
    console.print(
        f"Challenger {result.challenger_version}: {figures_line(result.challenger_metrics)}. "
        f"Champion: {result.champion_version or 'none'}.",
        markup=False,
        highlight=False,
    )
    print_warnings(result.warnings)
    console.print(
        f"Random sample lodged {result.evaluated_from:%Y-%m-%d} to {result.evaluated_to:%Y-%m-%d}: "
        f"{c.sample:,} consignments, {c.hits:,} hits.",
        highlight=False,
    )
    if not c.enough:
        console.print(
            "[yellow]warning:[/] too few random-sample outcomes to judge the challenger; "
            "widen the window or raise the random control rate.",
            highlight=False,
        )
    table = Table(title=f"On the random sample (capacity {c.capacity_pct:g} %)")
    for column in ("", "champion", "challenger", "difference", "95 % interval"):
        table.add_column(column, justify="left" if not column else "right")
    rows: list[tuple[str, str, str]] = [
        ("AUC", "auc", ".3f"), ("precision at capacity", "precision_at_capacity", ".1%"),
        ("Brier (lower is better)", "brier", ".4f"),
    ]  # fmt: skip
    for label, name, spec in rows:
        old = c.champion
        new = c.challenger
        gap = getattr(c, name)
        interval = (
            "n/a"
            if gap.low is None
            else f"[{_number(gap.low, '+' + spec)}, {_number(gap.high, '+' + spec)}]"
        )
        table.add_row(
            label, _number(getattr(old, name), spec), _number(getattr(new, name), spec),
            _number(gap.value, "+" + spec), interval,
        )  # fmt: skip
    console.print(table)
    verdict = "PROMOTED (now current)" if result.promoted else "KEPT the champion"
    console.print(f"{verdict}: {result.decision.reason}.", markup=False, highlight=False)


def drift(
    ctx: typer.Context,
    reference_from: Annotated[
        datetime,
        typer.Option(help="Start of the reference window (lodging).", formats=DATE_FORMATS),
    ],
    reference_to: Annotated[
        datetime,
        typer.Option(help="End of the reference window (exclusive).", formats=DATE_FORMATS),
    ],
    from_: Annotated[
        datetime, typer.Option("--from", help="Start of the recent window.", formats=DATE_FORMATS)
    ],
    to: Annotated[
        datetime, typer.Option(help="End of the recent window (exclusive).", formats=DATE_FORMATS)
    ],
    models: Annotated[
        Path | None, typer.Option(help="Models folder (default: QUAYWATCH_MODEL_DIR).")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the report as JSON.")] = False,
    history: Annotated[
        bool,
        typer.Option(
            "--history",
            help="Also the entity track records (they grow with the calendar: expect movement).",
        ),
    ] = False,
) -> None:
    """Population stability of the model features and scores: reference against recent window."""
    from quaywatch.services import learning

    settings = get_settings(ctx)
    found = learning.drift(
        open_store(ctx), reference_from=utc(reference_from), reference_to=utc(reference_to),
        recent_from=utc(from_), recent_to=utc(to), models=models or settings.model_dir,
        track_records=history, actor=settings.actor,
    )  # fmt: skip
    if as_json:
        console.print_json(json.dumps(found.to_dict()))
        return
    report = found.report
    table = Table(title="Population stability index, recent against reference")
    for column in ("feature", "kind", "PSI", "level"):
        table.add_column(column, justify="right" if column == "PSI" else "left")
    colour = {"stable": "green", "watch": "yellow", "alert": "bold red"}
    for d in report.drifts:
        table.add_row(Text(d.name), d.kind, f"{d.psi:.3f}", f"[{colour[d.level]}]{d.level}[/]")
    console.print(table)
    for note in report.notes:
        console.print(f"note: {note}", markup=False, highlight=False)
    alerts = report.alerts()
    if alerts:
        names = escape(", ".join(d.name for d in alerts))
        recorded = "Recorded in the audit log" if found.alert_recorded else "Not recorded"
        console.print(
            f"[bold red]ALERT[/]: {len(alerts)} distributions moved (PSI > "
            f"{learning.ALERT_AT}): {names}. {recorded}; see docs/learning-loop.md.",
            highlight=False,
        )
    else:
        console.print(f"Overall: {report.level.value.upper()}", highlight=False)
