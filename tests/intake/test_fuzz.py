"""Fuzzing every reader: mutated files never crash intake, and nothing read is lost or altered.

Each case takes one file of every reader (consignments as CSV, JSON Lines, JSON and Parquet
and as a UN/EDIFACT CUSCAR interchange; container events as DCSA Track & Trace 2.2 JSON and
JSON Lines and as a DCSA 3.0 ``{"events": [...]}`` response; a DCSA eBL 3 transport document;
control outcomes as CSV), mutates it at byte, field or structure level (an EDIFACT file by
segment and data element), imports it into a copy of a migrated SQLite store and checks, by
re-reading the store:

- the import ends in a summary or, for a file intake cannot read at all, an ``InputError`` with
  a message and nothing stored; never any other exception (a traceback for the operator);
- every record read is new, unchanged or quarantined (the summary balances), the store gained
  exactly the new records and one quarantine entry per record quarantined for the first time;
- what is stored is what was read: no text with a NUL or a replacement character the file did
  not hold, no number that is not finite; for field- and structure-level mutations (where the
  intended records are known) every stored goods item's description and value are the input's.

A second test imports each of fewer mutated files into both stores, SQLite and PostgreSQL, and
checks that they decide alike: the same refusal of the file, or the same counts, the same
quarantine entries (location, record, every field and reason) and the same stored rows.

Examples per reader: the hypothesis profile ``fuzz-ci`` (1,000, every CI run) or, with
``QUAYWATCH_TEST_PROFILE=nightly`` (``make nightly``), ``fuzz-nightly`` (10,000);
``QUAYWATCH_FUZZ_EXAMPLES`` names any other number. For both stores
``QUAYWATCH_FUZZ_PG_EXAMPLES`` (default 25; nightly 500).

``test_every_reader_is_fuzzed`` holds one seed per reader; each fuzzing test counts the files
it imported and checks, after hypothesis is done, that every reader was fed the run's number.
"""

from __future__ import annotations

import csv
import io
import json
import math
import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, given, settings, strategies as st
from sqlalchemy import func, select

from pg_support import pg_schema_url
from quaywatch.errors import InputError
from quaywatch.intake.pipeline import ingest_file
from quaywatch.intake.records import RecordKind
from quaywatch.store import tables
from quaywatch.store.store import Store

# A failing case prints its file (``Mutated.__repr__``, cut short); hypothesis's own warning
# about long reprs would otherwise hide the failure behind the suite's warnings-as-errors.
pytestmark = [
    pytest.mark.slow,
    pytest.mark.filterwarnings("ignore:Generating overly large repr"),
]

