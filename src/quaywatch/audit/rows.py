"""Row hashes: every stored record's canonical hash, bound into the audit chain per write.

An audited write (an import batch; the events control emits) hashes every row it stores, in
every table, keeps the hashes in ``record_hashes`` under its own id (the *group*), and puts
the Merkle root of the group in its audit event's details (``{"rows": {"root", "count"}}``).
The chain covers the event, so it covers the root, so it covers every row: a stored row
changed, deleted or added after the write no longer re-hashes to what was bound
(``audit.full`` checks; ``rows_differ`` lets a re-import check the rows it calls unchanged).

Canonical row: the JSON array ``[table, [value, ...]]`` of every column in the table's order
(``json.dumps``, ASCII, no spaces, so strings are escaped and nothing depends on a separator),
each value normalised to what both stores give back alike: NULL as null, integers as
integers, booleans as true/false, floats as Python's shortest round-trip text (an IEEE double
survives SQLite's REAL and PostgreSQL's double precision exactly; -0.0 is written 0.0 since
SQLite may give it back as 0), timestamps as UTC ISO 8601 to the microsecond, dates as ISO
8601, JSON columns as canonical JSON. Leaf = SHA-256(0x00 ‖ canonical row); the root is a
binary Merkle tree (node = SHA-256(0x01 ‖ left ‖ right), an odd node carried up) over the
leaves ordered by table and key; the count is bound beside it.

Covered: every column of ``import_batches``, ``parties``, ``consignments``, ``goods_items``,
``containers``, ``seals``, ``events``, ``event_seals``, ``control_outcomes`` (none of them is
updated after it is written) and of ``quarantine``. A quarantine row does change: a later import
or a retry resolves it (``status``, ``resolved_at``, ``resolved_batch_id``), a retry with an
edited record rewrites ``raw``, ``reason``, ``field`` and ``errors``. Each such write hashes
the row again into its own group, so the row's expected hash is the one of the newest audited
write that touched it. Tables written by workflows with their own history (orders, decisions,
users, assessments, entity_states, ...) are not covered here.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import UTC, date, datetime
from typing import Any

import polars as pl
from sqlalchemy import (
    Boolean,
    Column,
    Connection,
    Date,
    Float,
    Table,
    insert,
    select,
)

from quaywatch.store import tables
from quaywatch.store.store import Store

_Normal = Callable[[Any], Any]


def _datetime(value: Any) -> str:
    moment: datetime = value if value.tzinfo is not None else value.replace(tzinfo=UTC)
    if moment.tzinfo is not UTC:
        moment = moment.astimezone(UTC)
    return moment.isoformat(timespec="microseconds")


def _float(value: Any) -> float:
    number = float(value)
    return 0.0 if number == 0 else number


def _date(value: Any) -> str:
    return value.isoformat() if isinstance(value, date) else str(value)


def _normaliser(column: Column[Any]) -> _Normal | None:
    """How to normalise a value of ``column``; None where both stores and polars already give
    the same Python value (text, integers, JSON)."""
    kind = column.type
    if isinstance(kind, tables.UtcDateTime):
        return _datetime
    if isinstance(kind, Boolean):
        return bool
    if isinstance(kind, Float):
        return _float
    if isinstance(kind, Date):
        return _date
    return None


class Covered:
    """One covered table: its columns' normalisers, its key, and how to find its group."""

    def __init__(self, table: Table, parent: Table | None = None) -> None:
        self.table, self.parent = table, parent
        self.names = [c.name for c in table.columns]
        self.key = [c.name for c in table.primary_key.columns]
        self._normal = [_normaliser(c) for c in table.columns]
        assert len(self._normal) == len(self.names)
        self._key_at = [self.names.index(name) for name in self.key]

    def row_key(self, key: Sequence[Any]) -> str:
        """The canonical key of a row from its key values alone."""
        normal = [self._normal[i] for i in self._key_at]
        return _dumps(
            [v if f is None or v is None else f(v) for f, v in zip(normal, key, strict=True)]
        )

    def leaf(self, row: Sequence[Any]) -> tuple[str, str]:
        """``(row_key, row_sha256)`` of one row whose values follow ``names``."""
        normal = [
            v if f is None or v is None else f(v) for f, v in zip(self._normal, row, strict=True)
        ]
        key = _dumps([normal[i] for i in self._key_at])
        body = _dumps([self.table.name, normal]).encode("ascii")
        return key, hashlib.sha256(b"\x00" + body).hexdigest()


