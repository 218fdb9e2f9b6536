"""The front door of every reader: bytes to text, text to JSON, JSON to the shape a kind reads.

Every record a reader hands on has passed here, so that every format decides the same way:

- text is strict UTF-8. A record holding a byte that is not UTF-8 (or, in JSON, a NUL
  character: no store keeps one in text) is quarantined on its own with the byte offset in
  the file; it is never stored with U+FFFD in place of the byte. A NUL in a CSV or Parquet
  field is left to the record's checks, which quarantine any control character by field;
- a record is at most ``Limits.max_record_bytes`` long, nested at most ``Limits.max_depth``
  deep, and every field it is read from at most ``Limits.max_field_chars`` characters;
- a JSON record is strict JSON (no NaN or Infinity, no key twice in one object) and has the
  shape its kind reads (``Shape``): an object where an object is read, a list of objects where
  a list of objects is read, a string where text is read. A fault names the field by its path
  (``goods_items[2].packages``, ``transportCall.vessel``).

A quarantined record keeps its text as read where that text can be stored; where it cannot (bad
bytes, NUL) it is kept with each such byte written ``\\xNN`` and each backslash that was in the
input written ``\\\\``, and a record over the size limit keeps only its first ``CLIP`` bytes.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import IO, Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

#: Bytes of an over-long record kept in the quarantine to show what it was.
CLIP = 1024
#: Bytes read at a time.
BLOCK = 1 << 20
BOM = b"\xef\xbb\xbf"


@dataclass(frozen=True, slots=True)
class Limits:
    """What one record may hold (``QUAYWATCH_MAX_*`` settings; defaults fit real declarations),
    and ``local_time_zone``: the IANA zone a time written without a UTC offset is read in where
    a format allows such times (EDIFACT; ``QUAYWATCH_EDIFACT_TIME_ZONE``), None to refuse them."""

    max_depth: int = 32
    max_field_chars: int = 65_536
    max_record_bytes: int = 16 * 1024 * 1024
    local_time_zone: str | None = None

    def depth_reason(self) -> str:
        return f"nested deeper than {self.max_depth} levels (QUAYWATCH_MAX_NESTING_DEPTH)"

    def field_reason(self, length: int) -> str:
        return (
            f"is {length} characters long, over the limit of {self.max_field_chars} "
            "(QUAYWATCH_MAX_FIELD_CHARS)"
        )

    def size_reason(self, size: int) -> str:
        return (
            f"is {size} bytes long, over the limit of {self.max_record_bytes} bytes "
            "(QUAYWATCH_MAX_RECORD_BYTES)"
        )


def time_zone(name: str) -> ZoneInfo:
    """The IANA time zone ``name``; ``ValueError`` saying so for a name that is not one."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"{name!r} is not an IANA time zone name (e.g. Europe/Brussels)") from None


class Fault(Exception):
    """Why one record cannot be read: the field at fault (empty: the record) and the reason."""

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(f"{field}: {reason}" if field else reason)
        self.field, self.reason = field, reason


@dataclass(frozen=True, slots=True)
class Piece:
    """The bytes of one record as found in a file: its number (line or item), the byte offset
    of its first byte, its bytes (the first ``CLIP`` only when ``size`` is over the limit)."""

    number: int
    offset: int
    data: bytes
    size: int


# --- text ------------------------------------------------------------------------------------


