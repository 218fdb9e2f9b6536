"""JSON array files split into their items, streaming, each with its bytes as read; likewise
the items of the array under one key of a file holding one JSON object (``object_items``: DCSA
Track & Trace 3's ``{"events": [...]}``), and the keys of such an object (``object_keys``).

The C parser finds where an item ends, run on a Latin-1 view of the bytes (one character per
byte, so its positions are byte offsets, and JSON structure is ASCII); an item it refuses (too
deep, not JSON, over the size limit) is passed over by its brackets and strings alone, so that
``decode.json_record`` can say why and the items after it are still read. Only an array whose
structure is broken refuses the file.
"""

from __future__ import annotations

import json
import re
from collections.abc import Generator, Iterator
from typing import IO, Any

from quaywatch.errors import InputError
from quaywatch.intake import decode

#: Bytes read at a time (at least).
_BLOCK = decode.BLOCK
_OUTSIDE = re.compile(rb'["\[\]{},]')
_INSIDE = re.compile(rb'["\\]')


class _Scan:
    """Finds where one JSON value ends by its brackets and strings alone, fed in blocks, so
    that a value the parser refuses (too deep, too long, broken) can be passed over."""

    def __init__(self) -> None:
        self.depth, self.in_string, self.skip = 0, False, 0

    def feed(self, data: bytes, start: int) -> int | None:
        """The index in ``data`` just after the value, or ``None``: it goes on after ``data``."""
        at = start + self.skip
        self.skip = 0
        while at < len(data):
            if self.in_string:
                found = _INSIDE.search(data, at)
                if found is None:
                    return None
                if found.group() == b"\\":
                    at = found.end() + 1
                    continue
                self.in_string, at = False, found.end()
                if self.depth == 0:
                    return at
                continue
            found = _OUTSIDE.search(data, at)
            if found is None:
                return None
            token, at = found.group(), found.end()
            if token == b'"':
                self.in_string = True
            elif token in (b"[", b"{"):
                self.depth += 1
            elif token in (b"]", b"}"):
                self.depth -= 1
                if self.depth <= 0:
                    return at if self.depth == 0 else found.start()
            elif self.depth == 0:  # a comma after a bare number or word
                return found.start()
        self.skip = at - len(data)
        return None


class _Buffer:
    """A window on a file: ``data`` from byte ``base`` of the file on, read in blocks."""

    def __init__(self, file: IO[bytes]) -> None:
        self.file, self.data, self.base, self.eof = file, b"", 0, False
        self._text: str | None = None

    def more(self, at: int, at_least: int = 0) -> int:
        """Read on, forgetting the bytes before ``at``; return where ``at`` is now (0)."""
        self.data, self.base, self._text = self.data[at:], self.base + at, None
        block = self.file.read(max(at_least, _BLOCK))
        self.data += block
        self.eof = not block
        return 0

    @property
    def text(self) -> str:
        # Latin-1 maps every byte to one character: positions in the text are byte offsets,
        # and JSON structure is ASCII, so the C parser finds an item's end on raw bytes.
        if self._text is None:
            self._text = self.data.decode("latin-1")
        return self._text

    def skip_space(self, at: int) -> int:
        while True:
            while at < len(self.data) and self.data[at] in b" \t\r\n":
                at += 1
            if at < len(self.data) or self.eof:
                return at
            at = self.more(at)


def array_items(
    file: IO[bytes], limits: decode.Limits, source: str
) -> Iterator[tuple[decode.Piece, Any]]:
    """The items of a JSON array file, each with its value where the C parser read it already.

    An item the parser refuses is passed over by its brackets and read again by
    ``json_record``, which says why; only an array whose structure is broken (no ``[``, no
    ``,`` between items, an item not closed at the end of the file) refuses the file.
    """
    buf, at = _start(file)
    if at >= len(buf.data):
        return
    if buf.data[at : at + 1] != b"[":
        raise InputError(
            "a .json file holds an array of records ([...]) or one record per line",
            source=source,
        )
    at = yield from _array(buf, at, limits, source)
    _expect_end(buf, at, source)


