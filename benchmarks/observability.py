"""How much of each injected pattern the declared features show: a truth-trained reference.

    python benchmarks/observability.py --traffic traffic --split 2026-12-10 [--folds 2]

The evaluation's oracle ranks by the truth, so it shows what capacity allows, not what the data
allows. This script gives a reference for the second: a LightGBM classifier trained **on the
ground truth of the test period itself** (every consignment labelled illicit or not,
cross-fitted in ``--folds`` random folds so no row is scored by a model that saw its label)
over the declared features quaywatch computes (``features.declared``: ``FEATURES`` and
``CONTEXT``, value reference fitted before ``--split``). No deployable scorer has that many
labels, so its recall per pattern at n % of traffic says what a learner can draw from the
declared features with every label there is. It is not a proof of a bound: knowledge put in
by hand (a risk profile's list of subheadings) can add to it, and a classifier per pattern
could rank one pattern higher at the expense of the others. It reads the generator's CSVs
(``synth.frames``), not a store.

Prints, per capacity (1, 2, 3, 5, 10 %), recall per pattern and overall, next to the
arithmetic bound ``capacity / share illicit`` that even the oracle cannot pass; last line JSON.
"""

from __future__ import annotations

import argparse
import json
from datetime import UTC, datetime
from pathlib import Path

import lightgbm as lgb
import numpy as np
import polars as pl

from quaywatch.features import declared
from quaywatch.learning import metrics
from quaywatch.learning.dataset import load_truth
from quaywatch.synth import frames

PERCENTS = (1.0, 2.0, 3.0, 5.0, 10.0)
_PARAMS = {"objective": "binary", "learning_rate": 0.05, "num_leaves": 63,
           "min_data_in_leaf": 20, "verbose": -1, "seed": 7}  # fmt: skip


#: What the classifier reads: the model's declared features and the context columns (the
#: subheadings of the items at the extremes), categorical ones as integer codes.
_COLUMNS = (*declared.FEATURES, *declared.CONTEXT)
_CATEGORICAL = (*declared.CATEGORICAL, *declared.CONTEXT)


def _matrix(features: pl.DataFrame) -> tuple[np.ndarray, list[int]]:
    """The declared columns as one float matrix; categorical columns as integer codes."""
    columns = [
        pl.col(c).cast(pl.String).cast(pl.Categorical).to_physical().cast(pl.Float64)
        if c in _CATEGORICAL
        else pl.col(c).cast(pl.Float64)
        for c in _COLUMNS
    ]
    categorical = [i for i, c in enumerate(_COLUMNS) if c in _CATEGORICAL]
    return features.select(columns).to_numpy(), categorical


def cross_fitted(x: np.ndarray, y: np.ndarray, categorical: list[int], folds: int) -> np.ndarray:
    """Out-of-fold probabilities: each row scored by a model trained on the other folds."""
    fold = np.random.default_rng(7).integers(0, folds, len(y))
    scores = np.zeros(len(y))
    for k in range(folds):
        train = lgb.Dataset(x[fold != k], y[fold != k], categorical_feature=categorical)
        booster = lgb.train(_PARAMS, train, num_boost_round=300)
        scores[fold == k] = booster.predict(x[fold == k])
    return scores


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--traffic", type=Path, required=True, help="quaywatch generate --out")
    parser.add_argument("--split", required=True, help="YYYY-MM-DD: reference before, test after")
    parser.add_argument("--folds", type=int, default=2)
    args = parser.parse_args()
    split = datetime.fromisoformat(args.split).replace(tzinfo=UTC)

    items = declared.item_features(
        frames.goods_item_rows(sorted((args.traffic / "consignments").glob("*.csv")))
    )
    reference = declared.ValueReference.fit(items.filter(pl.col("lodged_at") < split))
    test = declared.consignment_features(items.filter(pl.col("lodged_at") >= split), reference)
    truth = load_truth(args.traffic / "truth" / "truth.parquet")
    test = test.join(truth.select(*declared.KEY, "illicit", "pattern"), on=list(declared.KEY))
    x, categorical = _matrix(test)
    y = test.get_column("illicit").cast(pl.Int32).to_numpy()
    pattern = test.get_column("pattern").to_numpy()
    scores = cross_fitted(x, y, categorical, args.folds)

    share = float(y.mean())
    result: dict[str, object] = {
        "rows": len(y),
        "share_illicit": share,
        "auc": metrics.roc_auc(scores, y),
    }
    print(f"{len(y):,} consignments after {args.split}, {share:.2%} illicit; "
          f"cross-fitted AUC {result['auc']:.3f}")  # fmt: skip
    names = sorted(set(pattern.tolist()) - {metrics.LICIT_PATTERN})
    print(
        f"{'capacity':>8} {'bound':>6} {'overall':>8} " + " ".join(f"{n[:14]:>14}" for n in names)
    )
    for percent in PERCENTS:
        k = metrics.cutoff(len(y), percent)
        recall = metrics.recall_by_pattern(scores, pattern, k)
        overall = metrics.recall_at_k(scores, y, k) or 0.0
        bound = min(1.0, percent / 100 / share)
        print(f"{percent:>7.0f}% {bound:>6.2f} {overall:>8.2f} "
              + " ".join(f"{recall.get(n) or 0.0:>14.2f}" for n in names))  # fmt: skip
        result[str(int(percent))] = {"bound": bound, "overall": overall, "patterns": recall}
    print(json.dumps(result))


if __name__ == "__main__":
    main()
