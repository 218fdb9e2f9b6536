"""Store transactions: a refused write is a clear StoreError, and nothing is written."""

from __future__ import annotations

import threading
from datetime import UTC, datetime

import pytest
from sqlalchemy import select

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


def _watchlist(watchlist_id: str) -> dict[str, object]:
    return {"watchlist_id": watchlist_id, "source": "s", "list_date": datetime(2026, 1, 1).date(),
            "file": "f", "content_sha256": "0" * 64, "entries": 0,
            "loaded_at": datetime(2026, 1, 1, tzinfo=UTC), "loaded_by": "t"}  # fmt: skip


def test_a_read_does_not_wait_for_a_write_in_progress(store: Store) -> None:
    """A write transaction holds the store (an import half-way) until a read has finished: the
    read sees what was committed before it, not the write's rows, and the write then commits.
    Were reads queued behind writes (SQLite's write lock taken by every connection), neither
    could finish."""
    with store.transaction() as conn:
        conn.execute(tables.watchlists.insert(), [_watchlist("before")])
    writing, read_done = threading.Event(), threading.Event()
    seen: list[list[str]] = []

    def import_in_progress() -> None:
        with store.transaction() as conn:
            conn.execute(tables.watchlists.insert(), [_watchlist("during")])
            writing.set()
            read_done.wait(timeout=60)

    writer = threading.Thread(target=import_in_progress)
    writer.start()
    assert writing.wait(timeout=60)

    def read() -> None:
        with store.reading() as conn:
            ids = conn.execute(select(tables.watchlists.c.watchlist_id)).scalars().all()
            seen.append(sorted(ids))
        read_done.set()

    reader = threading.Thread(target=read)
    reader.start()
    reader.join(timeout=20)
    read_done.set()  # let the writer go whatever happened
    writer.join(timeout=60)
    assert seen == [["before"]]
    with store.reading() as conn:
        ids = conn.execute(select(tables.watchlists.c.watchlist_id)).scalars().all()
    assert sorted(ids) == ["before", "during"]
