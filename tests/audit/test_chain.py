from __future__ import annotations

import pytest
from sqlalchemy import text

from quaywatch.audit import chain
from quaywatch.errors import AuditChainError, InputError
from quaywatch.store.store import Store


@pytest.fixture
def logged(store: Store) -> Store:
    with store.transaction() as conn:
        for i in range(5):
            chain.append(
                conn,
                actor="analyst",
                action="test",
                object_type="thing",
                object_id=str(i),
                details={"i": i},
            )
    return store


def verify(store: Store, anchor: tuple[int, str] | None = None) -> chain.Verification:
    with store.reading() as conn:
        return chain.verify(conn, anchor=anchor)


def tamper(store: Store, sql: str) -> None:
    with store.engine.begin() as conn:
        conn.execute(text(sql))


def test_an_untouched_chain_verifies(logged: Store) -> None:
    result = verify(logged)
    assert result.events == result.head_seq == 5


@pytest.mark.parametrize(
    ("sql", "message"),
    [
        (
            "UPDATE audit_events SET details = '{\"i\": 99}' WHERE seq = 3",
            "audit event 3 was edited",
        ),
        (
            "UPDATE audit_events SET actor = 'someone else' WHERE seq = 1",
            "audit event 1 was edited",
        ),
        ("DELETE FROM audit_events WHERE seq = 2", "audit event 2 is missing"),
        ("DELETE FROM audit_events WHERE seq = 5", "head says event 5"),
        ("UPDATE audit_events SET seq = seq + 10 WHERE seq >= 4", "audit event 4 is missing"),
        (
            "INSERT INTO audit_events SELECT 6, at, actor, action, object_type, object_id, "
            "details, hash, hash, mac, key_id FROM audit_events WHERE seq = 5",
            "audit event 6 was edited",
        ),
    ],
)
def test_tampering_is_detected(logged: Store, sql: str, message: str) -> None:
    tamper(logged, sql)
    with pytest.raises(AuditChainError, match=message):
        verify(logged)


def test_an_anchor_catches_a_rewritten_tail(logged: Store) -> None:
    anchor = (verify(logged).head_seq, verify(logged).head_hash)
    tamper(logged, "DELETE FROM audit_events WHERE seq = 5")
    tamper(
        logged,
        "UPDATE audit_head SET seq = 4, hash = (SELECT hash FROM audit_events WHERE seq = 4)",
    )
    verify(logged)  # consistent again without the anchor...
    with pytest.raises(AuditChainError, match="anchored audit event 5"):
        verify(logged, anchor)


@pytest.mark.parametrize("field", ["actor", "action", "object_type", "object_id"])
def test_a_field_holding_the_hash_separator_is_refused_and_nothing_written(
    logged: Store, field: str
) -> None:
    # Were U+001F allowed, an event ("a", "b\x1fc") could be edited into ("a\x1fb", "c"),
    # another event with the same hash.
    names = {"actor": "x", "action": "x", "object_type": "x", "object_id": "x"}
    with (
        pytest.raises(InputError, match="cannot hold the character U\\+001F"),
        logged.transaction() as conn,
    ):
        chain.append(conn, **(names | {field: "a\x1fb"}), details={})
    assert verify(logged).events == 5
