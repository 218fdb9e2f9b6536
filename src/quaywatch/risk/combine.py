"""Combination: one score, lane floor and referral from the model and every other risk source.

The fraud model gives a calibrated probability ``p`` from what it learnt on past controls. Risk
profiles, event anomalies, watchlist screening and the party graph report *hits*
(``risk.hits``), each with a weight on the log-odds scale: how many times more likely a hit
makes fraud, as a logarithm (0.7 ≈ twice, 2.3 ≈ ten times). The combined probability is

    logit(p_combined) = logit(p_model) + Σ weight of the consignment's hits

where each hit code counts once (its heaviest hit) and the sum is capped at ±``MAX_ADDED``
log-odds so that a pile of weak hits cannot outrank everything. A weight may be negative: a
facilitation profile (a trusted trader's regular flow) lowers the odds the same way; such hits
lower the score but are never listed as reasons (reasons say why a consignment was selected). This is the rule an analyst can
check by hand: the model's odds, multiplied by each hit's factor. It treats the sources as
independent evidence; they mostly are (the model reads declarations and track records, the
anomalies read container events, screening reads watchlists, the graph reads contact links), and
where a profile restates what the model already knows (low value per kg), its author should
give it a modest weight (docs/risk-engine.md, "How the score is made").

Besides the score, hits can demand more than a score can express:

- ``lane_floor``: the lowest lane the consignment may get (``green`` < ``yellow`` < ``orange``
  < ``red``), the strictest demanded by any hit;
- ``referral``: a pre-loading referral, the strongest demanded (``RFI`` < ``RFS`` < ``DNL``);
- ``critical``: a threat to security or health (drugs, weapons, protected species) rather than
  revenue, which selection weighs above money: any hit demanding ``orange`` or ``red`` or a
  ``DNL``.

Selection honours lane floors and referrals before it optimises (docs/selection.md).

Fitted weights and saturation (``reweigh``, applied by ``risk.engine`` before ``combine``):

- a fitted weight set (``HitWeights``, from ``quaywatch weights fit``, ``learning.hit_weights``)
  moves every hit of a code it knows by ``fitted − shipped``: a code whose hits carry one
  weight gets exactly its fitted weight, one whose weight varies per hit keeps its spread;
- a code that fires on more than ``saturation_pct`` % of the consignments (default
  ``SATURATION_PCT``) cannot pick the few consignments controls can cover, only lift a large
  part of the traffic towards the review line. Its positive weight is multiplied by
  ``odds(threshold) / odds(share)`` (``damped``) when the *active weight set* recorded that share
  over its fit window: a share that does not depend on what else is being scored, so a
  consignment gets the same score alone through the API, in an incremental run of
  re-assessments (consignments whose containers got new events, those with anomaly hits, where
  an anomaly fires far more often than in the traffic) or in a full rescoring. The share of the
  batch being scored (judged on batches of at least ``SATURATION_MIN_BATCH``) is reported
  (``Saturated``: the run's result, its audit event, the command's warning) but never damps.
  Without an active set nothing is damped: a saturating code is reported, and ``quaywatch
  weights fit`` measures its share over a window, damps it and reports it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import polars as pl

from quaywatch.features import declared
from quaywatch.risk import hits as hitframe
from quaywatch.risk.explain import Reason, Source, message_of

LANES = ("green", "yellow", "orange", "red")
REFERRALS = ("RFI", "RFS", "DNL")
#: The most log-odds all hits together may add or take (e¹⁰ ≈ 22,000×: enough to top any list).
MAX_ADDED = 10.0
_EPS = 1e-9
#: Share of the consignments (percent) above which a code saturates (``QUAYWATCH_HIT_SATURATION_PCT``).
SATURATION_PCT = 20.0
#: Fewest consignments a batch needs for its own share to be reported (it never damps).
SATURATION_MIN_BATCH = 200


def saturates(share: float, saturation_pct: float) -> bool:
    """Whether a code firing on ``share`` (0-1) of the consignments saturates."""
    return share > saturation_pct / 100


def damped(weight: float, share: float, saturation_pct: float) -> float:
    """``weight`` of a code firing on ``share`` of the consignments, damped if it saturates.

    Multiplied by ``odds(threshold) / odds(share)``: 1 at the threshold, 0 at every consignment.
    A weight that lowers the risk is kept: it floods nothing.

    >>> damped(2.0, 0.5, 20.0), damped(2.0, 1.0, 20.0), damped(-1.0, 1.0, 20.0)
    (0.5, 0.0, -1.0)
    """
    if weight <= 0 or not saturates(share, saturation_pct):
        return weight
    return weight * _damping(share, saturation_pct)


def _damping(share: float, saturation_pct: float) -> float:
    if share >= 1:
        return 0.0
    t = saturation_pct / 100
    return (t / (1 - t)) / (share / (1 - share)) if t < 1 else 1.0


@dataclass(frozen=True, slots=True)
class HitWeights:
    """A fitted weight set as scoring applies it: per code, its fitted weight (before
    saturation), the shipped weight it was fitted from and the share of the fit window's
    consignments it fired on. ``version`` is the set's number in the store."""

    version: int
    fitted: Mapping[str, float]
    shipped: Mapping[str, float]
    shares: Mapping[str, float]


