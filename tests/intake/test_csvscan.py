"""The fast CSV path must read every file exactly as Python's csv module does, line numbers too."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from quaywatch.errors import InputError
from quaywatch.intake import readers
from quaywatch.intake.records import RecordKind

HEADER = ["consignment_id", "item_sequence", "description"]
# Lines end at LF (CRLF too); a bare CR inside a quoted field is left out on purpose: Python's
# csv counts it as a line break, every editor and `sed -n` do not, and quaywatch follows them.
_cell = st.lists(
    st.sampled_from(["a", "b", " ", ",", '"', "\n", "\r\n", "\t", "é"]), max_size=6
).map("".join)
_row = st.one_of(
    st.lists(_cell, min_size=3, max_size=3),  # well formed
    st.lists(_cell, min_size=1, max_size=5),  # maybe ragged
    st.just([]),  # a blank line
)


def _write(rows: list[list[str]], terminator: str) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator=terminator)
    writer.writerow(HEADER)
    for row in rows:
        if row:
            writer.writerow(row)
        else:
            out.write(terminator)
    return out.getvalue().encode()


def _read(reader: readers.FileReader, chunks: object) -> tuple[list[tuple[object, ...]], list[str]]:
    records, rejected = [], []
    for chunk in chunks:  # type: ignore[attr-defined]
        records += chunk.frame.select("_loc", *HEADER).rows()
        rejected += [f"{r.location} {r.reason} {r.raw}" for r in chunk.rejected]
    return records, sorted(rejected)


def _both(
    path: Path, monkeypatch: pytest.MonkeyPatch, block: int, batch: int
) -> tuple[object, object]:
    monkeypatch.setattr(readers, "_CSV_FIRST_BLOCK", block)
    reader = readers.open_file(path, kind=RecordKind.CONSIGNMENTS, batch_size=batch)
    fast = _read(reader, reader.chunks())
    first = path.read_bytes().index(b"\n") + 1
    exact = _read(reader, reader._csv_exact(HEADER, first, 2))
    return fast, exact


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    rows=st.lists(_row, max_size=25),
    terminator=st.sampled_from(["\n", "\r\n"]),
    block=st.sampled_from([16, 64, 1 << 20]),
    batch=st.sampled_from([1, 4, 1000]),
)
def test_fast_and_exact_csv_agree(
    rows: list[list[str]], terminator: str, block: int, batch: int,
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    path = tmp_path / "items.csv"
    path.write_bytes(_write(rows, terminator))
    fast, exact = _both(path, monkeypatch, block, batch)
    assert fast == exact


@pytest.mark.parametrize(
    "body",
    [
        b'C1,1,ab"c\nC2,2,ok\n',  # a stray quote inside an unquoted field
        b"C1,1,x\rC2,2,y\r",  # bare carriage returns as line ends
        b"C1,1,x\nC2,2\nC3,3,z,extra\n\nC4,4,w",  # ragged rows, a blank line, no final newline
    ],
)
def test_awkward_files_read_the_same(
    body: bytes, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "items.csv"
    path.write_bytes(",".join(HEADER).encode() + b"\n" + body)
    fast, exact = _both(path, monkeypatch, 1 << 20, 1000)
    assert fast == exact


def test_a_quote_never_closed_refuses_the_file_on_both_paths(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Read on, the open field would swallow C2 and every record after it into C1.
    path = tmp_path / "items.csv"
    path.write_bytes(",".join(HEADER).encode() + b'\nC1,1,"never closed\nC2,2,y\n')
    reader = readers.open_file(path, kind=RecordKind.CONSIGNMENTS, batch_size=10)
    refused = r"line 2: a quoted field is not closed \(it runs on to line 3\)"
    with pytest.raises(InputError, match=refused):
        _read(reader, reader.chunks())
    with pytest.raises(InputError, match=refused):
        _read(reader, reader._csv_exact(HEADER, path.read_bytes().index(b"\n") + 1, 2))


def test_line_numbers_count_newlines_inside_quotes(tmp_path: Path) -> None:
    path = tmp_path / "items.csv"
    path.write_bytes(b'consignment_id,item_sequence,description\nC1,1,"two\nlines"\n\nC2,2,x\n')
    reader = readers.open_file(path, kind=RecordKind.CONSIGNMENTS, batch_size=10)
    frame = pl.concat([chunk.frame for chunk in reader.chunks()])
    assert frame.select("_loc", "description").rows() == [(2, "two\nlines"), (5, "x")]
