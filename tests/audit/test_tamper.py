"""Tamper evidence over the stored data (audit.rows, audit.full, services.audit), on both stores.

A store filled from the example files (consignments with goods items, containers and seals,
parties, events, outcomes, quarantined records) is changed behind quaywatch's back, one way at
a time, through plain SQL as an attacker with write access would: ``verify_audit(full=True)``
names the table and row, the chain alone still verifies, and a re-import of the original file
does not call the changed record unchanged.
"""

from __future__ import annotations

import csv
import io
import json
import re
from pathlib import Path

import pytest
from sqlalchemy import text

from quaywatch.errors import TamperedError
from quaywatch.intake.pipeline import ingest_file
from quaywatch.intake.quarantine import retry as retry_quarantine
from quaywatch.services import audit
from quaywatch.store.store import Store

EXAMPLES = Path(__file__).parents[2] / "examples"
C0 = "261102-BEANR-0000000"
C1 = "261102-BEANR-0000001"


@pytest.fixture
def filled(store: Store) -> Store:
    for name in ("consignments.csv", "consignments.jsonl", "events.json", "outcomes.csv"):
        ingest_file(store, EXAMPLES / name)
    return store


def sql(store: Store, statement: str, **params: object) -> None:
    with store.engine.begin() as conn:
        conn.execute(text(statement), params)


def one(store: Store, statement: str, **params: object) -> object:
    with store.engine.connect() as conn:
        return conn.execute(text(statement), params).scalar_one()


def test_an_untouched_store_verifies_in_full(filled: Store) -> None:
    result = audit.verify_audit(filled, full=True)
    assert result.rows is not None
    counted = sum(
        int(str(one(filled, f"SELECT count(*) FROM {t}")))
        for t in ("import_batches", "parties", "consignments", "goods_items", "containers",
                  "seals", "events", "event_seals", "control_outcomes", "quarantine")
    )  # fmt: skip
    assert result.rows.rows == counted and result.rows.legacy_rows == 0
    assert result.rows.groups == 4  # one audited write per import
    assert audit.verify_audit(filled).rows is None  # plain verify: the chain only


TAMPERING = [
    pytest.param(
        f"UPDATE goods_items SET value = value * 10 WHERE consignment_id = '{C0}'",
        rf'goods_items \["{C0}",1,1\]: changed',
        id="declared-value",
    ),
    pytest.param(
        f"DELETE FROM containers WHERE consignment_id = '{C1}'",
        rf'containers \["{C1}",1,"\w+"\]: missing',
        id="delete-container",
    ),
    pytest.param(
        "INSERT INTO goods_items SELECT consignment_id, version, 99, hs6, description, packages, "
        "package_type, gross_mass_kg, value, currency, origin_country, container_number "
        f"FROM goods_items WHERE consignment_id = '{C0}'",
        rf'goods_items \["{C0}",1,99\]: added',
        id="insert-goods-item",
    ),
    pytest.param(
        "UPDATE consignments SET vessel_name = 'GHOST' WHERE consignment_id = '{C0}'".replace(
            "{C0}", C0
        ),
        rf'consignments \["{C0}",1\]: changed',
        id="consignment",
    ),
    pytest.param(
        "UPDATE control_outcomes SET result = 'COMPLIANT' WHERE control_id = 'ANR-2026-000101'",
        r'control_outcomes \["ANR-2026-000101"\]: changed',
        id="outcome",
    ),
    pytest.param(
        "UPDATE import_batches SET records_new = records_new + 1",
        r"import_batches \[\"[0-9a-f-]{36}\"\]: changed",
        id="import-batch",
    ),
    pytest.param(
        "UPDATE quarantine SET raw = 'nothing to see' WHERE quarantine_id = "
        "(SELECT min(quarantine_id) FROM quarantine)",
        r"quarantine \[\d+\]: changed",
        id="quarantine-raw",
    ),
    pytest.param(
        "UPDATE quarantine SET status = 'resolved'",
        r"quarantine \[\d+\]: changed",
        id="quarantine-status",
    ),
    pytest.param(
        "UPDATE events SET event_code = 'DISC' WHERE event_id = (SELECT min(event_id) FROM events)",
        r'events \["[^"]+"\]: changed',
        id="event",
    ),
    pytest.param(
        "UPDATE parties SET name = 'Someone Else' WHERE party_key = "
        "(SELECT min(party_key) FROM parties)",
        r'parties \["[0-9a-f]+"\]: changed',
        id="party",
    ),
    pytest.param(
        "INSERT INTO import_batches SELECT 'ffffffff-ffff-ffff-ffff-ffffffffffff', source, "
        "source_sha256, kind, actor, started_at, finished_at, records_read, records_new, "
        "records_unchanged, records_quarantined, reference_version FROM import_batches WHERE batch_id = "
        "(SELECT min(batch_id) FROM import_batches)",
        r'import_batches \["ffffffff-ffff-ffff-ffff-ffffffffffff"\]: added',
        id="extra-batch",
    ),
]


