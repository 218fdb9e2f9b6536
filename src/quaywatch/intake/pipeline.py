"""The import pipeline: chunks in, records stored or quarantined, one transaction per import.

For each chunk: check every record, hash the valid ones, look their natural keys up, write the
new ones in bulk, quarantine the rest with their reasons. A record already stored with the same
content is *unchanged*; one stored with other content under the same key is quarantined (an
amendment must carry a new version). The batch row and its audit event are written in the same
transaction, so an import is either all there or not there at all.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import polars as pl
from sqlalchemy import Connection, insert, update

from quaywatch.audit import chain
from quaywatch.intake import consignments, events, readers
from quaywatch.intake import fields as f
from quaywatch.intake.records import Chunk, RecordKind, Rejected
from quaywatch.store import tables
from quaywatch.store.store import Store

Progress = Callable[[int, int], None]
_CONSIGNMENT_CONFLICT = "already stored with different content; an amendment needs a new version"
_EVENT_CONFLICT = "an event with this id is already stored with different content"


@dataclass(slots=True)
class ImportSummary:
    """What one import did: every record read is new, unchanged or quarantined."""

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

    @property
    def balanced(self) -> bool:
        """Nothing lost: stored (new or unchanged) plus quarantined equals read."""
        return self.new + self.unchanged + self.quarantined == self.read


def _location(unit: str, first: int, last: int) -> str:
    return f"{unit} {first}" if first == last else f"{unit}s {first}-{last}"


class Importer:
    """Stores checked records of one kind inside one open transaction."""

    def __init__(self, store: Store, conn: Connection, summary: ImportSummary, unit: str) -> None:
        self.store, self.conn, self.summary, self.unit = store, conn, summary, unit
        self.now = tables.utcnow()
        self._carry: pl.DataFrame | None = None

    # --- checking ------------------------------------------------------------------------

    def _checked(self, frame: pl.DataFrame) -> pl.DataFrame:
        frame = frame.with_row_index("_row")
        if self.summary.kind is RecordKind.CONSIGNMENTS:
            # A record is a run of consecutive rows with the same id and version.
            ident = pl.concat_str(
                [pl.col("consignment_id").str.strip_chars(), pl.col("version").str.strip_chars()],
                ignore_nulls=True,
            )
            run = (ident != ident.shift()).fill_null(True) | ident.is_null()
            return consignments.validate(frame.with_columns(run.cum_sum().alias("_run")))
        return events.validate(frame.with_columns(pl.col("_row").alias("_run")))

    def _rejects(
        self, original: pl.DataFrame, checked: pl.DataFrame, runs: pl.Series
    ) -> list[Rejected]:
        """Quarantine entries for the records (``runs``) of a chunk, with their raw input."""
        columns = readers.columns_of(self.summary.kind)
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
        )  # fmt: skip
        rejected = []
        for key, locs, texts, raw, rows in grouped.select(
            "_key", "_loc", "_problems", "_raw", "_rows"
        ).iter_rows():
            problems: list[tuple[str, str]] = []
            for text, loc in zip(texts, locs, strict=True):
                for name, reason in f.split_problems(text or ""):
                    pair = (name, f"{reason} ({self.unit} {loc})" if len(locs) > 1 else reason)
                    if pair not in problems:
                        problems.append(pair)
            if raw is None:  # flat input: the rows exactly as read
                raw = json.dumps(rows, ensure_ascii=False)
            location = _location(self.unit, min(locs), max(locs))
            rejected.append(
                Rejected(location, None if key.startswith("at ") else key, problems, raw)
            )
        return rejected

    # --- one chunk -----------------------------------------------------------------------

    def process(self, chunk: Chunk, *, last: bool) -> list[Rejected]:
        """Check and store a chunk; return the records that must go to quarantine."""
        frame = chunk.frame
        self.summary.read += len(chunk.rejected)
        if self._carry is not None:
            frame = pl.concat([self._carry, frame])
            self._carry = None
        if not last and self.summary.kind is RecordKind.CONSIGNMENTS and frame.height:
            # The last consignment may continue in the next chunk: keep it for then.
            tail_id = frame.select(pl.col("consignment_id", "version").last()).row(0)
            same = (pl.col("consignment_id").eq_missing(tail_id[0])) & (
                pl.col("version").eq_missing(tail_id[1])
            )
            tail = frame.select(same.reverse().cast(pl.Int8).cum_min().sum()).item()
            self._carry, frame = frame[frame.height - tail :], frame[: frame.height - tail]
        rejected = list(chunk.rejected)
        if frame.is_empty():
            return rejected
        checked = self._checked(frame)
        self.summary.read += checked["_run"].n_unique()
        bad_runs = checked.filter(pl.col("_problems").is_not_null())["_run"].unique()
        rejected += self._rejects(frame, checked, bad_runs)
        valid = checked.filter(~pl.col("_run").is_in(bad_runs.implode()))
        if valid.is_empty():
            return rejected
        if self.summary.kind is RecordKind.CONSIGNMENTS:
            rejected += self._store_consignments(frame, valid)
        else:
            rejected += self._store_events(frame, valid)
        return rejected

    def _classify(
        self, records: pl.DataFrame, table: str, keys: list[str]
    ) -> tuple[pl.DataFrame, pl.DataFrame]:
        """Mark each record new, unchanged or conflicting; return the new and the conflicting."""
        lookup = records.select(keys).unique().rows()
        stored = self.store.existing(
            self.conn, tables.metadata.tables[table], keys, "content_sha256", lookup
        )
        known = pl.DataFrame(
            [(*k, v) for k, v in stored.items()],
            schema=[*records.select(keys).schema.items(), ("_stored", pl.String)],
            orient="row",
        )
        first = pl.col("content_sha256").first().over(keys)
        records = records.join(known, on=keys, how="left").with_columns(
            pl.when(pl.col("_stored").is_null() & pl.int_range(pl.len()).over(keys).eq(0))
            .then(pl.lit("new"))
            .when(pl.coalesce("_stored", first) == pl.col("content_sha256"))
            .then(pl.lit("unchanged"))
            .otherwise(pl.lit("conflict"))
            .alias("_status")
        )
        self.summary.new += records.filter(pl.col("_status") == "new").height
        self.summary.unchanged += records.filter(pl.col("_status") == "unchanged").height
        self._resolve(records.filter(pl.col("_status") != "conflict")["_key"].to_list())
        return records.filter(pl.col("_status") == "new"), records.filter(
            pl.col("_status") == "conflict"
        )

    def _conflicts(
        self,
        frame: pl.DataFrame,
        valid: pl.DataFrame,
        conflicts: pl.DataFrame,
        field: str,
        reason: str,
    ) -> list[Rejected]:
        """Quarantine entries for records whose key is stored with other content."""
        if conflicts.is_empty():
            return []
        found = self._rejects(frame, valid, conflicts["_run"])
        return [Rejected(r.location, r.record_id, [(field, reason)], r.raw) for r in found]

    def _store_consignments(self, frame: pl.DataFrame, valid: pl.DataFrame) -> list[Rejected]:
        records = consignments.content_hashes(valid)
        new, conflicts = self._classify(records, "consignments", ["consignment_id", "version"])
        rejected = self._conflicts(frame, valid, conflicts, "version", _CONSIGNMENT_CONFLICT)
        rows = valid.filter(pl.col("_run").is_in(new["_run"].implode())).join(
            new.select("_run", "content_sha256"), on="_run"
        )
        if rows.is_empty():
            return rejected
        self._write_consignments(rows)
        return rejected

    def _write_consignments(self, rows: pl.DataFrame) -> None:
        parties = consignments.party_frame(rows)
        known = self.store.existing(
            self.conn,
            tables.parties,
            ["party_key"],
            "party_key",
            [(k,) for k in parties["party_key"]],
        )
        fresh = parties.filter(~pl.col("party_key").is_in(list(known.values())))
        self.store.bulk_insert(
            self.conn,
            tables.parties,
            fresh.with_columns(
                pl.lit(self.now).alias("first_seen_at"),
                pl.lit(self.summary.batch_id).alias("batch_id"),
            ).select([c.name for c in tables.parties.columns]),
        )
        rows = consignments.with_party_keys(rows, parties)
        header = rows.unique("_run", keep="first", maintain_order=True).with_columns(
            pl.lit(self.now).alias("received_at"),
            pl.lit(self.summary.batch_id).alias("batch_id"),
        )
        self.store.bulk_insert(
            self.conn,
            tables.consignments,
            header.select([c.name for c in tables.consignments.columns]),
        )
        items = rows.rename({"item_sequence": "sequence"})
        self.store.bulk_insert(
            self.conn,
            tables.goods_items,
            items.select([c.name for c in tables.goods_items.columns]),
        )
        boxes = rows.unique(["_run", "container_number"], keep="first", maintain_order=True)
        self.store.bulk_insert(self.conn, tables.containers, boxes.select(
            "consignment_id", "version", "container_number",
            pl.col("container_size_type").alias("size_type"), pl.col("container_status").alias("status"),
        ))  # fmt: skip
        self.store.bulk_insert(
            self.conn,
            tables.seals,
            _seals(boxes, ["consignment_id", "version", "container_number"]),
        )

    def _store_events(self, frame: pl.DataFrame, valid: pl.DataFrame) -> list[Rejected]:
        records = events.content_hashes(valid)
        new, conflicts = self._classify(records, "events", ["event_id"])
        rejected = self._conflicts(frame, valid, conflicts, "event_id", _EVENT_CONFLICT)
        rows = valid.filter(pl.col("_run").is_in(new["_run"].implode())).join(
            new.select("_run", "content_sha256"), on="_run"
        )
        if rows.is_empty():
            return rejected
        rows = rows.with_columns(
            pl.lit(self.now).alias("received_at"), pl.lit(self.summary.batch_id).alias("batch_id")
        )
        self.store.bulk_insert(
            self.conn, tables.events, rows.select([c.name for c in tables.events.columns])
        )
        self.store.bulk_insert(self.conn, tables.event_seals, _seals(rows, ["event_id"]))
        return rejected

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
            self.conn.execute(insert(tables.quarantine), rows)

    def _resolve(self, record_ids: list[str]) -> None:
        if not record_ids:
            return
        found = self.store.existing(
            self.conn, tables.quarantine, ["record_id"], "status", [(r,) for r in set(record_ids)]
        )
        ids = [k[0] for k, status in found.items() if status == "open"]
        if not ids:
            return
        q = tables.quarantine
        result = self.conn.execute(
            update(q).where(q.c.record_id.in_(ids), q.c.status == "open")
            .values(status="resolved", resolved_at=self.now, resolved_batch_id=self.summary.batch_id)
        )  # fmt: skip
        self.summary.resolved += result.rowcount

    def finish(self, *, source_sha256: str | None, actor: str, started_at: datetime) -> None:
        """Record the batch and its audit event."""
        s = self.summary
        self.conn.execute(insert(tables.import_batches).values(
            batch_id=s.batch_id, source=s.source, source_sha256=source_sha256, kind=s.kind.value,
            actor=actor, started_at=started_at, finished_at=tables.utcnow(), records_read=s.read,
            records_new=s.new, records_unchanged=s.unchanged, records_quarantined=s.quarantined,
        ))  # fmt: skip
        chain.append(
            self.conn, actor=actor, action="import", object_type="import_batch", object_id=s.batch_id,
            details={"source": s.source, "sha256": source_sha256, "kind": s.kind.value, "read": s.read,
                     "new": s.new, "unchanged": s.unchanged, "quarantined": s.quarantined,
                     "resolved": s.resolved},
        )  # fmt: skip


def _seals(frame: pl.DataFrame, keys: list[str]) -> pl.DataFrame:
    """Explode ``SOURCE:TYPE:NUMBER|...`` into one seal row per seal."""
    parts = (
        frame.select(*keys, pl.col("seals").str.split(f.LIST_SEP))
        .explode("seals")
        .filter(pl.col("seals").is_not_null())
        .with_columns(pl.col("seals").str.splitn(":", 3).alias("_s"))
    )
    return parts.select(
        *keys,
        pl.col("_s").struct.field("field_2").alias("seal_number"),
        pl.col("_s").struct.field("field_0").alias("source"),
        pl.col("_s").struct.field("field_1").alias("type"),
    ).unique([*keys, "seal_number"], keep="first", maintain_order=True)


def quarantine_row(
    record: Rejected, digest: str, summary: ImportSummary, now: datetime
) -> dict[str, object]:
    """The quarantine table row for a rejected record."""
    return {
        "batch_id": summary.batch_id, "kind": summary.kind.value, "source": summary.source,
        "location": record.location, "record_id": record.record_id, "field": record.field or None,
        "reason": record.reason, "errors": [list(p) for p in record.problems], "raw": record.raw,
        "raw_sha256": digest, "status": "open", "created_at": now,
    }  # fmt: skip


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
) -> ImportSummary:
    """Import one file in one transaction; return what happened to its records."""
    reader = readers.open_file(path, kind=kind, batch_size=batch_size)
    source_sha256 = _file_sha256(path)
    summary = ImportSummary(str(path), reader.kind, str(uuid.uuid4()))
    started_at = tables.utcnow()
    unit = {"csv": "line", "jsonl": "line", "json": "item", "parquet": "row"}[reader.fmt]
    with store.transaction() as conn:
        importer = Importer(store, conn, summary, unit)
        chunks = reader.chunks()
        current = next(chunks, None)
        while current is not None:
            following = next(chunks, None)
            importer.quarantine(importer.process(current, last=following is None))
            if progress:
                progress(reader.position, reader.size)
            current = following
        importer.finish(source_sha256=source_sha256, actor=actor, started_at=started_at)
    return summary
