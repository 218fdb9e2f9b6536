"""Two administrations, BEANR and NLRTM, each with its own store, exchanging through files.

Every case runs on SQLite and on PostgreSQL (two schemas of the test server).
"""

from __future__ import annotations

import json
import os
import stat
from collections.abc import Iterator
from contextlib import ExitStack
from datetime import timedelta
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from exchange_support import NOW, SEIZURE
from sqlalchemy import func, select

from pg_support import pg_schema_url
from quaywatch.audit import chain
from quaywatch.errors import (
    ConfigurationError,
    ConflictError,
    InputError,
    NotFoundError,
    TrustError,
)
from quaywatch.exchange import envelope as dsse, roots
from quaywatch.exchange.keys import KeyDir
from quaywatch.services import exchange as ex
from quaywatch.store import tables
from quaywatch.store.store import Store


class Node:
    """One administration: its store, key directory and folder."""

    def __init__(self, code: str, url: str, folder: Path) -> None:
        self.code, self.folder = code, folder
        self.store = Store.open(url)
        self.keys = folder / "keys"

    def file(self, name: str) -> Path:
        return self.folder / name


@pytest.fixture(params=["sqlite", "postgresql"])
def nodes(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[Node, Node]]:
    with ExitStack() as stack:
        made = []
        for code in ("BEANR", "NLRTM"):
            folder = tmp_path / code
            folder.mkdir()
            url = (
                f"sqlite:///{folder / 'quaywatch.db'}"
                if request.param == "sqlite"
                else stack.enter_context(pg_schema_url())
            )
            node = Node(code, url, folder)
            stack.callback(node.store.close)
            made.append(node)
        yield made[0], made[1]


def trusted(a: Node, b: Node) -> None:
    """Keys for both, and each trusts the other from its root file."""
    for node in (a, b):
        ex.generate_keys(node.store, node.keys, node.code, actor="liaison", now=NOW)
        ex.export_root(node.store, node.file("root.jsonl"))
    ex.add_partner(b.store, a.file("root.jsonl"), actor="liaison", now=NOW)
    ex.add_partner(a.store, b.file("root.jsonl"), actor="liaison", now=NOW)


def send_seizure(a: Node, to: str = "NLRTM") -> ex.OutboxEntry:
    body = a.file("seizure.json")
    body.write_text(json.dumps(SEIZURE))
    return ex.send(a.store, a.keys, to, "seizure-report", body, actor="ana", now=NOW)


def count(store: Store, table: object) -> int:
    with store.reading() as conn:
        return int(conn.execute(select(func.count()).select_from(table)).scalar_one())  # type: ignore[arg-type]


def audited(store: Store, action: str) -> list[chain.AuditEvent]:
    with store.reading() as conn:
        rows = conn.execute(
            select(tables.audit_events).where(tables.audit_events.c.action == action)
        )
        return [chain.AuditEvent(r.seq, r.at, r.actor, r.action, r.object_type, r.object_id,
                                 json.loads(r.details), r.prev_hash, r.hash) for r in rows]  # fmt: skip


def test_a_seizure_report_goes_from_beanr_to_nlrtm_through_a_file(nodes: tuple[Node, Node]) -> None:
    a, b = nodes
    trusted(a, b)
    sent = send_seizure(a)
    assert [e.message_id for e in ex.outbox(a.store)] == [sent.message_id]
    exported = ex.export(a.store, a.keys, a.file("out.jsonl"), actor="ana", now=NOW)
    assert exported.messages == 1
    assert ex.outbox(a.store)[0].exported_at == NOW

    summary = ex.import_file(b.store, a.file("out.jsonl"), actor="ben", now=NOW)
    assert [(o.status, o.message_id) for o in summary.outcomes] == [("accepted", sent.message_id)]
    inbox = ex.inbox(b.store)
    assert inbox.rejected == ()
    (got,) = inbox.received
    assert (got.message_id, got.sender, got.message_type) == (
        sent.message_id,
        "BEANR",
        "seizure-report",
    )
    assert json.loads(got.payload)["body"]["case_reference"] == "BEANR-2026-0042"
    assert [e.object_id for e in audited(b.store, "exchange_accept")] == [sent.message_id]
    with b.store.reading() as conn:
        assert chain.verify(conn).events >= 2

    # The same file again, and the export written again: stored once, nothing rejected.
    ex.export(a.store, a.keys, a.file("again.jsonl"), again=True, actor="ana", now=NOW)
    for name in ("out.jsonl", "again.jsonl"):
        again = ex.import_file(b.store, a.file(name), actor="ben", now=NOW)
        assert [o.status for o in again.outcomes] == ["duplicate"]
    assert count(b.store, tables.exchange_received) == 1
    assert count(b.store, tables.exchange_rejected) == 0
    # Nothing new to export.
    assert ex.export(a.store, a.keys, a.file("none.jsonl"), actor="ana").messages == 0


