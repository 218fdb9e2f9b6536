"""A generated port history imported as a user would: the store several test modules train on.

``legacy_store(root, per_day=..., seed=...)`` generates 45 days from 1 October 2026 whose
legacy selection controls a quarter of the consignments (a tenth at random, 15 % by rules: a
model has enough labels at test size), imports the declarations and the outcomes into a SQLite
store under ``root`` and returns it open. tests/ is on the import path through tests/conftest.py.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

from quaywatch.intake.pipeline import ingest_file
from quaywatch.store.store import Store
from quaywatch.synth import traffic
from quaywatch.synth.controls import ControlRates


def legacy_store(root: Path, *, per_day: int, seed: int) -> Store:
    """The store of 45 generated days with their legacy controls (see the module docstring)."""
    made = traffic.generate(
        root / "traffic", days=45, per_day=per_day, seed=seed, start=date(2026, 10, 1),
        control_rates=ControlRates(random_share=0.1, rule_share=0.15),
    )  # fmt: skip
    store = Store.open(f"sqlite:///{root / 'q.db'}")
    for path in [*made.consignment_files, *sorted((made.out / "outcomes").glob("*.csv"))]:
        ingest_file(store, path)
    return store
