"""Hostile files through the readers' front door, on SQLite and PostgreSQL alike.

Each case is a file that once ended in a traceback, lost the whole file, or was stored wrong
(U+FFFD for a bad byte, a structure's text for its value). Every record read must now be
stored as read or quarantined with its location, field and reason; a file that cannot be
read as a whole is refused with an ``InputError`` before anything of it is stored.
"""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import Any

import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from sqlalchemy import func, select
from typer.testing import CliRunner

from quaywatch.cli import app
from quaywatch.config import load_settings
from quaywatch.errors import ConfigurationError, InputError
from quaywatch.intake import quarantine
from quaywatch.intake.decode import Limits
from quaywatch.intake.options import IntakeOptions
from quaywatch.intake.pipeline import ImportSummary, ingest_file
from quaywatch.intake.readers import open_file
from quaywatch.intake.records import RecordKind
from quaywatch.services.intake import submit_records
from quaywatch.store import tables
from quaywatch.store.store import Store

EXAMPLES = Path(__file__).parents[2] / "examples"
#: The two valid consignments of examples/consignments.jsonl, one line each.
LINES = (EXAMPLES / "consignments.jsonl").read_bytes().splitlines()[:2]
EVENTS = json.loads((EXAMPLES / "events.json").read_text())[:3]
CSV = (EXAMPLES / "consignments.csv").read_bytes()


def counts(store: Store) -> dict[str, int]:
    names = ["consignments", "goods_items", "events", "quarantine", "import_batches"]
    with store.reading() as conn:
        return {
            name: conn.execute(
                select(func.count()).select_from(tables.metadata.tables[name])
            ).scalar_one()
            for name in names
        }


def entries(store: Store) -> list[tuple[str, str | None, str, str]]:
    """Open quarantine entries as (location, field, reason, raw), in file order."""
    q = tables.quarantine
    with store.reading() as conn:
        rows = conn.execute(
            select(q.c.location, q.c.field, q.c.reason, q.c.raw).order_by(q.c.quarantine_id)
        )
        return [tuple(row) for row in rows]  # type: ignore[misc]


def balanced(summary: ImportSummary, quarantined: int) -> None:
    assert summary.balanced
    assert summary.new + summary.unchanged + summary.quarantined == summary.read
    assert summary.quarantined == quarantined


