"""Files attached to inspection orders: photos of what an examination found, scanned papers.

The content is kept once, in ``blobs``, named by its SHA-256, which is computed here from the
bytes received (never taken from the client): the same photo attached to two orders is stored
once, and attaching it to the same order again changes nothing. An order's attachment
(``order_attachments``) names the blob, with the file name and caption it came with; the file
name is a label only (paths and control characters removed, length capped), never a path.

What a file is, is decided from its first bytes (its signature), not from its name or the
type the client claims: JPEG, PNG and WebP photos and PDF documents are taken, anything else
is refused naming the file. Files are attached while the control is in progress or once it is
done (photos are often sorted out after the outcome); a planned or cancelled order takes none.

Attaching is one transaction that stores the blob if new, the attachment, a step in the
order's history and an audit event carrying the order id and the SHA-256. Reading a file back
hashes its content again: content changed in the database after it was stored is reported
(``TamperedError`` naming the order and the hash), never served.

>>> attach(store, order_id, photo, filename="seal.jpg", max_bytes=10_485_760)  # doctest: +SKIP
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, insert, select
from sqlalchemy.dialects import postgresql, sqlite

from quaywatch.control.orders import load, log
from quaywatch.control.states import State
from quaywatch.errors import (
    ConflictError,
    InputError,
    NotFoundError,
    RecordError,
    TamperedError,
    said,
)
from quaywatch.store import tables
from quaywatch.store.store import Store

#: The media types taken, and the extension a file without a usable name is labelled with.
MEDIA_TYPES = {
    "image/jpeg": ".jpg",
    "image/png": ".png",
    "image/webp": ".webp",
    "application/pdf": ".pdf",
}
#: The order states in which files may be attached.
ATTACHABLE = frozenset({State.IN_PROGRESS, State.DONE})
#: Characters kept of a file name, and of a caption.
FILENAME_LIMIT = 120
CAPTION_LIMIT = 500

_SHA256 = re.compile(r"[0-9a-f]{64}")


@dataclass(frozen=True, slots=True)
class Attachment:
    """A file attached to an order; ``created`` is False when it was attached already."""

    order_id: str
    sha256: str
    filename: str
    caption: str | None
    media_type: str
    size: int
    at: datetime
    actor: str
    created: bool = False


@dataclass(frozen=True, slots=True)
class AttachmentContent:
    """An attachment with its content, whose SHA-256 was checked as it was read."""

    attachment: Attachment
    content: bytes


def attachable(state: str) -> bool:
    """Whether an order in ``state`` takes files: in progress or done."""
    return state in ATTACHABLE


def media_type_of(content: bytes) -> str | None:
    """The media type ``content``'s signature shows (one of ``MEDIA_TYPES``), else None."""
    if content.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if content.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if content[:4] == b"RIFF" and content[8:12] == b"WEBP":
        return "image/webp"
    if content.startswith(b"%PDF-"):
        return "application/pdf"
    return None


def label(filename: str | None) -> str:
    """The part of ``filename`` kept as a label: its last path component without control or
    formatting characters (a right-to-left override could disguise ``gpj.exe``), with runs of
    spaces, tabs and line breaks made one space, and at most ``FILENAME_LIMIT`` characters
    (its extension kept)."""
    name = (filename or "").replace("\\", "/").rsplit("/", 1)[-1]
    name = "".join(
        " " if ch.isspace() else ch
        for ch in name
        if ch.isspace() or not unicodedata.category(ch).startswith("C")
    )
    name = " ".join(name.split()).strip(" .")
    if len(name) > FILENAME_LIMIT:
        stem, dot, extension = name.rpartition(".")
        if dot and stem and len(extension) <= 10:
            name = stem[: FILENAME_LIMIT - len(extension) - 1].rstrip(" .") + "." + extension
        else:
            name = name[:FILENAME_LIMIT]
    return name


def megabytes(size: int) -> str:
    """``size`` bytes in words an officer reads: ``10 MiB``, ``1.5 MiB``, ``300 KiB``."""
    if size >= 1024 * 1024:
        return f"{size / (1024 * 1024):.1f}".removesuffix(".0") + " MiB"
    if size >= 1024:
        return f"{size / 1024:.1f}".removesuffix(".0") + " KiB"
    return f"{size} bytes"


def _caption(caption: str | None, order_id: str) -> str | None:
    text = " ".join((caption or "").split())
    if len(text) > CAPTION_LIMIT:
        raise RecordError(
            f"longer than {CAPTION_LIMIT} characters", record_id=order_id, field="caption"
        )
    return text or None


def _insert_once(conn: Connection, table: Any, values: dict[str, Any]) -> None:
    """Insert ``values`` unless a row with the same key exists (two transactions storing the
    same content at once on PostgreSQL: the second waits for the first, then adds nothing)."""
    dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
    conn.execute(dialect.insert(table).values(**values).on_conflict_do_nothing())


def _tampered(order_id: str, sha256: str) -> TamperedError:
    return TamperedError(
        f"attachment {sha256} of order {order_id}: the stored content no longer matches its "
        "SHA-256; it was changed in the database after it was stored and is not served"
    )


