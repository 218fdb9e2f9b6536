"""Tamper-evidence benchmark: what row hashes cost an import, a re-import and a full verify.

    python benchmarks/tamper.py [--count 12000] [--workdir DIR] [--postgres]

Generates a port day of COUNT consignments (three goods items each, as the demo's days) with
its container events, imports both into a fresh SQLite file (and a fresh PostgreSQL schema with
``--postgres``), imports them again (every record unchanged, so each one's stored rows are
checked), then runs ``audit verify`` and ``audit verify --full``. Run it with ``PYTHONPATH``
at another checkout to compare (that checkout's verify has no ``--full``: its time is left
out). Last line: JSON with the seconds of each step and the rows per second of ``--full``.
"""

from __future__ import annotations

import argparse
import inspect
import json
import tempfile
import time
import uuid
from pathlib import Path

import psycopg

PG_URL = "postgresql://postgres@127.0.0.1:5432/test"


def _measure(url: str, day: object) -> dict[str, float]:
    from quaywatch.intake.pipeline import ingest_file
    from quaywatch.services import audit
    from quaywatch.store.store import Store

    store = Store.open(url)
    found: dict[str, float] = {}
    for step in ("import", "reimport"):
        started = time.perf_counter()
        for path in (day.consignments, day.events):  # type: ignore[attr-defined]
            ingest_file(store, path)
        found[f"{step}_s"] = round(time.perf_counter() - started, 2)
    started = time.perf_counter()
    audit.verify_audit(store)
    found["verify_s"] = round(time.perf_counter() - started, 2)
    if "full" in inspect.signature(audit.verify_audit).parameters:
        result = audit.verify_audit(store, full=True)
        assert result.rows is not None
        found["verify_full_s"] = round(result.rows.seconds, 2)
        found["rows"] = result.rows.rows
        found["full_rows_per_s"] = round(result.rows.rows / result.rows.seconds)
    store.close()
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--count", type=int, default=12_000)
    parser.add_argument("--workdir", type=Path, default=None)
    parser.add_argument("--postgres", action="store_true")
    args = parser.parse_args()
    from quaywatch.synth import portday

    work = args.workdir or Path(tempfile.mkdtemp(prefix="quaywatch-tamper-"))
    day = portday.generate(work / "day", count=args.count, seed=3, noise=0.01)
    report: dict[str, object] = {"count": args.count}
    report["sqlite"] = _measure(f"sqlite:///{work / f'{uuid.uuid4().hex}.db'}", day)
    print("sqlite", report["sqlite"], flush=True)
    if args.postgres:
        schema = f"bench_{uuid.uuid4().hex[:12]}"
        with psycopg.connect(PG_URL, autocommit=True) as conn:
            conn.execute(f"CREATE SCHEMA {schema}")
        try:
            report["postgres"] = _measure(f"{PG_URL}?options=-csearch_path%3D{schema}", day)
            print("postgres", report["postgres"], flush=True)
        finally:
            with psycopg.connect(PG_URL, autocommit=True) as conn:
                conn.execute(f"DROP SCHEMA {schema} CASCADE")
    print(json.dumps(report))


if __name__ == "__main__":
    main()
