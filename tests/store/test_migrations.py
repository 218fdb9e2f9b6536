from __future__ import annotations

import sqlite3
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import MetaData, Table, insert, inspect, select, text

from quaywatch.store import database, tables
from quaywatch.store.store import Store


def test_migrations_build_exactly_the_declared_tables(store: Store) -> None:
    with store.engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        assert compare_metadata(context, tables.metadata) == []
    assert database.current_revision(store.engine) == database.head_revision()


def test_times_come_back_aware_and_in_utc(store: Store) -> None:
    local = datetime(2026, 3, 1, 12, 30, 15, 123456, tzinfo=timezone(timedelta(hours=2)))
    with store.transaction() as conn:
        conn.execute(insert(tables.audit_head).values(id=7, seq=1, hash="x"))
        conn.execute(
            insert(tables.import_batches).values(
                batch_id="b",
                source="s",
                kind="events",
                actor="a",
                started_at=local,
                finished_at=local,
                records_read=0,
                records_new=0,
                records_unchanged=0,
                records_quarantined=0,
            )
        )
    with store.reading() as conn:
        got = conn.execute(select(tables.import_batches.c.started_at)).scalar_one()
    assert got == local and got.tzinfo == UTC


def test_a_new_sqlite_store_has_16_kib_pages_and_an_old_one_keeps_its_own(tmp_path: Path) -> None:
    fresh = Store.open(f"sqlite:///{tmp_path / 'new.db'}")
    with fresh.reading() as conn:
        assert conn.exec_driver_sql("PRAGMA page_size").scalar_one() == 16384
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar_one() == "wal"
    fresh.close()
    old = tmp_path / "old.db"
    made = sqlite3.connect(old)  # a store created before: default pages, WAL already on
    made.execute("PRAGMA journal_mode=WAL")
    made.execute("CREATE TABLE t (x)")
    made.close()
    reopened = Store.open(f"sqlite:///{old}")
    with reopened.reading() as conn:
        assert conn.exec_driver_sql("PRAGMA page_size").scalar_one() == 4096
    assert database.current_revision(reopened.engine) == database.head_revision()
    reopened.close()


def test_upgrading_past_0015_keeps_the_seals_of_stored_events(store: Store) -> None:
    # 0015 rebuilds ``events`` on SQLite; with foreign keys on, dropping the old table deleted
    # every event seal by cascade (found by the DCSA events work).
    config = database._alembic_config()
    with store.engine.begin() as conn:
        config.attributes["connection"] = conn
        command.downgrade(config, "0014")
    now = datetime(2026, 11, 2, 6, 0, tzinfo=UTC)
    with store.engine.begin() as conn:
        events = Table("events", MetaData(), autoload_with=conn)
        seals = Table("event_seals", MetaData(), autoload_with=conn)
        batches = Table("import_batches", MetaData(), autoload_with=conn)
        conn.execute(insert(batches).values(
            batch_id="b-1", source="old.json", kind="events", actor="t", started_at=now,
            finished_at=now, records_read=1, records_new=1, records_unchanged=0,
            records_quarantined=0,
        ))  # fmt: skip
        conn.execute(insert(events).values(
            event_id="E-1", content_sha256="0" * 64, event_type="EQUIPMENT", classifier="ACT",
            event_code="LOAD", event_time=now, created_time=now, un_locode="BEANR",
            container_number="MAEU2627091", is_transshipment=False, received_at=now,
            batch_id="b-1",
        ))  # fmt: skip
        conn.execute(insert(seals), [
            {"event_id": "E-1", "seal_number": "SL1", "source": "CAR", "type": "KLP"},
            {"event_id": "E-1", "seal_number": "SL2", "source": "SHI", "type": "BLT"},
        ])  # fmt: skip
    store.upgrade()
    with store.reading() as conn:
        kept = conn.execute(text("SELECT seal_number FROM event_seals ORDER BY 1")).scalars()
        assert list(kept) == ["SL1", "SL2"]


def test_upgrading_0024_to_0025_keys_the_inbox_and_reviews_on_the_sender(store: Store) -> None:
    # 0025 changes two primary keys on a store that already holds messages and reviews; with
    # ``recreate="always"`` PostgreSQL built the new table with a key named like the old one.
    config = database._alembic_config()
    with store.engine.begin() as conn:
        config.attributes["connection"] = conn
        command.downgrade(config, "0024")
    now = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
    with store.engine.begin() as conn:
        received = Table("exchange_received", MetaData(), autoload_with=conn)
        reviews = Table("exchange_profile_reviews", MetaData(), autoload_with=conn)
        conn.execute(insert(received), [
            {"sender": sender, "message_id": mid, "recipient": "NL", "message_type": kind,
             "payload_type": "p", "payload_sha256": "0" * 64, "key_id": "k", "issued_at": now,
             "expires_at": now, "payload": "{}", "record": "{}", "source": "f", "received_at": now}
            for sender, mid, kind in [
                ("BE", "m-1", "RiskProfileShare"), ("DE", "m-2", "SeizureReport"),
            ]
        ])  # fmt: skip
        conn.execute(insert(reviews).values(
            message_id="m-1", decision="declined", decided_at=now, decided_by="ana",
        ))  # fmt: skip
    store.upgrade()
    assert database.current_revision(store.engine) == database.head_revision()
    with store.transaction() as conn:
        # the same id from another sender is now a message of its own
        conn.execute(insert(tables.exchange_received).values(
            sender="DE", message_id="m-1", recipient="NL", message_type="SeizureReport",
            payload_type="p", payload_sha256="1" * 64, key_id="k", issued_at=now,
            expires_at=now, payload="{}", record="{}", source="g", received_at=now,
        ))  # fmt: skip
    with store.reading() as conn:
        kept = conn.execute(
            select(
                tables.exchange_received.c.sender, tables.exchange_received.c.message_id
            ).order_by(tables.exchange_received.c.sender, tables.exchange_received.c.message_id)
        ).all()
        decided = conn.execute(
            select(tables.exchange_profile_reviews.c.sender,
                   tables.exchange_profile_reviews.c.message_id,
                   tables.exchange_profile_reviews.c.decision)
        ).all()  # fmt: skip
    assert [tuple(r) for r in kept] == [("BE", "m-1"), ("DE", "m-1"), ("DE", "m-2")]
    assert [tuple(r) for r in decided] == [("BE", "m-1", "declined")]
    with store.engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        assert compare_metadata(context, tables.metadata) == []
        keys = inspect(conn)
        assert keys.get_pk_constraint("exchange_received")["name"] == "pk_exchange_received"
        named = keys.get_pk_constraint("exchange_profile_reviews")["name"]
        assert named == "pk_exchange_profile_reviews"
