from __future__ import annotations

import json
from pathlib import Path

import polars as pl
import pytest
from sqlalchemy import func, select

from quaywatch.errors import InputError, StoreError
from quaywatch.intake.pipeline import ingest_file
from quaywatch.store import tables
from quaywatch.store.store import Store
from quaywatch.synth.portday import PortDay

DATA_TABLES = [
    "consignments",
    "goods_items",
    "containers",
    "seals",
    "parties",
    "events",
    "quarantine",
]


def snapshot(store: Store) -> dict[str, int]:
    with store.reading() as conn:
        return {
            name: conn.execute(
                select(func.count()).select_from(tables.metadata.tables[name])
            ).scalar_one()
            for name in DATA_TABLES
        }


def test_port_day_is_stored_or_quarantined_and_reimport_changes_nothing(
    store: Store, port_day: PortDay
) -> None:
    first = ingest_file(store, port_day.consignments, batch_size=64)
    assert first.read == port_day.count
    assert first.balanced and first.quarantined > 0 and first.new == first.read - first.quarantined
    events = ingest_file(store, port_day.events)
    assert events.balanced and events.new > 0
    before = snapshot(store)
    assert before["consignments"] == first.new

    again = ingest_file(store, port_day.consignments, batch_size=1000)
    assert (again.new, again.unchanged, again.quarantined) == (0, first.new, first.quarantined)
    assert again.already_quarantined == first.quarantined
    events_again = ingest_file(store, port_day.events)
    assert events_again.new == 0 and events_again.unchanged == events.new
    assert snapshot(store) == before


def test_chunk_size_does_not_change_the_result(tmp_path: Path, port_day: PortDay) -> None:
    results = []
    for size in (2, 7, 10_000):
        store = Store.open(f"sqlite:///{tmp_path / f'{size}.db'}")
        summary = ingest_file(store, port_day.consignments, batch_size=size)
        with store.reading() as conn:
            rows = conn.execute(
                select(tables.goods_items).order_by(*tables.goods_items.primary_key)
            ).all()
        results.append((summary.new, summary.quarantined, rows))
    assert results[0] == results[1] == results[2]


def test_formats_hold_the_same_content(store: Store, port_day: PortDay, tmp_path: Path) -> None:
    frame = pl.read_csv(port_day.consignments, infer_schema=False)
    parquet = tmp_path / "day.parquet"
    frame.write_parquet(parquet)
    first = ingest_file(store, port_day.consignments)
    from_parquet = ingest_file(store, parquet)
    assert (from_parquet.new, from_parquet.unchanged) == (0, first.new)

    jsonl = tmp_path / "day.jsonl"
    with store.reading() as conn:
        ids = [r[0] for r in conn.execute(select(tables.consignments.c.consignment_id).limit(5))]
    lines = [json.dumps(_nested(frame.filter(pl.col("consignment_id") == cid))) for cid in ids]
    jsonl.write_text("\n".join(lines) + "\n")
    from_jsonl = ingest_file(store, jsonl)
    assert (from_jsonl.new, from_jsonl.unchanged, from_jsonl.quarantined) == (0, 5, 0)


def _nested(rows: pl.DataFrame) -> dict:
    r = rows.row(0, named=True)

    def party(role: str) -> dict:
        fields = ("name", "address", "country", "eori", "aeo", "phone", "email")
        return {k: r[f"{role}_{k}"] for k in fields}

    return {
        "consignment_id": r["consignment_id"], "version": int(r["version"]),
        "transport_document": r["transport_document"], "lodged_at": r["lodged_at"],
        "declarant": party("declarant"), "consignor": party("consignor"), "consignee": party("consignee"),
        "carrier_scac": r["carrier_scac"], "vessel": {"imo": r["vessel_imo"], "name": r["vessel_name"]},
        "voyage": r["voyage"],
        "route": {"port_of_loading": r["port_of_loading"],
                  "transshipment_ports": [p for p in (r["transshipment_ports"] or "").split("|") if p],
                  "port_of_discharge": r["port_of_discharge"], "place_of_delivery": r["place_of_delivery"]},
        "eta": r["eta"],
        "goods_items": [
            {"sequence": int(i["item_sequence"]), "hs6": i["hs6"], "description": i["description"],
             "packages": int(i["packages"]), "package_type": i["package_type"],
             "gross_mass_kg": float(i["gross_mass_kg"]), "value": float(i["value"]),
             "currency": i["currency"], "origin_country": i["origin_country"],
             "container_number": i["container_number"]}
            for i in rows.iter_rows(named=True)
        ],
        "containers": [
            {"number": i["container_number"], "size_type": i["container_size_type"], "status": i["container_status"],
             "seals": [dict(zip(("source", "type", "number"), s.split(":"), strict=True)) for s in i["seals"].split("|")]}
            for i in rows.iter_rows(named=True)
        ],
    }  # fmt: skip


