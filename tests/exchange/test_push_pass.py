"""One pass of the HTTP push (``services.exchange_push.push_once``) against a partner inbox served
on loopback by a plain HTTP server that answers 503 (down for maintenance), on both stores: one
message at a time is claimed, a stop ends the pass between messages, and neither a message
tried very often nor one whose push breaks stops the others."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from exchange_support import NOW, SEIZURE
from sqlalchemy import update

from quaywatch.exchange.keys import KeyDir
from quaywatch.exchange.push import Backoff
from quaywatch.services import exchange as ex
from quaywatch.services.exchange_push import push_once
from quaywatch.store import tables
from quaywatch.store.store import Store


class Inbox:
    """NLRTM's inbox, down: each post is answered 503; ``on_post`` runs first."""

    def __init__(self) -> None:
        self.posts = 0
        self.on_post: Callable[[], None] = lambda: None
        inbox = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                self.rfile.read(int(self.headers["Content-Length"]))
                inbox.posts += 1
                inbox.on_post()
                body = json.dumps({"title": "down for maintenance"}).encode()
                self.send_response(503)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


class Beanr:
    """BEANR's store and keys, NLRTM trusted and its inbox URL set, ``n`` messages queued."""

    def __init__(self, store: Store, folder: Path, url: str, n: int) -> None:
        self.store, self.keys = store, folder / "BEANR"
        nlrtm = Store.open(f"sqlite:///{folder / 'nlrtm.db'}")
        try:
            ex.generate_keys(nlrtm, folder / "NLRTM", "NLRTM", actor="l", now=NOW)
            ex.export_root(nlrtm, folder / "NLRTM.root")
        finally:
            nlrtm.close()
        ex.generate_keys(store, self.keys, "BEANR", actor="l", now=NOW)
        ex.add_partner(store, folder / "NLRTM.root", actor="l", now=NOW)
        ex.set_inbox_url(store, self.keys, "NLRTM", url, token="issued-by-nlrtm", actor="l",
                         now=NOW)  # fmt: skip
        (folder / "seizure.json").write_text(json.dumps(SEIZURE))
        self.ids = [
            ex.send(store, self.keys, "NLRTM", "seizure-report", folder / "seizure.json",
                    actor="ana", now=NOW).message_id
            for _ in range(n)
        ]  # fmt: skip

    def attempts(self) -> dict[str, int]:
        return {e.message_id: e.push_attempts for e in ex.outbox(self.store)}

    def push(self, **kwargs: object) -> list[tuple[str, str]]:
        summary = push_once(self.store, self.keys, actor="push", now=NOW, timeout_s=5,
                            **kwargs)  # type: ignore[arg-type]  # fmt: skip
        return [(r.message_id, r.result) for r in summary.results]


@pytest.fixture
def inbox() -> Iterator[Inbox]:
    made = Inbox()
    yield made
    made.close()


def test_each_message_is_claimed_only_when_its_turn_comes(
    store: Store, tmp_path: Path, inbox: Inbox
) -> None:
    beanr = Beanr(store, tmp_path, inbox.url, 3)
    seen: list[dict[str, int]] = []
    inbox.on_post = lambda: seen.append(beanr.attempts())
    assert sorted(beanr.push()) == sorted((mid, "failed") for mid in beanr.ids)
    # While a message was in flight, the ones after it were neither counted nor leased: a
    # second pusher could not find them taken for the whole length of the pass.
    assert [sorted(s.values()) for s in seen] == [[0, 0, 1], [0, 1, 1], [1, 1, 1]]


def test_a_stop_ends_the_pass_before_the_next_message(
    store: Store, tmp_path: Path, inbox: Inbox
) -> None:
    beanr = Beanr(store, tmp_path, inbox.url, 3)
    stop = threading.Event()
    inbox.on_post = stop.set
    assert len(beanr.push(stop=stop)) == 1
    assert inbox.posts == 1 and sorted(beanr.attempts().values()) == [0, 0, 1]


def test_a_message_tried_very_often_neither_overflows_nor_stops_the_others(
    store: Store, tmp_path: Path, inbox: Inbox
) -> None:
    beanr = Beanr(store, tmp_path, inbox.url, 2)
    out = tables.exchange_outbox
    with store.transaction() as conn:
        conn.execute(update(out).where(out.c.message_id == beanr.ids[0]).values(push_attempts=2000))
    assert sorted(beanr.push(backoff=Backoff())) == sorted((m, "failed") for m in beanr.ids)
    tried = {e.message_id: e for e in ex.outbox(store)}
    assert tried[beanr.ids[0]].push_attempts == 2001
    assert tried[beanr.ids[0]].next_push_at == NOW + Backoff().delay(2001)
    assert "HTTP 503" in (tried[beanr.ids[1]].last_push_error or "")


def test_a_push_that_breaks_is_that_messages_failure_and_the_pass_goes_on(
    store: Store, tmp_path: Path, inbox: Inbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    beanr = Beanr(store, tmp_path, inbox.url, 2)
    # A bug met on the first message only (reading its token raises an unexpected error).
    calls: list[str] = []
    real = KeyDir.push_token

    def broken_once(self: KeyDir, administration: str) -> str | None:
        calls.append(administration)
        if len(calls) == 1:
            raise RuntimeError("a bug")
        return real(self, administration)

    monkeypatch.setattr(KeyDir, "push_token", broken_once)
    assert sorted(beanr.push()) == sorted((m, "failed") for m in beanr.ids)
    errors = sorted(e.last_push_error or "" for e in ex.outbox(store))
    assert errors[0].startswith("HTTP 503") and errors[1] == "RuntimeError: a bug"
    assert inbox.posts == 1
