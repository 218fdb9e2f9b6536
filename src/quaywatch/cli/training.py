"""The training options ``quaywatch train`` and ``quaywatch retrain`` share, and how both print
what a training learnt from and the warnings that come with it.

One definition of each option, so that the two commands cannot drift apart: the weighting and
its default (``learning.options.DEFAULT_WEIGHTING``, inverse propensity; ``--weighting none``
for comparison), the clipping of the weights, and the override of the minimum of hits (the
setting ``QUAYWATCH_TRAIN_MIN_HITS``). See ``docs/learning-loop.md``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Annotated, Any

import typer

from quaywatch.cli.context import console, label
from quaywatch.learning.options import DEFAULT_WEIGHTING, MAX_WEIGHT, Weighting

WeightingOption = Annotated[
    Weighting,
    typer.Option(
        help="ipw: inverse-propensity weights, so that the figures and probabilities refer to "
        "the whole traffic; none: the controlled consignments as they are."
    ),
]
MaxWeightOption = Annotated[
    float, typer.Option(min=1.0, help="Largest inverse-propensity weight (clipping).")
]
AllowFewHitsOption = Annotated[
    bool,
    typer.Option(
        "--allow-few-hits",
        help="Train even below QUAYWATCH_TRAIN_MIN_HITS hits (the model carries a warning).",
    ),
]
#: The defaults, named once for both commands' signatures.
WEIGHTING, MAX = DEFAULT_WEIGHTING, MAX_WEIGHT


def _share(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.1%}"


def figures_line(m: Mapping[str, Any]) -> str:
    """What a model learnt from and how it did on the held-out fifth, from its metrics."""
    weighted = "weighted " if m["weighting"] == Weighting.IPW else ""
    auc = m["held_out_auc"]
    return (
        f"{m['labelled']:,} controlled consignments ({m['hits']:,} hits, "
        f"{m['labelled'] - m['hits']:,} without); held out {m['held_out']:,} "
        f"({m['held_out_hits']:,} hits): {weighted}AUC {'n/a' if auc is None else f'{auc:.3f}'}, "
        f"{weighted}precision at {m['capacity_pct']:g} % capacity "
        f"{_share(m['held_out_precision_at_capacity'])}; weighting {m['weighting']}"
        + (f", effective size {m['effective_size']:,}" if "effective_size" in m else "")
    )


def print_warnings(warnings: Iterable[str]) -> None:
    """Each warning of a training, in yellow, so that none goes unseen."""
    for warning in warnings:
        console.print(label("warning:", "bold yellow"), warning, highlight=False)
