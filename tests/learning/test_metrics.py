from __future__ import annotations

import itertools

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st
from hypothesis.extra import numpy as hnp

from quaywatch.learning import metrics

# Ten consignments ranked in the given order; illicit at ranks 1, 3 and 10. Row 2 is licit but
# carries revenue in its column, which must not count.
SCORES = np.array([0.9, 0.8, 0.7, 0.6, 0.5, 0.4, 0.3, 0.2, 0.1, 0.0])
ILLICIT = np.array([1, 0, 1, 0, 0, 0, 0, 0, 0, 1], dtype=bool)
REVENUE = np.array([100.0, 50.0, 300.0, 0, 0, 0, 0, 0, 0, 600.0])


@pytest.mark.parametrize(
    ("rows", "percent", "k"),
    [
        (100, 3.0, 3),
        (100, 1, 1),
        (10, 1, 1),  # 0.1 rounds up to one control
        (1_000, 0.05, 1),
        (7, 10, 1),
        (7, 50, 4),  # 3.5 -> 4
        (100, 2.5, 3),
        (1_000, 0.3, 3),  # 0.003 * 1000 is 3.0000000000000004 in floats
        (10_000, 0.07, 7),  # and 7.000000000000001
        (10, 100, 10),
        (0, 5, 0),
    ],
)
def test_cutoff(rows: int, percent: float, k: int) -> None:
    assert metrics.cutoff(rows, percent) == k


@pytest.mark.parametrize("percent", [0, -1, 100.5])
def test_cutoff_refuses_percent_outside_0_100(percent: float) -> None:
    with pytest.raises(ValueError, match="percent"):
        metrics.cutoff(10, percent)


@pytest.mark.parametrize(
    ("k", "hits", "precision", "recall", "revenue"),
    [
        (0, 0, None, 0.0, 0.0),
        (1, 1, 1.0, 1 / 3, 0.1),
        (2, 1, 0.5, 1 / 3, 0.1),  # the licit row's 50 EUR is not caught revenue
        (3, 2, 2 / 3, 2 / 3, 0.4),
        (9, 2, 2 / 9, 2 / 3, 0.4),
        (10, 3, 0.3, 1.0, 1.0),
    ],
)
def test_at_k_hand_computed(
    k: int, hits: int, precision: float | None, recall: float, revenue: float
) -> None:
    at = metrics.at_k(SCORES, ILLICIT, REVENUE, k)
    assert at == metrics.AtK(k, hits, precision, pytest.approx(recall), pytest.approx(revenue))


def test_at_percent_uses_the_cutoff() -> None:
    at = metrics.at_percent(SCORES, ILLICIT, REVENUE, 25)  # ceil(2.5) = 3
    assert (at.k, at.hits) == (3, 2)


def test_shares_without_illicit_or_revenue_are_none() -> None:
    at = metrics.at_k([0.3, 0.2], [False, False], [0.0, 0.0], 1)
    assert at == metrics.AtK(1, 0, 0.0, None, None)


