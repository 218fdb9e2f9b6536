"""Compiled models (risk.compiled): LightGBM's predictions bit for bit, compiled only when asked,
kept in the model's folder, loaded without writing; or LightGBM.

The module's models are fitted once and saved to a source folder; each test works on its own
copy of that folder, so nothing one test compiles is seen by another.
"""

from __future__ import annotations

import hashlib
import shutil
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import lightgbm as lgb
import numpy as np
import polars as pl
import pytest

from quaywatch.errors import ModelError
from quaywatch.risk import compiled
from quaywatch.risk.model import FraudModel, RevenueModel

needs_lleaves = pytest.mark.skipif(
    not compiled.available(), reason="lleaves is not installed for this Python"
)
PARAMS = {"num_threads": 1, "learning_rate": 0.1, "num_leaves": 15}
FAST = {"num_boost_round": 60, "early_stopping_rounds": 60}
Models = tuple[Path, pl.DataFrame]


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


def _fit_fraud() -> FraudModel:
    x, y, _ = _frame(3_000, seed=0)
    return FraudModel(PARAMS, **FAST).fit(x[:2_000], y[:2_000], eval_set=(x[2_000:], y[2_000:]))


@pytest.fixture(scope="module")
def source(tmp_path_factory: pytest.TempPathFactory) -> Models:
    """A folder with ``fraud/`` and ``revenue/`` saved (nothing compiled), and rows to score."""
    x, _, revenue = _frame(3_000, seed=0)
    root = tmp_path_factory.mktemp("models")
    _fit_fraud().save(root / "fraud")
    RevenueModel(PARAMS, **FAST).fit(x, revenue).save(root / "revenue")
    return root, _frame(20_000, seed=1)[0]


@pytest.fixture
def models(source: Models, tmp_path: Path) -> Models:
    """This test's own copy of the saved models."""
    root, scored = source
    return shutil.copytree(root, tmp_path / "models"), scored


def _files(folder: Path) -> dict[str, str]:
    """Every file under ``folder``, by relative path, with the SHA-256 of its bytes."""
    return {
        str(path.relative_to(folder)): hashlib.sha256(path.read_bytes()).hexdigest()
        for path in sorted(folder.rglob("*"))
        if path.is_file()
    }


def _objects(folder: Path) -> list[Path]:
    return sorted((folder / compiled.FOLDER).glob("*.o"))


