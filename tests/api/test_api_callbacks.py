"""DCSA event-subscription callbacks, on SQLite and PostgreSQL: a publisher's signed delivery
is stored as its feed's; anything unsigned, mis-signed, replayed for another subscription or
for a revoked one is refused, and the signature check never fails any other way."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from api_support import Api, consignment
from hypothesis import HealthCheck, given, settings, strategies as st

from quaywatch.domain.access import Role
from quaywatch.errors import AuthenticationError, ConflictError, InputError
from quaywatch.services import accounts
from quaywatch.store.store import Store

SUBSCRIPTION = "e6c9f8a2-0b7d-4f0e-9d53-5d3c1c2a9b10"


def _event(box: str, n: int = 1) -> dict[str, object]:
    return {
        "eventID": f"CB-{n}", "eventType": "EQUIPMENT", "eventClassifierCode": "ACT",
        "eventDateTime": "2026-12-20T15:00:00+01:00",
        "eventCreatedDateTime": "2026-12-20T15:01:00+01:00",
        "equipmentEventTypeCode": "DISC", "equipmentReference": box,
        "emptyIndicatorCode": "LADEN", "eventLocation": {"UNLocationCode": "BEANR"},
        "transportCall": {"UNLocationCode": "BEANR", "facilityTypeCode": "POTE",
                          "vessel": {"vesselIMONumber": "9628946"}},
    }  # fmt: skip


def _signed(secret: str, body: bytes, subscription: str = SUBSCRIPTION) -> dict[str, str]:
    digest = hmac.new(base64.b64decode(secret), body, hashlib.sha256).hexdigest()
    return {"Notification-Signature": f"sha256={digest}", "Subscription-ID": subscription,
            "Content-Type": "application/json"}  # fmt: skip


def _register(store: Store) -> str:
    accounts.add_user(store, "terminal-feed", roles=[Role.FEED], actor="admin")
    return accounts.register_callback(store, SUBSCRIPTION, username="terminal-feed",
                                      actor="admin").secret  # fmt: skip


def test_a_signed_delivery_is_stored_and_a_forged_one_refused(api: Api) -> None:
    secret = _register(api.store)
    api.post("/api/v1/consignments", Role.FEED, json=consignment(7))
    box = consignment(7)["containers"][0]["number"]
    url = f"/api/v1/events/callbacks/{SUBSCRIPTION}"
    body = json.dumps([_event(box)]).encode()
    stored = api.client.post(url, content=body, headers=_signed(secret, body))
    assert stored.status_code == 201, stored.text
    assert stored.json()["new"] == 1
    again = api.client.post(url, content=body, headers=_signed(secret, body))
    assert again.status_code == 200 and again.json()["unchanged"] == 1

    other = json.dumps([_event(box, 2)]).encode()
    forged = {**_signed(secret, body), "Content-Type": "application/json"}  # signs another body
    refusals = [
        api.client.post(url, content=other, headers=forged),
        api.client.post(
            url, content=other, headers=_signed(base64.b64encode(b"k" * 64).decode(), other)
        ),  # fmt: skip
        api.client.post(
            url, content=other, headers={**_signed(secret, other), "Subscription-ID": "another"}
        ),  # fmt: skip
        api.client.post(
            "/api/v1/events/callbacks/another",
            content=other,
            headers=_signed(secret, other, "another"),
        ),  # fmt: skip
        api.client.post(url, content=other, headers={"Content-Type": "application/json"}),
    ]
    assert [r.status_code for r in refusals] == [401] * 5
    assert api.client.head(url).status_code == 204

    accounts.revoke_callback(api.store, SUBSCRIPTION, actor="admin")
    assert api.client.post(url, content=other, headers=_signed(secret, other)).status_code == 401
    events = [e for e in api.get("/api/v1/audit/events", Role.ADMIN,
                                 params={"limit": 100}).json() if e["action"] == "import"]  # fmt: skip
    assert any(e["actor"] == "terminal-feed" for e in events)


def test_registration_is_checked(store: Store) -> None:
    accounts.add_user(store, "olga", roles=[Role.ANALYST], actor="admin")
    with pytest.raises(InputError, match="feed role"):
        accounts.register_callback(store, SUBSCRIPTION, username="olga", actor="admin")
    _register(store)
    with pytest.raises(ConflictError):
        accounts.register_callback(store, SUBSCRIPTION, username="terminal-feed", actor="admin")
    with pytest.raises(InputError, match="subscription_id"):
        accounts.register_callback(store, "bad id/..", username="terminal-feed", actor="admin")
    with pytest.raises(InputError, match="32 to 96 bytes"):
        accounts.register_callback(store, "s2", username="terminal-feed", secret="YWJj",
                                   actor="admin")  # fmt: skip
    listed = accounts.list_callbacks(store)
    assert [(c.subscription_id, c.username) for c in listed] == [(SUBSCRIPTION, "terminal-feed")]


@settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
@given(signature=st.one_of(st.none(), st.text(max_size=80)),
       header=st.one_of(st.none(), st.text(max_size=40)), body=st.binary(max_size=64),
       subscription=st.text(max_size=40))  # fmt: skip
def test_a_bad_signature_only_ever_fails_authentication(
    store: Store, signature: str | None, header: str | None, body: bytes, subscription: str
) -> None:
    with pytest.raises(AuthenticationError):
        accounts.authenticate_callback(store, subscription, signature=signature,
                                       header_id=header, body=body)  # fmt: skip


def test_callbacks_from_the_command_line(store_url: str) -> None:
    env = {**os.environ, "QUAYWATCH_DATABASE_URL": store_url}
    quaywatch = [str(Path(sys.executable).parent / "quaywatch")]

    def run(*args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
        return subprocess.run([*quaywatch, *args], env=env, input=stdin, capture_output=True,
                              text=True, timeout=120)  # fmt: skip

    assert run("users", "add", "tt-feed", "--role", "feed", "--no-password").returncode == 0
    added = run("callbacks", "add", "SUB-1", "--user", "tt-feed")
    assert added.returncode == 0, added.stderr
    assert len(base64.b64decode(added.stdout.strip())) == 64
    assert "/api/v1/events/callbacks/SUB-1" in added.stderr
    agreed = base64.b64encode(b"s" * 48).decode()
    assert run("callbacks", "add", "SUB-2", "--user", "tt-feed", "--secret-stdin",
               stdin=agreed + "\n").stdout == ""  # fmt: skip
    assert "SUB-2" in run("callbacks", "list").stdout
    assert run("callbacks", "revoke", "SUB-1").returncode == 0
    again = run("callbacks", "revoke", "SUB-1")
    assert again.returncode == 2 and "revoked already" in again.stderr
