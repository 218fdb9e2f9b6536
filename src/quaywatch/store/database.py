"""Opening a database: engine settings per backend and schema migrations."""

from __future__ import annotations

import re
import sqlite3
from importlib import resources
from typing import Any

import psycopg
from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, DBAPIError, NoSuchModuleError

from quaywatch.errors import (
    ConfigurationError,
    SchemaError,
    StoreBusyError,
    StoreError,
    WriteConflictError,
)

#: How long a statement on SQLite waits for another process's write lock before the store is
#: reported busy (``StoreBusyError``), unless the caller says otherwise.
SQLITE_LOCK_TIMEOUT_S = 30.0


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


def _postgresql_begin(conn: Any) -> None:
    # A read on PostgreSQL is one snapshot too (REPEATABLE READ): at the default READ COMMITTED
    # each statement sees what was committed meanwhile, so a check reading the audit events,
    # then the head, then the rows (``audit verify --full``) could see an import half-way.
    if conn.get_execution_options().get(READ_ONLY, False):
        conn.exec_driver_sql("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")


_CREDENTIALS = re.compile(r"(?P<scheme>[A-Za-z][A-Za-z0-9+.-]*://)(?P<user>[^:/@]*):[^/]*@")


def redact(url: str) -> str:
    """``url`` with its password replaced by ``***``: what a message may show of a store URL.

    >>> redact("postgresql://quaywatch:s3cret@db:5432/quaywatch")
    'postgresql://quaywatch:***@db:5432/quaywatch'
    """
    return _CREDENTIALS.sub(r"\g<scheme>\g<user>:***@", url)


def _lock_timeout(dialect: str, milliseconds: int) -> Any:
    """A ``connect`` listener bounding every lock wait of a connection: SQLite's busy timeout,
    PostgreSQL's ``lock_timeout`` (which otherwise waits for ever)."""

    def on_connect(dbapi_connection: Any, _record: Any) -> None:
        if dialect == "sqlite":
            dbapi_connection.execute(f"PRAGMA busy_timeout={milliseconds}")
            return
        dbapi_connection.execute(
            "SELECT set_config('lock_timeout', %s, false)", [f"{milliseconds}ms"]
        )
        dbapi_connection.commit()

    return on_connect


def make_engine(url: str, *, lock_timeout_s: float | None = None) -> Engine:
    """An engine for ``url`` with quaywatch's per-backend settings.

    A statement waits at most ``lock_timeout_s`` for a lock another connection holds, then
    the operation fails with ``StoreBusyError`` (try again). Unset: ``SQLITE_LOCK_TIMEOUT_S``
    on SQLite; on PostgreSQL the server's own ``lock_timeout`` (by default none: writers queue
    behind each other, as concurrent imports of the same parties must).
    Messages about a URL that cannot be used show it with its password redacted.
    """
    wait = SQLITE_LOCK_TIMEOUT_S if lock_timeout_s is None else lock_timeout_s
    milliseconds = max(1, round(wait * 1000))
    shown = redact(url)
    if url.startswith("sqlite"):
        _check_sqlite_file(url)
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url.removeprefix("postgresql://")
    try:
        if url.startswith("sqlite"):
            engine = create_engine(url, connect_args={"isolation_level": None})
            event.listen(engine, "connect", _sqlite_pragmas)
            event.listen(engine, "connect", _lock_timeout("sqlite", milliseconds))
            event.listen(engine, "begin", _sqlite_begin)
        elif url.startswith("postgresql+psycopg"):
            engine = create_engine(url, pool_pre_ping=True)
            event.listen(engine, "begin", _postgresql_begin)
            if lock_timeout_s is not None:
                event.listen(engine, "connect", _lock_timeout("postgresql", milliseconds))
        else:
            raise ConfigurationError(
                f"unsupported database URL {shown!r}: use sqlite:///PATH or postgresql://..."
            )
    except (ArgumentError, NoSuchModuleError, ValueError) as exc:
        # SQLAlchemy's message quotes the URL whole: never let the password through.
        reason = redact(str(exc).replace(url, shown))
        raise ConfigurationError(f"cannot use database URL {shown!r}: {reason}") from None
    return engine


def _check_sqlite_file(url: str) -> None:
    """Refuse a SQLite URL that names no file.

    ``sqlite://``, ``sqlite:///`` and ``sqlite:///:memory:`` open a database in memory, which
    SQLAlchemy allows silently: an import into it would report success and keep nothing when
    the command ends. No quaywatch process has a use for a store that forgets, so an in-memory
    store is refused, asked for or not.
    """
    try:
        parsed = make_url(url)
    except ArgumentError:
        return  # make_engine reports the unusable URL
    database = parsed.database
    if not database or database == ":memory:" or parsed.query.get("mode") == "memory":
        raise ConfigurationError(
            f"database URL {url!r} names no file (SQLite would keep the store in memory and "
            "lose it when the command ends): use sqlite:///PATH, e.g. sqlite:///./quaywatch.db"
        )