@pytest.fixture
def forest_calls(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """The row counts of every compiled prediction made during the test."""
    calls: list[int] = []
    predict = compiled.Forest.predict

    def spy(self: compiled.Forest, matrix: np.ndarray) -> np.ndarray:
        calls.append(len(matrix))
        return predict(self, matrix)

    monkeypatch.setattr(compiled.Forest, "predict", spy)
    return calls


@needs_lleaves
def test_compiled_predictions_equal_lightgbm_bit_for_bit(models: Models) -> None:
    root, scored = models
    for model in (FraudModel.load(root / "fraud"), RevenueModel.load(root / "revenue")):
        forest = compiled.compile_model(model.booster, None)
        assert forest is not None
        matrix = model.matrix(scored)
        assert np.isnan(matrix).any()  # missing values and the unseen category are in it
        assert np.array_equal(forest.predict(matrix), model.booster.predict(matrix))
        # The probe reaches both sides of every split, missing and infinite values included.
        probe = compiled.probe(model.booster)
        assert probe.shape == (compiled.CHECK_ROWS, len(model.features))
        assert np.isnan(probe).any() and np.isinf(probe).any()
        assert np.array_equal(forest.predict(probe), model.booster.predict(probe))


@needs_lleaves
def test_default_blocks_would_not_be_exact(tmp_path: Path) -> None:
    """Why every tree goes in one block: lleaves' blocks add the trees in another order."""
    import lleaves

    rng = np.random.default_rng(3)
    x = rng.normal(size=(4_000, 6))
    y = (x[:, 0] + x[:, 1] * x[:, 2] + rng.normal(size=4_000) > 0).astype(float)
    booster = lgb.train({"objective": "binary", "verbosity": -1, "num_leaves": 15},
                        lgb.Dataset(x, y), num_boost_round=120)  # fmt: skip
    exact = compiled.compile_model(booster, None)
    assert exact is not None
    assert np.array_equal(exact.predict(x), booster.predict(x))
    (tmp_path / "model.txt").write_text(booster.model_to_string(), encoding="utf-8")
    blocked = lleaves.Model(model_file=str(tmp_path / "model.txt"))
    blocked.compile(fblocksize=34, finline=False)
    assert not np.array_equal(blocked.predict(x, n_jobs=1), booster.predict(x))


def test_loading_never_compiles_nor_writes(models: Models, monkeypatch, forest_calls) -> None:
    root, scored = models
    monkeypatch.setattr(compiled, "MIN_ROWS", 1_000)
    before = _files(root)
    fraud = FraudModel.load(root / "fraud")
    assert not fraud.is_compiled
    assert np.array_equal(fraud.predict_raw(scored), fraud.booster.predict(fraud.matrix(scored)))
    assert forest_calls == []  # a large batch, and still LightGBM: no compiling on the way
    assert _files(root) == before


@needs_lleaves
def test_compile_keeps_the_object_that_loading_then_uses(
    models: Models, monkeypatch, forest_calls
) -> None:
    root, scored = models
    monkeypatch.setattr(compiled, "MIN_ROWS", 1_000)
    assert FraudModel.load(root / "fraud").compile()
    (kept,) = _objects(root / "fraud")
    stamp = kept.stat().st_mtime_ns
    again = FraudModel.load(root / "fraud")
    assert again.is_compiled
    assert again.compile()  # loaded, not compiled and written again
    assert _objects(root / "fraud") == [kept] and kept.stat().st_mtime_ns == stamp
    assert not list((root / "fraud" / compiled.FOLDER).glob(".*"))  # no temporary file left
    forest_calls.clear()
    assert np.array_equal(again.predict_raw(scored), again.booster.predict(again.matrix(scored)))
    assert forest_calls == [compiled.CHECK_ROWS, len(scored)]  # the check, then the batch
    small = scored[:999]  # below MIN_ROWS: LightGBM, the same figures
    assert np.array_equal(again.predict_proba(small), again.predict_proba(scored)[:999])
    assert forest_calls[2:] == [compiled.CHECK_ROWS, len(scored)]


@needs_lleaves
def test_a_model_compiled_before_it_was_saved_keeps_its_object_in_the_folder(
    tmp_path: Path,
) -> None:
    fraud = _fit_fraud()
    assert fraud.compile()  # in memory: no folder yet
    assert fraud.is_compiled
    fraud.save(tmp_path / "fraud")
    assert fraud.compile()
    assert len(_objects(tmp_path / "fraud")) == 1
    assert FraudModel.load(tmp_path / "fraud").is_compiled


@needs_lleaves
def test_compile_refuses_a_folder_that_holds_another_model(models: Models) -> None:
    root, _ = models
    fraud = FraudModel.load(root / "fraud")
    with pytest.raises(ModelError, match="another fraud model"):
        fraud.compile(root / "revenue")
    with pytest.raises(ModelError, match="holds no saved fraud model"):
        fraud.compile(root / "elsewhere")
    assert not (root / "elsewhere").exists() and not _objects(root / "revenue")


@needs_lleaves
def test_a_compiled_model_that_differs_is_not_kept_nor_used(models: Models, monkeypatch) -> None:
    root, scored = models
    monkeypatch.setattr(compiled, "MIN_ROWS", 1_000)
    monkeypatch.setattr(compiled.Forest, "predict", lambda self, m: np.zeros(len(m)))
    fraud = FraudModel.load(root / "fraud")
    assert not fraud.compile()
    assert not fraud.is_compiled and not _objects(root / "fraud")
    assert np.array_equal(fraud.predict_raw(scored), fraud.booster.predict(fraud.matrix(scored)))


@needs_lleaves
def test_a_batch_whose_first_rows_differ_is_predicted_by_lightgbm(
    models: Models, monkeypatch
) -> None:
    root, scored = models
    assert FraudModel.load(root / "fraud").compile()
    fraud = FraudModel.load(root / "fraud")
    assert fraud.is_compiled
    monkeypatch.setattr(compiled, "MIN_ROWS", 1_000)
    monkeypatch.setattr(compiled.Forest, "predict", lambda self, m: np.zeros(len(m)))
    assert np.array_equal(fraud.predict_raw(scored), fraud.booster.predict(fraud.matrix(scored)))


def test_without_lleaves_lightgbm_predicts(models: Models, monkeypatch) -> None:
    """The extra ``compiled`` not installed: the import fails, and nothing else changes."""
    root, scored = models
    if compiled.available():  # an object compiled while lleaves was there is not loaded then
        assert FraudModel.load(root / "fraud").compile()
    monkeypatch.setitem(sys.modules, "lleaves", None)  # ``import lleaves`` raises ImportError
    monkeypatch.setattr(compiled, "MIN_ROWS", 1_000)
    assert not compiled.available()
    fraud = FraudModel.load(root / "fraud")
    assert not fraud.is_compiled
    assert not fraud.compile()
    assert np.array_equal(fraud.predict_raw(scored), fraud.booster.predict(fraud.matrix(scored)))


@needs_lleaves
def test_a_failed_compilation_leaves_lightgbm_to_predict(models: Models, monkeypatch) -> None:
    import lleaves

    root, scored = models

    def broken(self: object, *args: object, **kwargs: object) -> None:
        raise RuntimeError("LLVM failed")

    monkeypatch.setattr(compiled, "MIN_ROWS", 1_000)
    monkeypatch.setattr(lleaves.Model, "compile", broken)
    fraud = FraudModel.load(root / "fraud")
    assert not fraud.compile()
    assert not _objects(root / "fraud")
    assert np.array_equal(fraud.predict_raw(scored), fraud.booster.predict(fraud.matrix(scored)))


@needs_lleaves
def test_the_name_changes_with_the_model_and_the_options(monkeypatch) -> None:
    import llvmlite.binding as llvm

    text = "tree\nTree=0\n"
    assert compiled.key(text, 1) != compiled.key(text + " ", 1)
    assert compiled.key(text, 1) != compiled.key(text, 2)

    def unreadable() -> object:
        raise RuntimeError("LLVM cannot read the host CPU features")

    monkeypatch.setattr(llvm, "get_host_cpu_features", unreadable)
    assert compiled.key(text, 1) is not None


@needs_lleaves
def test_an_object_for_another_cpu_is_not_loaded(models: Models, monkeypatch) -> None:
    """A model folder copied to another machine: LightGBM until it is compiled there."""
    import llvmlite.binding as llvm

    root, _ = models
    assert FraudModel.load(root / "fraud").compile()
    monkeypatch.setattr(llvm, "get_host_cpu_name", lambda: "another-cpu")
    before = _files(root)
    assert not FraudModel.load(root / "fraud").is_compiled
    assert _files(root) == before
    assert FraudModel.load(root / "fraud").compile()
    assert len(_objects(root / "fraud")) == 2  # one per CPU


@needs_lleaves
def test_an_object_cut_short_is_never_loaded_and_compiled_again(models: Models) -> None:
    root, scored = models
    assert FraudModel.load(root / "fraud").compile()
    (kept,) = _objects(root / "fraud")
    kept.write_bytes(kept.read_bytes()[:100])  # a copy that stopped halfway
    assert not FraudModel.load(root / "fraud").is_compiled
    again = FraudModel.load(root / "fraud")
    assert again.compile()
    # Compiled again and saved under the same name (the compilation is deterministic), whole.
    assert _objects(root / "fraud") == [kept] and kept.stat().st_size > 100
    assert FraudModel.load(root / "fraud").is_compiled


@pytest.mark.parametrize("compile_first", [False, pytest.param(True, marks=needs_lleaves)])
def test_a_loaded_model_is_a_value_that_threads_share(
    models: Models, monkeypatch, compile_first: bool
) -> None:
    """Small and large batches from four threads at once: the single-threaded figures, no
    attribute of a model assigned, not a byte of the model folder changed or added."""
    root, scored = models
    monkeypatch.setattr(compiled, "MIN_ROWS", 10_000)
    if compile_first:
        assert FraudModel.load(root / "fraud").compile()
        assert RevenueModel.load(root / "revenue").compile()
    before = _files(root)
    fraud, revenue = FraudModel.load(root / "fraud"), RevenueModel.load(root / "revenue")
    assert fraud.is_compiled == revenue.is_compiled == compile_first
    batches = [scored[:500], scored, scored[:10_000], scored[7:11]]

    def run(batch: pl.DataFrame) -> list[np.ndarray]:
        return [fraud.predict_proba(batch), revenue.predict(batch),
                fraud.contributions(batch[:50]).to_numpy()]  # fmt: skip

    alone = [run(batch) for batch in batches]

    def forbidden(self: object, name: str, value: object) -> None:
        raise AssertionError(f"predicting assigned {name} on the model")

    for kind in (FraudModel, RevenueModel):
        monkeypatch.setattr(kind, "__setattr__", forbidden)
    with ThreadPoolExecutor(max_workers=4) as pool:
        together = list(pool.map(run, batches * 4))
    for i, found in enumerate(together):
        for got, expected in zip(found, alone[i % len(batches)], strict=True):
            assert np.array_equal(got, expected)
    assert _files(root) == before
