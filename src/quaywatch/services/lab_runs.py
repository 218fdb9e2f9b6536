"""Policy lab runs kept in the store: started by a person, run in the background one at a time,
read back with their figures.

A replay (``services.lab.simulate``) takes seconds at its smallest and minutes at a quarter of
1,000 consignments a day: longer than a request may wait. So:

- ``start_lab_run`` checks the parameters (the lab's minimums, and the limits of what a person
  may start from the web application or the API: ``MAX_WEEKS``, ``MAX_WARMUP_WEEKS``,
  ``MAX_PER_DAY``; a larger replay is ``quaywatch simulate``'s), records the run as *queued*
  and wakes the application's ``LabWorker``;
- the worker, one thread, takes the oldest queued run, marks it *running*, replays it and
  stores its figures (*done*) or why it failed (*failed*); then the next;
- ``lab_runs`` lists the runs, ``lab_run`` reads one with its figures; ``rerun_lab_run``
  queues a failed run's parameters again.

One run at a time: a run's ``running`` column is 1 while it runs and unique, so even several
serving processes on one PostgreSQL store run one replay at a time (each replay takes every
core). At most ``MAX_WAITING`` runs wait: a waiting run holds one of ``MAX_WAITING`` queue
slots (``queue_slot``, unique), so two submits at the same moment cannot both take the last
place; another is refused until one has run.

Dead workers: a running run has an ``owner`` (the worker's host, process and a random tag)
and a ``heartbeat_at`` its worker renews every ``HEARTBEAT_S`` seconds while it replays. A run
whose heartbeat is older than ``STALE_AFTER`` is *stale* (``LabRun.stale``): its worker died
with its process (or lost the store). Every worker, as it looks at the queue (at its start,
then every ``POLL_S`` seconds), marks the stale runs *failed*, "its worker stopped", which
frees the running place; a failed run can be run again (``rerun_lab_run``). *Queued* runs
lost nothing (they never started): they stay queued and run. When the application stops, the
run in progress stops at the end of the stage it is in (the traffic generated, or one set-up
replayed) and is marked failed, or, if the process ends first, once it is stale.

Each change of state is one transaction with its audit event (object type ``lab_run``).
"""

from __future__ import annotations

import itertools
import json
import logging
import math
import os
import socket
import threading
import uuid
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from sqlalchemy import Connection, RowMapping, func, insert, select, update

from quaywatch.audit import chain
from quaywatch.errors import (
    ConflictError,
    NotFoundError,
    QuaywatchError,
    RecordError,
    WriteConflictError,
    said,
)
from quaywatch.services import lab
from quaywatch.store import tables
from quaywatch.store.store import Store
from quaywatch.store.tables import utcnow

log = logging.getLogger("quaywatch.lab")

#: The most a person may start here: half a year of 5,000 consignments a day (about
#: 900,000 consignments, tens of minutes a set-up). Larger: ``quaywatch simulate``.
MAX_WEEKS, MAX_WARMUP_WEEKS, MAX_PER_DAY = 26, 12, 5_000
#: The largest seed (a 31-bit number, as every seed of quaywatch).
MAX_SEED = 2**31 - 1
#: Runs that may wait at once; another is refused until one of them has run.
MAX_WAITING = 5
#: The longest title a run may have.
MAX_TITLE = 200
#: Seconds the worker sleeps between looks at the queue when nobody wakes it (runs queued by
#: another process sharing the store are found this way).
POLL_S = 30.0
#: Seconds ``LabWorker.close`` waits for the run in progress to reach the end of its stage.
STOP_WAIT_S = 30.0
#: The actor of the worker's audit events.
WORKER = "policy-lab"
#: Seconds between a running run's heartbeats.
HEARTBEAT_S = 20.0
#: A running run whose last heartbeat is older than this is stale: its worker is gone.
STALE_AFTER = timedelta(minutes=2)
#: What a stale run is marked failed with.
INTERRUPTED = (
    "interrupted: its worker stopped (no heartbeat for "
    f"{int(STALE_AFTER.total_seconds())} seconds); run it again"
)
#: What a run the stopping application gave up is marked failed with.
STOPPED = "interrupted: the service stopped while it ran"
OBJECT_TYPE = "lab_run"


class LabState(StrEnum):
    """Where a lab run is: waiting, replaying, done with its figures, or failed."""

    QUEUED = "queued"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"


