"""Policy lab runs kept in the store: queued, run one at a time by the worker to done (or
failed, with why), listed and read back with their figures."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import update

from quaywatch.errors import ConflictError, NotFoundError, RecordError
from quaywatch.services import lab, lab_runs
from quaywatch.services.audit import audit_log, verify_audit
from quaywatch.services.lab_runs import LabState, LabWorker
from quaywatch.store import tables
from quaywatch.store.store import Store

SMALL: dict[str, Any] = {"weeks": 1, "warmup_weeks": 2, "per_day": 100}


@pytest.fixture
def sqlite_store(tmp_path: Path) -> Iterator[Store]:
    opened = Store.open(f"sqlite:///{tmp_path / 'lab.db'}")
    yield opened
    opened.close()


def _finished(store: Store, run_id: str, timeout_s: float = 120) -> lab_runs.LabRunReport:
    deadline = time.monotonic() + timeout_s
    while True:
        report = lab_runs.lab_run(store, run_id)
        if report.run.state in (LabState.DONE, LabState.FAILED):
            return report
        assert time.monotonic() < deadline, report.run
        time.sleep(0.1)


def test_a_queued_run_runs_to_done_and_one_left_running_is_failed_by_the_restart(
    store: Store,
) -> None:
    crashed = lab_runs.start_lab_run(store, **SMALL, strategies=["rules"], actor="ana")
    run = lab_runs.start_lab_run(store, **SMALL, strategies=["rules", "hybrid"], title=" Both? ",
                                 actor="ben")  # fmt: skip
    assert run.state is LabState.QUEUED and run.title == "Both?" and run.created_by == "ben"
    assert run.parameters.canonical() == (
        '{"displacement":true,"per_day":100,"seed":7,"strategies":["rules","hybrid"],'
        '"warmup_weeks":2,"weeks":1}'
    )
    assert [r.run_id for r in lab_runs.lab_runs(store)] == [run.run_id, crashed.run_id]
    # As a process killed while it ran the first run would leave it.
    with store.transaction() as conn:
        conn.execute(update(tables.lab_runs).where(tables.lab_runs.c.run_id == crashed.run_id)
                     .values(state="running", running=1))  # fmt: skip

    started = time.monotonic()
    worker = LabWorker(store)
    worker.start()  # the application starts again
    try:
        report = _finished(store, run.run_id)
    finally:
        worker.close()
    took = time.monotonic() - started
    print(f"a minimum run of two set-ups through the worker on {store.dialect}: {took:.1f} s")

    interrupted = lab_runs.lab_run(store, crashed.run_id).run
    assert interrupted.state is LabState.FAILED and interrupted.error == lab_runs.INTERRUPTED
    done = report.run
    assert done.state is LabState.DONE and done.error is None, done.error
    assert done.started_at and done.finished_at and done.started_at <= done.finished_at
    assert done.strategies_done == 2 and done.consignments and done.replay_start
    assert [row["strategy"] for row in report.summary] == ["rules", "hybrid"]
    assert {"controls", "detected_share", "precision", "revenue_share", "aeo_burden",
            "late_auc"} <= set(report.summary[0])  # fmt: skip
    assert [(row["strategy"], row["week"]) for row in report.weekly] == [
        ("rules", 1),
        ("hybrid", 1),
    ]
    week = report.weekly[0]
    assert week["detected_share"] == (
        week["detected"] / week["illicit"] if week["illicit"] else None
    )
    assert set(report.seconds) == {"rules", "hybrid"}

    actions = [(e.action, e.object_id) for e in reversed(audit_log(store, limit=20))]
    assert [a for a, o in actions if o == run.run_id] == [
        "lab_run_queue", "lab_run_start", "lab_run_done",
    ]  # fmt: skip
    assert [a for a, o in actions if o == crashed.run_id] == ["lab_run_queue", "lab_run_fail"]
    verify_audit(store)


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"weeks": 0}, "weeks"),
        ({"weeks": lab_runs.MAX_WEEKS + 1}, "weeks"),
        ({"warmup_weeks": lab.MIN_WARMUP_WEEKS - 1}, "warmup_weeks"),
        ({"warmup_weeks": lab_runs.MAX_WARMUP_WEEKS + 1}, "warmup_weeks"),
        ({"per_day": lab.MIN_PER_DAY - 1}, "per_day"),
        ({"per_day": lab_runs.MAX_PER_DAY + 1}, "per_day"),
        ({"per_day": 1000.0}, "per_day"),
        ({"seed": -1}, "seed"),
        ({"strategies": []}, "strategies"),
        ({"strategies": ["rules", "nonsense"]}, "strategies"),
        ({"strategies": ["rules", "rules"]}, "strategies"),
        ({"displacement": "yes"}, "displacement"),
        ({"title": "x" * (lab_runs.MAX_TITLE + 1)}, "title"),
    ],
)
def test_parameters_out_of_bounds_are_refused_naming_the_field(
    sqlite_store: Store, change: dict[str, Any], field: str
) -> None:
    with pytest.raises(RecordError) as refused:
        lab_runs.start_lab_run(sqlite_store, **{**SMALL, **change}, actor="ana")
    assert refused.value.field == field
    assert refused.value.message.startswith(f"field {field}: ")
    assert lab_runs.lab_runs(sqlite_store) == []


def test_runs_wait_in_turn_and_one_more_than_allowed_is_refused(sqlite_store: Store) -> None:
    queued = [
        lab_runs.start_lab_run(sqlite_store, **SMALL, seed=n, actor="ana")
        for n in range(lab_runs.MAX_WAITING)
    ]
    with pytest.raises(ConflictError, match=f"{lab_runs.MAX_WAITING} lab runs are waiting"):
        lab_runs.start_lab_run(sqlite_store, **SMALL, actor="ana")
    listed = lab_runs.lab_runs(sqlite_store)
    assert [r.run_id for r in listed] == [r.run_id for r in reversed(queued)]
    assert {r.state for r in listed} == {LabState.QUEUED}
    assert lab_runs.lab_runs(sqlite_store, limit=2) == listed[:2]
    assert lab_runs.lab_run(sqlite_store, queued[0].run_id).summary == []
    with pytest.raises(NotFoundError, match="no lab run nope"):
        lab_runs.lab_run(sqlite_store, "nope")


def test_a_run_in_progress_when_the_application_stops_is_failed_with_why(
    sqlite_store: Store,
) -> None:
    worker = LabWorker(sqlite_store, poll_s=0.05)
    worker.start()
    run = lab_runs.start_lab_run(sqlite_store, **SMALL, strategies=["rules"], actor="ana",
                                 worker=worker)  # fmt: skip
    deadline = time.monotonic() + 30
    while lab_runs.lab_run(sqlite_store, run.run_id).run.state is LabState.QUEUED:
        assert time.monotonic() < deadline
        time.sleep(0.01)
    worker.close()  # while it generates the traffic: it stops once that is done
    stopped = lab_runs.lab_run(sqlite_store, run.run_id).run
    assert stopped.state is LabState.FAILED and stopped.error == lab_runs.STOPPED


def test_every_set_up_is_described_and_the_defaults_are_simulates() -> None:
    options = lab_runs.lab_options()
    assert [s.name for s in options.strategies] == list(lab.STRATEGIES)
    assert all(s.description and s.description != s.name for s in options.strategies)
    assert [s.name for s in options.strategies if s.default] == list(lab.DEFAULT_STRATEGIES)
    assert (options.weeks.least, options.weeks.most) == (lab.MIN_WEEKS, 26)
    assert (options.per_day.least, options.per_day.most) == (lab.MIN_PER_DAY, 5_000)
