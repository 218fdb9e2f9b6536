"""UN/EDIFACT interchanges: bytes to messages of segments, read by pydifact, envelope checked.

pydifact (``Tokenizer`` and ``Parser``) splits the text into segments and elements, honouring
the service string advice (``UNA``) and the release (escape) character. Its ``Interchange`` is
not used: it drops ``UNZ`` (so the message count could not be checked) and stops at the first
bad segment, where one bad message must not cost the others. Here the same parser is driven a
segment at a time, so that a segment it refuses faults only its own message.

What is checked, and what a fault costs:

- the file: it begins with ``UNA`` or ``UNB`` (a UTF-8 byte-order mark and blanks before it,
  spaces, tabs and line ends, as some systems write, are skipped); ``UNB``
  names a character repertoire read here (``CHARSETS``); ``UNZ`` closes it, counting its
  messages (or groups) and repeating ``UNB``'s control reference; nothing follows it; the text
  ends on a segment terminator. Otherwise ``InputError``: nothing of the file is stored.
- each message (``UNH`` .. ``UNT``): ``UNT`` counts its segments and repeats ``UNH``'s
  reference; every segment has a valid tag; every element's bytes are of the repertoire; no
  element is longer than ``Limits.max_field_chars``; the message is at most
  ``Limits.max_record_bytes`` long. A message failing one of these carries a ``fault`` naming
  the segment (its position in the message, ``UNH`` being 1), tag and element; the others are
  read as usual.

Text is read by the repertoire ``UNB`` names: the syntax characters are ASCII in every one, so
the file is split as Latin-1 (one character per byte) and each element decoded afterwards;
a byte the repertoire does not hold (any byte over 0x7F in ``UNOA``/``UNOB``, a broken UTF-8
sequence in ``UNOW``) faults its message, never turns into U+FFFD.
"""

from __future__ import annotations

import io
import warnings
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import IO

from pydifact.control.characters import Characters
from pydifact.parser import Parser, TokenIterator
from pydifact.serializer import Serializer
from pydifact.tokenizer import Tokenizer

from quaywatch.errors import InputError
from quaywatch.intake import decode
from quaywatch.intake.decode import Limits

#: Character repertoires read (UNB data element 0001, ISO 9735) and the codec of each.
CHARSETS = {
    "UNOA": "ascii", "UNOB": "ascii", "UNOC": "iso8859-1", "UNOD": "iso8859-2",
    "UNOE": "iso8859-5", "UNOF": "iso8859-7", "UNOG": "iso8859-3", "UNOH": "iso8859-4",
    "UNOI": "iso8859-6", "UNOJ": "iso8859-8", "UNOK": "iso8859-9", "UNOW": "utf-8",
}  # fmt: skip
#: The service characters of an interchange without UNA (ISO 9735).
_DEFAULT_ADVICE = ":+.? '"
#: Characters read at a time.
_BLOCK = 1 << 20

Element = str | tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Segment:
    """One segment: its tag, its data elements (a composite as a tuple of components) and its
    position in its message (``UNH`` is 1; 0 outside a message)."""

    tag: str
    elements: tuple[Element, ...]
    position: int

    def get(self, element: int, component: int = 1) -> str:
        """The text at ``element`` (counted from 1 after the tag) and ``component`` (from 1);
        empty where the segment has none."""
        if element > len(self.elements):
            return ""
        value = self.elements[element - 1]
        if isinstance(value, str):
            return value if component == 1 else ""
        return value[component - 1] if component <= len(value) else ""

    def components(self, element: int) -> list[str]:
        """Every component of ``element`` (one for a simple element)."""
        if element > len(self.elements):
            return []
        value = self.elements[element - 1]
        return [value] if isinstance(value, str) else list(value)


@dataclass(frozen=True, slots=True)
class Fault:
    """Why a message cannot be read: where (segment position, tag, element) and the reason."""

    position: int
    tag: str
    element: int
    reason: str

    @property
    def field(self) -> str:
        """The place as a quarantine entry names it: ``segment 17 (MEA), element 3``."""
        where = f"segment {self.position} ({self.tag})"
        return f"{where}, element {self.element}" if self.element else where


