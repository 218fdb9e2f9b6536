"""The filing desk behind `POST /api/v1/consignments` (`services.filing`): consignments filed
one at a time by many callers at once are stored and assessed in shared batches, and each
caller hears about its own consignment only; on SQLite and PostgreSQL."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from api_support import consignment

from quaywatch.errors import ModelError
from quaywatch.risk.bundle import RiskModel
from quaywatch.services.assessments import current_model
from quaywatch.services.filing import Filed, FilingDesk
from quaywatch.services.intake import store_counts
from quaywatch.store.store import Store

SOURCE = "api:consignments:pcs"


def _gated(models: Path) -> tuple[threading.Event, Any]:
    """A model source whose first call waits for the gate: the first batch is held while
    the other callers queue up behind it."""
    model = current_model(models)
    gate = threading.Event()
    calls = []

    def get() -> RiskModel | None:
        calls.append(1)
        if len(calls) == 1:
            assert gate.wait(timeout=60)
        return model

    return gate, get


def _wrong_check_digit(record: dict[str, Any]) -> dict[str, Any]:
    number = record["containers"][0]["number"]
    wrong = number[:-1] + str((int(number[-1]) + 1) % 10)
    record["containers"][0]["number"] = record["goods_items"][0]["container_number"] = wrong
    return record


def test_callers_at_once_share_batches_and_each_hears_about_its_own(
    store: Store, models: Path
) -> None:
    model = current_model(models)
    desk = FilingDesk(store, lambda: model)
    stored_before = [consignment(n) for n in range(5)]
    for record in stored_before:
        assert desk.file(record, actor="pcs", source=SOURCE).status == "new"
    desk.close()

    gate, get = _gated(models)
    desk = FilingDesk(store, get)
    fresh = [consignment(100 + n) for n in range(30)]
    twice = consignment(200)
    bad = [_wrong_check_digit(consignment(300 + n)) for n in range(3)]
    records = [fresh[0], *fresh[1:], *stored_before, twice, twice, *bad]
    with ThreadPoolExecutor(len(records)) as pool:
        first = pool.submit(desk.file, records[0], actor="pcs", source=SOURCE)
        others = [pool.submit(desk.file, r, actor="pcs", source=SOURCE) for r in records[1:]]
        time.sleep(1.0)  # the others queue behind the held first batch
        gate.set()
        answers: list[Filed] = [first.result(), *(f.result() for f in others)]
    desk.close()

    for record, answer in zip(records, answers, strict=True):
        assert answer.consignment_id == record["consignment_id"]
    by_status = {r["consignment_id"]: a.status for r, a in zip(records, answers, strict=True)}
    assert all(by_status[r["consignment_id"]] == "new" for r in fresh)
    assert all(by_status[r["consignment_id"]] == "unchanged" for r in stored_before)
    assert sorted(a.status for r, a in zip(records, answers, strict=True) if r is twice) == [
        "new", "unchanged",
    ]  # fmt: skip
    for answer in answers:
        if answer.status == "rejected":
            assert answer.rejected is not None and answer.rejected.index == 0
            assert answer.rejected.quarantine_id is not None
            assert any("container" in f for f, _ in answer.rejected.errors)
            assert answer.assessment is None
        else:
            assert answer.assessment is not None
            assert answer.assessment.consignment_id == answer.consignment_id
            assert answer.assessment.explained and answer.assessment.reasons
    assert [a.status for a in answers[-3:]] == ["rejected"] * 3
    # Shared batches: far fewer imports than callers.
    assert len({a.batch_id for a in answers}) <= len(records) // 4
    counts = store_counts(store)
    assert counts["consignments"] == len(fresh) + len(stored_before) + 1
    assert counts["quarantine_open"] == len(bad)


def test_an_error_of_the_batch_reaches_every_caller_and_what_was_stored_stays(
    store: Store,
) -> None:
    def broken() -> RiskModel | None:
        raise ModelError("the current model cannot be loaded")

    desk = FilingDesk(store, broken)
    records = [consignment(400 + n) for n in range(6)]
    with ThreadPoolExecutor(len(records)) as pool:
        found = [pool.submit(desk.file, r, actor="pcs", source=SOURCE) for r in records]
        for future in found:
            with pytest.raises(ModelError, match="cannot be loaded"):
                future.result()
    desk.close()
    assert store_counts(store)["consignments"] == len(records)


def test_without_a_model_consignments_are_stored_unassessed_and_a_closed_desk_refuses(
    store: Store,
) -> None:
    desk = FilingDesk(store, lambda: None)
    answer = desk.file(consignment(500), actor="pcs", source=SOURCE)
    assert answer.status == "new" and answer.assessment is None
    desk.close()
    with pytest.raises(Exception, match="stopping"):
        desk.file(consignment(501), actor="pcs", source=SOURCE)


def test_a_caller_that_gives_up_does_not_stop_the_desk(store: Store) -> None:
    """A request cancelled while it waits (a client gone, a timeout) is dropped from its batch;
    the desk goes on filing for the others."""
    gate = threading.Event()
    calls: list[int] = []

    def held() -> RiskModel | None:
        calls.append(1)
        if len(calls) == 1:
            assert gate.wait(timeout=60)
        return None

    desk = FilingDesk(store, held)
    first = desk.submit(consignment(600), actor="pcs", source=SOURCE)
    time.sleep(0.5)  # the first batch is held at its model
    gone = desk.submit(consignment(601), actor="pcs", source=SOURCE)
    kept = desk.submit(consignment(602), actor="pcs", source=SOURCE)
    assert gone.cancel()
    gate.set()
    assert first.result(timeout=60).status == "new"
    assert kept.result(timeout=60).status == "new"
    assert desk.file(consignment(603), actor="pcs", source=SOURCE).status == "new"
    desk.close()
    assert store_counts(store)["consignments"] == 3  # the cancelled one was never filed
