"""Two quaywatch services, BEANR (A) and NLRTM (B), each with its own store, exchanging signed
messages over real HTTP on loopback: the outbox pushed with retries and backoff, B down and
back, A stopped mid-send, feedback coming back, and every kind of bad message refused with its
reason. On SQLite and on PostgreSQL (two schemas of the test server)."""

from __future__ import annotations

import base64
import json
import socket
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx2
import polars as pl
import pytest
import uvicorn
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import func, select

from pg_support import pg_schema_url
from quaywatch.api.app import create_app
from quaywatch.config import Settings
from quaywatch.domain.access import Role
from quaywatch.exchange import envelope as dsse, messages, push
from quaywatch.exchange.keys import KeyDir
from quaywatch.intake.pipeline import ingest_file
from quaywatch.risk import explain
from quaywatch.services import accounts, exchange as ex, risk
from quaywatch.services.exchange_push import Backoff, push_once
from quaywatch.store import reads, tables
from quaywatch.store.store import Store
from quaywatch.synth import portday
from small_models import train_small

SEIZURE: dict[str, Any] = {
    "containers": ["CSQU3054383"], "case_reference": "BEANR-2026-0042",
    "seizure_date": "2026-12-05T10:00:00Z", "place": "BEANR", "hs_code": "080390",
    "goods_description": "cocaine in banana boxes", "quantity": 412.5, "unit": "KGM",
    "concealment": "RIP_ON_RIP_OFF", "detection_method": "NII_SCAN", "vessel_imo": "9074729",
    "voyage": "123W", "route": ["ECGYE", "BEANR"],
}  # fmt: skip
ALERT: dict[str, Any] = {
    "mrn": "26BE00000000012345", "containers": ["CSQU3054383"], "risk_area": "DRUGS",
    "result": "CONTROL_AT_FIRST_ENTRY", "reasons": {"profile_ids": ["COC-001"],
    "score_band": "HIGH"}, "recommended_control": "SCAN", "valid_until": "2027-01-20T00:00:00Z",
    "feedback_due_by": "2027-01-14T00:00:00Z",
}  # fmt: skip
BACKOFF = Backoff(base_s=1.0, max_s=8.0, lease_s=30.0)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Node:
    """One administration's service: store, key directory, port, and its users' tokens."""

    code: str
    url: str
    store: Store
    keys: Path
    port: int
    liaison: dict[str, str]

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def settings(self, **extra: Any) -> Settings:
        return Settings(database_url=self.url, key_dir=self.keys,
                        model_dir=self.keys.parent / "models", **extra)  # fmt: skip

    def api(self, method: str, path: str, **kwargs: Any) -> Any:
        answer = httpx2.request(method, self.base + path, headers=self.liaison, timeout=30,
                                **kwargs)  # fmt: skip
        assert answer.status_code < 300, answer.text
        return answer.json()


def _token(store: Store, user: str, role: Role, partner: str | None = None) -> str:
    accounts.add_user(store, user, roles=[role], actor="admin")
    return accounts.create_token(store, user, name="exchange", partner=partner,
                                 actor="admin").token  # fmt: skip


@contextmanager
def serving(node: Node, **settings: Any) -> Iterator[None]:
    """``node``'s service under uvicorn on its own port until the block ends (a node stopped
    and started again answers on the same address, as a partner's URL expects)."""
    app = create_app(node.settings(**settings), store=node.store)
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=node.port,
                                           log_level="warning", lifespan="on"))  # fmt: skip
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        assert time.monotonic() < deadline and thread.is_alive(), "server did not start"
        time.sleep(0.05)
    try:
        yield
    finally:
        server.should_exit = True
        thread.join(timeout=20)


