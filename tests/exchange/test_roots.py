"""Root documents and their TUF-style rotation: which new roots are trusted, which refused."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from exchange_support import NOW

from quaywatch.errors import InputError, TrustError
from quaywatch.exchange import envelope as dsse, roots
from quaywatch.exchange.keys import key_id

LATER = NOW + timedelta(days=1)


def new_keys(n: int) -> list[Ed25519PrivateKey]:
    return [Ed25519PrivateKey.generate() for _ in range(n)]


def root_of(keys: list[Ed25519PrivateKey], version: int = 1, threshold: int = 1,
            admin: str = "BEANR", days: int = 365) -> roots.Root:  # fmt: skip
    return roots.make_root(
        admin, version, [k.public_key() for k in keys], threshold=threshold,
        issued_at=NOW - timedelta(days=2), expires_at=NOW + timedelta(days=days),
    )  # fmt: skip


def test_a_first_root_is_trusted_when_a_threshold_of_its_own_keys_sign_it() -> None:
    keys = new_keys(3)
    root = root_of(keys, threshold=2)
    assert roots.verify_chain(None, [roots.sign_root(root, keys[:2])], NOW)[0][0] == root
    with pytest.raises(TrustError, match="1 valid signature.*2 needed"):
        roots.verify_chain(None, [roots.sign_root(root, keys[:1])], NOW)


def test_rotation_needs_the_old_threshold_and_the_new_threshold() -> None:
    old, new = new_keys(3), new_keys(2)
    v1 = root_of(old, threshold=2)
    v2 = root_of(new, version=2, threshold=2)
    accepted = roots.verify_chain(v1, [roots.sign_root(v2, [*old[1:], *new])], NOW)
    assert [r.version for r, _ in accepted] == [2]
    refused = {
        "only the new keys": new,
        "one old key of two needed": [old[0], *new],
        "one new key of two needed": [*old[:2], new[0]],
        "only the old keys": old,
    }
    for case, signers in refused.items():
        with pytest.raises(TrustError, match="valid signature"):
            roots.verify_chain(v1, [roots.sign_root(v2, signers)], NOW)
            pytest.fail(case)


def test_a_signature_listed_twice_counts_once() -> None:
    old = new_keys(2)
    v1 = root_of(old, threshold=2)
    v2 = root_of(old, version=2, threshold=1)
    signed = roots.sign_root(v2, [old[0]])
    doubled = dsse.Envelope(signed.payload_type, signed.payload, signed.signatures * 2)
    with pytest.raises(TrustError, match="1 valid signature"):
        roots.verify_chain(v1, [doubled], NOW)


def test_versions_follow_one_by_one_and_the_administration_stays() -> None:
    old, new = new_keys(1), new_keys(1)
    v1 = root_of(old)
    with pytest.raises(TrustError, match="does not follow version 1"):
        roots.verify_chain(v1, [roots.sign_root(root_of(new, version=3), [*old, *new])], NOW)
    with pytest.raises(TrustError, match="NLRTM's, not BEANR's"):
        other = root_of(new, version=2, admin="NLRTM")
        roots.verify_chain(v1, [roots.sign_root(other, [*old, *new])], NOW)


def test_a_chain_is_walked_in_turn_and_older_roots_are_passed_over() -> None:
    k1, k2, k3 = new_keys(1), new_keys(1), new_keys(1)
    v1, v2, v3 = root_of(k1), root_of(k2, version=2), root_of(k3, version=3)
    chain = [roots.sign_root(v1, k1), roots.sign_root(v2, k1 + k2), roots.sign_root(v3, k2 + k3)]
    assert [r.version for r, _ in roots.verify_chain(None, chain, NOW)] == [1, 2, 3]
    assert [r.version for r, _ in roots.verify_chain(v2, chain, NOW)] == [3]
    assert roots.verify_chain(v3, chain, NOW) == []
    # v3 signed by v1's keys instead of v2's: key k1 was rotated out and cannot sign v3.
    bad = [chain[0], chain[1], roots.sign_root(v3, k1 + k3)]
    with pytest.raises(TrustError, match="keys of version 2"):
        roots.verify_chain(None, bad, NOW)


def test_only_the_newest_root_must_be_unexpired() -> None:
    k1, k2 = new_keys(1), new_keys(1)
    v1 = roots.make_root("BEANR", 1, [k1[0].public_key()], threshold=1,
                         issued_at=NOW - timedelta(days=9), expires_at=NOW - timedelta(days=1))  # fmt: skip
    v2 = root_of(k2, version=2)
    chain = [roots.sign_root(v1, k1), roots.sign_root(v2, k1 + k2)]
    assert [r.version for r, _ in roots.verify_chain(None, chain, NOW)] == [1, 2]
    with pytest.raises(TrustError, match="expired"):
        roots.verify_chain(None, chain[:1], NOW)


def test_a_root_must_be_consistent() -> None:
    keys = new_keys(2)
    with pytest.raises(InputError, match="field threshold"):
        root_of(keys, threshold=0)
    with pytest.raises(InputError, match="threshold 3 is above the 2 keys"):
        root_of(keys, threshold=3)
    with pytest.raises(InputError, match="listed twice"):
        root_of([keys[0], keys[0]])
    forged = root_of(keys).model_dump(mode="json")
    forged["keys"][0]["keyid"] = forged["keys"][1]["keyid"]
    payload = json.dumps(forged, sort_keys=True).encode()
    wrapped = dsse.sign(roots.ROOT_PAYLOAD_TYPE, payload, keys)
    with pytest.raises(TrustError, match="keyid is not the SHA-256 of the public key"):
        roots.verify_chain(None, [wrapped], NOW)
    with pytest.raises(TrustError, match="is not application/vnd.quaywatch.root.v1"):
        roots.verify_chain(None, [dsse.sign("application/json", b"{}", keys)], LATER)


def test_a_revoked_key_of_the_old_root_does_not_count_towards_the_rotation() -> None:
    old, new = new_keys(2), new_keys(1)
    v1 = root_of(old, threshold=1)
    v2 = root_of(new, version=2)
    stolen = key_id(old[0].public_key())
    signed = roots.sign_root(v2, [old[0], *new])
    assert [r.version for r, _ in roots.verify_chain(v1, [signed], NOW)] == [2]
    with pytest.raises(TrustError, match="0 valid signature.*not revoked"):
        roots.verify_chain(v1, [signed], NOW, revoked={stolen})
    # The other key of version 1, not revoked, still approves it.
    assert roots.verify_chain(v1, [roots.sign_root(v2, [old[1], *new])], NOW, revoked={stolen})
