"""Photos and PDFs attached to inspection orders, on SQLite and PostgreSQL: kept once under
their SHA-256, typed by their content, within the size limit, only on orders in progress or
done, and never served once the stored content was changed."""

from __future__ import annotations

import hashlib

import pytest
from control_scenario import Ordered
from sqlalchemy import func, select, text, update

from quaywatch.audit import chain
from quaywatch.config import Settings, load_settings
from quaywatch.control import attachments, orders, outcome
from quaywatch.control.attachments import Attachment
from quaywatch.errors import (
    ConfigurationError,
    ConflictError,
    InputError,
    NotFoundError,
    RecordError,
    TamperedError,
)
from quaywatch.store import tables
from quaywatch.store.store import Store
from sample_files import jpeg, pdf, png, webp

LIMIT = 10 * 1024 * 1024


def _started(ordered: Ordered, count: int) -> list[str]:
    ids = ordered.order_ids[:count]
    for order_id in ids:
        orders.start(ordered.store, order_id, actor="ivo")
    return ids


def _count(store: Store, table: object) -> int:
    with store.reading() as conn:
        return int(conn.execute(select(func.count()).select_from(table)).scalar_one())  # type: ignore[arg-type]


def _attach_events(store: Store) -> list[chain.AuditEvent]:
    with store.reading() as conn:
        chain.verify(conn)
        return [e for e in chain.recent(conn, 100) if e.action == "order_attach"]


def test_a_photo_is_kept_once_and_attaching_it_again_changes_nothing(ordered: Ordered) -> None:
    store = ordered.store
    first, second = _started(ordered, 2)
    photo = png(1)
    sha = hashlib.sha256(photo).hexdigest()
    made = attachments.attach(store, first, photo, filename="seal.png", caption="broken seal",
                              max_bytes=LIMIT, actor="ivo")  # fmt: skip
    assert (made.sha256, made.media_type, made.size, made.created) == (
        sha, "image/png", len(photo), True,
    )  # fmt: skip
    other = attachments.attach(store, second, photo, filename="same.png", max_bytes=LIMIT,
                               actor="eva")  # fmt: skip
    assert other.created and other.sha256 == sha
    assert _count(store, tables.blobs) == 1  # the same content, stored once
    assert _count(store, tables.order_attachments) == 2

    again = attachments.attach(store, first, photo, filename="renamed.png", caption="other",
                               max_bytes=LIMIT, actor="ana")  # fmt: skip
    assert not again.created
    assert (again.filename, again.caption, again.actor) == ("seal.png", "broken seal", "ivo")
    assert attachments.attachments(store, first) == [
        Attachment(first, sha, "seal.png", "broken seal", "image/png", len(photo), made.at, "ivo")
    ]
    events = _attach_events(store)
    assert sorted((e.object_id, e.details["sha256"]) for e in events) == sorted(
        [(first, sha), (second, sha)]
    )  # one event per attachment made, none for the repeat
    read = attachments.content(store, first, sha)
    assert read.content == photo and read.attachment.media_type == "image/png"
    history = [h["action"] for h in orders.history(store, first)]
    assert history.count("attach") == 1


CASES = [
    (png(2), "photo.pdf", "image/png"),
    (jpeg(2), "IMG_0001.JPG", "image/jpeg"),
    (webp(), "photo", "image/webp"),
    (pdf(), "report.png", "application/pdf"),
]


def test_the_type_is_the_contents_whatever_the_name_says(ordered: Ordered) -> None:
    store = ordered.store
    (order_id,) = _started(ordered, 1)
    for content, name, expected in CASES:
        made = attachments.attach(store, order_id, content, filename=name, max_bytes=LIMIT)
        assert made.media_type == expected, name
        assert attachments.content(store, order_id, made.sha256).content == content
    refused = [
        (b"just some notes, honestly a picture\n", "notes.png"),
        (b"GIF89a\x01\x00\x01\x00\x00\x00\x00;", "anim.gif"),
        (b"<svg xmlns='http://www.w3.org/2000/svg'/>", "drawing.jpg"),
        (b"RIFF\x04\x00\x00\x00WAVE", "sound.webp"),
    ]
    for content, name in refused:
        with pytest.raises(InputError, match=rf"^{name}: not a JPEG, PNG or WebP photo or a PDF"):
            attachments.attach(store, order_id, content, filename=name, max_bytes=LIMIT)
    with pytest.raises(InputError, match="^empty.jpg: the file is empty"):
        attachments.attach(store, order_id, b"", filename="empty.jpg", max_bytes=LIMIT)
    assert len(attachments.attachments(store, order_id)) == len(CASES)


