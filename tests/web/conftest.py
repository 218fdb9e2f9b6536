# Fixtures of the web application's tests (helpers: web_support.py).
#
# - `demo_db`: a SQLite store made once per test process by the demo use case (three days of
#   1,000 consignments, a trained model, active starter profiles, a selection run); each test
#   gets its own copy.
# - `site`: the web application (with the API) over a copy of that store, through Starlette's
#   test client on http://127.0.0.1, with helpers to make users and log in.
# - `served`: the same application under uvicorn on a loopback port (for the browser tests),
#   as its base URL and its store.
from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient
from web_support import Demo, Site

from quaywatch.config import Settings
from quaywatch.services.demo import run_demo
from quaywatch.store.store import Store
from quaywatch.web.app import create_app


@pytest.fixture(scope="session")
def demo_db() -> Demo:
    folder = Path(tempfile.mkdtemp(prefix="quaywatch-web-"))
    store = Store.open(f"sqlite:///{folder / 'demo.db'}")
    try:
        made = run_demo(store, out=folder / "demo", count=1000, actor="test")
    finally:
        store.close()
    return Demo(folder / "demo.db", made.model_folder.parent)


@pytest.fixture
def site(demo_db: Demo, tmp_path: Path) -> Iterator[Site]:
    db = tmp_path / "site.db"
    shutil.copy(demo_db.db, db)
    settings = Settings(database_url=f"sqlite:///{db}", model_dir=demo_db.models)
    store = Store.open(settings.database_url)
    try:
        with TestClient(create_app(settings, store=store), base_url="http://127.0.0.1") as client:
            yield Site(client, store, settings)
    finally:
        store.close()


@pytest.fixture
def served(demo_db: Demo, tmp_path: Path, serve_app: Any) -> Iterator[tuple[str, Store]]:
    db = tmp_path / "served.db"
    shutil.copy(demo_db.db, db)
    settings = Settings(database_url=f"sqlite:///{db}", model_dir=demo_db.models)
    store = Store.open(settings.database_url)
    try:
        with serve_app(create_app(settings, store=store)) as base:
            yield base, store
    finally:
        store.close()