def test_rejected_records_are_kept_with_reason_and_bytes_once(nodes: tuple[Node, Node]) -> None:
    a, b = nodes
    trusted(a, b)
    send_seizure(a)
    ex.export(a.store, a.keys, a.file("out.jsonl"), actor="ana", now=NOW)
    good = a.file("out.jsonl").read_bytes().strip()
    record = json.loads(good)
    payload = dsse.from_json(record["envelope"]).payload.replace(b"412.5", b"999.9")
    record["envelope"]["payload"] = dsse.Envelope("t", payload, ()).to_json()["payload"]
    tampered = json.dumps(record).encode()
    garbage = b"\x1b[31mnot a record\x00"
    b.file("in.jsonl").write_bytes(b"\n".join([tampered, garbage, good]) + b"\n")
    for _ in range(2):
        summary = ex.import_file(b.store, b.file("in.jsonl"), actor="ben", now=NOW)
        assert [o.reason for o in summary.outcomes] == ["payload_altered", "malformed", None]
    rejected = ex.inbox(b.store).rejected
    assert sorted(r.reason for r in rejected) == ["malformed", "payload_altered"]
    assert {r.raw for r in rejected} == {tampered, garbage}
    assert count(b.store, tables.exchange_received) == 1
    assert len(audited(b.store, "exchange_reject")) == 2


def test_replayed_message_id_with_other_content_is_refused(nodes: tuple[Node, Node]) -> None:
    a, b = nodes
    trusted(a, b)
    sent = send_seizure(a)
    ex.export(a.store, a.keys, a.file("out.jsonl"), actor="ana", now=NOW)
    ex.import_file(b.store, a.file("out.jsonl"), actor="ben", now=NOW)
    # BEANR's own key signs a second message reusing the id (a replay with other content).
    first = json.loads(a.file("out.jsonl").read_bytes())
    payload = dsse.from_json(first["envelope"]).payload.replace(b"412.5", b"1.5")
    key = KeyDir(a.keys).load(ex.own_keys(a.store).root.keys[0].keyid)
    replay = dsse.sign(first["envelope"]["payloadType"], payload, [key])
    a.file("replay.jsonl").write_bytes(dsse.record_line(replay) + b"\n")
    summary = ex.import_file(b.store, a.file("replay.jsonl"), actor="ben", now=NOW)
    assert [(o.reason, o.message_id) for o in summary.outcomes] == [("replayed", sent.message_id)]
    assert count(b.store, tables.exchange_received) == 1


