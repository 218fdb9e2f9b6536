"""Fast CSV reading that still knows the line of every record.

Python's ``csv`` module is exact but slow (a million goods items take longer than all the
checks); polars parses CSV in native code but cannot say on which line a row began. This module
does both: numpy scans a block of bytes once to find where each record starts and ends (a
newline outside double quotes ends a record; ``""`` inside a quoted field toggles twice and so
changes nothing), counts its fields, and numbers its first line; polars then parses the well
formed records in one call.

The scan trusts RFC 4180 quoting. Anything it cannot vouch for (a quote inside an unquoted
field, a record split over lines with the wrong number of fields, bare carriage returns as line
ends, text polars will not parse, bytes that are not UTF-8) makes ``scan_block`` answer ``None``, and the caller reads
the rest of the file with the exact ``csv`` module instead. Fast and exact paths agree on every
record; a test holds them to it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import polars as pl

_QUOTE, _COMMA, _LF, _CR = ord('"'), ord(","), ord("\n"), ord("\r")


@dataclass(slots=True)
class Block:
    """The complete records at the front of a byte block.

    ``frame`` holds the well formed records (one string column per header name) and ``lines``
    the line each began on; ``ragged`` holds ``(line, text)`` of single-line records with the
    wrong number of fields; ``consumed`` is how many bytes of the block they cover (the rest
    starts a record that continues in the next block); ``longest`` the length in bytes of the
    longest record, for the reader's size limits.
    """

    frame: pl.DataFrame
    lines: np.ndarray
    ragged: list[tuple[int, str]]
    consumed: int
    newlines: int
    longest: int = 0


def scan_block(data: bytes, header: list[str], first_line: int, *, final: bool) -> Block | None:
    """Split ``data`` (starting at a record boundary on ``first_line``) into records.

    Returns ``None`` when the block needs the exact reader. With ``final`` false the bytes after
    the last record end are left for the next block; ``consumed`` is 0 when no record ends here.
    """
    raw = np.frombuffer(data, dtype=np.uint8)
    # A byte is inside quotes when an odd number of quotes precede it; asking that only of the
    # newlines, separators and carriage returns is far cheaper than a running parity per byte.
    quotes = np.flatnonzero(raw == _QUOTE)

    def outside(positions: npt.NDArray[np.intp]) -> npt.NDArray[np.intp]:
        kept: npt.NDArray[np.intp] = positions[(np.searchsorted(quotes, positions) & 1) == 0]
        return kept

    newline_at = np.flatnonzero(raw == _LF)
    ends = outside(newline_at)
    consumed = int(ends[-1]) + 1 if ends.size else 0
    if final and consumed < len(data):
        if quotes.size % 2:
            return None  # a quoted field never closed: let the exact reader explain it
        ends = np.append(ends, len(data))
        consumed = len(data)
    if consumed == 0:
        return Block(_empty(header), np.empty(0, np.int64), [], 0, 0)
    starts = np.concatenate(([0], ends[:-1] + 1))
    lines = first_line + np.searchsorted(newline_at, starts)
    # Fields per record: one more than the separators outside quotes from its start to its end.
    # Quotes pair up into quoted spans (an escaped "" is an empty span), so the separators inside
    # quotes are counted per span and charged to the record the span is in: far fewer searches
    # than asking of every separator whether it is inside quotes.
    separators = np.flatnonzero(raw[:consumed] == _COMMA)
    spans = quotes[: np.searchsorted(quotes, consumed)]
    if spans.size % 2:
        return None  # a quoted field open at a record end: only the exact reader knows it
    spans = spans.reshape(-1, 2)
    inside = np.searchsorted(separators, spans[:, 1]) - np.searchsorted(separators, spans[:, 0])
    quoted = np.bincount(np.searchsorted(ends, spans[:, 0]), weights=inside, minlength=ends.size)
    fields = (
        np.searchsorted(separators, ends)
        - np.searchsorted(separators, starts)
        - quoted.astype(np.intp)
        + 1
    )
    length = ends - starts
    last_byte = raw[np.maximum(ends - 1, 0)]
    blank = (length == 0) | ((length == 1) & (last_byte == _CR))
    bad = ~blank & (fields != len(header))
    used = data[:consumed]
    returns = outside(np.flatnonzero(raw[:consumed] == _CR))
    if returns.size and (
        returns[-1] + 1 >= len(data) or (raw[np.minimum(returns + 1, len(data) - 1)] != _LF).any()
    ):
        return None  # a bare carriage return ends a line: only the exact reader knows them
    ragged: list[tuple[int, str]] = []
    if bad.any():
        for start, end, line in zip(starts[bad], ends[bad], lines[bad], strict=True):
            try:
                text = data[start:end].decode("utf-8").rstrip("\r")
            except UnicodeDecodeError:
                return None  # the exact reader quarantines the record, naming the byte
            if "\n" in text or "\r" in text or '"' in text:
                return None  # quoting went astray: the exact reader decides
            ragged.append((int(line), text))
    keep = ~blank & ~bad
    if not keep.all():
        used = b"\n".join(data[s:e] for s, e in zip(starts[keep], ends[keep], strict=True))
    frame = _parse(used, header) if keep.any() else _empty(header)
    if frame is None or frame.height != int(keep.sum()):
        return None
    newlines = int(np.searchsorted(newline_at, consumed))
    return Block(frame, lines[keep], ragged, consumed, newlines, int(length.max()))


def _parse(data: bytes, header: list[str]) -> pl.DataFrame | None:
    try:
        return pl.read_csv(
            data,
            has_header=False,
            schema=dict.fromkeys(header, pl.String),
            encoding="utf8",
            empty_string_is_null=False,
        )
    except (pl.exceptions.ComputeError, pl.exceptions.ShapeError):
        return None


def _empty(header: list[str]) -> pl.DataFrame:
    return pl.DataFrame(schema=dict.fromkeys(header, pl.String))
