"""Fitting hit weights (``learning.hit_weights``): shrinkage, given the model, consistency,
saturation. Frames as the service builds them from the store; hypothesis for the properties."""

from __future__ import annotations

import itertools
import math

import numpy as np
import polars as pl
import pytest
from hypothesis import given, settings, strategies as st

from quaywatch.errors import InputError
from quaywatch.learning import hit_weights
from quaywatch.learning.options import Weighting
from quaywatch.risk import combine


def _logit(p: float) -> float:
    return math.log(p / (1 - p))


def world(
    n: int,
    codes: dict[str, tuple[list[int], float]],
    *,
    probability: list[float] | float = 0.05,
    controlled: list[int] | None = None,
    outcome: list[bool] | None = None,
    propensity: list[float] | float = 0.5,
) -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame]:
    """``n`` consignments; ``codes``: code -> (rows it hits, shipped weight)."""
    ids = [f"C{i:04d}" for i in range(n)]
    p = probability if isinstance(probability, list) else [probability] * n
    scored = pl.DataFrame({"consignment_id": ids, "version": [1] * n, "model_probability": p})
    rows = [(ids[i], 1, code, "t", w, code.split(":")[0]) for code, (hit, w) in codes.items()
            for i in hit]  # fmt: skip
    hits = pl.DataFrame(
        rows, schema=["consignment_id", "version", "code", "text", "weight", "source"],
        orient="row",
    )  # fmt: skip
    chosen = list(range(n)) if controlled is None else controlled
    found = outcome if outcome is not None else [False] * len(chosen)
    prop = propensity if isinstance(propensity, list) else [propensity] * len(chosen)
    labels = pl.DataFrame(
        {"consignment_id": [ids[i] for i in chosen], "version": [1] * len(chosen),
         "hit": found, "propensity": prop},
        schema_overrides={"version": pl.Int64, "hit": pl.Boolean, "propensity": pl.Float64},
    )  # fmt: skip
    return hits, scored, labels


def by_code(fit: hit_weights.WeightFit) -> dict[str, hit_weights.CodeWeight]:
    return {c.code: c for c in fit.codes}


def test_without_any_control_every_code_keeps_its_shipped_weight() -> None:
    hits, scored, labels = world(
        100, {"profile:A": (list(range(10)), 1.5), "anomaly:b": (list(range(50, 55)), -0.7)},
        controlled=[],
    )  # fmt: skip
    fit = by_code(hit_weights.fit(hits, scored, labels))
    assert fit["profile:A"].fitted == pytest.approx(1.5)
    assert fit["anomaly:b"].fitted == pytest.approx(-0.7)
    assert fit["profile:A"].controlled == 0 and fit["profile:A"].precision is None
    assert fit["profile:A"].share == pytest.approx(0.1)


def test_weights_move_toward_the_local_evidence_with_its_amount() -> None:
    # A profile shipped at 2.0 whose hits the port's controls never confirm, and a detector
    # shipped at 0.2 whose hits are found half the time where the model expects 5 %.
    n = 2000
    weak, strong = list(range(400)), list(range(1000, 1400))
    outcome = [i in strong and i % 2 == 0 for i in range(n)]
    for controls, k in ((40, 30.0), (400, 30.0), (400, 3000.0)):
        chosen = weak[:controls] + strong[:controls]
        hits, scored, labels = world(
            n, {"profile:WEAK": (weak, 2.0), "anomaly:strong": (strong, 0.2)},
            controlled=chosen, outcome=[outcome[i] for i in chosen],
        )  # fmt: skip
        fit = by_code(hit_weights.fit(hits, scored, labels, prior_strength=k))
        w, s = fit["profile:WEAK"], fit["anomaly:strong"]
        if k == 30.0 and controls == 400:
            many = s
        assert w.precision == 0.0 and s.precision == pytest.approx(0.5)
        assert w.fitted < 2.0 and s.fitted > 0.2
        if k == 30.0 and controls == 400:  # evidence ≫ prior: near what the port saw
            assert s.fitted == pytest.approx(_logit(0.5) - _logit(0.05), abs=0.15)
            assert s.fitted > w.fitted  # the ranking now follows the local precision
    few = by_code(hit_weights.fit(*world(
        n, {"anomaly:strong": (strong, 0.2)}, controlled=strong[:40],
        outcome=[outcome[i] for i in strong[:40]])))["anomaly:strong"]  # fmt: skip
    assert 0.2 < few.fitted < many.fitted  # fewer controls: less far from the shipped weight


