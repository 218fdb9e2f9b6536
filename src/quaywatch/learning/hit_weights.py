"""Hit weights fitted where quaywatch runs: each hit code's weight on the site's own outcomes.

Why. Every risk source besides the model (profiles, anomalies, screening, the graph, and any
source added later) reports hits with a *shipped* weight: the profile author's judgment, or a
detector constant set on generated traffic. A port's own traffic is not that traffic: a profile
written for patterns it never sees catches nothing, a generic detector may be far stronger than
its constant says, and a weak code with a high shipped weight then outranks a strong one. The
controls the port makes tell, code by code, how often a hit was right. ``fit`` turns that into
one weight per code (``source:id``, whatever the source: nothing here knows the sources).

Given the model. The combination adds a code's weight to the model's log-odds
(``risk.combine``), so the weight must say what the hit adds *beyond the model*, not how precise
it is on its own: a profile that only restates what the model already knows (low value per kg)
is precise on controls the model already ranks high, and should add little. For each code,
over the controlled consignments it hit in the window (each weighted by its inverse propensity,
``learning.weights``, so the targeted controls do not stand for more traffic than they are):

- ``precision``: the weighted share of them where the control found something (Hájek);
- ``expected``: the weighted mean of the model's probability for the same consignments, the
  precision the model alone predicted for them;
- ``evidence``: how many controls that is worth, Kish's effective size of their weights (the
  plain count without weighting).

Shrinkage. A code controlled five times says little: its precision could be 0 or 1 by chance.
The shipped weight is the prior, worth ``k`` pseudo-controls (``prior_strength``): ``k``
imaginary controls of the code's hits, at the model's mean probability ``m`` for every
consignment it hit in the window, found something at the rate the shipped weight ``w₀`` claims,
``π₀ = σ(logit m + w₀)``. The shrunk figures are the real and imaginary controls pooled::

    shrunk precision  S = (n·precision + k·π₀) / (n + k)
    shrunk expected   E = (n·expected  + k·m ) / (n + k)
    fitted weight     w = logit S − logit E

With no control (``n = 0``), ``S = π₀`` and ``E = m``, so ``w = w₀`` exactly: the shipped weight
stands until the port has evidence. With ``n = k``, evidence and prior count the same; with
``n ≫ k`` the weight is what the port saw. A hit that only restates the model has
``precision ≈ expected`` and its weight goes to 0; a hit whose consignments were found twice as
often as the model expected gets about ``log 2``.

Consistency. The weight is derived from the shrunk precision, so the ranking follows it: for
the same evidence (the same model expectation), a code with a higher shrunk precision never
gets a lower weight (``w`` increases with ``S`` at fixed ``E``), and a consignment the model
rates at a code's typical probability ``E`` scores exactly ``σ(logit E + w) = S`` when that code
hits it: hit consignments rank by the shrunk precision of what hit them. A weak code can no
longer outrank a strong one through its shipped weight once the port has the evidence.

Saturation. A code that fires on more than ``saturation_pct`` % of the consignments cannot pick
a few percent for control; with a positive weight it only lifts a large part of the traffic
towards the review line (a broken detector firing everywhere lifts all of it). Its weight is
multiplied by ``odds(threshold) / odds(share)`` (``risk.combine.damped``): 1 at the threshold,
falling fast above it, 0 for a code on every consignment; it is reported as saturated. Weights
that lower the risk (facilitation) are never damped. Scoring damps by the share the active set
recorded here (``risk.combine.reweigh``), never by the share of the batch it scores, so that a
consignment's score does not depend on what is scored with it; a batch's own share is only
reported.

    fitted = fit(hits, scored, labels, prior_strength=30, saturation_pct=20.0)
    [(c.code, c.shipped, c.weight) for c in fitted.codes]

Limits. Codes are fitted one at a time: two codes that always fire together are each credited
with the evidence both share (the combination's cap on the sum, ``risk.combine.MAX_ADDED``,
bounds the damage). A code whose weight varies per hit (screening's match strength, the graph's
propagated risk) is fitted at its mean weight; scoring shifts each of its hits by the same
amount (``risk.combine.reweigh``).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any

import polars as pl

from quaywatch.errors import InputError
from quaywatch.features import declared
from quaywatch.learning.options import MAX_WEIGHT, Weighting
from quaywatch.learning.weights import with_weights
from quaywatch.risk import combine, hits as hitframe

#: Pseudo-controls the shipped weight is worth (``k``): a code controlled this many times (in
#: effective size) moves half way from its shipped weight to what the port saw.
PRIOR_STRENGTH = 30.0
_EPS = 1e-6
_KEY = list(declared.KEY)


@dataclass(frozen=True, slots=True)
class CodeWeight:
    """One hit code's fitted weight and the evidence behind it.

    ``shipped``: its mean weight in the window's hits (the weight it carries without a fit);
    ``fitted``: shrunk toward ``shipped`` and given the model (the module docstring), before
    saturation; ``weight``: what scoring applies (``fitted``, damped when ``saturated``).
    ``fired``: consignments of the window it hit; ``controlled``: those controlled with a known
    outcome; ``hits``: those where the control found something; ``precision``: the weighted
    share found (None without control); ``shrunk_precision`` / ``expected``: ``S`` and ``E``;
    ``evidence``: the effective number of controls; ``share``: ``fired`` over the window's
    consignments.
    """

    code: str
    source: str
    shipped: float
    fitted: float
    weight: float
    fired: int
    controlled: int
    hits: int
    precision: float | None
    shrunk_precision: float
    expected: float
    evidence: float
    share: float
    saturated: bool

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        return asdict(self)


@dataclass(frozen=True, slots=True)
class WeightFit:
    """The fitted weight of every code that fired in the window, most frequent first."""

    codes: tuple[CodeWeight, ...]
    consignments: int
    controlled: int
    hits: int
    prior_strength: float
    saturation_pct: float
    weighting: Weighting
    max_weight: float

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        return {
            "consignments": self.consignments,
            "controlled": self.controlled,
            "hits": self.hits,
            "prior_strength": self.prior_strength,
            "saturation_pct": self.saturation_pct,
            "weighting": self.weighting.value,
            "max_weight": self.max_weight,
            "codes": [c.to_dict() for c in self.codes],
        }


def _logit(p: float) -> float:
    q = min(max(p, _EPS), 1 - _EPS)
    return math.log(q / (1 - q))


def _sigmoid(x: float) -> float:
    return 1 / (1 + math.exp(-x))


def shrunk_weight(
    *,
    shipped: float,
    mean_probability: float,
    evidence: float,
    precision: float,
    expected: float,
    prior_strength: float,
) -> tuple[float, float, float]:
    """``(w, S, E)`` of the module docstring for one code; ``precision``/``expected`` are ignored
    when ``evidence`` is 0.

    >>> w, s, e = shrunk_weight(shipped=1.0, mean_probability=0.1, evidence=0.0, precision=0.0,
    ...                         expected=0.0, prior_strength=30.0)
    >>> round(w, 6)
    1.0
    """
    prior = _sigmoid(_logit(mean_probability) + shipped)
    n, k = evidence, prior_strength
    s = (n * precision + k * prior) / (n + k)
    e = (n * expected + k * mean_probability) / (n + k)
    w = _logit(s) - _logit(e)
    return max(-combine.MAX_ADDED, min(combine.MAX_ADDED, w)), s, e


def check_options(prior_strength: float, saturation_pct: float) -> None:
    """``InputError`` naming the option or setting for a prior strength that is not a positive
    number or a saturation share outside (0, 100] %."""
    if not prior_strength > 0 or not math.isfinite(prior_strength):
        raise InputError(
            "prior strength (--prior-strength, QUAYWATCH_HIT_PRIOR_STRENGTH) must be a positive "
            f"number of pseudo-controls, got {prior_strength:g}"
        )
    if not 0 < saturation_pct <= 100:
        raise InputError(
            "saturation share (QUAYWATCH_HIT_SATURATION_PCT) must lie in (0, 100] %, "
            f"got {saturation_pct:g}"
        )


def fit(
    hits: pl.DataFrame,
    scored: pl.DataFrame,
    labels: pl.DataFrame,
    *,
    prior_strength: float = PRIOR_STRENGTH,
    saturation_pct: float = combine.SATURATION_PCT,
    weighting: Weighting = Weighting.IPW,
    max_weight: float = MAX_WEIGHT,
) -> WeightFit:
    """One weight per hit code, from the window's hits, model probabilities and outcomes.

    ``scored``: every consignment assessed in the window (``consignment_id``, ``version``,
    ``model_probability``: the fraud model's probability as it was at assessment time);
    ``hits``: what every source found for them (a hits frame, ``risk.hits``, as of assessment
    time); ``labels``: the controlled ones with a known outcome (key, ``hit``, and for
    ``Weighting.IPW`` their ``propensity``). Raises ``InputError`` for a prior strength that is
    not positive, a saturation share outside (0, 100] or a bad propensity (``with_weights``).
    """
    check_options(prior_strength, saturation_pct)
    consignments = scored.select(*_KEY, "model_probability").unique(_KEY, keep="first")
    controls = labels.select(
        pl.col("consignment_id").cast(pl.String), pl.col("version").cast(pl.Int64),
        pl.col("hit").cast(pl.Boolean),
        *([pl.col("propensity").cast(pl.Float64)] if "propensity" in labels else []),
    )  # fmt: skip
    controls = controls.join(consignments, on=_KEY, how="semi")
    controls = with_weights(controls, weighting, max_weight=max_weight).select(
        *_KEY, pl.col("hit").cast(pl.Float64).alias("y"), pl.col("weight").alias("w")
    )
    fired = hitframe.heaviest(hitframe.conform(hits).join(consignments, on=_KEY, how="semi"))
    fired = fired.join(consignments, on=_KEY, how="inner").with_columns(
        pl.col("model_probability").clip(_EPS, 1 - _EPS)
    )
    per_code = fired.group_by("code").agg(
        pl.col("source").first(),
        pl.len().alias("fired"),
        pl.col("weight").mean().alias("shipped"),
        pl.col("model_probability").mean().alias("m"),
    )
    evidence = (
        fired.drop("weight")
        .join(controls, on=_KEY, how="inner")
        .group_by("code")
        .agg(
            pl.len().alias("controlled"),
            (pl.col("y") > 0).sum().alias("found"),
            pl.col("w").sum().alias("sw"),
            (pl.col("w") ** 2).sum().alias("sw2"),
            (pl.col("w") * pl.col("y")).sum().alias("swy"),
            (pl.col("w") * pl.col("model_probability")).sum().alias("swp"),
        )
    )
    table = per_code.join(evidence, on="code", how="left").sort(
        "fired", "code", descending=[True, False]
    )
    total = consignments.height
    rows = []
    for r in table.iter_rows(named=True):
        sw = r["sw"] or 0.0
        n = 0.0 if sw <= 0 else sw**2 / r["sw2"]
        precision = None if sw <= 0 else r["swy"] / sw
        expected = 0.0 if sw <= 0 else r["swp"] / sw
        w, s, e = shrunk_weight(
            shipped=r["shipped"], mean_probability=r["m"], evidence=n,
            precision=precision or 0.0, expected=expected, prior_strength=prior_strength,
        )  # fmt: skip
        share = r["fired"] / total
        rows.append(
            CodeWeight(
                code=r["code"],
                source=r["source"],
                shipped=r["shipped"],
                fitted=w,
                weight=combine.damped(w, share, saturation_pct),
                fired=r["fired"],
                controlled=r["controlled"] or 0,
                hits=r["found"] or 0,
                precision=precision,
                shrunk_precision=s,
                expected=e,
                evidence=n,
                share=share,
                saturated=combine.saturates(share, saturation_pct),
            )  # fmt: skip
        )
    found = controls.select((pl.col("y") > 0).sum()).item() if controls.height else 0
    return WeightFit(
        tuple(rows), total, controls.height, int(found), prior_strength, saturation_pct,
        weighting, max_weight,
    )  # fmt: skip
