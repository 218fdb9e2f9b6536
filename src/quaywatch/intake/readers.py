"""Readers: files to chunks of raw string rows, streaming, with the location of every record.

Which format a file is in, and so its container (CSV, Parquet, JSON Lines, a JSON array, the
array under a key of a JSON object, one JSON object, a UN/EDIFACT interchange) and how a record
becomes flat rows, is ``formats``' to say; the readers here read each container. Every record passes the front door in
``decode`` (strict UTF-8, size, depth and field-length limits, the JSON shape of its kind); a
record that fails it, or that the reader cannot split into fields (a CSV row with the wrong
number of fields, a line that is not JSON), is rejected here with its location, field and
reason; everything else goes on to checks as read. A file that cannot be read as a whole (a
bad header, a broken JSON array, a corrupt Parquet page, a column type quaywatch does not read)
raises ``InputError`` before anything of it is stored: an import is one transaction.
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq

from quaywatch.errors import InputError
from quaywatch.intake import csvscan, cuscar, decode, fields as f, formats, jsonarray
from quaywatch.intake.decode import Limits
from quaywatch.intake.formats import Container, Format
from quaywatch.intake.kinds import KINDS
from quaywatch.intake.options import DEFAULT_OPTIONS, IntakeOptions
from quaywatch.intake.records import Chunk, RecordKind, Rejected, as_text

#: Bytes the fast CSV path scans first; later blocks hold about ``batch_size`` records.
_CSV_FIRST_BLOCK = 1 << 20
_CSV_MAX_BLOCK = 64 << 20
#: Share of ``batch_size`` records a block aims at (record lengths vary from block to block).
_CSV_BLOCK_FILL = 0.95
#: Line ends the exact CSV reader knows: LF, CRLF and a bare CR (as Python's csv does).
_EOL = re.compile(rb"\r\n?|\n")


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
    """Iterates a file as ``Chunk``s; ``position``/``size`` report progress in bytes.

    ``fmt``: the container (``formats.Container``); ``format``: the format its records are
    in (default: quaywatch's own for ``kind``); ``wrapper``: for ``json-key``, the key.
    """

    path: Path
    kind: RecordKind
    fmt: str
    batch_size: int
    limits: Limits = field(default_factory=Limits)
    position: int = 0
    format: Format = formats.FORMATS["quaywatch-json"]
    wrapper: str | None = None

    @property
    def unit(self) -> str:
        """What a record's location is counted in (line, row, item)."""
        return formats.UNITS[Container(self.fmt)]

    @property
    def by_object(self) -> bool:
        """Whether each record is one JSON object (else rows of a flat file)."""
        return Container(self.fmt) in formats.JSON

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
            "json-key": self._json_array,
            "json-document": self._json_document,
            "parquet": self._parquet,
            "edifact": self._edifact,
        }
        return readers[self.fmt]()

    def _frame(
        self, rows: list[dict[str, Any]], locs: list[int], raws: list[str | None]
    ) -> pl.DataFrame:
        # A column no row has (a sensor's on a file of movements) is null without a look at
        # each row: most formats fill a few of their kind's columns only.
        present = set().union(*rows) if rows else set()
        nothing = [None] * len(rows)
        data: dict[str, Any] = {
            name: [
                # text and null as they are, without a call per cell: most cells are
                value if value is None or value.__class__ is str else as_text(value)
                for value in (row.get(name) for row in rows)
            ]
            if name in present
            else nothing
            for name in self.columns
        }
        data["_loc"], data["_raw"], data["_fault"] = locs, raws, nothing
        return pl.DataFrame(data, schema=self._schema)

    @property
    def _schema(self) -> dict[str, Any]:
        return dict.fromkeys(self.columns, pl.String) | {
            "_loc": pl.Int64, "_raw": pl.String, "_fault": pl.String
        }  # fmt: skip

    def _check_header(self, header: list[str]) -> None:
        for index, name in enumerate(header, start=1):
            if not name:
                raise InputError(f"column {index} of the header has no name", source=self.source)
        twice = sorted({name for name in header if header.count(name) > 1})
        if twice:
            raise InputError(
                f"column {', '.join(twice)} appears more than once in the header",
                source=self.source,
            )
        unknown = sorted(set(header) - set(self.columns))
        if unknown:
            raise InputError(
                f"unknown columns {', '.join(unknown)}; see docs/formats.md", source=self.source
            )
        missing = [name for name in required_columns(self.kind) if name not in header]
        if missing:
            raise InputError(f"missing columns {', '.join(missing)}", source=self.source)

    @property
    def source(self) -> str:
        return str(self.path)

    # --- CSV ---------------------------------------------------------------------------------

    def _csv(self) -> Iterator[Chunk]:
        with self.path.open("rb") as file:
            first = next(_physical_lines(file, 0, 1, self.limits, self.source), None)
            if first is None or not first[1].strip():
                return
            header = self._csv_header(first[1])
            offset, line = len(first[1]), 2
            if first[1].endswith(b"\r"):  # bare carriage returns end the lines: exact reader
                yield from self._csv_exact(header, offset, line)
                return
            file.seek(offset)
            pending, size = b"", _CSV_FIRST_BLOCK
            while True:
                block = file.read(size)
                data, final = pending + block, not block
                scanned = csvscan.scan_block(data, header, line, final=final)
                if scanned is None or not self._fast_enough(data, scanned, final):
                    # the fast scan cannot vouch for this part: read it exactly
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

    def _csv_header(self, data: bytes) -> list[str]:
        if data.startswith(b"\xef\xbb\xbf"):
            data = data[3:]
        try:
            text = decode.text_of(data, 0)
            names = next(csv.reader([text.rstrip("\r\n")]))
        except decode.Fault as fault:
            raise InputError(f"line 1 (the header) {fault.reason}", source=self.source) from None
        except csv.Error as exc:
            raise InputError(f"line 1: cannot read CSV: {exc}", source=self.source) from None
        header = [name.strip() for name in names]
        self._check_header(header)
        return header

    def _fast_enough(self, data: bytes, scanned: csvscan.Block, final: bool) -> bool:
        """Whether the fast scan's records need nothing more of the front door: within the
        size and field-length limits and free of NUL, which the exact reader reads more surely
        (polars and the scan refuse bad UTF-8)."""
        limit = min(self.limits.max_record_bytes, self.limits.max_field_chars)
        if scanned.longest > limit:
            return False
        if not final and len(data) - scanned.consumed > self.limits.max_record_bytes:
            return False  # a record runs on past the size limit
        return data.find(b"\x00", 0, scanned.consumed) < 0  # no copy of the block

    def _csv_chunks(self, header: list[str], scanned: csvscan.Block) -> Iterator[Chunk]:
        rejected = [_ragged(line, values, len(header)) for line, values in scanned.ragged]
        frame = scanned.frame
        for start in range(0, max(frame.height, 1), self.batch_size):
            part = frame.slice(start, self.batch_size)
            locs = pl.Series("_loc", scanned.lines[start : start + part.height], pl.Int64)
            part = self._conformed(part, header).with_columns(
                locs, pl.lit(None, pl.String).alias("_raw"), pl.lit(None, pl.String).alias("_fault")
            )
            if part.height or rejected:
                yield Chunk(part, rejected)
            rejected = []

    def _conformed(self, frame: pl.DataFrame, header: list[str]) -> pl.DataFrame:
        """``frame`` with exactly this kind's input columns, absent ones null."""
        missing = [pl.lit(None, pl.String).alias(n) for n in self.columns if n not in header]
        return frame.with_columns(missing).select(self.columns)

    def _csv_exact(self, header: list[str], offset: int, first_line: int) -> Iterator[Chunk]:
        """The records from byte ``offset`` (on line ``first_line``) on, by Python's csv.

        Lines are decoded with every invalid byte kept as a surrogate, so that csv splits the
        record as it would any other; the record is then judged on its bytes.
        """
        # csv refuses a field over its own limit (128 KiB) with an error that loses its place;
        # records up to the size limit are read, and judged, instead.
        csv.field_size_limit(max(csv.field_size_limit(), self.limits.max_record_bytes))
        with self.path.open("rb") as raw_file:
            raw_file.seek(offset)
            read: list[tuple[int, bytes]] = []

            def texts() -> Iterator[str]:
                for start, data in _physical_lines(
                    raw_file, offset, first_line, self.limits, self.source
                ):
                    read.append((start, data))
                    if sum(len(part) for _, part in read) > 2 * self.limits.max_record_bytes:
                        raise InputError(
                            f"line {line}: a record runs on past twice "
                            f"QUAYWATCH_MAX_RECORD_BYTES ({self.limits.max_record_bytes} bytes); "
                            "is a quoted field not closed?",
                            source=self.source,
                        )
                    self.position = start + len(data)
                    yield data.decode("utf-8", "surrogateescape")

            reader = csv.reader(texts())
            rows: list[list[str]] = []
            locs: list[int] = []
            faults: list[str | None] = []
            rejected: list[Rejected] = []
            line = first_line
            try:
                for values in reader:
                    data = b"".join(part for _, part in read)
                    start = read[0][0] if read else offset
                    if len(read) > 1 and data.count(b'"') % 2:
                        raise InputError(
                            f"line {line}: a quoted field is not closed (it runs on to line "
                            f"{first_line + reader.line_num - 1})",
                            source=self.source,
                        )
                    read.clear()
                    fault = self._csv_fault(header, values, data, start) if values else None
                    if fault is not None and len(values) == len(header):
                        # Passed on with the fault, so that the rest of its record (a
                        # consignment's other rows) is quarantined with it.
                        rows.append([_kept(value) for value in values])
                        locs.append(line)
                        faults.append(f"{fault[0]}{f.FIELD_SEP}{fault[1]}")
                    elif fault is not None:
                        rejected.append(Rejected(f"line {line}", None, [fault[:2]], fault[2]))
                    elif len(values) == len(header):
                        rows.append(values)
                        locs.append(line)
                        faults.append(None)
                    elif values:
                        rejected.append(_ragged(line, values, len(header)))
                    line = first_line + reader.line_num
                    if len(rows) + len(rejected) >= self.batch_size:
                        yield Chunk(self._columns(header, rows, locs, faults), rejected)
                        rows, locs, faults, rejected = [], [], [], []
            except csv.Error as exc:
                raise InputError(
                    f"line {line}: cannot read CSV: {exc}", source=self.source
                ) from exc
            yield Chunk(self._columns(header, rows, locs, faults), rejected)

    def _csv_fault(
        self, header: list[str], values: list[str], data: bytes, start: int
    ) -> tuple[str, str, str] | None:
        """Field, reason and quarantine text of a CSV record the front door refuses."""
        if len(data) > self.limits.max_record_bytes:
            piece = decode.Piece(0, start, data[: decode.CLIP], len(data))
            return "", self.limits.size_reason(len(data)), json.dumps(decode.clipped(piece))
        if not (data.isascii() or _utf8(data)):
            text = decode.shown(data.rstrip(b"\r\n"))
            return "", decode.bad_byte_reason(data, start), json.dumps(text)
        for name, value in zip(header, values, strict=False):
            if len(value) > self.limits.max_field_chars:
                reason = self.limits.field_reason(len(value))
                return name, reason, json.dumps(data.decode("utf-8").rstrip("\r\n"))
        return None

    def _columns(
        self, header: list[str], rows: list[list[str]], locs: list[int], faults: list[str | None]
    ) -> pl.DataFrame:
        """A chunk frame from CSV rows, transposed in C rather than cell by cell."""
        columns = dict(zip(header, zip(*rows, strict=True), strict=True)) if rows else {}
        data: dict[str, Any] = {n: columns.get(n, [None] * len(rows)) for n in self.columns}
        data["_loc"], data["_raw"], data["_fault"] = locs, [None] * len(rows), faults
        return pl.DataFrame(data, schema=self._schema)

    # --- JSON --------------------------------------------------------------------------------

    def _records(
        self, unit: str, results: Iterator[tuple[int, decode.Parsed | decode.Refused]]
    ) -> Iterator[Chunk]:
        """Chunks from the front door's verdict on each numbered record."""
        rows: list[dict[str, Any]] = []
        locs: list[int] = []
        raws: list[str | None] = []
        rejected: list[Rejected] = []
        for number, result in results:
            if isinstance(result, decode.Refused):
                problem = (result.field, result.reason)
                location = f"{unit} {number}"
                rejected.append(Rejected(location, result.record_id, [problem], result.raw))
            else:
                try:
                    flat = self.format.rows(self.kind, result.record)
                except decode.Fault as fault:  # a record of the shape holding nothing to store
                    problem = (fault.field, fault.reason)
                    rejected.append(Rejected(f"{unit} {number}", None, [problem], result.raw))
                    flat = []
                rows.extend(flat)
                locs.extend([number] * len(flat))
                raws.extend([result.raw] * len(flat))
            if len(rows) + len(rejected) >= self.batch_size:
                yield Chunk(self._frame(rows, locs, raws), rejected)
                rows, locs, raws, rejected = [], [], [], []
        yield Chunk(self._frame(rows, locs, raws), rejected)

    def _json_document(self) -> Iterator[Chunk]:
        """A file holding one JSON object over many lines (a DCSA document as published): one
        record, its size held to the limit like any other."""
        shape = self.format.shape_for(self.kind)

        def results() -> Iterator[tuple[int, decode.Parsed | decode.Refused]]:
            with self.path.open("rb") as file:
                data = file.read(self.limits.max_record_bytes + 1)
                size = self.size
                self.position = size
            offset = len(decode.BOM) if data.startswith(decode.BOM) else 0
            piece = decode.Piece(1, offset, data[offset:], size - offset)
            yield 1, decode.json_record(piece, shape, self.limits)

        return self._records(self.unit, results())

    def _json_lines(self) -> Iterator[Chunk]:
        shape = self.format.shape_for(self.kind)

        def results() -> Iterator[tuple[int, decode.Parsed | decode.Refused]]:
            with self.path.open("rb") as raw_file:
                counter = _CountingReader(raw_file)
                for piece in decode.lines(io.BufferedReader(counter), self.limits):
                    self.position = counter.position
                    if piece.size == len(piece.data) and not piece.data.strip():
                        continue
                    yield piece.number, decode.json_record(piece, shape, self.limits)

        return self._records("line", results())

    def _json_array(self) -> Iterator[Chunk]:
        """The items of a JSON array, or of the array under ``wrapper`` of a JSON object."""
        shape = self.format.shape_for(self.kind)

        def results() -> Iterator[tuple[int, decode.Parsed | decode.Refused]]:
            with self.path.open("rb") as raw_file:
                counter = _CountingReader(raw_file)
                file = io.BufferedReader(counter)
                items = (
                    jsonarray.object_items(file, self.wrapper, self.limits, self.source)
                    if self.wrapper is not None
                    else jsonarray.array_items(file, self.limits, self.source)
                )
                for piece, value in items:
                    self.position = counter.position
                    yield piece.number, decode.json_record(piece, shape, self.limits, value)

        return self._records("item", results())

    # --- UN/EDIFACT (CUSCAR) ------------------------------------------------------------------

    def _edifact(self) -> Iterator[Chunk]:
        """The consignments of a CUSCAR interchange, located by message number."""

        def results() -> Iterator[tuple[int, decode.Parsed | decode.Refused]]:
            with self.path.open("rb") as raw_file:
                counter = _CountingReader(raw_file)

                def progress() -> None:
                    self.position = counter.position

                yield from cuscar.read(
                    io.BufferedReader(counter), self.limits, self.source, progress
                )

        return self._records("message", results())

    # --- Parquet -----------------------------------------------------------------------------

    def _parquet(self) -> Iterator[Chunk]:
        try:
            parquet = pq.ParquetFile(self.path)
            schema = parquet.schema_arrow
        except Exception as exc:  # pyarrow raises several types for a broken file
            raise InputError(f"cannot read Parquet: {exc}", source=self.source) from exc
        self._check_header(list(schema.names))
        binary = []
        for column in schema:
            kind = column.type.value_type if pa.types.is_dictionary(column.type) else column.type
            if _is_binary(kind):
                binary.append(column.name)
            elif not any(test(kind) for test in _FLAT_TYPES):
                raise InputError(
                    f"column {column.name} is of type {column.type}; quaywatch reads flat "
                    "columns only (text, numbers, true/false, dates, times)",
                    source=self.source,
                )
        start, total = 1, parquet.metadata.num_rows
        for group in range(parquet.num_row_groups):
            batches = parquet.iter_batches(batch_size=self.batch_size, row_groups=[group])
            group_start = start
            while True:
                try:
                    batch = next(batches, None)
                except Exception as exc:  # a corrupt page: pyarrow raises several types
                    rows = parquet.metadata.row_group(group).num_rows
                    raise InputError(
                        f"row group {group + 1} (rows {group_start}-{group_start + rows - 1}) "
                        f"cannot be read: {' '.join(str(exc).split())}; nothing of this file was stored",
                        source=self.source,
                    ) from exc
                if batch is None:
                    break
                yield self._parquet_chunk(batch, start, binary)
                start += batch.num_rows
                self.position = int(self.size * (start - 1) / max(total, 1))

    def _parquet_chunk(self, batch: pa.RecordBatch, start: int, binary: list[str]) -> Chunk:
        """A chunk of Parquet rows; a row with a cell the front door refuses is rejected."""
        names = list(batch.schema.names)
        # A text column must hold UTF-8, but a damaged file may not (polars would crash on
        # it): such a column is read cell by cell as bytes, as a binary one is.
        binary = binary + [
            name for name in names if name not in binary and not _valid_text(batch.column(name))
        ]
        columns = {name: batch.column(name) for name in binary}
        cells = {
            name: (c if _is_binary(c.type) else c.cast(pa.large_binary())).to_pylist()
            for name, c in columns.items()
        }
        faults: dict[int, tuple[str, str]] = {}
        texts: dict[str, list[str | None]] = {}
        for name, values in cells.items():
            texts[name] = []
            for index, cell in enumerate(values):
                try:
                    texts[name].append(None if cell is None else cell.decode("utf-8"))
                except UnicodeDecodeError as exc:
                    reason = f"is not UTF-8: byte 0x{cell[exc.start]:02X} at byte {exc.start} of the cell"
                    faults.setdefault(index, (name, reason))
                    texts[name].append(None)
        frame = pl.from_arrow(batch.drop_columns(binary) if binary else batch)
        assert isinstance(frame, pl.DataFrame)
        frame = frame.with_columns(
            *(_as_text(n, dtype) for n, dtype in frame.schema.items()),
            *(pl.Series(n, v, pl.String) for n, v in texts.items()),
        ).select(names)
        limit = self.limits.max_field_chars
        flagged = frame.select(
            pl.any_horizontal(pl.col(n).str.len_chars() > limit for n in names).fill_null(False)
        ).to_series()
        for index in flagged.arg_true().to_list():
            row = frame.row(index, named=True)
            for name in names:
                value = row[name]
                if value is not None and len(value) > limit:
                    faults.setdefault(index, (name, self.limits.field_reason(len(value))))
        locs = pl.int_range(start, start + frame.height, dtype=pl.Int64).alias("_loc")
        fault = pl.Series(
            "_fault",
            [f"{faults[i][0]}{f.FIELD_SEP}{faults[i][1]}" if i in faults else None
             for i in range(frame.height)] if faults else [None] * frame.height,
            pl.String,
        )  # fmt: skip
        if faults:  # a refused row is passed on as storable text, its record quarantined
            at = sorted(faults)
            frame = frame.with_columns(
                frame[n].scatter(
                    at,
                    [
                        _kept_cell(cells[n][i], texts[n][i])
                        if n in cells
                        else None
                        if frame[n][i] is None
                        else _kept(frame[n][i])
                        for i in at
                    ],
                )  # fmt: skip
                for n in names
            )
        frame = self._conformed(frame, names).with_columns(
            locs, pl.lit(None, pl.String).alias("_raw"), fault
        )
        return Chunk(frame, [])


