"""Use cases of the exchange with partner administrations (``exchange``).

Keys: ``generate_keys``, ``rotate_keys``, ``own_keys``, ``export_root``. Partners:
``add_partner`` (from the partner's root file), ``list_partners``, ``revoke``. Messages:
``send`` (signed and queued in the outbox; ``send_body`` for a body already read),
``outbox``, ``export`` (the outbox to a file, for air-gapped exchange), ``import_file`` (a
partner's export, through every receiver check), ``receive_posted`` (records posted to the
inbox endpoint, the same checks), ``inbox``; ``set_inbox_url`` says where the HTTP push
(``services.exchange_push``) delivers a partner's messages. Data protection: ``allow_partner``
(whether a partner may receive personal data in a message type, with the legal basis),
``permissions``, ``generate_group_key`` and ``import_group_key`` (the partner group's key for
de-identification). Shared profiles: ``shared_profiles`` (the review queue), ``accept_profile``
(a DRAFT profile, never active), ``decline_profile``. Each takes plain values (the key directory as a path: only adapters read settings),
runs in one transaction and returns typed results; nothing prints.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from quaywatch.errors import InputError, WriteConflictError
from quaywatch.exchange import mailbox, protection, push, reviews, roots, trust
from quaywatch.exchange.keys import KeyDir, check_push_token
from quaywatch.exchange.mailbox import OutboxEntry, Outcome, Received, Rejected
from quaywatch.exchange.messages import MessageType
from quaywatch.exchange.protection import Permission
from quaywatch.exchange.receive import Reason
from quaywatch.exchange.reviews import SharedProfile
from quaywatch.exchange.trust import Partner, StoredRoot
from quaywatch.store.store import Store

__all__ = [
    "ExportSummary", "ImportSummary", "Inbox", "MessageType", "OutboxEntry", "Outcome",
    "Partner", "PartnerAdded", "Permission", "SharedProfile", "Reason", "Received", "Rejected", "StoredRoot",
]  # fmt: skip

#: Largest file ``import_file`` and ``add_partner`` read (the whole file is one transaction).
MAX_FILE_BYTES = 256 * 1024 * 1024
#: Largest transport record one line of an import may hold.
MAX_RECORD_BYTES = 8 * 1024 * 1024
#: Most records one post to the inbox may hold, and its largest body.
MAX_POSTED_RECORDS = 1000
MAX_POSTED_BYTES = 16 * 1024 * 1024


@dataclass(frozen=True, slots=True)
class PartnerAdded:
    """A partner trusted or moved on to newer roots: ``new_roots`` of them were taken."""

    partner: Partner
    new_roots: int


@dataclass(frozen=True, slots=True)
class ExportSummary:
    """An export: the file written and how many messages it holds."""

    path: str
    messages: int


@dataclass(frozen=True, slots=True)
class ImportSummary:
    """An import: what became of each line, and the counts."""

    path: str
    outcomes: tuple[Outcome, ...]

    def count(self, status: str) -> int:
        """How many lines were ``accepted``, ``duplicate`` or ``rejected``."""
        return sum(1 for o in self.outcomes if o.status == status)


@dataclass(frozen=True, slots=True)
class Inbox:
    """The messages accepted and those rejected, newest first."""

    received: tuple[Received, ...]
    rejected: tuple[Rejected, ...]


def _now(now: datetime | None) -> datetime:
    return datetime.now(UTC) if now is None else now


def generate_keys(
    store: Store, key_dir: Path, administration: str, *, count: int = 1, threshold: int = 1,
    valid_days: int = 365, actor: str, now: datetime | None = None,
) -> StoredRoot:  # fmt: skip
    """This administration's first keys (in ``key_dir``) and its root version 1."""
    with store.transaction() as conn:
        return trust.generate(
            conn, KeyDir(key_dir), administration, count=count, threshold=threshold,
            valid_days=valid_days, now=_now(now), actor=actor,
        )  # fmt: skip


def rotate_keys(
    store: Store, key_dir: Path, *, count: int = 1, threshold: int = 1, valid_days: int = 365,
    actor: str, now: datetime | None = None,
) -> StoredRoot:  # fmt: skip
    """New keys and the next root, signed by the old keys' threshold and the new keys."""
    with store.transaction() as conn:
        return trust.rotate(
            conn, KeyDir(key_dir), count=count, threshold=threshold, valid_days=valid_days,
            now=_now(now), actor=actor,
        )  # fmt: skip