def write(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


def with_field(line: bytes, key: str, value: Any) -> bytes:
    record = json.loads(line)
    record[key] = value
    return json.dumps(record).encode()


# --- strict UTF-8 ----------------------------------------------------------------------------


@pytest.mark.parametrize("bad_line", [0, 1])
def test_a_latin1_byte_in_json_lines_quarantines_its_line_with_the_offset(
    store: Store, tmp_path: Path, bad_line: int
) -> None:
    lines = list(LINES)
    lines[bad_line] = lines[bad_line].replace(
        b'"transport_document": "', b'"transport_document": "\xe9'
    )
    data = b"\n".join(lines) + b"\n"
    summary = ingest_file(store, write(tmp_path / "c.jsonl", data))
    balanced(summary, 1)
    assert summary.new == 1
    [(location, field, reason, raw)] = entries(store)
    assert location == f"line {bad_line + 1}" and field is None
    assert reason == f"is not UTF-8: byte 0xE9 at byte offset {data.index(bytes([0xE9]))}"
    assert "\\xe9" in json.loads(raw) and "\ufffd" not in raw


def test_a_latin1_byte_in_a_csv_row_quarantines_its_whole_consignment(
    store: Store, tmp_path: Path
) -> None:
    lines = CSV.splitlines(keepends=True)
    lines[3] = lines[3].replace(b"Smartphones", b"Sm\xe4rtphones", 1)  # 0000001's second item
    data = b"".join(lines)
    summary = ingest_file(store, write(tmp_path / "c.csv", data))
    balanced(summary, 2)  # 0000001 (lines 3-4) and the example's bad check digit (line 7)
    assert summary.new == 2
    (location, field, reason, raw), _ = entries(store)
    assert location == "lines 3-4" and field is None
    assert reason == f"is not UTF-8: byte 0xE4 at byte offset {data.index(bytes([0xE4]))} (line 4)"
    descriptions = [row["description"] for row in json.loads(raw)]
    assert (
        descriptions == ["Passenger cars, 1500-3000 cc", "Sm\\xe4rtphones"] and "\ufffd" not in raw
    )
    assert counts(store)["consignments"] == 2  # not a consignment with one of its two items


def test_a_nul_byte_in_csv_is_quarantined_not_stored(store: Store, tmp_path: Path) -> None:
    data = CSV.replace(b"ZIMU0300000001", b"ZIMU03\x0000001", 1)
    summary = ingest_file(store, write(tmp_path / "c.csv", data))
    balanced(summary, 2)
    (location, field, reason, raw), _ = entries(store)
    # Valid UTF-8: the record's checks name the field (the same decision for every format).
    assert (location, field) == ("lines 3-4", "transport_document")
    assert reason.startswith("contains the control character U+0000")
    assert "\x00" not in raw and "\\u0000" in raw


def test_a_bad_byte_in_a_json_array_item_quarantines_that_item(
    store: Store, tmp_path: Path
) -> None:
    data = json.dumps(EVENTS, indent=1).encode().replace(b"EQUIPMENT", b"EQUIPM\xc9NT", 1)
    summary = ingest_file(store, write(tmp_path / "e.json", data))
    balanced(summary, 1)
    assert summary.new == 2
    [(location, field, reason, _)] = entries(store)
    assert (location, field) == ("item 1", None)
    assert reason == f"is not UTF-8: byte 0xC9 at byte offset {data.index(bytes([0xC9]))}"


# --- CSV structure ---------------------------------------------------------------------------


def test_bare_carriage_returns_read_as_line_ends(store: Store, tmp_path: Path) -> None:
    lf = ingest_file(store, write(tmp_path / "lf.csv", CSV))
    cr = CSV.replace(b"\r\n", b"\n").replace(b"\n", b"\r")
    again = ingest_file(store, write(tmp_path / "cr.csv", cr))
    assert (again.read, again.unchanged, again.quarantined) == (lf.read, lf.new, lf.quarantined)
    assert again.already_quarantined == lf.quarantined  # same records, same line numbers


def test_a_column_twice_in_the_header_refuses_the_file_by_name(
    store: Store, tmp_path: Path
) -> None:
    header, rest = CSV.split(b"\n", 1)
    data = header + b",hs6\n" + b"\n".join(line + b",x" for line in rest.splitlines()) + b"\n"
    with pytest.raises(InputError, match="column hs6 appears more than once in the header"):
        ingest_file(store, write(tmp_path / "c.csv", data))
    assert counts(store) == dict.fromkeys(counts(store), 0)


def test_a_quote_left_open_refuses_the_file_naming_the_line(store: Store, tmp_path: Path) -> None:
    lines = CSV.splitlines(keepends=True)
    # No quote after it closes it: the field would swallow every line to the end of the file.
    tail = b"".join(line.replace(b'"', b"") for line in lines[5:])
    data = b"".join(lines[:4]) + lines[4].rstrip(b"\r\n") + b',"open\n' + tail
    with pytest.raises(InputError, match="line 5: a quoted field is not closed .*line 7"):
        ingest_file(store, write(tmp_path / "c.csv", data))
    assert counts(store)["consignments"] == 0


# --- JSON shapes -----------------------------------------------------------------------------

SHAPES = [
    ("vessel", "IMO 9074729", "vessel", "is a string, not an object"),
    ("route", ["NLRTM"], "route", "is a list, not an object"),
    ("goods_items", "many", "goods_items", "is a string, not a list"),
    ("goods_items", ["x"], "goods_items[0]", "is a string, not an object"),
    ("goods_items", 3, "goods_items", "is a number, not a list"),
    ("goods_items", [{"hs6": 10121}], "goods_items[0].hs6", "is a number, not a string"),
    ("containers", [{"seals": "x"}], "containers[0].seals", "is a string, not a list"),
    ("route", {"transshipment_ports": "NLRTM"}, "route.transshipment_ports", "is a string, not a list"),
    ("route", {"transshipment_ports": [7]}, "route.transshipment_ports[0]", "is a number, not a string"),
    ("declarant", "ACME", "declarant", "is a string, not an object"),
    ("consignment_id", 12345, "consignment_id", "is a number, not a string"),
    ("consignment_id", {"id": "x"}, "consignment_id", "is an object, not a string"),
    ("version", [2], "version", "is a list, not a number"),
    ("voyage", "a\u0000b", "voyage", "holds a NUL character or an unpaired surrogate (\\u escape)"),
    ("voyage", "\udc80", "voyage", "holds a NUL character or an unpaired surrogate (\\u escape)"),
]  # fmt: skip


@pytest.mark.parametrize(("key", "value", "field", "reason"), SHAPES)
def test_a_json_record_of_the_wrong_shape_is_quarantined_with_the_field_named(
    store: Store, tmp_path: Path, key: str, value: Any, field: str, reason: str
) -> None:
    data = with_field(LINES[0], key, value) + b"\n" + LINES[1] + b"\n"
    summary = ingest_file(store, write(tmp_path / "c.jsonl", data))
    balanced(summary, 1)
    assert summary.new == 1
    [(location, stored_field, stored_reason, raw)] = entries(store)
    assert (location, stored_field, stored_reason) == ("line 1", field, reason)
    assert raw == data.splitlines()[0].decode()  # kept exactly as read


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        (b'{"consignment_id": "x", "version": NaN}', "not valid JSON: NaN is not a JSON number"),
        (b'{"consignment_id": "x", "consignment_id": "y"}',
         'not valid JSON: key "consignment_id" appears twice in one object'),
        (b'{"consignment_id": "x", "version": ' + b"9" * 5000 + b"}",
         "not valid JSON: Exceeds the limit (4300 digits) for integer string conversion"),
        (b'{"x": ' + b"[" * 5000 + b"]" * 5000 + b"}",
         "nested deeper than 32 levels (QUAYWATCH_MAX_NESTING_DEPTH)"),
        (b'{"x": ' + b"[" * 40 + b"]" * 40 + b"}",
         "nested deeper than 32 levels (QUAYWATCH_MAX_NESTING_DEPTH)"),
        (b"[1, 2]", "is not a JSON object"),
    ],
)  # fmt: skip
def test_json_that_is_not_strict_or_too_deep_is_quarantined(
    store: Store, tmp_path: Path, text: bytes, reason: str
) -> None:
    summary = ingest_file(store, write(tmp_path / "c.jsonl", text + b"\n" + LINES[1] + b"\n"))
    balanced(summary, 1)
    [(location, field, stored, _)] = entries(store)
    assert location == "line 1" and stored.startswith(reason)
    assert field in (None, "x")


