"""Ingest benchmark: a million consignments into SQLite and PostgreSQL, DuckDB as reference.

    python benchmarks/ingest.py [--count 1000000] [--workdir DIR] [--reuse] [--fk-cost]
                                [--events N] [--events-only]

Generates COUNT consignments (one goods item and one container each) plus a 10,000-consignment
file with 1% bad records, imports both into a fresh SQLite file and a fresh PostgreSQL schema
(each import in its own process, so its peak RSS is its own), and loads the same CSV with
DuckDB's ``read_csv`` into a table as the reference. Last line: JSON with ``sqlite_s``,
``postgres_s``, ``duckdb_s`` and ``peak_rss_mb``. With ``--reuse`` the files a previous run
generated in ``--workdir`` for the same ``--count`` are read again instead of regenerated.
With ``--fk-cost`` the PostgreSQL import runs a second time into a schema whose foreign keys
were dropped after migration, to measure what keeping them costs (the store keeps them:
integrity over import speed); adds ``postgres_no_fk_s`` and ``fk_cost_ratio``.
With ``--events N`` the container events of N generated consignments (about three each) are
also imported into fresh stores twice, as DCSA Track & Trace 2.2 (a JSON array) and as the same
events written as 3.x (``{"events": [...]}``), each in its own process: adds
``events``, ``events_2_2_sqlite_s``, ``events_3_sqlite_s``, ``events_2_2_postgres_s`` and
``events_3_postgres_s``. ``--events-only`` skips the consignment runs.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import resource
import tempfile
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

PG_URL = "postgresql://postgres@127.0.0.1:5432/test"


def _ingest(url: str, paths: list[str], queue: multiprocessing.Queue) -> None:  # type: ignore[type-arg]
    from quaywatch.intake.pipeline import ingest_file
    from quaywatch.store.store import Store

    store = Store.open(url)
    started = time.perf_counter()
    results = []
    for path in paths:
        s = ingest_file(store, Path(path))
        results.append((Path(path).name, s.read, s.new, s.quarantined))
    elapsed = time.perf_counter() - started
    store.close()
    queue.put((elapsed, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, results))


def _run(url: str, paths: list[Path]) -> tuple[float, float, list[tuple[str, int, int, int]]]:
    ctx = multiprocessing.get_context("spawn")
    queue = ctx.Queue()
    child = ctx.Process(target=_ingest, args=(url, [str(p) for p in paths], queue))
    child.start()
    result = queue.get()
    child.join()
    return result  # type: ignore[no-any-return]


def _postgres(
    paths: list[Path], *, keep_foreign_keys: bool
) -> tuple[float, float, list[tuple[str, int, int, int]]]:
    """Import into a fresh PostgreSQL schema (migrated first; foreign keys dropped if asked)."""
    import psycopg

    from quaywatch.store.store import Store

    schema = f"bench_{uuid.uuid4().hex[:8]}"
    url = f"{PG_URL}?options=-csearch_path%3D{schema}"
    with psycopg.connect(PG_URL, autocommit=True) as conn:
        conn.execute(f"CREATE SCHEMA {schema}")
    try:
        Store.open(url).close()
        if not keep_foreign_keys:
            with psycopg.connect(PG_URL, autocommit=True) as conn:
                keys = conn.execute(
                    "SELECT conrelid::regclass::text, conname FROM pg_constraint"
                    " WHERE contype = 'f' AND connamespace = %s::regnamespace",
                    (schema,),
                ).fetchall()
                for table, name in keys:
                    conn.execute(
                        f'ALTER TABLE {schema}.{table.split(".")[-1]} DROP CONSTRAINT "{name}"'
                    )
        return _run(url, paths)
    finally:
        with psycopg.connect(PG_URL, autocommit=True) as conn:
            conn.execute(f"DROP SCHEMA {schema} CASCADE")


def _generated(work: Path, count: int, *, reuse: bool) -> list[Path]:
    """The big and the small consignment file, generated unless ``reuse`` finds them."""
    paths = [work / "big" / "consignments.csv", work / "small" / "consignments.csv"]
    marker = work / "count.txt"
    found = marker.is_file() and all(path.is_file() for path in paths)
    if reuse and found and marker.read_text() == str(count):
        print(f"reusing {count:,} + 10,000 consignments in {work}")
        return paths
    from quaywatch.synth import portday

    started = time.perf_counter()
    marker.unlink(missing_ok=True)
    big = portday.generate(work / "big", count=count, seed=1, noise=0.0,
                           items_per_consignment=1, with_events=False)  # fmt: skip
    # A different day, so its consignment ids do not collide with the big file's.
    small = portday.generate(work / "small", count=10_000, seed=2, noise=0.01,
                             day=datetime(2026, 11, 3, tzinfo=UTC),
                             items_per_consignment=1, with_events=False)  # fmt: skip
    marker.write_text(str(count))
    print(f"generated {count:,} + 10,000 consignments in {time.perf_counter() - started:.1f} s")
    return [big.consignments, small.consignments]


def _as_v3(event: dict[str, Any]) -> dict[str, Any]:
    """A generated 2.2 equipment event written as Track & Trace 3.x (docs/formats.md)."""
    call = event["transportCall"]
    return {
        "eventID": event["eventID"],
        "eventDateTime": event["eventDateTime"],
        "eventUpdatedDateTime": event["eventCreatedDateTime"],
        "eventClassification": {"eventTypeCode": event["eventType"],
                                "eventClassifierCode": event["eventClassifierCode"],
                                "equipmentEventTypeCode": event["equipmentEventTypeCode"]},
        "eventLocation": {"UNLocationCode": call["UNLocationCode"],
                          "facilityTypeCode": call["facilityTypeCode"]},
        "equipmentDetails": {
            "equipmentReference": event["equipmentReference"],
            "ISOEquipmentCode": event["ISOEquipmentCode"],
            "emptyIndicatorCode": event["emptyIndicatorCode"],
            "movementType": "TRANSSHIPMENT" if event["isTransshipmentMove"] else "IMPORT",
            "seals": [{"number": s["sealNumber"], "source": s["sealSource"], "type": s["sealType"]}
                      for s in event["seals"]],
        },
        "transportDetails": {"transportCall": {"vesselTransport": call["vessel"]}},
        "shipmentDetails": {"documentReference": {
            "typeCode": "TRD", "reference": event["documentReferences"][0]["documentReferenceValue"],
        }},
    }  # fmt: skip


def _event_files(work: Path, count: int) -> tuple[Path, Path, int]:
    """The events of ``count`` generated consignments as 2.2 (array) and as 3.x (wrapped)."""
    from quaywatch.synth import portday

    day = portday.generate(work / "events", count=count, seed=3, noise=0.0,
                           items_per_consignment=1)  # fmt: skip
    events = json.loads(day.events.read_text())
    v3 = work / "events" / "events-3.json"
    v3.write_text(json.dumps({"events": [_as_v3(e) for e in events]}))
    return day.events, v3, len(events)


def _events_run(work: Path, count: int, figures: dict[str, float]) -> None:
    v22, v3, total = _event_files(work, count)
    figures["events"] = total
    for label, path in (("2_2", v22), ("3", v3)):
        db = work / f"events-{label}.db"
        for stale in (db, Path(f"{db}-wal"), Path(f"{db}-shm")):
            stale.unlink(missing_ok=True)
        seconds, _, results = _run(f"sqlite:///{db}", [path])
        print(f"sqlite   events {label.replace('_', '.')}: {results[0][1:]}, {seconds:.1f} s, "
              f"{total / seconds:,.0f} events/s")  # fmt: skip
        figures[f"events_{label}_sqlite_s"] = round(seconds, 2)
        seconds, _, results = _postgres([path], keep_foreign_keys=True)
        print(f"postgres events {label.replace('_', '.')}: {results[0][1:]}, {seconds:.1f} s, "
              f"{total / seconds:,.0f} events/s")  # fmt: skip
        figures[f"events_{label}_postgres_s"] = round(seconds, 2)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=1_000_000)
    parser.add_argument("--workdir", type=Path, default=None)
    parser.add_argument(
        "--reuse",
        action="store_true",
        help="read the files a run with this count left in --workdir",
    )
    parser.add_argument(
        "--fk-cost",
        action="store_true",
        help="also import into PostgreSQL without foreign keys, to measure what they cost",
    )
    parser.add_argument(
        "--events",
        type=int,
        default=0,
        help="also import the DCSA events of this many consignments, as 2.2 and as 3.x",
    )
    parser.add_argument("--events-only", action="store_true", help="only the events runs")
    args = parser.parse_args()
    work = args.workdir or Path(tempfile.mkdtemp(prefix="quaywatch-bench-"))
    if args.events_only:
        figures_only: dict[str, float] = {}
        _events_run(work, args.events or 100_000, figures_only)
        print(json.dumps(figures_only))
        return
    paths = _generated(work, args.count, reuse=args.reuse)
    for stale in ("bench.db", "bench.db-wal", "bench.db-shm", "bench.duckdb"):
        (work / stale).unlink(missing_ok=True)
    figures: dict[str, float] = {}

    sqlite_s, sqlite_rss, results = _run(f"sqlite:///{work / 'bench.db'}", paths)
    for name, read, new, quarantined in results:
        print(f"sqlite   {name}: read {read:,}, new {new:,}, quarantined {quarantined:,}")
    print(
        f"sqlite   {sqlite_s:.1f} s, {args.count / sqlite_s:,.0f} consignments/s, peak RSS {sqlite_rss:.0f} MB"
    )
    figures["sqlite_s"] = round(sqlite_s, 2)

    pg_s, pg_rss, results = _postgres(paths, keep_foreign_keys=True)
    for name, read, new, quarantined in results:
        print(f"postgres {name}: read {read:,}, new {new:,}, quarantined {quarantined:,}")
    print(
        f"postgres {pg_s:.1f} s, {args.count / pg_s:,.0f} consignments/s, peak RSS {pg_rss:.0f} MB"
    )
    figures["postgres_s"] = round(pg_s, 2)
    if args.fk_cost:
        bare_s, _, _ = _postgres(paths, keep_foreign_keys=False)
        print(f"postgres {bare_s:.1f} s without foreign keys ({pg_s / bare_s:.2f}x with them)")
        figures["postgres_no_fk_s"] = round(bare_s, 2)
        figures["fk_cost_ratio"] = round(pg_s / bare_s, 2)

    import duckdb

    started = time.perf_counter()
    con = duckdb.connect(str(work / "bench.duckdb"))
    for i, path in enumerate(paths):
        con.execute(f"CREATE TABLE t{i} AS SELECT * FROM read_csv('{path}', all_varchar=true)")
    con.close()
    duck_s = time.perf_counter() - started
    print(f"duckdb   {duck_s:.1f} s (read_csv into a table, no validation)")
    figures["duckdb_s"] = round(duck_s, 2)
    figures["peak_rss_mb"] = round(max(sqlite_rss, pg_rss), 1)
    figures["sqlite_vs_duckdb"] = round(sqlite_s / duck_s, 1)
    figures["postgres_vs_duckdb"] = round(pg_s / duck_s, 1)
    if args.events:
        _events_run(work, args.events, figures)
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
