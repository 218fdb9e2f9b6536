# Fixtures shared by the whole suite.
#
# - `store_url` / `store`: an empty, migrated store, once on SQLite (a file in tmp_path) and once
#   on PostgreSQL (a schema of its own in database `test` on 127.0.0.1:5432, dropped afterwards).
#   When that server cannot be reached, PostgreSQL cases fail in CI (CI set in the environment)
#   and are skipped, with the reason, elsewhere.
#   Override the server with QUAYWATCH_TEST_POSTGRES_URL.
# - `port_day`: a small generated port day (consignments CSV + DCSA events JSON) in tmp_path.
# - `free_port`: a free TCP port on the loopback address.
# - `hold_store`: `with hold_store(url):` makes that store busy as another process would (on
#   SQLite a connection holding the write lock, on PostgreSQL exclusive locks on the tables an
#   import writes) until the block ends.
# - `serve_app`: `with serve_app(app) as base:` runs an ASGI application under uvicorn in a
#   thread on a free loopback port (lifespan on) and stops it afterwards.
# - a clean environment: no QUAYWATCH_* variable of the developer leaks into a test, and no
#   site reference directory a test put in use (QUAYWATCH_REFERENCE_DIR) outlives it.
# - timeouts: pytest-timeout stops a test after 300 s (pyproject); one marked slow gets
#   SLOW_TIMEOUT_S unless it names its own with `@pytest.mark.timeout(N)`.
from __future__ import annotations

import os
import socket
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path
from typing import Any

import psycopg
import pytest
import uvicorn

from pg_support import pg_schema_url
from quaywatch.domain import reference
from quaywatch.store.store import Store
from quaywatch.synth import portday

# Tests run in two xdist workers on two cores: LightGBM's OpenMP threads must not multiply on
# top of that, or they spin against each other and a one-second fit takes thirty.
os.environ.setdefault("OMP_NUM_THREADS", "1")

#: Seconds a test marked slow may run before pytest-timeout stops it.
SLOW_TIMEOUT_S = 1200


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if item.get_closest_marker("slow") and not item.get_closest_marker("timeout"):
            item.add_marker(pytest.mark.timeout(SLOW_TIMEOUT_S))


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[None]:
    for name in list(os.environ):
        if name.startswith("QUAYWATCH_") and name != "QUAYWATCH_TEST_POSTGRES_URL":
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)
    yield
    reference.use(None)  # a command run with a site reference directory put it in use


@pytest.fixture(params=["sqlite", "postgresql"])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'quaywatch.db'}"
        return
    with pg_schema_url() as url:
        yield url


@pytest.fixture
def store(store_url: str) -> Iterator[Store]:
    opened = Store.open(store_url)
    yield opened
    opened.close()


@pytest.fixture
def port_day(tmp_path: Path) -> portday.PortDay:
    return portday.generate(tmp_path / "day", count=150, seed=11, noise=0.05)


@pytest.fixture
def clean_day(tmp_path: Path) -> portday.PortDay:
    """The same day as `port_day` (same seed) before noise was added: the records as intended."""
    return portday.generate(tmp_path / "clean", count=150, seed=11, noise=0.0)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def _holding(url: str) -> Iterator[None]:
    if url.startswith("sqlite"):
        other = sqlite3.connect(url.removeprefix("sqlite:///"), isolation_level=None)
        other.execute("BEGIN IMMEDIATE")
        try:
            yield
        finally:
            other.execute("ROLLBACK")
            other.close()
        return
    with psycopg.connect(url) as other:
        other.execute(
            "LOCK TABLE consignments, quarantine, import_batches, audit_events "
            "IN ACCESS EXCLUSIVE MODE"
        )
        yield
        other.rollback()


@pytest.fixture
def hold_store() -> Callable[[str], AbstractContextManager[None]]:
    return _holding


@pytest.fixture
def free_port() -> int:
    return _free_port()


@contextmanager
def _serving(app: Any) -> Iterator[str]:
    port = _free_port()
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="on")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        assert time.monotonic() < deadline and thread.is_alive(), "server did not start"
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=20)


@pytest.fixture
def serve_app() -> Callable[[Any], AbstractContextManager[str]]:
    return _serving
