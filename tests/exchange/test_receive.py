"""The receiver's checks: each refusal with its own reason, and what is accepted."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from exchange_support import NOW, SEIZURE, Admin, kid, trust_of

from quaywatch.exchange import envelope as dsse, messages
from quaywatch.exchange.receive import (
    MAX_CLOCK_SKEW,
    Accepted,
    PartnerKeys,
    Reason,
    Refused,
    Trust,
    check,
)

BEANR, NLRTM, DEHAM = Admin.new("BEANR"), Admin.new("NLRTM"), Admin.new("DEHAM")
TRUST = trust_of("NLRTM", BEANR)


def refused(record: bytes, trust: Trust = TRUST) -> Refused:
    verdict = check(record, trust, NOW)
    assert isinstance(verdict, Refused), verdict
    return verdict


def rewrite(record: bytes, change: object) -> bytes:
    data = json.loads(record)
    change(data)  # type: ignore[operator]
    return json.dumps(data).encode()


def test_a_well_signed_message_to_us_is_accepted() -> None:
    verdict = check(BEANR.message("NLRTM"), TRUST, NOW)
    assert isinstance(verdict, Accepted)
    assert verdict.message.header.sender == "BEANR"
    assert verdict.key_id == kid(BEANR.keys[0])
    assert verdict.message.typed_body() == messages.SeizureReport.model_validate(SEIZURE)


@pytest.mark.parametrize(
    "record", [b"", b"not json", b"[]", b'{"format": "x"}', "é".encode("latin-1")]
)
def test_malformed(record: bytes) -> None:
    assert refused(record).reason is Reason.MALFORMED


def test_unknown_schema_version() -> None:
    def v2(data: dict) -> None:  # type: ignore[type-arg]
        data["envelope"]["payloadType"] = "application/vnd.quaywatch.seizure-report.v2+json"

    found = refused(rewrite(BEANR.message("NLRTM"), v2))
    assert found.reason is Reason.UNKNOWN_SCHEMA and "v2" in found.detail


def test_unknown_sender() -> None:
    assert refused(DEHAM.message("NLRTM")).reason is Reason.UNKNOWN_SENDER


def test_a_partner_s_key_naming_another_sender_is_refused() -> None:
    found = refused(BEANR.message("NLRTM", sender="DEHAM"))
    assert found.reason is Reason.UNKNOWN_SENDER
    assert found.detail == "signed by a key of BEANR but names DEHAM as its sender"


def test_bad_signature() -> None:
    forged = DEHAM.message("NLRTM", sender="BEANR")

    def claim_beanr_key(data: dict) -> None:  # type: ignore[type-arg]
        data["envelope"]["signatures"][0]["keyid"] = kid(BEANR.keys[0])

    found = refused(rewrite(forged, claim_beanr_key))
    assert (found.reason, found.sender) == (Reason.BAD_SIGNATURE, "BEANR")


def test_payload_altered() -> None:
    record = json.loads(BEANR.message("NLRTM"))
    payload = dsse.from_json(record["envelope"]).payload.replace(b"412.5", b"41.25")
    record["envelope"]["payload"] = dsse.Envelope("t", payload, ()).to_json()["payload"]
    assert refused(json.dumps(record).encode()).reason is Reason.PAYLOAD_ALTERED


def test_invalid_payload_names_the_field() -> None:
    bad = {**SEIZURE, "containers": ["CSQU3054384"]}
    header = messages.Header(
        message_id="6a1f4d3e-1111-4222-8333-944455556666", message_type="seizure-report",
        sender="BEANR", recipient="NLRTM", issued_at=NOW, expires_at=NOW + timedelta(days=1),
    )  # fmt: skip
    payload = json.dumps({"header": header.model_dump(mode="json"), "body": bad}).encode()
    kind = messages.payload_type(messages.MessageType.SEIZURE_REPORT)
    record = dsse.record_line(dsse.sign(kind, payload, BEANR.keys))
    found = refused(record)
    assert found.reason is Reason.INVALID_PAYLOAD
    assert found.detail == "field body.containers.0: ISO 6346 check digit does not match"


def test_a_payload_of_another_type_than_its_payload_type_is_invalid() -> None:
    record = json.loads(BEANR.message("NLRTM"))
    record["envelope"] = dsse.sign(
        messages.payload_type(messages.MessageType.FEEDBACK),
        dsse.from_json(record["envelope"]).payload, BEANR.keys,
    ).to_json()  # fmt: skip
    found = refused(json.dumps(record).encode())
    assert found.reason is Reason.INVALID_PAYLOAD and "header.message_type" in found.detail


def test_wrong_recipient() -> None:
    found = refused(BEANR.message("DEHAM"))
    assert (found.reason, found.detail) == (Reason.WRONG_RECIPIENT, "addressed to DEHAM, not NLRTM")


def test_expired_message_and_expired_root() -> None:
    old = BEANR.message("NLRTM", expires_at=NOW - timedelta(seconds=1))
    assert refused(old).reason is Reason.EXPIRED
    keys = PartnerKeys("BEANR", BEANR.root.public_keys(), 1, NOW - timedelta(days=1))
    lapsed = Trust("NLRTM", {"BEANR": keys})
    found = refused(BEANR.message("NLRTM"), lapsed)
    assert found.reason is Reason.EXPIRED and "root of keys" in found.detail


def test_revoked_and_superseded_keys() -> None:
    key = kid(BEANR.keys[0])
    revoked = Trust("NLRTM", {}, revoked={key: "BEANR"})
    assert refused(BEANR.message("NLRTM"), revoked).reason is Reason.REVOKED_KEY
    superseded = Trust("NLRTM", {}, superseded={key: "BEANR"})
    found = refused(BEANR.message("NLRTM"), superseded)
    assert (found.reason, found.sender) == (Reason.SUPERSEDED_KEY, "BEANR")


def test_the_shipped_schemas_are_the_models_schemas() -> None:
    for kind in messages.MessageType:
        assert messages.shipped_schema(kind) == messages.schema_of(kind), kind


def test_a_payload_with_a_key_twice_is_refused() -> None:
    with pytest.raises(messages.MessageProblem, match="appears twice"):
        messages.parse(b'{"header": {}, "header": {}}', messages.MessageType.FEEDBACK)


@pytest.mark.parametrize(
    ("ahead", "accepted"),
    [(timedelta(0), True), (MAX_CLOCK_SKEW, True), (MAX_CLOCK_SKEW + timedelta(seconds=1), False),
     (timedelta(days=3), False)],
)  # fmt: skip
def test_a_message_issued_in_the_future_beyond_the_clock_skew_is_refused(
    ahead: timedelta, accepted: bool
) -> None:
    record = BEANR.message("NLRTM")  # issued an hour before NOW
    now = NOW - timedelta(hours=1) - ahead
    verdict = check(record, TRUST, now)
    assert isinstance(verdict, Accepted) is accepted
    if not accepted:
        assert isinstance(verdict, Refused) and verdict.reason is Reason.INVALID_PAYLOAD
        assert "header.issued_at" in verdict.detail and "5 minutes ahead" in verdict.detail