@dataclass(frozen=True, slots=True)
class LabParameters:
    """What a lab run replays (``services.lab.simulate``'s arguments)."""

    weeks: int
    warmup_weeks: int
    per_day: int
    seed: int
    strategies: tuple[str, ...]
    displacement: bool

    def canonical(self) -> str:
        """The parameters as canonical JSON (sorted keys, no spaces), as the store keeps them."""
        return json.dumps(asdict(self), sort_keys=True, separators=(",", ":"))


#: What a run replays when nothing else is asked: ``quaywatch simulate``'s defaults.
DEFAULTS = LabParameters(weeks=12, warmup_weeks=5, per_day=1_000, seed=7,
                         strategies=tuple(lab.DEFAULT_STRATEGIES), displacement=True)  # fmt: skip


@dataclass(frozen=True, slots=True)
class LabRun:
    """A lab run without its figures.

    ``strategies_done``: set-ups replayed so far; ``consignments`` and ``replay_start`` (the
    first day replayed) once done; ``error``: why it failed. ``owner`` and ``heartbeat_at``:
    the worker running it and when it last said it was alive; ``stale``: running, but its
    heartbeat is older than ``STALE_AFTER`` when it was read (its worker is gone).
    """

    run_id: str
    title: str | None
    parameters: LabParameters
    state: LabState
    created_at: datetime
    created_by: str
    started_at: datetime | None
    finished_at: datetime | None
    strategies_done: int
    consignments: int | None
    replay_start: datetime | None
    error: str | None
    owner: str | None = None
    heartbeat_at: datetime | None = None
    stale: bool = False

    @property
    def rerunnable(self) -> bool:
        """Whether it may be run again: it failed, or its worker is gone."""
        return self.state is LabState.FAILED or self.stale


@dataclass(frozen=True, slots=True)
class LabRunReport:
    """A lab run with its figures (empty until it is done).

    ``summary``: one dict per strategy, in the order asked (``learning.lab.summarise``:
    ``controls``, ``detected_share``, ``precision``, ``revenue_share``, ``critical_share``,
    ``aeo_burden``, ``late_auc``, ...); ``weekly``: one per strategy and week
    (``learning.simulate.run``, plus ``detected_share``, the week's share of illicit
    consignments found); ``seconds``: what each strategy's replay took.
    """

    run: LabRun
    summary: list[dict[str, Any]]
    weekly: list[dict[str, Any]]
    seconds: dict[str, float]


@dataclass(frozen=True, slots=True)
class Bounds:
    """The least, the most and the default value of a whole-number parameter."""

    least: int
    most: int
    default: int


@dataclass(frozen=True, slots=True)
class StrategyChoice:
    """A set-up that may be chosen, what it is, and whether it is chosen by default."""

    name: str
    description: str
    default: bool


@dataclass(frozen=True, slots=True)
class LabOptions:
    """What a person may start: the set-ups, and the bounds of each number."""

    strategies: tuple[StrategyChoice, ...]
    weeks: Bounds
    warmup_weeks: Bounds
    per_day: Bounds
    seed: Bounds
    displacement: bool
    max_waiting: int


def lab_options() -> LabOptions:
    """The set-ups with their descriptions, and each parameter's bounds and default."""
    d = DEFAULTS
    return LabOptions(
        strategies=tuple(
            StrategyChoice(name, lab.DESCRIPTIONS.get(name, name), name in d.strategies)
            for name in lab.STRATEGIES
        ),
        weeks=Bounds(lab.MIN_WEEKS, MAX_WEEKS, d.weeks),
        warmup_weeks=Bounds(lab.MIN_WARMUP_WEEKS, MAX_WARMUP_WEEKS, d.warmup_weeks),
        per_day=Bounds(lab.MIN_PER_DAY, MAX_PER_DAY, d.per_day),
        seed=Bounds(0, MAX_SEED, d.seed), displacement=d.displacement, max_waiting=MAX_WAITING,
    )  # fmt: skip


