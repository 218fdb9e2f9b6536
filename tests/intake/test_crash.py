"""An importer killed at random moments leaves no partial batch, and the import then completes.

A real ``quaywatch ingest`` process is started on a generated port day and killed with SIGKILL
(no clean-up runs) at a random moment of its run, again and again, on SQLite and PostgreSQL.
After every kill the store must hold only whole batches: every stored row belongs to a batch
that is recorded, every batch holds exactly the records it says it stored, and the audit trail
verifies with every stored row re-hashed (``audit verify --full``). At the end an import run to
completion stores the same as a clean store does.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import func, select

from quaywatch.services.audit import verify_audit
from quaywatch.store import tables
from quaywatch.store.store import Store
from quaywatch.synth import portday

pytestmark = pytest.mark.slow

KILLS = int(os.environ.get("QUAYWATCH_TEST_CRASH_KILLS", "20"))
#: Tables holding records an import writes, with the batch column that says which import.
BATCHED = {"consignments": tables.consignments, "events": tables.events}
COUNTED = ["consignments", "goods_items", "containers", "seals", "parties", "events", "quarantine"]


def _command(*args: str) -> list[str]:
    return [sys.executable, "-m", "quaywatch", *args]


def _run(url: str, *args: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    env = os.environ | {"QUAYWATCH_DATABASE_URL": url, "OMP_NUM_THREADS": "1"}
    return subprocess.run(
        _command(*args), env=env, capture_output=True, text=True, timeout=timeout, check=False
    )


def _killed_run(url: str, path: Path, after: float) -> bool:
    """Start an import of ``path``, SIGKILL it ``after`` seconds in; True if it was killed."""
    env = os.environ | {"QUAYWATCH_DATABASE_URL": url, "OMP_NUM_THREADS": "1"}
    process = subprocess.Popen(
        _command("ingest", str(path)),
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        process.wait(timeout=after)
    except subprocess.TimeoutExpired:
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=60)
        return True
    assert process.returncode == 0, f"import ended with {process.returncode} before the kill"
    return False


def _counts(store: Store) -> dict[str, int]:
    with store.reading() as conn:
        return {
            name: conn.execute(
                select(func.count()).select_from(tables.metadata.tables[name])
            ).scalar_one()
            for name in COUNTED
        }


def _assert_whole_batches(store: Store) -> None:
    """Every stored record belongs to a recorded batch that holds exactly what it says."""
    b = tables.import_batches
    with store.reading() as conn:
        batches = {
            row.batch_id: row
            for row in conn.execute(select(b.c.batch_id, b.c.kind, b.c.records_new))
        }
        for kind, table in BATCHED.items():
            stored = dict(
                conn.execute(
                    select(table.c.batch_id, func.count()).group_by(table.c.batch_id)
                ).all()
            )
            assert set(stored) <= set(batches), f"{kind} rows of an unrecorded batch"
            for batch_id, row in batches.items():
                if row.kind == kind:
                    assert stored.get(batch_id, 0) == row.records_new, (kind, batch_id)
        q = tables.quarantine
        orphans = conn.execute(
            select(func.count()).where(q.c.batch_id.not_in(select(b.c.batch_id)))
        ).scalar_one()
        assert orphans == 0, "quarantine entries of an unrecorded batch"
        g, c = tables.goods_items, tables.consignments
        headless = conn.execute(
            select(func.count())
            .select_from(g.outerjoin(c, g.c.consignment_id == c.c.consignment_id))
            .where(c.c.consignment_id.is_(None))
        ).scalar_one()
        assert headless == 0, "goods items without their consignment"


#: Port days to import: a run that finishes before its kill moves on to the next day's file,
#: so that every later run still has a whole import to be killed in.
DAYS = 4


@pytest.fixture(scope="module")
def crash_days(tmp_path_factory: pytest.TempPathFactory) -> dict[str, list[Path]]:
    folder = tmp_path_factory.mktemp("crash")
    days = [
        portday.generate(
            folder / f"day{i}",
            count=1_200,
            seed=5 + i,
            noise=0.02,
            day=datetime(2026, 11, 2 + i, tzinfo=UTC),
        )  # fmt: skip
        for i in range(DAYS)
    ]
    return {
        "consignments": [day.consignments for day in days],
        "events": [day.events for day in days],
    }


@pytest.fixture(scope="module")
def reference(
    crash_days: dict[str, list[Path]], tmp_path_factory: pytest.TempPathFactory
) -> tuple[dict[str, int], dict[str, float]]:
    """What a clean store holds after every file, and how long the slowest import of each kind
    takes there."""
    url = f"sqlite:///{tmp_path_factory.mktemp('reference') / 'reference.db'}"
    durations: dict[str, float] = {}
    for name, paths in crash_days.items():
        for path in paths:
            started = time.monotonic()
            done = _run(url, "ingest", str(path))
            durations[name] = max(durations.get(name, 0.0), time.monotonic() - started)
            assert done.returncode == 0, done.stderr
    store = Store.open(url)
    try:
        return _counts(store), durations
    finally:
        store.close()


def test_killed_imports_leave_whole_batches_and_the_import_completes(
    store: Store,
    store_url: str,
    crash_days: dict[str, list[Path]],
    reference: tuple[dict[str, int], dict[str, float]],
) -> None:
    expected, durations = reference
    rng = random.Random(20)
    next_day = dict.fromkeys(crash_days, 0)
    killed = 0
    for attempt in range(KILLS):
        name = "consignments" if attempt % 2 == 0 else "events"
        path = crash_days[name][min(next_day[name], DAYS - 1)]
        # Anywhere from the start of the process (interpreter, imports) to past a clean run.
        if _killed_run(store_url, path, rng.uniform(0.05, 1.1) * durations[name]):
            killed += 1
        else:  # it finished: the next run of this kind imports another day
            next_day[name] += 1
        _assert_whole_batches(store)
        verify_audit(store, full=True)  # a broken chain or a row not as audited raises
    assert killed >= KILLS // 2, f"only {killed} of {KILLS} runs were still going when killed"

    for paths in crash_days.values():
        for path in paths:
            done = _run(store_url, "ingest", str(path))
            assert done.returncode == 0, done.stdout + done.stderr
    _assert_whole_batches(store)
    assert _counts(store) == expected