@pytest.fixture(params=["sqlite", "postgresql"])
def nodes(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[Node, Node]]:
    """BEANR and NLRTM with keys, each trusting the other, each node holding a partner_node
    token the other issued it, and the inbox URL of the other."""
    with ExitStack() as stack:
        made: list[Node] = []
        for code in ("BEANR", "NLRTM"):
            folder = tmp_path / code
            folder.mkdir()
            url = (f"sqlite:///{folder / 'quaywatch.db'}" if request.param == "sqlite"
                   else stack.enter_context(pg_schema_url()))  # fmt: skip
            store = Store.open(url)
            stack.callback(store.close)
            keys = folder / "keys"
            ex.generate_keys(store, keys, code, actor="liaison")
            ex.export_root(store, folder / "root.jsonl")
            liaison = {"Authorization": f"Bearer {_token(store, 'liaison', Role.PARTNER_LIAISON)}"}
            made.append(Node(code, url, store, keys, _free_port(), liaison))
        a, b = made
        for here, there in ((a, b), (b, a)):
            ex.add_partner(here.store, there.keys.parent / "root.jsonl", actor="liaison")
        for here, there in ((a, b), (b, a)):  # a token is bound to a registered partner
            issued = _token(there.store, f"{here.code.lower()}-node", Role.PARTNER_NODE,
                            partner=here.code)  # fmt: skip
            ex.set_inbox_url(here.store, here.keys, there.code, there.base, token=issued,
                             actor="liaison")  # fmt: skip
        yield a, b


def _rows(store: Store, message_id: str) -> int:
    t = tables.exchange_received
    with store.reading() as conn:
        return int(conn.execute(select(func.count()).where(t.c.message_id == message_id))
                   .scalar_one())  # fmt: skip


def _outbox(node: Node) -> dict[str, dict[str, Any]]:
    return {m["message_id"]: m for m in node.api("GET", "/api/v1/exchange/outbox")}


def _signed(key: Ed25519PrivateKey, to: str, body: dict[str, Any] | None = None, *,
            message_id: str | None = None, expires_at: datetime | None = None) -> bytes:  # fmt: skip
    """A transport record of a seizure report from BEANR signed with ``key``."""
    now = datetime.now(UTC)
    header = messages.Header(
        message_id=message_id or str(uuid.uuid4()),
        message_type=messages.MessageType.SEIZURE_REPORT, sender="BEANR", recipient=to,
        issued_at=now - timedelta(days=2), expires_at=expires_at or now + timedelta(days=5),
    )  # fmt: skip
    body_model = messages.BODIES[messages.MessageType.SEIZURE_REPORT].model_validate(
        body or SEIZURE
    )
    payload = messages.encode(header, body_model)
    kind = messages.payload_type(messages.MessageType.SEIZURE_REPORT)
    return dsse.record_line(dsse.sign(kind, payload, [key]))


def _tampered(record: bytes) -> bytes:
    data = json.loads(record)
    payload = base64.b64decode(data["envelope"]["payload"]).replace(b"412.5", b"41.25")
    data["envelope"]["payload"] = base64.b64encode(payload).decode("ascii")
    return json.dumps(data).encode()


def _assessed(b: Node, models: Path, consignment_id: str) -> tuple[float, list[str]]:
    """B's scoring run (what has not been assessed, or is due again): the score of
    ``consignment_id`` in it and the texts of its partner reasons."""
    run = risk.score_period(b.store, model_path=models, explain_all=True, actor="scoring")
    row = reads.latest_assessments(b.store, run_id=run.run_id).filter(
        pl.col("consignment_id") == consignment_id).row(0, named=True)  # fmt: skip
    reasons = explain.from_json(row["reasons"])
    return row["score"], [r.text for r in reasons if r.source is explain.Source.PARTNER]


