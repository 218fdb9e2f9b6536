"""``features.reference.weighted_quantiles``: every value's weight counts (the smallest's and
the largest's too), equal weights give the unweighted quantiles, and the figures behave like
quantiles (monotone in q, within the values)."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest
from hypothesis import given, settings, strategies as st

from quaywatch.features.reference import weighted_quantiles

QS = [0.0, 0.05, 0.25, 0.5, 0.75, 0.95, 1.0]
values = st.lists(st.floats(min_value=-1e3, max_value=1e3), min_size=1, max_size=40)
weights = st.floats(min_value=0.01, max_value=100.0)


def _figures(x: list[float], w: list[float], qs: list[float]) -> list[float]:
    out = weighted_quantiles(pl.DataFrame({"x": x, "w": w}), "x", "w", qs)
    return [float(out[f"q{q}"][0]) for q in qs]


def test_the_extreme_values_weigh_too() -> None:
    """A heavy largest value pulls the median to it; so does a heavy one of two values."""
    assert _figures([0.0, 1.0, 2.0], [1.0, 1.0, 100.0], [0.5]) == [pytest.approx(1.98, abs=0.01)]
    assert _figures([0.0, 10.0], [0.1, 1.0], [0.5]) == [pytest.approx(9.09, abs=0.01)]
    assert _figures([0.0, 10.0], [1.0, 0.1], [0.5]) == [pytest.approx(0.91, abs=0.01)]


@settings(max_examples=60, deadline=None)
@given(values, weights)
def test_equal_weights_give_the_unweighted_quantiles(x: list[float], w: float) -> None:
    """Any common weight: the usual median, and Hazen's quantiles elsewhere."""
    expected = np.quantile(np.array(x), QS, method="hazen")
    assert _figures(x, [w] * len(x), QS) == pytest.approx(list(expected), abs=1e-6)
    assert _figures(x, [w] * len(x), [0.5])[0] == pytest.approx(float(np.median(x)), abs=1e-6)


@settings(max_examples=60, deadline=None)
@given(values, st.data())
def test_a_value_with_overwhelming_weight_is_the_median(
    x: list[float], data: st.DataObject
) -> None:
    """Its distance from the median is at most the values' range times the rest's share of
    its weight."""
    w = data.draw(st.lists(weights, min_size=len(x), max_size=len(x)))
    heavy = data.draw(st.integers(0, len(x) - 1))
    w[heavy] = 1e4 * sum(w)
    rest = sum(w) - w[heavy]
    median = _figures(x, w, [0.5])[0]
    assert abs(median - x[heavy]) <= (max(x) - min(x)) * rest / w[heavy] + 1e-9


@settings(max_examples=60, deadline=None)
@given(values, st.data())
def test_quantiles_are_monotone_and_within_the_values(x: list[float], data: st.DataObject) -> None:
    w = data.draw(st.lists(weights, min_size=len(x), max_size=len(x)))
    figures = _figures(x, w, QS)
    assert all(a <= b + 1e-9 for a, b in zip(figures, figures[1:], strict=False))
    assert all(min(x) - 1e-9 <= f <= max(x) + 1e-9 for f in figures)
    assert figures[0] == min(x) and figures[-1] == max(x)


def test_groups_are_apart_and_unweighted_rows_do_not_count() -> None:
    frame = pl.DataFrame({"g": ["a", "a", "a", "b", "b", "c"], "x": [1.0, 2.0, 9.0, 5.0, None, 7.0],
                          "w": [1.0, 1.0, 0.0, 1.0, 1.0, 0.0]})  # fmt: skip
    out = weighted_quantiles(frame, "x", "w", [0.5], by=["g"]).sort("g")
    assert out.to_dicts() == [
        {"g": "a", "q0.5": 1.5, "weight": 2.0, "n": 2},
        {"g": "b", "q0.5": 5.0, "weight": 1.0, "n": 1},
    ]