def test_intake_and_the_domain_model_agree_on_every_record(store: Store, port_day: PortDay) -> None:
    from pydantic import ValidationError

    from quaywatch.domain.models import Consignment

    summary = ingest_file(store, port_day.consignments)
    quarantined = {r.record_id.split(" v")[0] for r in summary.rejected}
    frame = pl.read_csv(port_day.consignments, infer_schema=False)
    verdicts = {}
    for (cid,), rows in frame.group_by("consignment_id", maintain_order=True):
        try:
            Consignment.model_validate(_nested(rows))
            verdicts[cid] = True
        except ValidationError:
            verdicts[cid] = False
    assert {cid for cid, ok in verdicts.items() if not ok} == quarantined
    assert len(quarantined) == summary.quarantined > 0


def test_amendment_is_a_new_version_and_a_silent_change_is_quarantined(
    store: Store, clean_day: PortDay, tmp_path: Path
) -> None:
    frame = pl.read_csv(clean_day.consignments, infer_schema=False)
    one = frame.filter(pl.col("consignment_id") == frame["consignment_id"][0])
    original = tmp_path / "one.csv"
    one.write_csv(original)
    assert ingest_file(store, original).new == 1
    amended = tmp_path / "amended.csv"
    one.with_columns(pl.lit("2").alias("version"), pl.lit("12345.0").alias("value")).write_csv(
        amended
    )
    assert ingest_file(store, amended).new == 1
    silent = tmp_path / "silent.csv"
    one.with_columns(pl.lit("99.0").alias("value")).write_csv(silent)
    result = ingest_file(store, silent)
    assert (result.new, result.quarantined) == (0, 1)
    assert result.rejected[0].field == "version" and "amendment" in result.rejected[0].reason
    with store.reading() as conn:
        versions = (
            conn.execute(select(tables.consignments.c.version).order_by("version")).scalars().all()
        )
    assert versions == [1, 2]


def test_a_failure_mid_import_leaves_nothing(
    store: Store, port_day: PortDay, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls = {"n": 0}
    real = Store.bulk_insert

    def failing(self: Store, conn, table, frame) -> None:  # type: ignore[no-untyped-def]
        calls["n"] += 1
        if calls["n"] == 12:  # well into the third chunk
            raise StoreError("disk full (injected)")
        real(self, conn, table, frame)

    before = snapshot(store)
    monkeypatch.setattr(Store, "bulk_insert", failing)
    with pytest.raises(StoreError, match="injected"):
        ingest_file(store, port_day.consignments, batch_size=40)
    assert calls["n"] == 12
    assert snapshot(store) == before
    with store.reading() as conn:
        assert (
            conn.execute(select(func.count()).select_from(tables.import_batches)).scalar_one() == 0
        )
        assert conn.execute(select(func.count()).select_from(tables.audit_events)).scalar_one() == 0


def test_malformed_csv_rows_and_json_lines_are_quarantined_with_location(
    store: Store, tmp_path: Path, port_day: PortDay
) -> None:
    lines = port_day.consignments.read_text().splitlines()
    broken = tmp_path / "broken.csv"
    broken.write_text("\n".join([lines[0], "a,b,c", *lines[1:4]]) + "\n")
    result = ingest_file(store, broken)
    assert result.balanced
    bad = [r for r in result.rejected if r.location == "line 2"]
    assert bad and "fields where the header has" in bad[0].reason

    events = tmp_path / "events.jsonl"
    good = json.loads(port_day.events.read_text())[0]
    events.write_text(
        json.dumps(good)
        + "\n{not json\n"
        + json.dumps({**good, "eventID": "x2", "eventClassifierCode": "NOW"})
        + "\n"
    )
    result = ingest_file(store, events)
    assert (result.read, result.new, result.quarantined) == (3, 1, 2)
    reasons = {r.location: (r.field, r.reason) for r in result.rejected}
    assert "not valid JSON" in reasons["line 2"][1]
    assert reasons["line 3"][0] == "classifier"


def test_unusable_files_are_refused_whole(store: Store, tmp_path: Path) -> None:
    odd = tmp_path / "x.csv"
    odd.write_text("consignment_id,item_sequence,colour\n1,1,red\n")
    with pytest.raises(InputError, match="unknown columns colour"):
        ingest_file(store, odd)
    with pytest.raises(InputError, match="unknown file type"):
        ingest_file(store, tmp_path / "x.txt") if (tmp_path / "x.txt").write_text("") == 0 else None
    array = tmp_path / "events.json"
    array.write_text('[{"eventID": "a"}, {"eventID": ')
    with pytest.raises(InputError, match="not valid JSON"):
        ingest_file(store, array)
