"""The HTTP push of the exchange outbox to the partners' inboxes (``exchange push``).

``push_once`` takes the messages due (``exchange.push.claim``: leased, attempt counted, in the
store), posts each record to its partner's inbox endpoint (``POST /api/v1/exchange/inbox``)
with the API token that partner issued to this node, and records the answer: delivered
(accepted, or a duplicate: the partner had it), refused (with the partner's reason; not pushed
again), or failed (no answer, an error status: tried again after the backoff). Everything is
in the store, so either node may stop at any moment: a push whose answer was lost is tried
again after its lease, and the receiver stores a message once.

``OutboxPusher`` runs ``push_once`` every few seconds in a thread, for ``quaywatch serve``
(setting ``exchange_push_interval_s``) and ``quaywatch exchange push``.
"""

from __future__ import annotations

import json
import logging
import threading
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import httpx2

from quaywatch.errors import QuaywatchError
from quaywatch.exchange import push
from quaywatch.exchange.keys import KeyDir
from quaywatch.exchange.push import Backoff
from quaywatch.exchange.receive import Reason
from quaywatch.store.store import Store

__all__ = ["Backoff", "OutboxPusher", "PushResult", "PushSummary", "push_once"]

log = logging.getLogger("quaywatch.exchange.push")
#: Bytes of a partner's answer read (an answer for one record is far smaller).
MAX_ANSWER_BYTES = 256 * 1024
#: The path of the inbox endpoint under a partner's base URL, when the URL names no path.
INBOX_PATH = "/api/v1/exchange/inbox"


@dataclass(frozen=True, slots=True)
class PushResult:
    """What became of one message pushed: ``delivered``, ``refused`` or ``failed``."""

    message_id: str
    recipient: str
    attempt: int
    result: str
    detail: str
    next_push_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class PushSummary:
    """One pass of the push: each message tried."""

    results: tuple[PushResult, ...]

    def count(self, result: str) -> int:
        """How many were ``delivered``, ``refused`` or ``failed``."""
        return sum(1 for r in self.results if r.result == result)


def inbox_endpoint(url: str) -> str:
    """The URL to post to: ``url`` itself, or the inbox path under it when it names none."""
    stripped = url.rstrip("/")
    return stripped if stripped.endswith(INBOX_PATH) else stripped + INBOX_PATH


def _answer(response: httpx2.Response) -> tuple[str, str]:
    """``(result, detail)`` of the partner's answer to one record."""
    body = response.content[:MAX_ANSWER_BYTES]
    if response.status_code != 200:
        try:
            problem = json.loads(body)
            said = str(problem.get("detail") or problem.get("title") or "")
        except (ValueError, AttributeError):
            said = ""
        return "failed", f"HTTP {response.status_code} from the partner's inbox: {said[:300]}"
    try:
        (outcome,) = json.loads(body)["outcomes"]
        status = str(outcome["status"])
    except (ValueError, KeyError, TypeError):
        return "failed", "the partner's inbox answered 200 without one outcome"
    if status in ("accepted", "duplicate"):
        return "delivered", status
    if status == "rejected":
        reason = str(outcome.get("reason"))
        if reason in set(Reason):
            return f"refused:{reason}", str(outcome.get("detail") or "")
        return "failed", f"the partner refused it for an unknown reason {reason[:40]!r}"
    return "failed", f"the partner's inbox answered an unknown status {status[:40]!r}"


def push_once(
    store: Store, key_dir: Path, *, backoff: Backoff | None = None, timeout_s: float = 10.0,
    actor: str, now: datetime | None = None, client: httpx2.Client | None = None,
    recipient: str | None = None, limit: int = 100, stop: threading.Event | None = None,
) -> PushSummary:  # fmt: skip
    """Push every message due now (at most ``limit``) to its partner's inbox; what became of
    each. ``now`` (tests) is the moment the attempts are recorded at and due by.

    The messages are claimed one at a time, each just before it is sent, so that its lease
    (``Backoff.lease_s``, at least twice ``timeout_s``) outlasts its own push and not a pass of
    ``limit`` pushes: a second pusher never takes a message in flight. ``stop`` set ends the
    pass before the next message. A message whose push fails unexpectedly (a bug, the store
    gone) is recorded as failed with that error, and the pass goes on with the others."""
    backoff = backoff or Backoff()
    keys = KeyDir(key_dir)
    own = client or httpx2.Client(timeout=timeout_s, follow_redirects=False)
    results: list[PushResult] = []
    try:
        while len(results) < limit and not (stop is not None and stop.is_set()):
            moment = datetime.now(UTC) if now is None else now
            with store.transaction() as conn:
                claimed = push.claim(conn, keys, now=moment, backoff=backoff, limit=1,
                                     recipient=recipient)  # fmt: skip
            if not claimed:
                break
            results.append(_push_guarded(store, keys, own, claimed[0], moment, backoff, actor))
    finally:
        if client is None:
            own.close()
    return PushSummary(tuple(results))


