"""Use cases of intake: import files or JSON records, work the quarantine, count the store.

- ``ingest_files``: files (CSV, JSON Lines, Parquet, DCSA JSON) in, one import each;
- ``ingest_records``: records that arrive as JSON objects (what an HTTP client posts), imported
  through the same JSON Lines reader and pipeline as a file, so that checks, quarantine and
  idempotency are exactly those of a file;
- ``list_quarantine`` / ``quarantine_reasons`` / ``get_quarantine`` / ``retry_quarantine`` /
  ``retry_quarantine_matching``: the records intake could not store, counted by cause, and
  storing them again as they are or as an operator corrected them, one by one or every entry
  of one cause at once;
- ``store_counts``: rows per table.
"""

from __future__ import annotations

import json
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Row

from quaywatch.domain.vocabulary import KnownAt, RecordKind
from quaywatch.errors import (
    InputError,
    NotFoundError,
    QuaywatchError,
    StoreBusyError,
    WriteConflictError,
)
from quaywatch.intake import dcsa_ebl, pipeline, quarantine
from quaywatch.intake.decode import storable
from quaywatch.intake.options import DEFAULT_OPTIONS, IntakeOptions
from quaywatch.intake.pipeline import ImportSummary
from quaywatch.services.arguments import check_at_least
from quaywatch.store.store import Store

#: Records read and stored per chunk when the caller does not say.
DEFAULT_BATCH_SIZE = 50_000
#: What ``list_quarantine`` accepts as ``status``.
QUARANTINE_STATUSES = ("open", "resolved", "all")
#: Longest reason text a quarantine filter takes.
MAX_REASON_CHARS = 500

#: Called during ``ingest_files`` with the file, the bytes read so far and the file's size.
FileProgress = Callable[[Path, int, int], None]


@dataclass(frozen=True, slots=True)
class FieldProblem:
    """One problem of a record: the field at fault (empty for the record as a whole) and why."""

    field: str
    reason: str


@dataclass(frozen=True, slots=True)
class QuarantineEntry:
    """One quarantined record: where it came from, every problem, and the record as read."""

    quarantine_id: int
    status: str
    kind: str
    source: str
    location: str
    record_id: str | None
    field: str | None
    reason: str
    errors: tuple[FieldProblem, ...]
    raw: str
    created_at: datetime
    resolved_at: datetime | None


@dataclass(frozen=True, slots=True)
class RetryOutcome:
    """What retrying one quarantine entry did: stored (entry resolved) or still invalid."""

    quarantine_id: int
    stored: bool
    reason: str | None


@dataclass(frozen=True, slots=True)
class RetryResult:
    """What a retry of several entries did, entry by entry."""

    outcomes: tuple[RetryOutcome, ...]

    @property
    def failed(self) -> int:
        """Entries still invalid."""
        return sum(not o.stored for o in self.outcomes)


@dataclass(frozen=True, slots=True)
class FailedFile:
    """A file of ``ingest_files`` that was not imported: its transaction was rolled back
    (``attempted``), or it was not tried because the store was busy or unreachable for an
    earlier file. ``error`` says why."""

    source: str
    error: QuaywatchError
    attempted: bool = True

    @property
    def reason(self) -> str:
        """The error's message, naming the file."""
        message = self.error.message
        return message if self.source in message else f"{self.source}: {message}"


class FilesNotImportedError(QuaywatchError):
    """Some files of an ``ingest_files`` call were not imported; every other file was, each in
    its own transaction.

    ``imported`` holds the summaries of the files imported and ``failed`` the others, each in
    the order given. The message names each failed file with its reason; the exit code and
    status are the most severe of the failures'.
    """

    def __init__(self, imported: list[ImportSummary], failed: list[FailedFile]) -> None:
        attempted = [f for f in failed if f.attempted]
        if len(failed) == 1 and not imported:
            message = failed[0].error.message  # one file, as its own error said
        else:
            total = len(imported) + len(failed)
            message = f"{len(failed)} of {total} files not imported: " + "; ".join(
                f.reason for f in attempted
            )
            if len(attempted) < len(failed):
                message += f"; {len(failed) - len(attempted)} not tried after the store failed"
        super().__init__(message)
        self.imported = imported
        self.failed = failed
        self.status = failed[0].error.status
        self.exit_code = max(f.error.exit_code for f in failed)


