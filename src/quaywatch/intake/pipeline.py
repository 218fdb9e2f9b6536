"""The import pipeline: chunks in, records stored or quarantined, one transaction per import.

For each chunk: check every record, hash the valid ones, look their natural keys up, write the
new ones in bulk, quarantine the rest with their reasons. What differs between record kinds
(columns, checks, keys, tables) is in ``kinds.KINDS``; a control outcome is also quarantined
when the consignment it refers to is not stored. A record already stored with the same
content is *unchanged*; one stored with other content under the same key is quarantined (an
amendment must carry a new version). The batch row and its audit event are written in the same
transaction, so an import is either all there or not there at all.

A container event is stored with ``known_at``, the moment from which an assessment as of a
time sees it: when it was received (``KnownAt.RECEIVED``, the default: leak-free), or, chosen
explicitly for a history loaded after the fact, its own creation time (``KnownAt.CREATED``).
The choice is recorded in the import's audit event. It is not part of the content hash: the
same event imported again is unchanged and keeps the ``known_at`` of its first import.

Records from rows. In a JSON file a record is one object (its goods items become its rows). In
a flat file (CSV, Parquet) the rows of one consignment share its id and version, and need not
be next to each other: a first, cheap pass over the file (``scattered``) finds the ids whose
rows come in more than one run; the import holds those rows back and checks and stores each
such consignment whole at the end, its rows in file order. Memory grows with the rows held
back, never with the file; a file whose consignments are contiguous holds nothing back, and the
first pass costs it one more read of the file (``docs/intake.md``: about 7 %). Rows belong
to the same record when their ids are equal field for field (``record_identity``: the fields
length-prefixed, so ``DELTA 5``/``005W`` and ``DELTA 50``/``05W`` are two consignments).

Content hashes (``fields.encoded``) changed encoding: hashes stored before (fields joined with
``\x1f``) are not rewritten, since a hash is not a function of the stored rows alone (seals,
for one, are stored without their order or repeats). A record whose hash differs from the
stored one is compared once more in that old encoding (``fields.legacy_joined``) and is
unchanged if that matches, so re-importing a file into a store of before the change says
unchanged, not conflict. That encoding can confuse two records only through a value holding
``\x1f`` or ``\x1e``, and the checks quarantine any record with such a control character.

Every row the import writes, in every table (and each quarantine row it adds or resolves, and
its batch row), is hashed into the batch's group of ``record_hashes``, whose Merkle root the
import's audit event carries (``audit.rows``). A record found stored with the same content hash
is unchanged only if its stored rows still are the rows it would write (``audit.compare``):
else it is quarantined with "stored data differs from its audited hash", naming the table
and row, so a re-import never vouches for data changed behind the audit trail's back.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import polars as pl
from sqlalchemy import Connection, Table, func, insert, select, update

from quaywatch.audit import chain, compare, rows as row_hashes
from quaywatch.domain import reference
from quaywatch.domain.vocabulary import KnownAt
from quaywatch.intake import consignments, decode, entity_state, fields as f, readers
from quaywatch.intake.kinds import KINDS, Kind
from quaywatch.intake.options import DEFAULT_OPTIONS, IntakeOptions
from quaywatch.intake.records import Chunk, RecordKind, Rejected, Warned
from quaywatch.store import tables
from quaywatch.store.store import Encoded, Store

Progress = Callable[[int, int], None]
#: Data-quality warnings one import lists (in its summary and audit event); beyond, it counts.
MAX_WARNINGS_KEPT = 10_000


@dataclass(slots=True)
class ImportSummary:
    """What one import did: every record read is new, unchanged, quarantined or skipped.

    ``skipped``: valid records acknowledged but not stored, by what they are (a DCSA shipment
    event, which quaywatch has no use for yet; a retracted event), with how many of each.
    ``warned``: how many records stored (new or unchanged) carry a data-quality warning, a
    declared value set aside (``records.Warned``); ``warnings`` lists the first
    ``MAX_WARNINGS_KEPT``, which the import's audit event keeps.
    """

    source: str
    kind: RecordKind
    batch_id: str
    read: int = 0
    new: int = 0
    unchanged: int = 0
    quarantined: int = 0
    already_quarantined: int = 0
    resolved: int = 0
    rejected: list[Rejected] = field(default_factory=list)
    #: For container events: when the stored ones count as known (None for other kinds).
    known_at: KnownAt | None = None
    skipped: dict[str, int] = field(default_factory=dict)
    #: The format the file was read in (``formats``), where one was detected or named.
    format: str | None = None
    #: The reference data the records were checked with (``domain.reference.version``),
    #: recorded on the batch when the import finishes.
    reference_version: str | None = None
    warned: int = 0
    warnings: list[Warned] = field(default_factory=list)

    @property
    def balanced(self) -> bool:
        """Nothing lost: stored (new or unchanged) plus quarantined plus skipped equals read."""
        skipped = sum(self.skipped.values())
        return self.new + self.unchanged + self.quarantined + skipped == self.read


@dataclass(slots=True)
class Rows:
    """One table's rows from a chunk: by record (``_run``), and encoded for the store ahead."""

    table: Table
    frame: pl.DataFrame
    encoded: Encoded