def test_ties_keep_the_given_order() -> None:
    assert metrics.ranking([0.5, 0.9, 0.5, 0.5]).tolist() == [1, 0, 2, 3]
    tied = np.full(4, 0.5)
    assert metrics.at_k(tied, [False, True, False, True], np.ones(4), 1).hits == 0
    assert metrics.at_k(tied, [True, False, False, True], np.ones(4), 1).hits == 1


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: metrics.ranking([0.1, np.nan]), "NaN"),
        (lambda: metrics.at_k([0.1, 0.2], [True], [1.0, 1.0], 1), "illicit has shape"),
        (lambda: metrics.at_k([0.1, 0.2], [True, False], [1.0], 1), "revenue_at_stake has shape"),
        (lambda: metrics.at_k([0.1, 0.2], [True, False], [-1.0, 1.0], 1), "negative"),
        (lambda: metrics.at_k([0.1, 0.2], [True, False], [1.0, 1.0], 3), "k must be"),
        (lambda: metrics.brier([1.2], [True]), r"\[0, 1\]"),
    ],
)
def test_bad_input_is_refused(call: object, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        call()  # type: ignore[operator]


@pytest.mark.parametrize(
    ("scores", "illicit", "auc"),
    [
        ([0.1, 0.4, 0.35, 0.8], [0, 0, 1, 1], 0.75),
        ([0.5, 0.5], [0, 1], 0.5),  # a tie counts half
        ([1.0, 0.5, 0.5, 0.0], [1, 1, 0, 0], 0.875),
        ([0.9, 0.1], [1, 0], 1.0),
        ([0.9, 0.1], [0, 1], 0.0),
        ([0.9, 0.1], [1, 1], None),  # one class only: undefined
        ([0.9, 0.1], [0, 0], None),
        ([], [], None),
    ],
)
def test_roc_auc_hand_computed(scores: list[float], illicit: list[int], auc: float | None) -> None:
    assert metrics.roc_auc(scores, illicit) == auc


def test_average_ranks_share_ties() -> None:
    assert metrics.average_ranks([3.0, 1.0, 3.0, 2.0]).tolist() == [3.5, 1.0, 3.5, 2.0]


@pytest.mark.parametrize(
    ("probabilities", "illicit", "score"),
    [
        ([0.1, 0.9, 0.8, 0.3], [0, 1, 1, 0], 0.0375),
        ([0.0, 1.0], [0, 1], 0.0),
        ([1.0, 0.0], [0, 1], 1.0),
        ([], [], None),
    ],
)
def test_brier_hand_computed(
    probabilities: list[float], illicit: list[int], score: float | None
) -> None:
    assert metrics.brier(probabilities, illicit) == (
        None if score is None else pytest.approx(score)
    )


def test_reliability_hand_computed() -> None:
    table = metrics.reliability([0.05, 0.15, 0.12, 0.95, 1.0], [0, 1, 0, 1, 1], bins=10)
    assert len(table) == 10
    assert table[0] == metrics.ReliabilityBin(0.0, 0.1, 1, 0.05, 0.0)
    assert table[1] == metrics.ReliabilityBin(0.1, 0.2, 2, pytest.approx(0.135), 0.5)
    assert table[9] == metrics.ReliabilityBin(0.9, 1.0, 2, pytest.approx(0.975), 1.0)
    assert all(b.count == 0 and b.mean_predicted is None for b in table[2:9])


@pytest.mark.parametrize(
    ("k", "expected"),
    [
        (1, {"cocaine": 0.5, "wildlife": 0.0}),
        (2, {"cocaine": 0.5, "wildlife": 0.0}),  # the second is licit
        (3, {"cocaine": 0.5, "wildlife": 0.5}),
        (5, {"cocaine": 1.0, "wildlife": 1.0}),
    ],
)
def test_recall_by_pattern_hand_computed(k: int, expected: dict[str, float]) -> None:
    scores = [0.9, 0.8, 0.7, 0.6, 0.5]
    pattern = ["cocaine", "none", "wildlife", "cocaine", "wildlife"]
    assert metrics.recall_by_pattern(scores, pattern, k) == expected


def test_recall_at_k_of_critical_consignments() -> None:
    critical = [False, False, True, False, False, False, False, False, False, True]
    assert metrics.recall_at_k(SCORES, critical, 3) == 0.5
    assert metrics.recall_at_k(SCORES, np.zeros(10, dtype=bool), 3) is None


# --- properties ---------------------------------------------------------------------------------

sizes = st.integers(min_value=1, max_value=60)


@st.composite
def cases(draw: st.DrawFn) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    n = draw(sizes)
    # Few distinct score values, so ties are common.
    scores = draw(hnp.arrays(np.float64, n, elements=st.sampled_from([0.0, 0.25, 0.5, 0.75, 1.0])))
    illicit = draw(hnp.arrays(np.bool_, n))
    revenue = draw(hnp.arrays(np.float64, n, elements=st.floats(0, 1e6)))
    return scores, illicit, revenue


@settings(max_examples=150, deadline=None)
@given(cases())
def test_oracle_ranking_is_perfect_while_capacity_lasts(case: tuple[np.ndarray, ...]) -> None:
    _, illicit, revenue = case
    oracle = illicit.astype(np.float64)
    positives = int(illicit.sum())
    for k in range(1, illicit.size + 1):
        at = metrics.at_k(oracle, illicit, revenue, k)
        if k <= positives:
            assert at.precision == 1.0
        else:
            assert at.recall == (1.0 if positives else None)


@settings(max_examples=150, deadline=None)
@given(cases(), st.lists(st.floats(0.01, 100), min_size=2, max_size=6))
def test_recall_and_revenue_grow_with_n(
    case: tuple[np.ndarray, ...], percents: list[float]
) -> None:
    scores, illicit, revenue = case
    results = [metrics.at_percent(scores, illicit, revenue, p) for p in sorted(percents)]
    ks = [r.k for r in results]
    assert ks == sorted(ks) and ks[0] >= 1
    for earlier, later in itertools.pairwise(results):
        if earlier.recall is not None and later.recall is not None:
            assert earlier.recall <= later.recall
        if earlier.revenue is not None and later.revenue is not None:
            assert earlier.revenue <= later.revenue + 1e-12
    for r in results:
        assert r.precision is not None and r.precision * r.k == pytest.approx(r.hits)


@settings(max_examples=150, deadline=None)
@given(cases())
def test_auc_of_perfect_and_reversed_rankings(case: tuple[np.ndarray, ...]) -> None:
    _, illicit, _ = case
    if 0 < illicit.sum() < illicit.size:
        assert metrics.roc_auc(illicit.astype(float), illicit) == 1.0
        assert metrics.roc_auc(-illicit.astype(float), illicit) == 0.0
    else:
        assert metrics.roc_auc(illicit.astype(float), illicit) is None


@settings(max_examples=200, deadline=None)
@given(cases())
def test_auc_matches_the_pairwise_definition(case: tuple[np.ndarray, ...]) -> None:
    scores, illicit, _ = case
    pos, neg = scores[illicit], scores[~illicit]
    if pos.size == 0 or neg.size == 0:
        assert metrics.roc_auc(scores, illicit) is None
        return
    wins = sum(1.0 if p > q else 0.5 if p == q else 0.0 for p in pos for q in neg)
    assert metrics.roc_auc(scores, illicit) == pytest.approx(wins / (pos.size * neg.size))


@settings(max_examples=100, deadline=None)
@given(cases(), st.integers(1, 20))
def test_reliability_bins_account_for_every_row(case: tuple[np.ndarray, ...], bins: int) -> None:
    probabilities, illicit, _ = case
    table = metrics.reliability(probabilities, illicit, bins)
    assert sum(b.count for b in table) == probabilities.size
    weighted = sum(b.count * (b.mean_predicted or 0.0) for b in table)
    assert weighted == pytest.approx(probabilities.sum())
    observed = sum(b.count * (b.observed_rate or 0.0) for b in table)
    assert observed == pytest.approx(illicit.sum())
    assert all(b.lower <= (b.mean_predicted or b.lower) <= b.upper for b in table)
    brier = metrics.brier(probabilities, illicit)
    assert brier is not None and 0.0 <= brier <= 1.0