def _check_batch_size(batch_size: int) -> None:
    check_at_least("batch_size", batch_size)


def ingest_files(
    store: Store,
    paths: Sequence[Path],
    *,
    kind: RecordKind | None = None,
    batch_size: int = DEFAULT_BATCH_SIZE,
    actor: str,
    progress: FileProgress | None = None,
    known_at: KnownAt = KnownAt.RECEIVED,
    options: IntakeOptions = DEFAULT_OPTIONS,
    format_name: str | None = None,
) -> list[ImportSummary]:
    """Import each file in its own transaction; return what happened to its records.

    A file that cannot be imported (unreadable, wrong columns, refused by the store) is rolled
    back alone and the next file is imported; the call then raises ``FilesNotImportedError``
    with the summaries of the files imported and the reason of each failed one. Only a busy or
    unreachable store (``StoreBusyError``) stops it: the files left are reported as not tried.

    ``kind`` overrides the detection of the record kind from the file's columns, and
    ``format_name`` the detection of the format (``intake.formats``: ``dcsa-tnt-3``, ...) from
    its content; each summary names the format read and counts, by what they are, the records
    acknowledged but not stored (``skipped``: DCSA shipment events). ``known_at``
    says when the container events stored count as known to an assessment as of a time: when
    received (the default, leak-free) or, for a history loaded after the fact that a backtest
    replays, when the carrier created them (``docs/intake.md``); each summary and audit event
    of an event import records the choice. Files of other kinds carry their own time.
    ``options``: the ranges times and amounts are held to (``docs/formats.md``) and what one
    record may hold (the ``QUAYWATCH_MAX_*`` settings), as ``config.read_intake_options``
    reads them (default: the defaults).
    """
    _check_batch_size(batch_size)
    summaries: list[ImportSummary] = []
    failed: list[FailedFile] = []
    busy: StoreBusyError | None = None
    for path in paths:
        if busy is not None:
            failed.append(FailedFile(str(path), busy, attempted=False))
            continue

        def advance(done: int, total: int, path: Path = path) -> None:
            if progress is not None:
                progress(path, done, total)

        try:
            summaries.append(
                pipeline.ingest_file(
                    store,
                    path,
                    kind=kind,
                    batch_size=batch_size,
                    actor=actor,
                    progress=advance,
                    known_at=known_at,
                    options=options,
                    format_name=format_name,
                )  # fmt: skip
            )
        except QuaywatchError as exc:
            failed.append(FailedFile(str(path), exc))
            if isinstance(exc, StoreBusyError):
                busy = exc
    if failed:
        raise FilesNotImportedError(summaries, failed)
    return summaries


