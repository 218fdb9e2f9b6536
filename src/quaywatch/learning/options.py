"""The choices of the learning loop, with no heavy imports (the command line offers them).

``weights`` and ``champion`` re-export them; see those modules for what each choice does.

One definition serves ``quaywatch train`` and ``quaywatch retrain`` (and their services), so
that a model's figures mean the same whichever command made it:

- ``DEFAULT_WEIGHTING`` is inverse propensity. Every stored outcome carries its selection
  propensity (intake requires it), so the weights can always be computed; with them the
  held-out figures a training reports (precision at capacity, AUC) and the review cut refer to
  the whole traffic, not to the controlled part of it, which the old selection enriched in
  hits, and the probabilities come out about three times closer to the traffic's hit rate
  (``docs/learning-loop.md``). ``Weighting.NONE`` stays available for comparison.
- ``MIN_HITS`` is the fewest hits a training accepts without being told to accept fewer
  (the setting ``QUAYWATCH_TRAIN_MIN_HITS`` changes it; ``learning.train`` says why it
  refuses rather than warns).
"""

from __future__ import annotations

from enum import StrEnum

from quaywatch.errors import InputError

#: Largest weight a controlled consignment gets (its propensity floored at 1 / MAX_WEIGHT).
MAX_WEIGHT = 100.0
#: Fewest hits (controls that found something) ``train`` and ``retrain`` learn from unless
#: told to accept fewer: with some 25, a model ranked at about random on a port's own traffic.
MIN_HITS = 50


class Weighting(StrEnum):
    """How the controlled consignments of a training set are weighted."""

    NONE = "none"
    IPW = "ipw"


#: The weighting of ``train`` and ``retrain`` alike (module docstring).
DEFAULT_WEIGHTING = Weighting.IPW


class Criterion(StrEnum):
    """What a challenger must show to replace the champion (see the module docstring)."""

    AUC = "auc"
    PRECISION = "precision"


def check_training(max_weight: float, min_hits: int) -> None:
    """``InputError`` naming the argument when ``max_weight`` is below 1 or ``min_hits`` below 1."""
    if not max_weight >= 1:
        raise InputError(f"max_weight must be at least 1, got {max_weight:g}")
    if min_hits < 1:
        raise InputError(f"min_hits must be at least 1, got {min_hits}")
