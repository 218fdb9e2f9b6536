"""Records are decided the same way on SQLite and PostgreSQL, before either store sees them.

Regressions of issue 20: rows of one consignment apart in a file (stored partly, then the whole
file refused); keys and content that differ only across a field boundary taken as the same;
a NUL stored by SQLite and refused by PostgreSQL with a traceback; whole numbers beyond the
column, year 1 and 9999, 1e308 and infinity accepted. Every case runs on both stores (the
``store`` fixture) and asserts one expected decision, so the two cannot differ. Re-importing
into a store whose hashes were computed before the length-prefixed encoding says unchanged.
"""

from __future__ import annotations

import csv
import json
from collections import defaultdict
from pathlib import Path

import polars as pl
import pytest
from hypothesis import assume, given, settings, strategies as st
from sqlalchemy import select, update

from quaywatch.config import load_settings, read_intake_options
from quaywatch.errors import ConfigurationError
from quaywatch.intake import consignments, fields as f
from quaywatch.intake.decode import Limits
from quaywatch.intake.fields import Plausible
from quaywatch.intake.pipeline import ImportSummary, ingest_file
from quaywatch.store import tables
from quaywatch.store.store import Store

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
C0, C1, C2 = (f"261102-BEANR-000000{n}" for n in range(3))


def _example_rows() -> list[dict[str, str]]:
    """The valid rows of examples/consignments.csv: C0 (one item), C1 and C2 (two each)."""
    with (EXAMPLES / "consignments.csv").open(newline="", encoding="utf-8") as file:
        return [row for row in csv.DictReader(file) if row["consignment_id"] != f"{C0[:-1]}3"]


