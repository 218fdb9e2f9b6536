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
from pathlib import Path

import pytest
from api_support import Api, make_api

from quaywatch.store.store import Store
from small_models import train_small


@pytest.fixture(scope="session")
def models(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return train_small(tmp_path_factory.mktemp("api-models"))


@pytest.fixture
def api(store: Store, store_url: str, models: Path) -> Iterator[Api]:
    yield from make_api(store, store_url, models)


@pytest.fixture
def api_without_model(store: Store, store_url: str, tmp_path: Path) -> Iterator[Api]:
    yield from make_api(store, store_url, tmp_path / "no-models")