EXAMPLES_DIR = Path(__file__).resolve().parents[2] / "examples"
DATA_DIR = Path(__file__).resolve().parent / "data"
#: The hypothesis profile of the run: ``fuzz-ci`` (1,000 files per reader), or ``fuzz-nightly``
#: (10,000) when ``QUAYWATCH_TEST_PROFILE=nightly`` (``make nightly``).
NIGHTLY = os.environ.get("QUAYWATCH_TEST_PROFILE") == "nightly"
settings.register_profile(
    "fuzz-ci",
    max_examples=1_000,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
settings.register_profile("fuzz-nightly", settings.get_profile("fuzz-ci"), max_examples=10_000)
PROFILE = settings.get_profile("fuzz-nightly" if NIGHTLY else "fuzz-ci")
#: Files per reader: the profile's, unless ``QUAYWATCH_FUZZ_EXAMPLES`` names a number.
EXAMPLES = int(os.environ.get("QUAYWATCH_FUZZ_EXAMPLES", str(PROFILE.max_examples)))
FUZZ = settings(PROFILE, max_examples=EXAMPLES)
PG_EXAMPLES = int(os.environ.get("QUAYWATCH_FUZZ_PG_EXAMPLES", "500" if NIGHTLY else "25"))
#: Small chunks, so records cross chunk boundaries on files of a few dozen rows.
BATCH = 5
#: Where the records of each kind are stored (an IoT or reefer event in ``sensor_events``).
KIND_TABLES = {
    RecordKind.CONSIGNMENTS: [tables.consignments],
    RecordKind.EVENTS: [tables.events, tables.sensor_events],
    RecordKind.OUTCOMES: [tables.control_outcomes],
    RecordKind.DOCUMENTS: [tables.carrier_documents],
}
TEXT_TABLES = [
    tables.consignments, tables.goods_items, tables.parties, tables.events, tables.sensor_events,
    tables.carrier_documents, tables.carrier_document_parties, tables.carrier_document_cargo,
]  # fmt: skip

HOSTILE_TEXT = st.sampled_from(
    [
        "", " ", "\x00", "a\x00b", "\x1f", "\x1e", "\r", "\n", "\r\n", '"', ",", "|", ":",
        "[/]", "[link=https://example.test]x[/link]", "[bold red]x", "\ufffd", "é", "\u202e",
        "1e308", "-1e308", "1e-320", "-0", "NaN", "inf", "-Infinity", "3000000000", "-1",
        "0001-01-01T00:00:00+00:00", "9999-12-31T23:59:59+00:00", "2026-02-30T00:00:00Z",
        "null", "true", "{}", "[]", '{"a": [1, 2]}', "x" * 5_000, "DELTA 5", "005W",
    ]
) | st.text(max_size=12)  # fmt: skip
SCALARS = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=False, allow_infinity=False)
    | HOSTILE_TEXT
)
HOSTILE_JSON = st.recursive(
    SCALARS,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(HOSTILE_TEXT, inner, max_size=3),
    max_leaves=8,
)
HOSTILE_BYTES = st.sampled_from(
    [b"\x00", b"\xff", b"\xc3", b"\xe9", b"\xef\xbb\xbf", b"\r", b"\n", b'"', b",", b"{", b"[",
     b"]", b"}", b"\x1f", b"\\", b"PAR1"]
) | st.binary(min_size=1, max_size=8)  # fmt: skip


@dataclass(frozen=True, slots=True)
class Seed:
    """An example file to mutate and the record kind it holds."""

    name: str
    kind: RecordKind
    folder: Path = EXAMPLES_DIR

    @property
    def path(self) -> Path:
        return self.folder / self.name

    @property
    def suffix(self) -> str:
        return self.path.suffix


#: One file of every reader: each is fuzzed with its own ``EXAMPLES`` cases.
SEEDS = [
    Seed("consignments.csv", RecordKind.CONSIGNMENTS),
    Seed("consignments.jsonl", RecordKind.CONSIGNMENTS),
    Seed("consignment.json", RecordKind.CONSIGNMENTS),
    Seed("consignments.parquet", RecordKind.CONSIGNMENTS),
    Seed("cuscar.edi", RecordKind.CONSIGNMENTS),
    Seed("events.json", RecordKind.EVENTS),  # DCSA Track & Trace 2.2
    Seed("events.jsonl", RecordKind.EVENTS),
    Seed("tnt-300-response.json", RecordKind.EVENTS, DATA_DIR / "dcsa"),  # 3.0, all five types
    Seed("td-get-reefer.json", RecordKind.DOCUMENTS, DATA_DIR / "dcsa-ebl"),  # eBL 3
    Seed("outcomes.csv", RecordKind.OUTCOMES),
]


#: (consignment id, version, item sequence) -> every (description, value) written for it.
Items = dict[tuple[str, str, str], list[tuple[Any, Any]]]


@dataclass(frozen=True, slots=True)
class Mutated:
    """A mutated file, and the goods items it means to declare where that is known."""

    data: bytes
    items: Items | None

    def __repr__(self) -> str:  # a failing case prints its file, cut to a readable length
        shown = self.data[:1_500]
        more = f" ... ({len(self.data)} bytes)" if len(self.data) > len(shown) else ""
        return f"Mutated(data={shown!r}{more})"


# --- mutations --------------------------------------------------------------------------------


def _byte_level(draw: st.DrawFn, data: bytes) -> bytes:
    out = bytearray(data)
    for _ in range(draw(st.integers(1, 4))):
        at = draw(st.integers(0, len(out)))
        op = draw(st.sampled_from(["flip", "insert", "delete", "truncate", "repeat"]))
        if op == "flip" and at < len(out):
            out[at] = draw(st.integers(0, 255))
        elif op == "insert":
            out[at:at] = draw(HOSTILE_BYTES)
        elif op == "delete":
            del out[at : at + draw(st.integers(1, 16))]
        elif op == "truncate":
            del out[at:]
        elif op == "repeat":
            out[at:at] = out[at : at + draw(st.integers(1, 64))]
    return bytes(out)


