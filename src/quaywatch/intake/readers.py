"""Readers: files to chunks of raw string rows, streaming, with the location of every record.

Formats: consignments and control outcomes as CSV, JSON Lines or Parquet; container events as
DCSA JSON (an array or one object per line). A record the reader cannot split into fields (a
CSV row with the wrong number of fields, a line that is not JSON) is rejected here; everything
else goes on to checks.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import ijson
import polars as pl
import pyarrow.parquet as pq

from quaywatch.errors import InputError
from quaywatch.intake import csvscan
from quaywatch.intake.kinds import KINDS
from quaywatch.intake.records import Chunk, RecordKind, Rejected, as_text

_EXTENSIONS = {".csv": "csv", ".parquet": "parquet", ".pq": "parquet", ".jsonl": "jsonl",
               ".ndjson": "jsonl", ".json": "json"}  # fmt: skip
_EVENT_KEYS = {"eventID", "eventType", "eventClassifierCode"}
#: A column only control outcomes have: it tells an outcome file from a consignment file.
_OUTCOME_KEY = "control_id"
#: Bytes the fast CSV path scans first; later blocks hold about ``batch_size`` records.
_CSV_FIRST_BLOCK = 1 << 20
_CSV_MAX_BLOCK = 64 << 20
#: Share of ``batch_size`` records a block aims at (record lengths vary from block to block).
_CSV_BLOCK_FILL = 0.95


class _CountingReader(io.RawIOBase):
    """A binary file that counts the bytes read through it, for progress bars."""

    def __init__(self, raw: IO[bytes]) -> None:
        self.raw, self.position = raw, 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        count = self.raw.readinto(buffer)  # type: ignore[attr-defined]
        self.position += count or 0
        return int(count or 0)


@dataclass(slots=True)
class FileReader:
    """Iterates a file as ``Chunk``s; ``position``/``size`` report progress in bytes."""

    path: Path
    kind: RecordKind
    fmt: str
    batch_size: int
    position: int = 0

    @property
    def size(self) -> int:
        return self.path.stat().st_size

    @property
    def columns(self) -> list[str]:
        return columns_of(self.kind)

    def chunks(self) -> Iterator[Chunk]:
        readers: dict[str, Callable[[], Iterator[Chunk]]] = {
            "csv": self._csv,
            "jsonl": self._json_lines,
            "json": self._json_array,
            "parquet": self._parquet,
        }
        return readers[self.fmt]()

    def _frame(
        self, rows: list[dict[str, Any]], locs: list[int], raws: list[str | None]
    ) -> pl.DataFrame:
        data: dict[str, Any] = {
            name: [as_text(row.get(name)) for row in rows] for name in self.columns
        }
        data["_loc"], data["_raw"] = locs, raws
        schema = dict.fromkeys(self.columns, pl.String) | {"_loc": pl.Int64, "_raw": pl.String}
        return pl.DataFrame(data, schema=schema)

    def _check_header(self, header: list[str]) -> None:
        unknown = sorted(set(header) - set(self.columns))
        if unknown:
            raise InputError(
                f"unknown columns {', '.join(unknown)}; see docs/formats.md", source=str(self.path)
            )
        missing = [name for name in required_columns(self.kind) if name not in header]
        if missing:
            raise InputError(f"missing columns {', '.join(missing)}", source=str(self.path))

    def _csv(self) -> Iterator[Chunk]:
        with self.path.open("rb") as file:
            first = file.readline()
            if not first.strip():
                return
            try:
                text = first.decode("utf-8-sig")
            except UnicodeDecodeError as exc:
                raise InputError(f"line 1: cannot read CSV: {exc}", source=str(self.path)) from exc
            header = [name.strip() for name in next(csv.reader([text]))]
            self._check_header(header)
            offset, line, pending, size = len(first), 2, b"", _CSV_FIRST_BLOCK
            while True:
                block = file.read(size)
                data, final = pending + block, not block
                scanned = csvscan.scan_block(data, header, line, final=final)
                if scanned is None:  # the fast scan cannot vouch for this part: read it exactly
                    yield from self._csv_exact(header, offset, line)
                    return
                offset += scanned.consumed
                line += scanned.newlines
                pending = data[scanned.consumed :]
                if scanned.frame.height:  # then read a little under a chunk's worth at a time
                    per_record = scanned.consumed / scanned.frame.height
                    # Just under, so that a block seldom leaves a sliver of a chunk over, to be
                    # checked and stored as a batch of its own.
                    wanted = per_record * self.batch_size * _CSV_BLOCK_FILL
                    size = int(min(max(wanted, 1 << 16), _CSV_MAX_BLOCK))
                self.position = offset
                yield from self._csv_chunks(header, scanned)
                if final:
                    return

    def _csv_chunks(self, header: list[str], scanned: csvscan.Block) -> Iterator[Chunk]:
        rejected = [_ragged(line, values, len(header)) for line, values in scanned.ragged]
        frame = scanned.frame
        for start in range(0, max(frame.height, 1), self.batch_size):
            part = frame.slice(start, self.batch_size)
            locs = pl.Series("_loc", scanned.lines[start : start + part.height], pl.Int64)
            part = self._conformed(part, header).with_columns(
                locs, pl.lit(None, pl.String).alias("_raw")
            )
            if part.height or rejected:
                yield Chunk(part, rejected)
            rejected = []

    def _conformed(self, frame: pl.DataFrame, header: list[str]) -> pl.DataFrame:
        """``frame`` with exactly this kind's input columns, absent ones null."""
        missing = [pl.lit(None, pl.String).alias(n) for n in self.columns if n not in header]
        return frame.with_columns(missing).select(self.columns)

    def _csv_exact(self, header: list[str], offset: int, first_line: int) -> Iterator[Chunk]:
        """The records from byte ``offset`` (on line ``first_line``) on, by Python's csv."""
        with self.path.open("rb") as raw_file:
            raw_file.seek(offset)
            counter = _CountingReader(raw_file)
            text = io.TextIOWrapper(io.BufferedReader(counter), encoding="utf-8", newline="")
            reader = csv.reader(text)
            rows: list[list[str]] = []
            locs: list[int] = []
            rejected: list[Rejected] = []
            line = first_line
            try:
                for values in reader:
                    if len(values) == len(header):
                        rows.append(values)
                        locs.append(line)
                    elif values:
                        rejected.append(_ragged(line, values, len(header)))
                    line = first_line + reader.line_num
                    if len(rows) + len(rejected) >= self.batch_size:
                        self.position = offset + counter.position
                        yield Chunk(self._columns(header, rows, locs), rejected)
                        rows, locs, rejected = [], [], []
            except (csv.Error, UnicodeDecodeError) as exc:
                raise InputError(
                    f"line {line}: cannot read CSV: {exc}", source=str(self.path)
                ) from exc
            self.position = offset + counter.position
            yield Chunk(self._columns(header, rows, locs), rejected)

    def _columns(self, header: list[str], rows: list[list[str]], locs: list[int]) -> pl.DataFrame:
        """A chunk frame from CSV rows, transposed in C rather than cell by cell."""
        columns = dict(zip(header, zip(*rows, strict=True), strict=True)) if rows else {}
        data: dict[str, Any] = {n: columns.get(n, [None] * len(rows)) for n in self.columns}
        data["_loc"], data["_raw"] = locs, [None] * len(rows)
        schema = dict.fromkeys(self.columns, pl.String) | {"_loc": pl.Int64, "_raw": pl.String}
        return pl.DataFrame(data, schema=schema)

    def _records(self, numbered: Iterator[tuple[str, Any, str]]) -> Iterator[Chunk]:
        """Chunks from ``(location, parsed object or error text, raw text)`` triples."""
        rows: list[dict[str, Any]] = []
        locs: list[int] = []
        raws: list[str | None] = []
        rejected: list[Rejected] = []
        for location, parsed, raw in numbered:
            if isinstance(parsed, str):
                rejected.append(Rejected(location, None, [("", parsed)], json.dumps(raw)))
            elif not isinstance(parsed, dict):
                rejected.append(Rejected(location, None, [("", "is not a JSON object")], raw))
            else:
                flat = flatten(self.kind, parsed)
                number = int(location.split()[-1])
                rows.extend(flat)
                locs.extend([number] * len(flat))
                raws.extend([raw] * len(flat))
            if len(rows) + len(rejected) >= self.batch_size:
                yield Chunk(self._frame(rows, locs, raws), rejected)
                rows, locs, raws, rejected = [], [], [], []
        yield Chunk(self._frame(rows, locs, raws), rejected)

    def _json_lines(self) -> Iterator[Chunk]:
        def numbered() -> Iterator[tuple[str, Any, str]]:
            with self.path.open("rb") as raw_file:
                counter = _CountingReader(raw_file)
                for number, line in enumerate(io.BufferedReader(counter), start=1):
                    self.position = counter.position
                    text = line.decode("utf-8", errors="replace").strip()
                    if not text:
                        continue
                    try:
                        yield f"line {number}", json.loads(text), text
                    except json.JSONDecodeError as exc:
                        yield (
                            f"line {number}",
                            f"not valid JSON: {exc.msg} at column {exc.colno}",
                            text,
                        )

        return self._records(numbered())

    def _json_array(self) -> Iterator[Chunk]:
        def numbered() -> Iterator[tuple[str, Any, str]]:
            number = 0
            with self.path.open("rb") as raw_file:
                counter = _CountingReader(raw_file)
                try:
                    for number, item in enumerate(ijson.items(io.BufferedReader(counter), "item", use_float=True), start=1):  # fmt: skip
                        self.position = counter.position
                        yield f"item {number}", item, json.dumps(item)
                except ijson.JSONError as exc:
                    raise InputError(
                        f"after item {number}: not valid JSON: {exc}", source=str(self.path)
                    ) from exc

        return self._records(numbered())

    def _parquet(self) -> Iterator[Chunk]:
        try:
            parquet = pq.ParquetFile(self.path)
        except Exception as exc:  # pyarrow raises several types for a broken file
            raise InputError(f"cannot read Parquet: {exc}", source=str(self.path)) from exc
        self._check_header(list(parquet.schema_arrow.names))
        start, total = 1, parquet.metadata.num_rows
        for batch in parquet.iter_batches(batch_size=self.batch_size):
            frame = pl.from_arrow(batch)
            assert isinstance(frame, pl.DataFrame)
            frame = self._conformed(
                frame.with_columns(pl.all().cast(pl.String)), frame.columns
            ).with_columns(
                pl.int_range(start, start + frame.height, dtype=pl.Int64).alias("_loc"),
                pl.lit(None, pl.String).alias("_raw"),
            )
            start += frame.height
            self.position = int(self.size * (start - 1) / max(total, 1))
            yield Chunk(frame, [])