def _checked(
    weeks: int, warmup_weeks: int, per_day: int, seed: int, strategies: Sequence[str] | None,
    displacement: bool, title: str | None,
) -> tuple[LabParameters, str | None]:  # fmt: skip
    options = lab_options()
    for field, value, bounds in (("weeks", weeks, options.weeks),
                                 ("warmup_weeks", warmup_weeks, options.warmup_weeks),
                                 ("per_day", per_day, options.per_day),
                                 ("seed", seed, options.seed)):  # fmt: skip
        if isinstance(value, bool) or not isinstance(value, int):
            raise RecordError(said("must be a whole number, got %(got)s", got=repr(value)),
                              field=field)  # fmt: skip
        got, least, most = (format(n, ",") for n in (value, bounds.least, bounds.most))
        if value < bounds.least:
            raise RecordError(said("must be at least %(least)s, got %(got)s", least=least,
                                   got=got), field=field)  # fmt: skip
        if value > bounds.most:
            raise RecordError(
                said("must be at most %(most)s for a run started here (a larger replay: "
                     "quaywatch simulate), got %(got)s", most=most, got=got),
                field=field,
            )  # fmt: skip
    names = list(DEFAULTS.strategies if strategies is None else strategies)
    if not names:
        raise RecordError(said("choose at least one set-up"), field="strategies")
    for name in names:
        if name not in lab.STRATEGIES:
            raise RecordError(
                said("unknown set-up %(name)s; the set-ups are %(known)s", name=repr(name),
                     known=", ".join(lab.STRATEGIES)),
                field="strategies",
            )  # fmt: skip
        if names.count(name) > 1:
            raise RecordError(said("names %(name)s twice", name=repr(name)), field="strategies")
    if not isinstance(displacement, bool):
        raise RecordError(said("must be true or false, got %(got)s", got=repr(displacement)),
                          field="displacement")  # fmt: skip
    named = (title or "").strip() or None
    if named is not None and len(named) > MAX_TITLE:
        raise RecordError(said("must be at most %(n)s characters, got %(got)s", n=MAX_TITLE,
                               got=len(named)), field="title")  # fmt: skip
    parameters = LabParameters(weeks, warmup_weeks, per_day, seed, tuple(names), displacement)
    return parameters, named


def start_lab_run(
    store: Store,
    *,
    weeks: int = DEFAULTS.weeks,
    warmup_weeks: int = DEFAULTS.warmup_weeks,
    per_day: int = DEFAULTS.per_day,
    seed: int = DEFAULTS.seed,
    strategies: Sequence[str] | None = None,
    displacement: bool = DEFAULTS.displacement,
    title: str | None = None,
    actor: str,
    worker: LabWorker | None = None,
) -> LabRun:
    """Record a lab run of these parameters (``services.lab.simulate``'s; ``strategies``
    None: the default set-ups) as queued and wake ``worker`` (the application's) to run it;
    without a worker it waits for the next one that starts.

    Raises ``RecordError`` naming the field of a parameter out of its bounds (``lab_options``)
    or an unknown set-up, and ``ConflictError`` while ``MAX_WAITING`` runs wait already.

    >>> run = start_lab_run(store, weeks=4, strategies=["rules", "hybrid"], actor="ana")  # doctest: +SKIP
    """
    parameters, named = _checked(weeks, warmup_weeks, per_day, seed, strategies, displacement,
                                 title)  # fmt: skip
    return _queue(store, parameters, named, actor=actor, worker=worker)


def _queue(
    store: Store, parameters: LabParameters, named: str | None, *, actor: str,
    worker: LabWorker | None, details: dict[str, Any] | None = None,
) -> LabRun:  # fmt: skip
    """Queue a run in a free queue slot; ``ConflictError`` when none is free. Two submits
    that take the same slot at once: the unique slot refuses the second, which looks again."""
    r = tables.lab_runs
    for _attempt in range(MAX_WAITING + 1):
        run_id = str(uuid.uuid4())
        try:
            with store.transaction() as conn:
                taken = set(conn.execute(
                    select(r.c.queue_slot).where(r.c.queue_slot.is_not(None))
                ).scalars())  # fmt: skip
                free = [n for n in range(1, MAX_WAITING + 1) if n not in taken]
                if not free:
                    waiting = conn.execute(
                        select(func.count()).select_from(r)
                        .where(r.c.state == LabState.QUEUED.value)
                    ).scalar_one()  # fmt: skip
                    raise ConflictError(said(
                        "%(n)s lab runs are waiting already; start this one when one of them "
                        "has run", n=max(waiting, MAX_WAITING),
                    ))  # fmt: skip
                conn.execute(
                    insert(r).values(
                        run_id=run_id, title=named, parameters=parameters.canonical(),
                        state=LabState.QUEUED.value, created_at=utcnow(), created_by=actor,
                        strategies_done=0, queue_slot=free[0],
                    )
                )  # fmt: skip
                chain.append(conn, actor=actor, action="lab_run_queue", object_type=OBJECT_TYPE,
                             object_id=run_id,
                             details={"title": named, **asdict(parameters),
                                      **(details or {})})  # fmt: skip
                found = _read(conn, run_id)
        except WriteConflictError:
            continue  # another submit took the slot first: look again
        if worker is not None:
            worker.wake()
        return found
    raise ConflictError(said("the lab queue is busy; try again in a moment"))