def test_rotation_revocation_and_expiry_between_two_nodes(nodes: tuple[Node, Node]) -> None:
    a, b = nodes
    trusted(a, b)
    send_seizure(a)
    ex.export(a.store, a.keys, a.file("before.jsonl"), actor="ana", now=NOW)
    ex.rotate_keys(a.store, a.keys, count=2, threshold=2, actor="ana", now=NOW)
    send_seizure(a)
    ex.export(a.store, a.keys, a.file("after.jsonl"), actor="ana", now=NOW)
    # NLRTM has not taken BEANR's new root: the new key is unknown to it.
    assert [
        o.reason
        for o in ex.import_file(b.store, a.file("after.jsonl"), actor="ben", now=NOW).outcomes
    ] == ["unknown_sender"]
    ex.export_root(a.store, a.file("root.jsonl"))
    added = ex.add_partner(b.store, a.file("root.jsonl"), actor="ben", now=NOW)
    assert (added.new_roots, added.partner.root.root.version) == (1, 2)
    outcomes = ex.import_file(b.store, a.file("after.jsonl"), actor="ben", now=NOW).outcomes
    assert [o.status for o in outcomes] == ["accepted"]
    before = ex.import_file(b.store, a.file("before.jsonl"), actor="ben", now=NOW).outcomes
    assert [o.reason for o in before] == ["superseded_key"]
    # A message queued before the rotation is signed again with the new key when exported.
    again = ex.export(a.store, a.keys, a.file("both.jsonl"), again=True, actor="ana", now=NOW)
    assert again.messages == 2
    statuses = [
        o.status
        for o in ex.import_file(b.store, a.file("both.jsonl"), actor="ben", now=NOW).outcomes
    ]
    assert sorted(statuses) == ["accepted", "duplicate"]
    # Expired: a day after the message's validity.
    send_seizure(a)
    ex.export(a.store, a.keys, a.file("late.jsonl"), actor="ana", now=NOW)
    late = NOW + timedelta(days=31)
    assert [
        o.reason
        for o in ex.import_file(b.store, a.file("late.jsonl"), actor="ben", now=late).outcomes
    ] == ["expired"]
    # Revoked: one key, then the partner.
    key = ex.own_keys(a.store).root.keys[0].keyid
    ex.revoke(b.store, "BEANR", key_id=key, reason="key lost", actor="ben", now=NOW)
    assert [
        o.reason
        for o in ex.import_file(b.store, a.file("late.jsonl"), actor="ben", now=NOW).outcomes
    ] == ["revoked_key"]
    ex.revoke(b.store, "BEANR", reason="agreement ended", actor="ben", now=NOW)
    partner = ex.list_partners(b.store)[0]
    assert partner.revoked_at == NOW and partner.revoked_keys == (key,)
    with pytest.raises(ConflictError, match="revoked"):
        ex.add_partner(b.store, a.file("root.jsonl"), actor="ben", now=NOW)
    # A message to NLRTM's own administration code from NLRTM itself is no partner's.
    with pytest.raises(ConflictError, match="this administration"):
        ex.add_partner(b.store, b.file("root.jsonl"), actor="ben", now=NOW)


def test_a_root_signed_without_the_old_keys_is_refused(nodes: tuple[Node, Node]) -> None:
    a, b = nodes
    trusted(a, b)
    # An impostor makes a BEANR root version 2 with keys of its own, in another store.
    impostor = Node("BEANR", f"sqlite:///{b.folder / 'impostor.db'}", b.folder / "..")
    impostor.keys = b.folder / "impostor-keys"
    ex.generate_keys(impostor.store, impostor.keys, "BEANR", actor="x", now=NOW)
    ex.rotate_keys(impostor.store, impostor.keys, actor="x", now=NOW)
    ex.export_root(impostor.store, b.file("impostor.jsonl"))
    impostor.store.close()
    with pytest.raises(TrustError, match="keys of version 1"):
        ex.add_partner(b.store, b.file("impostor.jsonl"), actor="ben", now=NOW)
    assert ex.list_partners(b.store)[0].root.root.version == 1


def test_keys_live_in_files_of_mode_0600_never_in_the_store(nodes: tuple[Node, Node]) -> None:
    a, _ = nodes
    stored = ex.generate_keys(a.store, a.keys, "BEANR", count=2, threshold=1, actor="ana", now=NOW)
    files = sorted(a.keys.iterdir())
    assert [f.stem for f in files] == sorted(k.keyid for k in stored.root.keys)
    assert all(stat.S_IMODE(f.stat().st_mode) == 0o600 for f in files)
    assert stat.S_IMODE(a.keys.stat().st_mode) == 0o700
    with a.store.reading() as conn:
        text = json.dumps([list(map(str, r)) for r in conn.execute(select(tables.exchange_roots))])
    for f in files:
        secret = f.read_text().splitlines()[1]
        assert secret not in text
    os.chmod(files[0], 0o644)
    os.chmod(files[1], 0o644)
    with pytest.raises(ConflictError):
        ex.generate_keys(a.store, a.keys, "BEANR", actor="ana", now=NOW)
    with pytest.raises(ConfigurationError, match="chmod 600"):
        ex.rotate_keys(a.store, a.keys, actor="ana", now=NOW)


