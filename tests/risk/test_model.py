"""FraudModel and RevenueModel: round trips, calibration, weights, refusals, contributions."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from quaywatch.errors import ModelError
from quaywatch.learning.metrics import brier
from quaywatch.risk.model import FraudModel, RevenueModel, platt

PARAMS = {"num_threads": 1, "learning_rate": 0.1, "num_leaves": 15}
FAST = {"num_boost_round": 300, "early_stopping_rounds": 20}


def _data(n: int, seed: int) -> tuple[pl.DataFrame, np.ndarray, np.ndarray]:
    """Fraud driven by a number and a category; revenue only where there is fraud."""
    rng = np.random.default_rng(seed)
    value = rng.normal(size=n)
    origin = rng.choice(["CN", "TR", "BR", "NL"], size=n)
    logit = 1.5 * value + np.where(origin == "TR", 1.5, -0.5) - 1.0
    fraud = (rng.random(n) < 1 / (1 + np.exp(-logit))).astype(np.int64)
    revenue = np.where(fraud == 1, np.exp(2 + value + rng.normal(scale=0.3, size=n)), 0.0)
    x = pl.DataFrame({"value": value, "origin": origin, "count": rng.integers(0, 5, size=n)})
    return x, fraud, revenue


@pytest.fixture(scope="module")
def data() -> tuple[pl.DataFrame, np.ndarray, np.ndarray]:
    return _data(3_000, seed=1)


def _fit(data: tuple[pl.DataFrame, np.ndarray, np.ndarray], **kwargs: object) -> FraudModel:
    x, y, _ = data
    return FraudModel(PARAMS, **FAST).fit(
        x[:2000], y[:2000], eval_set=(x[2000:], y[2000:]), **kwargs
    )  # type: ignore[arg-type]


def test_round_trip_gives_identical_predictions(data, tmp_path: Path) -> None:
    x, y, revenue = data
    model = _fit(data, training_window=("2021-01-01", "2021-12-31"))
    model.save(tmp_path / "fraud")
    loaded = FraudModel.load(tmp_path / "fraud")
    assert np.array_equal(loaded.predict_proba(x), model.predict_proba(x))
    assert loaded.calibration == model.calibration
    meta = json.loads((tmp_path / "fraud" / "metadata.json").read_text())
    assert meta["kind"] == "fraud"
    assert [f["name"] for f in meta["features"]] == ["value", "origin", "count"]
    assert meta["features"][1]["categories"] == ["BR", "CN", "NL", "TR"]
    assert meta["training_window"] == ["2021-01-01", "2021-12-31"]
    assert set(meta["versions"]) == {"lightgbm", "polars", "quaywatch"}
    assert len(meta["data_sha256"]) == 64 and meta["metrics"]["best_iteration"] >= 1

    regressor = RevenueModel(PARAMS, **FAST).fit(
        x[:2000], revenue[:2000], eval_set=(x[2000:], revenue[2000:])
    )
    regressor.save(tmp_path / "revenue")
    again = RevenueModel.load(tmp_path / "revenue")
    assert np.array_equal(again.predict(x), regressor.predict(x))
    assert (again.predict(x) >= 0).all()
    fraud_rows = y == 1
    assert again.predict(x)[fraud_rows].mean() > 3 * again.predict(x)[~fraud_rows].mean()


def test_load_refuses_a_model_that_does_not_match_its_metadata(data, tmp_path: Path) -> None:
    _fit(data).save(tmp_path / "m")
    with pytest.raises(ModelError, match="not a 'revenue' model"):
        RevenueModel.load(tmp_path / "m")
    meta_path = tmp_path / "m" / "metadata.json"
    saved = meta_path.read_text()
    meta = json.loads(saved)
    meta["features"][0]["name"] = "declared_value"
    meta_path.write_text(json.dumps(meta))
    with pytest.raises(ModelError, match="feature names in metadata do not match"):
        FraudModel.load(tmp_path / "m")
    meta = json.loads(saved)
    meta["versions"]["lightgbm"] = "3.3.5"
    meta_path.write_text(json.dumps(meta))
    with pytest.raises(ModelError, match="built with lightgbm 3.x"):
        FraudModel.load(tmp_path / "m")
    meta_path.write_text(saved)
    FraudModel.load(tmp_path / "m")  # restored: loads again
    text = (tmp_path / "m" / "model.txt").read_text()
    (tmp_path / "m" / "model.txt").write_text(text.replace("shrinkage=0.1", "shrinkage=0.2"))
    with pytest.raises(ModelError, match="changed after the model was saved"):
        FraudModel.load(tmp_path / "m")
    with pytest.raises(ModelError, match="not a readable quaywatch model"):
        FraudModel.load(tmp_path / "nothing")


def test_calibration_improves_brier_when_weights_distort_probabilities(data) -> None:
    x, y, _ = data
    test_x, test_y, _ = _data(3_000, seed=2)
    # Weighting fraud 8x inflates the raw probabilities; Platt on unweighted held-out data
    # brings them back to the observed rate.
    weights = np.where(y[:2000] == 1, 8.0, 1.0)
    model = _fit(data, sample_weight=weights)
    raw = model.predict_raw(test_x)
    calibrated = model.predict_proba(test_x)[:, 1]
    assert brier(calibrated, test_y) < brier(raw, test_y) - 0.02
    # Platt is strictly increasing: the ranking, hence precision@n and AUC, is unchanged.
    assert np.array_equal(np.argsort(raw, kind="stable"), np.argsort(calibrated, kind="stable"))
    uncalibrated = _fit(data, sample_weight=weights, calibrate=False)
    assert np.array_equal(uncalibrated.predict_proba(test_x)[:, 1], raw)


def test_sample_weights_change_the_fit(data) -> None:
    x, _, _ = data
    plain = _fit(data).predict_raw(x)
    weighted = _fit(data, sample_weight=np.linspace(0.1, 3.0, 2000)).predict_raw(x)
    assert not np.allclose(plain, weighted)


def test_platt_recovers_a_known_miscalibration() -> None:
    rng = np.random.default_rng(3)
    true = rng.uniform(0.02, 0.98, size=20_000)
    outcome = (rng.random(true.size) < true).astype(np.float64)
    logit = np.log(true / (1 - true))
    distorted = 1 / (1 + np.exp(-(0.5 * logit + 1.0)))  # a = 2, b = -2 undoes it
    a, b = platt(distorted, outcome)
    assert a == pytest.approx(2.0, abs=0.15) and b == pytest.approx(-2.0, abs=0.15)


@pytest.mark.parametrize("method", ["path", "shap"])
def test_contributions_add_up_to_the_raw_score(data, method) -> None:
    x, _, _ = data
    model = _fit(data)
    contributions = model.contributions(x[:50], method=method)
    assert contributions.columns == ["value", "origin", "count", "bias"]
    log_odds = contributions.sum_horizontal().to_numpy()
    raw = model.predict_raw(x[:50])
    assert np.allclose(1 / (1 + np.exp(-log_odds)), raw)


def test_path_and_shap_contributions_agree_on_what_raised_a_score(data) -> None:
    """The cheap path attributions name the same strongest feature as TreeSHAP on most rows."""
    x, _, _ = data
    model = _fit(data)
    risky = np.argsort(-model.predict_raw(x))[:300]
    path = model.contributions(x[risky]).drop("bias").to_numpy()
    shap = model.contributions(x[risky], method="shap").drop("bias").to_numpy()
    assert (path.argmax(axis=1) == shap.argmax(axis=1)).mean() >= 0.8
    # The matrix a caller built once is accepted in place of the frame.
    assert np.array_equal(model.contributions(model.matrix(x[risky])).to_numpy(),
                          model.contributions(x[risky]).to_numpy())  # fmt: skip
    with pytest.raises(ModelError, match="needs 3 columns"):
        model.predict_proba(np.zeros((2, 5)))


def test_scoring_refuses_data_that_does_not_fit(data) -> None:
    x, _, _ = data
    model = _fit(data)
    with pytest.raises(ModelError, match="lacks model feature"):
        model.predict_proba(x.drop("origin"))
    with pytest.raises(ModelError, match="was text in training"):
        model.predict_proba(x.with_columns(pl.lit(1).alias("origin")))
    unseen = model.predict_proba(x.with_columns(pl.lit("ZZ").alias("origin")))[:, 1]
    assert np.isfinite(unseen).all()  # an unseen category is "missing", not an error
    with pytest.raises(ModelError, match="labels must be 0 or 1"):
        FraudModel(PARAMS).fit(x, np.full(x.height, 2))
    with pytest.raises(ModelError, match="not fitted"):
        FraudModel().predict_proba(x)