def _ragged(line: int, values: list[str] | str, expected: int) -> Rejected:
    """A CSV record with the wrong number of fields."""
    if isinstance(values, str):
        values = next(csv.reader([values]), [])
    return Rejected(
        f"line {line}", None,
        [("", f"has {len(values)} fields where the header has {expected}")],
        json.dumps(values),
    )  # fmt: skip


def columns_of(kind: RecordKind) -> list[str]:
    """Input columns of a record kind."""
    return KINDS[kind].columns


def required_columns(kind: RecordKind) -> list[str]:
    """Columns a flat file of this kind must have."""
    return KINDS[kind].required_columns


def flatten(kind: RecordKind, record: dict[str, Any]) -> list[dict[str, Any]]:
    """A JSON record of ``kind`` to flat rows."""
    return KINDS[kind].flatten(record)


def open_file(path: Path, *, kind: RecordKind | None, batch_size: int) -> FileReader:
    """A reader for ``path``, its format told by extension and its kind by content if not given."""
    if not path.is_file():
        raise InputError("no such file", source=str(path))
    fmt = _EXTENSIONS.get(path.suffix.lower())
    if fmt is None:
        known = ", ".join(sorted(_EXTENSIONS))
        raise InputError(f"unknown file type {path.suffix!r} (known: {known})", source=str(path))
    if fmt == "json" and _first_char(path) == "{":
        fmt = "jsonl"
    if kind is None:
        kind = _detect_kind(path, fmt)
    if kind is RecordKind.EVENTS and fmt not in ("json", "jsonl"):
        raise InputError(
            "container events are read from DCSA JSON (array or lines)", source=str(path)
        )
    return FileReader(path, kind, fmt, batch_size)


