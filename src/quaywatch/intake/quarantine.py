"""Working the quarantine: list, show and retry records that intake could not store."""

from __future__ import annotations

import hashlib
import json
import re
import string
import uuid
from dataclasses import dataclass
from typing import Any

import polars as pl
from sqlalchemy import Connection, Row, func, select, update

from quaywatch.audit import chain
from quaywatch.errors import InputError, NotFoundError
from quaywatch.intake import cuscar, decode, edifact, formats, readers
from quaywatch.intake.options import DEFAULT_OPTIONS, IntakeOptions
from quaywatch.intake.pipeline import Importer, ImportSummary, Prepared
from quaywatch.intake.records import Chunk, RecordKind, as_text
from quaywatch.store import tables
from quaywatch.store.store import Store

q = tables.quarantine


@dataclass(frozen=True, slots=True)
class RetryResult:
    """What a retry did with one quarantined record."""

    quarantine_id: int
    stored: bool
    reason: str | None


def list_entries(
    store: Store, *, status: str | None = "open", limit: int = 50, reason: str | None = None
) -> list[Row[Any]]:
    """Quarantine entries, newest first; ``reason``: only those whose reason holds this text
    (ASCII letters in any case)."""
    with store.reading() as conn:
        if reason is None:
            query = _where(select(q), status, None).order_by(q.c.quarantine_id.desc())
            return list(conn.execute(query.limit(limit)))
        ids = sorted(_ids_holding(conn, status, None, reason), reverse=True)[:limit]
        query = select(q).where(q.c.quarantine_id.in_(ids)).order_by(q.c.quarantine_id.desc())
        return list(conn.execute(query)) if ids else []


@dataclass(frozen=True, slots=True)
class ReasonGroup:
    """Entries of one kind whose first problem is ``field`` and ``reason`` up to its numbers
    (``reason`` shows each run of digits as ``N``), how many, and the newest entry's id."""

    kind: str
    field: str | None
    reason: str
    count: int
    newest_id: int


_NUMBER = re.compile(r"\b\d+(?:\.\d+)?\b")
_ASCII_LOWER = str.maketrans(string.ascii_uppercase, string.ascii_lowercase)
#: Reasons matched per query (an ``IN`` list).
_REASONS_PER_QUERY = 500


def reason_pattern(reason: str) -> str:
    """``reason`` with each number written ``N``: a byte offset, a length or a line number
    does not make a cause of its own."""
    return _NUMBER.sub("N", reason)


def holds(reason: str, text: str) -> bool:
    """Whether ``reason`` holds ``text``, ASCII letters in any case. Decided here, not by the
    store: SQLite and PostgreSQL fold letters differently (PostgreSQL folds ``İ`` and the
    Kelvin sign to ASCII, SQLite's ``LIKE`` ignores ASCII case where PostgreSQL's does not)."""
    return text.translate(_ASCII_LOWER) in reason.translate(_ASCII_LOWER)


def _where(query: Any, status: str | None, kind: str | None) -> Any:
    if status:
        query = query.where(q.c.status == status)
    if kind:
        query = query.where(q.c.kind == kind)
    return query


def _ids_holding(conn: Connection, status: str | None, kind: str | None, text: str) -> list[int]:
    """Entries (``status``, ``kind``) whose reason holds ``text``: the distinct reasons are
    matched here (``holds``), then their entries read."""
    reasons = [
        r for (r,) in conn.execute(_where(select(q.c.reason).distinct(), status, kind))
        if holds(r, text)
    ]  # fmt: skip
    ids: list[int] = []
    for start in range(0, len(reasons), _REASONS_PER_QUERY):
        chunk = reasons[start : start + _REASONS_PER_QUERY]
        query = _where(select(q.c.quarantine_id).where(q.c.reason.in_(chunk)), status, kind)
        ids += [qid for (qid,) in conn.execute(query)]
    return ids


def reason_groups(
    store: Store, *, status: str | None = "open", reason: str | None = None
) -> list[ReasonGroup]:
    """The entries grouped by their first problem's kind, field and reason pattern, largest
    group first (ties: the newest first). ``reason``: only reasons holding this text (ASCII
    letters in any case)."""
    query = _where(
        select(q.c.kind, q.c.field, q.c.reason, func.count(), func.max(q.c.quarantine_id))
        .group_by(q.c.kind, q.c.field, q.c.reason),
        status, None,
    )  # fmt: skip
    groups: dict[tuple[str, str | None, str], list[int]] = {}
    with store.reading() as conn:
        for kind, field, text, count, newest in conn.execute(query):
            if reason is not None and not holds(text, reason):
                continue
            tally = groups.setdefault((kind, field, reason_pattern(text)), [0, 0])
            tally[0] += count
            tally[1] = max(tally[1], newest)
    found = [ReasonGroup(k, f, r, count, newest) for (k, f, r), (count, newest) in groups.items()]
    return sorted(found, key=lambda g: (-g.count, -g.newest_id))


