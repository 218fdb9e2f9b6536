"""Filing one consignment reads what it needs, not the history: the rows SQLite hands the filing
desk (`services.filing`) do not grow when the stored history doubles.

Counted on SQLite, whose driver lets a test see every row fetched (a cursor that counts); the
reads are the same statements on PostgreSQL. The first consignment filed on a day pays for what
a live scoring run keeps for the day (the anomaly baselines, the kept party graph), and the first
after an import keys its parties' contact details for the graph: the counts are those of the
consignments filed after them.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest
from api_support import consignment
from sqlalchemy import event

from quaywatch.intake.pipeline import ingest_file
from quaywatch.services.assessments import current_model
from quaywatch.services.filing import FilingDesk
from quaywatch.store import database
from quaywatch.store.store import Store
from quaywatch.synth import traffic

pytestmark = pytest.mark.slow

_fetched = [0]


class _CountingCursor(sqlite3.Cursor):
    def fetchone(self) -> Any:
        row = super().fetchone()
        _fetched[0] += row is not None
        return row

    def fetchmany(self, size: int = 1) -> list[Any]:
        rows = super().fetchmany(size)
        _fetched[0] += len(rows)
        return rows

    def fetchall(self) -> list[Any]:
        rows = super().fetchall()
        _fetched[0] += len(rows)
        return rows

    def __next__(self) -> Any:
        row = super().__next__()
        _fetched[0] += 1
        return row


class _CountingConnection(sqlite3.Connection):
    def cursor(self, factory: Any = _CountingCursor) -> Any:
        return super().cursor(factory)


@pytest.fixture
def counted(tmp_path: Path) -> Iterator[tuple[Store, Store]]:
    """The same SQLite store twice: opened as usual, and through connections that count."""
    url = f"sqlite:///{tmp_path / 'store.db'}"
    plain = Store.open(url)
    engine = database.make_engine(url)

    @event.listens_for(engine, "do_connect")
    def _counting(dialect: Any, record: Any, cargs: Any, cparams: dict[str, Any]) -> None:
        cparams["factory"] = _CountingConnection

    counting = Store(engine)
    yield plain, counting
    counting.close()
    plain.close()


def _fresh(n: int, *, newcomer: bool) -> dict[str, Any]:
    """A consignment lodged now; ``newcomer``: its consignee is a party never seen before."""
    record = consignment(n, lodged_at=datetime.now(UTC).isoformat())
    if newcomer:
        record["consignee"] = dict(record["consignee"], name=f"Newcomer Trading {n} BV",
                                   address=f"{n} Newcomer Street, Antwerp")  # fmt: skip
    return record


def _rows_to_file(desk: FilingDesk, n: int, *, newcomer: bool) -> int:
    before = _fetched[0]
    filed = desk.file(_fresh(n, newcomer=newcomer), actor="pcs", source="api:consignments:pcs")
    assert filed.status == "new"
    assert filed.assessment is not None
    return _fetched[0] - before


def test_filing_a_consignment_reads_no_more_when_the_history_doubles(
    counted: tuple[Store, Store], models: Path, tmp_path: Path
) -> None:
    plain, counting = counted
    made = traffic.generate(tmp_path / "t", days=8, per_day=250, seed=5, start=date(2026, 9, 1))
    days = sorted(made.consignment_files)
    outcomes = sorted((made.out / "outcomes").glob("*.csv"))
    events = sorted(made.event_files)
    half = len(days) // 2
    for path in [*days[:half], *events[:half]]:
        ingest_file(plain, path, actor="tester")
    model = current_model(models)
    desk = FilingDesk(counting, lambda: model)
    try:
        _rows_to_file(desk, 1, newcomer=False)  # the day's first: what is kept for the day
        known = [_rows_to_file(desk, n, newcomer=False) for n in (2, 3)]
        new = [_rows_to_file(desk, n, newcomer=True) for n in (4, 5)]
        for path in [*days[half:], *events[half:], *outcomes]:
            ingest_file(plain, path, actor="tester")
        # The next one keys the parties of the imports for the graph (once per import).
        _rows_to_file(desk, 10, newcomer=True)
        known_doubled = [_rows_to_file(desk, n, newcomer=False) for n in (6, 7)]
        new_doubled = [_rows_to_file(desk, n, newcomer=True) for n in (8, 9)]
    finally:
        desk.close()
    # The history doubled (1,000 more consignments, their events and every outcome); what
    # filing one reads may grow by what the consignment's own neighbours brought, no more.
    assert max(known_doubled) <= 1.1 * max(known) + 50, (known, known_doubled)
    assert max(new_doubled) <= 1.1 * max(new) + 50, (new, new_doubled)