def rerun_lab_run(
    store: Store, run_id: str, *, actor: str, worker: LabWorker | None = None
) -> LabRun:
    """Queue the parameters and title of ``run_id`` again, as a new run, once it failed or
    its worker is gone (a stale run is marked failed first). ``NotFoundError`` for an unknown
    run; ``ConflictError`` for a run waiting, running or done, or a full queue."""
    recover_lab_runs(store)
    with store.reading() as conn:
        run = _read(conn, run_id)
    if run.state is not LabState.FAILED:
        raise ConflictError(said(
            "lab run %(run)s is %(state)s: only a failed run is run again", run=run_id,
            state=run.state.value,
        ))  # fmt: skip
    return _queue(store, run.parameters, run.title, actor=actor, worker=worker,
                  details={"rerun_of": run_id})  # fmt: skip


_HEADER = [c for c in tables.lab_runs.c if c.name not in ("summary", "weekly", "seconds")]


def _last_sign(row: Any) -> datetime | None:
    """When the worker of a run last said it was alive: its heartbeat, else its start."""
    last: datetime | None = row["heartbeat_at"] or row["started_at"]
    return last


def _is_stale(row: Any, now: datetime) -> bool:
    if row["state"] != LabState.RUNNING.value:
        return False
    last = _last_sign(row)
    return last is None or last < now - STALE_AFTER


def _run_of(row: RowMapping, now: datetime | None = None) -> LabRun:
    given = json.loads(row["parameters"])
    parameters = LabParameters(**{**given, "strategies": tuple(given["strategies"])})
    return LabRun(
        run_id=row["run_id"], title=row["title"], parameters=parameters,
        state=LabState(row["state"]), created_at=row["created_at"],
        created_by=row["created_by"], started_at=row["started_at"],
        finished_at=row["finished_at"], strategies_done=row["strategies_done"],
        consignments=row["consignments"], replay_start=row["replay_start"], error=row["error"],
        owner=row["owner"], heartbeat_at=row["heartbeat_at"],
        stale=_is_stale(row, now or utcnow()),
    )  # fmt: skip


def _read(conn: Connection, run_id: str) -> LabRun:
    row = conn.execute(
        select(*_HEADER).where(tables.lab_runs.c.run_id == run_id)
    ).mappings().first()  # fmt: skip
    if row is None:
        raise NotFoundError(said("there is no lab run %(run)s", run=run_id))
    return _run_of(row)


def lab_runs(store: Store, *, limit: int = 50) -> list[LabRun]:
    """The newest ``limit`` lab runs, newest first, without their figures."""
    r = tables.lab_runs
    with store.reading() as conn:
        rows = conn.execute(
            select(*_HEADER).order_by(r.c.created_at.desc(), r.c.run_id).limit(limit)
        ).mappings()  # fmt: skip
        return [_run_of(row) for row in rows]


def lab_run(store: Store, run_id: str) -> LabRunReport:
    """One lab run with its figures; ``NotFoundError`` for an unknown id."""
    r = tables.lab_runs
    with store.reading() as conn:
        run = _read(conn, run_id)
        figures = conn.execute(
            select(r.c.summary, r.c.weekly, r.c.seconds).where(r.c.run_id == run_id)
        ).one()  # fmt: skip
    summary, weekly, seconds = (json.loads(text) if text else None for text in figures)
    return LabRunReport(run, summary or [], weekly or [], seconds or {})


def _finite(value: Any) -> Any:
    """``value`` with NaN and infinities as None: JSON has neither."""
    return None if isinstance(value, float) and not math.isfinite(value) else value


def _json(value: Any) -> str:
    if isinstance(value, list):
        value = [{k: _finite(v) for k, v in row.items()} for row in value]
    return json.dumps(value, separators=(",", ":"), allow_nan=False, default=str)


def _set(conn: Connection, run_id: str, *, expected: LabState, **values: Any) -> bool:
    """Change the run if it is still in the state ``expected``; whether it was."""
    r = tables.lab_runs
    changed = conn.execute(
        update(r).where(r.c.run_id == run_id, r.c.state == expected.value).values(**values)
    )
    return changed.rowcount == 1


