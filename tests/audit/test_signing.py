"""The audit key: signed events, signed anchor files, and what they detect, on both stores.

An attacker with write access to the database but not the key deletes the tail (even every
event) or appends a forged event (unsigned, or with a made-up MAC, or after re-hashing): each
is detected by a verification with the key and the anchor file kept outside the store.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from hypothesis import given, settings, strategies as st
from sqlalchemy import text

from quaywatch.audit import chain, signing
from quaywatch.errors import AuditChainError, ConfigurationError, InputError
from quaywatch.intake.pipeline import ingest_file
from quaywatch.services import audit
from quaywatch.store.store import Store

EXAMPLES = Path(__file__).parents[2] / "examples"
KEY = signing.AuditKey.of(b"k" * 32)
Opener = Callable[[signing.AuditKey | None], Store]
OTHER = signing.AuditKey.of(b"o" * 32)


@pytest.fixture
def opener(store_url: str) -> Iterator[Callable[[signing.AuditKey | None], Store]]:
    """Opens the test's store with a key (or none), as many times as asked; closes them all."""
    opened: list[Store] = []

    def open_with(key: signing.AuditKey | None) -> Store:
        opened.append(Store.open(store_url, audit_key=key))
        return opened[-1]

    yield open_with
    for store in opened:
        store.close()


@pytest.fixture
def keyed(opener: Opener) -> Store:
    store = opener(KEY)
    ingest_file(store, EXAMPLES / "consignments.csv")
    ingest_file(store, EXAMPLES / "events.json")
    return store


def sql(store: Store, statement: str) -> None:
    with store.engine.begin() as conn:
        conn.execute(text(statement))


def test_a_keyed_store_signs_every_event_and_verifies(keyed: Store, tmp_path: Path) -> None:
    result = audit.verify_audit(keyed, full=True)
    assert (result.events, result.signed, result.key_checked) == (2, 2, True)
    anchor = audit.export_anchor(keyed, tmp_path / "a1.anchor")
    assert (anchor.seq, anchor.signed_event) == (2, True)
    assert audit.verify_audit(keyed, anchor_file=tmp_path / "a1.anchor").head_seq == 2
    with pytest.raises(InputError, match="never overwritten"):
        audit.export_anchor(keyed, tmp_path / "a1.anchor")


def test_deleting_every_event_is_detected_with_the_anchor(keyed: Store, tmp_path: Path) -> None:
    audit.export_anchor(keyed, tmp_path / "head.anchor")
    sql(keyed, "DELETE FROM audit_events")
    sql(keyed, "DELETE FROM audit_head")
    assert audit.verify_audit(keyed).events == 0  # without the anchor an empty trail is valid
    with pytest.raises(AuditChainError, match="anchored audit event 2 is no longer in the log"):
        audit.verify_audit(keyed, anchor_file=tmp_path / "head.anchor")


def test_deleting_the_tail_is_detected_with_the_anchor(
    keyed: Store, opener: Opener, tmp_path: Path
) -> None:
    audit.export_anchor(keyed, tmp_path / "head.anchor")
    sql(keyed, "DELETE FROM audit_events WHERE seq = 2")
    sql(
        keyed, "UPDATE audit_head SET seq = 1, hash = (SELECT hash FROM audit_events WHERE seq = 1)"
    )
    audit.verify_audit(opener(None))  # without the key the shortened chain is consistent
    with pytest.raises(AuditChainError, match="head's signature does not verify"):
        audit.verify_audit(keyed)  # the key alone: the head's signature covers seq and hash
    with pytest.raises(AuditChainError, match="anchored audit event 2"):
        audit.verify_audit(keyed, anchor_file=tmp_path / "head.anchor")


def test_an_event_appended_without_the_key_is_detected(keyed: Store, opener: Opener) -> None:
    keyless = opener(None)  # the attacker: the same database, no key
    with keyless.transaction() as conn:
        chain.append(conn, actor="mallory", action="import", object_type="x", object_id="1")
    audit.verify_audit(keyless)  # the hashes are right: without the key nothing shows
    with pytest.raises(AuditChainError, match="audit event 3 is not signed although"):
        audit.verify_audit(keyed)


def test_a_forged_signature_or_another_key_is_detected(keyed: Store, opener: Opener) -> None:
    other = opener(OTHER)
    with other.transaction() as conn:
        chain.append(conn, actor="mallory", action="import", object_type="x", object_id="1")
    with pytest.raises(AuditChainError, match="audit event 3 is signed with key"):
        audit.verify_audit(keyed)
    sql(keyed, f"UPDATE audit_events SET key_id = '{KEY.key_id}' WHERE seq = 3")
    with pytest.raises(AuditChainError, match="audit event 3 carries a signature that does not"):
        audit.verify_audit(keyed)


