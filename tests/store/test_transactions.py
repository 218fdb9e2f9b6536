"""Store transactions: a refused write is a clear StoreError, and nothing is written."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from quaywatch.errors import StoreError
from quaywatch.store import tables
from quaywatch.store.store import Store


def test_a_conflicting_write_is_a_store_error_not_a_traceback(store: Store) -> None:
    row = {"watchlist_id": "W", "source": "s", "list_date": datetime(2026, 1, 1).date(),
           "file": "f", "content_sha256": "0" * 64, "entries": 0,
           "loaded_at": datetime(2026, 1, 1, tzinfo=UTC), "loaded_by": "t"}  # fmt: skip
    with store.transaction() as conn:
        conn.execute(tables.watchlists.insert(), [row])
    with pytest.raises(StoreError, match="conflicting write"), store.transaction() as conn:
        conn.execute(tables.watchlists.insert(), [row])
