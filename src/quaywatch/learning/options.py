"""The choices of the learning loop, with no heavy imports (the command line offers them).

``weights`` and ``champion`` re-export them; see those modules for what each choice does.
"""

from __future__ import annotations

from enum import StrEnum

#: Largest weight a controlled consignment gets (its propensity floored at 1 / MAX_WEIGHT).
MAX_WEIGHT = 100.0


class Weighting(StrEnum):
    """How the controlled consignments of a training set are weighted."""

    NONE = "none"
    IPW = "ipw"


class Criterion(StrEnum):
    """What a challenger must show to replace the champion (see the module docstring)."""

    AUC = "auc"
    PRECISION = "precision"