EVENT_SHAPES = [
    ("eventLocation", "BEANR", "eventLocation", "is a string, not an object"),
    ("transportCall", 5, "transportCall", "is a number, not an object"),
    ("transportCall", {"vessel": "9074729"}, "transportCall.vessel", "is a string, not an object"),
    ("transportCall", {"vessel": {"vesselIMONumber": 9074729}},
     "transportCall.vessel.vesselIMONumber", "is a number, not a string"),
    ("seals", ["SL1"], "seals[0]", "is a string, not an object"),
    ("documentReferences", {"documentReferenceType": "TRD"}, "documentReferences",
     "is an object, not a list"),
    ("isTransshipmentMove", [True], "isTransshipmentMove", "is a list, not true or false"),
]  # fmt: skip


@pytest.mark.parametrize("layout", ["json", "jsonl"])
@pytest.mark.parametrize(("key", "value", "field", "reason"), EVENT_SHAPES)
def test_a_dcsa_event_of_the_wrong_shape_is_quarantined_with_the_path_named(
    store: Store, tmp_path: Path, layout: str, key: str, value: Any, field: str, reason: str
) -> None:
    events = [dict(EVENTS[0], **{key: value}), *EVENTS[1:]]
    text = (
        json.dumps(events, indent=2)
        if layout == "json"
        else "".join(json.dumps(e) + "\n" for e in events)
    )
    path = write(tmp_path / ("e.json" if layout == "json" else "e.jsonl"), text.encode())
    summary = ingest_file(store, path)
    balanced(summary, 1)
    assert summary.new == 2
    [(location, stored_field, stored_reason, raw)] = entries(store)
    unit = "item" if layout == "json" else "line"
    assert (location, stored_field, stored_reason) == (f"{unit} 1", field, reason)
    assert json.loads(raw) == events[0]


