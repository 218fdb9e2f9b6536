"""A trained risk model: fraud and revenue models, the value reference, the review cut, saved.

``quaywatch train`` writes one folder per model version; ``quaywatch score`` reads it. The
folder holds everything a prediction needs (STYLE.md): the two LightGBM models with their
metadata (``risk.model``), the value-per-kg reference learnt on the training window, the
probability above which an assessment leaves the green lane and is explained, the training
window and the held-out figures. ``models/CURRENT`` names the version in use.

    models/
      CURRENT                       fraud-20261125-104512-3f2a9c1e
      fraud-20261125-104512-3f2a9c1e/
        manifest.json  value_reference.json  fraud/  revenue/  norms/
                                    (each: model.txt  metadata.json  compiled/)
                                    (norms/: the traffic norms, Parquet, ``risk.norms``)

A ``RiskModel`` is a value: frozen, and its models never change while they predict (see
``risk.model``), so one loaded model serves concurrent requests. Loading reads the folder and
never writes it; ``compile`` is the explicit step that writes the compiled objects
(``risk.compiled``) into ``fraud/compiled`` and ``revenue/compiled``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import polars as pl

from quaywatch.errors import ModelError
from quaywatch.features.declared import ValueReference
from quaywatch.risk.model import FraudModel, RevenueModel
from quaywatch.risk.norms import TrafficNorms

_MANIFEST = "manifest.json"
_REFERENCE = "value_reference.json"
_NORMS = "norms"
CURRENT = "CURRENT"


@dataclass(frozen=True, slots=True)
class RiskModel:
    """Everything ``assess`` needs, and what it was trained on.

    ``review_probability``: assessments at or above it leave the green lane (they are in the
    top control-capacity share of the held-out consignments) and always carry reasons.
    """

    version: str
    fraud: FraudModel
    revenue: RevenueModel
    reference: ValueReference
    review_probability: float
    trained_until: datetime
    metrics: dict[str, Any] = field(default_factory=dict)
    #: What the training window's reference traffic usually declares (``risk.norms``); None
    #: for a model saved before norms were learnt: its assessments have no ``unusual`` hits.
    norms: TrafficNorms | None = None

    def save(self, models: Path) -> Path:
        """Write the model under ``models/<version>`` and make it the current one."""
        folder = models / self.version
        if folder.exists():
            raise ModelError(f"model {self.version} already exists in {models}")
        folder.mkdir(parents=True)
        self.fraud.save(folder / "fraud")
        self.revenue.save(folder / "revenue")
        (folder / _REFERENCE).write_text(json.dumps(self.reference.to_dict()), encoding="utf-8")
        if self.norms is not None:
            self.norms.save(folder / _NORMS)
        manifest = {
            "version": self.version,
            "review_probability": self.review_probability,
            "trained_until": self.trained_until.isoformat(),
            "metrics": self.metrics,
        }
        (folder / _MANIFEST).write_text(json.dumps(manifest, indent=2), encoding="utf-8")
        (models / CURRENT).write_text(self.version + "\n", encoding="utf-8")
        return folder

    def compile(self, folder: Path | None = None) -> bool:
        """Compile both models for large batches (``risk.compiled``), keep the objects in the
        model folder ``folder`` and use them; whether both are used.

        ``folder`` defaults to the folder the models were saved to or loaded from. A
        ``ModelError`` when it does not hold this model or cannot be written.
        """
        fraud = None if folder is None else folder / "fraud"
        revenue = None if folder is None else folder / "revenue"
        return all([self.fraud.compile(fraud), self.revenue.compile(revenue)])

    @property
    def is_compiled(self) -> bool:
        """Whether both models predict large batches with their compiled form."""
        return self.fraud.is_compiled and self.revenue.is_compiled

    @classmethod
    def load(cls, path: Path) -> RiskModel:
        """The model in ``path``: a model folder, or a models folder (its current model).

        Uses the compiled objects kept in the folder for this machine; never compiles, never
        writes (``compile`` does).
        """
        path = folder_of(path)
        manifest_file = path / _MANIFEST
        if not manifest_file.is_file():
            raise ModelError(f"no trained model in {path} (run quaywatch train first)")
        try:
            manifest = json.loads(manifest_file.read_text(encoding="utf-8"))
            reference = json.loads((path / _REFERENCE).read_text(encoding="utf-8"))
            return cls(
                version=str(manifest["version"]),
                fraud=FraudModel.load(path / "fraud"),
                revenue=RevenueModel.load(path / "revenue"),
                reference=ValueReference.from_dict(reference),
                review_probability=float(manifest["review_probability"]),
                trained_until=datetime.fromisoformat(manifest["trained_until"]),
                metrics=dict(manifest.get("metrics", {})),
                norms=TrafficNorms.load(path / _NORMS) if (path / _NORMS).is_dir() else None,
            )
        except (OSError, KeyError, ValueError, TypeError, pl.exceptions.PolarsError) as exc:
            raise ModelError(f"model in {path} is incomplete or damaged: {exc}") from exc


def folder_of(path: Path) -> Path:
    """The model folder ``path`` means: itself, or for a models folder its current model's."""
    if (path / CURRENT).is_file():
        return path / (path / CURRENT).read_text(encoding="utf-8").strip()
    return path