def _csv_rows(data: bytes) -> list[list[str]]:
    return list(csv.reader(io.StringIO(data.decode("utf-8"), newline="")))


def _csv_bytes(rows: list[list[str]]) -> bytes:
    """``rows`` as CSV whose records are those rows, each ended by ``\n``: a field holding a
    line end of either kind is quoted (the writer quotes the characters of its line
    terminator, so with ``\n`` alone a bare ``\r`` went unquoted, and a bare CR ends a line for
    every reader): each row is written with ``\r\n``, which then gives way to ``\n``."""
    lines = []
    for row in rows:
        text = io.StringIO()
        csv.writer(text, lineterminator="\r\n").writerow(row)
        lines.append(text.getvalue().removesuffix("\r\n") + "\n")
    return "".join(lines).encode("utf-8")


def _tabular(draw: st.DrawFn, rows: list[list[str]]) -> list[list[str]]:
    """Field- and structure-level changes to a header and its rows."""
    header, body = list(rows[0]), [list(r) for r in rows[1:]]
    for _ in range(draw(st.integers(1, 3))):
        op = draw(st.sampled_from(["cell", "cell", "cell", "swap", "dup", "drop", "column"]))
        if op == "cell" and body:
            row = draw(st.integers(0, len(body) - 1))
            body[row][draw(st.integers(0, len(header) - 1))] = draw(HOSTILE_TEXT)
        elif op == "swap" and len(body) > 1:
            i, j = draw(st.integers(0, len(body) - 1)), draw(st.integers(0, len(body) - 1))
            body[i], body[j] = body[j], body[i]
        elif op == "dup" and body:
            body.insert(draw(st.integers(0, len(body))), list(draw(st.sampled_from(body))))
        elif op == "drop" and body:
            body.pop(draw(st.integers(0, len(body) - 1)))
        elif op == "column":
            at = draw(st.integers(0, len(header) - 1))
            if draw(st.booleans()):  # the same column twice
                header.append(header[at])
                for row in body:
                    row.append(row[at])
            else:  # a column missing
                header.pop(at)
                for row in body:
                    row.pop(at)
    return [header, *body]


def _items_of_rows(rows: list[list[str]]) -> Items | None:
    header = rows[0]
    wanted = ("consignment_id", "version", "item_sequence", "description", "value")
    if any(header.count(name) != 1 for name in wanted):
        return None
    at = [header.index(name) for name in wanted]
    items: Items = {}
    for row in rows[1:]:
        if len(row) == len(header):
            c, v, s, d, value = (row[i] for i in at)
            key = (c.strip(), v.strip() or "1", s.strip())  # no version is version 1
            items.setdefault(key, []).append((d, value))
    return items


def _path_edit(draw: st.DrawFn, value: Any, depth: int = 0) -> Any:
    """``value`` with one randomly chosen place replaced by a hostile JSON value."""
    if depth > 0 and (not isinstance(value, dict | list) or not value or draw(st.booleans())):
        return draw(HOSTILE_JSON)
    if isinstance(value, dict) and value:
        key = draw(st.sampled_from(sorted(value)))
        if draw(st.integers(0, 9)) == 0:
            return {k: v for k, v in value.items() if k != key}  # a field missing
        return value | {key: _path_edit(draw, value[key], depth + 1)}
    if isinstance(value, list) and value:
        at = draw(st.integers(0, len(value) - 1))
        return [*value[:at], _path_edit(draw, value[at], depth + 1), *value[at + 1 :]]
    return draw(HOSTILE_JSON)