def _write(path: Path, rows: list[dict[str, str]]) -> Path:
    """``rows`` as a CSV or a Parquet file (all columns text), by ``path``'s suffix."""
    if path.suffix == ".parquet":
        frame = pl.DataFrame(rows, schema=dict.fromkeys(rows[0], pl.String))
        frame.write_parquet(path)
        return path
    with path.open("w", newline="", encoding="utf-8") as file:
        writer = csv.DictWriter(file, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    return path


def _items(store: Store) -> dict[tuple[str, int], list[str]]:
    """Stored goods items per consignment: their descriptions in sequence order."""
    g = tables.goods_items
    found: dict[tuple[str, int], list[str]] = defaultdict(list)
    with store.reading() as conn:
        query = select(g.c.consignment_id, g.c.version, g.c.description).order_by(
            g.c.consignment_id, g.c.version, g.c.sequence
        )
        for cid, version, description in conn.execute(query):
            found[(cid, version)].append(description)
    return dict(found)


def _problems(summary: ImportSummary) -> list[tuple[str | None, list[tuple[str, str]]]]:
    return [(r.record_id, r.problems) for r in summary.rejected]


# --- rows of one consignment anywhere in the file -------------------------------------------


@pytest.mark.parametrize("suffix", [".csv", ".parquet"])
@pytest.mark.parametrize("batch_size", [2, 1000])
def test_rows_of_a_consignment_apart_in_the_file_make_one_whole_record(
    store: Store, tmp_path: Path, suffix: str, batch_size: int
) -> None:
    c0, c1a, c1b, c2a, c2b = _example_rows()
    scattered = _write(tmp_path / f"scattered{suffix}", [c1a, c2a, c0, c1b, c2b])
    first = ingest_file(store, scattered, batch_size=batch_size)
    assert (first.read, first.new, first.quarantined) == (3, 3, 0)
    assert _items(store) == {
        (C0, 1): ["Fresh mangoes"],
        (C1, 1): [c1a["description"], c1b["description"]],
        (C2, 1): [c2a["description"], c2b["description"]],
    }
    # The same records as the file in order: unchanged, not a conflict.
    in_order = _write(tmp_path / f"in_order{suffix}", [c0, c1a, c1b, c2a, c2b])
    again = ingest_file(store, in_order, batch_size=batch_size)
    assert (again.new, again.unchanged, again.quarantined) == (0, 3, 0)
    assert ingest_file(store, scattered, batch_size=batch_size).unchanged == 3


def test_a_scattered_consignment_with_one_bad_row_is_quarantined_whole(
    store: Store, tmp_path: Path
) -> None:
    c0, c1a, c1b, c2a, c2b = _example_rows()
    path = _write(tmp_path / "bad.csv", [c1a, c0, c2a, c2b, {**c1b, "hs6": "999999"}])
    summary = ingest_file(store, path, batch_size=2)
    assert (summary.read, summary.new, summary.quarantined) == (3, 2, 1)
    (rejected,) = summary.rejected
    assert (rejected.record_id, rejected.location, rejected.field) == (
        f"{C1} v1",
        "lines 2-6",
        "hs6",
    )
    assert json.loads(rejected.raw) == [c1a, {**c1b, "hs6": "999999"}]  # both rows, in order
    assert (C1, 1) not in _items(store)


def test_keys_that_differ_across_the_field_boundary_are_two_consignments(
    store: Store, tmp_path: Path
) -> None:
    c0 = _example_rows()[0]
    rows = [
        {**c0, "consignment_id": "ANR-1", "version": "23"},
        {**c0, "consignment_id": "ANR-12", "version": "3"},
    ]
    summary = ingest_file(store, _write(tmp_path / "keys.csv", rows))
    assert (summary.read, summary.new) == (2, 2)
    assert set(_items(store)) == {("ANR-1", 23), ("ANR-12", 3)}


def test_rows_that_differ_across_a_field_boundary_disagree(store: Store, tmp_path: Path) -> None:
    _, c1a, c1b, _, _ = _example_rows()
    rows = [
        {**c1a, "vessel_name": "DELTA 5", "voyage": "005W"},
        {**c1b, "vessel_name": "DELTA 50", "voyage": "05W"},
    ]
    summary = ingest_file(store, _write(tmp_path / "vessel.csv", rows))
    assert summary.quarantined == 1 and summary.new == 0
    assert summary.rejected[0].problems[0] == (
        "consignment_id", "rows of this consignment disagree on consignment fields (line 2)"
    )  # fmt: skip


# --- one validation for both stores ---------------------------------------------------------


@pytest.mark.parametrize("suffix", [".csv", ".parquet"])
@pytest.mark.parametrize(
    ("column", "value", "record_id", "reason"),
    [
        ("consignment_id", f"{C0}\x00", f"{C0}\\u0000 v1", "contains the control character U+0000"),
        ("description", "Fresh\x00mangoes", None, "contains the control character U+0000"),
        ("description", "Fresh\x1fmangoes", None, "contains the control character U+001F"),
        ("declarant_name", "Delta\tFruit\x1b", None, "contains the control character U+001B"),
        ("voyage", "005\tW", None, "contains the control character U+0009"),
        ("transport_document", "MAEU\x85030", None, "contains the control character U+0085"),
        ("version", "3000000000", f"{C0} v3000000000", "must be at least 1 and at most 2147483647"),
        ("version", "99999999999999999999", "", "must be at least 1 and at most 2147483647"),
        ("packages", "3000000000", None, "must be at least 0 and at most 2147483647"),
        ("lodged_at", "0001-01-01T00:00:00Z", None, "is before 1990-01-01, the earliest date"),
        ("lodged_at", "1989-12-31T23:59:59Z", None, "is before 1990-01-01, the earliest date"),
        ("eta", "9999-12-31T00:00:00Z", None, "more than 2 years ahead"),
        ("gross_mass_kg", "1e300", None, "is above 250,000,000 kg, the most accepted"),
        ("gross_mass_kg", "NaN", None, "'NaN' is not a finite number"),
        ("value", "1e308", None, "is above 10,000,000,000 EUR (at the reference rate)"),
        ("value", "1e400", None, "'1e400' is not a finite number"),
        ("value", "inf", None, "'inf' is not a finite number"),
    ],
)
def test_values_either_store_would_take_differently_are_quarantined_naming_the_field(
    store: Store, tmp_path: Path, suffix: str, column: str, value: str, record_id: str | None,
    reason: str,
) -> None:  # fmt: skip
    c0 = _example_rows()[0]
    path = _write(tmp_path / f"c{suffix}", [{**c0, column: value}])
    summary = ingest_file(store, path)
    assert (summary.read, summary.new, summary.quarantined) == (1, 0, 1)
    (rejected,) = summary.rejected
    assert rejected.field == column and reason in rejected.reason
    assert rejected.record_id == (f"{C0} v1" if record_id is None else record_id or None)
    assert _items(store) == {}
    with store.reading() as conn:  # the quarantine holds the record, escaped where need be
        raw = conn.execute(select(tables.quarantine.c.raw)).scalar_one()
    assert json.loads(raw)[0][column] == value


@pytest.mark.parametrize(
    ("column", "value"),
    [
        ("description", "Fresh\tmangoes"),
        ("declarant_address", "677 Harbour Road\r\nAntwerp"),
        ("declarant_name", "Delta\tFruit Co"),
        ("lodged_at", "1990-01-01T00:00:00Z"),
        ("version", "2147483647"),
        ("gross_mass_kg", "250000000"),
        ("value", "1e10"),
    ],
)
def test_values_at_the_edge_of_the_plausible_are_stored(
    store: Store, tmp_path: Path, column: str, value: str
) -> None:
    c0 = _example_rows()[0]
    summary = ingest_file(store, _write(tmp_path / "c.csv", [{**c0, column: value}]))
    assert (summary.new, summary.quarantined) == (1, 0), _problems(summary)


def test_an_event_of_year_one_is_quarantined(store: Store, tmp_path: Path) -> None:
    events = json.loads((EXAMPLES / "events.json").read_text(encoding="utf-8"))
    events[0]["eventDateTime"] = "0001-01-01T00:00:00Z"
    events[1]["eventCreatedDateTime"] = "9999-01-01T00:00:00Z"
    path = tmp_path / "events.json"
    path.write_text(json.dumps(events), encoding="utf-8")
    summary = ingest_file(store, path)
    assert summary.quarantined == 2 and summary.new == len(events) - 2
    assert [r.field for r in summary.rejected] == ["event_time", "created_time"]


def test_an_outcome_recovering_1e308_is_quarantined(store: Store, tmp_path: Path) -> None:
    ingest_file(store, EXAMPLES / "consignments.csv")
    with (EXAMPLES / "outcomes.csv").open(newline="", encoding="utf-8") as file:
        outcome = next(r for r in csv.DictReader(file) if r["result"] == "SEIZURE")
    path = _write(tmp_path / "o.csv", [{**outcome, "revenue_recovered_eur": "1e308"}])
    summary = ingest_file(store, path)
    assert summary.quarantined == 1 and summary.rejected[0].field == "revenue_recovered_eur"


# --- the plausible ranges are settings ------------------------------------------------------


def test_the_plausible_ranges_come_from_the_settings(
    store: Store, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("QUAYWATCH_MAX_ITEM_MASS_KG", "1000")
    monkeypatch.setenv("QUAYWATCH_EARLIEST_DATE", "2000-01-01")
    monkeypatch.setenv("QUAYWATCH_MAX_FIELD_CHARS", "300")
    options = read_intake_options(load_settings())  # one value: the ranges and the limits
    plausible = options.plausible
    assert plausible == Plausible(earliest_date=plausible.earliest_date, max_item_mass_kg=1000)
    assert str(plausible.earliest_date) == "2000-01-01"
    assert options.limits == Limits(max_field_chars=300)
    c0 = _example_rows()[0]  # 22,477.1 kg
    summary = ingest_file(store, _write(tmp_path / "c.csv", [c0]), options=options)
    assert summary.rejected[0].problems == [
        ("gross_mass_kg", "is above 1,000 kg, the most accepted")
    ]


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("MAX_ITEM_MASS_KG", "0"),
        ("MAX_ITEM_MASS_KG", "inf"),
        ("MAX_VALUE_EUR", "NaN"),
        ("MAX_SEIZURE_QUANTITY", "-1"),
        ("YEARS_AHEAD", "-1"),
        ("EARLIEST_DATE", "2999-01-01"),
        ("EARLIEST_DATE", "yesterday"),
    ],
)
def test_an_unusable_plausible_range_names_its_variable(
    monkeypatch: pytest.MonkeyPatch, name: str, value: str
) -> None:
    monkeypatch.setenv(f"QUAYWATCH_{name}", value)
    with pytest.raises(ConfigurationError, match=f"QUAYWATCH_{name}:"):
        load_settings()


