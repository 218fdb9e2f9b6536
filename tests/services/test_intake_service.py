"""services.intake on both backends: files and JSON records in, the quarantine worked."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from quaywatch.domain.vocabulary import RecordKind
from quaywatch.errors import InputError, NotFoundError
from quaywatch.services import intake
from quaywatch.services.intake import FieldProblem
from quaywatch.store.store import Store
from quaywatch.synth.portday import PortDay

EXAMPLES = Path(__file__).parents[2] / "examples"
ACTOR = "tester"


def example_records() -> list[dict[str, Any]]:
    """The example file's records that are JSON (it also holds a broken line, on purpose)."""
    found = []
    for line in (EXAMPLES / "consignments.jsonl").read_text().splitlines():
        try:
            found.append(json.loads(line))
        except json.JSONDecodeError:
            continue
    return found


def with_bad_hs6(record: dict[str, Any]) -> dict[str, Any]:
    items = [{**record["goods_items"][0], "hs6": "999999"}, *record["goods_items"][1:]]
    return {**record, "goods_items": items}


def test_ingest_files_imports_each_file_and_reports_progress(
    store: Store, port_day: PortDay
) -> None:
    seen: list[tuple[str, int, int]] = []
    summaries = intake.ingest_files(
        store, [port_day.consignments, port_day.events], actor=ACTOR, batch_size=40,
        progress=lambda path, done, total: seen.append((path.name, done, total)),
    )  # fmt: skip
    assert [s.kind for s in summaries] == [RecordKind.CONSIGNMENTS, RecordKind.EVENTS]
    assert all(s.balanced for s in summaries)
    assert summaries[0].quarantined > 0  # the port day's noisy feed
    assert {name for name, _, _ in seen} == {port_day.consignments.name, port_day.events.name}
    counts = intake.store_counts(store)
    assert counts["consignments"] == summaries[0].new and counts["import_batches"] == 2
    assert counts["quarantine_open"] == summaries[0].quarantined + summaries[1].quarantined


@pytest.mark.parametrize("batch_size", [0, -5])
def test_batch_size_must_be_positive(store: Store, port_day: PortDay, batch_size: int) -> None:
    with pytest.raises(InputError, match=f"batch_size must be at least 1, got {batch_size}"):
        intake.ingest_files(store, [port_day.consignments], actor=ACTOR, batch_size=batch_size)
    with pytest.raises(InputError, match="batch_size"):
        intake.ingest_records(store, [], kind=RecordKind.CONSIGNMENTS, source="api",
                              actor=ACTOR, batch_size=batch_size)  # fmt: skip
    assert intake.store_counts(store)["import_batches"] == 0


def test_ingest_records_stores_valid_records_once(store: Store) -> None:
    records = example_records()
    first = intake.ingest_records(
        store, records, kind=RecordKind.CONSIGNMENTS, source="api:consignments", actor=ACTOR
    )
    assert (first.source, first.read, first.new, first.quarantined) == (
        "api:consignments", len(records), len(records), 0,
    )  # fmt: skip
    assert intake.store_counts(store)["consignments"] == len(records)
    again = intake.ingest_records(
        store, records, kind=RecordKind.CONSIGNMENTS, source="api:consignments", actor=ACTOR,
        batch_size=1,
    )  # fmt: skip
    assert (again.new, again.unchanged, again.quarantined) == (0, len(records), 0)
    assert intake.store_counts(store)["import_batches"] == 2


def test_ingest_records_quarantines_as_the_file_path_does(store: Store, tmp_path: Path) -> None:
    good, *_ = example_records()
    bad = with_bad_hs6(good)
    as_file = tmp_path / "bad.jsonl"
    as_file.write_text(json.dumps(bad, ensure_ascii=False) + "\n", encoding="utf-8")
    (from_file,) = intake.ingest_files(store, [as_file], actor=ACTOR)
    assert from_file.quarantined == 1

    posted = intake.ingest_records(
        store, [bad, ["not", "an", "object"]], kind=RecordKind.CONSIGNMENTS, source="api",
        actor=ACTOR,
    )  # fmt: skip
    assert (posted.read, posted.new, posted.quarantined) == (2, 0, 2)
    by_location = {r.location: r for r in posted.rejected}
    same, not_object = by_location["line 1"], by_location["line 2"]
    assert (same.field, same.reason) == (from_file.rejected[0].field, from_file.rejected[0].reason)
    assert "HS nomenclature" in same.reason
    assert not_object.reason == "is not a JSON object"
    assert posted.already_quarantined == 1  # the same record, already waiting from the file
    entries = intake.list_quarantine(store)
    assert [e.source for e in entries] == ["api", str(as_file)]


def test_ingest_records_refuses_what_is_not_json(store: Store) -> None:
    with pytest.raises(InputError, match="record 2 is not JSON"):
        intake.ingest_records(store, [{}, {"when": {1, 2}}], kind=RecordKind.OUTCOMES,
                              source="api", actor=ACTOR)  # fmt: skip
    with pytest.raises(InputError, match="source must name"):
        intake.ingest_records(store, [{}], kind=RecordKind.OUTCOMES, source=" ", actor=ACTOR)
    assert intake.store_counts(store)["import_batches"] == 0


