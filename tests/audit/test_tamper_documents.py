"""Tamper evidence over carriers' documents: a seal changed by SQL behind quaywatch's back is
named by ``audit verify --full`` and a re-import does not call its document unchanged."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import text

from quaywatch.errors import TamperedError
from quaywatch.intake.pipeline import ingest_file
from quaywatch.services import audit
from quaywatch.store.store import Store

DATA = Path(__file__).parents[1] / "intake" / "data" / "dcsa-ebl"


def test_a_changed_seal_is_named_by_a_full_verify_and_on_reimport(store: Store) -> None:
    for name in ("td-get-regular", "si-get-reefer"):
        ingest_file(store, DATA / f"{name}.json")
    assert audit.verify_audit(store, full=True).rows is not None  # untouched: verifies
    with store.engine.begin() as conn:
        document = conn.execute(
            text("SELECT document_id FROM carrier_documents WHERE reference = :r"),
            {"r": "62CD536BA8D34C469AFD"},
        ).scalar_one()
        conn.execute(
            text("UPDATE carrier_document_seals SET seal_number = 'SWAPPED-1' "
                 "WHERE document_id = :d"), {"d": document},
        )  # fmt: skip
    audit.verify_audit(store)  # the chain alone does not see it
    with pytest.raises(TamperedError) as caught:
        audit.verify_audit(store, full=True)
    message = caught.value.message
    assert f'carrier_document_seals ["{document}","NARU3472484","SWAPPED-1"]: added' in message
    assert f'carrier_document_seals ["{document}","NARU3472484","DCSA-CTK-1234"]: missing' in (
        message
    )
    again = ingest_file(store, DATA / "td-get-regular.json")
    assert (again.unchanged, again.quarantined) == (0, 1)
    assert "stored data differs from its audited hash" in again.rejected[0].reason
