"""LightGBM models for risk: the fraud probability and the revenue at stake of a consignment.

Both follow scikit-learn's contract (``fit`` / ``predict`` / ``predict_proba``) over polars
frames, wrap ``lightgbm.train`` directly, and save to a folder that holds everything needed to
reproduce a prediction:

``model.txt``
    the LightGBM text model, cut at the best iteration found by early stopping;
``metadata.json``
    kind, feature names with dtypes and categories, parameters, best iteration, training window,
    metrics, calibration, a SHA-256 of the training data and of ``model.txt``, and the versions
    of lightgbm, polars and quaywatch that built it.

``load`` refuses a folder whose metadata does not match its model (another kind, a changed
``model.txt``, other feature names, another lightgbm major version) with a ``ModelError``: a
silently wrong score is worse than none.

**A fitted or loaded model is a value.** ``predict``, ``predict_proba``, ``predict_raw``,
``matrix`` and ``contributions`` read the model and never assign to it, nor write a file:
one loaded model serves any number of threads at once. What they need is built when the model
is fitted or loaded (the path table of ``contributions``, the compiled model ``load`` finds in
the folder). Only ``fit``, ``save`` and ``compile`` change a model; ``compile`` (the explicit
step that compiles it for large batches, ``risk.compiled``) attaches the compiled model in one
assignment, so a prediction running meanwhile uses LightGBM or the whole compiled model.

Calibration (``FraudModel``): Platt scaling, a logistic regression of the outcome on the logit of
the raw LightGBM probability, fitted on the held-out ``eval_set``. It is chosen over isotonic
regression because it is strictly increasing, so it never changes the ranking (precision@n and
AUC are the same before and after), it needs two numbers in the metadata, and it is stable on
small held-out sets. It matters when training weights distort the raw probabilities (the
learning loop's inverse-propensity weights, class weights).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from datetime import UTC, datetime
from importlib.metadata import version
from pathlib import Path
from typing import Any, ClassVar, Literal, Self

import lightgbm as lgb
import numpy as np
import numpy.typing as npt
import polars as pl

from quaywatch.errors import ModelError
from quaywatch.risk import compiled, frame as fr
from quaywatch.risk.attribution import PathTable

FORMAT = 1
MODEL_FILE = "model.txt"
METADATA_FILE = "metadata.json"

#: Defaults shared by both models; a caller's ``params`` override them key by key.
DEFAULT_PARAMS: dict[str, Any] = {
    "learning_rate": 0.05,
    "num_leaves": 31,
    "min_data_in_leaf": 20,
    "feature_fraction": 0.9,
    "cat_smooth": 10.0,
    "min_data_per_group": 50,
    "seed": 7,
    "deterministic": True,
    "force_row_wise": True,
    "verbosity": -1,
}

EvalSet = tuple[pl.DataFrame, npt.ArrayLike] | tuple[pl.DataFrame, npt.ArrayLike, npt.ArrayLike]
Floats = npt.NDArray[np.float64]


def _logit(p: Floats) -> Floats:
    clipped = np.clip(p, 1e-12, 1 - 1e-12)
    return np.asarray(np.log(clipped / (1 - clipped)), dtype=np.float64)


def _sigmoid(z: Floats) -> Floats:
    return np.asarray(1.0 / (1.0 + np.exp(-z)), dtype=np.float64)


def platt(raw: Floats, outcome: Floats, weight: Floats | None = None) -> tuple[float, float]:
    """``(a, b)`` of ``P(fraud) = sigmoid(a · logit(raw) + b)`` by weighted Newton steps.

    A tiny ridge keeps the solution finite when the held-out set is separable.
    """
    z = _logit(raw)
    w = np.ones_like(z) if weight is None else weight
    x = np.column_stack([z, np.ones_like(z)])
    theta = np.array([1.0, 0.0])
    for _ in range(50):
        p = _sigmoid(x @ theta)
        gradient = x.T @ (w * (p - outcome)) + 1e-6 * theta
        hessian = (x * (w * p * (1 - p))[:, None]).T @ x + 1e-6 * np.eye(2)
        step = np.linalg.solve(hessian, gradient)
        theta -= step
        if np.abs(step).max() < 1e-10:
            break
    return float(theta[0]), float(theta[1])


class _Booster:
    """What both models share: fitting with early stopping, the matrix, contributions, files."""

    kind: ClassVar[str]
    objective: ClassVar[dict[str, Any]]

    def __init__(
        self,
        params: dict[str, Any] | None = None,
        *,
        num_boost_round: int = 2_000,
        early_stopping_rounds: int = 100,
    ) -> None:
        self.params: dict[str, Any] = {**DEFAULT_PARAMS, **(params or {}), **self.objective}
        self.num_boost_round = num_boost_round
        self.early_stopping_rounds = early_stopping_rounds
        self.features: list[fr.FeatureSpec] = []
        self.metrics: dict[str, float] = {}
        self.metadata: dict[str, Any] = {}
        self._booster: lgb.Booster | None = None
        self._paths: PathTable | None = None
        # The folder the model was saved to or loaded from (where ``compile`` keeps its
        # compiled object) and the compiled model for large batches (``risk.compiled``), if any.
        self._folder: Path | None = None
        self._forest: compiled.Forest | None = None

    @property
    def booster(self) -> lgb.Booster:
        """The fitted LightGBM booster; a ``ModelError`` before ``fit``."""
        if self._booster is None:
            raise ModelError(f"the {self.kind} model is not fitted")
        return self._booster

    def _dataset(
        self, x: fr.Matrix, y: Floats, weight: Floats | None, reference: lgb.Dataset | None = None
    ) -> lgb.Dataset:
        return lgb.Dataset(
            x,
            label=y,
            weight=weight,
            feature_name=[fr.lightgbm_name(f.name) for f in self.features],
            categorical_feature=[i for i, f in enumerate(self.features) if f.categorical],
            reference=reference,
            free_raw_data=False,
        )

    def _check_labels(self, y: Floats) -> None:
        """Subclasses refuse labels their objective cannot learn."""

    def _fit(
        self,
        x_frame: pl.DataFrame,
        y_raw: npt.ArrayLike,
        sample_weight: npt.ArrayLike | None,
        eval_set: EvalSet | None,
        training_window: tuple[str, str] | None,
    ) -> tuple[fr.Matrix, Floats, Floats | None] | None:
        """Train; return the held-out matrix, labels and weights (None without an eval set)."""
        self.features = fr.specs_of(x_frame)
        x = fr.matrix(x_frame, self.features)
        y = fr.vector(y_raw, x.shape[0], "y")
        assert y is not None
        self._check_labels(y)
        weight = fr.vector(sample_weight, x.shape[0], "sample_weight")
        if weight is not None and (weight < 0).any():
            raise ModelError("sample_weight must not be negative")
        train = self._dataset(x, y, weight)
        held_out = None
        callbacks: list[Callable[..., Any]] = []
        valid_sets = []
        if eval_set is not None:
            xv = fr.matrix(eval_set[0], self.features)
            yv = fr.vector(eval_set[1], xv.shape[0], "eval_set labels")
            wv = fr.vector(eval_set[2] if len(eval_set) == 3 else None, xv.shape[0], "eval weights")
            assert yv is not None
            self._check_labels(yv)
            valid_sets = [self._dataset(xv, yv, wv, reference=train)]
            callbacks = [lgb.early_stopping(self.early_stopping_rounds, verbose=False)]
            held_out = (xv, yv, wv)
        fitted = lgb.train(
            self.params,
            train,
            num_boost_round=self.num_boost_round,
            valid_sets=valid_sets,
            valid_names=["held_out"] if valid_sets else None,
            callbacks=callbacks,
        )
        best = fitted.best_iteration if fitted.best_iteration > 0 else fitted.current_iteration()
        # Reparse the text cut at the best iteration: the model in memory is then exactly the
        # one ``save`` writes, so a loaded model predicts bit for bit the same.
        self._booster = lgb.Booster(model_str=fitted.model_to_string(num_iteration=best))
        self._paths = PathTable.of(self._booster)
        self._folder = None
        self._forest = None
        score = {
            f"held_out_{k}": float(v) for k, v in fitted.best_score.get("held_out", {}).items()
        }
        self.metrics = {"best_iteration": float(best), "train_rows": float(x.shape[0]), **score}
        self.metadata = {
            "training_window": list(training_window) if training_window else None,
            "data_sha256": fr.data_hash(x, y, weight),
            "trained_at": datetime.now(UTC).isoformat(timespec="seconds"),
        }
        return held_out

    def matrix(self, x: pl.DataFrame | fr.Matrix) -> fr.Matrix:
        """The float matrix LightGBM reads for ``x``, in the order of ``features``.

        Every ``predict`` accepts it in place of the frame: a caller running two models with the
        same features (``features`` compare equal) builds it once.
        """
        if isinstance(x, pl.DataFrame):
            # A batch the compiled model will predict gets the layout it reads (row by row);
            # LightGBM reads either as fast.
            by_rows = x.height >= compiled.MIN_ROWS and self._forest is not None
            return fr.matrix(x, self.features, by_rows=by_rows)
        if x.ndim != 2 or x.shape[1] != len(self.features):
            raise ModelError(
                f"a matrix for the {self.kind} model needs {len(self.features)} columns, "
                f"got shape {x.shape}"
            )
        return x

    def _raw(self, x: pl.DataFrame | fr.Matrix) -> Floats:
        matrix = self.matrix(x)
        forest = self._forest  # read once: ``compile`` may attach one meanwhile
        if forest is not None and len(matrix) >= compiled.MIN_ROWS:
            fast = compiled.checked_predict(forest, self.booster, matrix)
            if fast is not None:
                return fast
        return np.asarray(self.booster.predict(matrix), dtype=np.float64)

    @property
    def is_compiled(self) -> bool:
        """Whether large batches predict with the compiled model (``risk.compiled``)."""
        return self._forest is not None

    def compile(self, folder: Path | None = None) -> bool:
        """Compile the model for large batches (``risk.compiled``), keep it in ``folder`` and
        use it; whether it is used (False where lleaves is missing or it differs from LightGBM).

        ``folder`` is the model's folder: by default the one it was saved to or loaded from
        (neither: compiled in memory only). A sound object already there is loaded, not compiled
        again. The explicit step that ``quaywatch train``, a promotion and ``quaywatch model
        compile`` run; predicting never compiles. A ``ModelError`` when ``folder`` does not
        hold this model or cannot be written.
        """
        target = self._folder if folder is None else folder
        if target is not None:
            self._check_folder(target)
        self._forest = compiled.compile_model(self.booster, target)
        if target is not None:
            self._folder = target
        return self._forest is not None

    def _check_folder(self, folder: Path) -> None:
        """A ``ModelError`` unless ``folder`` holds this model (its ``model.txt``)."""
        try:
            text = (folder / MODEL_FILE).read_text(encoding="utf-8")
        except OSError as exc:
            raise ModelError(f"{folder} holds no saved {self.kind} model: {exc}") from None
        if text != self.booster.model_to_string():
            raise ModelError(f"{folder} holds another {self.kind} model than this one")

    def contributions(
        self, x: pl.DataFrame | fr.Matrix, *, method: Literal["path", "shap"] = "path"
    ) -> pl.DataFrame:
        """Per-row contributions, one column per feature plus ``bias``.

        They add up to the raw score: log-odds for ``FraudModel``, log revenue for
        ``RevenueModel`` (before calibration). The explainer turns the largest into reasons.
        ``path`` (default) credits each split on a row's paths to its feature
        (``risk.attribution``); ``shap`` is LightGBM's TreeSHAP (``pred_contrib``), ~100× slower.
        """
        matrix = self.matrix(x)
        if method == "shap":
            values = self.booster.predict(matrix, pred_contrib=True)
        else:
            if self._paths is None:  # built by ``fit`` and ``load``: only before ``fit``
                raise ModelError(f"the {self.kind} model is not fitted")
            leaves = np.asarray(self.booster.predict(matrix, pred_leaf=True))
            values = self._paths.contributions(leaves.reshape(len(matrix), -1))
        names = [f.name for f in self.features] + ["bias"]
        return pl.DataFrame(np.asarray(values, dtype=np.float64), schema=names, orient="row")

    def _extra(self) -> dict[str, Any]:
        return {}

    def _restore(self, metadata: dict[str, Any]) -> None:
        """Subclasses read their own metadata entries back."""

    def save(self, path: Path) -> None:
        """Write ``model.txt`` and ``metadata.json`` into the folder ``path`` (created if needed)."""
        text = self.booster.model_to_string()
        path.mkdir(parents=True, exist_ok=True)
        metadata = {
            "format": FORMAT,
            "kind": self.kind,
            "features": [f.to_json() for f in self.features],
            "params": self.params,
            "num_boost_round": self.num_boost_round,
            "early_stopping_rounds": self.early_stopping_rounds,
            "metrics": self.metrics,
            **self.metadata,
            **self._extra(),
            "model_sha256": hashlib.sha256(text.encode()).hexdigest(),
            "versions": {p: version(p) for p in ("lightgbm", "polars", "quaywatch")},
        }
        (path / MODEL_FILE).write_text(text, encoding="utf-8")
        (path / METADATA_FILE).write_text(json.dumps(metadata, indent=2), encoding="utf-8")
        # From now on ``compile`` keeps the compiled model in this folder. One compiled before
        # (in memory) stays in use: it is the same model.
        self._folder = path

    @classmethod
    def load(cls, path: Path) -> Self:
        """The model saved in ``path``; a ``ModelError`` if its metadata does not match it."""
        try:
            text = (path / MODEL_FILE).read_text(encoding="utf-8")
            metadata = json.loads((path / METADATA_FILE).read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise ModelError(f"{path} is not a readable quaywatch model folder: {exc}") from None
        problem = _mismatch(cls.kind, text, metadata)
        if problem:
            raise ModelError(f"{path}: {problem}")
        model = cls(metadata["params"], num_boost_round=metadata["num_boost_round"],
                    early_stopping_rounds=metadata["early_stopping_rounds"])  # fmt: skip
        model.features = [fr.FeatureSpec.from_json(f) for f in metadata["features"]]
        model.metrics = dict(metadata["metrics"])
        model.metadata = {
            k: metadata.get(k) for k in ("training_window", "data_sha256", "trained_at")
        }
        booster = lgb.Booster(model_str=text)
        if booster.feature_name() != [fr.lightgbm_name(f.name) for f in model.features]:
            raise ModelError(f"{path}: the feature names in metadata do not match the model")
        model._booster = booster
        model._paths = PathTable.of(booster)
        model._folder = path
        # Only an object already compiled for this machine: loading never compiles or writes.
        model._forest = compiled.load(booster, path)
        model._restore(metadata)
        return model


def _mismatch(kind: str, text: str, metadata: dict[str, Any]) -> str | None:
    """Why a saved model cannot be trusted, or None."""
    if metadata.get("format") != FORMAT:
        return f"model format {metadata.get('format')!r}, this quaywatch reads {FORMAT}"
    if metadata.get("kind") != kind:
        return f"a {metadata.get('kind')!r} model, not a {kind!r} model"
    if metadata.get("model_sha256") != hashlib.sha256(text.encode()).hexdigest():
        return f"{MODEL_FILE} was changed after the model was saved"
    built = str(metadata.get("versions", {}).get("lightgbm", "?")).split(".")[0]
    if built != lgb.__version__.split(".")[0]:
        return f"built with lightgbm {built}.x, this is lightgbm {lgb.__version__}"
    return None


class FraudModel(_Booster):
    """Binary classifier of fraud (hit) with Platt calibration on the held-out set.

    >>> model = FraudModel({"num_threads": 2})  # doctest: +SKIP
    >>> model.fit(x_train, y_train, eval_set=(x_valid, y_valid)).predict_proba(x_test)[:, 1]
    """

    kind = "fraud"
    objective: ClassVar[dict[str, Any]] = {"objective": "binary"}

    def __init__(self, params: dict[str, Any] | None = None, **kwargs: Any) -> None:
        super().__init__(params, **kwargs)
        self.calibration: tuple[float, float] | None = None

    def _check_labels(self, y: Floats) -> None:
        if not np.isin(y, (0.0, 1.0)).all():
            raise ModelError("fraud labels must be 0 or 1")

    def fit(
        self,
        x: pl.DataFrame,
        y: npt.ArrayLike,
        *,
        sample_weight: npt.ArrayLike | None = None,
        eval_set: EvalSet | None = None,
        calibrate: bool = True,
        training_window: tuple[str, str] | None = None,
    ) -> Self:
        """Train on ``x``; with ``eval_set``, stop early on it and calibrate on it."""
        held_out = self._fit(x, y, sample_weight, eval_set, training_window)
        self.calibration = None
        if held_out is not None and calibrate:
            xv, yv, wv = held_out
            raw = np.asarray(self.booster.predict(xv), dtype=np.float64)
            self.calibration = platt(raw, yv, wv)
        return self

    def predict_raw(self, x: pl.DataFrame | fr.Matrix) -> Floats:
        """LightGBM's probability before calibration."""
        return self._raw(x)

    def predict_proba(self, x: pl.DataFrame | fr.Matrix) -> Floats:
        """``(n, 2)``: calibrated P(no fraud), P(fraud) per row, as scikit-learn returns them."""
        p = self._raw(x)
        if self.calibration is not None:
            a, b = self.calibration
            p = _sigmoid(a * _logit(p) + b)
        return np.column_stack([1 - p, p])

    def predict(self, x: pl.DataFrame | fr.Matrix, threshold: float = 0.5) -> npt.NDArray[np.int64]:
        """1 where the calibrated fraud probability reaches ``threshold``, else 0."""
        return (self.predict_proba(x)[:, 1] >= threshold).astype(np.int64)

    def _extra(self) -> dict[str, Any]:
        return {"calibration": None if self.calibration is None else {
            "method": "platt", "a": self.calibration[0], "b": self.calibration[1]}}  # fmt: skip

    def _restore(self, metadata: dict[str, Any]) -> None:
        saved = metadata.get("calibration")
        self.calibration = None if saved is None else (float(saved["a"]), float(saved["b"]))


class RevenueModel(_Booster):
    """Regressor of the revenue at stake (duties and taxes evaded), Tweedie loss.

    Tweedie (variance power 1.5) fits money well: many exact zeros, a long right tail, a
    log link so predictions are never negative.
    """

    kind = "revenue"
    objective: ClassVar[dict[str, Any]] = {"objective": "tweedie"}

    def _check_labels(self, y: Floats) -> None:
        if (y < 0).any():
            raise ModelError("revenue must not be negative")

    def fit(
        self,
        x: pl.DataFrame,
        y: npt.ArrayLike,
        *,
        sample_weight: npt.ArrayLike | None = None,
        eval_set: EvalSet | None = None,
        training_window: tuple[str, str] | None = None,
    ) -> Self:
        """Train on ``x``; with ``eval_set``, stop early on it."""
        self._fit(x, y, sample_weight, eval_set, training_window)
        return self

    def predict(self, x: pl.DataFrame | fr.Matrix) -> Floats:
        """Expected revenue at stake per row."""
        return self._raw(x)
