"""Bulk lookups and writes: ``Store.lookup`` finds exactly the stored keys, on both backends."""

from __future__ import annotations

from datetime import UTC, datetime

import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings, strategies as st
from sqlalchemy import insert

from quaywatch.errors import StoreError
from quaywatch.store import tables
from quaywatch.store.store import Store

_NOW = datetime(2026, 11, 2, tzinfo=UTC)
# Ids with what an array literal or a range probe could get wrong: quotes, backslashes,
# separators, braces, spaces, the word NULL, non-ASCII letters and prefixes of one another.
_id = st.lists(
    st.sampled_from(["a", "b", "B", '"', "\\", ",", "{", "}", " ", "é", "NULL"]),
    min_size=1,
    max_size=5,
).map("".join)


class _Rollback(Exception):
    """Ends a test transaction without writing anything."""


def _profile(profile_id: str, version: int) -> dict[str, object]:
    return {"profile_id": profile_id, "version": version,
            "content_sha256": f"{profile_id}/{version}", "source": "s", "body": "b",
            "description": "d", "owner": "o", "status": "draft", "loaded_at": _NOW,
            "changed_at": _NOW, "changed_by": "t"}  # fmt: skip


def _keys(pairs: list[tuple[str | None, int]]) -> pl.DataFrame:
    return pl.DataFrame(pairs, schema={"profile_id": pl.String, "version": pl.Int64}, orient="row")


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    stored=st.sets(st.tuples(_id, st.integers(1, 3)), max_size=10),
    asked=st.lists(st.tuples(_id, st.integers(1, 3)), max_size=12),
)
def test_lookup_finds_exactly_the_stored_keys(
    store: Store, stored: set[tuple[str, int]], asked: list[tuple[str, int]]
) -> None:
    with pytest.raises(_Rollback), store.transaction() as conn:
        if stored:
            conn.execute(insert(tables.risk_profiles), [_profile(*key) for key in stored])
        found = store.lookup(conn, tables.risk_profiles, _keys(asked), "content_sha256")
        assert found.columns == ["profile_id", "version", "content_sha256"]
        assert sorted(found.rows()) == sorted((p, v, f"{p}/{v}") for p, v in set(asked) & stored)
        raise _Rollback


def test_lookup_skips_null_keys_and_keys_outside_the_stored_range(store: Store) -> None:
    with pytest.raises(_Rollback), store.transaction() as conn:
        conn.execute(insert(tables.risk_profiles), [_profile("m", 1), _profile("p", 2)])
        table = tables.risk_profiles
        assert store.lookup(conn, table, _keys([("n", 1), ("o", 1)]), "version").is_empty()
        assert store.lookup(conn, table, _keys([("q", 1), ("z", 2)]), "version").is_empty()
        assert store.lookup(conn, table, _keys([]), "version").schema == {
            "profile_id": pl.String, "version": pl.Int64
        }  # fmt: skip
        both = store.lookup(conn, table, _keys([(None, 1), ("a", 1), ("p", 2), ("p", 2)]), "owner")
        assert both.rows() == [("p", 2, "o")]
        raise _Rollback


def test_a_bulk_write_refused_by_a_key_is_a_store_error(store: Store) -> None:
    frame = pl.DataFrame([_profile("x", 1)])
    with store.transaction() as conn:
        store.bulk_insert(conn, tables.risk_profiles, frame)
    with pytest.raises(StoreError, match="cannot write risk_profiles"), store.transaction() as conn:
        store.bulk_insert(conn, tables.risk_profiles, frame)
    with store.reading() as conn:
        assert store.lookup(conn, tables.risk_profiles, _keys([("x", 1)]), "owner").height == 1
