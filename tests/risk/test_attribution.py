"""Path attributions add up to LightGBM's raw score, one-leaf trees included."""

from __future__ import annotations

import lightgbm as lgb
import numpy as np
import pytest

from quaywatch.risk.attribution import PathTable


@pytest.mark.parametrize("min_data", [5, 500])  # 500 > rows: every tree is a single leaf
def test_contributions_add_up_to_the_raw_score(min_data: int) -> None:
    rng = np.random.default_rng(0)
    x = rng.normal(size=(300, 4))
    y = (x[:, 0] + 0.5 * x[:, 1] > 0).astype(float)
    params = {"objective": "binary", "verbosity": -1, "num_leaves": 8,
              "min_data_in_leaf": min_data, "num_threads": 1}  # fmt: skip
    booster = lgb.train(params, lgb.Dataset(x, y), num_boost_round=5)
    table = PathTable.of(booster)
    leaves = np.asarray(booster.predict(x, pred_leaf=True)).reshape(len(x), -1)
    found = table.contributions(leaves)
    assert found.shape == (300, 5)
    assert np.allclose(found.sum(axis=1), booster.predict(x, raw_score=True))
    if min_data > 300:
        assert np.allclose(found[:, :-1], 0.0)  # nothing split: all in the bias