@dataclass(slots=True)
class Prepared:
    """A checked chunk waiting to be stored.

    ``records`` has one row per valid record with its content hash; ``writes`` the rows of every
    table for all valid records, in foreign-key order, as if every record were new.
    """

    frame: pl.DataFrame
    read: int
    rejected: list[Rejected]
    valid: pl.DataFrame | None = None
    records: pl.DataFrame | None = None
    parties: pl.DataFrame | None = None
    writes: list[Rows] = field(default_factory=list)
    skipped: dict[str, int] = field(default_factory=dict)
    #: Valid records with a value set aside: ``_run``, ``_key``, ``_loc`` and ``_warnings``.
    warned: pl.DataFrame | None = None


def _location(unit: str, first: int, last: int) -> str:
    return f"{unit} {first}" if first == last else f"{unit}s {first}-{last}"


#: Control characters shown as ``\uXXXX`` in a record id kept in the quarantine.
_ESCAPES = {code: f"\\u{code:04x}" for code in (*range(0x20), *range(0x7F, 0xA0))}
#: Seed of the 64-bit hashes the first pass keeps of record identities (any fixed value).
_SEED = 20


def record_identity(kind: Kind, *, by_object: bool) -> pl.Expr:
    """Which record each row belongs to: rows with the same identity are one record.

    ``by_object``: the rows came from JSON objects, one record each (its ``_loc``). Otherwise
    the kind's key fields, stripped, each length-prefixed (``fields.encoded``), so that no two
    different keys share an identity; a row without the first key field is a record alone.
    """
    if by_object or not kind.multi_row:
        return pl.format("@{}", pl.col("_loc"))
    keys = [_key_text(key) for key in kind.keys]
    return (
        pl.when(keys[0].is_null()).then(pl.format("@{}", pl.col("_loc"))).otherwise(f.encoded(keys))
    )


def _key_text(key: str) -> pl.Expr:
    """A key field as the record's identity reads it: stripped; a version as the number it is
    (``01`` is version 1, and none is version 1, as ``consignments.validate`` reads it), so
    that rows one check takes for the same record are one record here too."""
    text = pl.col(key).str.strip_chars().replace("", None)
    if key != "version":
        return text
    number = text.cast(pl.Int64, strict=False).cast(pl.String)
    return pl.coalesce(number, text).fill_null("1")


def scattered(chunks: Iterator[Chunk], kind: Kind) -> pl.Series:
    """The identities (as 64-bit hashes) of records whose rows come in more than one run.

    Only the hash of each run's identity is kept, 8 bytes a record; two identities sharing a
    hash only hold the other's rows back too, which changes nothing but the order of storing.
    """
    identity = record_identity(kind, by_object=False).hash(_SEED)
    starts: list[pl.Series] = []
    previous: int | None = None
    for chunk in chunks:
        if chunk.frame.is_empty():
            continue
        hashes = chunk.frame.select(identity).to_series()
        start = hashes != hashes.shift(1, fill_value=previous)
        if previous is None:
            start[0] = True
        starts.append(hashes.filter(start.fill_null(True)))
        previous = hashes[-1]
    if not starts:
        return pl.Series("_ident", [], pl.UInt64)
    runs = pl.concat(starts)
    return runs.filter(runs.is_duplicated()).unique()