def _first_char(path: Path) -> str:
    with path.open("rb") as file:
        head = file.read(4096).decode("utf-8", errors="replace").lstrip("\ufeff \t\r\n")
    return head[:1]


def _detect_kind(path: Path, fmt: str) -> RecordKind:
    """The kind of records in a file, from its column names or its first JSON object.

    Events carry DCSA keys, outcomes a ``control_id``; anything else is read as consignments,
    whose checks then say what is missing.
    """
    names: set[str] = set()
    if fmt == "csv":
        with path.open("rb") as file:
            header = file.readline().decode("utf-8-sig", errors="replace")
        names = {name.strip() for name in next(csv.reader([header]), [])}
    elif fmt == "parquet":
        try:
            names = set(pq.read_schema(path).names)
        except Exception:  # a broken file: the reader reports it with its reason
            names = set()
    else:
        with path.open("rb") as file:
            try:
                if fmt == "json":
                    first = next(ijson.items(file, "item", use_float=True), None)
                else:
                    line = next((ln for ln in file if ln.strip()), b"{}")
                    first = json.loads(line)
            except (ijson.JSONError, json.JSONDecodeError):
                first = None
        names = set(first) if isinstance(first, dict) else set()
    if _EVENT_KEYS & names:
        return RecordKind.EVENTS
    if _OUTCOME_KEY in names:
        return RecordKind.OUTCOMES
    return RecordKind.CONSIGNMENTS