#: One encoder for every row: ``json.dumps`` with options builds a new one per call.
_dumps = json.JSONEncoder(ensure_ascii=True, separators=(",", ":"), sort_keys=True).encode


#: Every covered table, parents before children; a child finds its group through its parent.
COVERED: dict[str, Covered] = {
    c.table.name: c
    for c in (
        Covered(tables.import_batches),
        Covered(tables.parties),
        Covered(tables.consignments),
        Covered(tables.goods_items, tables.consignments),
        Covered(tables.containers, tables.consignments),
        Covered(tables.seals, tables.consignments),
        Covered(tables.events),
        Covered(tables.event_seals, tables.events),
        Covered(tables.control_outcomes),
        Covered(tables.quarantine),
    )
}


def merkle_root(leaves: Sequence[str]) -> str:
    """Root (hex) of the binary Merkle tree over ``leaves`` (hex leaf hashes, in order)."""
    if not leaves:
        return hashlib.sha256(b"").hexdigest()
    level = [bytes.fromhex(leaf) for leaf in leaves]
    while len(level) > 1:
        paired = [
            hashlib.sha256(b"\x01" + level[i] + level[i + 1]).digest()
            for i in range(0, len(level) - 1, 2)
        ]
        if len(level) % 2:
            paired.append(level[-1])
        level = paired
    return level[0].hex()


def group_root(hashes: Iterable[tuple[str, str, str]]) -> dict[str, Any]:
    """``{"root", "count"}`` of a group's ``(table, row_key, row_sha256)`` triples."""
    ordered = sorted(hashes)
    return {"root": merkle_root([h for _, _, h in ordered]), "count": len(ordered)}


class Recorder:
    """The row hashes of one audited write, collected as it stores rows."""

    def __init__(self) -> None:
        self.hashes: list[tuple[str, str, str]] = []

    def frame(self, table: Table, frame: pl.DataFrame) -> None:
        """Hash the rows of ``frame`` (columns named as ``table``'s) as they were written."""
        covered = COVERED[table.name]
        for row in frame.select(covered.names).iter_rows():
            self.hashes.append((table.name, *covered.leaf(row)))

    def rows(self, table: Table, rows: Iterable[Mapping[str, Any]]) -> None:
        """Hash rows given as mappings (dicts, or rows read back from the store)."""
        covered = COVERED[table.name]
        for row in rows:
            self.hashes.append((table.name, *covered.leaf([row[n] for n in covered.names])))

    def bind(self, conn: Connection, group_id: str, store: Store | None = None) -> dict[str, Any]:
        """Store the hashes under ``group_id`` (in bulk through ``store`` if given); return the
        root and count that the write's audit event must carry."""
        if self.hashes and store is not None:
            frame = pl.DataFrame(
                self.hashes, schema=["table_name", "row_key", "row_sha256"], orient="row"
            ).with_columns(pl.lit(group_id).alias("group_id"))
            store.bulk_insert(conn, tables.record_hashes, frame)
        elif self.hashes:
            conn.execute(
                insert(tables.record_hashes),
                [{"table_name": t, "row_key": k, "group_id": group_id, "row_sha256": h}
                 for t, k, h in self.hashes],
            )  # fmt: skip
        return group_root(self.hashes)


def quarantine_rows(conn: Connection, ids: Iterable[int]) -> list[Mapping[str, Any]]:
    """The quarantine rows of ``ids`` as stored now (to hash them after a write)."""
    q = tables.quarantine
    wanted = sorted(set(ids))
    found: list[Mapping[str, Any]] = []
    for start in range(0, len(wanted), 5_000):
        chunk = wanted[start : start + 5_000]
        found += [
            dict(r._mapping) for r in conn.execute(select(q).where(q.c.quarantine_id.in_(chunk)))
        ]
    return found


# --- a re-import's check of the records it finds stored with the same content --------------