#: SQLite's result codes for a database another connection holds.
_SQLITE_BUSY = ("SQLITE_BUSY", "SQLITE_LOCKED")
#: PostgreSQL errors after which the same transaction, run again later, may well pass: a lock
#: not granted in time, a serialization check or a deadlock lost, a server starting, stopping
#: or out of connections.
_PG_BUSY = (
    psycopg.errors.LockNotAvailable,
    psycopg.errors.SerializationFailure,
    psycopg.errors.DeadlockDetected,
    psycopg.errors.CannotConnectNow,
    psycopg.errors.AdminShutdown,
    psycopg.errors.TooManyConnections,
    psycopg.errors.ConnectionException,
)


def _unique_violation(error: BaseException) -> bool:
    if isinstance(error, psycopg.errors.UniqueViolation):
        return True
    return isinstance(error, sqlite3.IntegrityError) and "UNIQUE constraint failed" in str(error)


def failure(exc: BaseException, doing: str) -> StoreError:
    """The quaywatch error for a driver error ``exc`` (SQLAlchemy's or the driver's own) met
    while ``doing`` something, e.g. "write consignments".

    A store that is busy or out of reach now gives ``StoreBusyError`` (try again; nothing was
    written); a key another writer stored first gives ``WriteConflictError``; anything else
    the store refused gives ``StoreError``. Messages never show a password.
    """
    error = exc.orig if isinstance(exc, DBAPIError) and exc.orig is not None else exc
    # The first line: PostgreSQL adds the statement and a caret below it.
    reason = redact((str(error).strip().splitlines() or [type(error).__name__])[0])
    if _unique_violation(error):
        return WriteConflictError(
            f"cannot {doing}: a conflicting write (another writer stored the same key first); "
            "nothing was written, "
            f"run it again: {reason}"
        )
    if isinstance(error, sqlite3.OperationalError) and (
        getattr(error, "sqlite_errorname", None) in _SQLITE_BUSY
        or "database is locked" in reason
        or "database table is locked" in reason
    ):
        return StoreBusyError(
            f"cannot {doing}: the store is busy (another process holds it: {reason}); nothing "
            "was written, try again in a few seconds"
        )
    if isinstance(error, _PG_BUSY) or (
        isinstance(error, psycopg.OperationalError) and error.sqlstate is None
    ):
        race = isinstance(
            error, psycopg.errors.SerializationFailure | psycopg.errors.DeadlockDetected
        )
        unreachable = not race and not isinstance(error, psycopg.errors.LockNotAvailable)
        what = (
            "the store cannot be reached"
            if unreachable
            else "another transaction won a conflict"
            if race
            else "the store is busy (a lock was not granted in time)"
        )
        return StoreBusyError(
            f"cannot {doing}: {what}: {reason}; nothing was written, try again "
            f"{'when it is reachable' if unreachable else 'in a few seconds'}",
            retry_after_s=30 if unreachable else 1 if race else 5,
        )
    return StoreError(f"cannot {doing}, nothing was written: {reason}")


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
    except DBAPIError as exc:
        raise failure(exc, "read the schema revision") from exc


def check_schema(engine: Engine) -> None:
    """``SchemaError`` unless the database is at the newest migration this quaywatch ships.

    What a command that does not migrate checks when it opens the store, so that a store
    without the schema (or with an older or newer one) says what to do instead of failing on
    its first missing table.
    """
    found, head = current_revision(engine), head_revision()
    if found == head:
        return
    shown = redact(engine.url.render_as_string(hide_password=True))
    if found is None:
        state = "has no quaywatch schema"
    elif found in _known_revisions():
        state = f"is at schema revision {found}, older than this quaywatch's {head}"
    else:
        raise SchemaError(
            f"the database {shown} is at schema revision {found}, which this quaywatch does not "
            "know (a newer quaywatch migrated it): use that version, or a store of this one"
        )
    raise SchemaError(
        f"the database {shown} {state} and automatic migration is off "
        "(QUAYWATCH_AUTO_MIGRATE=false): run `quaywatch db upgrade` first"
    )


def _known_revisions() -> set[str]:
    return {
        script.revision
        for script in ScriptDirectory.from_config(_alembic_config()).walk_revisions()
    }


def upgrade(engine: Engine) -> None:
    """Apply every migration the database does not have yet."""
    config = _alembic_config()
    try:
        with engine.begin() as conn:
            config.attributes["connection"] = conn
            command.upgrade(config, "head")
    except DBAPIError as exc:
        raise failure(exc, "migrate the database") from exc
