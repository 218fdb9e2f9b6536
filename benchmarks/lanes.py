"""Lane read benchmark: a lane's first read of the day (``risk.anomaly.reads.lane_boxes``, the
traffic a live run learns a lane's route frequencies from) with and without the lane index of
migration 0027.

    python benchmarks/lanes.py [--days 60] [--per-day 1000] [--database URL] [--workdir DIR]
                               [--plans]

Set-up (not timed): generates DAYS × PER_DAY consignments and imports them into a fresh store
(SQLite file in WORKDIR by default; a PostgreSQL URL must name an empty schema), then runs
ANALYZE so that both planners know how few ports of discharge there are.

Measured: every fourth lane (origin country, port of discharge), largest first, read as of the
start of the last day, three rounds, each round once without the index (dropped) and once with
it: the whole read (``lane_boxes``: containers and declared seals, as frames) and its SQL alone
(the statements sent, fetched through the driver). With ``--plans``, the plan of each statement
for the largest lane (SQLite EXPLAIN QUERY PLAN, PostgreSQL EXPLAIN). The index is left in place.

Last line: JSON with the medians and totals per round in milliseconds, and the set-up.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from datetime import date
from pathlib import Path
from typing import Any

ROOT = Path(__file__).parents[1]
INDEX = "ix_consignments_port_of_discharge_port_of_loading"
ROUNDS = 3


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--days", type=int, default=60)
    parser.add_argument("--per-day", type=int, default=1000)
    parser.add_argument("--database", help="store URL (default: a SQLite file in WORKDIR)")
    parser.add_argument("--workdir", type=Path)
    parser.add_argument("--plans", action="store_true", help="print the query plans")
    args = parser.parse_args()
    sys.path.insert(0, str(ROOT / "src"))
    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="quaywatch-lanes-"))
    url = args.database or f"sqlite:///{workdir / 'lanes.db'}"
    print(json.dumps(_measure(workdir, url, args.days, args.per_day, plans=args.plans)))


def _measure(workdir: Path, url: str, days: int, per_day: int, *, plans: bool) -> dict[str, Any]:
    import polars as pl
    from sqlalchemy import event, text

    from quaywatch.intake.pipeline import ingest_file
    from quaywatch.risk.anomaly import daily, reads
    from quaywatch.store import reads as store_reads
    from quaywatch.store.store import Store
    from quaywatch.synth import traffic

    made = traffic.generate(workdir / "traffic", days=days, per_day=per_day, seed=7,
                            start=date(2026, 10, 1), legacy_controls=False)  # fmt: skip
    store = Store.open(url)
    for path in made.consignment_files:
        ingest_file(store, path)
    sqlite = store.engine.dialect.name == "sqlite"
    boxes = reads.boxes(store)
    day = daily.start_of_day(boxes["lodged_at"].max())
    origin = pl.col("port_of_loading").str.slice(0, 2).alias("origin")
    lanes = (
        boxes.select(origin, "port_of_discharge", "consignment_id").unique()
        .group_by("origin", "port_of_discharge").len()
        .sort("len", "origin", descending=True)
    )  # fmt: skip
    timed = lanes.gather_every(4)

    def read(country: str, port: str) -> pl.DataFrame:
        lane = pl.DataFrame({"port_of_loading": [f"{country}AAA"], "port_of_discharge": [port]})
        return reads.lane_boxes(store, lane, lodged_by=day)

    # The statements of each lane's read, as the driver receives them: run each query through
    # SQLAlchemy once (the fast path renders the same query without parameters).
    sent: dict[tuple[str, str], list[tuple[str, Any]]] = {}
    queries: list[Any] = []
    frame = store_reads.frame

    def recording(store_: Store, query: Any, schema: Any = None) -> pl.DataFrame:
        queries.append(query)
        return frame(store_, query, schema)

    def capture(conn: Any, cursor: Any, statement: str, parameters: Any, *_: Any) -> None:
        if statement.lstrip().upper().startswith("SELECT"):
            sent.setdefault((country, port), []).append((statement, parameters))

    reads.frame = recording  # type: ignore[assignment]
    try:
        for country, port, _ in timed.iter_rows():
            queries.clear()
            read(country, port)
            event.listen(store.engine, "before_cursor_execute", capture)
            with store.reading() as conn:
                for query in queries:
                    conn.execute(query).fetchall()
            event.remove(store.engine, "before_cursor_execute", capture)
    finally:
        reads.frame = frame  # type: ignore[assignment]

    def statements(country: str, port: str, *, explain: bool = False) -> tuple[float, list[str]]:
        raw = store.engine.raw_connection()
        try:
            lines, started = [], time.perf_counter()
            for statement, parameters in sent[(country, port)]:
                cursor = raw.cursor()
                prefix = ("EXPLAIN QUERY PLAN " if sqlite else "EXPLAIN ") if explain else ""
                cursor.execute(prefix + statement, parameters)
                lines += [str(row[-1] if sqlite else row[0]) for row in cursor.fetchall()]
            took = time.perf_counter() - started
            raw.rollback()
            return took, lines
        finally:
            raw.close()

    def index(present: bool) -> None:
        with store.transaction() as conn:
            conn.execute(text(f"DROP INDEX IF EXISTS {INDEX}"))
            if present:
                conn.execute(text(
                    f"CREATE INDEX {INDEX} ON consignments (port_of_discharge, port_of_loading)"
                ))  # fmt: skip
            conn.execute(text("ANALYZE"))

    times: dict[str, list[float]] = {}
    for round_ in range(ROUNDS):
        for present in (False, True):
            index(present)
            label = "index" if present else "no_index"
            if plans and round_ == 0:
                first = (timed["origin"][0], timed["port_of_discharge"][0])
                print(f"--- plan {label}, lane {first}:", file=sys.stderr)
                for line in statements(*first, explain=True)[1]:
                    print("   ", line, file=sys.stderr)
            for country, port, _ in timed.iter_rows():
                times.setdefault(f"sql_{label}", []).append(statements(country, port)[0])
                started = time.perf_counter()
                read(country, port)
                times.setdefault(f"read_{label}", []).append(time.perf_counter() - started)
    index(True)
    store.close()
    result: dict[str, Any] = {
        "backend": "sqlite" if sqlite else "postgresql",
        "consignments": days * per_day,
        "lanes": lanes.height,
        "timed_lanes": timed.height,
        "largest_lane": int(lanes["len"].max()),  # type: ignore[arg-type]
    }
    for name, seconds in times.items():
        result[f"{name}_median_ms"] = round(statistics.median(seconds) * 1000, 1)
        result[f"{name}_round_ms"] = round(sum(seconds) * 1000 / ROUNDS)
    return result


if __name__ == "__main__":
    main()
