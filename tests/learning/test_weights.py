"""Inverse-propensity weights and the weighted figures, checked by hand."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest
from hypothesis import given, strategies as st

from quaywatch.errors import InputError
from quaywatch.learning import metrics
from quaywatch.learning.weights import (
    Weighting,
    effective_size,
    inverse_propensity,
    summary,
    weighted_auc,
    weighted_brier,
    weighted_cut,
    weighted_precision,
    with_weights,
)


def test_weights_are_clipped_inverse_propensities_averaging_one() -> None:
    # 1/p = 2, 4, 10, 1000 -> clipped at 100: 2, 4, 10, 100; mean 29; weights w / 29.
    weights = inverse_propensity([0.5, 0.25, 0.1, 0.001], max_weight=100.0)
    assert weights == pytest.approx([2 / 29, 4 / 29, 10 / 29, 100 / 29])
    assert weights.mean() == pytest.approx(1.0)
    # A lower cap clips more: 2, 4, 5, 5 -> mean 4.
    assert inverse_propensity([0.5, 0.25, 0.1, 0.001], max_weight=5.0) == pytest.approx(
        [0.5, 1.0, 1.25, 1.25]
    )


def test_no_weighting_gives_unit_weights_and_records_it() -> None:
    rows = pl.DataFrame({"propensity": [0.5, 0.01]})
    assert with_weights(rows, Weighting.NONE)["weight"].to_list() == [1.0, 1.0]
    assert summary(rows, Weighting.NONE, max_weight=100.0) == {"weighting": "none"}
    weighted = with_weights(rows, Weighting.IPW, max_weight=50.0)
    found = summary(weighted, Weighting.IPW, max_weight=50.0)
    # weights 2 and 50 (clipped from 100): one clipped row; Kish (52)^2 / (4 + 2500).
    assert found["clipped"] == 1 and found["max_weight"] == 50.0
    assert found["effective_size"] == pytest.approx(round(52**2 / 2504, 1))


@pytest.mark.parametrize("bad", [0.0, -0.1, 1.5, None])
def test_a_propensity_outside_zero_one_is_refused_naming_the_field(bad: float | None) -> None:
    rows = pl.DataFrame({"propensity": [0.5, bad]}, schema={"propensity": pl.Float64})
    with pytest.raises(InputError, match="field propensity"):
        with_weights(rows, Weighting.IPW)


def test_a_cap_below_one_is_refused() -> None:
    with pytest.raises(ValueError, match="max_weight"):
        inverse_propensity([0.5], max_weight=0.5)


@given(st.lists(st.floats(0.001, 1.0), min_size=1, max_size=50), st.floats(1.0, 500.0))
def test_weights_average_one_and_respect_the_cap(props: list[float], cap: float) -> None:
    weights = inverse_propensity(props, max_weight=cap)
    assert weights.mean() == pytest.approx(1.0)
    raw = np.minimum(1 / np.asarray(props), cap)
    assert weights / weights.min() == pytest.approx(raw / raw.min())


def test_effective_size() -> None:
    assert effective_size([1.0, 1.0, 1.0, 1.0]) == 4.0
    assert effective_size([3.0, 1.0]) == pytest.approx(16 / 10)


def test_weighted_auc_equals_roc_auc_at_unit_weights_and_counts_pairs_by_weight() -> None:
    rng = np.random.default_rng(1)
    scores = np.round(rng.random(200), 1)  # many ties
    outcome = rng.random(200) < 0.3
    assert weighted_auc(scores, outcome, np.ones(200)) == pytest.approx(
        metrics.roc_auc(scores, outcome)
    )
    # Positives a (0.9, w1), b (0.2, w3); negative c (0.5, w2), d (0.2, w1).
    # Pairs: a>c 1*2, a>d 1*1, b<c 0, b=d half of 3*1 -> (2 + 1 + 1.5) / (4 * 3).
    auc = weighted_auc([0.9, 0.2, 0.5, 0.2], [True, True, False, False], [1.0, 3.0, 2.0, 1.0])
    assert auc == pytest.approx(4.5 / 12)
    assert weighted_auc([0.1, 0.2], [False, False], [1.0, 1.0]) is None


def test_weighted_brier_cut_and_precision() -> None:
    p = np.array([0.9, 0.6, 0.3, 0.1])
    y = np.array([True, False, True, False])
    w = np.array([1.0, 1.0, 2.0, 6.0])
    # (0.01*1 + 0.36*1 + 0.49*2 + 0.01*6) / 10
    assert weighted_brier(p, y, w) == pytest.approx(1.41 / 10)
    # Weight shares from the top: 0.1, 0.2, 0.4, 1.0 -> 10 % is the first row, 15 % the second.
    assert weighted_cut(p, w, 10.0) == 0.9
    assert weighted_cut(p, w, 15.0) == 0.6
    assert weighted_cut(p, w, 100.0) == 0.1
    assert weighted_precision(p, y, w, 0.3) == pytest.approx(3 / 4)
    assert weighted_precision(p, y, w, 0.95) is None
