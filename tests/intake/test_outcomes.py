"""Control outcomes through intake: formats, checks, the link to a stored consignment, repeats."""

from __future__ import annotations

import json
import math
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import polars as pl
import pytest
from hypothesis import given, settings, strategies as st
from sqlalchemy import select

from quaywatch.intake import outcomes, quarantine
from quaywatch.intake.pipeline import ingest_file
from quaywatch.intake.records import RecordKind
from quaywatch.store import tables
from quaywatch.store.store import Store

EXAMPLES = Path(__file__).parents[2] / "examples"
GOOD = {
    "control_id": "ANR-1", "consignment_id": "261102-BEANR-0000000", "version": "1",
    "container_number": "maeu 262709 1", "control_type": "physical", "selected_by": "RULE",
    "propensity": "0.25", "controlled_at": "2026-11-03T09:00:00+01:00",
    "known_at": "2026-11-05T09:00:00Z", "result": "COMPLIANT",
}  # fmt: skip
SEIZURE = {"result": "SEIZURE", "irregularity": "DRUGS", "seizure_goods": "Cocaine",
           "seizure_quantity": "41.8", "seizure_unit": "KGM", "seizure_hs6": "293972",
           "concealment": "RIP_ON_RIP_OFF"}  # fmt: skip


def _write(path: Path, rows: list[dict[str, str]]) -> Path:
    frame = pl.DataFrame(rows, schema=dict.fromkeys(outcomes.COLUMNS, pl.String))
    if path.suffix == ".csv":
        frame.write_csv(path)
    elif path.suffix == ".parquet":
        frame.write_parquet(path)
    else:
        path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


@pytest.fixture
def stocked(store: Store) -> Store:
    """A store holding the example consignments 261102-BEANR-0000000 to -0000002 (version 1)."""
    assert ingest_file(store, EXAMPLES / "consignments.csv").new == 3
    return store


def test_every_format_gives_the_same_typed_records(stocked: Store, tmp_path: Path) -> None:
    rows = [
        GOOD,
        GOOD | SEIZURE | {"control_id": "ANR-2", "selected_by": "random"},
        GOOD | {"control_id": "ANR-3", "consignment_id": "261102-BEANR-0000002", "result": "irregular",
                "irregularity": "VALUE", "revenue_recovered_eur": "1840.5", "container_number": ""},
    ]  # fmt: skip
    first = ingest_file(stocked, _write(tmp_path / "o.csv", rows))
    assert first.kind is RecordKind.OUTCOMES
    assert (first.read, first.new, first.quarantined) == (3, 3, 0), first.rejected[:1]
    for name in ("o.jsonl", "o.parquet"):
        again = ingest_file(stocked, _write(tmp_path / name, rows))
        assert again.kind is RecordKind.OUTCOMES
        assert (again.read, again.new, again.unchanged) == (3, 0, 3), (name, again.rejected[:1])
    t = tables.control_outcomes
    with stocked.reading() as conn:
        stored = {r.control_id: r for r in conn.execute(select(t))}
    assert set(stored) == {"ANR-1", "ANR-2", "ANR-3"}
    one = stored["ANR-1"]
    assert (one.control_type, one.selected_by, one.container_number) == (
        "PHYSICAL",
        "RULE",
        "MAEU2627091",
    )
    assert one.controlled_at == datetime(2026, 11, 3, 8, tzinfo=UTC) and one.propensity == 0.25
    assert one.revenue_recovered_eur == 0 and one.seizure_goods is None
    two = stored["ANR-2"]
    assert (two.selected_by, two.seizure_quantity, two.concealment) == (
        "RANDOM",
        41.8,
        "RIP_ON_RIP_OFF",
    )
    assert stored["ANR-3"].revenue_recovered_eur == 1840.5 and stored["ANR-3"].result == "IRREGULAR"


# (changes to GOOD, field quarantined, words of the reason)
BAD = [
    ({"propensity": "0"}, "propensity", "must be above 0"),
    ({"propensity": "1.5"}, "propensity", "must be at most 1"),
    ({"propensity": ""}, "propensity", "missing"),
    ({"control_type": "XRAY"}, "control_type", "is not one of DOCUMENTARY, PHYSICAL, SCAN"),
    ({"selected_by": "luck"}, "selected_by", "is not one of"),
    ({"known_at": "2026-11-03T07:59:59Z"}, "known_at", "is before controlled_at"),
    ({"controlled_at": "2026-11-03 09:00"}, "controlled_at", "ISO 8601"),
    ({"result": "IRREGULAR"}, "irregularity", "missing: an IRREGULAR or SEIZURE"),
    ({"irregularity": "VALUE"}, "irregularity", "given on a COMPLIANT result"),
    ({"revenue_recovered_eur": "-5"}, "revenue_recovered_eur", "must be at least 0"),
    ({"revenue_recovered_eur": "12"}, "revenue_recovered_eur", "recovers no revenue"),
    ({"result": "SEIZURE", "irregularity": "DRUGS"}, "seizure_goods", "missing: a SEIZURE"),
    ({"seizure_goods": "Cocaine"}, "result", "the result is not SEIZURE"),
    (SEIZURE | {"seizure_hs6": "999999"}, "seizure_hs6", "HS"),
    (SEIZURE | {"seizure_unit": "LBS"}, "seizure_unit", "is not one of KGM, MTQ, NAR"),
    (SEIZURE | {"seizure_quantity": "0"}, "seizure_quantity", "must be above 0"),
    (SEIZURE | {"concealment": "IN_A_SHOE"}, "concealment", "is not one of"),
    ({"container_number": "MAEU2627092"}, "container_number", "check digit"),
    ({"control_id": ""}, "control_id", "missing"),
    ({"version": "0"}, "version", "must be at least 1"),
]