def test_the_size_limit(ordered: Ordered) -> None:
    store = ordered.store
    (order_id,) = _started(ordered, 1)
    photo = jpeg(3)
    with pytest.raises(InputError, match=r"^big.jpg: larger than the 160 bytes an attachment"):
        attachments.attach(store, order_id, photo, filename="big.jpg", max_bytes=160)
    with pytest.raises(InputError, match=r"larger than the 1.5 MiB"):
        attachments.attach(store, order_id, b"\xff\xd8\xff" + bytes(3 * 2**19), filename="x.jpg",
                           max_bytes=3 * 2**19)  # fmt: skip
    assert attachments.attachments(store, order_id) == []
    made = attachments.attach(store, order_id, photo, filename="fits.jpg", max_bytes=len(photo))
    assert made.created and made.size == len(photo)


def test_the_size_limit_is_a_checked_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    assert Settings().attachment_max_bytes == 10 * 1024 * 1024
    monkeypatch.setenv("QUAYWATCH_ATTACHMENT_MAX_BYTES", "2048")
    assert load_settings().attachment_max_bytes == 2048
    for bad in ("0", "-1", str(200 * 1024 * 1024), "ten"):
        monkeypatch.setenv("QUAYWATCH_ATTACHMENT_MAX_BYTES", bad)
        with pytest.raises(ConfigurationError, match="QUAYWATCH_ATTACHMENT_MAX_BYTES"):
            load_settings()


def test_only_orders_in_progress_or_done_take_files(ordered: Ordered) -> None:
    store = ordered.store
    planned, cancelled, done = ordered.order_ids[:3]
    photo = png(4)
    with pytest.raises(ConflictError, match=f"order {planned} is planned"):
        attachments.attach(store, planned, photo, filename="a.png", max_bytes=LIMIT)
    orders.override(store, cancelled, reason="vessel left", cancel=True)
    with pytest.raises(ConflictError, match=f"order {cancelled} is cancelled"):
        attachments.attach(store, cancelled, photo, filename="a.png", max_bytes=LIMIT)
    orders.start(store, done)
    outcome.record_outcome(store, done, result="COMPLIANT")
    assert attachments.attach(store, done, photo, filename="a.png", max_bytes=LIMIT).created
    assert _count(store, tables.blobs) == 1  # the refused ones stored nothing
    with pytest.raises(NotFoundError, match="no inspection order 'QWNOPE'"):
        attachments.attach(store, "QWNOPE", photo, filename="a.png", max_bytes=LIMIT)
    with pytest.raises(NotFoundError):
        attachments.attachments(store, "QWNOPE")


def test_names_are_labels_and_captions_are_bounded(ordered: Ordered) -> None:
    store = ordered.store
    (order_id,) = _started(ordered, 1)
    hostile = "C:\\temp\\..\\../etc/\u202egpj.exe\x00\x1b[31m  photo\t1.png"
    made = attachments.attach(store, order_id, png(5), filename=hostile, max_bytes=LIMIT)
    assert made.filename == "gpj.exe[31m photo 1.png"
    long = "x" * 300 + ".jpeg"
    kept = attachments.attach(store, order_id, jpeg(5), filename=long, max_bytes=LIMIT).filename
    assert len(kept) == attachments.FILENAME_LIMIT and kept.endswith("x.jpeg")
    unnamed = attachments.attach(store, order_id, pdf(), filename="../", max_bytes=LIMIT)
    assert unnamed.filename == unnamed.sha256[:12] + ".pdf"
    with pytest.raises(RecordError, match="field caption: longer than 500 characters"):
        attachments.attach(store, order_id, png(6), filename="a.png", caption="y" * 501,
                           max_bytes=LIMIT)  # fmt: skip


def test_changed_content_is_reported_never_served(ordered: Ordered) -> None:
    store = ordered.store
    first, second = _started(ordered, 2)
    photo = png(7)
    sha = attachments.attach(store, first, photo, filename="a.png", max_bytes=LIMIT).sha256
    b = tables.blobs
    with store.transaction() as conn:
        conn.execute(update(b).where(b.c.sha256 == sha).values(content=png(8)))
    with pytest.raises(TamperedError, match=f"attachment {sha} of order {first}"):
        attachments.content(store, first, sha)
    # The same photo attached elsewhere is not linked to the changed blob either.
    with pytest.raises(TamperedError, match=sha):
        attachments.attach(store, second, photo, filename="a.png", max_bytes=LIMIT)
    assert attachments.attachments(store, second) == []

    # A recorded type changed to one a browser would run is caught as well.
    other = attachments.attach(store, first, jpeg(9), filename="b.jpg", max_bytes=LIMIT).sha256
    with store.transaction() as conn:
        conn.execute(
            text("UPDATE blobs SET media_type = 'text/html' WHERE sha256 = :sha"), {"sha": other}
        )
    with pytest.raises(TamperedError, match=other):
        attachments.content(store, first, other)
    with pytest.raises(NotFoundError, match=f"order {first} has no attachment"):
        attachments.content(store, first, "0" * 64)
    with pytest.raises(NotFoundError):
        attachments.content(store, second, sha)
    with pytest.raises(NotFoundError):
        attachments.content(store, first, "../../etc/passwd")