def _is_binary(kind: pa.DataType) -> bool:
    return bool(pa.types.is_binary(kind) or pa.types.is_large_binary(kind))


def _valid_text(column: pa.Array) -> bool:
    """Whether a column is not text, or text that is valid UTF-8 throughout."""
    if not (pa.types.is_string(column.type) or pa.types.is_large_string(column.type)):
        return True
    try:
        column.validate(full=True)
    except pa.ArrowInvalid:
        return False
    return True


def _as_text(name: str, dtype: pl.DataType) -> pl.Expr:
    """A Parquet column as the text a CSV cell would hold: a time as ISO 8601 with its UTC
    offset (one without a time zone keeps none, and the checks say it lacks one), a date as
    ISO 8601, anything else as polars writes it."""
    column = pl.col(name)
    if isinstance(dtype, pl.Datetime):
        if dtype.time_zone is None:
            return column.dt.strftime("%Y-%m-%dT%H:%M:%S%.f")
        return column.dt.convert_time_zone("UTC").dt.strftime("%Y-%m-%dT%H:%M:%S%.f+00:00")
    if isinstance(dtype, pl.Date):
        return column.dt.strftime("%Y-%m-%d")
    return column.cast(pl.String)


#: Arrow types read as text: anything flat. A list, struct or map column is refused by name.
_FLAT_TYPES = (
    pa.types.is_string, pa.types.is_large_string, pa.types.is_integer, pa.types.is_floating,
    pa.types.is_decimal, pa.types.is_boolean, pa.types.is_date, pa.types.is_timestamp,
    pa.types.is_time, pa.types.is_null,
)  # fmt: skip


