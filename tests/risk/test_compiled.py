"""Compiled models (risk.compiled): LightGBM's predictions bit for bit, cached, or LightGBM."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import lightgbm as lgb
import numpy as np
import polars as pl
import pytest

from quaywatch.risk import compiled
from quaywatch.risk.model import FraudModel, RevenueModel

pytestmark = pytest.mark.skipif(
    not compiled.available(), reason="lleaves is not installed for this Python"
)
PARAMS = {"num_threads": 1, "learning_rate": 0.1, "num_leaves": 15}
FAST = {"num_boost_round": 60, "early_stopping_rounds": 60}


def _frame(n: int, seed: int) -> tuple[pl.DataFrame, np.ndarray, np.ndarray]:
    """Numbers with missing values, a category with one value never seen in training."""
    rng = np.random.default_rng(seed)
    value = rng.normal(size=n)
    value[rng.random(n) < 0.1] = np.nan
    origins = ["CN", "TR", "BR", "NL", "EC", "IN"] if seed else ["CN", "TR", "BR", "NL", "EC"]
    origin = rng.choice(origins, size=n)
    logit = 1.5 * np.nan_to_num(value) + np.where(origin == "TR", 1.5, -0.5)
    fraud = (rng.random(n) < 1 / (1 + np.exp(-logit))).astype(np.int64)
    revenue = np.where(fraud == 1, np.exp(2 + np.nan_to_num(value)), 0.0)
    x = pl.DataFrame({"value": value, "origin": origin, "count": rng.integers(0, 9, size=n)})
    return x, fraud, revenue


@pytest.fixture(scope="module")
def models() -> tuple[FraudModel, RevenueModel, pl.DataFrame]:
    x, y, revenue = _frame(3_000, seed=0)
    fraud = FraudModel(PARAMS, **FAST).fit(x[:2_000], y[:2_000], eval_set=(x[2_000:], y[2_000:]))
    money = RevenueModel(PARAMS, **FAST).fit(x, revenue)
    return fraud, money, _frame(20_000, seed=1)[0]


@pytest.fixture(autouse=True)
def _fresh(models) -> Iterator[None]:
    """Each test starts, and leaves, the shared models with nothing compiled and no folder."""
    for model in models[:2]:
        model._forest, model._forest_state, model._folder = None, "unbuilt", None
    yield
    for model in models[:2]:
        model._forest, model._forest_state, model._folder = None, "unbuilt", None


def test_compiled_predictions_equal_lightgbm_bit_for_bit(models) -> None:
    fraud, money, scored = models
    for model in (fraud, money):
        booster = model.booster
        forest = compiled.compile_model(booster.model_to_string(), booster.num_trees(), None)
        assert forest is not None
        matrix = model.matrix(scored)
        assert np.isnan(matrix).any()  # missing values and the unseen category are in it
        assert np.array_equal(forest.predict(matrix), booster.predict(matrix))


def test_default_blocks_would_not_be_exact(tmp_path: Path) -> None:
    """Why every tree goes in one block: lleaves' blocks add the trees in another order."""
    import lleaves

    rng = np.random.default_rng(3)
    x = rng.normal(size=(4_000, 6))
    y = (x[:, 0] + x[:, 1] * x[:, 2] + rng.normal(size=4_000) > 0).astype(float)
    booster = lgb.train({"objective": "binary", "verbosity": -1, "num_leaves": 15},
                        lgb.Dataset(x, y), num_boost_round=120)  # fmt: skip
    text = booster.model_to_string()
    exact = compiled.compile_model(text, booster.num_trees(), None)
    assert exact is not None
    assert np.array_equal(exact.predict(x), booster.predict(x))
    (tmp_path / "model.txt").write_text(text, encoding="utf-8")
    blocked = lleaves.Model(model_file=str(tmp_path / "model.txt"))
    blocked.compile(fblocksize=34, finline=False)
    assert not np.array_equal(blocked.predict(x, n_jobs=1), booster.predict(x))


def test_the_object_is_kept_in_the_model_folder_and_reused(models, tmp_path: Path) -> None:
    fraud, _, scored = models
    fraud.save(tmp_path / "fraud")
    loaded = FraudModel.load(tmp_path / "fraud")
    assert loaded.compile()
    (kept,) = (tmp_path / "fraud" / compiled.FOLDER).glob("*.o")
    stamp = kept.stat().st_mtime_ns
    again = FraudModel.load(tmp_path / "fraud")
    assert again.compile()
    assert kept.stat().st_mtime_ns == stamp  # loaded, not compiled and written again
    matrix = again.matrix(scored)
    assert np.array_equal(again._compiled(matrix).predict(matrix), fraud.booster.predict(matrix))


