"""Policy lab runs whose worker died, and the queue under concurrent submits, on SQLite and
PostgreSQL: a running run has an owner and a heartbeat; once the heartbeat is older than
``STALE_AFTER`` the run reads as stale, any worker marks it failed, and it can be run again;
submits at the same moment never queue more than ``MAX_WAITING`` runs."""

from __future__ import annotations

import threading
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import update

from quaywatch.errors import ConflictError
from quaywatch.services import lab_runs
from quaywatch.services.audit import audit_log
from quaywatch.services.lab_runs import LabState
from quaywatch.store import tables
from quaywatch.store.store import Store
from quaywatch.store.tables import utcnow

SMALL: dict[str, Any] = {"weeks": 1, "warmup_weeks": 2, "per_day": 100, "strategies": ["rules"]}


def _running(store: Store, run_id: str, owner: str, beat_ago: timedelta) -> None:
    """As a worker that took the run and last said it was alive ``beat_ago`` ago leaves it."""
    moment = utcnow() - beat_ago
    with store.transaction() as conn:
        conn.execute(
            update(tables.lab_runs).where(tables.lab_runs.c.run_id == run_id)
            .values(state="running", running=1 if owner == "dead" else None, owner=owner,
                    started_at=moment, heartbeat_at=moment, queue_slot=None)
        )  # fmt: skip


def test_a_run_whose_worker_died_is_stale_failed_and_run_again(store: Store) -> None:
    dead = lab_runs.start_lab_run(store, **SMALL, title="weekly", actor="ana")
    alive = lab_runs.start_lab_run(store, **SMALL, actor="ana")
    _running(store, dead.run_id, "dead", lab_runs.STALE_AFTER + timedelta(seconds=5))
    _running(store, alive.run_id, "alive", timedelta(seconds=5))
    shown = {r.run_id: r for r in lab_runs.lab_runs(store)}
    assert shown[dead.run_id].stale and shown[dead.run_id].rerunnable
    assert shown[dead.run_id].owner == "dead"
    assert not shown[alive.run_id].stale and not shown[alive.run_id].rerunnable
    # Only the owner's heartbeat counts.
    assert lab_runs.heartbeat(store, alive.run_id, "alive")
    assert not lab_runs.heartbeat(store, alive.run_id, "someone else")
    with pytest.raises(ConflictError, match="is running: only a failed run is run again"):
        lab_runs.rerun_lab_run(store, alive.run_id, actor="ana")

    again = lab_runs.rerun_lab_run(store, dead.run_id, actor="ben")  # fails it first
    failed = lab_runs.lab_run(store, dead.run_id).run
    assert failed.state is LabState.FAILED and failed.error == lab_runs.INTERRUPTED
    assert not failed.stale
    assert again.run_id != dead.run_id and again.state is LabState.QUEUED
    assert (again.parameters, again.title, again.created_by) == (dead.parameters, "weekly", "ben")
    queued = audit_log(store, limit=1)[0]
    assert queued.action == "lab_run_queue" and queued.details["rerun_of"] == dead.run_id
    assert lab_runs.lab_run(store, alive.run_id).run.state is LabState.RUNNING
    # A later look by any worker leaves a live run alone.
    assert lab_runs.recover_lab_runs(store) == 0


def test_a_worker_takes_a_run_with_its_name_and_fails_stale_ones_as_it_looks(
    store: Store,
) -> None:
    dead = lab_runs.start_lab_run(store, **SMALL, actor="ana")
    _running(store, dead.run_id, "dead", lab_runs.STALE_AFTER * 2)
    queued = lab_runs.start_lab_run(store, **SMALL, actor="ana")
    worker = lab_runs.LabWorker(store, poll_s=0.05, heartbeat_s=0.05)
    worker.start()
    try:
        for _ in range(600):
            run = lab_runs.lab_run(store, queued.run_id).run
            if run.state is not LabState.QUEUED:
                break
            threading.Event().wait(0.05)
        assert run.owner == worker.owner and run.heartbeat_at is not None
    finally:
        worker.close(wait_s=120)
    assert lab_runs.lab_run(store, dead.run_id).run.state is LabState.FAILED


def test_concurrent_submits_never_queue_more_than_allowed(store: Store) -> None:
    tries = lab_runs.MAX_WAITING + 5
    start = threading.Barrier(tries)
    outcomes: list[str] = []

    def submit(n: int) -> None:
        start.wait()
        try:
            lab_runs.start_lab_run(store, **SMALL, seed=n, actor=f"u{n}")
            outcomes.append("queued")
        except ConflictError as exc:
            outcomes.append(exc.message)

    threads = [threading.Thread(target=submit, args=(n,)) for n in range(tries)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    waiting = [r for r in lab_runs.lab_runs(store) if r.state is LabState.QUEUED]
    assert len(waiting) == lab_runs.MAX_WAITING == outcomes.count("queued")
    assert len(outcomes) == tries
    assert all("lab runs are waiting already" in o for o in outcomes if o != "queued")
    # A place frees as a run leaves the queue, and is taken again.
    _running(store, waiting[0].run_id, "dead", timedelta(0))
    assert lab_runs.start_lab_run(store, **SMALL, actor="late").state is LabState.QUEUED
    with pytest.raises(ConflictError):
        lab_runs.start_lab_run(store, **SMALL, actor="later")