@dataclass(slots=True)
class Message:
    """One message (``UNH`` .. ``UNT``) of an interchange, numbered from 1 in file order, with
    its segments (``UNH`` and ``UNT`` included) and the first fault found in it, if any."""

    number: int
    reference: str
    kind: str
    segments: list[Segment] = field(default_factory=list)
    fault: Fault | None = None
    size: int = 0
    text: list[str] = field(default_factory=list)
    characters: Characters | None = None

    def raw(self) -> str:
        """The message as the quarantine keeps it: its segments, one a line, as an interchange
        of this message alone (its ``UNA`` service characters, a ``UNB`` naming UTF-8 (UNOW),
        the text being decoded already, and a ``UNZ``), so that a retry reads it as an import
        does (``read_one``); clipped to ``decode.CLIP`` bytes when over the size limit."""
        text = "\n".join(self.text)
        if self.fault is not None and "(QUAYWATCH_MAX_RECORD_BYTES)" in self.fault.reason:
            return f"{text[: decode.CLIP]}... [{self.size} bytes in all]"
        if self.characters is None:
            return text
        c = self.characters
        d, k, t = c.data_separator, c.component_separator, c.segment_terminator
        head = f"UNA{c}\nUNB{d}UNOW{k}4{d}QUARANTINE{d}QUAYWATCH{d}000101{k}0000{d}Q{t}"
        return f"{head}\n{text}\nUNZ{d}1{d}Q{t}"


def read_one(raw: str, limits: Limits, source: str) -> Message:
    """The message a quarantine entry keeps (``Message.raw``), read again; ``InputError`` if it
    is not one."""
    if not raw.startswith("UNA"):
        raise InputError(
            "this entry keeps a CUSCAR message without its service characters: import the "
            "interchange again",
            source=source,
        )
    found = list(messages(io.BytesIO(raw.encode("utf-8")), limits, source))
    if len(found) != 1:
        raise InputError("the entry does not hold one CUSCAR message", source=source)
    return found[0]


#: What may come before ``UNA`` or ``UNB``: blanks and line ends.
BLANKS = b" \t\r\n"
#: Bytes of a file's head that ``is_interchange`` is given to look at.
HEAD_BYTES = 4096


def is_interchange(head: bytes) -> bool:
    """Whether ``head`` (the first bytes of a file) begins an EDIFACT interchange: ``UNA`` or
    ``UNB`` after a byte-order mark and blanks, if any.

    >>> is_interchange(b"\\r\\n  UNB+UNOC:3+SENDER")
    True
    """
    return head.removeprefix(decode.BOM).lstrip(BLANKS).startswith((b"UNA", b"UNB"))


def _start(file: IO[bytes]) -> bytes:
    """The file's bytes from its first that is not blank (after a byte-order mark), at least
    the first 9 of them where the file holds that many (``UNA`` and its six characters)."""
    data = file.read(HEAD_BYTES)
    data = data.removeprefix(decode.BOM)
    while True:
        data = data.lstrip(BLANKS)
        if len(data) >= 9:
            return data
        more = file.read(HEAD_BYTES)
        if not more:
            return data
        data += more


def messages(
    file: IO[bytes],
    limits: Limits,
    source: str,
    progress: Callable[[], None] | None = None,
) -> Iterator[Message]:
    """The messages of the interchange in ``file``, each once its ``UNT`` is read.

    ``InputError`` where the file as a whole cannot be read (see the module docstring); it may
    come after messages were handed over, which the caller's transaction then undoes.
    """
    start = _start(file)
    if not start.startswith((b"UNA", b"UNB")):
        raise InputError(
            "not a UN/EDIFACT interchange: it does not begin with UNA or UNB", source=source
        )
    characters = Characters.from_str(_DEFAULT_ADVICE)
    if start.startswith(b"UNA"):
        characters = _service_string_advice(start[3:9], source)
        start = start[9:]
    reader = _Interchange(characters, limits, source)
    chars = _characters(file, start, reader, progress)
    yield from reader.read(chars)


def _service_string_advice(data: bytes, source: str) -> Characters:
    text = data.decode("latin-1")
    if len(text) < 6:
        raise InputError("the UNA service string advice is cut short", source=source)
    found = Characters.from_str(text)
    syntax = [found.component_separator, found.data_separator, found.escape_character,
              found.segment_terminator]  # fmt: skip
    if len(set(syntax)) < 4 or any(c.isalnum() or c in "\r\n" for c in syntax):
        raise InputError(
            f"the UNA service string advice {text!r} does not give four distinct separators "
            "(component, element, release, segment terminator)",
            source=source,
        )
    return found


