"""The Parquet lake: the store's records as date-partitioned Parquet, exported incrementally.

Layout (hive-style, what Spark, DuckDB or polars read as one partitioned table)::

    DIR/<table>/date=YYYY-MM-DD/part-<export>.parquet
    DIR/_manifest.json
    DIR/spark_assessments/date=YYYY-MM-DD/...   (what ``quaywatch spark score`` writes)

Tables and the date that partitions them: ``consignments`` (lodged), ``goods_items`` and
``containers`` (their consignment's lodging date), ``parties`` (first seen), ``events`` (event
time), ``outcomes`` (known) and ``assessments`` (assessed). The ``date`` column lives in the
path only. A national pipeline lands its data in the same layout.

Incremental: the records of an import batch never change once stored (an amendment is a new
consignment version in a new batch), so an export writes the records of the batches the
manifest does not list yet, and the assessments of the scoring runs it does not list yet. A
scoring run stores its assessments in one transaction, so a run is seen whole or not at all;
an id high-water mark would not do: on PostgreSQL ids are drawn before commit, and a run
committing after a later one would keep its lower ids out of the lake for good. Re-running it
with nothing new writes nothing. The manifest lists every export: when, what each table
received (rows, files with their SHA-256), the batches and the scoring runs.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import polars as pl
from sqlalchemy import Select, select

from quaywatch.store import reads, tables
from quaywatch.store.store import Store

MANIFEST = "_manifest.json"
FORMAT = 1
#: Lake tables: the store table, and the time column whose date partitions the records.
TABLES: dict[str, tuple[str, str]] = {
    "consignments": ("consignments", "lodged_at"),
    "goods_items": ("goods_items", "lodged_at"),
    "containers": ("containers", "lodged_at"),
    "parties": ("parties", "first_seen_at"),
    "events": ("events", "event_time"),
    "outcomes": ("control_outcomes", "known_at"),
    "assessments": ("assessments", "assessed_at"),
}
#: The folder inside the lake where ``quaywatch spark score`` writes by default (not a table).
SPARK_RESULTS = "spark_assessments"
_CHUNK = 500


@dataclass(frozen=True, slots=True)
class TableExport:
    """What one export wrote of one table: rows and files (relative to the lake)."""

    table: str
    rows: int
    files: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class LakeExport:
    """One export: its number, the tables it wrote (those with new rows) and the batches."""

    lake: Path
    number: int
    at: datetime
    tables: tuple[TableExport, ...]
    batches: int

    @property
    def rows(self) -> int:
        """Rows written, every table together."""
        return sum(t.rows for t in self.tables)


def read_manifest(lake: Path) -> dict[str, Any]:
    """The lake's manifest, or an empty one for a new lake."""
    path = lake / MANIFEST
    if not path.exists():
        return {"format": FORMAT, "batches": [], "runs": [], "exports": []}
    manifest: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    if manifest.get("format") != FORMAT:
        raise ValueError(f"{path}: manifest format {manifest.get('format')!r}, expected {FORMAT}")
    return manifest


def _chunks(values: list[str]) -> Iterator[list[str]]:
    for start in range(0, len(values), _CHUNK):
        yield values[start : start + _CHUNK]


def _read(store: Store, query: Select[Any], batches: list[str], column: Any) -> pl.DataFrame:
    frames = [reads.frame(store, query.where(column.in_(chunk))) for chunk in _chunks(batches)]
    return pl.concat(frames) if frames else reads.frame(store, query.where(column.in_([])))


def new_records(store: Store, batches: list[str], runs: list[str]) -> dict[str, pl.DataFrame]:
    """Per lake table, the records of ``batches`` (assessments: of the scoring ``runs``), with
    ``date``."""
    c, g, k = tables.consignments, tables.goods_items, tables.containers
    consignments = _read(store, select(*c.columns), batches, c.c.batch_id)
    items = _read(
        store,
        select(*g.columns, c.c.lodged_at).join(
            c, (c.c.consignment_id == g.c.consignment_id) & (c.c.version == g.c.version)
        ),
        batches,
        c.c.batch_id,
    )
    boxes = _read(
        store,
        select(*k.columns, c.c.lodged_at).join(
            c, (c.c.consignment_id == k.c.consignment_id) & (c.c.version == k.c.version)
        ),
        batches,
        c.c.batch_id,
    )
    a = tables.assessments
    found = {
        "consignments": consignments,
        "goods_items": items,
        "containers": boxes,
        "parties": _read(store, select(*tables.parties.columns), batches, tables.parties.c.batch_id),
        "events": _read(store, select(*tables.events.columns), batches, tables.events.c.batch_id),
        "outcomes": _read(
            store, select(*tables.control_outcomes.columns), batches,
            tables.control_outcomes.c.batch_id,
        ),
        "assessments": _read(store, select(*a.columns), runs, a.c.run_id).sort("assessment_id"),
    }  # fmt: skip
    return {
        name: frame.with_columns(pl.col(TABLES[name][1]).dt.date().alias("date"))
        for name, frame in found.items()
    }