# --- stores of before the length-prefixed encoding ------------------------------------------

#: Content hashes quaywatch computed for examples/ before the length-prefixed encoding (fields
#: joined with U+001F), as an existing store holds them.
_OLD_HASHES = {
    tables.consignments: {
        (C0, 1): "2d08e3de6d79ea5b5d920c4dc214846a7f89b91fc8143c0f33bcb8b1e004e4bb",
        (C1, 1): "4b78be6d4a77c82d5fb72cbec429a02784a1188af2280e7db1b843ccbe2f250d",
        (C2, 1): "76c035aaad0b7c242ab85d7127b15256ac39bdb347da81f0995af65303c6672d",
    },
    tables.events: {
        ("ARRI-BEANR-1",): "9e77ebd88dcf53da1267e00e2c400b86adbcb452901dd286b187318568130692",
    },
    tables.control_outcomes: {
        ("ANR-2026-000101",): "489fa4b60d544d331e957d2afb0e769a432064c323f11843b522d2da91cf79d0",
        ("ANR-2026-000102",): "b84cecfb773b0ca5c733e10d262636157d5f914d61799444b2d161001bb7d2b2",
    },
}


def _age(store: Store) -> None:
    """Put the hashes of before the encoding in place of the stored ones."""
    with store.transaction() as conn:
        for table, hashes in _OLD_HASHES.items():
            keys = [c for c in table.primary_key.columns]
            for key, digest in hashes.items():
                where = [column == value for column, value in zip(keys, key, strict=True)]
                stored = conn.execute(select(table.c.content_sha256).where(*where)).scalar_one()
                assert stored != digest  # the encoding did change
                conn.execute(update(table).where(*where).values(content_sha256=digest))