def test_a_hit_that_restates_the_model_gets_little_weight() -> None:
    # The code fires exactly where the model says 40 %, and 40 % of those are found.
    n = 1000
    probability = [0.4 if i < 500 else 0.02 for i in range(n)]
    outcome = [i < 500 and i % 5 < 2 for i in range(n)]
    hits, scored, labels = world(n, {"profile:VPK": (list(range(500)), 1.5)},
                                 probability=probability, outcome=outcome)  # fmt: skip
    code = by_code(hit_weights.fit(hits, scored, labels))["profile:VPK"]
    assert code.precision == pytest.approx(0.4)
    assert abs(code.fitted) < 0.1 < 1.5


def test_inverse_propensity_weights_let_the_random_sample_speak_for_the_traffic() -> None:
    # 100 targeted controls (propensity 0.9) all found something; 10 random ones (0.01) none:
    # weighted, the code's precision is that of the traffic it fires on, close to 0.
    n = 200
    chosen = list(range(110))
    outcome = [i < 100 for i in chosen]
    propensity = [0.9 if i < 100 else 0.01 for i in chosen]
    hits, scored, labels = world(n, {"profile:X": (list(range(n)), 1.0)}, controlled=chosen,
                                 outcome=outcome, propensity=propensity)  # fmt: skip
    ipw = by_code(hit_weights.fit(hits, scored, labels, saturation_pct=100))["profile:X"]
    plain = by_code(hit_weights.fit(hits, scored, labels, saturation_pct=100,
                                    weighting=Weighting.NONE))["profile:X"]  # fmt: skip
    assert plain.precision == pytest.approx(100 / 110)
    assert ipw.precision == pytest.approx(0.1) and ipw.fitted < plain.fitted
    assert ipw.evidence < plain.evidence == 110  # the weighted controls are worth fewer


def test_a_saturating_code_is_damped_and_reported() -> None:
    n = 1000
    hits, scored, labels = world(
        n, {"anomaly:everywhere": (list(range(n)), 2.0), "profile:half": (list(range(500)), 2.0),
            "profile:few": (list(range(100)), 2.0), "profile:safe": (list(range(800)), -1.0)},
        controlled=[],
    )  # fmt: skip
    fit = by_code(hit_weights.fit(hits, scored, labels, saturation_pct=20.0))
    assert fit["anomaly:everywhere"].saturated and fit["anomaly:everywhere"].weight == 0.0
    half = fit["profile:half"]
    assert half.saturated and half.weight == pytest.approx(2.0 * (0.2 / 0.8) / 1.0)
    assert not fit["profile:few"].saturated and fit["profile:few"].weight == pytest.approx(2.0)
    # Facilitation floods nothing: reported, never damped.
    assert fit["profile:safe"].saturated and fit["profile:safe"].weight == pytest.approx(-1.0)


@pytest.mark.parametrize("k", [0.0, -1.0, float("nan")])
def test_a_prior_strength_that_is_not_positive_is_refused(k: float) -> None:
    with pytest.raises(InputError, match="prior strength"):
        hit_weights.fit(*world(10, {"profile:A": ([1], 1.0)}), prior_strength=k)


# --- consistency ---------------------------------------------------------------------------


@settings(max_examples=60, deadline=None)
@given(
    controls=st.integers(1, 60),
    found_a=st.integers(0, 60),
    found_b=st.integers(0, 60),
    shipped=st.floats(-3, 3),
    probability=st.floats(0.001, 0.6),
    propensity=st.floats(0.01, 1.0),
    k=st.floats(0.5, 200),
)
def test_for_the_same_evidence_the_more_precise_code_never_weighs_less(
    controls: int, found_a: int, found_b: int, shipped: float, probability: float,
    propensity: float, k: float,
) -> None:  # fmt: skip
    # Two codes, each on its own consignments, alike in everything (count, model probability,
    # propensity, shipped weight) but how often their controls found something.
    found_a, found_b = min(found_a, controls), min(found_b, controls)
    a, b = list(range(controls)), list(range(controls, 2 * controls))
    outcome = [i < found_a for i in a] + [i - controls < found_b for i in b]
    fit = by_code(hit_weights.fit(
        *world(2 * controls, {"profile:A": (a, shipped), "profile:B": (b, shipped)},
               probability=probability, outcome=outcome, propensity=propensity),
        prior_strength=k, saturation_pct=100,
    ))  # fmt: skip
    wa, wb = fit["profile:A"], fit["profile:B"]
    assert wa.expected == pytest.approx(wb.expected)
    if wa.shrunk_precision > wb.shrunk_precision:
        assert wa.fitted >= wb.fitted
    if found_a > found_b:
        assert wa.shrunk_precision > wb.shrunk_precision and wa.fitted > wb.fitted


