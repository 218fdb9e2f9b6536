"""services.audit and services.schema on both backends: verify, anchor, log, schema revision."""

from __future__ import annotations

import pytest
from sqlalchemy import update

from quaywatch.errors import AuditChainError, InputError
from quaywatch.services import audit, schema
from quaywatch.services.intake import ingest_files
from quaywatch.store import tables
from quaywatch.store.store import Store
from quaywatch.synth.portday import PortDay


def test_verify_reports_the_head_and_checks_an_anchor(store: Store, port_day: PortDay) -> None:
    empty = audit.verify_audit(store)
    assert (empty.events, empty.head_seq) == (0, 0)
    ingest_files(store, [port_day.consignments], actor="alice")
    first = audit.verify_audit(store)
    assert (first.events, first.head_seq) == (1, 1)
    anchor = f"{first.head_seq}:{first.head_hash}"
    ingest_files(store, [port_day.events], actor="bob")
    later = audit.verify_audit(store, anchor=anchor)
    assert later.events == 2 and later.head_hash != first.head_hash
    assert audit.verify_audit(store, anchor=f" {anchor.upper()} ").events == 2
    with pytest.raises(AuditChainError, match="audit event 1 differs from the anchor"):
        audit.verify_audit(store, anchor=f"1:{'0' * 64}")

    with store.transaction() as conn:
        conn.execute(update(tables.audit_events).where(tables.audit_events.c.seq == 2)
                     .values(actor="mallory"))  # fmt: skip
    with pytest.raises(AuditChainError, match="audit event 2 was edited"):
        audit.verify_audit(store)


@pytest.mark.parametrize("anchor", ["", "12", "x:" + "a" * 64, "3:abc", "3:" + "g" * 64])
def test_a_malformed_anchor_names_the_field(store: Store, anchor: str) -> None:
    with pytest.raises(InputError, match="anchor must be SEQ:HASH"):
        audit.verify_audit(store, anchor=anchor)


def test_log_lists_the_newest_events_first(store: Store, port_day: PortDay) -> None:
    ingest_files(store, [port_day.consignments], actor="[bold]alice[/]")
    ingest_files(store, [port_day.events], actor="bob")
    newest, oldest = audit.audit_log(store, limit=5)
    assert (newest.seq, newest.actor, newest.action) == (2, "bob", "import")
    assert oldest.actor == "[bold]alice[/]" and oldest.details["kind"] == "consignments"
    assert [e.seq for e in audit.audit_log(store, limit=1)] == [2]
    with pytest.raises(InputError, match="limit must be at least 1, got 0"):
        audit.audit_log(store, limit=0)


def test_schema_status_and_upgrade(store: Store) -> None:
    found = schema.status(store)
    assert found.database_revision is not None and found.current
    assert schema.upgrade(store) == found