def _json_records(draw: st.DrawFn, records: list[Any]) -> list[Any]:
    records = list(records)
    for _ in range(draw(st.integers(1, 3))):
        op = draw(st.sampled_from(["edit", "edit", "edit", "dup", "drop", "deep", "scalar"]))
        at = draw(st.integers(0, len(records) - 1)) if records else 0
        if op == "edit" and records:
            records[at] = _path_edit(draw, records[at])
        elif op == "dup" and records:
            records.insert(at, records[at])
        elif op == "drop" and records:
            records.pop(at)
        elif op == "deep" and records and isinstance(records[at], dict):
            key = draw(st.sampled_from(sorted(records[at]) or ["k"]))
            records[at] = records[at] | {key: DEEP}
        elif op == "scalar":
            records.insert(at, draw(SCALARS))
    return records


@dataclass(frozen=True, slots=True)
class Raw:
    """A line of the seed that is not JSON (the examples hold a deliberately broken one)."""

    text: str


#: Stands for a value nested deeper than the standard library writes; replaced in the text.
DEEP = "\x00deep\x00"


def _parsed(line: str) -> Any:
    try:
        return json.loads(line)
    except json.JSONDecodeError:
        return Raw(line)


def _dumps(value: Any, depth: int) -> str:
    if isinstance(value, Raw):
        return value.text
    text = json.dumps(value, ensure_ascii=False)
    return text.replace(json.dumps(DEEP), "[" * depth + '"x"' + "]" * depth)


def _items_of_json(records: list[Any]) -> Items | None:
    items: Items = {}
    for record in records:
        if not isinstance(record, dict) or not isinstance(record.get("goods_items"), list):
            continue
        for item in record["goods_items"]:
            if isinstance(item, dict):
                version = record.get("version")
                key = (
                    str(record.get("consignment_id")).strip(),
                    "1" if version in (None, "") else str(version).strip(),
                    str(item.get("sequence")).strip(),
                )
                items.setdefault(key, []).append((item.get("description"), item.get("value")))
    return items


def _edifact(draw: st.DrawFn, data: bytes) -> bytes:
    """Segment- and data-element-level changes to an EDIFACT interchange (``'`` ends a
    segment, ``+`` separates its elements), on its bytes (the example is ISO 8859-1, UNOC): an
    element replaced by hostile text (as UTF-8, which may hold the separators themselves), a
    segment repeated, dropped or moved."""
    head, _, rest = data.partition(b"\n")  # the UNA service string advice stays first
    segments = rest.split(b"'")
    for _ in range(draw(st.integers(1, 3))):
        op = draw(st.sampled_from(["element", "element", "element", "dup", "drop", "swap"]))
        at = draw(st.integers(0, len(segments) - 1))
        if op == "element":
            elements = segments[at].split(b"+")
            where = draw(st.integers(0, len(elements) - 1))
            elements[where] = draw(HOSTILE_TEXT).encode("utf-8", "surrogatepass")
            segments[at] = b"+".join(elements)
        elif op == "dup":
            segments.insert(at, segments[at])
        elif op == "drop" and len(segments) > 1:
            segments.pop(at)
        elif op == "swap":
            other = draw(st.integers(0, len(segments) - 1))
            segments[at], segments[other] = segments[other], segments[at]
    return head + b"\n" + b"'".join(segments)


