"""services.audit and services.schema on both backends: verify, anchor, log (filtered, paged by
cursor), schema revision."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import update

from quaywatch.audit import chain
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


def _events(store: Store) -> None:
    """Five events: two actors, three kinds of object."""
    with store.transaction() as conn:
        for actor, action, kind, object_id in [
            ("ana", "profile_load", "risk_profile", "P-1"),
            ("bob", "order_start", "inspection_order", "O-1"),
            ("ana", "profile_activate", "risk_profile", "P-1"),
            ("ana", "profile_load", "risk_profile", "P-2"),
            ("bob", "order_outcome", "inspection_order", "O-1"),
        ]:
            chain.append(conn, actor=actor, action=action, object_type=kind, object_id=object_id,
                         details={"note": "<b>x</b>"})  # fmt: skip


@pytest.mark.parametrize(
    ("filters", "expected"),
    [
        ({}, [5, 4, 3, 2, 1]),
        ({"actor": "ana"}, [4, 3, 1]),
        ({"action": "profile_load"}, [4, 1]),
        ({"object_type": "inspection_order"}, [5, 2]),
        ({"object_type": "risk_profile", "object_id": "P-1"}, [3, 1]),
        ({"actor": "bob", "action": "profile_load"}, []),
        ({"before": 4}, [3, 2, 1]),
        ({"actor": "ana", "before": 3}, [1]),
    ],
)
def test_the_log_filters_by_actor_object_action_and_cursor(
    store: Store, filters: dict[str, object], expected: list[int]
) -> None:
    _events(store)
    assert [e.seq for e in audit.audit_log(store, **filters)] == expected  # type: ignore[arg-type]


def test_the_log_filters_by_period(store: Store) -> None:
    _events(store)
    times = {e.seq: e.at for e in audit.audit_log(store)}
    assert [e.seq for e in audit.audit_log(store, since=times[2], until=times[4])] == [3, 2]
    assert [e.seq for e in audit.audit_log(store, since=times[5])] == [5]
    assert audit.audit_log(store, until=times[1]) == []


def test_pages_follow_the_cursor_until_the_oldest(store: Store) -> None:
    _events(store)
    first = audit.audit_page(store, limit=2, actor="ana")
    assert [e.seq for e in first.events] == [4, 3] and first.next_before == 3
    last = audit.audit_page(store, limit=2, actor="ana", before=first.next_before)
    assert [e.seq for e in last.events] == [1] and last.next_before is None
    assert first.actions == ("order_outcome", "order_start", "profile_activate", "profile_load")
    assert first.object_types == ("inspection_order", "risk_profile")
    assert last.events[0].details == {"note": "<b>x</b>"}


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ({"limit": 0}, "limit must be at least 1, got 0"),
        ({"limit": 10_001}, "limit must be at most 10000"),
        ({"actor": " "}, "actor must have 1 to 140 characters"),
        ({"object_id": "x" * 141}, "object_id must have 1 to 140 characters"),
        ({"before": 0}, "before must be at least 1, got 0"),
        ({"since": datetime(2026, 1, 1)}, "since must be a timezone-aware time"),
        (
            {"since": datetime(2026, 2, 1, tzinfo=UTC), "until": datetime(2026, 1, 1, tzinfo=UTC)},
            "the period ends before it starts",
        ),
    ],
)
def test_bad_filters_are_refused(store: Store, arguments: dict[str, object], message: str) -> None:
    with pytest.raises(InputError, match=message):
        audit.audit_log(store, **arguments)  # type: ignore[arg-type]
    with pytest.raises(InputError, match=message):
        audit.audit_page(store, **arguments)  # type: ignore[arg-type]
