"""Consignments filed one at a time by many callers at once, stored and assessed together.

A consignment stored and assessed alone costs nearly what a hundred together cost: intake and
the risk engine work on columns, and most of their time is fixed per call (a transaction, the
party graph; the anomaly baselines are learnt once a day and kept, ``risk.anomaly.daily``).
Measured on 4,000 stored consignments, one takes about 190 ms, a hundred about 205 ms. ``FilingDesk`` lets concurrent callers share that cost:

- ``file`` queues one consignment and waits for its own answer (``submit`` returns the answer
  to come, for callers that await it);
- one worker thread takes what is queued (up to ``max_batch``, all from the same actor and
  source, never two versions of one consignment), stores it as one submission
  (``intake.submit_records``: the checks, quarantine and idempotency of a file), assesses what
  was stored (``assessments.assess_consignments``) and hands each caller what became of its
  own consignment.

An idle desk runs a lone consignment at once: nobody waits for company. Under load, the
consignments that arrive while a batch runs form the next one, so batches grow with the load
and so does throughput; a caller waits for at most the batch in progress and its own.

Each batch is one import (one ``batch_id``, one audit event, its actor) and one scoring run.
A consignment is assessed with what the store holds when its batch is assessed, the other
consignments of the batch included, as a scoring run at that moment would assess it; the
anomaly baselines are those of the start of the day, against which each consignment is judged
alone, so company in a batch does not change its anomaly hits.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Literal

from quaywatch.domain.vocabulary import RecordKind
from quaywatch.errors import InputError, StoreError
from quaywatch.risk.bundle import RiskModel
from quaywatch.risk.combine import SATURATION_PCT
from quaywatch.services import intake
from quaywatch.services.assessments import Assessment, assess_consignments
from quaywatch.store import reads
from quaywatch.store.store import Store

#: Consignments one batch holds at most: every quarantined one of a batch is then listed.
MAX_BATCH = intake.MAX_REJECTED_SHOWN

Status = Literal["new", "unchanged", "rejected"]


@dataclass(frozen=True, slots=True)
class Filed:
    """What became of one filed consignment.

    ``status``: ``new`` (stored, or stored as a new version), ``unchanged`` (stored already as
    it is) or ``rejected`` (quarantined; ``rejected`` says why, with ``index`` 0);
    ``assessment``: its assessment when it is stored and a model is current; ``batch_id``: the
    import of its batch.
    """

    consignment_id: str | None
    status: Status
    rejected: intake.RejectedRecord | None
    assessment: Assessment | None
    batch_id: str


@dataclass(slots=True)
class _Waiting:
    record: dict[str, Any]
    actor: str
    source: str
    answer: Future[Filed] = field(default_factory=Future)

    @property
    def consignment_id(self) -> str | None:
        found = self.record.get("consignment_id")
        return found if isinstance(found, str) else None


class FilingDesk:
    """Files consignments for concurrent callers in shared batches (see the module).

    ``models`` gives the model to assess with, asked once per batch (None: store without
    assessing), ``saturation_pct`` the saturation threshold scoring applies
    (``services.assessments.assess_consignments``). ``close`` lets the batch in progress and those queued finish, then stops.
    """

    def __init__(
        self,
        store: Store,
        models: Callable[[], RiskModel | None],
        *,
        max_batch: int = MAX_BATCH,
        saturation_pct: float = SATURATION_PCT,
        key_dir: Path | None = None,
    ) -> None:
        if not 1 <= max_batch <= MAX_BATCH:
            raise ValueError(f"max_batch must be between 1 and {MAX_BATCH}, got {max_batch}")
        self._store = store
        self._models = models
        self._saturation_pct = saturation_pct
        self._key_dir = key_dir
        self._max_batch = max_batch
        self._queue: list[_Waiting] = []
        self._changed = threading.Condition()
        self._worker: threading.Thread | None = None
        self._closed = False

    def file(self, record: dict[str, Any], *, actor: str, source: str) -> Filed:
        """Store and assess one consignment (a JSON object as a JSON Lines file holds it);
        return what became of it. Errors of its batch (the store unreachable, the model
        unusable) are raised to every caller of the batch."""
        return self.submit(record, actor=actor, source=source).result()

    def submit(self, record: dict[str, Any], *, actor: str, source: str) -> Future[Filed]:
        """``file`` without waiting: the answer to come (what an asynchronous caller awaits,
        holding no thread meanwhile)."""
        intake.json_line(record, 1)  # not JSON: this caller's error, not its batch's
        if not source.strip():
            raise InputError("source must name where the records come from")
        waiting = _Waiting(record, actor, source)
        with self._changed:
            if self._closed:
                raise StoreError("the service is stopping: file the consignment again")
            self._queue.append(waiting)
            if self._worker is None or not self._worker.is_alive():
                self._worker = threading.Thread(
                    target=self._work, name="quaywatch-filing", daemon=True
                )
                self._worker.start()
            self._changed.notify()
        return waiting.answer

    def close(self) -> None:
        """Finish what is queued, then stop the worker; ``file`` refuses from now on."""
        with self._changed:
            self._closed = True
            self._changed.notify()
            worker = self._worker
        if worker is not None:
            worker.join()

    def _work(self) -> None:
        while True:
            with self._changed:
                while not self._queue and not self._closed:
                    self._changed.wait()
                if not self._queue:
                    return
                batch = self._take()
            if not batch:
                continue
            try:
                answers = self._file_together(batch)
            except Exception as exc:  # every caller of the batch hears what went wrong
                for waiting in batch:
                    waiting.answer.set_exception(exc)
                continue
            for waiting, answer in zip(batch, answers, strict=True):
                waiting.answer.set_result(answer)

    def _take(self) -> list[_Waiting]:
        """The next batch, oldest first: the first caller's actor and source, one version of
        each consignment (a second waits for the next batch, so that it is compared with the
        first as stored)."""
        first = self._queue[0]
        taken: list[_Waiting] = []
        left: list[_Waiting] = []
        ids: set[str] = set()
        for waiting in self._queue:
            if waiting.answer.cancelled():
                continue  # the caller gave up (its request was cancelled): nothing to file
            cid = waiting.consignment_id
            fits = (
                len(taken) < self._max_batch
                and (waiting.actor, waiting.source) == (first.actor, first.source)
                and cid not in ids
            )
            if not fits:
                left.append(waiting)
                continue
            # From here the caller's answer can no longer be cancelled (False: it just was).
            if waiting.answer.set_running_or_notify_cancel():
                taken.append(waiting)
                if cid is not None:
                    ids.add(cid)
        self._queue[:] = left
        return taken

    def _file_together(self, batch: list[_Waiting]) -> list[Filed]:
        first = batch[0]
        found = intake.submit_records(
            self._store, [w.record for w in batch], kind=RecordKind.CONSIGNMENTS,
            source=first.source, actor=first.actor,
        )  # fmt: skip
        batch_id = found.summary.batch_id
        rejected = {r.index: r for r in found.rejected}
        stored = list(found.stored_ids)
        assessed: dict[str, Assessment] = {}
        model = self._models() if stored else None
        if model is not None:
            assessed = {
                a.consignment_id: a
                for a in assess_consignments(
                    self._store,
                    stored,
                    model=model,
                    actor=first.actor,
                    saturation_pct=self._saturation_pct,
                    key_dir=self._key_dir,
                )  # fmt: skip
            }
        new = set(reads.stored_by(self._store, batch_id, stored)) if stored else set()
        answers = []
        for index, waiting in enumerate(batch):
            cid = waiting.consignment_id
            if index in rejected:
                why = replace(rejected[index], index=0)
                answers.append(Filed(cid, "rejected", why, None, batch_id))
                continue
            if cid is None:  # intake stores no consignment without its id
                raise RuntimeError(f"record {index} was stored without a consignment_id")
            status: Status = "new" if cid in new else "unchanged"
            answers.append(Filed(cid, status, None, assessed.get(cid), batch_id))
        return answers