@dataclass(frozen=True, slots=True)
class Saturated:
    """A code that fires on more than the saturation share of the consignments.

    ``window_share``: the share of the active weight set's fit window it fired on (None without
    an active set, or when the set never saw the code); ``batch_share``: the share of the batch
    scored (None for a batch under ``SATURATION_MIN_BATCH``); ``factor``: what its positive
    weight was multiplied by, below 1 only when ``window_share`` saturates (the batch's share
    is reported, never applied: a score must not depend on the batch it is made in).
    """

    code: str
    window_share: float | None
    batch_share: float | None
    factor: float

    @property
    def damped(self) -> bool:
        """Whether its weight was damped (by the share of the weight set's fit window)."""
        return self.factor < 1

    def to_dict(self) -> dict[str, object]:
        """A JSON-ready dict (the audit event records it)."""
        return {"code": self.code,
                "window_share": None if self.window_share is None else round(self.window_share, 4),
                "batch_share": None if self.batch_share is None else round(self.batch_share, 4),
                "factor": round(self.factor, 4), "damped": self.damped}  # fmt: skip


@dataclass(frozen=True, slots=True)
class HitWeighting:
    """How scoring weighs hits: the active fitted set (None: shipped weights) and the
    saturation threshold in percent."""

    weights: HitWeights | None = None
    saturation_pct: float = SATURATION_PCT


def reweigh(
    hits: pl.DataFrame, consignments: int, weighting: HitWeighting
) -> tuple[pl.DataFrame, tuple[Saturated, ...]]:
    """``hits`` (of a batch of ``consignments``) with the fitted and saturation-damped weights.

    Returns the hits frame and the codes found saturating, in the fit window or the batch;
    only the fit window's share damps. See the module docstring.
    """
    frame = hitframe.conform(hits)
    table = weighting.weights
    if frame.is_empty():
        return frame, ()
    if table is not None and table.fitted:
        shift = pl.DataFrame(
            {"code": list(table.fitted),
             "__shift": [table.fitted[c] - table.shipped[c] for c in table.fitted]},
            schema={"code": pl.String, "__shift": pl.Float64},
        )  # fmt: skip
        frame = (
            frame.join(shift, on="code", how="left", maintain_order="left")
            .with_columns(pl.col("weight") + pl.col("__shift").fill_null(0.0))
            .drop("__shift")
        )
    pct = weighting.saturation_pct
    present = set(frame.get_column("code").unique().to_list())
    window = {} if table is None else {c: s for c, s in table.shares.items() if c in present}
    batch: dict[str, float] = {}
    if consignments >= SATURATION_MIN_BATCH:  # reported only: it depends on what is scored
        counted = frame.select(*declared.KEY, "code").unique().group_by("code").len()
        batch = {c: n / consignments for c, n in counted.iter_rows()}
    flagged = {c for c, s in (*window.items(), *batch.items()) if saturates(s, pct)}
    saturated = tuple(
        Saturated(
            code,
            window.get(code),
            batch.get(code) if batch else None,
            _damping(window[code], pct) if saturates(window.get(code, 0.0), pct) else 1.0,
        )  # fmt: skip
        for code in sorted(flagged)
    )
    damping = [s for s in saturated if s.damped]
    if not damping:
        return frame, saturated
    factors = pl.DataFrame(
        {"code": [s.code for s in damping], "__factor": [s.factor for s in damping]},
        schema={"code": pl.String, "__factor": pl.Float64},
    )
    frame = (
        frame.join(factors, on="code", how="left", maintain_order="left")
        .with_columns(
            pl.when((pl.col("weight") > 0) & pl.col("__factor").is_not_null())
            .then(pl.col("weight") * pl.col("__factor"))
            .otherwise(pl.col("weight"))
        )
        .drop("__factor")
    )
    return frame, saturated