def test_a_model_compiled_before_it_was_saved_keeps_its_object_in_the_folder(
    models, tmp_path: Path
) -> None:
    fraud, _, _ = models
    fraud._forest, fraud._forest_state = None, "unbuilt"
    assert fraud.compile()  # in memory: no folder yet
    fraud.save(tmp_path / "fraud")
    assert fraud.compile()
    assert len(list((tmp_path / "fraud" / compiled.FOLDER).glob("*.o"))) == 1


def test_large_batches_use_the_compiled_model(models, monkeypatch) -> None:
    fraud, money, scored = models
    monkeypatch.setattr(compiled, "MIN_ROWS", 1_000)
    for model in (fraud, money):
        model._forest, model._forest_state = None, "unbuilt"
    assert np.array_equal(fraud.predict_raw(scored), fraud.booster.predict(fraud.matrix(scored)))
    assert np.array_equal(money.predict(scored), money.booster.predict(money.matrix(scored)))
    assert fraud._forest_state == money._forest_state == "checked"
    small = scored[:999]  # below MIN_ROWS: LightGBM, the same figures
    assert np.array_equal(fraud.predict_proba(small), fraud.predict_proba(scored)[:999])


def test_a_compiled_model_that_differs_is_dropped_for_lightgbm(models, monkeypatch) -> None:
    fraud, _, scored = models
    monkeypatch.setattr(compiled, "MIN_ROWS", 1_000)
    monkeypatch.setattr(compiled.Forest, "predict", lambda self, m: np.zeros(len(m)))
    fraud._forest, fraud._forest_state = None, "unbuilt"
    assert np.array_equal(fraud.predict_raw(scored), fraud.booster.predict(fraud.matrix(scored)))
    assert fraud._forest_state == "unavailable"


def test_without_lleaves_lightgbm_predicts(models, monkeypatch) -> None:
    fraud, _, scored = models
    monkeypatch.setattr(compiled, "MIN_ROWS", 1_000)
    monkeypatch.setattr(compiled, "_compiler", lambda: None)
    fraud._forest, fraud._forest_state = None, "unbuilt"
    assert not fraud.compile()
    assert np.array_equal(fraud.predict_raw(scored), fraud.booster.predict(fraud.matrix(scored)))


def test_a_failed_compilation_leaves_lightgbm_to_predict(models, monkeypatch) -> None:
    import lleaves

    fraud, _, scored = models

    def broken(self: object, *args: object, **kwargs: object) -> None:
        raise RuntimeError("LLVM failed")

    monkeypatch.setattr(compiled, "MIN_ROWS", 1_000)
    monkeypatch.setattr(lleaves.Model, "compile", broken)
    fraud._forest, fraud._forest_state = None, "unbuilt"
    assert not fraud.compile()
    assert np.array_equal(fraud.predict_raw(scored), fraud.booster.predict(fraud.matrix(scored)))


def test_the_name_changes_with_the_model_and_the_options(monkeypatch) -> None:
    import llvmlite.binding as llvm

    text = "tree\nTree=0\n"
    assert compiled.key(text, 1) != compiled.key(text + " ", 1)
    assert compiled.key(text, 1) != compiled.key(text, 2)

    def unreadable() -> object:
        raise RuntimeError("LLVM cannot read the host CPU features")

    monkeypatch.setattr(llvm, "get_host_cpu_features", unreadable)
    assert compiled.key(text, 1) is not None


def test_an_object_cut_short_is_compiled_again_not_loaded(models, tmp_path: Path) -> None:
    fraud, _, scored = models
    fraud.save(tmp_path / "fraud")
    assert fraud.compile()
    (kept,) = (tmp_path / "fraud" / compiled.FOLDER).glob("*.o")
    kept.write_bytes(kept.read_bytes()[:100])  # a copy that stopped halfway
    again = FraudModel.load(tmp_path / "fraud")
    assert again.compile()
    # Compiled again and saved under the same name (the compilation is deterministic), whole.
    (rewritten,) = (tmp_path / "fraud" / compiled.FOLDER).glob("*.o")
    assert rewritten == kept and kept.stat().st_size > 100
    assert compiled._sound(kept.parent, kept.stem.rsplit("-", 1)[0]) == kept
    matrix = again.matrix(scored)
    assert np.array_equal(again._compiled(matrix).predict(matrix), fraud.booster.predict(matrix))