def matching_ids(
    store: Store, *, reason: str, kind: str | None = None, limit: int | None = None
) -> list[int]:
    """Open entries whose reason holds ``reason`` (ASCII letters in any case), of ``kind`` if
    given, oldest first: records are retried in the order they arrived."""
    with store.reading() as conn:
        return sorted(_ids_holding(conn, "open", kind, reason))[:limit]


def open_ids(store: Store, raws: list[str]) -> dict[str, int]:
    """The open entry holding each of these records as read (``Rejected.raw``), by raw text."""
    digests = {hashlib.sha256(raw.encode()).hexdigest(): raw for raw in raws}
    if not digests:
        return {}
    query = select(q.c.raw_sha256, q.c.quarantine_id).where(
        q.c.status == "open", q.c.raw_sha256.in_(list(digests))
    )
    with store.reading() as conn:
        return {digests[digest]: qid for digest, qid in conn.execute(query)}


def get_entry(store: Store, quarantine_id: int) -> Row[Any]:
    """One entry, or ``NotFoundError``."""
    with store.reading() as conn:
        row = conn.execute(select(q).where(q.c.quarantine_id == quarantine_id)).first()
    if row is None:
        raise NotFoundError(f"no quarantine entry {quarantine_id}")
    return row


def _chunk(kind: RecordKind, raw: str, source: str, limits: decode.Limits) -> Chunk:
    """The raw record (flat rows, a JSON object, or a CUSCAR message) as a one-record chunk
    (a CUSCAR message: its consignments).

    It passes the readers' front door (``decode``): a record an import would quarantine for its
    shape or its limits is refused here with the field named, never stored. A CUSCAR message is
    mapped again under ``limits`` (its time zone for times without an offset).
    """
    try:
        parsed = decode.parse_json(raw, limits)
        if isinstance(parsed, str) and parsed.startswith("UNA") and kind is RecordKind.CONSIGNMENTS:
            return _cuscar_chunk(parsed, source, limits)
        if isinstance(parsed, str):  # a line that was not JSON when first read
            parsed = decode.parse_json(parsed, limits)
        if isinstance(parsed, dict):  # in the format its keys show (DCSA 2.2 or 3.x, ...)
            found = formats.of_record(kind, parsed)
            decode.check_shape(parsed, found.shape_for(kind), limits)
            rows, raw_text = found.rows(kind, parsed), raw
        elif isinstance(parsed, list) and all(isinstance(r, dict) for r in parsed):
            flat = decode.Obj(dict.fromkeys(readers.columns_of(kind), decode.SCALAR))
            for row in parsed:
                decode.check_shape(row, flat, limits)
            rows, raw_text = parsed, None
        else:
            raise InputError("a record is a JSON object, or a list of flat rows", source=source)
    except decode.Fault as fault:
        where = f"field {fault.field}: " if fault.field else ""
        raise InputError(f"the record {where}{fault.reason}", source=source) from None
    columns = readers.columns_of(kind)
    unknown = sorted({key for row in rows for key in row} - set(columns))
    if unknown:
        raise InputError(f"unknown fields {', '.join(unknown)}", source=source)
    data: dict[str, Any] = {c: [as_text(r.get(c)) for r in rows] for c in columns}
    # A carrier document's rows are its lines, one record as the import read it (by object).
    locs = [1] * len(rows) if kind is RecordKind.DOCUMENTS else list(range(1, len(rows) + 1))
    data |= {"_loc": locs, "_raw": [raw_text] * len(rows)}
    schema = dict.fromkeys(columns, pl.String) | {"_loc": pl.Int64, "_raw": pl.String}
    return Chunk(pl.DataFrame(data, schema=schema))


def _cuscar_chunk(text: str, source: str, limits: decode.Limits) -> Chunk:
    """The consignments of a quarantined CUSCAR message, mapped again; ``InputError`` naming
    the segment if one still cannot be."""
    zone = None if limits.local_time_zone is None else decode.time_zone(limits.local_time_zone)
    rows: list[dict[str, Any]] = []
    locs: list[int] = []
    for number, result in enumerate(
        cuscar.consignments(edifact.read_one(text, limits, source), zone), 1
    ):
        if isinstance(result, decode.Refused):
            where = f"{result.field}: " if result.field else ""
            raise InputError(f"the message {where}{result.reason}", source=source)
        flat = readers.flatten(RecordKind.CONSIGNMENTS, result.record)
        rows += flat
        locs += [number] * len(flat)
    columns = readers.columns_of(RecordKind.CONSIGNMENTS)
    data: dict[str, Any] = {c: [as_text(r.get(c)) for r in rows] for c in columns}
    data |= {"_loc": locs, "_raw": [json.dumps(text)] * len(rows)}
    schema = dict.fromkeys(columns, pl.String) | {"_loc": pl.Int64, "_raw": pl.String}
    return Chunk(pl.DataFrame(data, schema=schema))