@pytest.mark.parametrize(("statement", "named"), TAMPERING)
def test_each_tampering_is_named_by_a_full_verify(
    filled: Store, statement: str, named: str
) -> None:
    sql(filled, statement)
    audit.verify_audit(filled)  # the chain alone does not see it
    with pytest.raises(TamperedError, match=named) as caught:
        audit.verify_audit(filled, full=True)
    assert "the chain itself verifies" in caught.value.message


def test_changing_a_row_and_its_kept_hash_is_caught_by_the_bound_root(filled: Store) -> None:
    sql(filled, f"UPDATE goods_items SET value = 1 WHERE consignment_id = '{C0}'")
    sql(filled, f"DELETE FROM record_hashes WHERE row_key LIKE '[\"{C0}\",1,%'")
    with pytest.raises(TamperedError, match="kept row hashes no longer give the root"):
        audit.verify_audit(filled, full=True)


@pytest.mark.parametrize(
    ("statement", "what"),
    [
        (f"UPDATE goods_items SET value = value + 1 WHERE consignment_id = '{C0}'",
         rf'goods_items row \["{C0}",1,1\] was changed'),
        (f"DELETE FROM seals WHERE consignment_id = '{C0}'", r"seals row .* is missing"),
        ("INSERT INTO goods_items SELECT consignment_id, version, 99, hs6, description, packages, "
         "package_type, gross_mass_kg, value, currency, origin_country, container_number "
         f"FROM goods_items WHERE consignment_id = '{C0}'",
         rf'goods_items row \["{C0}",1,99\] was added'),
    ],
)  # fmt: skip
def test_a_reimport_does_not_call_a_tampered_record_unchanged(
    filled: Store, statement: str, what: str
) -> None:
    again = ingest_file(filled, EXAMPLES / "consignments.csv")
    assert (again.unchanged, again.quarantined) == (3, 1)
    sql(filled, statement)
    summary = ingest_file(filled, EXAMPLES / "consignments.csv")
    assert (summary.unchanged, summary.quarantined) == (2, 2)
    assert summary.balanced
    refused = [r for r in summary.rejected if r.record_id and C0 in r.record_id]
    assert len(refused) == 1
    assert refused[0].reason.startswith("stored data differs from its audited hash")
    assert re.search(what, refused[0].reason)


@pytest.mark.parametrize(
    ("role", "change", "what"),
    [
        ("consignor_key", "name = 'SOMEONE ELSE'", r'parties row \["[0-9a-f]{32}"\] was changed'),
        ("consignee_key", "aeo = 'AEOF'", r"parties row .* was changed"),
        ("declarant_key", "phone = NULL, email = 'x@example.org'", r"parties row .* was changed"),
    ],
)  # fmt: skip
def test_a_reimport_compares_the_parties_its_records_share(
    filled: Store, role: str, change: str, what: str
) -> None:
    """Parties are stored once and pointed at by every consignment naming them: one edited
    behind quaywatch's back makes each consignment naming it differ on re-import, and no
    other."""
    key = one(filled, f"SELECT min({role}) FROM consignments WHERE consignment_id = '{C0}'")
    naming = {
        str(row[0])
        for row in _rows(
            filled,
            "SELECT DISTINCT consignment_id FROM consignments WHERE :k IN "
            "(declarant_key, consignor_key, consignee_key, notify_party_key)",
            k=key,
        )
    }
    assert C0 in naming
    sql(filled, f"UPDATE parties SET {change} WHERE party_key = :k", k=key)
    summary = ingest_file(filled, EXAMPLES / "consignments.csv")
    assert summary.balanced and summary.unchanged == 3 - len(naming)
    refused = {
        r.record_id: r.reason
        for r in summary.rejected
        if r.reason.startswith("stored data differs from its audited hash")
    }
    assert {str(k).split(" ")[0] for k in refused} == naming
    assert all(re.search(what, reason) for reason in refused.values())
    with pytest.raises(TamperedError, match="parties"):
        audit.verify_audit(filled, full=True)


def _rows(store: Store, statement: str, **params: object) -> list[tuple[object, ...]]:
    with store.engine.connect() as conn:
        return [tuple(r) for r in conn.execute(text(statement), params)]


def test_a_tampered_outcome_and_event_are_not_unchanged_on_reimport(filled: Store) -> None:
    sql(filled, "UPDATE control_outcomes SET revenue_recovered_eur = 5 "
                "WHERE control_id = 'ANR-2026-000101'")  # fmt: skip
    sql(filled, "UPDATE events SET un_locode = 'NLRTM' WHERE event_id = "
                "(SELECT min(event_id) FROM events)")  # fmt: skip
    outcomes = ingest_file(filled, EXAMPLES / "outcomes.csv")
    events = ingest_file(filled, EXAMPLES / "events.json")
    assert any("stored data differs" in r.reason for r in outcomes.rejected)
    assert [r.reason.startswith("stored data differs from its audited hash (events row")
            for r in events.rejected] == [True]  # fmt: skip
    assert events.unchanged == 10