def stored_rows(
    conn: Connection, table: Table, prefix: Sequence[str], keys: pl.DataFrame
) -> list[Sequence[Any]]:
    """Rows of ``table`` whose ``prefix`` columns equal a row of ``keys`` (same names).

    Driver SQL, as ``Store.existing`` writes it (typed arrays on PostgreSQL, a ``VALUES`` list
    on SQLite: one descent of the primary key index per key; compiling thousands of bound
    values through SQLAlchemy would cost more than the query), with each column's own result
    processing applied (timestamps read back aware, as every other read gives them).
    """
    found: list[Sequence[Any]] = []
    dialect = conn.dialect
    postgres = dialect.name == "postgresql"
    # psycopg gives every column's Python value already (aware timestamps, floats, decoded
    # JSON); SQLite's driver gives text for timestamps, which the column types parse.
    processors = [
        None if postgres else c.type.dialect_impl(dialect).result_processor(dialect, None)
        for c in table.columns
    ]
    selected = ", ".join(f"t.{c.name}" for c in table.columns)
    step = 50_000 if postgres else max(1, 30_000 // len(prefix))
    for start in range(0, keys.height, step):
        chunk = keys.slice(start, step).select(prefix)
        params: tuple[Any, ...]
        if postgres:
            arrays = ", ".join(f"CAST(%s AS {table.c[n].type.compile(dialect)}[])" for n in prefix)
            on = " AND ".join(f"t.{n} = k.{n}" for n in prefix)
            sql = (f"SELECT {selected} FROM {table.name} AS t "
                   f"JOIN unnest({arrays}) AS k({', '.join(prefix)}) ON {on}")  # fmt: skip
            params = tuple(chunk.get_column(n).to_list() for n in prefix)
        else:
            one = "(" + ", ".join("?" * len(prefix)) + ")"
            on = " AND ".join(f"t.{n} = k.column{i + 1}" for i, n in enumerate(prefix))
            sql = (f"SELECT {selected} FROM (VALUES {', '.join([one] * chunk.height)}) AS k "
                   f"JOIN {table.name} AS t ON {on}")  # fmt: skip
            params = tuple(v for row in chunk.iter_rows() for v in row)
        for row in conn.exec_driver_sql(sql, params):
            found.append([v if p is None else p(v) for p, v in zip(processors, row, strict=True)])
    return found


def recorded(conn: Connection, table: str, row_keys: Sequence[str]) -> dict[str, str]:
    """The newest recorded hash of each of ``row_keys`` in ``table`` (by the group's audit seq)."""
    h, e = tables.record_hashes, tables.audit_events
    newest: dict[str, tuple[int, str]] = {}
    for start in range(0, len(row_keys), 5_000):
        chunk = list(row_keys[start : start + 5_000])
        query = (
            select(h.c.row_key, h.c.row_sha256, e.c.seq)
            .outerjoin(e, e.c.object_id == h.c.group_id)
            .where(h.c.table_name == table, h.c.row_key.in_(chunk))
        )
        for row_key, digest, seq in conn.execute(query):
            order = -1 if seq is None else seq
            if row_key not in newest or order > newest[row_key][0]:
                newest[row_key] = (order, digest)
    return {k: digest for k, (_, digest) in newest.items()}


def rows_differ(
    conn: Connection, frames: Mapping[Table, pl.DataFrame], record_key: Sequence[str]
) -> dict[tuple[Any, ...], str]:
    """Records whose stored rows no longer match: their key and what differs.

    ``frames`` holds, for each table of the record kind, the rows the records in hand would
    write (with ``record_key`` columns), the records being stored already with the same content
    hash. Each stored row must re-hash to the hash bound when it was written, and the stored
    rows must be the same rows (keys) as the records': else the stored data was changed.
    """
    problems: dict[tuple[Any, ...], str] = {}
    for table, frame in frames.items():
        if frame.is_empty():
            continue
        covered = COVERED[table.name]
        keys = frame.select(record_key).unique()
        rows = stored_rows(conn, table, record_key, keys)
        prefix_at = [covered.names.index(n) for n in record_key]
        leaves = [covered.leaf(row) for row in rows]
        expected = recorded(conn, table.name, [k for k, _ in leaves])
        wanted = {covered.row_key(k): k for k in frame.select(covered.key).unique().rows()}
        stored_keys: set[str] = set()
        for row, (row_key, digest) in zip(rows, leaves, strict=True):
            stored_keys.add(row_key)
            owner = tuple(row[i] for i in prefix_at)
            bound = expected.get(row_key)
            if row_key not in wanted:
                problems.setdefault(owner, f"{table.name} row {row_key} was added")
            elif bound is not None and bound != digest:
                problems.setdefault(owner, f"{table.name} row {row_key} was changed")
        for row_key, key_row in wanted.items():
            if row_key not in stored_keys:
                owner = tuple(key_row[covered.key.index(n)] for n in record_key)
                problems.setdefault(owner, f"{table.name} row {row_key} is missing")
    return problems