def _write(lake: Path, name: str, frame: pl.DataFrame, number: int) -> list[dict[str, Any]]:
    """Write ``frame`` as one file per date; the files' manifest entries."""
    written = []
    for (day,), part in frame.sort("date").partition_by("date", as_dict=True).items():
        relative = f"{name}/date={day.isoformat()}/part-{number:05d}.parquet"
        path = lake / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        part.drop("date").write_parquet(path)
        digest = hashlib.sha256(path.read_bytes()).hexdigest()
        written.append({"path": relative, "rows": part.height, "sha256": digest})
    return written


def export(store: Store, lake: Path, *, now: datetime | None = None) -> LakeExport:
    """Write what is new in ``store`` since the lake's last export (see the module docstring).

    The manifest is written last (atomically, by rename): an export that fails half-way leaves
    files the manifest does not list, and the next export writes them again under its number.
    """
    lake.mkdir(parents=True, exist_ok=True)
    manifest = read_manifest(lake)
    done = set(manifest["batches"])
    every = reads.frame(store, select(tables.import_batches.c.batch_id)).get_column("batch_id")
    batches = sorted(set(every.to_list()) - done)
    exported_runs = _exported_runs(store, manifest)
    a = tables.assessments
    stored_runs = reads.frame(store, select(a.c.run_id).distinct()).get_column("run_id")
    runs = sorted(set(stored_runs.to_list()) - exported_runs)
    found = new_records(store, batches, runs)
    number = len(manifest["exports"]) + 1
    moment = now or datetime.now(UTC)
    exported: list[TableExport] = []
    entry: dict[str, Any] = {"number": number, "at": moment.isoformat(), "tables": {}}
    for name, frame in found.items():
        if frame.is_empty():
            continue
        files = _write(lake, name, frame, number)
        entry["tables"][name] = {"rows": frame.height, "files": files}
        exported.append(TableExport(name, frame.height, tuple(f["path"] for f in files)))
    if not exported and not batches:
        return LakeExport(lake, len(manifest["exports"]), moment, (), 0)
    entry["batches"] = batches
    entry["runs"] = runs
    manifest["batches"] = sorted(done | set(batches))
    manifest["runs"] = sorted(exported_runs | set(runs))
    manifest.pop("assessment_id", None)
    manifest["exports"].append(entry)
    temporary = lake / f"{MANIFEST}.tmp"
    temporary.write_text(json.dumps(manifest, indent=1, sort_keys=True), encoding="utf-8")
    temporary.replace(lake / MANIFEST)
    return LakeExport(lake, number, moment, tuple(exported), len(batches))


def _exported_runs(store: Store, manifest: dict[str, Any]) -> set[str]:
    """The scoring runs whose assessments the lake holds.

    A manifest of the first lake exports has an assessment id high-water mark instead: the runs
    of the assessments up to it (a run committed late with lower ids was lost by that version).
    """
    if "runs" in manifest:
        return set(manifest["runs"])
    a = tables.assessments
    query = select(a.c.run_id).where(a.c.assessment_id <= int(manifest.get("assessment_id", 0)))
    return set(reads.frame(store, query.distinct()).get_column("run_id").to_list())


def scan(lake: Path, name: str) -> pl.LazyFrame:
    """One lake table as a lazy frame (``date`` from the path)."""
    return pl.scan_parquet(lake / name / "**" / "*.parquet", hive_partitioning=True)


def goods_item_rows(
    consignments: pl.DataFrame,
    goods_items: pl.DataFrame,
    containers: pl.DataFrame,
    parties: pl.DataFrame,
) -> pl.DataFrame:
    """The lake's records as ``store.reads.goods_item_rows`` gives the store's: one row per
    goods item of the newest version of every consignment, with its consignment's route,
    times, carrier and parties, their AEO status and the container's size/type, ordered by
    consignment id and item sequence (``risk.batch.ITEM_SCHEMA``)."""
    key = ["consignment_id", "version"]
    newest = consignments.group_by("consignment_id").agg(pl.col("version").max())
    header = consignments.join(newest, on=key, how="semi").select(
        *key, "lodged_at", "eta", "carrier_scac", "port_of_loading", "transshipment_ports",
        "port_of_discharge", "consignee_key", "consignor_key", "declarant_key",
    )  # fmt: skip
    for role in ("consignee", "consignor", "declarant"):
        aeo = parties.select(pl.col("party_key").alias(f"{role}_key"),
                             pl.col("aeo").alias(f"{role}_aeo")).unique(f"{role}_key")  # fmt: skip
        header = header.join(aeo, on=f"{role}_key", how="left")
    items = goods_items.select(*key, "sequence", "hs6", "description", "packages", "package_type",
                               "gross_mass_kg", "value", "currency", "origin_country",
                               "container_number")  # fmt: skip
    boxes = containers.select(*key, "container_number",
                              pl.col("size_type").alias("container_size_type"))  # fmt: skip
    return (
        header.join(items, on=key)
        .join(boxes, on=[*key, "container_number"], how="left")
        .sort("consignment_id", "sequence")
    )