def _characters(
    file: IO[bytes], head: bytes, reader: _Interchange, progress: Callable[[], None] | None
) -> Iterator[str]:
    """The file's characters, one per byte (Latin-1), line ends before ``UNB`` passed over;
    ``InputError`` where a segment runs on past twice the record size limit."""
    first = True
    data = head
    while True:
        block = data + file.read(_BLOCK)
        data = b""
        if not block:
            return
        text = block.decode("latin-1")
        if first:
            text, first = text.lstrip("\r\n"), False
        for char in text:
            reader.pending += 1
            if reader.pending > 2 * reader.limits.max_record_bytes:
                raise InputError(
                    f"a segment after segment {reader.count} of the interchange runs on past "
                    f"twice QUAYWATCH_MAX_RECORD_BYTES ({reader.limits.max_record_bytes} "
                    "bytes); is a segment terminator missing?",
                    source=reader.source,
                )
            yield char
        if progress:
            progress()


class _Interchange:
    """The envelope state while segments are read."""

    def __init__(self, characters: Characters, limits: Limits, source: str) -> None:
        self.characters, self.limits, self.source = characters, limits, source
        self.serializer = Serializer(characters)
        self.codec = self.charset = ""
        self.control = ""
        self.count = 0  # segments of the interchange read
        self.pending = 0  # characters read since the last whole segment
        self.messages = 0
        self.groups = 0
        self.in_group = 0
        self.closed = False
        self.message: Message | None = None

    def error(self, reason: str) -> InputError:
        return InputError(f"segment {self.count} of the interchange: {reason}", source=self.source)

    def read(self, chars: Iterator[str]) -> Iterator[Message]:
        parser = Parser(characters=self.characters)
        tokens = TokenIterator(Tokenizer().get_tokens(chars, self.characters))  # type: ignore[arg-type]
        while True:
            try:
                raw = next(parser.convert_tokens_to_raw_segments(tokens), None)
            except InputError:
                raise
            except Exception as exc:  # pydifact's syntax errors: the text cannot be split
                raise self.error(f"cannot be read: {exc}") from exc
            if raw is None:
                break
            self.count += 1
            self.pending = 0
            done = self.segment(parser, raw)
            if done is not None:
                yield done
        if self.message is not None:
            raise self.error(f"message {self.message.number} is not closed by UNT")
        if not self.closed:
            raise InputError(
                "the interchange ends without UNZ (is the file cut short?)", source=self.source
            )

    def segment(self, parser: Parser, raw: Sequence[object]) -> Message | None:
        """Take one raw segment; a message once its ``UNT`` is read."""
        if self.closed:
            raise self.error("text follows UNZ, the end of the interchange")
        tag = raw[0] if isinstance(raw[0], str) else ""
        message = self.message
        if message is not None and tag != "UNH":
            message.size += sum(len(str(part)) for part in raw) + len(raw)
        try:
            with warnings.catch_warnings():  # pydifact warns of every segment it cannot validate
                warnings.simplefilter("ignore")
                parsed = parser.convert_raw_segment_to_segment(list(raw))  # type: ignore[arg-type]
            tag = parsed.tag
        except Exception as exc:  # a bad tag, a UNA inside the interchange: pydifact's reason
            reason = str(exc).removeprefix("EDIFACT Syntax Error: ")
            if message is None:
                raise self.error(reason) from exc
            self._fault(message, len(message.segments) + 1, tag[:3] or "?", 0, reason)
            message.segments.append(Segment(tag, (), len(message.segments) + 1))
            return None
        if self.count == 1:
            if tag != "UNB":
                raise self.error(f"the interchange begins with {tag}, not UNB")
            self._header(parsed.elements)
            return None
        if message is not None and tag != "UNH":
            return self._in_message(message, tag, parsed.elements)
        return self._envelope(tag, parsed.elements)

    def _header(self, elements: Sequence[object]) -> None:
        syntax = _composite(elements[0]) if elements else []
        name = syntax[0] if syntax else ""
        if name not in CHARSETS:
            known = ", ".join(CHARSETS)
            raise self.error(f"UNB names syntax identifier {name!r}; quaywatch reads {known}")
        self.codec, self.charset = CHARSETS[name], name
        self.control = _text(elements[4]) if len(elements) > 4 else ""

    def _envelope(self, tag: str, elements: Sequence[object]) -> Message | None:
        if tag == "UNH":
            open_message = self.message
            self.messages += 1
            self.in_group += 1
            identifier = _composite(elements[1]) if len(elements) > 1 else []
            self.message = Message(
                self.messages, _text(elements[0]) if elements else "",
                identifier[0] if identifier else "", characters=self.characters,
            )  # fmt: skip
            self.message.size = sum(len(str(e)) for e in elements) + 4
            self._add(self.message, tag, elements)
            if open_message is not None:  # a UNT went missing: that message is faulted
                self._fault(
                    open_message, len(open_message.segments), open_message.segments[-1].tag, 0,
                    f"message {open_message.number} is not closed by UNT before the next UNH",
                )  # fmt: skip
                return open_message
            return None
        if tag == "UNG":
            self.groups += 1
            self.in_group = 0
            return None
        if tag == "UNE":
            self._count("UNE", elements, self.in_group, "messages in its group")
            return None
        if tag == "UNZ":
            expected = self.groups or self.messages
            self._count("UNZ", elements, expected, "groups" if self.groups else "messages")
            if len(elements) > 1 and _text(elements[1]) != self.control:
                raise self.error(
                    f"UNZ repeats control reference {_text(elements[1])!r}, but UNB gives "
                    f"{self.control!r}"
                )
            self.closed = True
            return None
        if tag == "UNT":
            raise self.error("UNT without a UNH before it")
        raise self.error(f"segment {tag} is outside any message (UNH .. UNT)")

    def _count(self, tag: str, elements: Sequence[object], expected: int, what: str) -> None:
        given = _text(elements[0]) if elements else ""
        if given != str(expected):
            raise self.error(f"{tag} counts {given or 'nothing'} {what}; the file holds {expected}")

    def _in_message(self, message: Message, tag: str, elements: Sequence[object]) -> Message | None:
        self._add(message, tag, elements)
        if tag != "UNT":
            return None
        self.message = None
        position = len(message.segments)
        given = _text(elements[0]) if elements else ""
        if given != str(position):
            self._fault(
                message, position, tag, 1,
                f"UNT counts {given or 'no'} segments; the message has {position}",
            )  # fmt: skip
        reference = _text(elements[1]) if len(elements) > 1 else ""
        if reference != message.reference:
            self._fault(
                message, position, tag, 2,
                f"UNT repeats reference {reference!r}, but UNH gives {message.reference!r}",
            )  # fmt: skip
        return message

    def _add(self, message: Message, tag: str, elements: Sequence[object]) -> None:
        position = len(message.segments) + 1
        if message.size > self.limits.max_record_bytes:
            if message.fault is None or "(QUAYWATCH_MAX_" not in message.fault.reason:
                message.fault = Fault(position, tag, 0, self.limits.size_reason(message.size))
            message.segments.append(Segment(tag, (), position))  # counted, no longer held
            return
        decoded: list[Element] = []
        for index, element in enumerate(elements, start=1):
            parts = []
            for part in _composite(element):
                text = self._decoded(part, message, position, tag, index)
                if len(text) > self.limits.max_field_chars:
                    self._fault(message, position, tag, index, self.limits.field_reason(len(text)))
                    text = text[: decode.CLIP]
                parts.append(text)
            decoded.append(parts[0] if isinstance(element, str) else tuple(parts))
        segment = Segment(tag, tuple(decoded), position)
        message.segments.append(segment)
        message.text.append(self._serialized(tag, elements))

    def _decoded(self, text: str, message: Message, position: int, tag: str, index: int) -> str:
        if text.isascii() or self.codec == "iso8859-1":
            return text
        data = text.encode("latin-1")
        try:
            return data.decode(self.codec)
        except UnicodeDecodeError as exc:
            self._fault(
                message, position, tag, index,
                f"byte 0x{data[exc.start]:02X} is not of character repertoire {self.charset} "
                f"({self.codec}) that UNB names",
            )  # fmt: skip
            return decode.shown(data)

    def _serialized(self, tag: str, elements: Sequence[object]) -> str:
        """The segment as text the quarantine can keep: escaped as read, each byte the
        repertoire does not hold written ``\\xNN``."""
        escape = self.serializer.escape
        parts = [tag]
        for element in elements:
            parts.append(self.characters.component_separator.join(map(escape, _composite(element))))
        text = self.characters.data_separator.join(parts) + self.characters.segment_terminator
        data = text.encode("latin-1")
        try:
            text = data.decode(self.codec or "ascii")
        except UnicodeDecodeError:
            return decode.shown(data)
        return text if decode.storable(text) else decode.shown(text.encode())

    @staticmethod
    def _fault(message: Message, position: int, tag: str, element: int, reason: str) -> None:
        if message.fault is None:
            message.fault = Fault(position, tag, element, reason)


def _composite(element: object) -> list[str]:
    if isinstance(element, list):
        return [str(part) for part in element]
    return [str(element)]


def _text(element: object) -> str:
    """A simple element's text; a composite's first component."""
    return _composite(element)[0]