def test_quarantine_rows_change_legitimately_through_audited_writes(filled: Store) -> None:
    open_id = int(str(one(filled, "SELECT min(quarantine_id) FROM quarantine WHERE kind = "
                                  "'consignments' AND status = 'open'")))  # fmt: skip
    raw = str(one(filled, "SELECT raw FROM quarantine WHERE quarantine_id = :i", i=open_id))
    rows = json.loads(raw)
    still_bad = json.dumps([{**rows[0], "hs6": "12"}])
    retried = retry_quarantine(filled, open_id, record=still_bad, actor="ana")
    assert not retried.stored
    audit.verify_audit(filled, full=True)  # the edited raw text is bound by the retry
    fixed = [{**row, "container_number": "MAEU2627091"} for row in rows]
    assert retry_quarantine(filled, open_id, record=json.dumps(fixed), actor="ana").stored
    assert one(filled, "SELECT status FROM quarantine WHERE quarantine_id = :i", i=open_id) == (
        "resolved"
    )
    audit.verify_audit(filled, full=True)
    sql(filled, "UPDATE quarantine SET reason = 'fine' WHERE quarantine_id = :i", i=open_id)
    with pytest.raises(TamperedError, match=rf"quarantine \[{open_id}\]: changed"):
        audit.verify_audit(filled, full=True)


@pytest.mark.parametrize(
    ("value", "mass", "lodged"),
    [
        ("0.1", "0.3333333333333333", "2026-09-29T10:00:00.123456+02:00"),
        ("123456789.12345679", "1e-7", "2026-09-29T23:59:59.999999-11:00"),
        ("2.5e9", "7", "2026-09-29T00:00:00Z"),
    ],
)
def test_awkward_floats_and_times_hash_alike_when_read_back(
    store: Store, tmp_path: Path, value: str, mass: str, lodged: str
) -> None:
    lines = (EXAMPLES / "consignments.csv").read_text().splitlines()
    names = lines[0].split(",")
    first = next(csv.reader([lines[1]]))
    first[names.index("value")], first[names.index("gross_mass_kg")] = value, mass
    first[names.index("lodged_at")] = lodged
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerows([names, first])
    (tmp_path / "awkward.csv").write_text(out.getvalue())
    summary = ingest_file(store, tmp_path / "awkward.csv")
    assert summary.new == 1, summary.rejected
    assert audit.verify_audit(store, full=True).rows is not None
    assert ingest_file(store, tmp_path / "awkward.csv").unchanged == 1


# --- what review found: false alarms, long keys, a snapshot ---------------------------------


def test_a_record_twice_in_one_file_is_unchanged_not_tampered(store: Store, tmp_path: Path) -> None:
    """A feed that sends a record twice in one file: the copy is unchanged by its content hash
    (its first copy is not stored yet when the chunk is compared), never a tamper alarm."""
    for name in ("consignments.jsonl", "events.jsonl"):
        line = (EXAMPLES / name).read_text().splitlines()[0]
        path = tmp_path / f"twice-{name}"
        path.write_text(f"{line}\n{line}\n")
        summary = ingest_file(store, path)
        assert (summary.new, summary.unchanged, summary.quarantined) == (1, 1, 0), summary.rejected
    assert audit.verify_audit(store, full=True).rows is not None


def test_a_long_key_in_any_script_is_bound_on_both_stores(store: Store, tmp_path: Path) -> None:
    """Keys are kept as canonical JSON (non-ASCII escaped, six characters each): a hundred
    Greek letters in an event id must not make one store refuse the file."""
    event = json.loads((EXAMPLES / "events.jsonl").read_text().splitlines()[0])
    event["eventID"] = "Ω" * 100
    path = tmp_path / "long.jsonl"
    path.write_text(json.dumps(event, ensure_ascii=False) + "\n")
    summary = ingest_file(store, path)
    assert (summary.new, summary.quarantined) == (1, 0), summary.rejected
    assert audit.verify_audit(store, full=True).rows is not None


def test_a_read_is_one_snapshot_while_an_import_commits(store: Store) -> None:
    """``audit verify --full`` reads events, head and rows in one transaction: an import that
    commits meanwhile is not seen half-way (SQLite WAL; PostgreSQL REPEATABLE READ)."""
    ingest_file(store, EXAMPLES / "consignments.csv")
    with store.reading() as conn:
        before = conn.execute(text("SELECT count(*) FROM audit_events")).scalar_one()
        ingest_file(store, EXAMPLES / "events.json")  # another connection, committed
        after = conn.execute(text("SELECT count(*) FROM audit_events")).scalar_one()
        rows = conn.execute(text("SELECT count(*) FROM events")).scalar_one()
    assert (after, rows) == (before, 0)
    assert int(str(one(store, "SELECT count(*) FROM audit_events"))) == before + 1
