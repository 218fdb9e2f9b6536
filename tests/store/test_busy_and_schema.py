"""A busy, unreachable or unmigrated store says what to do, from the store and the command line.

``hold_store`` (conftest) makes the store busy the way another process would. Both stores
decide the same way: the operation waits ``lock_timeout_s``, then fails
with ``StoreBusyError`` (exit code 75), nothing written.
"""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Callable
from contextlib import AbstractContextManager
from pathlib import Path

import psycopg
import pytest
from sqlalchemy import create_engine, text
from typer.testing import CliRunner

from quaywatch.cli import app
from quaywatch.errors import SchemaError, StoreBusyError, StoreError, WriteConflictError
from quaywatch.store import database
from quaywatch.store.store import Store

EXAMPLES = Path(__file__).parents[2] / "examples"
runner = CliRunner()


def run(url: str, *args: str, **env: str) -> tuple[int, str]:
    result = runner.invoke(app, ["--database", url, *args], env=env)
    assert "Traceback" not in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    return result.exit_code, result.output


Holding = Callable[[str], AbstractContextManager[None]]


def test_a_busy_store_is_a_retryable_error(store_url: str, hold_store: Holding) -> None:
    Store.open(store_url).close()  # migrated
    store = Store.open(store_url, lock_timeout_s=0.2)
    try:
        with (
            hold_store(store_url),
            pytest.raises(StoreBusyError) as raised,
            store.transaction() as conn,
        ):
            conn.execute(text("DELETE FROM quarantine"))
        assert "try again" in raised.value.message and raised.value.retry_after_s > 0
        with store.transaction() as conn:  # free again: the same write goes through
            conn.execute(text("DELETE FROM quarantine"))
    finally:
        store.close()


def test_the_command_line_says_to_try_again(store_url: str, hold_store: Holding) -> None:
    Store.open(store_url).close()
    feed = str(EXAMPLES / "consignments.csv")
    with hold_store(store_url):
        code, out = run(store_url, "ingest", feed, QUAYWATCH_LOCK_TIMEOUT_S="0.2")
    assert code == 75 and "busy" in out and "try again" in out, out
    code, out = run(store_url, "ingest", feed)  # nothing of it was written
    assert code == 0 and re.search(r"│ consignments\s*│\s*4\s*│\s*3\s*│", out), out


def test_an_unreachable_postgresql_is_a_retryable_error() -> None:
    code, out = run("postgresql://nobody:hunter2@127.0.0.1:1/x", "quarantine", "list")
    assert code == 75 and "cannot be reached" in out and "try again" in out, out
    assert "hunter2" not in out


@pytest.mark.parametrize(
    ("error", "kind"),
    [
        (sqlite3.OperationalError("database is locked"), StoreBusyError),
        (psycopg.errors.LockNotAvailable("canceling statement due to lock timeout"),
         StoreBusyError),
        (psycopg.errors.SerializationFailure("could not serialize access"), StoreBusyError),
        (psycopg.errors.DeadlockDetected("deadlock detected"), StoreBusyError),
        (psycopg.OperationalError("connection refused"), StoreBusyError),
        (psycopg.errors.UniqueViolation("duplicate key"), WriteConflictError),
        (sqlite3.IntegrityError("UNIQUE constraint failed: t.k"), WriteConflictError),
        (psycopg.errors.ForeignKeyViolation("violates foreign key"), StoreError),
    ],
)  # fmt: skip
def test_driver_errors_map_to_what_the_operator_can_do(error: Exception, kind: type) -> None:
    found = database.failure(error, "write consignments")
    assert type(found) is kind
    assert found.message.startswith("cannot write consignments")


def test_a_store_without_schema_says_to_run_db_upgrade(store_url: str) -> None:
    with pytest.raises(SchemaError, match="run `quaywatch db upgrade`"):
        Store.open(store_url, migrate=False)
    off = {"QUAYWATCH_AUTO_MIGRATE": "false"}
    for command in (["quarantine", "list"], ["audit", "verify"],
                    ["ingest", str(EXAMPLES / "consignments.csv")]):  # fmt: skip
        code, out = run(store_url, *command, **off)
        assert code == 2 and "has no quaywatch schema" in out, (command, out)
        assert "quaywatch db upgrade" in out
    code, out = run(store_url, "db", "status", **off)
    assert code == 0 and "database: None" in out, out
    code, out = run(store_url, "db", "upgrade", **off)
    assert code == 0, out
    code, out = run(store_url, "quarantine", "list", **off)
    assert code == 0, out


def test_a_schema_from_a_newer_quaywatch_is_named(store_url: str) -> None:
    Store.open(store_url).close()
    engine = create_engine(store_url.replace("postgresql://", "postgresql+psycopg://"))
    with engine.begin() as conn:
        conn.execute(text("UPDATE alembic_version SET version_num = 'f00dfeedbeef'"))
    engine.dispose()
    code, out = run(store_url, "quarantine", "list", QUAYWATCH_AUTO_MIGRATE="false")
    assert code == 2 and "f00dfeedbeef, which this quaywatch does not know" in out, out
