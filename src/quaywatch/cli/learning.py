"""CLI commands of the learning loop: ``quaywatch retrain``, ``quaywatch drift`` and
``quaywatch weights fit|show`` (hit weights fitted on the port's own outcomes).

Each reads its options, calls one function of ``services.learning`` or
``services.hit_weights`` and prints the result. Kept apart from ``app.py`` so that each file
stays readable; ``app.py`` registers them. See ``docs/learning-loop.md``.
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
    json_text,
    label,
    open_store,
    shown,
    sub_app,
    utc,
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
from quaywatch.learning.options import Criterion

if TYPE_CHECKING:
    from quaywatch.services.hit_weights import WeightSet

weights_app = sub_app("Hit weights fitted on the port's own outcomes (docs/learning-loop.md).")


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
        prior_strength=settings.hit_prior_strength, saturation_pct=settings.hit_saturation_pct,
        key_dir=settings.key_dir,
    )  # fmt: skip
    if as_json:
        console.print_json(json_text(result.to_dict()))
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
            label("warning:", "yellow"),
            "too few random-sample outcomes to judge the challenger; "
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
    for metric, name, spec in rows:
        old = c.champion
        new = c.challenger
        gap = getattr(c, name)
        interval = (
            "n/a"
            if gap.low is None
            else f"[{_number(gap.low, '+' + spec)}, {_number(gap.high, '+' + spec)}]"
        )
        table.add_row(
            metric, _number(getattr(old, name), spec), _number(getattr(new, name), spec),
            _number(gap.value, "+" + spec), interval,
        )  # fmt: skip
    console.print(table)
    verdict = "PROMOTED (now current)" if result.promoted else "KEPT the champion"
    console.print(f"{verdict}: {result.decision.reason}.", markup=False, highlight=False)
    if result.weights is not None:
        state = "active" if result.weights.active else "stored, not active (model kept)"
        console.print(
            f"Hit weights fitted given the challenger: set {result.weights.version} ({state}), "
            f"{len(result.weights.fit.codes)} codes; quaywatch weights show "
            f"--set {result.weights.version} lists them.",
            markup=False, highlight=False,
        )  # fmt: skip
    for note in result.notes:
        console.print(f"note: {note}", markup=False, highlight=False)


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
        console.print_json(json_text(found.to_dict()))
        return
    report = found.report
    table = Table(title="Population stability index, recent against reference")
    for column in ("feature", "kind", "PSI", "level"):
        table.add_column(column, justify="right" if column == "PSI" else "left")
    colour = {"stable": "green", "watch": "yellow", "alert": "bold red"}
    for d in report.drifts:
        table.add_row(shown(d.name), d.kind, f"{d.psi:.3f}", label(d.level, colour[d.level]))
    console.print(table)
    for note in report.notes:
        console.print(f"note: {note}", markup=False, highlight=False)
    alerts = report.alerts()
    if alerts:
        names = ", ".join(d.name for d in alerts)
        recorded = "Recorded in the audit log" if found.alert_recorded else "Not recorded"
        console.print(
            label("ALERT:", "bold red"),
            f"{len(alerts)} distributions moved (PSI > "
            f"{learning.ALERT_AT}): {names}. {recorded}; see docs/learning-loop.md.",
            highlight=False,
        )
    else:
        console.print(f"Overall: {report.level.value.upper()}", highlight=False)


def _print_set(found: WeightSet) -> None:
    fit = found.fit
    state = "active" if found.active else "not active"
    console.print(
        f"Hit weight set {found.version} ({state}), fitted {found.fitted_at:%Y-%m-%d %H:%M} by "
        f"{found.fitted_by} given model {found.model_version}, on the consignments lodged "
        f"{found.window_from:%Y-%m-%d} to {found.window_to:%Y-%m-%d}: {fit.consignments:,} "
        f"assessed, {fit.controlled:,} controlled, {fit.hits:,} hits. Prior worth "
        f"{fit.prior_strength:g} controls, weighting {fit.weighting.value}, saturation above "
        f"{fit.saturation_pct:g} %.",
        markup=False, highlight=False,
    )  # fmt: skip
    table = Table(title="Weight per hit code (log-odds added to the model's)")
    for column in ("code", "shipped", "fitted", "applied", "fired", "share", "controlled",
                   "hits", "local precision", "model expected", "saturated"):  # fmt: skip
        table.add_column(column, justify="left" if column == "code" else "right")
    for c in fit.codes:
        table.add_row(
            shown(c.code), f"{c.shipped:+.2f}", f"{c.fitted:+.2f}", f"{c.weight:+.2f}",
            f"{c.fired:,}", f"{c.share:.1%}", f"{c.controlled:,}", f"{c.hits:,}",
            _number(c.precision, ".1%"), f"{c.expected:.1%}",
            label("SATURATED", "bold red") if c.saturated else "",
        )  # fmt: skip
    console.print(table)
    for c in found.saturated:
        console.print(
            label("warning:", "yellow"),
            f"{c.code} fires on {c.share:.0%} of the consignments "
            f"(more than {fit.saturation_pct:g} %): its weight is damped from {c.fitted:+.2f} to "
            f"{c.weight:+.2f}; narrow it or retire it.",
            highlight=False,
        )
    for note in found.notes:
        console.print(f"note: {note}", markup=False, highlight=False)


@weights_app.command("fit")
def weights_fit(
    ctx: typer.Context,
    since: Annotated[
        datetime | None,
        typer.Option(
            help="First lodging time of the window (default: the model's training cut, at most "
            "90 days before --until).",
            formats=DATE_FORMATS,
        ),
    ] = None,
    until: Annotated[
        datetime | None,
        typer.Option(
            help="End of the window (exclusive); outcomes known before it (default now).",
            formats=DATE_FORMATS,
        ),
    ] = None,
    prior_strength: Annotated[
        float | None,
        typer.Option(
            help="Controls the shipped weight is worth (default: QUAYWATCH_HIT_PRIOR_STRENGTH)."
        ),
    ] = None,
    weighting: WeightingOption = WEIGHTING,
    activate: Annotated[
        bool, typer.Option(help="Make the fitted set the one scoring applies (--no-activate: not).")
    ] = True,
    models: Annotated[
        Path | None, typer.Option(help="Models folder (default: QUAYWATCH_MODEL_DIR).")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the result as JSON.")] = False,
) -> None:
    """Fit every hit code's weight on the port's own outcomes, shrunk toward its shipped one."""
    from quaywatch.services import hit_weights

    settings = get_settings(ctx)
    found = hit_weights.fit_weights(
        open_store(ctx), models=models or settings.model_dir, actor=settings.actor,
        since=utc(since) if since else None, until=utc(until) if until else None,
        prior_strength=settings.hit_prior_strength if prior_strength is None else prior_strength,
        saturation_pct=settings.hit_saturation_pct, weighting=weighting, activate=activate,
        key_dir=settings.key_dir,
    )  # fmt: skip
    if as_json:
        console.print_json(json_text(found.to_dict()))
        return
    _print_set(found)


@weights_app.command("show")
def weights_show(
    ctx: typer.Context,
    weight_set: Annotated[
        int | None, typer.Option("--set", help="This set's number (default: the active one).")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the set as JSON.")] = False,
) -> None:
    """The hit weight set scoring applies (or another one), code by code."""
    from quaywatch.services import hit_weights

    found = hit_weights.show_weights(open_store(ctx), weight_set)
    if as_json:
        console.print_json(json_text(found.to_dict()))
        return
    _print_set(found)