def json_line(record: dict[str, Any], number: int) -> str:
    """``record`` as one line of a JSON Lines file; ``InputError`` naming record ``number``
    if it cannot be written as JSON (a value that is not JSON, NaN, infinity)."""
    try:
        line = json.dumps(record, ensure_ascii=False, allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise InputError(f"record {number} is not JSON: {exc}") from None
    if not storable(line):  # an unpaired surrogate: written as its escape, refused on reading
        return json.dumps(record, allow_nan=False)
    return line


def _json_lines(records: Sequence[dict[str, Any]]) -> str:
    return "".join(
        f"{json_line(record, number)}\n" for number, record in enumerate(records, start=1)
    )


def ingest_records(
    store: Store,
    records: Sequence[dict[str, Any]],
    *,
    kind: RecordKind,
    source: str,
    actor: str,
    batch_size: int = DEFAULT_BATCH_SIZE,
    options: IntakeOptions = DEFAULT_OPTIONS,
    format_name: str | None = None,
) -> ImportSummary:
    """Import records given as JSON objects (one per record), in one transaction.

    The records are read as a JSON Lines file holding them would be, one line each (a
    quarantine entry's location ``line 3`` is the third record), and ``source`` names the
    import in the batch, the quarantine and the audit trail. Importing the same records again
    changes nothing: they are counted unchanged (or already quarantined). ``format_name``:
    the records' format, else told from the first record's keys (``intake.formats``).
    """
    _check_batch_size(batch_size)
    if not source.strip():
        raise InputError("source must name where the records come from")
    text = _json_lines(records)
    with tempfile.TemporaryDirectory(prefix="quaywatch-records-") as folder:
        path = Path(folder) / "records.jsonl"
        path.write_text(text, encoding="utf-8")
        return pipeline.ingest_file(
            store, path, kind=kind, batch_size=batch_size, actor=actor, source=source,
            options=options,
            format_name=format_name,
        )  # fmt: skip


@dataclass(frozen=True, slots=True)
class RejectedRecord:
    """A submitted record that was quarantined: its position in the submission (from 0), the
    quarantine entry that holds it, and every problem as (field, reason)."""

    index: int
    record_id: str | None
    quarantine_id: int | None
    errors: tuple[tuple[str, str], ...]


@dataclass(frozen=True, slots=True)
class Submission:
    """What a submission of records did.

    ``summary``: the import's counts; ``stored_ids``: the record ids (consignment ids for
    consignments) of the submitted records now stored, new or unchanged, in submission order;
    ``rejected``: the quarantined ones (the first ``MAX_REJECTED_SHOWN`` of them).
    """

    summary: ImportSummary
    stored_ids: tuple[str, ...]
    rejected: tuple[RejectedRecord, ...]


#: Records one submission may hold (larger sets are files).
MAX_SUBMITTED = 1_000
#: Quarantined records listed one by one in a submission's result (the import keeps as many).
MAX_REJECTED_SHOWN = 100
#: Times a submission runs again after losing a race with a writer of the same records.
CONFLICT_RETRIES = 5


def submit_records(
    store: Store,
    records: Sequence[dict[str, Any]],
    *,
    kind: RecordKind,
    source: str,
    actor: str,
    options: IntakeOptions = DEFAULT_OPTIONS,
    format_name: str | None = None,
) -> Submission:
    """Import records a client submitted (at most ``MAX_SUBMITTED``), as ``ingest_records``.

    Submitting the same records again, or at the same moment as another client, stores them
    once: the import that loses a race for the same key runs again and finds them stored
    (``unchanged``).
    """
    if not records:
        raise InputError("a submission must hold at least one record")
    if len(records) > MAX_SUBMITTED:
        raise InputError(
            f"a submission holds at most {MAX_SUBMITTED} records, got {len(records)}; "
            "send larger sets as files"
        )
    for attempt in range(CONFLICT_RETRIES + 1):
        try:
            summary = ingest_records(
                store,
                records,
                kind=kind,
                source=source,
                actor=actor,
                options=options,
                format_name=format_name,
            )
            break
        except WriteConflictError:
            if attempt == CONFLICT_RETRIES:
                raise
    ids = quarantine.open_ids(store, [r.raw for r in summary.rejected])
    rejected = tuple(
        RejectedRecord(
            index=_line(r.location) - 1,
            record_id=r.record_id,
            quarantine_id=ids.get(r.raw),
            errors=tuple(r.problems),
        )  # fmt: skip
        for r in summary.rejected[:MAX_REJECTED_SHOWN]
    )
    bad = {r.index for r in rejected}
    stored = tuple(
        dict.fromkeys(
            key
            for index, record in enumerate(records)
            if index not in bad and (key := record_key(kind, record)) is not None
        )
    )
    return Submission(
        summary, stored if len(summary.rejected) == summary.quarantined else (), rejected
    )


def records_of(body: Any, *, wrapper: str | None = None) -> list[dict[str, Any]]:
    """The records of a submitted JSON document: one object, an array of objects, or (with
    ``wrapper``) an object holding the array under that key (DCSA Track & Trace 3's
    ``{"events": [...]}``). ``InputError`` for anything else, naming what was found."""
    if isinstance(body, dict) and wrapper is not None and isinstance(body.get(wrapper), list):
        body = body[wrapper]
    if isinstance(body, dict):
        return [body]
    if isinstance(body, list):
        bad = [i for i, record in enumerate(body) if not isinstance(record, dict)]
        if bad:
            raise InputError(f"record {bad[0]} is not a JSON object; each record must be one")
        return body
    expected = "an object or an array of objects"
    if wrapper is not None:
        expected += f" (or an object with an array {wrapper!r})"
    found = {str: "a string", bool: "a boolean", int: "a number", float: "a number"}
    raise InputError(f"expected {expected}, found {found.get(type(body), 'null')}")


#: The field naming each record of a kind (carrier documents: ``record_key``).
KEY_FIELD = {
    RecordKind.CONSIGNMENTS: "consignment_id",
    RecordKind.EVENTS: "eventID",
    RecordKind.OUTCOMES: "control_id",
}


def record_key(kind: RecordKind, record: dict[str, Any]) -> str | None:
    """What names a submitted record of ``kind``: its key field, or for a carrier document the
    reference it is filed under (``dcsa_ebl.reference_of``); None where it has none."""
    if kind is RecordKind.DOCUMENTS:
        return dcsa_ebl.reference_of(record)
    value = record.get(KEY_FIELD[kind])
    return value if isinstance(value, str) else None


def _line(location: str) -> int:
    """The first line number of a reader's location (``line 3``, ``lines 3-5``)."""
    digits = location.split()[-1].split("-")[0]
    return int(digits) if digits.isdigit() else 0


def _entry(row: Row[Any]) -> QuarantineEntry:
    return QuarantineEntry(
        quarantine_id=row.quarantine_id, status=row.status, kind=row.kind, source=row.source,
        location=row.location, record_id=row.record_id, field=row.field, reason=row.reason,
        errors=tuple(FieldProblem(str(f), str(r)) for f, r in row.errors), raw=row.raw,
        created_at=row.created_at, resolved_at=row.resolved_at,
    )  # fmt: skip


def _status(status: str) -> str | None:
    if status not in QUARANTINE_STATUSES:
        raise InputError(f"status must be one of {', '.join(QUARANTINE_STATUSES)}, got {status!r}")
    return None if status == "all" else status


def _reason_text(reason: str) -> str:
    """A reason filter as given, or ``InputError`` for one no entry could match."""
    if not reason.strip():
        raise InputError("reason must hold some text of the reasons to match")
    if len(reason) > MAX_REASON_CHARS or not storable(reason):
        raise InputError(
            f"reason must be at most {MAX_REASON_CHARS} characters of text (no NUL character)"
        )
    return reason


def list_quarantine(
    store: Store, *, status: str = "open", limit: int = 50, reason: str | None = None
) -> list[QuarantineEntry]:
    """Quarantine entries with ``status`` (open, resolved or all), newest first; ``reason``:
    only those whose reason holds this text (ASCII letters in any case)."""
    check_at_least("limit", limit)
    text = None if reason is None else _reason_text(reason)
    rows = quarantine.list_entries(store, status=_status(status), limit=limit, reason=text)
    return [_entry(row) for row in rows]


@dataclass(frozen=True, slots=True)
class ReasonCount:
    """How many entries share one cause: their kind, the field at fault (empty: the record)
    and the reason with each number written ``N``; ``newest_id``: the newest such entry."""

    kind: str
    field: str
    reason: str
    count: int
    newest_id: int


def quarantine_reasons(
    store: Store, *, status: str = "open", reason: str | None = None
) -> list[ReasonCount]:
    """Entries with ``status`` counted by cause, the largest first: what to fix first (the
    reference data, a sender's format) before retrying them together
    (``retry_quarantine_matching``)."""
    text = None if reason is None else _reason_text(reason)
    groups = quarantine.reason_groups(store, status=_status(status), reason=text)
    return [ReasonCount(g.kind, g.field or "", g.reason, g.count, g.newest_id) for g in groups]


#: Quarantine ids are the store's 32-bit integers.
MAX_QUARANTINE_ID = 2**31 - 1


def _check_quarantine_id(quarantine_id: int) -> None:
    if not 1 <= quarantine_id <= MAX_QUARANTINE_ID:
        raise NotFoundError(f"no quarantine entry {quarantine_id}")


def get_quarantine(store: Store, quarantine_id: int) -> QuarantineEntry:
    """One quarantine entry, or ``NotFoundError``."""
    _check_quarantine_id(quarantine_id)
    return _entry(quarantine.get_entry(store, quarantine_id))


def retry_quarantine(
    store: Store,
    quarantine_ids: Sequence[int],
    *,
    record_text: str | None = None,
    actor: str,
    options: IntakeOptions = DEFAULT_OPTIONS,
) -> RetryResult:
    """Check and store quarantined records again, as they are or, for one entry, as corrected.

    ``record_text`` is a corrected record (JSON, as ``get_quarantine`` gives ``raw``); it
    corrects exactly one entry. Each attempt is audited; an entry still invalid stays open with
    its new reasons.
    """
    if not quarantine_ids:
        raise InputError("quarantine_ids must name at least one quarantine entry")
    if record_text is not None and len(quarantine_ids) != 1:
        raise InputError(
            f"a corrected record corrects exactly one quarantine entry, got {len(quarantine_ids)}"
        )
    for qid in quarantine_ids:
        _check_quarantine_id(qid)
    outcomes = []
    for qid in quarantine_ids:
        done = quarantine.retry(store, qid, record=record_text, actor=actor, options=options)
        outcomes.append(RetryOutcome(done.quarantine_id, done.stored, done.reason))
    return RetryResult(tuple(outcomes))


def retry_quarantine_matching(
    store: Store,
    reason: str,
    *,
    kind: str | None = None,
    limit: int | None = None,
    actor: str,
    options: IntakeOptions = DEFAULT_OPTIONS,
) -> RetryResult:
    """Retry, as they are, the open entries whose reason holds ``reason`` (ASCII letters in any
    case), of ``kind`` if given, at most ``limit``, oldest first: once the cause is fixed (a
    port added to the site's reference data, the consignment an event needed imported), the
    records it held back are stored in one command.

    Each entry is retried and audited on its own, as ``retry_quarantine`` does; an entry that
    cannot be retried as it is (its record was altered when read) stays open and says why.
    """
    text = _reason_text(reason)
    if kind is not None and kind not in {k.value for k in RecordKind}:
        known = ", ".join(k.value for k in RecordKind)
        raise InputError(f"kind must be one of {known}, got {kind!r}")
    if limit is not None:
        check_at_least("limit", limit)
    outcomes = []
    for qid in quarantine.matching_ids(store, reason=text, kind=kind, limit=limit):
        try:
            done = quarantine.retry(store, qid, actor=actor, options=options)
        except InputError as exc:  # this entry needs a correction; the others go on
            if quarantine.get_entry(store, qid).status != "open":
                continue  # resolved meanwhile (another retry, an import): nothing to report
            outcomes.append(RetryOutcome(qid, False, exc.message))
            continue
        outcomes.append(RetryOutcome(done.quarantine_id, done.stored, done.reason))
    return RetryResult(tuple(outcomes))


def store_counts(store: Store) -> dict[str, int]:
    """Rows per table, and the open quarantine entries."""
    return store.counts()