def check_correction(record_id: str | None, prepared: Prepared, quarantine_id: int) -> None:
    """``InputError`` unless a corrected record is exactly one record under ``record_id``, the
    record id of the entry it corrects (any id where the entry had none usable).

    A quarantine entry is a filer's declaration that could not be stored. Resolving it with a
    record under another id would mark that declaration as received while storing a different
    one: the original would vanish from the open quarantine without ever being stored. A record
    under another id is a new declaration: import it (a file, or the API's submission); the
    entry stays open until its own record is stored or corrected.
    """
    found = [r.record_id for r in prepared.rejected]
    if prepared.records is not None:
        found += [str(key) for key in prepared.records["_key"]]
    source = f"quarantine:{quarantine_id}"
    if prepared.read != 1:
        raise InputError(
            f"a corrected record is one record, this one holds {prepared.read}; nothing was "
            "stored and the entry stays open",
            source=source,
        )
    if record_id is not None and found != [record_id]:
        given = f"record {found[0]}" if found and found[0] else "a record without a usable id"
        raise InputError(
            f"the corrected record is {given}, but entry {quarantine_id} holds record "
            f"{record_id}: a correction keeps the record's id. A record under another id is a "
            "new declaration: import it as such; nothing was stored and the entry stays open",
            source=source,
        )


def retry(
    store: Store,
    quarantine_id: int,
    *,
    record: str | None = None,
    actor: str = "system",
    options: IntakeOptions = DEFAULT_OPTIONS,
) -> RetryResult:
    """Check and store a quarantined record again, optionally as corrected by an operator.
    ``options``: how records are read and checked (``IntakeOptions``: sizes, the zone of times
    without an offset, plausible ranges), as for an import.

    Stored: the entry is resolved. Still invalid: the entry stays open with the new reasons
    (and the corrected record, if one was given). Either way the attempt is audited.

    A correction is the same declaration put right, so it must be one record under the
    entry's record id (``check_correction``); anything else is refused and nothing is written.
    """
    entry = get_entry(store, quarantine_id)
    if entry.status != "open":
        raise InputError(f"quarantine entry {quarantine_id} is already {entry.status}")
    if record is None and any(decode.kept_altered(str(reason)) for _, reason in entry.errors):
        raise InputError(
            f"quarantine entry {quarantine_id} keeps its record altered (bytes that are not "
            "UTF-8 written \\xNN, or clipped to a limit): retry it with the corrected record"
        )
    raw = record if record is not None else entry.raw
    kind = RecordKind(entry.kind)
    source = f"quarantine:{quarantine_id}"
    chunk = _chunk(kind, raw, source, options.limits)
    summary = ImportSummary(source, kind, str(uuid.uuid4()))
    started_at = tables.utcnow()
    with store.transaction() as conn:
        by_object = kind is RecordKind.DOCUMENTS
        importer = Importer(store, conn, summary, "row", by_object=by_object, options=options)
        prepared = importer.prepare(chunk, last=True)
        if record is not None:
            check_correction(entry.record_id, prepared, quarantine_id)
        rejected = importer.save(prepared)
        stored = not rejected
        if stored:
            conn.execute(
                update(q).where(q.c.quarantine_id == quarantine_id)
                .values(status="resolved", resolved_at=importer.now, resolved_batch_id=summary.batch_id)
            )  # fmt: skip
        else:
            first = rejected[0]
            conn.execute(
                update(q).where(q.c.quarantine_id == quarantine_id).values(
                    raw=raw, field=first.field or None, reason=first.reason,
                    errors=[list(p) for p in first.problems],
                )
            )  # fmt: skip
            summary.quarantined = len(rejected)
        importer.touched_quarantine(quarantine_id)  # its new state is bound into this batch
        importer.finish(source_sha256=None, actor=actor, started_at=started_at)
        chain.append(
            conn, actor=actor, action="quarantine_retry", object_type="quarantine",
            object_id=str(quarantine_id),
            details={"stored": stored, "edited": record is not None, "batch_id": summary.batch_id},
        )  # fmt: skip
    return RetryResult(quarantine_id, stored, None if stored else rejected[0].reason)