class Importer:
    """Stores checked records of one kind inside one open transaction.

    ``by_object``: the rows came from JSON objects, one record each. ``scattered``: identities
    (hashed) of records whose rows are not contiguous in the file (``scattered``): ``prepare``
    holds their rows back, and ``held_back`` hands them over at the end, record by record.
    ``options``: how records are checked (``IntakeOptions.plausible``: the ranges the checks
    hold times and amounts to).
    """

    def __init__(
        self,
        store: Store,
        conn: Connection,
        summary: ImportSummary,
        unit: str,
        *,
        by_object: bool = False,
        scattered: pl.Series | None = None,
        options: IntakeOptions = DEFAULT_OPTIONS,
    ) -> None:
        self.store, self.conn, self.summary, self.unit = store, conn, summary, unit
        self.now = tables.utcnow()
        #: The reference data the records are checked with, recorded on the batch.
        self.reference_version = reference.version()
        self.kind: Kind = KINDS[summary.kind]
        self.options = options
        if summary.kind is RecordKind.EVENTS and summary.known_at is None:
            summary.known_at = KnownAt.RECEIVED  # a retried quarantine entry: known from now
        self._identity = record_identity(self.kind, by_object=by_object).alias("_ident")
        self._scattered = scattered if scattered is not None and scattered.len() else None
        self._held: list[pl.DataFrame] = []
        self._carry: pl.DataFrame | None = None
        self._parties_seen = pl.Series("party_key", [], pl.String)
        self.recorder = row_hashes.Recorder()
        self._quarantine_touched: list[int] = []
        # Stored records resolve open quarantine entries; most imports find none to look up.
        q = tables.quarantine
        self._open_quarantine = (
            conn.execute(select(q.c.quarantine_id).where(q.c.status == "open").limit(1)).first()
            is not None
        )

    # --- checking ------------------------------------------------------------------------

    def _checked(self, frame: pl.DataFrame) -> pl.DataFrame:
        """``frame`` checked, each row with ``_row`` and ``_run``: its record, numbered by the
        record's first row, so records keep the order in which they begin."""
        frame = frame.with_row_index("_row")
        if self.kind.multi_row:
            run = pl.col("_row").min().over("_ident")
            frame = frame.with_columns(run.alias("_run")).drop("_ident")
        else:
            frame = frame.with_columns(pl.col("_row").alias("_run")).drop("_ident")
        checked = self.kind.validate(frame, self.options.plausible)
        if "_fault" not in checked.columns:
            return checked
        # A row the reader refused (bytes that are not UTF-8, a field over a limit) makes its
        # whole record bad, first of its problems: no consignment is stored without a row.
        return checked.with_columns(
            pl.concat_str(["_fault", "_problems"], separator=f.PROBLEM_SEP, ignore_nulls=True)
            .replace("", None)
            .alias("_problems")
        )

    def _rejects(
        self, original: pl.DataFrame, checked: pl.DataFrame, runs: pl.Series
    ) -> list[Rejected]:
        """Quarantine entries for the records (``runs``) of a chunk, with their raw input."""
        if runs.is_empty():
            return []
        columns = self.kind.columns
        bad = checked.filter(pl.col("_run").is_in(runs.implode())).select(
            "_row", "_run", "_key", "_loc", "_problems"
        )
        grouped = (
            original.with_row_index("_row")
            .join(bad, on="_row", maintain_order="right")
            .group_by("_run", maintain_order=True)
            .agg(
                pl.col("_key").first(), pl.col("_loc"), pl.col("_problems"),
                pl.col("_raw").first(), pl.struct(columns).alias("_rows"),
            )
            .sort("_run")  # one entry per record, in the order of ``runs`` sorted
        )  # fmt: skip
        rejected = []
        for key, locs, texts, raw, rows in grouped.select(
            "_key", "_loc", "_problems", "_raw", "_rows"
        ).iter_rows():
            problems: list[tuple[str, str]] = []
            several = len(set(locs)) > 1  # rows of one JSON object share its location
            for text, loc in zip(texts, locs, strict=True):
                for name, reason in f.split_problems(text or ""):
                    pair = (name, f"{reason} ({self.unit} {loc})" if several else reason)
                    if pair not in problems:
                        problems.append(pair)
            if raw is None:  # flat input: the rows exactly as read
                raw = json.dumps(rows, ensure_ascii=False)
            location = _location(self.unit, min(locs), max(locs))
            record_id = None if key.startswith("at ") else key.translate(_ESCAPES)
            rejected.append(Rejected(location, record_id, problems, raw))
        return rejected

    # --- one chunk: checks (no database) then storage ---------------------------------------

    def prepare(self, chunk: Chunk, *, last: bool, held: bool = False) -> Prepared:
        """Check a chunk without touching the database, so it can run ahead in a worker.

        ``held``: the chunk is rows held back (from ``held_back``), to be checked as they are.
        """
        frame = chunk.frame
        if "_ident" not in frame.columns:
            frame = frame.with_columns(self._identity)
        if self._scattered is not None and not held and frame.height:
            # Rows of a record also found elsewhere in the file wait for the end.
            later = frame.select(
                pl.col("_ident").hash(_SEED).is_in(self._scattered.implode())
            ).to_series()
            if later.any():
                self._held.append(frame.filter(later))
                frame = frame.filter(~later)
        if self._carry is not None:
            frame = pl.concat([self._carry, frame])
            self._carry = None
        if not last and not held and self.kind.multi_row and frame.height:
            # The last record may continue in the next chunk: keep it for then. Its rows are
            # together at the end (a record in more than one run is held back).
            tail = pl.col("_ident") == frame["_ident"][-1]
            self._carry, frame = frame.filter(tail), frame.filter(~tail)
        prepared = Prepared(frame, read=len(chunk.rejected), rejected=list(chunk.rejected))
        if frame.is_empty():
            return prepared
        checked = self._checked(frame)
        prepared.read += checked["_run"].n_unique()
        bad_runs = checked.filter(pl.col("_problems").is_not_null())["_run"].unique()
        prepared.rejected += self._rejects(frame, checked, bad_runs)
        valid = prepared.valid = (
            checked.filter(~pl.col("_run").is_in(bad_runs.implode()))
            if bad_runs.len()
            else checked  # the usual chunk: no copy of every column to drop nothing
        )
        if "_skip" in valid.columns:
            skip = valid.get_column("_skip")
            if skip.is_not_null().any():
                counts = skip.drop_nulls().value_counts()
                prepared.skipped = dict(counts.iter_rows())
                valid = prepared.valid = valid.filter(skip.is_null())
        if valid.is_empty():
            return prepared
        if "_warnings" in valid.columns and valid["_warnings"].is_not_null().any():
            prepared.warned = (
                valid.filter(pl.col("_warnings").is_not_null())
                .group_by("_run", maintain_order=True)
                .agg(pl.col("_key").first(), pl.col("_loc").min(), pl.col("_warnings").first())
            )
        stamp = [
            pl.lit(self.now).alias("received_at"),
            pl.lit(self.summary.batch_id).alias("batch_id"),
        ]
        if self.summary.kind is RecordKind.EVENTS:
            known = pl.col("created_time") if self.summary.known_at is KnownAt.CREATED else None
            stamp.append((pl.lit(self.now) if known is None else known).alias("known_at"))
        records = prepared.records = self.kind.content_hashes(valid)
        rows = valid.join(records.select("_run", "content_sha256"), on="_run")
        if self.summary.kind is RecordKind.CONSIGNMENTS:  # parties are stored once, by key
            prepared.parties = consignments.party_frame(rows)
            rows = consignments.with_party_keys(rows, prepared.parties)
        frames = self.kind.rows(rows.with_columns(stamp))
        prepared.writes = [
            Rows(table, frame, self.store.encode(frame.drop("_run")))
            for table, frame in frames.items()
        ]
        return prepared

    def save(self, prepared: Prepared) -> list[Rejected]:
        """Store a prepared chunk; return the records that must go to quarantine."""
        self.summary.read += prepared.read
        for name, count in prepared.skipped.items():
            self.summary.skipped[name] = self.summary.skipped.get(name, 0) + count
        rejected = prepared.rejected
        if prepared.records is None or prepared.valid is None:
            return rejected
        records = prepared.records
        if self.kind.needs_consignment:
            records, orphans = self._with_consignment(records)
            rejected = rejected + self._refused(prepared, orphans, "consignment_id")
        new, unchanged, conflicts = self._classify(records, self.kind.keys, prepared.valid)
        tampered = self._tampered(prepared, unchanged)
        if not tampered.is_empty():
            unchanged = unchanged.filter(~pl.col("_run").is_in(tampered["_run"].implode()))
        self.summary.unchanged += unchanged.height
        self._warn(prepared, pl.concat([new["_run"], unchanged["_run"]]))
        self._resolve(pl.concat([new["_key"], unchanged["_key"]]))
        conflicts = conflicts.with_columns(pl.lit(self.kind.conflict_reason).alias("_reason"))
        rejected = rejected + self._refused(prepared, conflicts, self.kind.conflict_field)
        rejected = rejected + self._refused(prepared, tampered, self.kind.conflict_field)
        if new.is_empty():
            return rejected
        if self.kind.revisions:
            self._number_revisions(prepared, new)
        everything = new.height == prepared.records.height
        runs = new["_run"].implode()
        if prepared.parties is not None:
            parties = prepared.parties
            if not everything:  # only the parties of the records stored now
                parties = consignments.party_frame(
                    prepared.valid.filter(pl.col("_run").is_in(runs))
                )
            self._write_parties(parties)
        for rows in prepared.writes:
            written = rows.frame if everything else rows.frame.filter(pl.col("_run").is_in(runs))
            self.store.bulk_insert(
                self.conn, rows.table, rows.encoded if everything else written.drop("_run")
            )
            self.recorder.frame(rows.table, written)
        # The entities' track records follow in the same transaction (``entity_state``).
        if self.summary.kind is RecordKind.CONSIGNMENTS:
            entity_state.consignments_stored(
                self.store, self.conn, new.select("consignment_id", "version")
            )
        elif self.summary.kind is RecordKind.OUTCOMES:
            entity_state.outcomes_stored(
                self.store, self.conn, new.get_column("control_id").to_list()
            )
        return rejected

    def _warn(self, prepared: Prepared, stored: pl.Series) -> None:
        """Count (and list, up to ``MAX_WARNINGS_KEPT``) the warnings of the records stored."""
        if prepared.warned is None:
            return
        warned = prepared.warned.filter(pl.col("_run").is_in(stored.implode()))
        self.summary.warned += warned.height
        room = MAX_WARNINGS_KEPT - len(self.summary.warnings)
        for key, loc, text in (
            warned.head(max(room, 0)).select("_key", "_loc", "_warnings").iter_rows()
        ):
            for name, reason in f.split_problems(text):
                record_id = None if key.startswith("at ") else key.translate(_ESCAPES)
                self.summary.warnings.append(
                    Warned(_location(self.unit, loc, loc), record_id, name, reason)
                )

    def _number_revisions(self, prepared: Prepared, new: pl.DataFrame) -> None:
        """Number the new records' ``revision``: the next after the highest stored under the
        same ``Kind.revisions`` columns (a carrier document's kind and reference), in the
        order the records come."""
        by = list(self.kind.revisions)
        table = self.kind.table
        head = next(rows for rows in prepared.writes if rows.table is table)
        frame = head.frame.filter(pl.col("_run").is_in(new["_run"].implode()))
        wanted = frame.select(by).unique()
        highest = select(*(table.c[n] for n in by), func.max(table.c.revision).label("_last"))
        found: list[tuple[object, ...]] = []
        for start in range(0, wanted.height, 5_000):
            chunk = wanted.slice(start, 5_000)
            where = table.c[by[-1]].in_(chunk[by[-1]].to_list())
            found += [tuple(r) for r in self.conn.execute(highest.where(where).group_by(*by))]
        last = pl.DataFrame(
            found, schema={**{n: frame.schema[n] for n in by}, "_last": pl.Int64}, orient="row"
        )
        numbered = (
            frame.sort("_run")
            .join(last, on=by, how="left")
            .with_columns(
                (pl.col("_last").fill_null(0) + pl.int_range(1, pl.len() + 1).over(by))
                .cast(pl.Int64)
                .alias("revision")
            )
            .select(frame.columns)
        )
        head.frame, head.encoded = numbered, self.store.encode(numbered.drop("_run"))

    def held_back(self, batch_size: int) -> Iterator[Chunk]:
        """The rows held back, record by record in the order records begin in the file, each
        record's rows in file order, in chunks of whole records of about ``batch_size`` rows."""
        if not self._held:
            return
        held = pl.concat(self._held).with_row_index("_at")
        self._held = []
        held = held.sort(pl.col("_at").min().over("_ident"), "_at").drop("_at")
        starts = (held["_ident"] != held["_ident"].shift(1)).fill_null(True).arg_true()
        begin = 0
        for end in [*starts.to_list()[1:], held.height]:
            if end - begin >= batch_size or end == held.height:
                yield Chunk(held[begin:end])
                begin = end

    def process(self, chunk: Chunk, *, last: bool) -> list[Rejected]:
        """Check and store a chunk in one go; return the records for quarantine."""
        return self.save(self.prepare(chunk, last=last))

    def _classify(
        self, records: pl.DataFrame, keys: list[str], valid: pl.DataFrame
    ) -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame]:
        """Split records into new (counted), unchanged and conflicting ones, by content hash.

        A record stored with another hash is compared in the old encoding too (``legacy``).
        """
        wanted = records.select(keys)
        known = pl.concat(
            [
                self.store.lookup(self.conn, table, wanted, "content_sha256")
                for table in (self.kind.table, *self.kind.also_keyed)
            ]
        ).rename({"content_sha256": "_stored"})
        records = records.join(known, on=keys, how="left")
        differs = records.filter(pl.col("_stored") != pl.col("content_sha256"))
        legacy = pl.lit(None, pl.String)
        if differs.height:  # seldom: a conflict, or a record stored in the old encoding
            runs = valid.filter(pl.col("_run").is_in(differs["_run"].implode()))
            records = records.join(
                self.kind.content_hashes(runs, legacy=True).select(
                    "_run", pl.col("content_sha256").alias("_legacy")
                ),
                on="_run",
                how="left",
            )
            legacy = pl.col("_legacy")
        first = pl.col("content_sha256").first().over(keys)
        records = records.with_columns(
            pl.when(pl.col("_stored").is_null() & pl.int_range(pl.len()).over(keys).eq(0))
            .then(pl.lit("new"))
            .when(
                (pl.coalesce("_stored", first) == pl.col("content_sha256"))
                | (pl.col("_stored") == legacy).fill_null(False)
            )
            .then(pl.lit("unchanged"))
            .otherwise(pl.lit("conflict"))
            .alias("_status")
        )
        self.summary.new += records.filter(pl.col("_status") == "new").height
        return (
            records.filter(pl.col("_status") == "new"),
            records.filter(pl.col("_status") == "unchanged"),
            records.filter(pl.col("_status") == "conflict"),
        )

    def _tampered(self, prepared: Prepared, unchanged: pl.DataFrame) -> pl.DataFrame:
        """The unchanged records whose stored rows differ from the rows they would write, each
        with a ``_reason`` naming the first row that differs (``audit.compare``).

        Only records stored before this chunk are compared: a record repeated within the chunk
        is unchanged by its content hash alone (its first copy is not written yet)."""
        unchanged = unchanged.filter(pl.col("_stored").is_not_null())
        if unchanged.is_empty():
            return unchanged.with_columns(pl.lit(None, pl.String).alias("_reason"))
        runs = unchanged["_run"].implode()
        frames = {w.table: w.frame.filter(pl.col("_run").is_in(runs)) for w in prepared.writes}
        problems = compare.rows_differ(self.conn, frames, self.kind.keys)
        if prepared.parties is not None and prepared.valid is not None:  # shared: by own key
            owned = consignments.owned_parties(
                prepared.valid.filter(pl.col("_run").is_in(runs)), prepared.parties
            )
            shared = compare.shared_rows_differ(self.conn, tables.parties, owned, self.kind.keys)
            problems = shared | problems  # a record's own rows are named first
        reasons = [problems.get(tuple(key)) for key in unchanged.select(self.kind.keys).iter_rows()]
        return (
            unchanged.with_columns(pl.Series("_what", reasons, pl.String))
            .filter(pl.col("_what").is_not_null())
            .with_columns(
                pl.format(
                    "stored data differs from its audited hash ({}): the store was changed "
                    "after import; run `quaywatch audit verify --full`",
                    "_what",
                ).alias("_reason")
            )
            .drop("_what")
        )

    def _with_consignment(self, records: pl.DataFrame) -> tuple[pl.DataFrame, pl.DataFrame]:
        """Split records into those whose consignment is stored and those, with a reason, not."""
        keys = ["consignment_id", "version"]
        known = self.store.lookup(
            self.conn, tables.consignments, records.select(keys), "version"
        ).with_columns(pl.lit(True).alias("_stored"))
        records = records.join(known, on=keys, how="left")
        orphans = records.filter(pl.col("_stored").is_null()).with_columns(
            pl.format(
                "unknown consignment {} v{} (import the consignment first)",
                "consignment_id", "version",
            ).alias("_reason")
        )  # fmt: skip
        return records.filter(pl.col("_stored")).drop("_stored"), orphans

    def _refused(self, prepared: Prepared, refused: pl.DataFrame, field: str) -> list[Rejected]:
        """Quarantine entries for valid records the store refuses, with each one's ``_reason``."""
        if refused.is_empty() or prepared.valid is None:
            return []
        refused = refused.sort("_run")
        found = self._rejects(prepared.frame, prepared.valid, refused["_run"])
        return [
            Rejected(r.location, r.record_id, [(field, reason)], r.raw)
            for r, reason in zip(found, refused["_reason"], strict=True)
        ]

    def _write_parties(self, parties: pl.DataFrame) -> None:
        # Parties recur across consignments: look each up (or write it) once per import.
        unseen = parties.filter(~pl.col("party_key").is_in(self._parties_seen.implode()))
        known = self.store.lookup(
            self.conn, tables.parties, unseen.select("party_key"), "party_key"
        )
        fresh = unseen.filter(~pl.col("party_key").is_in(known["party_key"].implode()))
        self._parties_seen.append(unseen["party_key"])
        written = fresh.with_columns(
            pl.lit(self.now).alias("first_seen_at"),
            pl.lit(self.summary.batch_id).alias("batch_id"),
        ).select([c.name for c in tables.parties.columns])
        self.store.bulk_insert(self.conn, tables.parties, written)
        self.recorder.frame(tables.parties, written)

    # --- quarantine ----------------------------------------------------------------------

    def quarantine(self, rejected: list[Rejected]) -> None:
        """Quarantine rejected records, once: a record already waiting there is not added again."""
        self.summary.quarantined += len(rejected)
        self.summary.rejected.extend(rejected[: 100 - len(self.summary.rejected)])
        if not rejected:
            return
        digests = [hashlib.sha256(r.raw.encode()).hexdigest() for r in rejected]
        waiting = self.store.existing(
            self.conn, tables.quarantine, ["raw_sha256"], "status", [(d,) for d in set(digests)]
        )
        waiting = {k: v for k, v in waiting.items() if v == "open"}
        rows = []
        for record, digest in zip(rejected, digests, strict=True):
            if (digest,) in waiting:
                self.summary.already_quarantined += 1
                continue
            waiting[(digest,)] = "open"
            rows.append(quarantine_row(record, digest, self.summary, self.now))
        if rows:
            q = tables.quarantine
            added = self.conn.execute(insert(q).returning(q.c.quarantine_id), rows)
            self._quarantine_touched += added.scalars().all()
            self._open_quarantine = True

    def touched_quarantine(self, quarantine_id: int) -> None:
        """Hash quarantine entry ``quarantine_id`` into this batch too: it was changed."""
        self._quarantine_touched.append(quarantine_id)

    def _resolve(self, record_ids: pl.Series) -> None:
        if record_ids.is_empty() or not self._open_quarantine:
            return
        found = self.store.lookup(
            self.conn, tables.quarantine, record_ids.rename("record_id").to_frame(), "status"
        )
        ids = found.filter(pl.col("status") == "open")["record_id"].unique().to_list()
        if not ids:
            return
        q = tables.quarantine
        result = self.conn.execute(
            update(q).where(q.c.record_id.in_(ids), q.c.status == "open")
            .values(status="resolved", resolved_at=self.now, resolved_batch_id=self.summary.batch_id)
            .returning(q.c.quarantine_id)
        )  # fmt: skip
        resolved = result.scalars().all()
        self._quarantine_touched += resolved
        self.summary.resolved += len(resolved)

    def finish(self, *, source_sha256: str | None, actor: str, started_at: datetime) -> None:
        """Record the batch, bind the hashes of every row it wrote, and append its audit event."""
        s = self.summary
        s.reference_version = self.reference_version
        batch = dict(
            batch_id=s.batch_id, source=s.source, source_sha256=source_sha256, kind=s.kind.value,
            actor=actor, started_at=started_at, finished_at=tables.utcnow(), records_read=s.read,
            records_new=s.new, records_unchanged=s.unchanged, records_quarantined=s.quarantined,
            reference_version=self.reference_version,
        )  # fmt: skip
        self.conn.execute(insert(tables.import_batches).values(**batch))
        self.recorder.rows(tables.import_batches, [batch])
        touched = row_hashes.quarantine_rows(self.conn, self._quarantine_touched)
        self.recorder.rows(tables.quarantine, touched)
        bound = self.recorder.bind(self.conn, s.batch_id, self.store)
        chain.append(
            self.conn, actor=actor, action="import", object_type="import_batch", object_id=s.batch_id,
            details={"source": s.source, "sha256": source_sha256, "kind": s.kind.value, "read": s.read,
                     "new": s.new, "unchanged": s.unchanged, "quarantined": s.quarantined,
                     "resolved": s.resolved, "rows": bound,
                     "reference_version": self.reference_version,
                     **({"skipped": s.skipped} if s.skipped else {}),
                     **({"warnings": s.warned, "warned": [
                         [w.location, w.record_id, w.field, w.reason] for w in s.warnings
                     ]} if s.warned else {}),
                     **({} if s.format is None else {"format": s.format}),
                     **({} if s.known_at is None else {"known_at": s.known_at.value})},
        )  # fmt: skip