def recover_lab_runs(store: Store, *, now: datetime | None = None) -> int:
    """Mark failed (``INTERRUPTED``) every stale run: running, but its worker's last heartbeat
    older than ``STALE_AFTER`` (its process stopped or lost the store); how many there were.
    A run another live worker runs is left alone, and so are queued runs."""
    r = tables.lab_runs
    moment = now or utcnow()
    with store.transaction() as conn:
        running = conn.execute(
            select(r.c.run_id, r.c.state, r.c.heartbeat_at, r.c.started_at)
            .where(r.c.state == LabState.RUNNING.value)
        ).mappings().all()  # fmt: skip
        left = [row["run_id"] for row in running if _is_stale(row, moment)]
        for run_id in left:
            _fail(conn, run_id, INTERRUPTED)
    return len(left)


def heartbeat(store: Store, run_id: str, owner: str, *, now: datetime | None = None) -> bool:
    """Say that ``owner`` still runs ``run_id``; False once it no longer does (the run
    finished, or another worker found it stale and failed it)."""
    r = tables.lab_runs
    with store.transaction() as conn:
        changed = conn.execute(
            update(r).where(r.c.run_id == run_id, r.c.state == LabState.RUNNING.value,
                            r.c.owner == owner)
            .values(heartbeat_at=now or utcnow())
        )  # fmt: skip
        return changed.rowcount == 1


def _fail(conn: Connection, run_id: str, error: str) -> None:
    if _set(conn, run_id, expected=LabState.RUNNING, state=LabState.FAILED.value, running=None,
            finished_at=utcnow(), error=error):  # fmt: skip
        chain.append(conn, actor=WORKER, action="lab_run_fail", object_type=OBJECT_TYPE,
                     object_id=run_id, details={"error": error})  # fmt: skip


def _claim(store: Store, owner: str) -> LabRun | None:
    """The oldest queued run, now marked running by ``owner`` (its slot in the queue freed);
    None when none waits or another process's run holds the store's one running place."""
    r = tables.lab_runs
    try:
        with store.transaction() as conn:
            run_id = conn.execute(
                select(r.c.run_id).where(r.c.state == LabState.QUEUED.value)
                .order_by(r.c.created_at, r.c.run_id).limit(1)
            ).scalar_one_or_none()  # fmt: skip
            moment = utcnow()
            if run_id is None or not _set(
                conn, run_id, expected=LabState.QUEUED, state=LabState.RUNNING.value,
                running=1, started_at=moment, owner=owner, heartbeat_at=moment, queue_slot=None,
            ):  # fmt: skip
                return None
            chain.append(conn, actor=WORKER, action="lab_run_start", object_type=OBJECT_TYPE,
                         object_id=run_id, details={"owner": owner})  # fmt: skip
            return _read(conn, run_id)
    except WriteConflictError:
        return None  # another process runs one (the unique ``running``): its worker goes on


def _finish(store: Store, run: LabRun, result: lab.LabResult) -> None:
    weekly = [
        {**row, "detected_share": row["detected"] / row["illicit"] if row["illicit"] else None}
        for row in result.weekly
    ]
    with store.transaction() as conn:
        if _set(conn, run.run_id, expected=LabState.RUNNING, state=LabState.DONE.value,
                running=None, finished_at=utcnow(), consignments=result.consignments,
                replay_start=result.start, strategies_done=len(result.strategies),
                summary=_json(result.summary), weekly=_json(weekly),
                seconds=_json(result.seconds)):  # fmt: skip
            chain.append(conn, actor=WORKER, action="lab_run_done", object_type=OBJECT_TYPE,
                         object_id=run.run_id,
                         details={"consignments": result.consignments,
                                  "seconds": round(sum(result.seconds.values()), 1)})  # fmt: skip


class _Stopped(Exception):
    """The application is stopping: the run in progress ends at its stage."""


