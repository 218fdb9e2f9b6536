# Fixtures of the HTTP API tests.
#
# - `models`: a models folder with a current model, trained once per test process on generated
#   traffic (4 days of 300 consignments, with their control outcomes) in a store of its own.
# - `api`: the application over the `store` fixture (SQLite and PostgreSQL) with that model,
#   through Starlette's test client on https://testserver; `api.as_roles(...)` gives the
#   headers of a new user holding those roles (a bearer token).
# - `consignment(n)`: a valid consignment record, different for each n.
from __future__ import annotations

import copy
import itertools
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from stdnum import iso6346

from quaywatch.api.app import create_app
from quaywatch.api.schemas import EXAMPLE_CONSIGNMENT
from quaywatch.config import Settings
from quaywatch.domain.access import Role
from quaywatch.intake.pipeline import ingest_file
from quaywatch.services import accounts
from quaywatch.services.risk import train_models
from quaywatch.store.store import Store
from quaywatch.synth import traffic
from quaywatch.synth.controls import ControlRates
from quaywatch.synth.patterns import PatternRates

UNTIL = datetime(2026, 12, 1, tzinfo=UTC)
_users = itertools.count(1)


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
        train_models(store, until=UNTIL, model_dir=folder / "models", capacity_pct=5.0,
                     actor="test")  # fmt: skip
    finally:
        store.close()
    return folder / "models"


def container(n: int) -> str:
    prefix = f"MSCU{n % 1_000_000:06d}"
    return prefix + iso6346.calc_check_digit(prefix)


def consignment(n: int, **changes: Any) -> dict[str, Any]:
    """A valid consignment record, different for each ``n``."""
    record = copy.deepcopy(EXAMPLE_CONSIGNMENT)
    box = container(n)
    record["consignment_id"] = f"261206-BEANR-{n:07d}"
    record["transport_document"] = f"MSCU{n:010d}"
    record["goods_items"][0]["container_number"] = box
    record["goods_items"][0]["value"] = 1000.0 + n
    record["containers"][0]["number"] = box
    record["containers"][0]["seals"][0]["number"] = f"SL{n:08d}"
    record.update(changes)
    return record


@dataclass
class Api:
    """The application under test, its store and settings, and users made on demand."""

    client: TestClient
    store: Store
    settings: Settings
    made: dict[tuple[frozenset[Role], frozenset[str]], dict[str, str]] = field(default_factory=dict)

    def as_roles(self, *roles: Role, terminals: tuple[str, ...] = ()) -> dict[str, str]:
        """Authorization headers of a user holding ``roles`` (made once per set of roles)."""
        key = (frozenset(roles), frozenset(terminals))
        if key not in self.made:
            name = f"user{next(_users)}"
            accounts.add_user(self.store, name, roles=list(roles), terminals=terminals,
                              actor="admin")  # fmt: skip
            issued = accounts.create_token(self.store, name, name="tests", actor="admin")
            self.made[key] = {"Authorization": f"Bearer {issued.token}"}
        return self.made[key]

    def get(self, path: str, *roles: Role, **kwargs: Any) -> Any:
        return self.client.get(path, headers=self.as_roles(*roles), **kwargs)

    def post(self, path: str, *roles: Role, **kwargs: Any) -> Any:
        return self.client.post(path, headers=self.as_roles(*roles), **kwargs)


def make_api(store: Store, store_url: str, model_dir: Path) -> Iterator[Api]:
    settings = Settings(database_url=store_url, model_dir=model_dir)
    with TestClient(create_app(settings, store=store), base_url="https://testserver") as client:
        yield Api(client, store, settings)


@pytest.fixture
def api(store: Store, store_url: str, models: Path) -> Iterator[Api]:
    yield from make_api(store, store_url, models)


@pytest.fixture
def api_without_model(store: Store, store_url: str, tmp_path: Path) -> Iterator[Api]:
    yield from make_api(store, store_url, tmp_path / "no-models")
