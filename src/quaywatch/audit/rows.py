"""Row hashes: every stored record's canonical hash, bound into the audit chain per write.

An audited write (an import batch; the events control emits) hashes every row it stores, in
every table, keeps the hashes in ``record_hashes`` under its own id (the *group*), and puts
the Merkle root of the group in its audit event's details (``{"rows": {"root", "count"}}``,
with ``"group"`` when the group is not the event's object id, as for a control outcome bound by
its order's ``order_outcome`` event).
The chain covers the event, so it covers the root, so it covers every row: a stored row
changed, deleted or added after the write no longer re-hashes to what was bound
(``audit.full`` checks; ``audit.compare`` lets a re-import check the rows it calls unchanged).

Canonical row: the JSON array ``[table, [value, ...]]`` of every column in the table's order,
but for a column added to the table after row hashes began (``LATE``): that one is written only
where it holds a value, in a trailing ``{name: value}``, so the rows stored before it keep their
hashes (``json.dumps``, ASCII, no spaces, so strings are escaped and nothing depends on a separator),
each value normalised to what both stores give back alike: NULL as null, integers as
integers, booleans as true/false, floats as Python's shortest round-trip text (an IEEE double
survives SQLite's REAL and PostgreSQL's double precision exactly; -0.0 is written 0.0 since
SQLite may give it back as 0), timestamps as UTC ISO 8601 to the microsecond, dates as ISO
8601, JSON columns as canonical JSON. Leaf = SHA-256(0x00 ‖ canonical row); the root is a
binary Merkle tree (node = SHA-256(0x01 ‖ left ‖ right), an odd node carried up) over the
leaves ordered by table and key; the count is bound beside it.

Covered: every column of ``import_batches``, ``parties``, ``consignments``, ``goods_items``,
``containers``, ``seals``, ``events``, ``event_seals``, ``sensor_events``, ``control_outcomes``,
the carrier documents (``carrier_documents`` and its parties, equipment, seals and cargo) (none
of them is
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


#: ``datetime.isoformat(timespec="microseconds")`` of a UTC time, as polars writes it.
ISO_UTC = "%Y-%m-%dT%H:%M:%S%.6f+00:00"


def _datetime(value: Any) -> str:
    if isinstance(value, str):  # formatted ahead by polars (``Recorder.frame``), as below
        return value
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
    """One covered table: its columns' normalisers, its key, and how to find its group.

    ``late``: columns added to the table after row hashes began (``LATE``). A row's values
    follow ``names``: the table's other columns in its order, then the late ones; a late column
    is hashed only where it holds a value (as ``{name: value}`` after the others), so a row
    stored before the column existed keeps its hash, and values may stop before the late
    columns (a read of the columns a migration knew).
    """

    def __init__(self, table: Table, parent: Table | None = None) -> None:
        self.table, self.parent = table, parent
        late = LATE.get(table.name, ())
        columns = [c for c in table.columns if c.name not in late] + [table.c[n] for n in late]
        self.names = [c.name for c in columns]
        self.base = len(columns) - len(late)
        self.key = [c.name for c in table.primary_key.columns]
        self._normal = [_normaliser(c) for c in columns]
        self._key_at = [self.names.index(name) for name in self.key]

    def row_key(self, key: Sequence[Any]) -> str:
        """The canonical key of a row from its key values alone."""
        normal = [self._normal[i] for i in self._key_at]
        return _dumps(
            [v if f is None or v is None else f(v) for f, v in zip(normal, key, strict=True)]
        )

    def leaf(self, row: Sequence[Any]) -> tuple[str, str]:
        """``(row_key, row_sha256)`` of one row whose values follow ``names`` (all of them, or
        those before the late columns)."""
        normal = [
            v if f is None or v is None else f(v)
            for f, v in zip(self._normal[: len(row)], row, strict=True)
        ]
        key = _dumps([normal[i] for i in self._key_at])
        late = {
            name: value
            for name, value in zip(self.names[self.base :], normal[self.base :], strict=False)
            if value is not None
        }
        canonical = [self.table.name, normal[: self.base], *([late] if late else [])]
        body = _dumps(canonical).encode("ascii")
        return key, hashlib.sha256(b"\x00" + body).hexdigest()


#: One encoder for every row: ``json.dumps`` with options builds a new one per call.
_dumps = json.JSONEncoder(ensure_ascii=True, separators=(",", ":"), sort_keys=True).encode


#: Columns added to a covered table after row hashes began (migration 0016), in the order
#: they were added: hashed only where they hold a value (``Covered``).
LATE: dict[str, tuple[str, ...]] = {"import_batches": ("reference_version",)}

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
        Covered(tables.sensor_events),
        Covered(tables.control_outcomes),
        Covered(tables.carrier_documents),
        Covered(tables.carrier_document_parties, tables.carrier_documents),
        Covered(tables.carrier_document_equipment, tables.carrier_documents),
        Covered(tables.carrier_document_seals, tables.carrier_documents),
        Covered(tables.carrier_document_cargo, tables.carrier_documents),
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
        # Timestamps formatted by polars over the whole column: a third of the hashing time
        # otherwise; the text is the one ``_datetime`` gives a value read back.
        when = [n for n, dtype in frame.schema.items() if isinstance(dtype, pl.Datetime)]
        utc = [
            pl.col(n).dt.replace_time_zone("UTC")
            if frame.schema[n].time_zone is None  # type: ignore[attr-defined]
            else pl.col(n).dt.convert_time_zone("UTC")
            for n in when
        ]
        frame = frame.with_columns(e.dt.strftime(ISO_UTC) for e in utc)
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


def bind_rows(
    conn: Connection, group_id: str, table: Table, rows: Iterable[Mapping[str, Any]]
) -> dict[str, Any]:
    """Hash ``rows`` of ``table`` (as read back from the store) into the new group ``group_id``;
    return the ``{"group", "root", "count"}`` the audit event of the write must carry."""
    recorder = Recorder()
    recorder.rows(table, rows)
    return {"group": group_id, **recorder.bind(conn, group_id)}


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
