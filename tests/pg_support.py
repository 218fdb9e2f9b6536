"""The PostgreSQL server the tests use, and an empty schema of their own on it.

``PG_URL`` is database ``test`` on 127.0.0.1:5432 unless QUAYWATCH_TEST_POSTGRES_URL says
otherwise. ``pg_schema_url()`` gives the URL of a new, empty schema in it and drops the schema
afterwards; where the server cannot be reached it fails the test in CI (CI set in the
environment) and skips it, with the reason, elsewhere.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

import psycopg
import pytest

PG_URL = os.environ.get("QUAYWATCH_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")


def _pg_reason() -> str | None:
    try:
        with psycopg.connect(PG_URL, connect_timeout=3):
            return None
    except psycopg.OperationalError as exc:
        return f"PostgreSQL at {PG_URL} is not reachable: {str(exc).strip()}"


PG_UNREACHABLE = _pg_reason()


@contextmanager
def pg_schema_url() -> Iterator[str]:
    """The URL of a new, empty schema (dropped when the block ends)."""
    if PG_UNREACHABLE:
        if os.environ.get("CI"):  # in CI an unreachable PostgreSQL is a failure, not a skip
            pytest.fail(PG_UNREACHABLE, pytrace=False)
        pytest.skip(PG_UNREACHABLE)
    schema = f"t_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(PG_URL, autocommit=True) as conn:
        conn.execute(f"CREATE SCHEMA {schema}")
    sep = "&" if "?" in PG_URL else "?"
    try:
        yield f"{PG_URL}{sep}options=-csearch_path%3D{schema}"
    finally:
        with psycopg.connect(PG_URL, autocommit=True) as conn:
            conn.execute(f"DROP SCHEMA {schema} CASCADE")