def own_keys(store: Store) -> StoredRoot:
    """This administration's root in force (``ConflictError`` before ``generate_keys``)."""
    with store.reading() as conn:
        return trust.require_own_root(conn)


def export_root(store: Store, path: Path) -> StoredRoot:
    """Write this administration's roots, oldest first, to ``path``: the file partners add."""
    with store.reading() as conn:
        own = trust.require_own_root(conn)
        lines = trust.root_chain(conn, own.root.administration)
    _write_lines(path, [line.encode("utf-8") for line in lines])
    return own


def add_partner(
    store: Store, path: Path, *, actor: str, now: datetime | None = None
) -> PartnerAdded:
    """Trust the partner whose root file is ``path``, or take its newer roots (rotation)."""
    chain_of_roots = roots.read_chain(_read(path), str(path))
    with store.transaction() as conn:
        partner, new = trust.add_partner(conn, chain_of_roots, now=_now(now), actor=actor)
    return PartnerAdded(partner, new)


def list_partners(store: Store) -> tuple[Partner, ...]:
    """Every partner, by administration code."""
    with store.reading() as conn:
        return tuple(trust.list_partners(conn))


def revoke(
    store: Store, administration: str, *, key_id: str | None = None, reason: str, actor: str,
    now: datetime | None = None,
) -> Partner:  # fmt: skip
    """Revoke a partner's key, or the partner (``key_id`` None)."""
    with store.transaction() as conn:
        return trust.revoke(conn, administration, key_id, reason=reason, now=_now(now), actor=actor)