def test_a_broken_json_array_is_refused_whole(store: Store, tmp_path: Path) -> None:
    text = json.dumps(EVENTS).encode()
    with pytest.raises(InputError, match="item 3 .* is not closed before the end of the file"):
        ingest_file(store, write(tmp_path / "e.json", text[:-30]))
    with pytest.raises(InputError, match="after item 1: expected ',' or ']'"):
        ingest_file(store, write(tmp_path / "f.json", text.replace(b"}, {", b"} {", 1)))
    assert counts(store) == dict.fromkeys(counts(store), 0)


# --- limits ----------------------------------------------------------------------------------


def test_limits_quarantine_the_record_naming_the_limit(store: Store, tmp_path: Path) -> None:
    long_voyage = with_field(LINES[0], "voyage", "V" * 51)
    path = write(tmp_path / "a.jsonl", long_voyage + b"\n")
    balanced(ingest_file(store, path, options=IntakeOptions(limits=Limits(max_field_chars=50))), 1)
    path = write(tmp_path / "b.jsonl", LINES[1] + b"\n")
    balanced(ingest_file(store, path, options=IntakeOptions(limits=Limits(max_depth=3))), 1)
    big = with_field(LINES[1], "padding", "p" * 5000)
    events = [dict(EVENTS[0], padding="p" * 5000), EVENTS[1]]
    small = Limits(max_record_bytes=4096)
    balanced(
        ingest_file(
            store, write(tmp_path / "c.jsonl", big + b"\n"), options=IntakeOptions(limits=small)
        ),
        1,
    )
    array = write(tmp_path / "e.json", json.dumps(events).encode())
    balanced(ingest_file(store, array, options=IntakeOptions(limits=small)), 1)
    item = len(json.dumps(events[0]))
    assert [(location, field, reason) for location, field, reason, _ in entries(store)] == [
        ("line 1", "voyage", "is 51 characters long, over the limit of 50 (QUAYWATCH_MAX_FIELD_CHARS)"),
        ("line 1", "containers", "nested deeper than 3 levels (QUAYWATCH_MAX_NESTING_DEPTH)"),
        ("line 1", None,
         f"is {len(big)} bytes long, over the limit of 4096 bytes (QUAYWATCH_MAX_RECORD_BYTES)"),
        ("item 1", None,
         f"is {item} bytes long, over the limit of 4096 bytes (QUAYWATCH_MAX_RECORD_BYTES)"),
    ]  # fmt: skip
    kept = [raw for _, _, reason, raw in entries(store) if "MAX_RECORD_BYTES" in reason]
    assert all(len(json.loads(raw)) < 1100 for raw in kept)
    assert all(json.loads(raw).endswith("bytes in all; the first 1024 kept]") for raw in kept)


