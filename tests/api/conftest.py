# Fixtures of the HTTP API tests.
#
# - `models`: a models folder with a current model, trained once per test process on generated
#   traffic (4 days of 300 consignments, with their control outcomes) in a store of its own.
# - `api`: the application over the `store` fixture (SQLite and PostgreSQL) with that model,
#   through Starlette's test client on https://testserver; `api.as_roles(...)` gives the
#   headers of a new user holding those roles (a bearer token).
# Helpers (consignment records, the Api wrapper) are in api_support.py.
from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from api_support import Api, make_api

from quaywatch.intake.pipeline import ingest_file
from quaywatch.services.risk import train_models
from quaywatch.store.store import Store
from quaywatch.synth import traffic
from quaywatch.synth.controls import ControlRates
from quaywatch.synth.patterns import PatternRates

UNTIL = datetime(2026, 12, 1, tzinfo=UTC)


@pytest.fixture(scope="session")
def models(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("api-models")
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
        # 27 hits: enough for the API's tests, below what a port should train on.
        train_models(store, until=UNTIL, model_dir=folder / "models", capacity_pct=5.0,
                     actor="test", allow_few_hits=True)  # fmt: skip
    finally:
        store.close()
    return folder / "models"


@pytest.fixture
def api(store: Store, store_url: str, models: Path) -> Iterator[Api]:
    yield from make_api(store, store_url, models)


@pytest.fixture
def api_without_model(store: Store, store_url: str, tmp_path: Path) -> Iterator[Api]:
    yield from make_api(store, store_url, tmp_path / "no-models")
