"""Opening a database: engine settings per backend and schema migrations."""

from __future__ import annotations

import re
from importlib import resources
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, create_engine, event
from sqlalchemy.exc import ArgumentError, NoSuchModuleError, OperationalError

from quaywatch.errors import ConfigurationError, StoreError


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    # 16 KiB pages for a new database (an existing one keeps its own; WAL fixes the size, so it
    # comes first): imports insert about 12 % faster and the full-table reads of risk analysis
    # read fewer, fuller pages.
    cursor.execute("PRAGMA page_size=16384")
    # WAL lets analysts read while an import writes; NORMAL is durable in WAL mode except on
    # power loss of the last commits, which an idempotent re-import repairs.
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.execute("PRAGMA cache_size=-65536")
    cursor.close()


#: Execution option of the connections ``Store.reading`` hands out: their transactions only read.
READ_ONLY = "quaywatch_read_only"
#: Execution option carrying the audit key (``audit.signing.AuditKey``) to ``audit.chain``.
AUDIT_KEY = "quaywatch_audit_key"


def _sqlite_begin(conn: Any) -> None:
    # pysqlite's own transaction handling is off (isolation_level=None below). A write
    # transaction begins IMMEDIATE: it takes the write lock up front, so two importers queue
    # instead of failing half-way. A read begins DEFERRED: in WAL mode it reads a snapshot and
    # never waits for a writer (nor makes one wait).
    read_only = conn.get_execution_options().get(READ_ONLY, False)
    conn.exec_driver_sql("BEGIN DEFERRED" if read_only else "BEGIN IMMEDIATE")


_CREDENTIALS = re.compile(r"(?P<scheme>[A-Za-z][A-Za-z0-9+.-]*://)(?P<user>[^:/@]*):[^/]*@")


def redact(url: str) -> str:
    """``url`` with its password replaced by ``***``: what a message may show of a store URL.

    >>> redact("postgresql://quaywatch:s3cret@db:5432/quaywatch")
    'postgresql://quaywatch:***@db:5432/quaywatch'
    """
    return _CREDENTIALS.sub(r"\g<scheme>\g<user>:***@", url)


def make_engine(url: str) -> Engine:
    """An engine for ``url`` with quaywatch's per-backend settings.

    Messages about a URL that cannot be used show it with its password redacted.
    """
    shown = redact(url)
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url.removeprefix("postgresql://")
    try:
        if url.startswith("sqlite"):
            engine = create_engine(url, connect_args={"isolation_level": None})
            event.listen(engine, "connect", _sqlite_pragmas)
            event.listen(engine, "begin", _sqlite_begin)
        elif url.startswith("postgresql+psycopg"):
            engine = create_engine(url, pool_pre_ping=True)
        else:
            raise ConfigurationError(
                f"unsupported database URL {shown!r}: use sqlite:///PATH or postgresql://..."
            )
    except (ArgumentError, NoSuchModuleError, ValueError) as exc:
        # SQLAlchemy's message quotes the URL whole: never let the password through.
        reason = redact(str(exc).replace(url, shown))
        raise ConfigurationError(f"cannot use database URL {shown!r}: {reason}") from None
    return engine


def _alembic_config() -> Config:
    config = Config()
    location = resources.files("quaywatch.store").joinpath("migrations")
    config.set_main_option("script_location", str(location))
    return config


def head_revision() -> str | None:
    """The newest migration shipped with this version of quaywatch."""
    return ScriptDirectory.from_config(_alembic_config()).get_current_head()


def current_revision(engine: Engine) -> str | None:
    """The migration the database is at, or None for an empty database."""
    try:
        with engine.connect() as conn:
            return MigrationContext.configure(conn).get_current_revision()
    except OperationalError as exc:
        raise StoreError(f"cannot reach the database: {exc.orig}") from exc


def upgrade(engine: Engine) -> None:
    """Apply every migration the database does not have yet."""
    config = _alembic_config()
    try:
        with engine.begin() as conn:
            config.attributes["connection"] = conn
            command.upgrade(config, "head")
    except OperationalError as exc:
        raise StoreError(f"cannot migrate the database: {exc.orig}") from exc