def test_a_csv_field_over_the_limit_quarantines_its_consignment(
    store: Store, tmp_path: Path
) -> None:
    summary = ingest_file(
        store,
        write(tmp_path / "c.csv", CSV),
        options=IntakeOptions(limits=Limits(max_field_chars=20)),
    )
    balanced(summary, summary.read)  # every example row has a field over 20 characters
    location, field, reason, raw = entries(store)[0]
    assert location == "line 2" and field == "lodged_at"
    assert reason == "is 25 characters long, over the limit of 20 (QUAYWATCH_MAX_FIELD_CHARS)"
    header, first = list(csv.reader(io.StringIO(CSV.decode())))[:2]
    [row] = json.loads(raw)
    assert {name: row[name] for name in header} == dict(zip(header, first, strict=True))


def test_limit_settings_are_checked_by_name(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("QUAYWATCH_MAX_NESTING_DEPTH", "0")
    with pytest.raises(ConfigurationError, match="QUAYWATCH_MAX_NESTING_DEPTH"):
        load_settings()
    monkeypatch.setenv("QUAYWATCH_MAX_NESTING_DEPTH", "12")
    monkeypatch.setenv("QUAYWATCH_MAX_RECORD_BYTES", "many")
    with pytest.raises(ConfigurationError, match="QUAYWATCH_MAX_RECORD_BYTES"):
        load_settings()


# --- Parquet ---------------------------------------------------------------------------------


def _parquet_table() -> pa.Table:
    return pl.read_csv(EXAMPLES / "consignments.csv", infer_schema=False).to_arrow()


@pytest.mark.parametrize(
    ("column", "type_text"),
    [(pa.array([["CAR:KLP:1"]] * 6), "list<"), (pa.array([{"n": "1"}] * 6), "struct<n: string>")],
)
def test_a_nested_parquet_column_is_refused_by_name_and_type(
    store: Store, tmp_path: Path, column: pa.Array, type_text: str
) -> None:
    table = _parquet_table()
    table = table.set_column(table.schema.get_field_index("seals"), "seals", column)
    pq.write_table(table, tmp_path / "c.parquet")
    with pytest.raises(InputError, match=f"column seals is of type {type_text}"):
        ingest_file(store, tmp_path / "c.parquet")
    assert counts(store)["consignments"] == 0


def test_a_binary_parquet_cell_is_decoded_strictly(store: Store, tmp_path: Path) -> None:
    table = _parquet_table()
    names = [text.encode() for text in table.column("description").to_pylist()]
    names[2] = b"Caf\xe9 beans"  # row 3: 0000001's second goods item
    index = table.schema.get_field_index("description")
    table = table.set_column(index, "description", pa.array(names, pa.binary()))
    pq.write_table(table, tmp_path / "c.parquet")
    summary = ingest_file(store, tmp_path / "c.parquet")
    balanced(summary, 2)
    (location, field, reason, raw), _ = entries(store)
    assert (location, field) == ("rows 2-3", "description")
    assert reason == "is not UTF-8: byte 0xE9 at byte 3 of the cell (row 3)"
    assert json.loads(raw)[1]["description"] == "Caf\\xe9 beans"
    assert counts(store)["consignments"] == 2


def test_a_corrupt_parquet_page_refuses_the_file_naming_its_row_group(
    store: Store, tmp_path: Path
) -> None:
    path = tmp_path / "c.parquet"
    pq.write_table(_parquet_table(), path, row_group_size=2, compression="none")
    page = pq.ParquetFile(path).metadata.row_group(1).column(3).data_page_offset
    data = bytearray(path.read_bytes())
    data[page : page + 8] = b"\xff" * 8
    path.write_bytes(bytes(data))
    with pytest.raises(InputError, match=r"row group 2 \(rows 3-4\) cannot be read: .*nothing of"):
        ingest_file(store, path)
    assert counts(store) == dict.fromkeys(counts(store), 0)  # row group 1 was not kept either


# --- retry and CLI ---------------------------------------------------------------------------


def test_an_entry_kept_altered_is_retried_only_corrected(store: Store, tmp_path: Path) -> None:
    data = b"\n".join([LINES[0], with_field(LINES[1], "vessel", "x")]) + b"\n"
    data = data.replace(b'"transport_document": "', b'"transport_document": "\xe9', 1)
    ingest_file(store, write(tmp_path / "c.jsonl", data))
    altered, shaped = quarantine.list_entries(store)[::-1]
    with pytest.raises(InputError, match="keeps its record altered"):
        quarantine.retry(store, altered.quarantine_id)
    with pytest.raises(InputError, match="field vessel: is a string, not an object"):
        quarantine.retry(store, shaped.quarantine_id)
    assert quarantine.retry(store, altered.quarantine_id, record=LINES[0].decode()).stored


def test_hostile_files_through_the_cli_give_messages_not_tracebacks(
    store_url: str, tmp_path: Path
) -> None:
    runner = CliRunner()
    bad = write(tmp_path / "c.jsonl", b'{"consignment_id": "\xff"}\n' + LINES[1] + b"\n")
    result = runner.invoke(app, ["--database", store_url, "ingest", str(bad)])
    assert result.exit_code == 0, result.output
    assert result.exception is None
    assert "quarantined" in result.output.lower() or "1" in result.output
    header, rest = CSV.split(b"\n", 1)
    twice = write(tmp_path / "d.csv", header + b",hs6\n" + rest)
    result = runner.invoke(app, ["--database", store_url, "ingest", str(twice)])
    assert result.exit_code == 2
    assert "column hs6 appears more than once" in result.output
    assert "Traceback" not in result.output


def test_a_record_id_longer_than_the_quarantine_column_is_kept_clipped(
    store: Store, tmp_path: Path
) -> None:
    data = with_field(LINES[0], "consignment_id", "C" * 500) + b"\n"
    events = [dict(EVENTS[0], eventID="E" * 500)]
    balanced(ingest_file(store, write(tmp_path / "c.jsonl", data)), 1)
    balanced(ingest_file(store, write(tmp_path / "e.json", json.dumps(events).encode())), 1)
    q = tables.quarantine
    with store.reading() as conn:
        ids = conn.execute(select(q.c.record_id).order_by(q.c.quarantine_id)).scalars().all()
    assert [(len(i), i[:3], i[-3:]) for i in ids] == [(140, "CCC", "..."), (140, "EEE", "...")]


def test_records_posted_with_an_unpaired_surrogate_are_quarantined(store: Store) -> None:
    record = dict(json.loads(LINES[0]), voyage="\udc80")
    submission = submit_records(
        store, [record, json.loads(LINES[1])], kind=RecordKind.CONSIGNMENTS, source="api:t",
        actor="t",
    )  # fmt: skip
    assert submission.summary.balanced and submission.summary.new == 1
    [rejected] = submission.rejected
    assert rejected.index == 0
    assert rejected.errors[0] == (
        "voyage", "holds a NUL character or an unpaired surrogate (\\u escape)"
    )  # fmt: skip


def test_an_outcome_csv_with_bare_carriage_returns_is_told_by_its_header(tmp_path: Path) -> None:
    text = (EXAMPLES / "outcomes.csv").read_bytes().replace(b"\r\n", b"\n").replace(b"\n", b"\r")
    reader = open_file(write(tmp_path / "o.csv", text), kind=None, batch_size=10)
    assert reader.kind is RecordKind.OUTCOMES
    assert sum(chunk.frame.height + len(chunk.rejected) for chunk in reader.chunks()) == 5


def test_a_csv_record_over_the_size_limit_is_quarantined_over_twice_refused(
    store: Store, tmp_path: Path
) -> None:
    lines = CSV.splitlines(keepends=True)
    limits = Limits(max_record_bytes=1024)  # the example rows are about 500 bytes
    long = lines[1].replace(b"Harbour Road", b"Harbour Road " + b"x" * 700, 1)
    summary = ingest_file(
        store, write(tmp_path / "a.csv", lines[0] + long), options=IntakeOptions(limits=limits)
    )
    balanced(summary, 1)
    [(location, field, reason, raw)] = entries(store)
    assert (location, field) == ("line 2", None)
    assert (
        reason
        == f"is {len(long)} bytes long, over the limit of 1024 bytes (QUAYWATCH_MAX_RECORD_BYTES)"
    )
    assert json.loads(raw)[0]["declarant_address"] == "677 Harbour Road " + "x" * 700 + ", BE"
    longer = lines[1].replace(b"Harbour Road", b"Harbour Road " + b"x" * 2100, 1)
    with pytest.raises(InputError, match="line 2 is longer than twice QUAYWATCH_MAX_RECORD_BYTES"):
        ingest_file(
            store,
            write(tmp_path / "b.csv", lines[0] + longer),
            options=IntakeOptions(limits=limits),
        )


def test_parquet_time_columns_are_read_as_iso_8601(store: Store, tmp_path: Path) -> None:
    """A pandas or Spark export keeps times as timestamp columns: one with a time zone is read
    as the time it is; one without is refused for lacking its UTC offset, naming the field."""
    rows = pl.read_parquet(EXAMPLES / "consignments.parquet")
    lodged = rows["lodged_at"].str.to_datetime(time_zone="UTC")
    with_zone = rows.with_columns(lodged.dt.convert_time_zone("Europe/Brussels"))
    with_zone.write_parquet(tmp_path / "zoned.parquet")
    summary = ingest_file(store, tmp_path / "zoned.parquet")
    assert summary.quarantined == 0 and summary.new > 0, summary.rejected
    c = tables.consignments
    with store.reading() as conn:
        stored = conn.execute(
            select(c.c.lodged_at).where(
                c.c.consignment_id == rows["consignment_id"][0],
                c.c.version == int(rows["version"][0]),
            )
        ).scalar_one()
    assert stored == lodged[0]
    naive = rows.with_columns(lodged.dt.replace_time_zone(None))
    naive.write_parquet(tmp_path / "naive.parquet")
    summary = ingest_file(store, tmp_path / "naive.parquet", kind=RecordKind.CONSIGNMENTS)
    assert summary.new == 0 and summary.quarantined > 0
    assert {r.field for r in summary.rejected} == {"lodged_at"}
    assert "UTC offset" in summary.rejected[0].reason


@pytest.mark.parametrize(
    ("change", "path"),
    [
        (lambda r: r | {"notify_partie": r["consignee"]}, "notify_partie"),
        (lambda r: r | {"vessel": r["vessel"] | {"flag": "PA"}}, "vessel.flag"),
        (
            lambda r: r | {"goods_items": [r["goods_items"][0] | {"valeur": 1}]},
            "goods_items[0].valeur",
        ),
    ],
)
def test_a_key_a_consignment_does_not_have_is_refused_by_name(
    store: Store, tmp_path: Path, change: Any, path: str
) -> None:
    """quaywatch's own JSON format: a misspelt key would lose its value without a word."""
    record = json.loads((EXAMPLES / "consignments.jsonl").read_text().splitlines()[0])
    (tmp_path / "c.jsonl").write_text(json.dumps(change(record)) + "\n")
    summary = ingest_file(store, tmp_path / "c.jsonl")
    assert (summary.new, summary.quarantined) == (0, 1)
    assert summary.rejected[0].field == path
    assert "not a field quaywatch reads" in summary.rejected[0].reason


def test_a_damaged_parquet_text_column_quarantines_its_record(store: Store) -> None:
    """Found by the fuzz suite (tests/intake/data/damaged-utf8.parquet: the example file with
    one byte of a text page changed to 0x81): a text column that is not UTF-8 crashed polars;
    it is read cell by cell, and the record holding the bad cell is quarantined by field."""
    summary = ingest_file(
        store, Path(__file__).parent / "data" / "damaged-utf8.parquet", kind=RecordKind.CONSIGNMENTS
    )
    assert summary.balanced and summary.quarantined >= 1
    bad = [r for r in summary.rejected if r.reason.startswith("is not UTF-8")]
    assert [r.field for r in bad] == ["transport_document"]
