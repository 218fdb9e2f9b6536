from __future__ import annotations

import json
from pathlib import Path

import polars as pl

from quaywatch.intake import quarantine
from quaywatch.intake.pipeline import ingest_file
from quaywatch.store.store import Store
from quaywatch.synth.portday import PortDay


def test_retry_with_a_corrected_record_stores_it(
    store: Store, port_day: PortDay, clean_day: PortDay
) -> None:
    ingest_file(store, port_day.consignments)
    entry = quarantine.list_entries(store)[0]
    rows = json.loads(entry.raw)
    still_bad = quarantine.retry(store, entry.quarantine_id)
    assert not still_bad.stored
    assert quarantine.get_entry(store, entry.quarantine_id).status == "open"

    cid = entry.record_id.split(" v")[0]
    intended = pl.read_csv(clean_day.consignments, infer_schema=False).filter(
        pl.col("consignment_id") == cid
    )
    fixed = [
        row | {entry.field: good[entry.field]}
        for row, good in zip(rows, intended.iter_rows(named=True), strict=True)
    ]
    result = quarantine.retry(store, entry.quarantine_id, record=json.dumps(fixed))
    assert result.stored, result.reason
    assert quarantine.get_entry(store, entry.quarantine_id).status == "resolved"


def test_fixing_the_file_and_reimporting_resolves_the_entry(
    store: Store, port_day: PortDay, clean_day: PortDay, tmp_path: Path
) -> None:
    first = ingest_file(store, port_day.consignments)
    rejected = first.rejected[0]
    cid = rejected.record_id.split(" v")[0]
    fixed = pl.read_csv(clean_day.consignments, infer_schema=False).filter(
        pl.col("consignment_id") == cid
    )
    path = tmp_path / "fixed.csv"
    fixed.write_csv(path)
    again = ingest_file(store, path)
    assert (again.new, again.resolved) == (1, 1)
    open_ids = {e.record_id for e in quarantine.list_entries(store)}
    assert rejected.record_id not in open_ids


def test_a_reason_filter_folds_ascii_letters_only() -> None:
    # Decided by quaywatch, not by the store: PostgreSQL's lower() folds "İ" to "i", SQLite's
    # does not, and their LIKE differ on ASCII case.
    assert quarantine.holds("UN/LOCODE NLQWX is not a known port", "nlqwx IS NOT")
    assert not quarantine.holds("port 'İSTANBUL' is unknown", "istanbul")
    assert quarantine.holds("port 'ÅBO' is unknown", "'ÅBO'")
    assert not quarantine.holds("port 'åbo' is unknown", "'ÅBO'")
