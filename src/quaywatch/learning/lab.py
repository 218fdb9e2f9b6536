"""The policy lab's set-ups, its comparison table and its report (``quaywatch simulate``).

``PRESETS`` are the control set-ups a programme manager compares most often; each is a
``simulate.Strategy``. ``summarise`` turns the weekly figures of every strategy into one row per
strategy, measured against the full truth; ``html`` writes the table and two charts (share of
illicit consignments detected, week by week, and how well each week's model ranks all traffic)
as one self-contained page.
"""

from __future__ import annotations

from collections.abc import Mapping
from html import escape

import polars as pl

from quaywatch.learning import charts
from quaywatch.learning.simulate import Scorer, Strategy
from quaywatch.learning.weights import Weighting

PRESETS: dict[str, Strategy] = {
    s.name: s
    for s in (
        Strategy("rules", scorer=Scorer.RULES),
        Strategy("model", scorer=Scorer.MODEL),
        Strategy("hybrid"),
        # What bias correction buys: the same model, retrained only on what it selected
        # itself, with neither a random sample nor weights.
        Strategy("hybrid-selected-only", random_rate=0.0, weighting=Weighting.NONE),
        Strategy("hybrid-unweighted", weighting=Weighting.NONE),
        Strategy(
            "model-selected-only", scorer=Scorer.MODEL, random_rate=0.0, weighting=Weighting.NONE
        ),
        Strategy("model-unweighted", scorer=Scorer.MODEL, weighting=Weighting.NONE),
        Strategy("hybrid-random-5", random_rate=0.05),
        Strategy("hybrid-capacity-half", capacity_scale=0.5),
        Strategy("hybrid-capacity-double", capacity_scale=2.0),
        Strategy("hybrid-no-aeo-facilitation", aeo_factor=1.0),
        Strategy("hybrid-strong-aeo-facilitation", aeo_factor=0.2),
    )
}
DEFAULT = ("rules", "model", "hybrid", "hybrid-selected-only", "hybrid-capacity-half")
#: Weeks at the end of the replay whose model AUC is averaged: the first weeks still show the
#: warm-up model.
LATE_WEEKS = 4


def _ratio(part: pl.Expr, whole: pl.Expr) -> pl.Expr:
    return pl.when(whole > 0).then(part / whole).otherwise(None)


def summarise(weekly: pl.DataFrame) -> pl.DataFrame:
    """One row per strategy (in the order first seen) from ``simulate.run`` rows of them all.

    ``detected`` is the share of all illicit consignments whose control found them,
    ``precision`` the share of controls that found something illicit, ``revenue`` the share of
    all revenue at stake recovered, ``critical`` the share of critical cases seized,
    ``aeo_burden`` the control rate of AEO consignments relative to the others (1 = no
    facilitation), ``late_auc`` the mean AUC of the last ``LATE_WEEKS`` weeks' models against
    the truth.
    """
    last = pl.col("week") > pl.col("week").max() - LATE_WEEKS
    return weekly.group_by("strategy", maintain_order=True).agg(
        pl.col("consignments").sum(),
        pl.col("controls").sum(),
        pl.col("illicit").sum(),
        pl.col("detected").sum(),
        _ratio(pl.col("detected").sum(), pl.col("illicit").sum()).alias("detected_share"),
        _ratio(pl.col("detected").sum(), pl.col("controls").sum()).alias("precision"),
        pl.col("revenue_recovered_eur").sum(),
        _ratio(pl.col("revenue_recovered_eur").sum(), pl.col("revenue_at_stake_eur").sum())
        .alias("revenue_share"),
        pl.col("critical_seized").sum(),
        _ratio(pl.col("critical_seized").sum(), pl.col("critical").sum()).alias("critical_share"),
        _ratio(pl.col("aeo_control_rate").mean(), pl.col("other_control_rate").mean())
        .alias("aeo_burden"),
        pl.col("auc").filter(last).mean().alias("late_auc"),
    )  # fmt: skip


def _series(weekly: pl.DataFrame, value: pl.Expr) -> Mapping[str, list[float | None]]:
    found: dict[str, list[float | None]] = {}
    for (name,), rows in weekly.group_by("strategy", maintain_order=True):
        found[str(name)] = rows.sort("week").select(value).to_series().to_list()
    return found


def html(weekly: pl.DataFrame, summary: pl.DataFrame, *, title: str) -> str:
    """A self-contained page: the comparison table and the weekly charts (inline SVG)."""
    header = "".join(f"<th>{escape(c)}</th>" for c in summary.columns)
    rows = "".join(
        "<tr>" + "".join(f"<td>{_cell(v)}</td>" for v in row) + "</tr>"
        for row in summary.iter_rows()
    )
    detected = _series(weekly, pl.col("detected") / pl.col("illicit"))
    auc = _series(weekly, pl.col("auc"))
    return (
        f"<!doctype html><html><head><meta charset='utf-8'><title>{escape(title)}</title>"
        "<style>body{font-family:sans-serif;margin:2em}table{border-collapse:collapse}"
        "td,th{border:1px solid #ddd;padding:4px 8px;text-align:right}</style></head><body>"
        f"<h1>{escape(title)}</h1><table><tr>{header}</tr>{rows}</table>"
        f"{charts.weekly_chart(detected, 'share of illicit consignments detected')}"
        f"{charts.weekly_chart(auc, 'AUC of the week’s model on all traffic')}"
        "</body></html>"
    )


def _cell(value: object) -> str:
    if isinstance(value, float):
        return f"{value:,.3f}" if abs(value) < 10 else f"{value:,.0f}"
    return escape(str(value))
