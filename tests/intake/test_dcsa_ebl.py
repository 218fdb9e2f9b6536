"""DCSA eBL 3 shipping instructions and transport documents kept as carriers' documents
(intake.dcsa_ebl, intake.carrier_documents), on both stores.

The fixtures in data/dcsa-ebl are every such example of DCSA's eBL API 3.0.3 (see its README).
Each imports with nothing quarantined; a document sent again is unchanged, the same reference
with other content a new revision; a real fault quarantines the document, named by its DCSA path.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings, strategies as st
from sqlalchemy import func, select
from typer.testing import CliRunner

from quaywatch.cli import app
from quaywatch.domain.vocabulary import RecordKind
from quaywatch.errors import InputError
from quaywatch.intake import carrier_documents, dcsa_ebl, decode, formats, quarantine
from quaywatch.intake.pipeline import ingest_file
from quaywatch.intake.records import as_text
from quaywatch.store import tables
from quaywatch.store.store import Store

DATA = Path(__file__).parent / "data" / "dcsa-ebl"
EXAMPLES = sorted(p.stem for p in DATA.glob("*.json"))
D = tables.carrier_documents

#: Each example: kind, reference, container, its seal number, HS6, gross weight (kg).
EXPECTED: dict[str, tuple[str, str, str, str, float]] = {
    "si-get-dg": ("SI", "b36484d0-1115-43c2-93e4-a378823a8386", "HLXU1234567", "293499", 12000),
    "si-get-reefer": ("SI", "9051da7d-4099-4930-af35-7add4e68c635", "KKFU6671914", "040520", 12000),
    "si-get-regular": ("SI", "fc5009a7-25ad-4bb0-9892-4e2dea6bcdd9", "NARU3472484", "640510", 12000),
    "si-notification-declined": ("SI", "e0559d83-00e2-438e-afd9-fdd610c1a008", "NARU3472484", "640510", 12),
    "si-notification-received": ("SI", "e0559d83-00e2-438e-afd9-fdd610c1a008", "NARU3472484", "640510", 12000),
    "si-post-regular": ("SI", "CBR_123_REGULAR", "NARU3472484", "640510", 12000),
    "si-put-regular": ("SI", "fc5009a7-25ad-4bb0-9892-4e2dea6bcdd9", "NARU3472484", "640510", 12000),
    "td-amendment-get-dg": ("TD", "4AD3FA470BB541B980CE", "HLXU1234567", "293499", 12000),
    "td-amendment-get-reefer": ("TD", "D8931B95625E4B339F2A", "KKFU6671914", "040520", 12000),
    "td-amendment-put-dg": ("TD", "4AD3FA470BB541B980CE", "HLXU1234567", "293499", 12000),
    "td-amendment-put-reefer": ("TD", "D8931B95625E4B339F2A", "KKFU6671914", "040520", 12000),
    "td-get-dg": ("TD", "4AD3FA470BB541B980CE", "HLXU1234567", "293499", 12000),
    "td-get-reefer": ("TD", "D8931B95625E4B339F2A", "KKFU6671914", "040520", 12000),
    "td-get-regular": ("TD", "62CD536BA8D34C469AFD", "NARU3472484", "640510", 12000),
    "td-notification-draft": ("TD", "HHL71800000", "NARU3472484", "640510", 12000),
    "td-notification-issued": ("TD", "HHL71800000", "NARU3472484", "640510", 12000),
}  # fmt: skip


def _load(name: str) -> dict[str, Any]:
    return json.loads((DATA / f"{name}.json").read_text(encoding="utf-8"))


def _write(tmp_path: Path, document: Any, name: str = "doc.json") -> Path:
    path = tmp_path / name  # over many lines, as DCSA publishes its documents
    path.write_text(json.dumps(document, indent=2), encoding="utf-8")
    return path


def _count(store: Store, table: Any) -> int:
    with store.reading() as conn:
        return int(conn.execute(select(func.count()).select_from(table)).scalar_one())


def test_every_published_example_is_here() -> None:
    assert sorted(EXPECTED) == EXAMPLES and len(EXAMPLES) == 16


@pytest.mark.parametrize("name", EXAMPLES)
def test_each_example_imports_with_nothing_quarantined(store: Store, name: str) -> None:
    summary = ingest_file(store, DATA / f"{name}.json")
    assert (summary.kind, summary.read, summary.new, summary.quarantined) == (
        "documents", 1, 1, 0,
    )  # fmt: skip
    kind, reference, container, hs6, kg = EXPECTED[name]
    with store.reading() as conn:
        [doc] = conn.execute(select(D)).mappings().all()
        [box] = conn.execute(select(tables.carrier_document_equipment)).mappings().all()
        [seal] = conn.execute(select(tables.carrier_document_seals)).mappings().all()
        [cargo] = conn.execute(select(tables.carrier_document_cargo)).mappings().all()
        roles = conn.execute(select(tables.carrier_document_parties.c.role)).scalars().all()
    assert (doc["document_kind"], doc["reference"], doc["revision"]) == (kind, reference, 1)
    assert doc["document_id"] == doc["content_sha256"] and doc["batch_id"] == summary.batch_id
    assert box["container_number"] == container == cargo["container_number"]
    # DCSA's own HLXU1234567 fails the ISO 6346 check digit: kept, and marked
    assert box["check_digit_valid"] is (container != "HLXU1234567")
    assert (seal["seal_number"], seal["source"], seal["type"]) == ("DCSA-CTK-1234", None, None)
    assert (cargo["hs_codes"], cargo["gross_weight_kg"], cargo["packages"]) == (hs6, kg, 400)
    assert box["cargo_gross_kg"] == kg
    assert "SHIPPER" in roles and ("ISSUER" in roles) is (kind == "TD")
    if kind == "TD":
        assert (doc["port_of_loading"], doc["port_of_discharge"]) == ("DKAAR", "DEBRV")
        assert doc["carrier_code_list"] == "SMDG" and doc["voyage"] == "402E"
        assert str(doc["shipped_on_board_date"]) == "2023-12-20"
        assert str(doc["planned_arrival"]) == "2023-12-22"


def test_all_examples_then_again_give_revisions_and_change_nothing(store: Store) -> None:
    first = [ingest_file(store, DATA / f"{name}.json") for name in EXAMPLES]
    assert sum(s.quarantined for s in first) == 0
    # an amendment as put and as got is one content, and td-get-dg is the DG amendment's:
    # stored once, then unchanged
    assert sum(s.new for s in first) == 13 and sum(s.unchanged for s in first) == 3
    with store.reading() as conn:
        revisions = dict(
            conn.execute(
                select(D.c.reference, func.max(D.c.revision)).group_by(D.c.reference)
            ).all()
        )
    # the reefer TD as amended, and the SI/TD notified twice, are second revisions
    assert revisions["D8931B95625E4B339F2A"] == 2 and revisions["HHL71800000"] == 2
    assert revisions["e0559d83-00e2-438e-afd9-fdd610c1a008"] == 2
    assert revisions["4AD3FA470BB541B980CE"] == 1
    counts = [_count(store, t) for t in (D, tables.carrier_document_seals)]
    again = [ingest_file(store, DATA / f"{name}.json") for name in EXAMPLES]
    assert sum(s.new for s in again) == 0 and sum(s.unchanged for s in again) == 16
    assert [_count(store, t) for t in (D, tables.carrier_document_seals)] == counts
    assert _count(store, tables.quarantine) == 0


def test_documents_as_lines_or_array_are_read_one_by_one(store: Store, tmp_path: Path) -> None:
    lines = tmp_path / "documents.jsonl"
    lines.write_text("\n".join(json.dumps(_load(n)) for n in ("td-get-dg", "si-get-dg")))
    array = _write(tmp_path, [_load("td-get-reefer"), _load("si-get-reefer")], "documents.json")
    assert ingest_file(store, lines).new == 2
    assert ingest_file(store, array).new == 2


def _bad(document: dict[str, Any], path: str) -> dict[str, Any]:
    """``document`` with a real fault at ``path`` (a wrong value, or one taken away)."""
    faults: dict[str, Any] = {
        "cargo-container": lambda d: d["consignmentItems"][0]["cargoItems"][0].update(
            equipmentReference="MSCU1234566"
        ),
        "port": lambda d: d["transports"]["portOfLoading"].update(UNLocationCode="XXABC"),
        "reference": lambda d: d.pop("transportDocumentReference"),
        "container-shape": lambda d: d["utilizedTransportEquipments"][0]["equipment"].update(
            equipmentReference="NARU34"
        ),
        "weight": lambda d: d["consignmentItems"][0]["cargoItems"][0]["cargoGrossWeight"].update(
            unit="TON"
        ),
        "no-lines": lambda d: (d.pop("consignmentItems"), d.pop("utilizedTransportEquipments")),
        "date": lambda d: d.update(shippedOnBoardDate="20 Dec 2023"),
    }
    faults[path](document)
    return document


FAULTS = [
    ("cargo-container", "consignmentItems[0].cargoItems[0].equipmentReference",
     "names no container of utilizedTransportEquipments"),
    ("port", "transports.portOfLoading.UNLocationCode", "UN/LOCODE XXABC has an unknown country"),
    ("reference", "transportDocumentReference",
     "missing: a transport document is kept under its reference"),
    ("container-shape", "utilizedTransportEquipments[0].equipment.equipmentReference",
     "not an ISO 6346 container number (AAAU1234565)"),
    ("weight", "consignmentItems[0].cargoItems[0].cargoGrossWeight", "'12000 TON' is not a number"),
    ("no-lines", "utilizedTransportEquipments",
     "missing: a document with no equipment and no cargo item has nothing to link to a declaration"),
    ("date", "shippedOnBoardDate", "'20 Dec 2023' is not an ISO 8601 date (YYYY-MM-DD)"),
]  # fmt: skip


@pytest.mark.parametrize(("fault", "field", "reason"), FAULTS)
def test_a_real_fault_quarantines_the_document_named_by_its_dcsa_path(
    store: Store, tmp_path: Path, fault: str, field: str, reason: str
) -> None:
    document = _bad(_load("td-get-regular"), fault)
    summary = ingest_file(store, _write(tmp_path, document))
    assert (summary.new, summary.quarantined) == (0, 1)
    [rejected] = summary.rejected
    assert rejected.location == "document 1"
    assert rejected.problems[0] == (field, reason)  # (a cargo item in that container too)
    assert len(rejected.problems) == (2 if fault == "container-shape" else 1)
    assert _count(store, D) == 0 and _count(store, tables.carrier_document_cargo) == 0


def test_a_wrapped_document_is_named_by_its_path_in_the_notification(
    store: Store, tmp_path: Path
) -> None:
    notification = _load("td-notification-issued")
    _bad(notification["data"]["transportDocument"], "port")
    [rejected] = ingest_file(store, _write(tmp_path, notification)).rejected
    assert rejected.field == "data.transportDocument.transports.portOfLoading.UNLocationCode"


def test_a_notification_without_its_document_is_refused_with_one_reason(
    store: Store, tmp_path: Path
) -> None:
    notification = _load("td-notification-issued")
    del notification["data"]["transportDocument"]
    notification["data"]["transportDocumentReference"] = "HHL71800000"
    [rejected] = ingest_file(store, _write(tmp_path, notification)).rejected
    assert rejected.problems == [
        ("data", "holds no transportDocument or shippingInstructions: nothing to store")
    ]


def test_a_quarantined_document_corrected_and_retried_is_stored(
    store: Store, tmp_path: Path
) -> None:
    ingest_file(store, _write(tmp_path, _bad(_load("td-get-regular"), "port")))
    with store.reading() as conn:
        entry = conn.execute(select(tables.quarantine.c.quarantine_id)).scalar_one()
    result = quarantine.retry(store, entry, record=json.dumps(_load("td-get-regular")))
    assert result.stored and _count(store, D) == 1
    assert ingest_file(store, DATA / "td-get-regular.json").unchanged == 1


def test_a_field_of_the_wrong_shape_is_refused_at_the_front_door(
    store: Store, tmp_path: Path
) -> None:
    document = _load("td-get-regular")
    document["consignmentItems"][0]["HSCodes"] = [640510]
    [rejected] = ingest_file(store, _write(tmp_path, document)).rejected
    assert rejected.problems == [("consignmentItems[0].HSCodes[0]", "is a number, not a string")]


_JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=8),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3)
    ),
    max_leaves=8,
)


def _paths(value: Any, at: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    found = [at]
    if isinstance(value, dict):
        for key, item in value.items():
            found += _paths(item, (*at, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            found += _paths(item, (*at, index))
    return found


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(name=st.sampled_from(EXAMPLES), data=st.data(), value=_JSON, delete=st.booleans())
def test_any_mutated_document_is_storable_or_refused_with_a_path(
    name: str, data: st.DataObject, value: Any, delete: bool
) -> None:
    document = copy.deepcopy(_load(name))
    path = data.draw(st.sampled_from(_paths(document)[1:]))
    parent = document
    for step in path[:-1]:
        parent = parent[step]
    if delete:
        del parent[path[-1]]
    else:
        parent[path[-1]] = value
    try:
        decode.check_shape(document, dcsa_ebl.SHAPE, decode.Limits())
        flat = dcsa_ebl.flatten(document)
    except decode.Fault as fault:
        assert fault.field is not None and fault.reason
        return
    columns = carrier_documents.COLUMNS
    frame = pl.DataFrame(
        {c: [as_text(row.get(c)) for row in flat] for c in columns}, schema=dict.fromkeys(
            columns, pl.String
        ),
    ).with_columns(pl.lit(1).alias("_loc"), pl.lit(0).alias("_run"))  # fmt: skip
    checked = carrier_documents.validate(frame)
    problems = [p for p in checked["_problems"].to_list() if p]
    if problems:  # every fault named by a DCSA path, never by a quaywatch column
        assert all(not p.startswith(("party_", "seal_", "hs_codes")) for p in problems)
        return
    stamped = checked.with_columns(
        pl.lit("0" * 64).alias("content_sha256"),
        pl.lit(None, pl.Datetime("us", "UTC")).alias("received_at"),
        pl.lit("b").alias("batch_id"),
    )
    for table, rows in carrier_documents.rows(stamped).items():  # what the store requires
        required = [c.name for c in table.columns if not c.nullable]
        required = [c for c in required if c not in ("received_at", "known_at", "revision")]
        assert (
            rows.select(pl.col(required).is_not_null().all()).row(0) == (True,) * len(required)
            or rows.is_empty()
        )


def test_quaywatch_ingest_stores_an_example(store_url: str) -> None:
    runner = CliRunner()
    path = str(DATA / "td-get-regular.json")
    result = runner.invoke(app, ["--database", store_url, "ingest", path])
    assert result.exit_code == 0 and "Traceback" not in result.output
    assert "documents" in result.output and "quarantined" not in result.output.split("\n")[-2]


# --- CloudEvent envelopes: only eBL event types are taken for carrier documents ---------------


@pytest.mark.parametrize(
    "kind", ["org.dcsa.track-and-trace.v3", "com.example.invoice", "", None, 3]
)
def test_a_cloudevent_of_another_type_is_not_taken_for_a_document(
    store: Store, tmp_path: Path, kind: Any
) -> None:
    envelope = json.loads((DATA / "td-notification-issued.json").read_text(encoding="utf-8"))
    envelope["type"] = kind
    path = tmp_path / "notification.json"
    path.write_text(json.dumps(envelope, indent=2), encoding="utf-8")
    with pytest.raises(InputError, match="not a recognised format: found keys .*specversion"):
        formats.detect(path)
    with pytest.raises(InputError, match="not a recognised format"):
        ingest_file(store, path)
    with store.reading() as conn:
        assert (
            conn.execute(select(func.count()).select_from(tables.carrier_documents)).scalar() == 0
        )
    # Said to be a document, it is read as one.
    assert ingest_file(store, path, kind=RecordKind.DOCUMENTS).new == 1


@pytest.mark.parametrize("name", ["td-notification-draft", "si-notification-received"])
def test_dcsas_own_notifications_are_still_told_by_their_content(tmp_path: Path, name: str) -> None:
    detected = formats.detect(DATA / f"{name}.json")
    assert (detected.format.name, detected.kind) == ("dcsa-ebl-3", RecordKind.DOCUMENTS)


@given(st.text(max_size=60))
def test_only_ebl_event_types_claim_an_envelope(kind: str) -> None:
    envelope = {"specversion": "1.0", "id": "1", "source": "x", "type": kind, "data": {}}
    ebl = kind.startswith(("org.dcsa.transport-document.", "org.dcsa.shipping-instructions."))
    assert formats.FORMATS["dcsa-ebl-3"].claims(frozenset(envelope), envelope) is ebl
    # A document itself is claimed whatever else it carries.
    document = envelope | {"transportDocumentReference": "TD1"}
    assert formats.FORMATS["dcsa-ebl-3"].claims(frozenset(document), document)


def test_a_null_line_of_a_displayed_address_is_refused_at_the_front_door(
    store: Store, tmp_path: Path
) -> None:
    """Found by the fuzz suite: ``displayedAddress: [null]`` crashed the flattening (a list of
    text joined with a null in it); an item of a list is there or not, so it is refused."""
    document = _load("td-get-reefer")
    document["documentParties"]["shipper"]["displayedAddress"] = [None]
    [rejected] = ingest_file(store, _write(tmp_path, document)).rejected
    assert rejected.problems == [
        ("documentParties.shipper.displayedAddress[0]", "is null, not a string")
    ]