def text_of(data: bytes, offset: int) -> str:
    """``data`` (found at byte ``offset`` of the file) as text, or ``Fault`` naming the byte."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise Fault("", bad_byte_reason(data, offset)) from None
    if "\x00" in text:
        raise Fault("", bad_byte_reason(data, offset))
    return text


def bad_byte_reason(data: bytes, offset: int) -> str:
    """The first byte of ``data`` that is not UTF-8, else its first NUL, by its offset in the
    file."""
    try:
        data.decode("utf-8")
        at = data.index(b"\x00")
        return f"holds a NUL byte at byte offset {offset + at}"
    except UnicodeDecodeError as exc:
        return f"is not UTF-8: byte 0x{data[exc.start]:02X} at byte offset {offset + exc.start}"


def shown(data: bytes) -> str:
    """Bytes as storable text: invalid bytes and NUL as ``\\xNN``, a backslash as ``\\\\``.

    A backslash byte is never part of a multi-byte UTF-8 sequence, so doubling it first keeps
    the escapes unambiguous.
    """
    text = data.replace(b"\\", b"\\\\").decode("utf-8", "backslashreplace")
    return text.replace("\x00", "\\x00")


def storable(text: str) -> bool:
    """Whether every store can keep ``text`` (no NUL, no unpaired surrogate)."""
    if "\x00" in text:
        return False
    if text.isascii():
        return True
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def kept_altered(reason: str) -> bool:
    """Whether a quarantine entry with this reason keeps its record altered (bytes written
    ``\\xNN``, a value or the record clipped): retrying it as kept would store the alteration,
    so only a corrected record may be retried."""
    return reason.startswith(("is not UTF-8", "holds a NUL")) or "(QUAYWATCH_MAX_" in reason


def clipped(piece: Piece) -> str:
    """What the quarantine keeps of an over-long record."""
    return f"{shown(piece.data[:CLIP])}... [{piece.size} bytes in all; the first {CLIP} kept]"


# --- JSON ------------------------------------------------------------------------------------


class _DuplicateKeyError(ValueError):
    pass


def _object(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    found = dict(pairs)
    if len(found) != len(pairs):
        seen: set[str] = set()
        twice = next(key for key, _ in pairs if key in seen or seen.add(key))  # type: ignore[func-returns-value]
        raise _DuplicateKeyError(f"key {json.dumps(twice)} appears twice in one object")
    return found


def _constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


#: Strict JSON: the readers' one parser (the JSON array splitter uses it too).
DECODER = json.JSONDecoder(parse_constant=_constant, object_pairs_hook=_object)


def parse_json(text: str, limits: Limits) -> Any:
    """Strict JSON, or ``Fault`` with the reason (the column for a syntax error)."""
    try:
        return DECODER.decode(text)
    except json.JSONDecodeError as exc:
        raise Fault("", f"not valid JSON: {exc.msg} at column {exc.colno}") from None
    except RecursionError:
        raise Fault("", limits.depth_reason()) from None
    except ValueError as exc:  # NaN, a key twice, an integer of thousands of digits
        raise Fault("", f"not valid JSON: {exc}") from None


# --- shapes ----------------------------------------------------------------------------------

TEXT, NUMBER, FLAG = "a string", "a number", "true or false"
#: Any of the three: a cell of a flat row (``quaywatch quarantine retry`` takes rows).
SCALAR = "a string, a number or true or false"


@dataclass(frozen=True, slots=True)
class Obj:
    """A JSON object whose listed keys are read. Others are passed over (depth checked), or,
    in a ``closed`` object, refused: where every field is quaywatch's own, a key it does not
    know is a misspelt one whose value would otherwise be lost without a word."""

    fields: Mapping[str, Shape] = field(default_factory=dict)
    closed: bool = False


@dataclass(frozen=True, slots=True)
class Seq:
    """A JSON list of ``item``."""

    item: Shape


#: What a value must be: text (a string), a number (or a string holding one), a flag (true,
#: false or a string), any scalar, an object, a list, or ``None`` for a part that is not read.
Shape = Obj | Seq | str | None


def _kind_of(value: Any) -> str:
    if isinstance(value, str):
        return "a string"
    if isinstance(value, bool):
        return "true or false"
    if isinstance(value, int | float):
        return "a number"
    return "an object" if isinstance(value, dict) else "a list"


def _wanted(shape: Shape) -> str:
    if isinstance(shape, Obj):
        return "an object"
    return "a list" if isinstance(shape, Seq) else str(shape)


#: Longest field name a quarantine entry holds.
FIELD_CHARS = 64


def check_shape(record: dict[str, Any], shape: Obj, limits: Limits) -> None:
    """``Fault`` naming the first field of ``record`` that is not of its ``shape``."""
    try:
        _check(record, shape, 1, limits)
    except _Bad as bad:
        path = "".join(reversed(bad.path)).lstrip(".")
        if bad.deep:  # named by its top-level field: the full path is as deep as the fault
            path = re.split(r"[.\[]", path, maxsplit=1)[0]
        raise Fault(_short(path), bad.reason) from None


def escaped(text: str) -> str:
    """``text`` as every store keeps it: a NUL or an unpaired surrogate written as an escape
    (``\\x00``, ``\\udc80``), anything else as it is."""
    if storable(text):
        return text
    return text.encode("utf-8", "backslashreplace").decode("utf-8").replace("\x00", "\\x00")


def _short(path: str) -> str:
    """``path`` as a quarantine entry keeps it: a key's NUL or unpaired surrogate written as an
    escape, and at most ``FIELD_CHARS`` characters."""
    path = escaped(path)
    return path if len(path) <= FIELD_CHARS else f"{path[: FIELD_CHARS - 3]}..."


class _Bad(Exception):
    """A fault on its way out of the walk; each level adds its step to ``path`` (inner first),
    so that no path is built for the values that pass."""

    def __init__(self, reason: str, *, deep: bool = False) -> None:
        self.reason, self.deep, self.path = reason, deep, list[str]()


_NOTHING: Mapping[str, Shape] = {}
#: ``_plain`` by shape (the shape kept too, so that its id names no other while cached).
_PLAIN: dict[int, tuple[Obj, bool]] = {}


def _plain(shape: Obj) -> bool:
    """Whether every field of an open ``shape`` is read as text, a number or a flag: then an
    object of short ASCII strings only is of it (and nests no deeper)."""
    found = _PLAIN.get(id(shape))
    if found is None or found[0] is not shape:
        plain = not shape.closed and all(isinstance(f, str) for f in shape.fields.values())
        found = _PLAIN[id(shape)] = (shape, plain)
    return found[1]


def _check(value: Any, shape: Shape, depth: int, limits: Limits) -> None:
    kind = type(value)
    if kind is str:
        if shape is None:
            return
        if not isinstance(shape, str):
            raise _Bad(f"is a string, not {_wanted(shape)}")
        if len(value) > limits.max_field_chars:
            raise _Bad(limits.field_reason(len(value)))
        if not storable(value):
            raise _Bad("holds a NUL character or an unpaired surrogate (\\u escape)")
        return
    if value is None:
        return
    if kind is dict or kind is list:
        if depth > limits.max_depth:
            raise _Bad(limits.depth_reason(), deep=True)
        if kind is dict:
            if shape is not None and not isinstance(shape, Obj):
                raise _Bad(f"is an object, not {_wanted(shape)}")
            fields = _NOTHING if shape is None else shape.fields
            longest = limits.max_field_chars
            for key, item in value.items():
                inner = fields.get(key)
                if inner is None and shape is not None and shape.closed and key not in fields:
                    try:  # too deep or not storable, first: the graver fault is named
                        _check(item, None, depth + 1, limits)
                        raise _Bad("is not a field quaywatch reads (misspelt? docs/formats.md)")
                    except _Bad as bad:
                        bad.path.append(f".{key}")
                        raise
                if (
                    type(item) is str  # the usual field, checked here without a call
                    and (inner is None or isinstance(inner, str))
                    and (
                        inner is None
                        or (len(item) <= longest and item.isascii() and "\x00" not in item)
                    )
                ):
                    continue
                if (
                    type(item) is dict  # a part of plain text fields (a location, a code)
                    and depth < limits.max_depth
                    and (inner is None or (type(inner) is Obj and _plain(inner)))
                    and all(
                        type(v) is str and len(v) <= longest and v.isascii() and "\x00" not in v
                        for v in item.values()
                    )
                ):
                    continue
                try:
                    _check(item, inner, depth + 1, limits)
                except _Bad as bad:
                    bad.path.append(f".{key}")
                    raise
        else:
            if shape is not None and not isinstance(shape, Seq):
                raise _Bad(f"is a list, not {_wanted(shape)}")
            item_shape = None if shape is None else shape.item
            for index, item in enumerate(value):
                try:
                    if item is None and item_shape is not None:
                        # a field may be null (not given); an item of a list is there or not
                        raise _Bad(f"is null, not {_wanted(item_shape)}")
                    _check(item, item_shape, depth + 1, limits)
                except _Bad as bad:
                    bad.path.append(f"[{index}]")
                    raise
        return
    if shape is None:
        return
    if isinstance(shape, Obj | Seq):
        raise _Bad(f"is {_kind_of(value)}, not {_wanted(shape)}")
    if shape is SCALAR:
        if kind is float and not math.isfinite(value):
            raise _Bad("is a number too large to hold")
    elif kind is bool:
        if shape is not FLAG:
            raise _Bad(f"is true or false, not {shape}")
    elif shape is TEXT:
        raise _Bad(f"is a number, not {TEXT}")
    elif kind is float and not math.isfinite(value):
        raise _Bad("is a number too large to hold")


# --- records ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Parsed:
    """A JSON record that passed the front door, with its text as read."""

    record: dict[str, Any]
    raw: str


@dataclass(frozen=True, slots=True)
class Refused:
    """A record that did not, with the field and reason and what the quarantine keeps (and
    its id, where the reader could tell it)."""

    field: str
    reason: str
    raw: str
    record_id: str | None = None


def json_record(piece: Piece, shape: Obj, limits: Limits, parsed: Any = None) -> Parsed | Refused:
    """One JSON record through the front door: size, UTF-8, JSON, object, shape.

    ``parsed``: the value already parsed from ``piece.data`` where that data is ASCII (an item
    of a JSON array), so it is not parsed twice.
    """
    if piece.size > limits.max_record_bytes:
        return Refused("", limits.size_reason(piece.size), json.dumps(clipped(piece)))
    try:
        text = text_of(piece.data, piece.offset).strip()
    except Fault as fault:
        return Refused("", fault.reason, json.dumps(shown(piece.data.strip())))
    try:
        value = parse_json(text, limits) if parsed is None else parsed
    except Fault as fault:
        return Refused("", fault.reason, json.dumps(text))
    if not isinstance(value, dict):
        return Refused("", "is not a JSON object", text)
    try:
        check_shape(value, shape, limits)
    except Fault as fault:
        return Refused(fault.field, fault.reason, text)
    return Parsed(value, text)


def lines(file: IO[bytes], limits: Limits) -> Iterator[Piece]:
    """The lines of a JSON Lines file (without line ends), an over-long one clipped."""
    offset, number = 0, 0
    while line := file.readline(limits.max_record_bytes + 2):
        number += 1
        if number == 1 and line.startswith(BOM):
            line, offset = line[len(BOM) :], len(BOM)
        size, last = len(line), line
        if not line.endswith(b"\n") and size > limits.max_record_bytes:
            while rest := file.readline(BLOCK):  # passed over, not held
                size, last = size + len(rest), rest
                if rest.endswith(b"\n"):
                    break
        ending = 2 if last.endswith(b"\r\n") else 1 if last.endswith(b"\n") else 0
        yield Piece(number, offset, line[: min(size - ending, len(line))], size - ending)
        offset += size