def test_each_check_quarantines_with_field_and_reason(stocked: Store, tmp_path: Path) -> None:
    rows = [GOOD | change | {"control_id": change.get("control_id", f"BAD-{i}")}
            for i, (change, _, _) in enumerate(BAD)]  # fmt: skip
    summary = ingest_file(stocked, _write(tmp_path / "bad.csv", [GOOD, *rows]))
    assert (summary.read, summary.new, summary.quarantined) == (len(BAD) + 1, 1, len(BAD))
    by_line = {r.location: r for r in summary.rejected}
    for i, (_, field, words) in enumerate(BAD):
        rejected = by_line[f"line {i + 3}"]
        assert (field, True) in [(f, words in reason) for f, reason in rejected.problems], (
            field, rejected.problems,
        )  # fmt: skip


def test_outcome_of_an_unknown_consignment_waits_in_quarantine(
    stocked: Store, tmp_path: Path
) -> None:
    path = _write(tmp_path / "o.csv", [GOOD | {"version": "2"}, GOOD | {"control_id": "ANR-9"}])
    first = ingest_file(stocked, path)
    assert (first.new, first.quarantined) == (1, 1)
    (orphan,) = first.rejected
    assert (orphan.location, orphan.record_id, orphan.field) == (
        "line 2",
        "ANR-1",
        "consignment_id",
    )
    assert orphan.reason == (
        "unknown consignment 261102-BEANR-0000000 v2 (import the consignment first)"
    )
    ingest_file(stocked, EXAMPLES / "consignments.jsonl")  # brings version 2
    second = ingest_file(stocked, path)
    assert (second.new, second.unchanged, second.quarantined, second.resolved) == (1, 1, 0, 1)


def test_a_changed_outcome_under_a_stored_control_id_is_quarantined(
    stocked: Store, tmp_path: Path
) -> None:
    ingest_file(stocked, _write(tmp_path / "a.csv", [GOOD]))
    changed = GOOD | {"result": "IRREGULAR", "irregularity": "DOCUMENTS"}
    summary = ingest_file(stocked, _write(tmp_path / "b.csv", [changed]))
    assert (summary.new, summary.quarantined) == (0, 1)
    assert summary.rejected[0].field == "control_id"
    assert "already stored with a different outcome" in summary.rejected[0].reason
    with stocked.reading() as conn:
        assert conn.execute(select(tables.control_outcomes.c.result)).scalars().all() == [
            "COMPLIANT"
        ]


def _checked(**changes: str | None) -> list[tuple[str, str]]:
    """The problems ``outcomes.validate`` finds on one raw row (GOOD with ``changes``)."""
    row = dict.fromkeys(outcomes.COLUMNS) | GOOD | changes
    frame = pl.DataFrame([row], schema=dict.fromkeys(outcomes.COLUMNS, pl.String))
    checked = outcomes.validate(
        frame.with_columns(pl.lit(1).alias("_loc"), pl.lit(0).alias("_run"))
    )
    text = checked["_problems"][0]
    return (
        []
        if text is None
        else [(f, r) for f, _, r in (p.partition("\x1f") for p in text.split("\x1e"))]
    )


@settings(max_examples=60, deadline=None)
@given(
    st.one_of(
        st.floats(allow_nan=True, allow_infinity=True), st.sampled_from([0.0, 1.0, -0.0, 5e-324])
    )
)
def test_propensity_is_accepted_exactly_in_the_open_closed_unit_interval(value: float) -> None:
    problems = [p for p in _checked(propensity=repr(value)) if p[0] == "propensity"]
    valid = math.isfinite(value) and 0.0 < value <= 1.0
    assert (problems == []) is valid, (value, problems)


@settings(max_examples=60, deadline=None)
@given(
    st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2026, 1, 1)),  # plausible
    st.timedeltas(min_value=timedelta(days=-30), max_value=timedelta(days=30)),
    st.integers(-12, 12),
)
def test_known_at_may_not_precede_controlled_at_in_any_time_zone(
    when: datetime, delay: timedelta, hours: int
) -> None:
    controlled = when.replace(microsecond=0, tzinfo=UTC)
    known = (controlled + delay).replace(microsecond=0)
    shifted = known.astimezone(timezone(timedelta(hours=hours)))
    problems = [p for p in _checked(controlled_at=controlled.isoformat(), known_at=shifted.isoformat())
                if p[0] == "known_at"]  # fmt: skip
    assert (problems != []) is (known < controlled)


def test_retry_stores_a_quarantined_outcome_once_its_consignment_is_there(
    stocked: Store, tmp_path: Path
) -> None:
    first = ingest_file(stocked, _write(tmp_path / "o.csv", [GOOD | {"version": "2"}]))
    assert first.quarantined == 1
    (entry,) = [e for e in quarantine.list_entries(stocked) if e.kind == "outcomes"]
    assert entry.field == "consignment_id"
    assert not quarantine.retry(stocked, entry.quarantine_id).stored
    ingest_file(stocked, EXAMPLES / "consignments.jsonl")
    assert quarantine.retry(stocked, entry.quarantine_id).stored
    with stocked.reading() as conn:
        assert conn.execute(select(tables.control_outcomes.c.version)).scalars().all() == [2]
