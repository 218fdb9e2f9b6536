"""Cooperation between customs administrations: signed messages between quaywatch nodes.

- ``messages``: the message types (RiskAnalysisResult, ReferralRequest, ReferralResponse,
  ControlResult, SeizureReport, RiskProfileShare, Feedback), versioned, in the vocabulary of EU
  ICS2 where it has one; their JSON schemas are shipped in ``schemas/``;
- ``envelope``: DSSE envelopes (a payload type per message type and version) and the transport
  record, one JSON line, that carries one;
- ``keys``: Ed25519 keys, their ids, and the key directory that holds the private ones;
- ``roots``: each administration's signed root document of its keys, rotated TUF-style;
- ``receive``: the receiver's checks, each refusal with its own reason;
- ``trust`` and ``mailbox``: the roots, partners, inbox, rejected messages and outbox in the store;
- ``push``: the state of the outbox's HTTP push (claims, leases, backoff) in the store; the
  network side is ``services.exchange_push``.
"""