def test_stripping_the_signatures_is_detected_with_the_anchor(
    keyed: Store, opener: Opener, tmp_path: Path
) -> None:
    audit.export_anchor(keyed, tmp_path / "head.anchor")
    sql(keyed, "UPDATE audit_events SET mac = NULL, key_id = NULL")
    keyless = opener(None)
    with keyless.transaction() as conn:
        chain.append(conn, actor="mallory", action="import", object_type="x", object_id="1")
    with pytest.raises(AuditChainError, match="audit event 2 is not signed although"):
        audit.verify_audit(keyed)  # the signed head still says signing began at event 1


def test_a_trail_stripped_of_every_signature_and_rewritten_is_detected_by_the_key(
    keyed: Store, opener: Opener
) -> None:
    """Stripping every signature, the head's too, then appending without the key: the key
    alone refuses the unsigned head of a trail it signed (no anchor needed)."""
    sql(keyed, "UPDATE audit_events SET mac = NULL, key_id = NULL")
    sql(keyed, "UPDATE audit_head SET mac = NULL, signed_from = NULL")
    with opener(None).transaction() as conn:
        chain.append(conn, actor="mallory", action="import", object_type="x", object_id="1")
    audit.verify_audit(opener(None))  # consistent hashes: without the key nothing shows
    with pytest.raises(AuditChainError, match="audit head is not signed"):
        audit.verify_audit(keyed)


def test_an_anchor_needs_the_key_that_signed_it(
    keyed: Store, opener: Opener, tmp_path: Path
) -> None:
    audit.export_anchor(keyed, tmp_path / "head.anchor")
    with pytest.raises(InputError, match="needs the audit key"):
        audit.verify_audit(opener(None), anchor_file=tmp_path / "head.anchor")
    with pytest.raises(AuditChainError, match="signed with key"):
        audit.verify_audit(opener(OTHER), anchor_file=tmp_path / "head.anchor")
    with pytest.raises(ConfigurationError, match="needs the audit key"):
        audit.export_anchor(opener(None), tmp_path / "other.anchor")
    with pytest.raises(InputError, match="cannot read the anchor file"):
        audit.verify_audit(keyed, anchor_file=tmp_path / "missing.anchor")


AT = datetime(2026, 12, 7, 2, 0, tzinfo=UTC)
SIGNED = signing.sign_anchor(KEY, 41, "ab" * 32, AT, "cd" * 32, AT)


@settings(max_examples=500, deadline=None)
@given(position=st.integers(0, len(SIGNED) - 1), byte=st.integers(0, 255))
def test_any_byte_changed_in_a_signed_anchor_is_rejected(position: int, byte: int) -> None:
    assert signing.read_anchor(SIGNED, KEY, source="a").seq == 41
    changed = bytearray(SIGNED)
    if changed[position] == byte:
        byte ^= 0x01
    changed[position] = byte
    with pytest.raises((InputError, AuditChainError)):
        signing.read_anchor(bytes(changed), KEY, source="a")


@given(cut=st.integers(0, len(SIGNED) - 1), extra=st.binary(min_size=1, max_size=4))
def test_a_signed_anchor_cut_short_or_extended_is_rejected(cut: int, extra: bytes) -> None:
    for data in (SIGNED[:cut], SIGNED + extra, SIGNED[:cut] + extra + SIGNED[cut:]):
        with pytest.raises((InputError, AuditChainError)):
            signing.read_anchor(data, KEY, source="a")


def test_an_event_mac_changed_in_one_byte_is_rejected(keyed: Store) -> None:
    # One statement: two (to '0' unless '0', then '0' to '1') undid each other on a MAC that
    # began with '1', one time in sixteen.
    sql(keyed, "UPDATE audit_events SET mac = CASE WHEN substr(mac, 1, 1) = '0' THEN '1' "
               "ELSE '0' END || substr(mac, 2) WHERE seq = 1")  # fmt: skip
    with pytest.raises(AuditChainError, match="audit event 1 carries a signature that does not"):
        audit.verify_audit(keyed)


def test_a_short_or_missing_key_file_is_a_clear_configuration_error(tmp_path: Path) -> None:
    short = tmp_path / "short.key"
    short.write_bytes(b"too short\n")
    with pytest.raises(ConfigurationError, match="at least 32 bytes, it has 9"):
        signing.load_key(short)
    with pytest.raises(ConfigurationError, match="cannot read the audit key file"):
        signing.load_key(tmp_path / "none.key")
