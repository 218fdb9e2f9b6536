"""Path attributions: how much each feature moved a tree ensemble's raw score, per row, cheaply.

Reasons need, per assessment, how far each feature pushed the score. Two ways exist:

- **TreeSHAP** (LightGBM ``pred_contrib``): Shapley values, consistent, but each row costs
  O(trees × leaves × depth²). On the scoring benchmark that was 230 µs per row, 9 s for the
  39,000 rows of a million that leave the green lane: more than the rest of scoring together.
- **Path attribution** (Saabas; the ``treeinterpreter`` method): follow the row's path down each
  tree; each split moves the expected value from the parent node's to the child's, and that
  move is credited to the split's feature. A leaf fixes its whole path, so the credit of every
  (tree, leaf) is computed once per model (``PathTable``); a row then costs one ``pred_leaf``
  and a sum over its trees' leaf entries: ~100× faster.

Both add up exactly to the raw score (bias + contributions = log-odds for the fraud model).
Path attribution credits features split near the root a little more than Shapley values do;
for the top reasons of a high score the two agree closely (measured in
``benchmarks/scoring.py``: top reason identical in most rows, see docs/risk-engine.md), which is
what an officer reads. quaywatch uses path attributions for every reason; SHAP stays available
(``FraudModel.contributions(x, method="shap")``) to check them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import lightgbm as lgb
import numpy as np
import numpy.typing as npt
import scipy.sparse as sp

Floats = npt.NDArray[np.float64]


@dataclass(frozen=True, slots=True)
class PathTable:
    """Per (tree, leaf), the credit of each feature along the path to that leaf.

    ``credit`` is sparse, one row per (tree, leaf) at ``offsets[tree] + leaf``, one column per
    feature; ``bias`` is the sum of the trees' root values (the expected raw score).
    """

    credit: sp.csr_matrix
    offsets: npt.NDArray[np.int64]
    bias: float

    @classmethod
    def of(cls, booster: lgb.Booster) -> PathTable:
        """The table of a fitted booster (walks its dumped trees once)."""
        dump = booster.dump_model()
        n_features = booster.num_feature()
        rows: list[int] = []
        columns: list[int] = []
        values: list[float] = []
        offsets = np.zeros(len(dump["tree_info"]), dtype=np.int64)
        bias = 0.0
        base = 0
        for t, tree in enumerate(dump["tree_info"]):
            offsets[t] = base
            root = tree["tree_structure"]
            bias += _value(root)
            # Depth-first over the tree: (node, credits accumulated on the way to it).
            stack: list[tuple[dict[str, Any], dict[int, float]]] = [(root, {})]
            while stack:
                node, credit = stack.pop()
                if "split_feature" not in node:  # a leaf (a one-leaf tree's has no index)
                    for feature, amount in credit.items():
                        rows.append(base + int(node.get("leaf_index", 0)))
                        columns.append(feature)
                        values.append(amount)
                    continue
                feature, here = int(node["split_feature"]), _value(node)
                for child in (node["left_child"], node["right_child"]):
                    moved = dict(credit)
                    moved[feature] = moved.get(feature, 0.0) + _value(child) - here
                    stack.append((child, moved))
            base += int(tree["num_leaves"])
        credit = sp.csr_matrix(
            (np.asarray(values), (np.asarray(rows), np.asarray(columns))),
            shape=(base, n_features),
            dtype=np.float64,
        )
        return cls(credit, offsets, bias)

    def contributions(self, leaves: npt.NDArray[np.integer[Any]]) -> Floats:
        """``(rows, features + 1)``: per-row credits, then the bias; from ``pred_leaf`` output."""
        n, trees = leaves.shape
        # One-hot rows × (tree, leaf): the sparse product sums each row's leaf credits.
        index = (leaves.astype(np.int64) + self.offsets[None, :trees]).ravel()
        pointer = np.arange(0, n * trees + 1, trees, dtype=np.int64)
        onehot = sp.csr_matrix(
            (np.ones(n * trees), index, pointer), shape=(n, self.credit.shape[0])
        )
        summed = (onehot @ self.credit).toarray()
        return np.column_stack([summed, np.full(n, self.bias)])


def _value(node: dict[str, Any]) -> float:
    return float(node["leaf_value"] if "leaf_value" in node else node["internal_value"])
