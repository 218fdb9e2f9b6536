"""The exchange over the HTTP API, on SQLite and PostgreSQL: the inbox partners' nodes deliver
to (role partner_node), and the partner liaison's routes. NLRTM runs the application; BEANR is
a partner whose keys the test holds (exchange_support.Admin)."""

from __future__ import annotations

import base64
import json
import threading
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from exchange_support import SEIZURE, Admin
from fastapi.testclient import TestClient

from quaywatch.api.app import create_app
from quaywatch.config import Settings
from quaywatch.domain.access import ROLE_PERMISSIONS, Permission, Role
from quaywatch.errors import InputError
from quaywatch.services import accounts, exchange as ex
from quaywatch.store.store import Store

INBOX = "/api/v1/exchange/inbox"
LIAISON_ROUTES = [
    ("GET", INBOX), ("GET", "/api/v1/exchange/rejected"), ("GET", "/api/v1/exchange/outbox"),
    ("POST", "/api/v1/exchange/outbox"), ("GET", "/api/v1/exchange/partners"),
]  # fmt: skip


@dataclass
class Node:
    client: TestClient
    store: Store
    settings: Settings
    beanr: Admin
    made: dict[Role, dict[str, str]] = field(default_factory=dict)

    def headers(self, role: Role) -> dict[str, str]:
        if role not in self.made:
            name = f"{role.value.replace('_', '-')}-user"
            accounts.add_user(self.store, name, roles=[role], actor="admin")
            partner = "BEANR" if role is Role.PARTNER_NODE else None
            token = accounts.create_token(self.store, name, name="tests", partner=partner,
                                          actor="admin").token  # fmt: skip
            self.made[role] = {"Authorization": f"Bearer {token}"}
        return self.made[role]

    def deliver(self, content: bytes, role: Role = Role.PARTNER_NODE) -> dict[str, object]:
        answer = self.client.post(INBOX, content=content, headers=self.headers(role))
        assert answer.status_code == 200, answer.text
        return dict(answer.json())


@pytest.fixture
def node(store: Store, store_url: str, tmp_path: Path) -> Iterator[Node]:
    settings = Settings(database_url=store_url, model_dir=tmp_path / "models",
                        key_dir=tmp_path / "keys")  # fmt: skip
    ex.generate_keys(store, settings.key_dir, "NLRTM", actor="liaison")
    beanr = Admin.new("BEANR")
    root_file = tmp_path / "beanr-root.jsonl"
    root_file.write_text("".join(json.dumps(signed.to_json()) + "\n" for _, signed in beanr.chain))
    ex.add_partner(store, root_file, actor="liaison")
    with TestClient(create_app(settings, store=store), base_url="https://testserver") as client:
        yield Node(client, store, settings, beanr)


def _tampered(record: bytes) -> bytes:
    data = json.loads(record)
    payload = base64.b64decode(data["envelope"]["payload"]).replace(b"412.5", b"41.25")
    data["envelope"]["payload"] = base64.b64encode(payload).decode("ascii")
    return json.dumps(data).encode()


def test_a_partner_node_delivers_and_each_record_gets_its_outcome(node: Node) -> None:
    good = node.beanr.message("NLRTM")
    first = node.deliver(good)
    assert first["accepted"] == 1 and first["outcomes"][0]["status"] == "accepted"  # type: ignore[index]
    again = node.deliver(good)
    assert again["outcomes"][0]["status"] == "duplicate"  # type: ignore[index]

    # An array: a tampered record, one for another administration, one new and good.
    other = node.beanr.message("DEHAM")
    fresh = node.beanr.message("NLRTM")
    array = b"[" + b",".join([_tampered(node.beanr.message("NLRTM")), other, fresh]) + b"]"
    answer = node.deliver(array)
    assert [(o["status"], o["reason"]) for o in answer["outcomes"]] == [  # type: ignore[attr-defined]
        ("rejected", "payload_altered"), ("rejected", "wrong_recipient"), ("accepted", None),
    ]  # fmt: skip
    # JSON Lines, with garbage on one line: refused as malformed, kept with its bytes.
    lines = node.deliver(fresh + b"\n" + b"not a record\n")
    assert [o["status"] for o in lines["outcomes"]] == ["duplicate", "rejected"]  # type: ignore[attr-defined]
    assert lines["outcomes"][1]["reason"] == "malformed"  # type: ignore[index]

    liaison = node.headers(Role.PARTNER_LIAISON)
    inbox = node.client.get(INBOX, headers=liaison).json()
    assert sorted(m["message_id"] for m in inbox) == sorted(
        json.loads(base64.b64decode(json.loads(r)["envelope"]["payload"]))["header"]["message_id"]
        for r in (good, fresh)
    )
    assert json.loads(inbox[0]["payload"])["body"]["case_reference"] == SEIZURE["case_reference"]
    refused = node.client.get("/api/v1/exchange/rejected", headers=liaison).json()
    assert sorted(r["reason"] for r in refused) == ["malformed", "payload_altered",
                                                    "wrong_recipient"]  # fmt: skip
    garbage = next(r for r in refused if r["reason"] == "malformed")
    assert base64.b64decode(garbage["raw_base64"]) == b"not a record"
    assert garbage["source"].startswith("http:partner-node-user#")


