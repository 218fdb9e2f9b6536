"""DSSE envelopes: the PAE of the specification, and that any change of a byte is refused."""

from __future__ import annotations

import json

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from exchange_support import NOW, Admin, trust_of
from hypothesis import given, settings, strategies as st

from quaywatch.exchange import envelope as dsse
from quaywatch.exchange.receive import Accepted, Reason, Refused, check

KEY = Ed25519PrivateKey.generate()
PUBLIC = {dsse.sign("t", b"", [KEY]).signatures[0].keyid: KEY.public_key()}
SENDER, RECEIVER = Admin.new("BEANR"), Admin.new("NLRTM")
TRUST = trust_of("NLRTM", SENDER)


def test_pae_is_the_dsse_specification_s() -> None:
    # The example of the DSSE v1 protocol document.
    assert dsse.pae("http://example.com/HelloWorld", b"hello world") == (
        b"DSSEv1 29 http://example.com/HelloWorld 11 hello world"
    )
    assert dsse.pae("", b"") == b"DSSEv1 0  0 "


@settings(max_examples=200)
@given(kind=st.text(min_size=1, max_size=40), payload=st.binary(max_size=300))
def test_an_envelope_survives_its_json_form_and_verifies(kind: str, payload: bytes) -> None:
    signed = dsse.sign(kind, payload, [KEY])
    back = dsse.from_json(json.loads(json.dumps(signed.to_json())))
    assert back == signed
    assert dsse.verified_keyids(back, PUBLIC) == frozenset(PUBLIC)


@settings(max_examples=300)
@given(payload=st.binary(min_size=1, max_size=200), data=st.data())
def test_any_change_of_any_byte_of_the_payload_breaks_the_signature(
    payload: bytes, data: st.DataObject
) -> None:
    signed = dsse.sign("application/x", payload, [KEY])
    at = data.draw(st.integers(0, len(payload) - 1))
    flip = data.draw(st.integers(1, 255))
    changed = payload[:at] + bytes([payload[at] ^ flip]) + payload[at + 1 :]
    tampered = dsse.Envelope(signed.payload_type, changed, signed.signatures)
    assert dsse.verified_keyids(tampered, PUBLIC) == frozenset()


@settings(max_examples=300)
@given(data=st.data())
def test_any_change_of_any_byte_of_the_signature_is_refused(data: st.DataObject) -> None:
    signed = dsse.sign("application/x", b"payload", [KEY])
    sig = signed.signatures[0].sig
    at = data.draw(st.integers(0, len(sig) - 1))
    flip = data.draw(st.integers(1, 255))
    changed = sig[:at] + bytes([sig[at] ^ flip]) + sig[at + 1 :]
    tampered = dsse.Envelope(
        signed.payload_type, signed.payload, (dsse.Signature(signed.signatures[0].keyid, changed),)
    )
    assert dsse.verified_keyids(tampered, PUBLIC) == frozenset()


def test_the_payload_type_is_signed_too() -> None:
    signed = dsse.sign("application/a", b"same", [KEY])
    swapped = dsse.Envelope("application/b", signed.payload, signed.signatures)
    assert dsse.verified_keyids(swapped, PUBLIC) == frozenset()


RECORD = SENDER.message("NLRTM")


@settings(max_examples=400, deadline=None)
@given(data=st.data())
def test_any_change_of_any_byte_of_a_record_is_refused_or_changes_nothing_signed(
    data: st.DataObject,
) -> None:
    """Through the receiver: one byte of the transport record changed, anywhere, is refused,
    except a change that leaves payload, payload type and signatures as they were (a JSON
    escape outside the envelope's fields, say), which is then the same message."""
    at = data.draw(st.integers(0, len(RECORD) - 1))
    flip = data.draw(st.integers(1, 255))
    changed = RECORD[:at] + bytes([RECORD[at] ^ flip]) + RECORD[at + 1 :]
    verdict = check(changed, TRUST, NOW)
    if isinstance(verdict, Accepted):
        original = dsse.read_record(RECORD)[0]
        assert verdict.envelope.payload == original.payload
        assert verdict.envelope.payload_type == original.payload_type
    else:
        assert isinstance(verdict, Refused)


@pytest.mark.parametrize("text", ["AA=", "QQ==x", "QR==", " QQ==", "QQ=="[:-1]])
def test_base64_must_be_canonical(text: str) -> None:
    record = {"payload": text, "payloadType": "t", "signatures": [{"keyid": "k", "sig": "QQ=="}]}
    with pytest.raises(dsse.EnvelopeError):
        dsse.from_json(record)


def test_a_signature_by_another_key_counts_for_nothing() -> None:
    other = Ed25519PrivateKey.generate()
    signed = dsse.sign("t", b"p", [other])
    forged = dsse.Envelope(
        "t", b"p", (dsse.Signature(next(iter(PUBLIC)), signed.signatures[0].sig),)
    )
    assert dsse.verified_keyids(forged, PUBLIC) == frozenset()
    assert check(b"{}", TRUST, NOW) == Refused(
        Reason.MALFORMED, f"not a transport record of format {dsse.RECORD_FORMAT}"
    )