def test_a_store_hashed_the_old_way_finds_the_same_files_unchanged(
    store: Store, tmp_path: Path
) -> None:
    files = [EXAMPLES / name for name in ("consignments.csv", "events.json", "outcomes.csv")]
    first = [ingest_file(store, path) for path in files]
    _age(store)
    again = [ingest_file(store, path) for path in files]
    assert [(s.new, s.unchanged, s.quarantined) for s in again] == [
        (0, s.new, s.quarantined) for s in first
    ]
    # In another format too (the hash is over the normalised fields).
    assert ingest_file(store, _write(tmp_path / "c.parquet", _example_rows())).unchanged == 3
    # A record changed since is still a conflict.
    c0 = _example_rows()[0]
    changed = ingest_file(store, _write(tmp_path / "c.csv", [{**c0, "value": "39192.33"}]))
    assert (changed.unchanged, changed.quarantined) == (0, 1)
    assert changed.rejected[0].field == "version"


# --- the encoding is injective ---------------------------------------------------------------

_VALUES = st.one_of(st.none(), st.text(max_size=6), st.sampled_from(["", "~", "1:", "\x1f", "0:"]))


@settings(max_examples=300, deadline=None)
@given(st.integers(1, 4).flatmap(lambda n: st.tuples(*[st.lists(_VALUES, min_size=n,
                                                                max_size=n)] * 2)))  # fmt: skip
def test_different_tuples_never_encode_or_hash_alike(pair: tuple[list[str | None], ...]) -> None:
    a, b = pair
    assume(a != b)
    names = [f"c{i}" for i in range(len(a))]
    frame = pl.DataFrame([a, b], schema=dict.fromkeys(names, pl.String), orient="row")
    texts = frame.select(f.encoded(names)).to_series()
    assert texts[0] != texts[1]
    hashed = f.content_hashes(
        frame.with_columns(pl.int_range(2).alias("_run"), pl.lit("k").alias("_key")), names, []
    )["content_sha256"]
    assert hashed[0] != hashed[1]