def _start(file: IO[bytes]) -> tuple[_Buffer, int]:
    buf = _Buffer(file)
    at = buf.skip_space(buf.more(0))
    if buf.data.startswith(decode.BOM):
        at = buf.skip_space(3)
    return buf, at


def _array(
    buf: _Buffer, at: int, limits: decode.Limits, source: str
) -> Generator[tuple[decode.Piece, Any], None, int]:
    """The items of the array whose ``[`` is at ``at``; returns where it ends (after ``]``)."""
    at = buf.skip_space(at + 1)
    if buf.data[at : at + 1] == b"]":
        return at + 1
    number = 0
    while True:
        number += 1
        piece, value, at = _item(buf, at, number, limits, source)
        yield piece, value
        at = buf.skip_space(at)
        token = buf.data[at : at + 1]
        if token == b"]":
            return at + 1
        if token != b",":
            found = repr(token.decode("latin-1")) if token else "the end of the file"
            raise InputError(
                f"after item {number}: expected ',' or ']' at byte offset {buf.base + at}, "
                f"found {found}",
                source=source,
            )
        at = buf.skip_space(at + 1)


def _members(
    buf: _Buffer, at: int, limits: decode.Limits, source: str
) -> Generator[tuple[str, int], int | None, None]:
    """The keys of the file's top-level object (from ``at``), each with where its value
    starts in ``buf``. The caller sends back where the value ends if it read the value (and
    so read on in ``buf``); a value it did not read is passed over."""
    if at >= len(buf.data):
        raise InputError("expected a JSON object ({...}), found nothing", source=source)
    if buf.data[at : at + 1] != b"{":
        raise InputError("expected a JSON object ({...})", source=source)
    at = buf.skip_space(at + 1)
    if buf.data[at : at + 1] == b"}":
        _expect_end(buf, at + 1, source)
        return
    number = 0
    while True:
        number += 1
        piece, key, at = _item(buf, at, number, limits, source)
        if key is None:
            try:
                key = json.loads(piece.data.decode("utf-8"))
            except (UnicodeDecodeError, ValueError):
                key = None
        if not isinstance(key, str):
            raise InputError(
                f"not valid JSON: key {number} of the object (byte offset {piece.offset}) is "
                "not a string",
                source=source,
            )
        at = buf.skip_space(at)
        if buf.data[at : at + 1] != b":":
            raise InputError(
                f"not valid JSON: expected ':' after key {key!r} at byte offset {buf.base + at}",
                source=source,
            )
        start = buf.skip_space(at + 1)
        before = buf.base
        done = yield key, start
        if done is None:  # not read by the caller: pass its value over
            _, _, at = _item(buf, start - (buf.base - before), number, limits, source)
        else:
            at = done
        at = buf.skip_space(at)
        token = buf.data[at : at + 1]
        if token == b"}":
            _expect_end(buf, at + 1, source)
            return
        if token != b",":
            found = repr(token.decode("latin-1")) if token else "the end of the file"
            raise InputError(
                f"not valid JSON: expected ',' or '}}' after the value of {key!r} at byte "
                f"offset {buf.base + at}, found {found}",
                source=source,
            )
        at = buf.skip_space(at + 1)


def object_keys(file: IO[bytes], limits: decode.Limits, source: str) -> list[str]:
    """The keys of the JSON object a file holds, in order (their values passed over)."""
    buf, at = _start(file)
    return [key for key, _ in _members(buf, at, limits, source)]


def first_of_keys(
    file: IO[bytes], keys: set[str], limits: decode.Limits, source: str
) -> str | None:
    """The first of ``keys`` that the JSON object a file holds has with an array for its
    value, the array not read (the values before it passed over); None where it has none."""
    buf, at = _start(file)
    return next(
        (
            key for key, start in _members(buf, at, limits, source)
            if key in keys and buf.data[start : start + 1] == b"["
        ),
        None,
    )  # fmt: skip


