"""A small trained model for tests that assess through the services: ``train_small(folder)``
generates 4 days of 300 consignments with their control outcomes (seed 21), imports them into
a SQLite store of its own under ``folder`` and trains a model there (27 hits: enough for
tests, below what a port should train on). Returns the models folder. tests/ is on the import
path through tests/conftest.py.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

from quaywatch.intake.pipeline import ingest_file
from quaywatch.services.risk import train_models
from quaywatch.store.store import Store
from quaywatch.synth import traffic
from quaywatch.synth.controls import ControlRates
from quaywatch.synth.patterns import PatternRates

#: What the model knows: every generated record and outcome.
UNTIL = datetime(2026, 12, 1, tzinfo=UTC)


def train_small(folder: Path) -> Path:
    """The models folder of a model trained on generated days in ``folder``."""
    rates = PatternRates(undervaluation=0.05, misdeclaration=0.03, counterfeit=0.03,
                         cocaine=0.02, displacement_week=None)  # fmt: skip
    made = traffic.generate(
        folder / "traffic", days=4, per_day=300, seed=21, start=date(2026, 10, 1),
        with_events=False, rates=rates,
        control_rates=ControlRates(random_share=0.2, rule_share=0.25),
    )  # fmt: skip
    store = Store.open(f"sqlite:///{folder / 'train.db'}")
    try:
        for path in [*made.consignment_files, *sorted((made.out / "outcomes").glob("*.csv"))]:
            ingest_file(store, path)
        train_models(store, until=UNTIL, model_dir=folder / "models", capacity_pct=5.0,
                     actor="test", allow_few_hits=True)  # fmt: skip
    finally:
        store.close()
    return folder / "models"