_ROW = st.tuples(st.integers(1, 3), _VALUES, _VALUES)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.lists(_ROW, min_size=1, max_size=3, unique_by=lambda r: r[0]), min_size=2,
                max_size=2))  # fmt: skip
def test_different_consignments_never_hash_alike(records: list[list[tuple]]) -> None:
    """Records of several rows: rows differ, or a row moves from one record to the other."""
    first, second = (sorted(rows, key=lambda r: r[0]) for rows in records)
    assume(first != second)
    rows = [(run, *row) for run, record in enumerate((first, second)) for row in record]
    frame = pl.DataFrame(
        {name: [None] * len(rows) for name in consignments.COLUMNS},
        schema=dict.fromkeys(consignments.COLUMNS, pl.String),
    ).with_columns(
        pl.Series("_run", [r[0] for r in rows]),
        pl.lit("k").alias("_key"),
        pl.Series("item_sequence", [r[1] for r in rows]),
        pl.Series("vessel_name", [r[2] for r in rows], pl.String),
        pl.Series("voyage", [r[3] for r in rows], pl.String),
    )
    hashed = consignments.content_hashes(frame).sort("_run")["content_sha256"]
    assert hashed[0] != hashed[1]


@pytest.mark.parametrize(("first", "second"), [("1", "01"), ("", "1"), (" 2", "0002")])
def test_a_version_written_two_ways_is_one_consignment(
    store: Store, tmp_path: Path, first: str, second: str
) -> None:
    """Rows whose version reads as the same number are one record: never a consignment
    stored with some of its goods items and the rest refused as a conflict."""
    rows = [r for r in _example_rows() if r["consignment_id"] == C0][:1]
    two = [{**rows[0], "version": first}, {**rows[0], "version": second, "item_sequence": "2"}]
    summary = ingest_file(store, _write(tmp_path / "c.csv", two))
    assert (summary.read, summary.new, summary.quarantined) == (1, 1, 0), _problems(summary)
    (items,) = _items(store).values()
    assert len(items) == 2


@pytest.mark.parametrize("seals", [" | ", "|CAR:KLP:SL1", "CAR:KLP:SL1||SHI:WIR:SL2"])
def test_an_empty_seal_entry_is_quarantined_not_a_refused_file(
    store: Store, tmp_path: Path, seals: str
) -> None:
    """Found by the fuzz suite: an empty entry among the seals passed the check, then the
    store refused the whole file for a seal without a number."""
    rows = [r for r in _example_rows() if r["consignment_id"] == C0][:1]
    summary = ingest_file(store, _write(tmp_path / "c.csv", [{**rows[0], "seals": seals}]))
    assert (summary.new, summary.quarantined) == (0, 1)
    assert summary.rejected[0].field == "seals"


def test_a_seal_number_given_twice_with_another_source_is_quarantined(
    store: Store, tmp_path: Path
) -> None:
    """Review finding: the store keeps a seal once by its number, so the second of
    ``SHI:KLP:SL1|CAR:BLT:SL1`` was dropped without a word; an exact repeat is one seal."""
    rows = [r for r in _example_rows() if r["consignment_id"] == C0][:1]
    clash = {**rows[0], "seals": "SHI:KLP:SL1|CAR:BLT:SL1"}
    summary = ingest_file(store, _write(tmp_path / "c.csv", [clash]))
    assert (summary.new, summary.quarantined) == (0, 1)
    assert summary.rejected[0].field == "seals"
    assert "given twice" in summary.rejected[0].reason
    repeat = {**rows[0], "seals": "SHI:KLP:SL1|SHI:KLP:SL1"}
    summary = ingest_file(store, _write(tmp_path / "d.csv", [repeat]))
    assert (summary.new, summary.quarantined) == (1, 0), _problems(summary)
