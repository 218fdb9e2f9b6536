"""A small generated port with a trained model: what the lake and Spark tests assess.

``small_world(root)`` generates 24 days of 120 consignments a day from 1 October 2026 with
frequent fraud and a legacy selection controlling two fifths of them (so a model has enough
labelled hits at this size), imports declarations, events and outcomes into a SQLite store under
``root`` as a user would, trains a model on everything known ``NOW`` and returns the
store and the model's folder. tests/ is on the import path through tests/conftest.py.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

from quaywatch.intake.pipeline import ingest_file
from quaywatch.learning import train
from quaywatch.store import reads
from quaywatch.store.store import Store
from quaywatch.synth import traffic
from quaywatch.synth.controls import ControlRates
from quaywatch.synth.patterns import PatternRates

START = date(2026, 10, 1)
#: After every generated record and outcome: what a scoring run "now" knows, and the model too
#: (the tests compare engines, not the model's honesty: it may learn from the period it scores).
NOW = datetime(2026, 12, 1, tzinfo=UTC)
#: The period the tests assess: the last five generated days.
PERIOD_START = datetime(2026, 10, 20, tzinfo=UTC)


def small_world(root: Path, *, url: str | None = None) -> tuple[Store, Path]:
    """The store of the generated days (SQLite under ``root``, or ``url``) and the model folder."""
    made = traffic.generate(
        root / "traffic", days=24, per_day=120, seed=19, start=START,
        rates=PatternRates(undervaluation=0.08, misdeclaration=0.05, counterfeit=0.04),
        control_rates=ControlRates(random_share=0.2, rule_share=0.2),
    )  # fmt: skip
    store = Store.open(url or f"sqlite:///{root / 'q.db'}")
    for path in [*made.consignment_files, *made.event_files, *made.outcome_files]:
        ingest_file(store, path)
    items = reads.goods_item_rows(store)
    outcomes = reads.control_outcomes(store, known_before=NOW)
    model = train.fit(items, outcomes, until=NOW, capacity_pct=3.0,
                      params={"num_threads": 1}, allow_few_hits=True)  # fmt: skip
    model.save(root / "models")
    return store, root / "models"
