"""DCSA eBL 3 shipping instructions and transport documents as consignments (intake.dcsa_ebl).

The fixtures in data/dcsa-ebl are every such example of DCSA's eBL API 3.0.3 (see its README).
A B/L lacks what a quaywatch consignment requires (the vessel's IMO number, goods values,
origin countries, seal types, ...), so each is quarantined whole with one problem per gap, the
DCSA path and the quaywatch field named, and nothing of it stored (docs/formats.md).
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st
from sqlalchemy import func, select
from typer.testing import CliRunner

from quaywatch.cli import app
from quaywatch.errors import InputError
from quaywatch.intake import consignments, dcsa_ebl, decode, quarantine
from quaywatch.intake.pipeline import ingest_file
from quaywatch.store import tables
from quaywatch.store.store import Store

DATA = Path(__file__).parent / "data" / "dcsa-ebl"
EXAMPLES = sorted(p.stem for p in DATA.glob("*.json"))

# What every transport document of the examples lacks: a SCAC (they give SMDG codes), a
# consignee (to-order B/Ls), the shipper's country (a displayed address only), the vessel's IMO
# number, each goods item's origin and value, each seal's source and type.
_TD = [
    "carrierCode",
    "consignmentItems[0].cargoItems[0]",
    "documentParties.consignee",
    "documentParties.shipper.address.countryCode",
    "transports.vesselVoyages",
    "utilizedTransportEquipments[0].seals[0]",
    "utilizedTransportEquipments[0].seals[0].source",
]
# Shipping instructions have no transports (ports, vessel, arrival), no issuing carrier (the
# declarant) and, in these examples, no container size/type.
_SI = [
    "carrierCode",
    "consignmentItems[0].cargoItems[0]",
    "documentParties.consignee",
    "documentParties.issuingParty",
    "documentParties.shipper.address.countryCode",
    "transports",
    "utilizedTransportEquipments[0].equipment.ISOEquipmentCode",
    "utilizedTransportEquipments[0].seals[0]",
    "utilizedTransportEquipments[0].seals[0].source",
]
_DG_PACKAGE = "consignmentItems[0].cargoItems[0].outerPackaging.packageCode"
_NO_ISO = "utilizedTransportEquipments[0].equipment.ISOEquipmentCode"
#: The DCSA paths of each example's gaps (a bare document's lodging time: ``time``).
GAPS: dict[str, list[str]] = {
    "si-get-dg": [*(g for g in _SI if g != _NO_ISO), _DG_PACKAGE, "time"],
    "si-get-reefer": [*_SI, "time"],
    "si-get-regular": [*_SI, "time", "transportDocumentReference"],
    "si-notification-declined": [f"data.shippingInstructions.{g}" for g in [*_SI, "transportDocumentReference"]],
    "si-notification-received": [f"data.shippingInstructions.{g}" for g in [*_SI, "transportDocumentReference"]],
    "si-post-regular": [*_SI, "time", "transportDocumentReference", "shippingInstructionsReference"],
    "si-put-regular": [*_SI, "time", "transportDocumentReference"],
    "td-amendment-get-dg": [f"amendedTransportDocument.{g}" for g in [*_TD, _DG_PACKAGE]] + ["time"],
    "td-amendment-get-reefer": [f"amendedTransportDocument.{g}" for g in _TD] + ["time"],
    "td-amendment-put-dg": [*_TD, _DG_PACKAGE, "time"],
    "td-amendment-put-reefer": [*_TD, "time"],
    "td-get-dg": [*_TD, _DG_PACKAGE, "time"],
    "td-get-reefer": [*_TD, "time"],
    "td-get-regular": [*_TD, "time"],
    "td-notification-draft": [f"data.transportDocument.{g}" for g in _TD],
    "td-notification-issued": [f"data.transportDocument.{g}" for g in _TD],
}  # fmt: skip

#: What each example's cargo maps to: HS6, container, size/type, seal, ports, consignor, declarant.
CARGO = {
    "regular": ("640510", "NARU3472484", "22G1"),
    "reefer": ("040520", "KKFU6671914", "45R1"),
    "dg": ("293499", "HLXU1234567", "22G1"),
    "received": ("640510", "NARU3472484", None),
    "declined": ("640510", "NARU3472484", None),
    "draft": ("640510", "NARU3472484", "22G1"),
    "issued": ("640510", "NARU3472484", "22G1"),
}


def _load(name: str) -> dict[str, Any]:
    return json.loads((DATA / f"{name}.json").read_text(encoding="utf-8"))


def test_every_published_example_is_here() -> None:
    assert sorted(GAPS) == EXAMPLES and len(EXAMPLES) == 16


@pytest.mark.parametrize("name", EXAMPLES)
def test_example_maps_its_cargo_parties_and_route(name: str) -> None:
    translation = dcsa_ebl.translate(_load(name))
    [record] = translation.records
    hs6, container, size_type = CARGO[name.rsplit("-", 1)[1]]
    if name.startswith("si-") and name != "si-get-dg":  # these give no ISO size/type code
        size_type = None
    [item] = record["goods_items"]
    assert (item["hs6"], item["container_number"], item["packages"]) == (hs6, container, 400)
    assert item["gross_mass_kg"] == (12 if name == "si-notification-declined" else 12000)
    [box] = record["containers"]
    assert (box["number"], box["size_type"], box["status"]) == (container, size_type, "LADEN")
    assert [seal["number"] for seal in box["seals"]] == ["DCSA-CTK-1234"]
    assert record["consignor"]["name"] == "DCSA CTK"
    assert record["consignor"]["address"] == "Strawinskylaan 4117"
    if name.startswith("td-"):
        assert record["route"]["port_of_loading"] == "DKAAR"
        assert record["route"]["port_of_discharge"] == "DEBRV"
        assert record["eta"] == "2023-12-22T00:00:00+00:00"
        assert record["voyage"] == "402E"
        assert record["declarant"]["country"] in ("CH", "DE")  # the issuing carrier
        assert record["transport_document"] == record["consignment_id"]
    if name.startswith(("td-notification", "si-notification")):
        assert record["lodged_at"] == "2018-04-05T17:31:00Z"


@pytest.mark.parametrize("name", EXAMPLES)
def test_example_is_quarantined_with_every_gap_named(store: Store, name: str) -> None:
    summary = ingest_file(store, DATA / f"{name}.json")
    assert (summary.read, summary.new, summary.quarantined) == (1, 0, 1)
    [rejected] = summary.rejected
    assert rejected.location == "document 1"
    assert {field for field, _ in rejected.problems} == set(GAPS[name])
    reasons = " ".join(reason for _, reason in rejected.problems)
    if name.startswith("td-"):
        assert "vessel_imo" in reasons and "origin_country" in reasons
    with store.reading() as conn:
        assert conn.execute(select(func.count()).select_from(tables.consignments)).scalar() == 0
        [(errors, raw)] = conn.execute(select(tables.quarantine.c.errors, tables.quarantine.c.raw))
    assert [tuple(p) for p in errors] == rejected.problems
    assert json.loads(raw) == _load(name)


def test_reimport_adds_nothing(store: Store) -> None:
    first = ingest_file(store, DATA / "td-get-regular.json")
    again = ingest_file(store, DATA / "td-get-regular.json")
    assert (first.quarantined, again.quarantined, again.already_quarantined) == (1, 1, 1)
    with store.reading() as conn:
        assert conn.execute(select(func.count()).select_from(tables.quarantine)).scalar() == 1


def test_retrying_the_entry_names_the_gaps_again(store: Store) -> None:
    ingest_file(store, DATA / "td-notification-issued.json")
    with store.reading() as conn:
        entry = conn.execute(select(tables.quarantine.c.quarantine_id)).scalar_one()
    with pytest.raises(InputError, match=r"lacks what a consignment needs: .*vessel_imo"):
        quarantine.retry(store, entry)


def test_missing_hs_code_is_named_by_its_dcsa_path(store: Store, tmp_path: Path) -> None:
    document = _load("td-get-regular")
    del document["consignmentItems"][0]["HSCodes"]
    path = tmp_path / "td.json"
    path.write_text(json.dumps(document), encoding="utf-8")
    [rejected] = ingest_file(store, path).rejected
    reasons = dict(rejected.problems)
    assert reasons["consignmentItems[0].HSCodes"] == "missing: hs6 needs the goods' HS code"


def test_documents_as_lines_or_array_are_read_one_by_one(store: Store, tmp_path: Path) -> None:
    lines = tmp_path / "documents.jsonl"
    lines.write_text("\n".join(json.dumps(_load(n)) for n in ("td-get-dg", "si-get-dg")))
    array = tmp_path / "documents.json"
    array.write_text(json.dumps([_load("td-get-reefer"), _load("si-get-reefer")]))
    assert [r.location for r in ingest_file(store, lines).rejected] == ["line 1", "line 2"]
    assert [r.location for r in ingest_file(store, array).rejected] == ["item 1", "item 2"]


def test_a_field_of_the_wrong_shape_is_refused_at_the_front_door(
    store: Store, tmp_path: Path
) -> None:
    document = _load("td-get-regular")
    document["consignmentItems"][0]["HSCodes"] = [640510]
    path = tmp_path / "td.json"
    path.write_text(json.dumps(document), encoding="utf-8")
    [rejected] = ingest_file(store, path).rejected
    assert rejected.problems == [("consignmentItems[0].HSCodes[0]", "is a number, not a string")]


def test_a_complete_document_gives_the_quaywatch_record() -> None:
    """Every gap filled where DCSA has a field: what still has no DCSA field is what is left."""
    document = _load("td-get-regular")
    parties = document["documentParties"]
    parties["shipper"]["address"] = {"street": "Strawinskylaan", "streetNumber": "4117",
                                     "city": "Amsterdam", "countryCode": "NL"}  # fmt: skip
    parties["consignee"] = {
        "partyName": "Bremen Shoes GmbH",
        "address": {"street": "Am Wall", "city": "Bremen", "countryCode": "DE"},
        "taxLegalReferences": [{"type": "EORI", "countryCode": "DE", "value": "DE123456789"}],
        "partyContactDetails": [{"name": "Desk", "email": "desk@example.org"}],
    }
    document |= {"carrierCode": "MSCU", "carrierCodeListProvider": "NMFTA",
                 "declaredValue": 48000, "declaredValueCurrency": "EUR"}  # fmt: skip
    document["utilizedTransportEquipments"][0]["seals"][0] |= {"source": "SHI", "type": "BLT"}
    translation = dcsa_ebl.translate(document)
    assert [field for field, _ in translation.gaps] == [
        "time",
        "transports.vesselVoyages",
        "consignmentItems[0].cargoItems[0]",
    ]
    [record] = translation.records
    assert record["consignee"] == {
        "name": "Bremen Shoes GmbH", "address": "Am Wall, Bremen", "country": "DE",
        "eori": "DE123456789", "phone": None, "email": "desk@example.org",
    }  # fmt: skip
    assert (record["carrier_scac"], record["goods_items"][0]["value"]) == ("MSCU", 48000)
    [row] = consignments.flatten(record)
    assert (row["hs6"], row["seals"], row["port_of_loading"]) == (
        "640510", "SHI:BLT:DCSA-CTK-1234", "DKAAR",
    )  # fmt: skip


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


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(name=st.sampled_from(EXAMPLES), data=st.data(), value=_JSON, delete=st.booleans())
def test_any_mutated_document_gives_records_or_a_fault(
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
        records = dcsa_ebl.to_consignments(document)
    except decode.Fault as fault:
        assert fault.field is not None and fault.reason
        return
    for record in records:  # then the consignment's own checks take over
        assert consignments.flatten(record)


def test_quaywatch_ingest_reports_the_first_gap_and_lists_all(store_url: str) -> None:
    runner = CliRunner()
    path = str(DATA / "td-get-regular.json")
    result = runner.invoke(app, ["--database", store_url, "ingest", path])
    assert result.exit_code == 0 and "Traceback" not in result.output
    assert "quarantined td-get-regular.json document 1, time: missing: lodged_at" in result.output
    result = runner.invoke(app, ["--database", store_url, "quarantine", "show", "1"])
    assert "transports.vesselVoyages: no IMO number: vessel_imo is required" in result.output