def send(
    store: Store, key_dir: Path, recipient: str, message_type: MessageType | str, body_file: Path,
    *, valid_days: int = 30, in_reply_to: str | None = None, actor: str,
    now: datetime | None = None,
) -> OutboxEntry:  # fmt: skip
    """Sign the message whose body is the JSON file ``body_file`` and queue it for ``recipient``."""
    kind = _message_type(message_type)
    try:
        body: Any = json.loads(_read(body_file).decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as exc:
        raise InputError(f"not a JSON object: {exc}", source=str(body_file)) from None
    with store.transaction() as conn:
        return mailbox.queue(
            conn, KeyDir(key_dir), recipient, kind, body, valid_days=valid_days,
            in_reply_to=in_reply_to, now=_now(now), actor=actor, source=str(body_file),
        )  # fmt: skip


def send_body(
    store: Store, key_dir: Path, recipient: str, message_type: MessageType | str, body: Any,
    *, valid_days: int = 30, in_reply_to: str | None = None, actor: str,
    now: datetime | None = None,
) -> OutboxEntry:  # fmt: skip
    """``send`` for a body already read (a JSON object, as the API receives it)."""
    try:
        kind = MessageType(message_type)
    except ValueError:
        known = ", ".join(MessageType)
        raise InputError(f"unknown message type {message_type!r}; one of: {known}") from None
    with store.transaction() as conn:
        return mailbox.queue(
            conn, KeyDir(key_dir), recipient, kind, body, valid_days=valid_days,
            in_reply_to=in_reply_to, now=_now(now), actor=actor,
        )  # fmt: skip


def set_inbox_url(
    store: Store, key_dir: Path, administration: str, url: str | None, *,
    token: str | None = None, actor: str, now: datetime | None = None,
) -> Partner:  # fmt: skip
    """Push ``administration``'s messages to ``url`` (None: stop pushing), presenting
    ``token``, the API token the partner issued to this node (kept in the key directory,
    never in the database), when one is given.

    The partner, the URL and the token are checked, and the URL stored, before the token is
    written: a refused command leaves no token file. A token needs a URL to be presented at."""
    if token is not None:
        if url is None:
            raise InputError(
                f"a push token for {administration} needs the inbox URL it is presented at"
            )
        token = check_push_token(token)
    with store.transaction() as conn:
        push.set_url(conn, administration, url, now=_now(now), actor=actor)
        partner = trust.require_partner(conn, administration)
    if token is not None:
        KeyDir(key_dir).save_push_token(administration, token)
    return partner


def split_posted(body: bytes, source: str) -> list[tuple[str, bytes]]:
    """The transport records of a body posted to the inbox, each named ``source#N``: one
    record (a JSON object), a JSON array of them, or JSON Lines (one per line).

    A record of an array is passed on as compact JSON (its signature covers the payload,
    which re-encoding leaves intact); a single record or a line, exactly as received.
    ``InputError`` for an empty body, a broken array, or more than ``MAX_POSTED_RECORDS``.
    """
    if len(body) > MAX_POSTED_BYTES:
        raise InputError(f"the body is above {MAX_POSTED_BYTES:,} bytes", source=source)
    text = body.strip()
    if not text:
        raise InputError("the body is empty: send a transport record, or an array of them",
                         source=source)  # fmt: skip
    if text.startswith(b"["):
        try:
            items = json.loads(text)
        except ValueError as exc:
            raise InputError(f"not a JSON array of transport records: {exc}",
                             source=source) from None  # fmt: skip
        records = [json.dumps(item, separators=(",", ":")).encode("utf-8") for item in items]
    else:
        try:
            json.loads(text)
            records = [text]
        except ValueError:
            records = [line.rstrip(b"\r") for line in text.split(b"\n") if line.strip()]
    if len(records) > MAX_POSTED_RECORDS:
        raise InputError(
            f"{len(records):,} records in one post; at most {MAX_POSTED_RECORDS:,}", source=source
        )
    return [(f"{source}#{number}", record) for number, record in enumerate(records, start=1)]


def receive_posted(
    store: Store, records: list[tuple[str, bytes]], *, actor: str, only_from: str | None = None,
    now: datetime | None = None,
) -> tuple[Outcome, ...]:  # fmt: skip
    """Receive records posted to the inbox endpoint: each through every receiver check, all in
    one transaction. If another post stored one of the same messages first (two pushes racing),
    the whole is received again, and that message is then a duplicate. ``only_from``: the
    partner the posting node delivers for; ``PermissionDeniedError`` (nothing stored) if a
    record is signed by another partner."""
    try:
        with store.transaction() as conn:
            return tuple(mailbox.receive(conn, records, now=_now(now), actor=actor,
                                         only_from=only_from))  # fmt: skip
    except WriteConflictError:
        with store.transaction() as conn:
            return tuple(mailbox.receive(conn, records, now=_now(now), actor=actor,
                                         only_from=only_from))  # fmt: skip


def outbox(store: Store) -> tuple[OutboxEntry, ...]:
    """Every message in the outbox, newest first."""
    with store.reading() as conn:
        return tuple(mailbox.outbox(conn))


def export(
    store: Store, key_dir: Path, path: Path, *, recipient: str | None = None, again: bool = False, actor: str,
    now: datetime | None = None,
) -> ExportSummary:  # fmt: skip
    """Write the outbox's messages not yet exported (all with ``again``) to ``path``, JSON Lines.

    The file is complete before the messages are marked exported; if marking fails, the next
    export writes them again, and the receiver stores each once.
    """
    with store.transaction() as conn:
        records = mailbox.take_for_export(
            conn, KeyDir(key_dir), recipient=recipient, again=again, now=_now(now), actor=actor
        )
        _write_lines(path, records)
    return ExportSummary(str(path), len(records))


def import_file(
    store: Store, path: Path, *, actor: str, now: datetime | None = None
) -> ImportSummary:
    """Receive every record of a partner's export file, in one transaction."""
    lines = [
        (f"{path}:{number}", line.rstrip(b"\r"))
        for number, line in enumerate(_read(path).split(b"\n"), start=1)
        if line.strip()
    ]
    for source, line in lines:
        if len(line) > MAX_RECORD_BYTES:
            raise InputError(f"a record is above {MAX_RECORD_BYTES:,} bytes", source=source)
    with store.transaction() as conn:
        outcomes = mailbox.receive(conn, lines, now=_now(now), actor=actor)
    return ImportSummary(str(path), tuple(outcomes))


def inbox(store: Store, *, limit: int = 1000) -> Inbox:
    """The newest ``limit`` accepted and rejected messages."""
    with store.reading() as conn:
        received, rejected = mailbox.inbox(conn, limit)
    return Inbox(tuple(received), tuple(rejected))


def _read(path: Path) -> bytes:
    try:
        if path.stat().st_size > MAX_FILE_BYTES:
            raise InputError(f"file is above {MAX_FILE_BYTES:,} bytes", source=str(path))
        return path.read_bytes()
    except OSError as exc:
        raise InputError(f"cannot be read: {exc.strerror}", source=str(path)) from None


def _write_lines(path: Path, lines: list[bytes]) -> None:
    """Write ``lines`` to ``path`` whole or not at all (a temporary file renamed over it)."""
    partial = path.with_name(f".{path.name}.partial")
    try:
        with partial.open("wb") as out:
            for line in lines:
                out.write(line + b"\n")
            out.flush()
            os.fsync(out.fileno())
        partial.replace(path)
    except OSError as exc:
        partial.unlink(missing_ok=True)
        raise InputError(f"cannot be written: {exc.strerror}", source=str(path)) from None


def _message_type(message_type: MessageType | str) -> MessageType:
    try:
        return MessageType(message_type)
    except ValueError:
        known = ", ".join(MessageType)
        raise InputError(f"unknown message type {message_type!r}; one of: {known}") from None


def allow_partner(
    store: Store, administration: str, message_type: MessageType | str, *, personal: bool,
    basis: str | None, actor: str, now: datetime | None = None,
) -> Permission:  # fmt: skip
    """Record whether the partner may receive personal data (names, addresses, phones of
    persons) in messages of ``message_type``, on the legal ``basis`` (needed to allow)."""
    kind = _message_type(message_type)
    with store.transaction() as conn:
        trust.require_partner(conn, administration)
        return protection.allow(conn, administration, kind, personal=personal, basis=basis,
                                now=_now(now), actor=actor)  # fmt: skip


def permissions(store: Store, administration: str | None = None) -> tuple[Permission, ...]:
    """The data-protection permissions recorded (of one partner), by partner and type."""
    with store.reading() as conn:
        return tuple(protection.permissions(conn, administration))


def generate_group_key(key_dir: Path) -> Path:
    """A new partner-group key in ``key_dir`` (the file to hand to the group's members)."""
    return protection.write_group_key(key_dir)


def import_group_key(key_dir: Path, path: Path) -> Path:
    """Take the partner group's key from the file another member handed over."""
    return protection.write_group_key(key_dir, protection.read_group_key_file(path))


def shared_profiles(store: Store) -> tuple[SharedProfile, ...]:
    """The risk profiles partners shared, newest first, each pending, accepted or declined."""
    with store.reading() as conn:
        return tuple(reviews.shared(conn))


def accept_profile(
    store: Store, message_id: str, *, sender: str | None = None, actor: str,
    now: datetime | None = None,
) -> SharedProfile:  # fmt: skip
    """Load a shared profile as a DRAFT through the profile service (never activated here:
    ``quaywatch profiles activate`` is the analyst's later step) and record the review.

    One transaction, the shared message's row locked first: two analysts accepting at once
    give one draft and one review (the second is told it was accepted already), and an accept
    that fails leaves no draft behind."""
    from quaywatch.services.profiles import ProfileText, load_profiles_in

    with store.transaction() as conn:
        share = reviews.pending(conn, message_id, sender, lock=True)
        name = f"profile shared by {share.sender} (message {message_id})"
        [loaded] = load_profiles_in(conn, [ProfileText(name, share.share.profile)], actor=actor)
        reviews.decide(conn, share, "accepted", profile=(loaded.profile_id, loaded.version),
                       note=None, now=_now(now), actor=actor)  # fmt: skip
        return reviews.shared(conn, message_id, share.sender)[0]


def decline_profile(
    store: Store, message_id: str, *, reason: str, sender: str | None = None, actor: str,
    now: datetime | None = None,
) -> SharedProfile:  # fmt: skip
    """Decline a shared profile, with the reason (audited); nothing is loaded."""
    with store.transaction() as conn:
        share = reviews.pending(conn, message_id, sender, lock=True)
        reviews.decide(conn, share, "declined", profile=None, note=reason, now=_now(now),
                       actor=actor)  # fmt: skip
        return reviews.shared(conn, message_id, share.sender)[0]
