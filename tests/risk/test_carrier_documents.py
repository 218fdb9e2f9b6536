"""Declaration against carrier filing (risk.carrier_documents, services.documents, CLI and
API), on both stores, through real data paths: DCSA's transport document HHL71800000 (as
notified, issued) imported as a carrier document, and a consignment CSV declaring that B/L.

The consignment declares the B/L's container NARU3472484 with another seal than the carrier
filed (the rip-on/rip-off indicator), a second container the carrier never listed, another
port of loading and vessel, and the B/L's gross weight; the check names each of these.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from quaywatch.cli import app
from quaywatch.errors import NotFoundError
from quaywatch.intake.pipeline import ingest_file
from quaywatch.risk.carrier_documents import DiscrepancyKind as K
from quaywatch.services import documents
from quaywatch.store import tables
from quaywatch.store.store import Store

ROOT = Path(__file__).parents[2]
DATA = ROOT / "tests" / "intake" / "data" / "dcsa-ebl"
BL = "HHL71800000"


def declaring(tmp_path: Path, *, seal: str, weight: float, port: str = "DKAAR") -> Path:
    """The example CSV's first consignment, declaring B/L ``BL`` with its container."""
    with (ROOT / "examples" / "consignments.csv").open(encoding="utf-8", newline="") as file:
        rows = list(csv.DictReader(file))
    first = rows[0]["consignment_id"]
    items = [dict(r) for r in rows if r["consignment_id"] == first][:1]
    item = items[0] | {
        "transport_document": BL, "port_of_loading": port, "port_of_discharge": "DEBRV",
        "vessel_name": "MSC Gulsun", "container_number": "NARU3472484", "container_size_type": "22G1",
        "seals": f"SHI:BLT:{seal}", "gross_mass_kg": str(weight), "transshipment_ports": "",
    }  # fmt: skip
    # a second goods item in a container the carrier's B/L does not list
    extra = item | {"item_sequence": "2", "container_number": "MSCU1234566", "seals": ""}
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(rows[0]))
    writer.writeheader()
    writer.writerows([item, extra])
    path = tmp_path / "declared.csv"
    path.write_text(out.getvalue(), encoding="utf-8")
    return path


@pytest.fixture
def linked(store: Store, tmp_path: Path) -> tuple[Store, str]:
    for name in ("td-notification-draft", "td-notification-issued"):
        assert ingest_file(store, DATA / f"{name}.json").new == 1
    summary = ingest_file(store, declaring(tmp_path, seal="XX-999", weight=15000, port="NLRTM"))
    assert (summary.new, summary.quarantined) == (1, 0), summary.rejected
    with store.reading() as conn:
        cid = conn.execute(select(tables.consignments.c.consignment_id)).scalar_one()
    return store, cid


def test_a_changed_seal_and_the_rest_are_named(linked: tuple[Store, str]) -> None:
    store, cid = linked
    result = documents.check_consignment(store, cid)
    found = {(d.kind, d.container_number): d for d in result.discrepancies}
    seal = found[(K.SEAL_DIFFERS, "NARU3472484")]
    assert (seal.declared, seal.filed) == ("XX-999", "DCSA-CTK-1234")
    assert (seal.reference, seal.revision) == (BL, 2)  # the newest revision: issued
    assert "rip-on/rip-off" in seal.detail
    assert (K.CONTAINER_NOT_FILED, "MSCU1234566") in found
    weight = found[(K.WEIGHT_DIFFERS, "NARU3472484")]
    assert (weight.declared, weight.filed) == ("15000", "12000")
    assert found[(K.PORT_DIFFERS, None)].filed == "DKAAR"
    assert (K.VESSEL_DIFFERS, None) in found  # MSC Gulsun declared, MSC Gülsün filed
    assert len(result.discrepancies) == 5
    # a weight within the tolerance asked for is no discrepancy
    loose = documents.check_consignment(store, cid, tolerance=0.25)
    assert K.WEIGHT_DIFFERS not in {d.kind for d in loose.discrepancies}


def test_a_matching_declaration_shows_only_what_differs(store: Store, tmp_path: Path) -> None:
    ingest_file(store, DATA / "td-notification-issued.json")
    path = declaring(tmp_path, seal="DCSA-CTK-1234", weight=12000)
    ingest_file(store, path)
    view = documents.show_document(store, BL)
    assert (view.reference, view.revision, view.status) == (BL, 1, "ISSUED")
    [linked] = view.consignments
    kinds = {(d.kind, d.container_number) for d in linked.discrepancies}
    assert kinds == {(K.CONTAINER_NOT_FILED, "MSCU1234566"), (K.VESSEL_DIFFERS, None)}


def test_unknown_document_and_consignment_are_not_found(store: Store) -> None:
    with pytest.raises(NotFoundError):
        documents.show_document(store, "NOPE")
    with pytest.raises(NotFoundError):
        documents.check_consignment(store, "NOPE")


def test_cli_show_and_check(linked: tuple[Store, str], store_url: str) -> None:
    _, cid = linked
    runner = CliRunner()
    shown = runner.invoke(app, ["--database", store_url, "documents", "show", BL])
    assert shown.exit_code == 0, shown.output
    assert f"Transport document {BL} revision 2 (ISSUED)" in shown.output
    assert "SEAL_DIFFERS" in shown.output and "NARU3472484" in shown.output
    checked = runner.invoke(app, ["--database", store_url, "documents", "check", cid])
    assert checked.exit_code == 0 and "XX-999" in checked.output
    missing = runner.invoke(app, ["--database", store_url, "documents", "show", "NOPE"])
    assert missing.exit_code == 3 and "no carrier document NOPE" in missing.output


def test_as_of_holds_the_consignment_and_the_documents_to_what_was_known(
    linked: tuple[Store, str],
) -> None:
    from datetime import UTC, datetime, timedelta

    from quaywatch.risk import carrier_documents as linking

    store, cid = linked
    with store.reading() as conn:
        received = conn.execute(
            select(tables.consignments.c.received_at).where(
                tables.consignments.c.consignment_id == cid
            )
        ).scalar_one()
        now = linking.check_consignment(conn, cid, as_of=datetime.now(UTC))
        assert now.documents  # the B/L was known by now
        with pytest.raises(NotFoundError):  # the declaration had not arrived yet
            linking.check_consignment(conn, cid, as_of=received - timedelta(seconds=1))