def object_items(
    file: IO[bytes], key: str, limits: decode.Limits, source: str
) -> Iterator[tuple[decode.Piece, Any]]:
    """The items of the array under ``key`` of the JSON object a file holds, streamed as
    ``array_items`` streams a top-level array; the object's other members are passed over.
    ``InputError`` where the key is missing, given twice, or holds no array."""
    buf, at = _start(file)
    members = _members(buf, at, limits, source)
    found = False
    try:
        name, start = next(members)
        while True:
            if name != key:
                name, start = next(members)
                continue
            if found:
                raise InputError(f"key {key!r} appears twice in the object", source=source)
            found = True
            if buf.data[start : start + 1] != b"[":
                raise InputError(f"{key!r} holds no array of records", source=source)
            end = yield from _array(buf, start, limits, source)
            name, start = members.send(end)
    except StopIteration:
        pass
    if not found:
        raise InputError(f"the object has no {key!r} array", source=source)


def _item(
    buf: _Buffer, at: int, number: int, limits: decode.Limits, source: str
) -> tuple[decode.Piece, Any, int]:
    """The item at ``at`` in ``buf``, by the C parser, else by its brackets: its piece, its
    value where the parser read it and the data is ASCII, and where in ``buf`` it ends."""
    while True:
        try:
            value, end = decode.DECODER.raw_decode(buf.text, at)
        except json.JSONDecodeError as exc:
            truncated = exc.pos >= len(buf.data) - 1 or exc.msg.startswith("Unterminated")
            if truncated and not buf.eof and len(buf.data) - at <= limits.max_record_bytes:
                at = buf.more(at, len(buf.data))
                continue
        except (RecursionError, ValueError):
            pass
        else:
            if end < len(buf.data) or buf.eof:
                data = buf.data[at:end]
                piece = decode.Piece(number, buf.base + at, data, len(data))
                return piece, value if data.isascii() else None, end
            at = buf.more(at, len(buf.data))
            continue
        break
    at = buf.more(at, 0) if at else at  # the item now starts the buffer
    scan = _Scan()
    stop: int | None = scan.feed(buf.data, 0)
    while stop is None and len(buf.data) <= limits.max_record_bytes:
        start = len(buf.data)
        buf.more(0, len(buf.data))
        if buf.eof:
            raise _unclosed(number, buf.base, source)
        stop = scan.feed(buf.data, start)
    if stop is not None:
        data = buf.data[:stop].rstrip()  # a bare number or word ends where the comma is
        kept = data if len(data) <= limits.max_record_bytes else data[: decode.CLIP]
        return decode.Piece(number, buf.base, kept, len(data)), None, stop
    # Over the limit and still open: keep its head, pass over the rest without holding it.
    head, base = buf.data[: decode.CLIP], buf.base
    size, blank = 0, 0  # bytes so far, of which trailing white space
    while stop is None:
        size, blank = size + len(buf.data), _blank_after(buf.data, blank)
        buf.more(len(buf.data))
        if buf.eof:
            raise _unclosed(number, base, source)
        stop = scan.feed(buf.data, 0)
    total = size + stop - _blank_after(buf.data[:stop], blank)
    return decode.Piece(number, base, head[:total], total), None, stop


def _blank_after(data: bytes, before: int) -> int:
    """White space at the end of what was read, given ``before`` at the end of what came first."""
    kept = len(data.rstrip())
    return before + len(data) if kept == 0 else len(data) - kept


def _unclosed(number: int, offset: int, source: str) -> InputError:
    return InputError(
        f"not valid JSON: item {number} (byte offset {offset}) is not closed before the end of the file",
        source=source,
    )


def _expect_end(buf: _Buffer, at: int, source: str) -> None:
    at = buf.skip_space(at)
    if at < len(buf.data):
        raise InputError(
            f"text after the end of the array at byte offset {buf.base + at}", source=source
        )
