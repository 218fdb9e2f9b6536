"""Watchlists: CSV files of names to screen parties against, kept in the store.

A watchlist file has one row per listed entity, with the columns

``entry_id`` (unique in the file), ``name``, ``address``, ``country`` (ISO 3166 alpha-2),
``identifiers`` (EORI numbers, phone numbers and e-mail addresses separated by ``|``),
``category`` (drugs, counterfeit, sanctions, ...) and ``note``;

only ``entry_id``, ``name`` and ``category`` must be filled. Who published the list and on
which date are given when it is loaded (``quaywatch watchlists load FILE --id ID --source TEXT
--date YYYY-MM-DD``), and stored with it: a list is used only for assessments made on or after
its date.

Loading is one transaction. The same file loaded again changes nothing; a new file for the same
watchlist id replaces all its entries at once (a list is published whole, so an entry missing
from the new edition has been delisted) and appends an audit event.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import polars as pl
from sqlalchemy import ColumnElement, String, cast, delete, select

from quaywatch.audit import chain
from quaywatch.errors import InputError, NotFoundError, RecordError
from quaywatch.store import tables
from quaywatch.store.reads import frame as read_frame
from quaywatch.store.store import Store

COLUMNS = ("entry_id", "name", "address", "country", "identifiers", "category", "note")
REQUIRED = ("entry_id", "name", "category")
_LIMITS = {"entry_id": 64, "category": 32, "country": 2}


@dataclass(frozen=True, slots=True)
class LoadResult:
    """What ``load_watchlist`` did: ``changed`` is False when the same list was already loaded."""

    watchlist_id: str
    entries: int
    changed: bool
    replaced: int


def read_watchlist(path: Path) -> pl.DataFrame:
    """The entries of a watchlist file, checked; a ``RecordError`` names the first bad line."""
    source = str(path)
    try:
        frame = pl.read_csv(path, infer_schema=False)
    except (OSError, pl.exceptions.PolarsError) as exc:
        raise InputError(f"cannot read the watchlist: {exc}", source=source) from None
    frame = frame.rename({c: c.strip().lower() for c in frame.columns})
    missing = [c for c in REQUIRED if c not in frame.columns]
    if missing:
        raise InputError(
            f"the watchlist has no column {', '.join(missing)} (expected {', '.join(COLUMNS)})",
            source=source,
        )
    frame = frame.with_columns(
        pl.lit(None, pl.String).alias(c) for c in COLUMNS if c not in frame.columns
    ).select(pl.col(c).str.strip_chars().replace("", None) for c in COLUMNS)
    frame = frame.with_columns(pl.col("country").str.to_uppercase())
    lines = frame.with_row_index("line", offset=2)  # line 1 is the header
    for column in REQUIRED:
        bad = lines.filter(pl.col(column).is_null())
        if bad.height:
            row = bad.row(0, named=True)
            raise RecordError("is empty", source=source, location=f"line {row['line']}",
                              record_id=row["entry_id"], field=column)  # fmt: skip
    for column, limit in _LIMITS.items():
        bad = lines.filter(pl.col(column).str.len_chars() > limit)
        if column == "country":
            bad = lines.filter(pl.col(column).is_not_null() & ~pl.col(column).str.contains(
                r"^[A-Z]{2}$"))  # fmt: skip
        if bad.height:
            row = bad.row(0, named=True)
            reason = "is not a two-letter country code" if column == "country" else (
                f"is longer than {limit} characters")  # fmt: skip
            raise RecordError(reason, source=source, location=f"line {row['line']}",
                              record_id=row["entry_id"], field=column)  # fmt: skip
    twice = lines.filter(pl.col("entry_id").is_duplicated())
    if twice.height:
        row = twice.row(1, named=True)
        raise RecordError("appears twice in the file", source=source,
                          location=f"line {row['line']}", record_id=row["entry_id"],
                          field="entry_id")  # fmt: skip
    return frame


def load_watchlist(
    store: Store,
    path: Path,
    *,
    watchlist_id: str,
    source: str,
    list_date: date,
    actor: str,
) -> LoadResult:
    """Load ``path`` as watchlist ``watchlist_id``, replacing an older edition of it."""
    if not watchlist_id.strip() or len(watchlist_id) > 64:
        raise InputError("a watchlist id has 1 to 64 characters", source=str(path))
    try:
        digest = hashlib.sha256(path.read_bytes()).hexdigest()
    except OSError as exc:
        raise InputError(f"cannot read the watchlist: {exc.strerror}", source=str(path)) from None
    entries = read_watchlist(path)
    w, e = tables.watchlists, tables.watchlist_entries
    with store.transaction() as conn:
        old = conn.execute(select(w).where(w.c.watchlist_id == watchlist_id)).first()
        if old is not None and (old.content_sha256, old.source, old.list_date) == (
            digest, source, list_date
        ):  # fmt: skip
            return LoadResult(watchlist_id, old.entries, changed=False, replaced=0)
        conn.execute(delete(e).where(e.c.watchlist_id == watchlist_id))
        conn.execute(delete(w).where(w.c.watchlist_id == watchlist_id))
        now = tables.utcnow()
        conn.execute(
            w.insert().values(
                watchlist_id=watchlist_id, source=source, list_date=list_date, file=str(path),
                content_sha256=digest, entries=entries.height, loaded_at=now, loaded_by=actor,
            )
        )  # fmt: skip
        store.bulk_insert(conn, e, entries.with_columns(pl.lit(watchlist_id).alias("watchlist_id")))
        chain.append(
            conn, actor=actor, action="watchlist.load", object_type="watchlist",
            object_id=watchlist_id,
            details={"file": str(path), "sha256": digest, "source": source,
                     "list_date": list_date.isoformat(), "entries": entries.height,
                     "replaced": old.entries if old is not None else 0},
        )  # fmt: skip
    return LoadResult(watchlist_id, entries.height, changed=True,
                      replaced=old.entries if old is not None else 0)  # fmt: skip


def _date_text(column: ColumnElement[date]) -> ColumnElement[str]:
    # The store's reads type every column they do not know as text; a date read as text is the
    # same ISO string on both backends.
    return cast(column, String(10)).label(column.key or "date")


def list_watchlists(store: Store) -> pl.DataFrame:
    """Every loaded watchlist: id, source, list date, file, entries, when and by whom loaded."""
    w = tables.watchlists
    columns = [c for c in w.columns if c.name != "list_date"]
    query = select(*columns, _date_text(w.c.list_date)).order_by(w.c.watchlist_id)
    frame = read_frame(store, query).select(c.name for c in w.columns)
    return frame.with_columns(pl.col("list_date").str.to_date(strict=False))


def watchlist_entries(
    store: Store, *, as_of: date | None = None, watchlist_ids: list[str] | None = None
) -> pl.DataFrame:
    """The entries of the loaded watchlists (published on or before ``as_of``, if given).

    Columns: the entry columns plus ``watchlist_id`` and ``list_date``.
    """
    w, e = tables.watchlists, tables.watchlist_entries
    query = select(*e.columns, _date_text(w.c.list_date)).join_from(
        e, w, e.c.watchlist_id == w.c.watchlist_id
    )
    if as_of is not None:
        query = query.where(w.c.list_date <= as_of)
    if watchlist_ids:
        known = set(list_watchlists(store)["watchlist_id"])
        unknown = sorted(set(watchlist_ids) - known)
        if unknown:
            raise NotFoundError(f"no watchlist {', '.join(unknown)} is loaded")
        query = query.where(w.c.watchlist_id.in_(watchlist_ids))
    frame = read_frame(store, query.order_by(e.c.watchlist_id, e.c.entry_id))
    return frame.with_columns(pl.col("list_date").str.to_date(strict=False))