def test_quarantine_list_get_and_retry(store: Store) -> None:
    good, *_ = example_records()
    intake.ingest_records(store, [with_bad_hs6(good)], kind=RecordKind.CONSIGNMENTS,
                          source="api", actor=ACTOR)  # fmt: skip
    (entry,) = intake.list_quarantine(store, status="open", limit=5)
    shown = intake.get_quarantine(store, entry.quarantine_id)
    assert shown == entry and shown.status == "open" and shown.kind == "consignments"
    assert shown.field == "hs6" and FieldProblem("hs6", shown.reason) in shown.errors
    assert json.loads(shown.raw)["consignment_id"] == good["consignment_id"]

    still = intake.retry_quarantine(store, [entry.quarantine_id], actor=ACTOR)
    assert still.failed == 1 and "HS nomenclature" in (still.outcomes[0].reason or "")
    fixed = intake.retry_quarantine(
        store, [entry.quarantine_id], record_text=json.dumps(good), actor=ACTOR
    )
    assert fixed.failed == 0 and fixed.outcomes[0].stored
    assert intake.list_quarantine(store) == []
    (resolved,) = intake.list_quarantine(store, status="all")
    assert resolved.status == "resolved" and resolved.resolved_at is not None
    assert intake.store_counts(store)["consignments"] == 1


def test_quarantine_errors_name_the_field(store: Store) -> None:
    with pytest.raises(InputError, match="status must be one of open, resolved, all"):
        intake.list_quarantine(store, status="closed")
    with pytest.raises(InputError, match="limit must be at least 1"):
        intake.list_quarantine(store, limit=0)
    with pytest.raises(NotFoundError, match="no quarantine entry 999"):
        intake.get_quarantine(store, 999)
    with pytest.raises(NotFoundError, match="no quarantine entry 999"):
        intake.retry_quarantine(store, [999], actor=ACTOR)
    with pytest.raises(InputError, match="corrects exactly one quarantine entry, got 2"):
        intake.retry_quarantine(store, [1, 2], record_text="{}", actor=ACTOR)
    with pytest.raises(InputError, match="quarantine_ids"):
        intake.retry_quarantine(store, [], actor=ACTOR)


def test_a_bad_file_among_several_is_reported_and_the_others_imported(
    store: Store, port_day: PortDay, tmp_path: Path
) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_text("consignment_id,item_sequence,shoe_size\n")
    with pytest.raises(intake.FilesNotImportedError) as raised:
        intake.ingest_files(store, [port_day.consignments, bad, port_day.events], actor=ACTOR)
    failure = raised.value
    assert [s.kind for s in failure.imported] == [RecordKind.CONSIGNMENTS, RecordKind.EVENTS]
    (failed,) = failure.failed
    assert failed.source == str(bad) and failed.attempted
    assert "unknown columns shoe_size" in failed.reason and failure.exit_code == 2
    assert failure.message.startswith("1 of 3 files not imported: ")
    counts = intake.store_counts(store)
    assert counts["import_batches"] == 2
    assert counts["consignments"] == failure.imported[0].new


def test_a_single_bad_file_fails_with_its_own_message(store: Store, tmp_path: Path) -> None:
    with pytest.raises(intake.FilesNotImportedError, match="no such file") as raised:
        intake.ingest_files(store, [tmp_path / "missing.csv"], actor=ACTOR)
    assert raised.value.imported == [] and raised.value.exit_code == 2


def test_a_correction_under_another_record_id_is_refused(store: Store) -> None:
    good, other, *_ = example_records()
    intake.ingest_records(store, [with_bad_hs6(good)], kind=RecordKind.CONSIGNMENTS,
                          source="api", actor=ACTOR)  # fmt: skip
    (entry,) = intake.list_quarantine(store)
    with pytest.raises(InputError, match="a correction keeps the record's id"):
        intake.retry_quarantine(
            store, [entry.quarantine_id], record_text=json.dumps(other), actor=ACTOR
        )
    assert intake.get_quarantine(store, entry.quarantine_id).status == "open"
    assert intake.store_counts(store)["consignments"] == 0  # the other record was not stored
    fixed = intake.retry_quarantine(
        store, [entry.quarantine_id], record_text=json.dumps(good), actor=ACTOR
    )
    assert fixed.outcomes[0].stored


def test_a_correction_holding_two_records_is_refused(store: Store) -> None:
    with pytest.raises(intake.FilesNotImportedError):  # the example holds a broken record
        intake.ingest_files(store, [EXAMPLES / "consignments.csv", EXAMPLES / "none"],
                            actor=ACTOR)  # fmt: skip
    (entry,) = intake.list_quarantine(store)
    rows = json.loads(entry.raw)
    second = [row | {"consignment_id": "261102-BEANR-0000777"} for row in rows]
    with pytest.raises(InputError, match="a corrected record is one record, this one holds 2"):
        intake.retry_quarantine(
            store, [entry.quarantine_id], record_text=json.dumps(rows + second), actor=ACTOR
        )
    assert intake.get_quarantine(store, entry.quarantine_id).status == "open"