def test_send_names_the_bad_field_and_the_unknown_type(nodes: tuple[Node, Node]) -> None:
    a, b = nodes
    trusted(a, b)
    bad = a.file("bad.json")
    bad.write_text(json.dumps({**SEIZURE, "unit": "TONS"}))
    with pytest.raises(InputError, match=r"bad.json: field unit: Input should be 'KGM'"):
        ex.send(a.store, a.keys, "NLRTM", "seizure-report", bad, actor="ana")
    with pytest.raises(InputError, match="unknown message type 'seizure'"):
        ex.send(a.store, a.keys, "NLRTM", "seizure", bad, actor="ana")
    assert ex.outbox(a.store) == ()


ALERT = {
    "mrn": "26BE00000000012345",
    "transport_documents": [{"level": "MASTER", "reference": "MAEU123456789"}],
    "containers": ["CSQU3054383"],
    "risk_area": "DRUGS",
    "result": "CONTROL_AT_FIRST_ENTRY",
    "reasons": {"profile_ids": ["COC-001"], "model_version": "m-2026-11", "score_band": "HIGH"},
    "recommended_control": "SCAN",
    "office_of_control": "NL000396",
    "valid_until": "2026-12-20T00:00:00Z",
    "feedback_due_by": "2026-12-14T00:00:00Z",
}


def test_feedback_on_a_risk_analysis_result_comes_back_and_the_sender_sees_it(
    nodes: tuple[Node, Node],
) -> None:
    a, b = nodes
    trusted(a, b)
    a.file("alert.json").write_text(json.dumps(ALERT))
    alert = ex.send(a.store, a.keys, "NLRTM", "risk-analysis-result", a.file("alert.json"),
                    actor="ana", now=NOW)  # fmt: skip
    ex.export(a.store, a.keys, a.file("out.jsonl"), actor="ana", now=NOW)
    ex.import_file(b.store, a.file("out.jsonl"), actor="ben", now=NOW)
    (owed,) = ex.outbox(a.store)
    assert owed.feedback(NOW) == "due"
    assert owed.feedback(NOW + timedelta(days=8)) == "overdue"

    b.file("feedback.json").write_text(json.dumps({
        "action_taken": "CONTROLLED", "result": "SEIZURE", "text": "212 kg in the reefer unit",
    }))  # fmt: skip
    ex.send(b.store, b.keys, "BEANR", "feedback", b.file("feedback.json"),
            in_reply_to=alert.message_id, actor="ben", now=NOW)  # fmt: skip
    ex.export(b.store, b.keys, b.file("out.jsonl"), actor="ben", now=NOW)
    assert [
        o.status
        for o in ex.import_file(a.store, b.file("out.jsonl"), actor="ana", now=NOW).outcomes
    ] == ["accepted"]
    (answered,) = ex.outbox(a.store)
    assert answered.feedback(NOW + timedelta(days=8)) == "received"
    assert answered.feedback_from == (ex.inbox(a.store).received[0].message_id,)