class LabWorker:
    """The application's one thread that runs queued lab runs, oldest first (see the module).

    ``start`` marks the stale runs (their worker gone) as failed and starts the thread;
    ``wake`` makes it look at the queue now; ``close`` stops it (the run in progress at the
    end of its stage). ``owner`` names it in the runs it takes; while one runs, a second
    thread renews the run's heartbeat every ``heartbeat_s`` seconds.
    """

    def __init__(
        self, store: Store, *, poll_s: float = POLL_S, heartbeat_s: float = HEARTBEAT_S
    ) -> None:
        self._store = store
        self._poll_s = poll_s
        self._heartbeat_s = heartbeat_s
        self.owner = f"{socket.gethostname()[:80]}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self._changed = threading.Condition()
        self._woken = False
        self._closed = False
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        """Fail the stale runs a stopped process left running, then run the queued ones. A
        store that cannot answer (its schema behind: ``/ready`` says so) does not stop the
        application; the worker tries again as it looks at the queue."""
        try:
            recovered = recover_lab_runs(self._store)
        except QuaywatchError as exc:
            log.error("the policy lab cannot read its runs: %s", exc.message)
        else:
            if recovered:
                log.warning("%d lab run(s) were interrupted: their worker stopped", recovered)
        with self._changed:
            if self._thread is None:
                self._thread = threading.Thread(target=self._work, name="quaywatch-lab",
                                                daemon=True)  # fmt: skip
                self._thread.start()

    def wake(self) -> None:
        """Look at the queue now (a run was just queued)."""
        with self._changed:
            self._woken = True
            self._changed.notify()

    def close(self, wait_s: float = STOP_WAIT_S) -> None:
        """Stop: no new run starts; the one in progress stops at the end of its stage and is
        marked failed. Waits at most ``wait_s`` seconds for that (the thread is a daemon: a
        process that ends first leaves the run to the next start's recovery)."""
        with self._changed:
            self._closed = True
            self._changed.notify()
            thread = self._thread
        if thread is not None:
            thread.join(wait_s)

    def _work(self) -> None:
        failing = False
        while True:
            with self._changed:
                if self._closed:
                    return
                self._woken = False
            try:
                if recover_lab_runs(self._store):
                    log.warning("a lab run's worker stopped: the run is marked failed")
                run = _claim(self._store, self.owner)
                failing = False
            except Exception:  # the store failed: say so (once), and look again later
                if not failing:
                    log.exception("the policy lab could not read its queue")
                run, failing = None, True
            if run is not None:
                self._run(run)
                continue
            with self._changed:
                if not self._woken and not self._closed:
                    self._changed.wait(self._poll_s)

    def _progress(self, run: LabRun) -> Callable[[str], None]:
        """What ``simulate`` tells as each stage ends: once the traffic is generated, then
        after each set-up. The count of set-ups done goes to the store; a stopping
        application stops the run there."""
        stages = itertools.count()

        def said(_line: str) -> None:
            done = next(stages)
            if self._closed:
                raise _Stopped
            if done:
                with self._store.transaction() as conn:
                    _set(conn, run.run_id, expected=LabState.RUNNING, strategies_done=done)

        return said

    def _beat(self, run: LabRun, done: threading.Event) -> None:
        """Renew the run's heartbeat until ``done``; a failed write is logged and retried."""
        while not done.wait(self._heartbeat_s):
            try:
                if not heartbeat(self._store, run.run_id, self.owner):
                    return
            except Exception:  # the store hiccuped: the next beat may pass
                log.exception("lab run %s: its heartbeat could not be stored", run.run_id)

    def _run(self, run: LabRun) -> None:
        done = threading.Event()
        beating = threading.Thread(target=self._beat, args=(run, done), daemon=True,
                                   name="quaywatch-lab-heartbeat")  # fmt: skip
        beating.start()
        try:
            self._replay(run)
        finally:
            done.set()
            beating.join(5)

    def _replay(self, run: LabRun) -> None:
        p = run.parameters
        error: str
        try:
            result = lab.simulate(
                weeks=p.weeks, warmup_weeks=p.warmup_weeks, per_day=p.per_day, seed=p.seed,
                strategies=p.strategies, displacement=p.displacement,
                progress=self._progress(run),
            )  # fmt: skip
            _finish(self._store, run, result)
            return
        except _Stopped:
            error = STOPPED
        except QuaywatchError as exc:
            error = exc.message
        except Exception as exc:  # a bug: logged whole, and the run says what it was
            log.exception("lab run %s failed", run.run_id)
            error = f"the replay failed: {type(exc).__name__}: {exc}"[:2000]
        try:
            with self._store.transaction() as conn:
                _fail(conn, run.run_id, error)
        except Exception:  # the store is gone (the application stopped): the next start recovers
            log.exception("lab run %s: its failure could not be stored", run.run_id)