def test_the_same_message_posted_at_once_by_several_pushes_is_stored_once(node: Node) -> None:
    record = node.beanr.message("NLRTM")
    start = threading.Barrier(4)
    found: list[str] = []

    def post() -> None:
        start.wait()
        (outcome,) = ex.receive_posted(node.store, [("http:race#1", record)], actor="race")
        found.append(outcome.status)

    threads = [threading.Thread(target=post) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert sorted(found) == ["accepted", "duplicate", "duplicate", "duplicate"]
    assert len(ex.inbox(node.store).received) == 1
    assert ex.inbox(node.store).rejected == ()


def test_the_inbox_endpoint_refuses_bad_bodies_with_problem_details(node: Node) -> None:
    headers = node.headers(Role.PARTNER_NODE)
    for body in (b"", b"[1, 2", b"[" + b",".join([b"{}"] * (ex.MAX_POSTED_RECORDS + 1)) + b"]"):
        answer = node.client.post(INBOX, content=body, headers=headers)
        assert answer.status_code == 422, answer.text
        assert answer.headers["content-type"].startswith("application/problem+json")
    unauthenticated = node.client.post(INBOX, content=node.beanr.message("NLRTM"))
    assert unauthenticated.status_code == 401


@pytest.mark.parametrize("role", [r for r in Role if r is not Role.PARTNER_NODE])
def test_only_a_partner_node_may_deliver(node: Node, role: Role) -> None:
    answer = node.client.post(INBOX, content=node.beanr.message("NLRTM"),
                              headers=node.headers(role))  # fmt: skip
    assert answer.status_code == 403, answer.text
    assert "exchange:deliver" in answer.json()["detail"]
    assert node.client.get(INBOX, headers=node.headers(Role.PARTNER_LIAISON)).json() == []


@pytest.mark.parametrize(
    "role", [r for r in Role if Permission.EXCHANGE not in ROLE_PERMISSIONS[r]]
)
def test_only_the_partner_liaison_reads_and_sends(node: Node, role: Role) -> None:
    for method, path in LIAISON_ROUTES:
        body = {"to": "BEANR", "type": "seizure-report", "body": SEIZURE}
        answer = node.client.request(method, path, headers=node.headers(role),
                                     json=body if method == "POST" else None)  # fmt: skip
        assert answer.status_code == 403, (method, path, answer.text)
        assert answer.json()["type"] == "urn:quaywatch:problem:forbidden"


def test_the_liaison_sends_and_follows_the_outbox(node: Node) -> None:
    liaison = node.headers(Role.PARTNER_LIAISON)
    sent = node.client.post("/api/v1/exchange/outbox", headers=liaison, json={
        "to": "BEANR", "type": "seizure-report", "body": SEIZURE})  # fmt: skip
    assert sent.status_code == 201, sent.text
    assert sent.json()["delivery"] == "queued" and sent.json()["push_attempts"] == 0
    outbox = node.client.get("/api/v1/exchange/outbox", headers=liaison).json()
    assert [m["message_id"] for m in outbox] == [sent.json()["message_id"]]

    wrong = node.client.post("/api/v1/exchange/outbox", headers=liaison, json={
        "to": "BEANR", "type": "seizure-report", "body": {**SEIZURE, "containers": ["CSQU3054384"]}})  # fmt: skip
    assert wrong.status_code == 422, wrong.text
    assert "containers.0" in wrong.json()["detail"] and "check digit" in wrong.json()["detail"]
    assert len(node.client.get("/api/v1/exchange/outbox", headers=liaison).json()) == 1
    unknown = node.client.post("/api/v1/exchange/outbox", headers=liaison, json={
        "to": "DEHAM", "type": "seizure-report", "body": SEIZURE})  # fmt: skip
    assert unknown.status_code == 404 and unknown.json()["detail"].startswith("no partner DEHAM")

    (partner,) = node.client.get("/api/v1/exchange/partners", headers=liaison).json()
    assert partner["administration"] == "BEANR" and partner["inbox_url"] is None
    assert partner["key_ids"] == [k.keyid for k in node.beanr.root.keys]
    ex.set_inbox_url(node.store, node.settings.key_dir, "BEANR", "https://beanr.example/",
                     token="qw_x_y", actor="liaison")  # fmt: skip
    (partner,) = node.client.get("/api/v1/exchange/partners", headers=liaison).json()
    assert partner["inbox_url"] == "https://beanr.example/"


def test_the_openapi_document_shows_the_exchange_routes_with_examples(node: Node) -> None:
    document = node.client.get("/openapi.json").json()
    deliver = document["paths"][INBOX]["post"]
    assert deliver["x-permission"] == "exchange:deliver"
    examples = deliver["requestBody"]["content"]["application/json"]["examples"]
    assert examples["one"]["value"]["format"] == "quaywatch-exchange/1"
    assert document["paths"]["/api/v1/exchange/outbox"]["post"]["x-permission"] == "exchange"


def test_a_partner_node_token_delivers_its_partners_messages_only(node: Node) -> None:
    deham = Admin.new("DEHAM")
    root_file = node.settings.key_dir.parent / "deham-root.jsonl"
    root_file.write_text("".join(json.dumps(signed.to_json()) + "\n" for _, signed in deham.chain))
    ex.add_partner(node.store, root_file, actor="liaison")
    # BEANR's node relays a message DEHAM signed: refused whole, nothing of the post stored.
    own = node.beanr.message("NLRTM")
    relayed = deham.message("NLRTM")
    answer = node.client.post(INBOX, content=own + b"\n" + relayed,
                              headers=node.headers(Role.PARTNER_NODE))  # fmt: skip
    assert answer.status_code == 403, answer.text
    assert answer.headers["content-type"].startswith("application/problem+json")
    assert "signed by DEHAM" in answer.json()["detail"]
    assert ex.inbox(node.store).received == () and ex.inbox(node.store).rejected == ()
    # A partner_node token needs its partner; one bound to DEHAM delivers DEHAM's.
    accounts.add_user(node.store, "deham-node", roles=[Role.PARTNER_NODE], actor="admin")
    with pytest.raises(InputError, match="partner"):
        accounts.create_token(node.store, "deham-node", name="push", actor="admin")
    token = accounts.create_token(node.store, "deham-node", name="push", partner="deham",
                                  actor="admin")  # fmt: skip
    assert token.info.partner == "DEHAM"
    answer = node.client.post(INBOX, content=relayed,
                              headers={"Authorization": f"Bearer {token.token}"})  # fmt: skip
    assert answer.json()["accepted"] == 1
    assert node.deliver(own)["accepted"] == 1


def test_the_same_message_id_from_two_partners_is_two_messages_and_a_replay_is_refused(
    node: Node,
) -> None:
    deham = Admin.new("DEHAM")
    root_file = node.settings.key_dir.parent / "deham-root.jsonl"
    root_file.write_text("".join(json.dumps(signed.to_json()) + "\n" for _, signed in deham.chain))
    ex.add_partner(node.store, root_file, actor="liaison")
    shared_id = str(uuid.uuid4())
    assert node.deliver(node.beanr.message("NLRTM", message_id=shared_id))["accepted"] == 1
    imported = node.settings.key_dir.parent / "deham.jsonl"
    imported.write_bytes(deham.message("NLRTM", message_id=shared_id) + b"\n")
    assert ex.import_file(node.store, imported, actor="liaison").count("accepted") == 1
    assert sorted(m.sender for m in ex.inbox(node.store).received) == ["BEANR", "DEHAM"]
    replay = node.beanr.message("NLRTM", {**SEIZURE, "quantity": 1.0}, message_id=shared_id)
    assert node.deliver(replay)["outcomes"][0]["reason"] == "replayed"  # type: ignore[index]