@st.composite
def mutated(draw: st.DrawFn, seed: Seed) -> Mutated:
    data = seed.path.read_bytes()
    level = draw(st.sampled_from(["byte", "field"]))
    if level == "byte":
        return Mutated(_byte_level(draw, data), None)
    if seed.suffix == ".csv":
        rows = _tabular(draw, _csv_rows(data))
        return Mutated(_csv_bytes(rows), _items_of_rows(rows))
    if seed.suffix == ".parquet":
        table = pq.read_table(io.BytesIO(data))
        rows = [list(table.column_names)] + [
            ["" if v is None else str(v) for v in row.values()] for row in table.to_pylist()
        ]
        rows = _tabular(draw, rows)
        out = io.BytesIO()
        header = rows[0]
        if len(set(header)) == len(header):
            columns: dict[str, list[Any]] = {
                n: [r[i] for r in rows[1:]] for i, n in enumerate(header)
            }
            items = _items_of_rows(rows)
            if draw(st.booleans()) and columns:  # a column of another type than text
                name = draw(st.sampled_from(sorted(columns)))
                columns[name] = [draw(HOSTILE_JSON) for _ in columns[name]]
                items = None  # what the rows mean to declare is no longer what they hold
            try:
                pq.write_table(pa.table({n: pa.array(v) for n, v in columns.items()}), out)
            except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError, OverflowError):
                out = io.BytesIO()  # a value Parquet cannot hold as drawn: written as its text
                texts = {n: pa.array([str(x) for x in v]) for n, v in columns.items()}
                pq.write_table(pa.table(texts), out)
            return Mutated(out.getvalue(), items)
        return Mutated(data, None)
    if seed.suffix == ".edi":
        return Mutated(_edifact(draw, data), None)
    text = data.decode("utf-8")
    layout = "lines"
    if seed.suffix == ".json":
        parsed = json.loads(text)
        layout = "array" if isinstance(parsed, list) else "events" if "events" in parsed else "one"
        records = (
            parsed if layout == "array" else parsed["events"] if layout == "events" else [parsed]
        )
    else:
        records = [_parsed(line) for line in text.splitlines() if line.strip()]
    records = _json_records(draw, records)
    depth = draw(st.sampled_from([50, 1_100, 100_000]))
    joined = ",\n".join(_dumps(r, depth) for r in records)
    if layout == "one" and len(records) == 1:  # one object, as the seed
        body = joined
    elif layout == "events":  # a DCSA 3.x response
        body = '{"events": [' + joined + '], "feedbackElements": []}'
    elif layout != "lines":
        body = "[" + joined + "]"
    else:
        body = "\n".join(_dumps(r, depth) for r in records) + "\n"
    declared = _items_of_json(records) if seed.kind is RecordKind.CONSIGNMENTS else None
    return Mutated(body.encode("utf-8"), declared)


# --- the store and the checks -----------------------------------------------------------------


@pytest.fixture(scope="module")
def templates(tmp_path_factory: pytest.TempPathFactory) -> dict[RecordKind, Path]:
    """Migrated SQLite files to copy for each case: empty, and with the consignments outcomes
    refer to."""
    folder = tmp_path_factory.mktemp("fuzz-templates")
    empty, with_consignments = folder / "empty.db", folder / "consignments.db"
    for path in (empty, with_consignments):
        store = Store.open(f"sqlite:///{path}")
        if path == with_consignments:
            ingest_file(store, EXAMPLES_DIR / "consignments.csv")
        store.close()
    return {
        RecordKind.CONSIGNMENTS: empty,
        RecordKind.EVENTS: empty,
        RecordKind.OUTCOMES: with_consignments,
        RecordKind.DOCUMENTS: empty,
    }


@contextmanager
def _copy_of(template: Path) -> Iterator[tuple[Store, Path]]:
    with tempfile.TemporaryDirectory(prefix="quaywatch-fuzz-") as folder:
        db = Path(folder) / "store.db"
        shutil.copyfile(template, db)
        store = Store.open(f"sqlite:///{db}", migrate=False)
        try:
            yield store, Path(folder)
        finally:
            store.close()


def _counts(store: Store, kind: RecordKind) -> tuple[int, int, int]:
    with store.reading() as conn:
        return (
            sum(
                conn.execute(select(func.count()).select_from(table)).scalar_one()
                for table in KIND_TABLES[kind]
            ),
            conn.execute(select(func.count()).select_from(tables.quarantine)).scalar_one(),
            conn.execute(select(func.count()).select_from(tables.import_batches)).scalar_one(),
        )


def _stored_values(store: Store, batch_id: str) -> Iterator[tuple[str, str, Any]]:
    """(table, column, value) of every row the batch wrote, parties included."""
    with store.reading() as conn:
        for table in TEXT_TABLES:
            if "batch_id" in table.c:
                query = select(table).where(table.c.batch_id == batch_id)
            elif "consignment_id" in table.c:
                c = tables.consignments
                query = select(table).where(
                    table.c.consignment_id.in_(
                        select(c.c.consignment_id).where(c.c.batch_id == batch_id)
                    )
                )
            else:
                query = select(table)
            for row in conn.execute(query).mappings():
                for column, value in row.items():
                    yield table.name, column, value