def _push_guarded(
    store: Store, keys: KeyDir, client: httpx2.Client, item: push.Claimed, now: datetime,
    backoff: Backoff, actor: str,
) -> PushResult:  # fmt: skip
    """``_push_one``; an unexpected error is that message's failure, not the pass's."""
    try:
        return _push_one(store, keys, client, item, now, backoff, actor)
    except Exception as exc:  # a bug or a lost store: logged, recorded, the pass goes on
        log.exception("the push of %s to %s failed", item.message_id, item.recipient)
        detail = f"{type(exc).__name__}: {exc}"[: push.MAX_ERROR]
        due: datetime | None = None
        try:
            with store.transaction() as conn:
                due = push.failed(conn, item, detail, now=now, backoff=backoff)
        except Exception:  # the store itself fails: the lease brings the message back
            log.exception("the failure of %s could not be recorded", item.message_id)
        return PushResult(item.message_id, item.recipient, item.attempt, "failed", detail, due)


def _push_one(
    store: Store, keys: KeyDir, client: httpx2.Client, item: push.Claimed, now: datetime,
    backoff: Backoff, actor: str,
) -> PushResult:  # fmt: skip
    try:
        token = keys.push_token(item.recipient)
    except QuaywatchError as exc:
        token, result, detail = None, "failed", exc.message
    else:
        result, detail = (
            "failed",
            (
                f"no push token for {item.recipient}: `quaywatch partners set-url "
                f"{item.recipient} URL --token-file FILE` with the token {item.recipient} issued"
            ),
        )
    if token is not None:
        try:
            response = client.post(
                inbox_endpoint(item.url), content=item.record,
                headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
            )  # fmt: skip
            result, detail = _answer(response)
        except httpx2.HTTPError as exc:
            result, detail = "failed", f"{type(exc).__name__}: {exc}"[: push.MAX_ERROR]
    # The answer is recorded with the moment the attempt was claimed at, so that tests and
    # clocks agree; the backoff is measured from it.
    with store.transaction() as conn:
        if result == "delivered":
            push.delivered(conn, item, detail, now=now, actor=actor)
            return PushResult(item.message_id, item.recipient, item.attempt, "delivered", detail)
        if result.startswith("refused:"):
            reason = Reason(result.removeprefix("refused:"))
            push.refused(conn, item, reason, detail, now=now, actor=actor)
            return PushResult(item.message_id, item.recipient, item.attempt, "refused",
                              f"{reason}: {detail}")  # fmt: skip
        due = push.failed(conn, item, detail, now=now, backoff=backoff)
    log.warning("push of %s to %s failed (attempt %d, next %s): %s", item.message_id,
                item.recipient, item.attempt, due.isoformat(), detail)  # fmt: skip
    return PushResult(item.message_id, item.recipient, item.attempt, "failed", detail, due)


class OutboxPusher:
    """A thread that runs ``push_once`` every ``interval_s`` seconds until ``close``.

    A failing store or partner does not stop it: each pass logs what failed, and the state of
    every message stays in the store."""

    def __init__(
        self, store: Store, key_dir: Path, *, interval_s: float, backoff: Backoff | None = None,
        timeout_s: float = 10.0, actor: str = "exchange-push",
    ) -> None:  # fmt: skip
        self._store, self._key_dir = store, key_dir
        self._interval_s, self._timeout_s = interval_s, timeout_s
        self._backoff = backoff or Backoff()
        self._actor = actor
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        """Start pushing (once)."""
        if self._thread is None:
            self._thread = threading.Thread(target=self._work, name="quaywatch-exchange-push",
                                            daemon=True)  # fmt: skip
            self._thread.start()

    def run(self) -> None:
        """Push in this thread until ``close`` (or an interrupt)."""
        self._work()

    def close(self) -> None:
        """Stop after the message being pushed, and wait for the thread to end (at most one
        push: the pass checks the stop between messages, and a push waits ``timeout_s``), so
        that the store may be closed after."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join()

    def _work(self) -> None:
        with httpx2.Client(timeout=self._timeout_s, follow_redirects=False) as client:
            while not self._stop.is_set():
                try:
                    push_once(self._store, self._key_dir, backoff=self._backoff,
                              timeout_s=self._timeout_s, actor=self._actor, client=client,
                              stop=self._stop)  # fmt: skip
                except QuaywatchError as exc:
                    log.error("the exchange push cannot run: %s", exc.message)
                except Exception:  # a bug: say so, and keep the other partners served
                    log.exception("the exchange push failed")
                self._stop.wait(self._interval_s)
