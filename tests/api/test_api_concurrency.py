"""Many writers at once through the API, on SQLite and PostgreSQL: nothing lost, nothing
stored twice, no server error, and the audit chain still verifies.

The application runs under a real uvicorn server on a loopback port; eight clients post, at
the same moment, consignments of their own and the same shared ones.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx2
import pytest
from api_support import consignment, kept_state_is_rebuilt

from quaywatch.api.app import create_app
from quaywatch.config import Settings
from quaywatch.domain.access import Role
from quaywatch.services import accounts
from quaywatch.services.audit import verify_audit
from quaywatch.store.store import Store

CLIENTS = 8
OWN = 6  # consignments each client posts alone, one request each
SHARED = 4  # consignments every client posts


@pytest.fixture
def server(store: Store, store_url: str, models: Path, serve_app: Any) -> Iterator[str]:
    settings = Settings(database_url=store_url, model_dir=models)
    with serve_app(create_app(settings, store=store)) as base:
        yield base


@pytest.mark.slow  # 10-20 s per backend
def test_eight_clients_at_once_lose_and_duplicate_nothing(store: Store, server: str) -> None:
    accounts.add_user(store, "pcs", roles=[Role.FEED], actor="admin")
    token = accounts.create_token(store, "pcs", name="feed", actor="admin").token
    headers = {"Authorization": f"Bearer {token}"}
    start = threading.Barrier(CLIENTS)

    def client(k: int) -> list[int]:
        mine = [consignment(1000 + k * OWN + i) for i in range(OWN)]
        shared = [consignment(900 + i) for i in range(SHARED)]
        codes = []
        with httpx2.Client(base_url=server, headers=headers, timeout=120) as http:
            start.wait()
            for record in [*shared, *mine, *shared]:
                codes.append(http.post("/api/v1/consignments", json=record).status_code)
        return codes

    with ThreadPoolExecutor(CLIENTS) as pool:
        codes = [c for found in pool.map(client, range(CLIENTS)) for c in found]
    assert len(codes) == CLIENTS * (OWN + 2 * SHARED)
    assert set(codes) <= {200, 201}, sorted(set(codes))
    # Each consignment is new exactly once, whoever won the race for it.
    assert codes.count(201) == CLIENTS * OWN + SHARED
    counts = store.counts()
    assert counts["consignments"] == CLIENTS * OWN + SHARED
    assert counts["goods_items"] == CLIENTS * OWN + SHARED
    assert verify_audit(store).events > 0
    # The track records kept while the clients raced are those the history gives.
    assert kept_state_is_rebuilt(store)