def _rank(column: str, order: tuple[str, ...]) -> pl.Expr:
    ranks = list(range(1, len(order) + 1))
    return pl.col(column).replace_strict(list(order), ranks, default=0, return_dtype=pl.Int8)


def per_consignment(hits: pl.DataFrame) -> pl.DataFrame:
    """Per consignment hit: ``added`` log-odds (signed), ``lane_floor``, ``referral``, ``critical``.

    ``hits`` is a hits frame; a code hitting one consignment twice counts once, its heaviest.
    """
    frame = hitframe.conform(hits)
    strongest = frame.group_by(*declared.KEY, "code").agg(
        pl.col("weight").max(),
        _rank("lane", LANES).max().alias("lane_rank"),
        _rank("referral", REFERRALS).max().alias("referral_rank"),
    )
    # Summed in the order of the codes: the rows of ``strongest`` come in no set order, and
    # floating-point sums in another order differ in the last bits from run to run.
    totals = strongest.group_by(*declared.KEY).agg(
        pl.col("weight").sort_by("code").sum().clip(-MAX_ADDED, MAX_ADDED).alias("added"),
        pl.col("lane_rank").max(),
        pl.col("referral_rank").max(),
    )
    return totals.select(
        *declared.KEY,
        "added",
        _label("lane_rank", LANES).alias("lane_floor"),
        _label("referral_rank", REFERRALS).alias("referral"),
        ((pl.col("lane_rank") >= LANES.index("orange") + 1)
         | (pl.col("referral_rank") == REFERRALS.index("DNL") + 1)).alias("critical"),
    )  # fmt: skip


def _label(column: str, order: tuple[str, ...]) -> pl.Expr:
    ranks = list(range(1, len(order) + 1))
    return pl.col(column).replace_strict(ranks, list(order), default=None, return_dtype=pl.String)


def combine(assessed: pl.DataFrame, hits: pl.DataFrame) -> pl.DataFrame:
    """``assessed`` (``declared.KEY`` and the model's ``probability``) with every source merged.

    Adds ``model_probability`` (the model alone), replaces ``probability`` with the combined one
    and adds ``added`` (log-odds from hits), ``lane_floor``, ``referral`` and ``critical``, in the
    order of ``assessed``. A consignment without hits keeps the model's probability.
    """
    summary = per_consignment(hits)
    if summary.is_empty():  # nothing hit: the same columns, all empty, without a join
        merged = assessed.with_columns(
            pl.lit(None, dtype).alias(name)
            for name, dtype in summary.schema.items()
            if name not in declared.KEY
        )
    else:
        merged = assessed.join(summary, on=list(declared.KEY), how="left", maintain_order="left")
    p = merged.get_column("probability").to_numpy().astype(np.float64)
    added = merged.get_column("added").fill_null(0.0).to_numpy()
    clipped = np.clip(p, _EPS, 1 - _EPS)
    combined = 1 / (1 + np.exp(-(np.log(clipped / (1 - clipped)) + added)))
    combined = np.where(added != 0, combined, p)
    return merged.with_columns(
        pl.col("probability").alias("model_probability"),
        pl.Series("probability", combined),
        pl.col("added").fill_null(0.0),
        pl.col("critical").fill_null(False),
    )


def hit_reasons(keys: pl.DataFrame, hits: pl.DataFrame) -> list[list[Reason]]:
    """Per row of ``keys`` (``declared.KEY``), its hits as reasons, heaviest first (equal
    weights by code, then text, then source)."""
    frame = hitframe.conform(hits)
    if frame.is_empty():
        return [[] for _ in range(keys.height)]
    indexed = keys.select(declared.KEY).with_row_index("__row")
    # Equal weights in the order of their code, text and source: a row's hits come in no set
    # order (the single node and a Spark partition gather them differently), and
    # ``explain.merge`` keeps the first of a code's equally heavy reasons.
    rows = frame.join(indexed, on=list(declared.KEY), how="inner").sort(
        "__row", "weight", "code", "text", "source", descending=[False, True, False, False, False]
    )
    result: list[list[Reason]] = [[] for _ in range(keys.height)]
    for row, code, text, weight, source, evidence, said in rows.select(
        "__row", "code", "text", "weight", "source", "evidence", "said"
    ).iter_rows():
        text = message_of(text, said)
        result[row].append(Reason(code, text, float(weight), Source(source), tuple(evidence or ())))
    return result
