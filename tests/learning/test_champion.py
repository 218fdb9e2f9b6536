"""Champion against challenger on a random sample: figures, bootstrap intervals, decisions."""

from __future__ import annotations

from datetime import UTC, datetime

import numpy as np
import polars as pl
import pytest

from quaywatch.learning import champion as cc
from quaywatch.learning.champion import Criterion


def sample(n: int = 1_000, seed: int = 4) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Hits at 5 %; a champion scoring noise and a challenger that sees the truth through noise."""
    rng = np.random.default_rng(seed)
    hit = rng.random(n) < 0.05
    champion = rng.random(n) * 0.1
    challenger = np.clip(0.03 + 0.3 * hit + rng.normal(0, 0.1, n), 0.001, 0.999)
    return champion, challenger, hit


def test_a_clearly_better_challenger_is_promoted_with_an_interval_above_zero() -> None:
    champion, challenger, hit = sample()
    c = cc.compare(champion, challenger, hit, capacity_pct=3.0, rounds=300)
    assert c.sample == 1_000 and c.hits == int(hit.sum()) and c.enough
    assert c.challenger.auc is not None and c.champion.auc is not None
    assert c.auc.value == pytest.approx(c.challenger.auc - c.champion.auc)
    assert c.auc.low is not None and c.auc.high is not None
    assert 0 < c.auc.low < c.auc.value < c.auc.high
    decision = cc.decide(c, Criterion.AUC)
    assert decision.promote and "above zero" in decision.reason
    assert cc.decide(c, Criterion.PRECISION).promote


def test_the_same_scores_are_not_promoted() -> None:
    champion, _, hit = sample()
    c = cc.compare(champion, champion, hit, capacity_pct=3.0, rounds=200)
    assert c.auc.value == 0 and c.auc.low == 0 and c.auc.high == 0
    assert not cc.decide(c, Criterion.AUC).promote
    assert not cc.decide(c, Criterion.PRECISION).promote


def test_a_worse_challenger_is_kept_out_by_both_criteria() -> None:
    champion, challenger, hit = sample()
    c = cc.compare(challenger, champion, hit, capacity_pct=3.0, rounds=200)
    assert c.auc.high is not None and c.auc.high < 0
    assert not cc.decide(c, Criterion.AUC).promote
    assert not cc.decide(c, Criterion.PRECISION).promote


def test_a_small_sample_decides_nothing_however_good_the_challenger() -> None:
    champion, challenger, hit = sample(n=200)
    c = cc.compare(champion, challenger, hit, capacity_pct=3.0, rounds=100)
    assert not c.enough
    decision = cc.decide(c, Criterion.AUC)
    assert not decision.promote and "too small" in decision.reason
    empty = cc.compare([], [], [], capacity_pct=3.0, rounds=10)
    assert empty.sample == 0 and empty.auc.value is None
    assert not cc.decide(empty, Criterion.AUC).promote


def test_random_sample_keeps_random_controls_lodged_in_the_window() -> None:
    t = [datetime(2026, 11, d, tzinfo=UTC) for d in (1, 2, 3, 4)]
    lodged = pl.DataFrame(
        {"consignment_id": ["A", "B", "C", "D"], "version": [1, 1, 1, 1], "lodged_at": t}
    )
    outcomes = pl.DataFrame(
        {
            "consignment_id": ["A", "B", "B", "C", "D"],
            "version": [1, 1, 1, 1, 1],
            "selected_by": ["RANDOM", "RANDOM", "OFFICER", "RULE", "RANDOM"],
            "result": ["COMPLIANT", "COMPLIANT", "SEIZURE", "SEIZURE", "COMPLIANT"],
            "revenue_recovered_eur": [0.0, 0.0, 0.0, 0.0, 0.0],
            "known_at": [datetime(2026, 12, 1, tzinfo=UTC)] * 4
            + [datetime(2027, 2, 1, tzinfo=UTC)],
        }
    )
    found = cc.random_sample(outcomes, lodged, start=t[1], end=datetime(2027, 1, 1, tzinfo=UTC))
    # A lodged before the window, C not random, D known too late; B's officer seizure counts.
    assert found.select("consignment_id", "hit").rows() == [("B", True)]