def _kept(value: str) -> str:
    """A refused field as the quarantine can keep it: bad bytes and NUL as ``\\xNN``, an
    over-long value clipped."""
    if not decode.storable(value):
        value = decode.shown(value.encode("utf-8", "surrogateescape"))
    if len(value) > decode.CLIP:
        return f"{value[: decode.CLIP]}... [{len(value)} characters in all]"
    return value


def _kept_cell(cell: bytes | None, text: str | None) -> str | None:
    """A binary Parquet cell as text: decoded where it is UTF-8, else with ``\\xNN``."""
    if cell is None:
        return None
    return text if text is not None else decode.shown(cell)


def _utf8(data: bytes) -> bool:
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def _physical_lines(
    file: IO[bytes], offset: int, first_line: int, limits: Limits, source: str
) -> Iterator[tuple[int, bytes]]:
    """``(byte offset, line with its end)`` from the file position on; a line ends at LF, CRLF
    or a bare CR. A line longer than twice the record size limit refuses the file: where its
    record ends cannot be known without holding it (one up to that is quarantined)."""
    pending, line = b"", first_line
    while True:
        block = file.read(1 << 20)
        data = pending + block if pending else block
        at = 0
        for found in _EOL.finditer(data):
            if found.end() == len(data) and block and data.endswith(b"\r"):
                break  # a CR at the end of a block may be the first half of a CRLF
            if found.end() - at > 2 * limits.max_record_bytes:
                raise _too_long(line, limits, source)
            yield offset, data[at : found.end()]
            offset, at, line = offset + found.end() - at, found.end(), line + 1
        pending = data[at:]
        if not block:
            if pending:
                yield offset, pending
            return
        if len(pending) > 2 * limits.max_record_bytes:
            raise _too_long(line, limits, source)


def _too_long(line: int, limits: Limits, source: str) -> InputError:
    return InputError(
        f"line {line} is longer than twice QUAYWATCH_MAX_RECORD_BYTES "
        f"({limits.max_record_bytes} bytes)",
        source=source,
    )


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


def open_file(
    path: Path,
    *,
    kind: RecordKind | None,
    batch_size: int,
    options: IntakeOptions = DEFAULT_OPTIONS,
    format_name: str | None = None,
) -> FileReader:
    """A reader for ``path``, in the format ``format_name`` or the one its content shows
    (``formats.detect``), of ``kind`` or the kind its format and content say, reading each
    record within ``options.limits``."""
    found = formats.detect(path, name=format_name, kind=kind, limits=options.limits)
    return FileReader(
        path, found.kind, found.container.value, batch_size, options.limits,
        format=found.format, wrapper=found.wrapper,
    )  # fmt: skip