def test_a_revoked_key_cannot_help_sign_the_partners_next_root(nodes: tuple[Node, Node]) -> None:
    a, b = nodes
    for node in (a, b):
        ex.generate_keys(node.store, node.keys, node.code, count=2, threshold=1, actor="l",
                         now=NOW)  # fmt: skip
        ex.export_root(node.store, node.file("root.jsonl"))
    ex.add_partner(b.store, a.file("root.jsonl"), actor="ben", now=NOW)
    v1 = ex.own_keys(a.store).root
    stolen = v1.keys[0].keyid
    ex.revoke(b.store, "BEANR", key_id=stolen, reason="laptop stolen", actor="ben", now=NOW)
    # The thief makes root version 2 with a key of its own, signed with the stolen key.
    thief = Ed25519PrivateKey.generate()
    v2 = roots.make_root("BEANR", 2, [thief.public_key()], threshold=1, issued_at=NOW,
                         expires_at=NOW + timedelta(days=30))  # fmt: skip
    forged = roots.sign_root(v2, [KeyDir(a.keys).load(stolen), thief])
    line = json.dumps(forged.to_json()).encode()
    a.file("forged.jsonl").write_bytes(a.file("root.jsonl").read_bytes().rstrip() + b"\n" + line)
    with pytest.raises(TrustError, match="keys of version 1 not revoked"):
        ex.add_partner(b.store, a.file("forged.jsonl"), actor="ben", now=NOW)
    assert ex.list_partners(b.store)[0].root.root.version == 1


def test_set_url_keeps_a_token_only_once_the_partner_and_url_are_taken(
    nodes: tuple[Node, Node],
) -> None:
    a, b = nodes
    trusted(a, b)
    tokens = a.keys / "push-tokens"
    with pytest.raises(NotFoundError, match="no partner DEHAM"):
        ex.set_inbox_url(a.store, a.keys, "DEHAM", "https://deham.example/", token="t0k",
                         actor="ana", now=NOW)  # fmt: skip
    with pytest.raises(InputError, match="plain http"):
        ex.set_inbox_url(a.store, a.keys, "NLRTM", "http://nlrtm.example/", token="t0k",
                         actor="ana", now=NOW)  # fmt: skip
    with pytest.raises(InputError, match="needs the inbox URL"):
        ex.set_inbox_url(a.store, a.keys, "NLRTM", None, token="t0k", actor="ana", now=NOW)
    assert not tokens.exists() or list(tokens.iterdir()) == []
    partner = ex.set_inbox_url(a.store, a.keys, "NLRTM", "https://nlrtm.example/", token="t0k",
                               actor="ana", now=NOW)  # fmt: skip
    assert partner.inbox_url == "https://nlrtm.example/"
    assert KeyDir(a.keys).push_token("NLRTM") == "t0k"


def test_a_message_id_another_sender_used_is_another_message(
    nodes: tuple[Node, Node], tmp_path: Path
) -> None:
    a, b = nodes
    trusted(a, b)
    sent = send_seizure(a)
    ex.export(a.store, a.keys, a.file("out.jsonl"), actor="ana", now=NOW)
    ex.import_file(b.store, a.file("out.jsonl"), actor="ben", now=NOW)
    # A third administration, trusted by NLRTM, sends a message reusing BEANR's id.
    c = Node("DEHAM", f"sqlite:///{tmp_path / 'deham.db'}", tmp_path)
    try:
        ex.generate_keys(c.store, tmp_path / "deham-keys", "DEHAM", actor="d", now=NOW)
        ex.export_root(c.store, tmp_path / "deham.root")
        ex.add_partner(b.store, tmp_path / "deham.root", actor="ben", now=NOW)
        first = json.loads(a.file("out.jsonl").read_bytes())
        payload = dsse.from_json(first["envelope"]).payload.replace(b'"BEANR"', b'"DEHAM"')
        assert b'"DEHAM"' in payload
        key = KeyDir(tmp_path / "deham-keys").load(ex.own_keys(c.store).root.keys[0].keyid)
        other = dsse.sign(first["envelope"]["payloadType"], payload, [key])
        (tmp_path / "other.jsonl").write_bytes(dsse.record_line(other) + b"\n")
        [outcome] = ex.import_file(b.store, tmp_path / "other.jsonl", actor="ben",
                                   now=NOW).outcomes  # fmt: skip
    finally:
        c.store.close()
    # A message id is its sender's to give: DEHAM's message is stored beside BEANR's.
    assert (outcome.status, outcome.message_id) == ("accepted", sent.message_id)
    assert sorted(m.sender for m in ex.inbox(b.store).received) == ["BEANR", "DEHAM"]