@settings(max_examples=60, deadline=None)
@given(data=st.data(), n=st.integers(20, 120), k=st.floats(0.5, 100))
def test_hit_consignments_rank_by_the_shrunk_precision_of_what_hit_them(
    data: st.DataObject, n: int, k: float
) -> None:
    # Random codes, outcomes and propensities on traffic the model rates alike (probability p):
    # a fresh consignment at p that one code hits scores, through the fitted set as scoring
    # applies it (``combine.reweigh`` then ``combine.combine``), that code's shrunk precision,
    # so consignments hit by different codes rank as the codes' shrunk precisions.
    rng = np.random.default_rng(data.draw(st.integers(0, 2**32 - 1)))
    p = data.draw(st.floats(0.005, 0.6))
    codes = {
        f"profile:C{j}": (sorted(rng.choice(n, rng.integers(1, n // 5 + 1), replace=False).tolist()),
                          float(rng.uniform(-2, 3)))
        for j in range(data.draw(st.integers(2, 6)))
    }  # fmt: skip
    controlled = sorted(rng.choice(n, rng.integers(0, n + 1), replace=False).tolist())
    outcome = (rng.random(len(controlled)) < 0.3).tolist()
    inputs = dict(
        probability=p,
        controlled=controlled,
        outcome=outcome,
        propensity=rng.uniform(0.01, 1, len(controlled)).tolist(),
    )
    fit = hit_weights.fit(*world(n, codes, **inputs), prior_strength=k, saturation_pct=100)  # type: ignore[arg-type]
    table = combine.HitWeights(
        1, {c.code: c.fitted for c in fit.codes}, {c.code: c.shipped for c in fit.codes},
        {c.code: c.share for c in fit.codes},
    )  # fmt: skip
    fresh = [f"X{j}" for j in range(len(fit.codes))]
    hits = pl.DataFrame(
        {"consignment_id": fresh, "version": [1] * len(fresh),
         "code": [c.code for c in fit.codes], "text": ["t"] * len(fresh),
         "weight": [codes[c.code][1] for c in fit.codes], "source": ["profile"] * len(fresh)},
    )  # fmt: skip
    applied, _ = combine.reweigh(hits, len(fresh), combine.HitWeighting(table, 100.0))
    scored = combine.combine(
        pl.DataFrame({"consignment_id": fresh, "version": [1] * len(fresh),
                      "probability": [p] * len(fresh)}),
        applied,
    ).get_column("probability").to_list()  # fmt: skip

    def capped(c: hit_weights.CodeWeight) -> bool:  # the sum's cap, ``combine.MAX_ADDED``
        return abs(c.fitted) >= combine.MAX_ADDED - 1e-9

    for c, score in zip(fit.codes, scored, strict=True):
        if not capped(c):
            assert score == pytest.approx(c.shrunk_precision, rel=1e-6, abs=1e-9)
    for (a, sa), (b, sb) in itertools.product(zip(fit.codes, scored, strict=True), repeat=2):
        if a.shrunk_precision > b.shrunk_precision + 1e-9:
            assert sa > sb or (sa >= sb and (capped(a) or capped(b)))
    misses = [i for i, y in zip(controlled, outcome, strict=True) if not y]
    if misses:
        flipped = [y or i == misses[0] for i, y in zip(controlled, outcome, strict=True)]
        after = by_code(hit_weights.fit(*world(n, codes, **{**inputs, "outcome": flipped}),  # type: ignore[arg-type]
                                        prior_strength=k))  # fmt: skip
        for c in fit.codes:
            assert after[c.code].fitted >= c.fitted - 1e-12