def _check_import(store: Store, folder: Path, seed: Seed, case: Mutated) -> None:
    path = folder / f"mutated{seed.suffix}"
    path.write_bytes(case.data)
    before = _counts(store, seed.kind)
    try:
        summary = ingest_file(store, path, kind=seed.kind, batch_size=BATCH)
    except InputError as exc:  # the whole file refused: with a reason, and nothing stored
        assert str(exc).strip()
        assert _counts(store, seed.kind) == before
        return
    records, quarantine, batches = _counts(store, seed.kind)
    assert summary.balanced, summary
    assert batches == before[2] + 1
    assert records - before[0] == summary.new, summary
    assert quarantine - before[1] == summary.quarantined - summary.already_quarantined, summary
    for rejected in summary.rejected:
        assert rejected.reason.strip() and rejected.location.strip(), rejected
    replacement_in_file = "\ufffd".encode() in case.data
    for table, column, value in _stored_values(store, summary.batch_id):
        if isinstance(value, str):
            assert "\x00" not in value, (table, column, value)
            assert replacement_in_file or "\ufffd" not in value, (table, column, value)
        elif isinstance(value, float):
            assert math.isfinite(value), (table, column, value)
    if case.items is not None and seed.kind is RecordKind.CONSIGNMENTS:
        _check_items_as_written(store, summary.batch_id, case.items)


def _check_items_as_written(store: Store, batch_id: str, items: Items) -> None:
    g, c = tables.goods_items, tables.consignments
    with store.reading() as conn:
        stored = conn.execute(
            select(g.c.consignment_id, g.c.version, g.c.sequence, g.c.description, g.c.value)
            .join(c, (c.c.consignment_id == g.c.consignment_id) & (c.c.version == g.c.version))
            .where(c.c.batch_id == batch_id)
        ).all()
    for consignment_id, version, sequence, description, value in stored:
        key = (consignment_id, str(version), str(sequence))
        assert key in items, f"stored goods item {key} is not in the file"
        assert any(
            description == str(written).strip() and _same_number(value, written_value)
            for written, written_value in items[key]
        ), (key, description, value, items[key])


def _same_number(stored: float, written: Any) -> bool:
    try:
        return math.isclose(stored, float(written), rel_tol=1e-12)
    except (TypeError, ValueError):
        return False


def test_every_reader_is_fuzzed() -> None:
    from quaywatch.intake import formats

    read = {(s.suffix, s.kind) for s in SEEDS}
    assert {".csv", ".jsonl", ".json", ".parquet", ".edi"} <= {suffix for suffix, _ in read}
    names = {formats.detect(s.path).format.name for s in SEEDS}
    assert {
        "quaywatch-csv", "quaywatch-json", "quaywatch-parquet", "un-edifact-cuscar",
        "dcsa-tnt-2.2", "dcsa-tnt-3", "dcsa-ebl-3",
    } <= names, names  # fmt: skip


@pytest.mark.parametrize("seed", SEEDS, ids=lambda s: s.name)
def test_mutated_files_are_stored_as_read_or_quarantined_never_a_crash(
    seed: Seed, templates: dict[RecordKind, Path]
) -> None:
    imported = 0

    @FUZZ
    @given(case=mutated(seed))
    def run(case: Mutated) -> None:
        nonlocal imported
        imported += 1
        with _copy_of(templates[seed.kind]) as (store, folder):
            _check_import(store, folder, seed, case)

    run()
    # Hypothesis may stop short of max_examples (a strategy it finds exhausted, too many
    # rejected cases): the reader must still have been fed the run's number of files.
    assert imported >= EXAMPLES, f"{seed.name}: {imported} files imported, {EXAMPLES} asked"


# --- both stores decide alike ------------------------------------------------------------------

#: Columns that say when or in which batch a row was written, not what was read.
STAMPS = {"batch_id", "received_at", "first_seen_at", "last_seen_at", "created_at"}
#: An event is known when it was stored, unless the import chose its creation time.
TABLE_STAMPS = {("events", "known_at"), ("sensor_events", "known_at"),
                ("carrier_documents", "known_at")}  # fmt: skip