def quarantine_row(
    record: Rejected, digest: str, summary: ImportSummary, now: datetime
) -> dict[str, object]:
    """The quarantine table row for a rejected record.

    A record id or field name longer than its column (a hostile id of thousands of characters)
    is clipped, and a NUL or an unpaired surrogate in any of its texts (a reader's message
    quoting a hostile tag) is written as an escape, so that every store keeps the entry:
    PostgreSQL refuses what SQLite takes.
    """
    kept = decode.escaped
    return {
        "batch_id": summary.batch_id, "kind": summary.kind.value, "source": kept(summary.source),
        "location": _fitted(kept(record.location), "location"),
        "record_id": _fitted(None if record.record_id is None else kept(record.record_id),
                             "record_id"),
        "field": _fitted(kept(record.field) if record.field else None, "field"),
        "reason": kept(record.reason),
        "errors": [[kept(str(part)) for part in p] for p in record.problems],
        "raw": record.raw, "raw_sha256": digest, "status": "open", "created_at": now,
    }  # fmt: skip


def _fitted(text: str | None, column: str) -> str | None:
    length = getattr(tables.quarantine.c[column].type, "length", None)
    if text is None or length is None or len(text) <= length:
        return text
    return f"{text[: length - 3]}..."


def _file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as file:
        for block in iter(lambda: file.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def ingest_file(
    store: Store,
    path: Path,
    *,
    kind: RecordKind | None = None,
    batch_size: int = 50_000,
    actor: str = "system",
    progress: Progress | None = None,
    source: str | None = None,
    known_at: KnownAt = KnownAt.RECEIVED,
    options: IntakeOptions = DEFAULT_OPTIONS,
    format_name: str | None = None,
) -> ImportSummary:
    """Import one file in one transaction; return what happened to its records.

    ``source`` names the import in the batch, the quarantine and the audit trail (default: the
    file's path; records posted to the API are written to a temporary file and keep their name).
    ``known_at``: for container events, when the new ones count as known (module docstring);
    other kinds carry their own time (a consignment its lodging, an outcome its ``known_at``)
    and ignore it. ``options``: the ranges times and amounts are held to and what one record
    may hold (``IntakeOptions``; default: the defaults); a record outside them is
    quarantined. ``format_name``: the file's format (``formats.FORMATS``), overriding
    detection by content.
    """
    reader = readers.open_file(
        path, kind=kind, batch_size=batch_size, options=options, format_name=format_name
    )
    by_object = reader.by_object
    spread = None
    if KINDS[reader.kind].multi_row and not by_object:  # the first pass: rows out of order
        first = readers.open_file(
            path, kind=reader.kind, batch_size=batch_size, options=options,
            format_name=reader.format.name,
        )  # fmt: skip
        spread = scattered(first.chunks(), KINDS[reader.kind])
    source_sha256 = _file_sha256(path)
    summary = ImportSummary(source or str(path), reader.kind, str(uuid.uuid4()))
    summary.format = reader.format.name
    if reader.kind is RecordKind.EVENTS:
        summary.known_at = known_at
    started_at = tables.utcnow()
    unit = reader.unit
    # Checking the next chunk (native polars work, mostly outside the GIL) overlaps with storing
    # this one; one worker and one chunk ahead keep memory bounded and the order intact.
    with (
        store.transaction() as conn,
        ThreadPoolExecutor(1, thread_name_prefix="quaywatch-check") as worker,
    ):
        importer = Importer(
            store, conn, summary, unit, by_object=by_object, scattered=spread, options=options,
        )  # fmt: skip

        def staged() -> Iterator[tuple[Chunk, bool, bool]]:
            for chunk, last in _with_last(reader.chunks()):
                yield chunk, last, False
            for chunk in importer.held_back(batch_size):  # after the last chunk's prepare
                yield chunk, True, True

        items = staged()

        def prepare_next() -> Prepared | None:
            item = next(items, None)
            return None if item is None else importer.prepare(item[0], last=item[1], held=item[2])

        pending = worker.submit(prepare_next)
        while (prepared := pending.result()) is not None:
            pending = worker.submit(prepare_next)
            importer.quarantine(importer.save(prepared))
            if progress:
                progress(reader.position, reader.size)
        importer.finish(source_sha256=source_sha256, actor=actor, started_at=started_at)
    return summary


def _with_last(chunks: Iterator[Chunk]) -> Iterator[tuple[Chunk, bool]]:
    """Each chunk with whether it is the file's last (a consignment may span two chunks)."""
    current = next(chunks, None)
    while current is not None:
        following = next(chunks, None)
        yield current, following is None
        current = following