@pytest.mark.slow
def test_two_nodes_exchange_over_http_with_retries_restarts_and_refusals(
    nodes: tuple[Node, Node], tmp_path: Path
) -> None:
    a, b = nodes
    # B's traffic: a port day, one container of which A's seizure and alert name; its model.
    day = portday.generate(tmp_path / "day", count=40, seed=11, noise=0.0)
    assert ingest_file(b.store, day.consignments).quarantined == 0
    with b.store.reading() as conn:
        cid, box = conn.execute(select(tables.containers.c.consignment_id,
            tables.containers.c.container_number).order_by(tables.containers.c.consignment_id)
        ).first()  # fmt: skip
    models = train_small(tmp_path / "models")
    plain, partner_reasons = _assessed(b, models, cid)
    assert partner_reasons == []
    with serving(a):
        seizure = a.api("POST", "/api/v1/exchange/outbox", json={
            "to": "NLRTM", "type": "seizure-report", "body": {**SEIZURE, "containers": [box]}})  # fmt: skip
        alert = a.api("POST", "/api/v1/exchange/outbox", json={
            "to": "NLRTM", "type": "risk-analysis-result", "body": {**ALERT, "containers": [box]}})  # fmt: skip
        sent = [seizure["message_id"], alert["message_id"]]

        # B is down: each push fails, is recorded on the outbox row, and waits 1 s, then 2 s.
        t0 = datetime.now(UTC)
        first = push_once(a.store, a.keys, backoff=BACKOFF, actor="push", now=t0)
        assert [(r.message_id, r.result, r.attempt) for r in first.results] == [
            (m, "failed", 1) for m in sent
        ]
        assert all(r.next_push_at == t0 + timedelta(seconds=1) for r in first.results)
        assert push_once(a.store, a.keys, backoff=BACKOFF, actor="push",
                         now=t0 + timedelta(seconds=0.5)).results == ()  # fmt: skip
        t1 = t0 + timedelta(seconds=1)
        second = push_once(a.store, a.keys, backoff=BACKOFF, actor="push", now=t1)
        assert [(r.result, r.attempt, r.next_push_at) for r in second.results] == [
            ("failed", 2, t1 + timedelta(seconds=2))
        ] * 2
        shown = _outbox(a)[seizure["message_id"]]
        assert shown["delivery"] == "retrying" and shown["push_attempts"] == 2
        assert "Connect" in shown["last_push_error"]

        # B comes up (its own push running inside the service); A's push runs from another
        # process's view of A's store (a restart of A): everything arrives, once.
        with serving(b, exchange_push_interval_s=0.2, exchange_push_base_s=0.5):
            restarted = Store.open(a.url)
            try:
                t2 = t1 + timedelta(seconds=2)
                third = push_once(restarted, a.keys, backoff=BACKOFF, actor="push", now=t2)
                assert [(r.result, r.detail) for r in third.results] == [
                    ("delivered", "accepted")
                ] * 2
                assert push_once(restarted, a.keys, backoff=BACKOFF, actor="push",
                                 now=t2 + timedelta(hours=2)).results == ()  # fmt: skip
            finally:
                restarted.close()
            inbox = b.api("GET", "/api/v1/exchange/inbox")
            assert sorted(m["message_id"] for m in inbox) == sorted(sent)
            assert {m["message_type"] for m in inbox} == {"seizure-report", "risk-analysis-result"}
            assert all(_outbox(a)[m]["delivery"] == "delivered" for m in sent)

            # B's next scoring run assesses the container's consignment again: it rises, with
            # the partner's seizure and its risk analysis result as reasons.
            raised, partner_reasons = _assessed(b, models, cid)
            assert raised > plain
            assert sorted(partner_reasons) == sorted([
                "alert from partner BEANR: drugs risk, control at first entry (scan "
                f"recommended); container {box}",
                "alert from partner BEANR: seizure BEANR-2026-0042 of 412.5 KGM cocaine in "
                f"banana boxes (HS 080390), found by nii scan; container {box}",
            ])  # fmt: skip

            # A stops mid-send: the message left (B stored it) but A never heard the answer.
            third_msg = a.api("POST", "/api/v1/exchange/outbox", json={
                "to": "NLRTM", "type": "seizure-report",
                "body": {**SEIZURE, "case_reference": "BEANR-2026-0043"}})["message_id"]  # fmt: skip
            with a.store.transaction() as conn:
                (claimed,) = push.claim(conn, KeyDir(a.keys), now=t2, backoff=BACKOFF)
            token = KeyDir(a.keys).push_token("NLRTM")
            lost = httpx2.post(f"{b.base}/api/v1/exchange/inbox", content=claimed.record,
                               headers={"Authorization": f"Bearer {token}"}, timeout=30)  # fmt: skip
            assert lost.json()["outcomes"][0]["status"] == "accepted"
            assert push_once(a.store, a.keys, backoff=BACKOFF, actor="push",
                             now=t2 + timedelta(seconds=10)).results == ()  # leased  # fmt: skip
            retried = push_once(a.store, a.keys, backoff=BACKOFF, actor="push",
                                now=t2 + timedelta(seconds=31))  # fmt: skip
            assert [(r.message_id, r.result, r.detail) for r in retried.results] == [
                (third_msg, "delivered", "duplicate")
            ]
            assert _rows(b.store, third_msg) == 1

            # B answers the risk analysis result; B's own push delivers it to A.
            b.api("POST", "/api/v1/exchange/outbox", json={
                "to": "BEANR", "type": "feedback", "in_reply_to": alert["message_id"],
                "body": {"action_taken": "CONTROLLED", "result": "SEIZURE",
                         "text": "212 kg in the reefer unit"}})  # fmt: skip
            deadline = time.monotonic() + 30
            while _outbox(a)[alert["message_id"]]["feedback"] != "received":
                assert time.monotonic() < deadline, b.api("GET", "/api/v1/exchange/outbox")
                time.sleep(0.2)
            answered = _outbox(a)[alert["message_id"]]
            assert len(answered["feedback_messages"]) == 1
            assert [m["delivery"] for m in b.api("GET", "/api/v1/exchange/outbox")] == ["delivered"]

            # Bad messages posted to B's inbox by A's node: each refused with its reason.
            own = ex.own_keys(a.store).root.keys[0].keyid
            key = KeyDir(a.keys).load(own)
            with a.store.reading() as conn:
                record = conn.execute(select(tables.exchange_outbox.c.record).where(
                    tables.exchange_outbox.c.message_id == sent[0])).scalar_one()  # fmt: skip
            bad = {
                "payload_altered": _tampered(record.encode()),
                "replayed": _signed(key, "NLRTM", {**SEIZURE, "quantity": 1.0},
                                    message_id=sent[0]),
                "expired": _signed(key, "NLRTM",
                                   expires_at=datetime.now(UTC) - timedelta(minutes=1)),
                "unknown_sender": _signed(Ed25519PrivateKey.generate(), "NLRTM"),
                "wrong_recipient": _signed(key, "DEHAM"),
            }  # fmt: skip
            node_headers = {"Authorization": f"Bearer {token}"}
            for reason, raw in bad.items():
                answer = httpx2.post(f"{b.base}/api/v1/exchange/inbox", content=raw,
                                     headers=node_headers, timeout=30).json()  # fmt: skip
                assert answer["outcomes"][0]["reason"] == reason, (reason, answer)
            ex.revoke(b.store, "BEANR", key_id=own, reason="key reported lost", actor="liaison")
            answer = httpx2.post(f"{b.base}/api/v1/exchange/inbox", headers=node_headers,
                                 content=_signed(key, "NLRTM"), timeout=30).json()  # fmt: skip
            assert answer["outcomes"][0]["reason"] == "revoked_key"
            refused = b.api("GET", "/api/v1/exchange/rejected")
            assert sorted(r["reason"] for r in refused) == sorted([*bad, "revoked_key"])
            assert len(b.api("GET", "/api/v1/exchange/inbox")) == 3

            # A message B refuses is marked so on A's outbox and not pushed again.
            refused_msg = a.api("POST", "/api/v1/exchange/outbox", json={
                "to": "NLRTM", "type": "seizure-report", "body": SEIZURE})["message_id"]  # fmt: skip
            later = t2 + timedelta(minutes=5)
            (result,) = push_once(a.store, a.keys, backoff=BACKOFF, actor="push", now=later).results
            assert (result.message_id, result.result) == (refused_msg, "refused")
            assert push_once(a.store, a.keys, backoff=BACKOFF, actor="push",
                             now=later + timedelta(hours=3)).results == ()  # fmt: skip
            shown = _outbox(a)[refused_msg]
            assert shown["delivery"] == "refused" and shown["refused_reason"] == "revoked_key"