def _keep_blob(
    conn: Connection, sha256: str, media_type: str, content: bytes, at: datetime, order_id: str
) -> None:
    """Store the content under its hash unless it is there already (then it must still be
    the same bytes: a blob changed in the database is reported, not linked to again)."""
    b = tables.blobs
    stored = conn.execute(select(b.c.content).where(b.c.sha256 == sha256)).scalar_one_or_none()
    if stored is None:
        _insert_once(conn, b, {"sha256": sha256, "media_type": media_type,
                               "size": len(content), "content": content, "stored_at": at})  # fmt: skip
    elif hashlib.sha256(bytes(stored)).hexdigest() != sha256:
        raise _tampered(order_id, sha256)


def _attachment(row: Any, *, created: bool = False) -> Attachment:
    return Attachment(
        row.order_id, row.sha256, row.filename, row.caption, row.media_type, row.size, row.at,
        row.actor, created,
    )  # fmt: skip


def _joined() -> Any:
    a, b = tables.order_attachments, tables.blobs
    return select(a, b.c.media_type, b.c.size).join(b, b.c.sha256 == a.c.sha256)


def attach(
    store: Store,
    order_id: str,
    content: bytes,
    *,
    filename: str | None,
    caption: str | None = None,
    max_bytes: int,
    actor: str = "system",
    now: datetime | None = None,
) -> Attachment:
    """Attach ``content`` to the order ``order_id``, which must be in progress or done.

    Refused: an empty file, one over ``max_bytes``, one that is not a JPEG, PNG or WebP photo
    or a PDF (by its signature) — an ``InputError`` naming the file; a caption over
    ``CAPTION_LIMIT`` characters (``RecordError``); a planned or cancelled order
    (``ConflictError`` naming its state). The same content on the same order again returns
    the stored attachment (``created`` False) and changes nothing.
    """
    if max_bytes < 1:
        raise InputError(f"the attachment size limit must be 1 byte or more, got {max_bytes}")
    shown = label(filename) or None
    if not content:
        raise InputError(said("the file is empty"), source=shown)
    if len(content) > max_bytes:
        raise InputError(
            said("larger than the %(size)s an attachment may be", size=megabytes(max_bytes)),
            source=shown,
        )
    media_type = media_type_of(content)
    if media_type is None:
        raise InputError(
            said(
                "not a JPEG, PNG or WebP photo or a PDF document (judged by its content, "
                "whatever its name says)"
            ),
            source=shown,
        )
    text = _caption(caption, order_id)
    sha256 = hashlib.sha256(content).hexdigest()
    name = label(filename) or f"{sha256[:12]}{MEDIA_TYPES[media_type]}"
    at = now or tables.utcnow()
    a = tables.order_attachments
    with store.transaction() as conn:
        order = load(conn, order_id, lock=True)
        stored = conn.execute(
            _joined().where(a.c.order_id == order_id, a.c.sha256 == sha256)
        ).first()
        if stored is not None:
            return _attachment(stored)
        if not attachable(order.state):
            raise ConflictError(
                said("order %(order)s is %(state)s; files are attached while it is "
                     "in_progress or once it is done", order=order_id, state=order.state)
            )  # fmt: skip
        _keep_blob(conn, sha256, media_type, content, at, order_id)
        conn.execute(
            insert(a).values(order_id=order_id, sha256=sha256, filename=name, caption=text,
                             at=at, actor=actor)
        )  # fmt: skip
        log(conn, order, "attach", actor=actor, at=at,
            details={"sha256": sha256, "filename": name, "media_type": media_type,
                     "size": len(content)})  # fmt: skip
    return Attachment(order_id, sha256, name, text, media_type, len(content), at, actor, True)


def attachments(store: Store, order_id: str) -> list[Attachment]:
    """The files attached to an order, oldest first; ``NotFoundError`` if there is no order."""
    a = tables.order_attachments
    with store.reading() as conn:
        load(conn, order_id)
        rows = conn.execute(_joined().where(a.c.order_id == order_id).order_by(a.c.at, a.c.sha256))
        return [_attachment(row) for row in rows]


def content(store: Store, order_id: str, sha256: str) -> AttachmentContent:
    """The attachment ``sha256`` of an order with its content, hashed again as it is read.

    ``NotFoundError`` for an unknown order or a hash the order has no attachment under;
    ``TamperedError`` naming both when the stored content (or its recorded type or size) no
    longer matches what was attached.
    """
    a, b = tables.order_attachments, tables.blobs
    wanted = sha256.strip().lower()
    with store.reading() as conn:
        load(conn, order_id)
        row = None
        if _SHA256.fullmatch(wanted):
            row = conn.execute(
                _joined().add_columns(b.c.content)
                .where(a.c.order_id == order_id, a.c.sha256 == wanted)
            ).first()  # fmt: skip
    if row is None:
        raise NotFoundError(f"order {order_id} has no attachment {sha256!r}")
    data = bytes(row.content)
    if (
        hashlib.sha256(data).hexdigest() != wanted
        or len(data) != row.size
        or media_type_of(data) != row.media_type
    ):
        raise _tampered(order_id, wanted)
    return AttachmentContent(_attachment(row), data)
