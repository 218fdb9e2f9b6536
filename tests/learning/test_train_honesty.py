"""Training honesty: the held-out figures on a case small enough to check by hand, the warnings
they raise, and the one weighting option and minimum of hits that ``train`` and ``retrain``
share. (Refusals and warnings on real stores: ``tests/services/test_risk.py``,
``tests/services/test_learning.py`` and, through the command line, ``tests/risk/test_engine.py``.)
"""

from __future__ import annotations

import inspect
from typing import Any

import numpy as np
import pytest
from typer.testing import CliRunner

from quaywatch.cli import app
from quaywatch.config import Settings
from quaywatch.errors import InputError
from quaywatch.learning import retrain as cycle, train
from quaywatch.learning.options import DEFAULT_WEIGHTING, MIN_HITS, Weighting, check_training
from quaywatch.services import learning, risk

# Ten held-out consignments, best first; the first and the third were hits.
PROBABILITY = np.array([0.9, 0.8, 0.7, 0.6, 0.5, 0.4, 0.3, 0.2, 0.1, 0.05])
OUTCOME = np.array([1, 0, 1, 0, 0, 0, 0, 0, 0, 0], dtype=np.bool_)


def test_unweighted_figures_by_hand() -> None:
    review, figures = train.held_out(PROBABILITY, OUTCOME, None, 20.0)
    # 20 % of 10 is the top 2: 0.9 (hit) and 0.8 (not): precision 1/2, cut at 0.8.
    assert review == 0.8 and figures["held_out_precision_at_capacity"] == 0.5
    # Of the 2 × 8 hit/non-hit pairs, the hit scores higher in all but (0.7, 0.8): 15/16.
    assert figures["held_out_auc"] == 15 / 16 and figures["held_out_hits"] == 2
    assert figures["held_out_brier"] == pytest.approx(np.mean((PROBABILITY - OUTCOME) ** 2))


def test_weighted_figures_by_hand() -> None:
    weight = np.array([0.5, 0.5, 2, 1, 1, 1, 1, 1, 1, 1])  # sums to 10
    review, figures = train.held_out(PROBABILITY, OUTCOME, weight, 20.0)
    # 20 % of the weight: 0.5 + 0.5 is 10 %, with 0.7's weight of 2 it is 30 %: cut at 0.7.
    assert review == 0.7
    # At or above it: weights 0.5 (hit), 0.5 (not), 2 (hit): (0.5 + 2) / 3.
    assert figures["held_out_precision_at_capacity"] == pytest.approx(2.5 / 3)
    # Pairs weighted w_hit × w_non-hit: 0.9 (0.5) beats all 7.5 of non-hit weight, 0.7 (2)
    # beats the seven of weight 1, not 0.8: (3.75 + 14) / (2.5 × 7.5).
    assert figures["held_out_auc"] == pytest.approx(17.75 / 18.75)
    assert figures["held_out_hits"] == 2  # counted, not weighted


def figures(**given: Any) -> dict[str, Any]:
    fine = {"hits": 80, "min_hits": 50, "held_out_hits": 16, "held_out_auc": 0.81,
            "held_out_precision_at_capacity": 0.3, "capacity_pct": 3.0}  # fmt: skip
    return fine | given


@pytest.mark.parametrize(
    ("given", "said"),
    [
        ({}, []),
        ({"hits": 25}, ["only 25 hits, below the 50", "random control sample", "label-free"]),
        ({"held_out_auc": 0.52}, ["held-out AUC 0.520: the model ranks about as well as drawing"]),
        ({"held_out_auc": 0.41}, ["held-out AUC 0.410"]),
        ({"held_out_precision_at_capacity": 0.0}, ["precision at 3 % capacity is 0"]),
        (
            {"held_out_hits": 0, "held_out_auc": None, "held_out_precision_at_capacity": 0.0},
            ["no held-out AUC: the held-out consignments hold 0 hits", "capacity is 0"],
        ),
    ],
)  # fmt: skip
def test_warnings_name_what_is_wrong(given: dict[str, Any], said: list[str]) -> None:
    found = " | ".join(train.warnings(figures(**given)))
    assert all(text in found for text in said), found
    assert bool(found) == bool(said)


def test_train_and_retrain_share_one_weighting_and_one_minimum_of_hits() -> None:
    for function in (train.fit, cycle.retrain, risk.train_models, learning.retrain):
        parameters = inspect.signature(function).parameters
        assert parameters["weighting"].default is DEFAULT_WEIGHTING is Weighting.IPW
        assert parameters["allow_few_hits"].default is False
    for function in (cycle.retrain, risk.train_models, learning.retrain):
        assert inspect.signature(function).parameters["min_hits"].default == MIN_HITS == 50
    assert Settings().train_min_hits == MIN_HITS
    runner = CliRunner()
    helps = [runner.invoke(app, [command, "--help"]).output for command in ("train", "retrain")]
    for option in ("--weighting", "--max-weight", "--allow-few-hits"):
        assert all(option in text for text in helps)
    assert all("[default: ipw]" in text and "[default: 100.0; x>=1.0]" in text for text in helps)


@pytest.mark.parametrize(
    ("max_weight", "min_hits", "message"),
    [(0.5, 50, "max_weight must be at least 1, got 0.5"), (10.0, 0, "min_hits must be at least 1")],
)
def test_training_options_are_checked_by_name(
    max_weight: float, min_hits: int, message: str
) -> None:
    with pytest.raises(InputError, match=message):
        check_training(max_weight, min_hits)