#: What an import writes, compared between the stores (quarantine by its content, not its id).
DECIDED = [
    tables.consignments, tables.goods_items, tables.containers, tables.seals, tables.parties,
    tables.events, tables.event_seals, tables.sensor_events, tables.control_outcomes,
    tables.carrier_documents, tables.carrier_document_parties, tables.carrier_document_equipment,
    tables.carrier_document_seals, tables.carrier_document_cargo,
]  # fmt: skip
QUARANTINED = ["kind", "source", "location", "record_id", "field", "reason", "errors", "raw"]


def _decisions(store: Store, path: Path, kind: RecordKind) -> tuple[Any, ...]:
    """What the import of ``path`` decided, in terms both stores can be compared on."""
    try:
        summary = ingest_file(store, path, kind=kind, batch_size=BATCH)
    except InputError as exc:
        return ("refused", str(exc))
    counts = (summary.read, summary.new, summary.unchanged, summary.quarantined,
              summary.already_quarantined, summary.resolved)  # fmt: skip
    rows: dict[str, list[tuple[Any, ...]]] = {}
    q = tables.quarantine
    with store.reading() as conn:
        for table in DECIDED:
            kept = [
                c for c in table.c
                if c.name not in STAMPS and (table.name, c.name) not in TABLE_STAMPS
            ]  # fmt: skip
            found = conn.execute(select(*kept)).all()
            rows[table.name] = sorted(
                (tuple(_comparable(v) for v in row) for row in found), key=repr
            )
        entries = conn.execute(select(*(q.c[name] for name in QUARANTINED))).all()
    quarantine = sorted((tuple(_comparable(v) for v in e) for e in entries), key=repr)
    return ("imported", counts, rows, quarantine)


def _comparable(value: Any) -> Any:
    """A stored value as both stores must give it back: lists (JSON) as tuples, floats to the
    precision a double keeps."""
    if isinstance(value, list):
        return tuple(_comparable(v) for v in value)
    if isinstance(value, float):
        return float(f"{value:.15g}")
    return value


@pytest.mark.parametrize("seed", SEEDS, ids=lambda s: s.name)
def test_both_stores_decide_a_mutated_file_alike(
    seed: Seed, templates: dict[RecordKind, Path]
) -> None:
    imported = 0

    @settings(FUZZ, max_examples=PG_EXAMPLES)
    @given(case=mutated(seed))
    def run(case: Mutated) -> None:
        nonlocal imported
        imported += 1
        with _copy_of(templates[seed.kind]) as (lite, folder), pg_schema_url() as url:
            pg = Store.open(url)
            try:
                if seed.kind is RecordKind.OUTCOMES:  # the template's consignments
                    ingest_file(pg, EXAMPLES_DIR / "consignments.csv")
                path = folder / f"mutated{seed.suffix}"
                path.write_bytes(case.data)
                assert _decisions(lite, path, seed.kind) == _decisions(pg, path, seed.kind)
            finally:
                pg.close()

    run()
    assert imported >= PG_EXAMPLES, f"{seed.name}: {imported} files, {PG_EXAMPLES} asked"


def test_a_reader_message_quoting_a_nul_is_kept_alike_by_both_stores(
    templates: dict[RecordKind, Path],
) -> None:
    """Found by the fuzz suite: an EDIFACT segment whose tag is a NUL is quarantined with a
    reason that quotes the tag; PostgreSQL refused the NUL, SQLite kept it. Both keep it as an
    escape now."""
    data = (EXAMPLES_DIR / "cuscar.edi").read_bytes().replace(b"BGM+", b"\x00+", 1)
    with _copy_of(templates[RecordKind.CONSIGNMENTS]) as (lite, folder), pg_schema_url() as url:
        pg = Store.open(url)
        try:
            path = folder / "nul.edi"
            path.write_bytes(data)
            decided = _decisions(lite, path, RecordKind.CONSIGNMENTS)
            assert decided == _decisions(pg, path, RecordKind.CONSIGNMENTS)
            with pg.reading() as conn:
                q = tables.quarantine
                field, reason = conn.execute(select(q.c.field, q.c.reason)).one()
            assert "\\x00" in field and "\x00" not in field + reason, (field, reason)
        finally:
            pg.close()
