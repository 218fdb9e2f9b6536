"""The fast read path gives exactly the frame SQLAlchemy gives, on SQLite and PostgreSQL."""

from __future__ import annotations

import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path

import polars as pl
import psycopg
import pytest
from polars.testing import assert_frame_equal
from sqlalchemy import select

from pg_support import PG_URL, pg_schema_url
from quaywatch.intake.pipeline import ingest_file
from quaywatch.store import fastread, reads, tables
from quaywatch.store.store import Store
from quaywatch.synth import portday


def _both(store: Store, query: object, monkeypatch: pytest.MonkeyPatch) -> pl.DataFrame:
    fast = reads.frame(store, query)  # type: ignore[arg-type]
    with monkeypatch.context() as patch:
        patch.setattr(fastread, "read", lambda *args: None)
        slow = reads.frame(store, query)  # type: ignore[arg-type]
    assert_frame_equal(fast, slow)
    return fast


def test_fast_and_sqlalchemy_reads_agree(
    store: Store, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    day = portday.generate(tmp_path / "day", count=30, seed=3, noise=0.0)
    ingest_file(store, day.consignments)
    ingest_file(store, day.events)
    c, e, p = tables.consignments, tables.events, tables.parties
    consignments = _both(store, select(*c.columns), monkeypatch)
    assert consignments.height == 30
    assert consignments.schema["lodged_at"] == pl.Datetime("us", "UTC")
    events = _both(store, select(*e.columns), monkeypatch)
    assert events.schema["is_transshipment"] == pl.Boolean and events.height > 30
    assert events["facility_type"].null_count() < events.height
    _both(store, select(*p.columns).order_by(p.c.party_key), monkeypatch)
    # Parameters are rendered into the SQL, times in the store's convention.
    cut = datetime(2026, 11, 2, 12, tzinfo=UTC)
    later = _both(store, select(c.c.consignment_id, c.c.lodged_at).where(c.c.lodged_at >= cut),
                  monkeypatch)  # fmt: skip
    assert later.height == consignments.filter(pl.col("lodged_at") >= cut).height
    quoted = _both(store, select(p.c.name).where(p.c.name == "O'Brien & Sons' \"Ltd\""),
                   monkeypatch)  # fmt: skip
    assert quoted.is_empty() and quoted.schema["name"] == pl.String
    empty = _both(store, select(*tables.assessments.columns), monkeypatch)
    assert empty.is_empty() and empty.schema["assessed_at"] == pl.Datetime("us", "UTC")


def test_sqlite_chunks_take_the_stored_types_or_infer_when_a_value_does_not_fit() -> None:
    names = ["n", "x", "t"]
    stored = {"n": pl.Int64(), "x": pl.Float64(), "t": pl.String()}
    typed = fastread._rows([(1, 2, "a"), (None, 2.5, None)], names, stored)
    assert typed.schema == pl.Schema(stored) and typed["x"].to_list() == [2.0, 2.5]
    # SQLite does not enforce column types: a chunk with text in an integer column is inferred
    # instead, and that column comes back as text (typed later, as on the inferring path).
    odd = fastread._rows([(1, 2.0, "a"), ("seven", 2.5, "b")], names, stored)
    assert odd["n"].to_list() == ["1", "seven"]


def _eventually(found: object, wanted: object, check: object) -> None:
    """``check()`` (a count of server connections) reaches what ``wanted`` accepts within 10 s:
    a backend leaves pg_stat_activity shortly after its connection closes, not at once."""
    deadline = time.monotonic() + 10
    while not wanted(found := check()) and time.monotonic() < deadline:  # type: ignore[operator]
        time.sleep(0.05)
    assert wanted(found), found  # type: ignore[operator]


def test_postgresql_reads_keep_a_few_connections_and_the_store_closes_them() -> None:
    with pg_schema_url() as url:
        name = f"qw{uuid.uuid4().hex[:10]}"
        store = Store.open(f"{url}&application_name={name}")
        query = select(tables.consignments.c.consignment_id)
        with psycopg.connect(PG_URL, autocommit=True) as watch:

            def arrow() -> int:
                found = watch.execute(
                    "SELECT count(*) FROM pg_stat_activity WHERE application_name = %s",
                    (f"{name}-arrow",),
                ).fetchone()
                return int(found[0]) if found else 0

            try:
                for _ in range(10):  # one after the other: one connection, kept
                    assert reads.frame(store, query).is_empty()
                assert arrow() == 1
                with ThreadPoolExecutor(8) as pool:  # at once: a few kept, the rest closed
                    assert all(f.is_empty() for f in pool.map(
                        lambda _: reads.frame(store, query), range(32)))  # fmt: skip
                _eventually(0, lambda n: 1 <= n <= fastread.IDLE_MAX, arrow)
                # Cut while idle (a server restart, a firewall): the next read opens another.
                watch.execute(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                    "WHERE application_name = %s", (f"{name}-arrow",),
                )  # fmt: skip
                _eventually(-1, lambda n: n == 0, arrow)
                assert reads.frame(store, query).is_empty()
                assert arrow() >= 1
            finally:
                store.close()
            _eventually(-1, lambda n: n == 0, arrow)
