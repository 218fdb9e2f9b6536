"""CUSCAR interchanges (UN/EDIFACT) imported as docs/formats.md describes them.

``examples/cuscar.edi`` and ``examples/cuscar-twin.csv`` hold the same four consignments; each
is imported into a store of its own (both backends) and the stores are compared table by table.
"""

from __future__ import annotations

import json
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st
from sqlalchemy import select

from pg_support import pg_schema_url
from quaywatch.config import load_settings
from quaywatch.errors import ConfigurationError, InputError
from quaywatch.intake import edifact, formats, quarantine, readers
from quaywatch.intake.decode import Limits
from quaywatch.intake.options import IntakeOptions
from quaywatch.intake.pipeline import ingest_file
from quaywatch.store import tables
from quaywatch.store.store import Store

EXAMPLES = Path(__file__).parents[2] / "examples"
EDI = EXAMPLES / "cuscar.edi"
TWIN = EXAMPLES / "cuscar-twin.csv"
SAMPLE = EDI.read_bytes()
#: Columns that say when and by which import a row was stored, not what it holds.
_BOOKKEEPING = {"batch_id", "received_at", "first_seen_at", "last_seen_at"}


@pytest.fixture
def twin_store(store_url: str, tmp_path: Path) -> Iterator[Store]:
    """A second empty store on the same backend as ``store``."""
    if store_url.startswith("sqlite"):
        opened = Store.open(f"sqlite:///{tmp_path / 'twin.db'}")
        yield opened
        opened.close()
        return
    with pg_schema_url() as url:
        opened = Store.open(url)
        try:
            yield opened
        finally:
            opened.close()


def _snapshot(store: Store) -> dict[str, list[tuple[Any, ...]]]:
    """Every stored consignment, goods item, container, seal and party, by SQL."""
    found = {}
    with store.reading() as conn:
        for table in (tables.consignments, tables.goods_items, tables.containers, tables.seals,
                      tables.parties):  # fmt: skip
            columns = [c for c in table.c if c.name not in _BOOKKEEPING]
            rows = conn.execute(select(*columns)).all()
            found[table.name] = sorted(tuple(row) for row in rows)
    return found


def _edited(tmp_path: Path, *edits: tuple[str, str], name: str = "edited.edi") -> Path:
    text = SAMPLE.decode("latin-1")
    for old, new in edits:
        assert text.count(old) == 1, old
        text = text.replace(old, new)
    path = tmp_path / name
    path.write_bytes(text.encode("latin-1"))
    return path


def test_the_interchange_stores_the_same_consignments_as_its_csv_twin(
    store: Store, twin_store: Store
) -> None:
    from_edi = ingest_file(store, EDI)
    from_csv = ingest_file(twin_store, TWIN)
    assert (from_edi.read, from_edi.new, from_edi.quarantined) == (4, 4, 0), from_edi.rejected
    assert (from_csv.read, from_csv.new, from_csv.quarantined) == (4, 4, 0), from_csv.rejected
    edi, csv = _snapshot(store), _snapshot(twin_store)
    assert {name: len(rows) for name, rows in edi.items()} == {
        "consignments": 4, "goods_items": 6, "containers": 6, "seals": 7, "parties": 9,
    }  # fmt: skip
    assert edi == csv
    # The same declarations in either format: the CSV twin is unchanged where the EDI is stored.
    again = ingest_file(store, TWIN)
    assert (again.new, again.unchanged) == (0, 4)


def test_what_the_interchange_says_is_stored(store: Store) -> None:
    ingest_file(store, EDI)
    c, g, s = tables.consignments, tables.goods_items, tables.seals
    with store.reading() as conn:
        lodged, version, master = conn.execute(
            select(c.c.lodged_at, c.c.version, c.c.master_transport_document)
            .where(c.c.consignment_id.in_(["261102-BEANR-0001004", "261102-BEANR-0001002"]))
            .order_by(c.c.consignment_id)
        ).all()[1]
        masses = dict(conn.execute(select(g.c.hs6, g.c.gross_mass_kg)).all())
        seals = conn.execute(
            select(s.c.seal_number, s.c.source, s.c.type)
            .where(s.c.container_number == "COSU6123451")
            .order_by(s.c.seal_number)
        ).all()
        names = set(conn.execute(select(tables.parties.c.name)).scalars())
    assert (lodged.isoformat()[:19], version, master) == ("2026-10-30T07:30:00", 2, None)
    assert masses["851713"] == pytest.approx(14169.2)  # TNE 14.1692; PIA 85171300
    assert masses["870323"] == pytest.approx(3089.9)  # decimal comma
    assert [tuple(seal) for seal in seals] == [("CU0099881", "CUS", "WIR"),
                                               ("SL55500121", "CAR", "BLT")]  # fmt: skip
    assert {"O'Neill Forwarding NV", "Société Générale Import"} <= names  # ?' and Latin-1


def test_a_reimport_changes_nothing(store: Store) -> None:
    ingest_file(store, EDI)
    before = _snapshot(store)
    again = ingest_file(store, EDI)
    assert (again.read, again.new, again.unchanged, again.quarantined) == (4, 0, 4, 0)
    assert _snapshot(store) == before


@pytest.mark.parametrize(
    ("edits", "new", "location", "field", "reason", "record_id"),
    [
        (  # a fault in a CNI group: that consignment alone
            [("MEA+AAE+G+KGM:22477.1'", "MEA+AAE+G+KGM:22x77.1'")],
            3,
            "message 1",
            "segment 29 (MEA), element 3",
            "gross weight '22x77.1' is not a number",
            "261102-BEANR-0001001 v1",
        ),
        (  # a fault at message level: every consignment of the message
            [("UNT+54+2'", "UNT+53+2'")],
            2,
            "message 2",
            "segment 54 (UNT), element 1",
            "UNT counts 53 segments; the message has 54",
            None,
        ),
        (
            [("DTM+137:202610291000UTC:303'", "DTM+137:202610291000:203'")],
            2,
            "message 1",
            "segment 3 (DTM), element 1",
            "time '202610291000' (format 203) has no UTC offset: use format 205 "
            "(CCYYMMDDHHMM±HHMM) or 303/304 (CCYYMMDDHHMM[SS]UTC)",
            None,
        ),
        (
            [("SGP+COSU6123451+1959'", "SGP+COSU6123452+1959'")],
            3,
            "message 2",
            "segment 53 (SGP), element 1",
            "container 'COSU6123452' has no EQD in this message",
            "261102-BEANR-0001004 v2",
        ),
        (  # a segment pydifact refuses: its message alone
            [("FTX+AAA+++Sawn hardwood'", "F-X+AAA+++Sawn hardwood'")],
            2,
            "message 2",
            "segment 28 (F-X)",
            "Tag 'F-X': A tag name must only contain alphanumeric characters.",
            None,
        ),
        (  # mapped, then refused by quaywatch's checks like any other record
            [
                ("EQD+CN+MAEU2627091+", "EQD+CN+MAEU2627092+"),
                ("SGP+MAEU2627091+", "SGP+MAEU2627092+"),
            ],
            3,
            "message 1",
            "container_number",
            "ISO 6346 check digit does not match",
            "261102-BEANR-0001001 v1",
        ),
    ],
    ids=["item-value", "unt-count", "time-without-zone", "unknown-container", "bad-tag", "checks"],
)
def test_a_broken_message_is_quarantined_and_the_others_import(
    store: Store,
    tmp_path: Path,
    edits: list[tuple[str, str]],
    new: int,
    location: str,
    field: str,
    reason: str,
    record_id: str | None,
) -> None:
    summary = ingest_file(store, _edited(tmp_path, *edits))
    assert summary.new == new
    first = summary.rejected[0]
    assert (first.location, first.field, first.record_id) == (location, field, record_id)
    assert reason in first.reason
    entries = quarantine.list_entries(store)
    assert entries[-1].location == location
    assert reason in entries[-1].reason
    again = ingest_file(store, _edited(tmp_path, *edits, name="again.edi"))
    assert (again.new, again.unchanged) == (0, new)
    assert len(quarantine.list_entries(store)) == len(entries)  # quarantined once


def test_a_file_that_is_not_an_interchange_is_refused_once(store: Store, tmp_path: Path) -> None:
    path = tmp_path / "manifest.edi"
    path.write_bytes(TWIN.read_bytes())
    with pytest.raises(InputError, match="not a UN/EDIFACT interchange: it does not begin"):
        ingest_file(store, path)
    assert _snapshot(store)["consignments"] == []


@pytest.mark.parametrize(
    ("edits", "message"),
    [
        ([("UNZ+2+QW26110201'", "UNZ+3+QW26110201'")], "UNZ counts 3 messages; the file holds 2"),
        ([("UNZ+2+QW26110201'", "UNZ+2+QW9'")], "UNZ repeats control reference 'QW9'"),
        ([("UNZ+2+QW26110201'\n", "")], "the interchange ends without UNZ"),
        ([("UNB+UNOC:3", "UNB+UNOX:3")], "UNB names syntax identifier 'UNOX'"),
        ([("UNZ+2+QW26110201'", "UNZ+2+QW26110201'UNZ+2+QW26110201'")], "text follows UNZ"),
        ([("UNT+54+2'\n", "UNT+54+2'\nCNT+1:1'\n")], "segment CNT is outside any message"),
        ([("UNZ+2+QW26110201'\n", "UNZ+2+QW2611")], "Unexpected end of EDI messages"),
    ],
    ids=["unz-count", "unz-reference", "no-unz", "charset", "after-unz", "outside", "cut"],
)
def test_an_interchange_whose_envelope_is_broken_is_refused_whole(
    store: Store, tmp_path: Path, edits: list[tuple[str, str]], message: str
) -> None:
    with pytest.raises(InputError, match=message.replace("(", r"\(")):
        ingest_file(store, _edited(tmp_path, *edits))
    assert _snapshot(store)["consignments"] == []


def test_text_is_read_in_the_repertoire_unb_names(store: Store, tmp_path: Path) -> None:
    utf8 = tmp_path / "utf8.edi"
    utf8.write_bytes(SAMPLE.decode("latin-1").replace("UNOC", "UNOW").encode("utf-8"))
    assert ingest_file(store, utf8).new == 4
    ascii_only = _edited(tmp_path, ("UNB+UNOC:3", "UNB+UNOB:3"), name="ascii.edi")
    summary = ingest_file(store, ascii_only)
    # a byte the repertoire does not hold faults its message, both consignments of it
    assert (summary.unchanged, summary.quarantined) == (2, 1)
    assert summary.rejected[0].field == "segment 44 (NAD), element 4"
    assert summary.rejected[0].reason == (
        "byte 0xE9 is not of character repertoire UNOB (ascii) that UNB names"
    )
    assert "Soci\\xe9t\\xe9" in json.loads(summary.rejected[0].raw)  # kept, never as U+FFFD


def test_an_interchange_is_told_by_its_content(store: Store, tmp_path: Path) -> None:
    path = tmp_path / "manifest.txt"
    path.write_bytes(b"\xef\xbb\xbf" + SAMPLE)
    assert readers.open_file(path, kind=None, batch_size=10).fmt == "edifact"
    assert ingest_file(store, path).new == 4
    with pytest.raises(InputError, match="read as CUSCAR cargo reports"):
        readers.open_file(EDI, kind=readers.RecordKind.EVENTS, batch_size=10)


@settings(max_examples=25, deadline=None)
@given(
    blanks=st.text(alphabet=" \t\r\n", min_size=1, max_size=40),
    bom=st.booleans(),
    name=st.sampled_from(["manifest.txt", "manifest.dat", "manifest", "CUSCAR.EDI", "x.msg"]),
    una=st.booleans(),
)
def test_an_interchange_after_blanks_is_told_by_its_content_and_read_whole(
    blanks: str, bom: bool, name: str, una: bool
) -> None:
    """Blanks and line ends before UNA or UNB (as some systems write) do not hide an
    interchange, whatever the file's extension; it is read as the example is, message for
    message."""
    body = SAMPLE if una else SAMPLE[SAMPLE.index(b"UNB") :]
    assert body.startswith(b"UNA" if una else b"UNB")
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / name
        path.write_bytes((b"\xef\xbb\xbf" if bom else b"") + blanks.encode() + body)
        detected = formats.detect(path)
        assert (detected.format.name, detected.container) == (
            "un-edifact-cuscar", formats.Container.EDIFACT,
        )  # fmt: skip
        with path.open("rb") as file:
            read = [(m.reference, m.fault, len(m.segments))
                    for m in edifact.messages(file, Limits(), str(path))]  # fmt: skip
    with EDI.open("rb") as file:
        whole = [(m.reference, m.fault, len(m.segments))
                 for m in edifact.messages(file, Limits(), str(EDI))]  # fmt: skip
    assert read == whole and len(whole) >= 2


def test_blanks_alone_or_before_other_text_are_no_interchange(tmp_path: Path) -> None:
    for content in (b"  \r\n\t", b"\n\n  UNX+1'", b"\n" * 5000 + b"UNB+UNOC:3'"):
        path = tmp_path / "blank.txt"
        path.write_bytes(content)
        with pytest.raises(InputError, match="unknown file type"):
            formats.detect(path)


# --- hypothesis: a mutated interchange never crashes intake --------------------------------------

_SYNTAX = [b"+", b":", b"'", b"?", b"\n", b"UNH", b"UNT", b"CNI", b"GID", b"\xe9", b"\x00", b"9"]


@st.composite
def mutated(draw: st.DrawFn) -> bytes:
    data = bytearray(SAMPLE)
    for _ in range(draw(st.integers(1, 4))):
        at = draw(st.integers(0, len(data)))
        action = draw(st.sampled_from(["delete", "insert", "replace", "cut", "swap-lines"]))
        if action == "delete":
            del data[at : at + draw(st.integers(1, 8))]
        elif action == "insert":
            data[at:at] = draw(st.sampled_from(_SYNTAX) | st.binary(min_size=1, max_size=4))
        elif action == "replace" and at < len(data):
            data[at] = draw(st.integers(0, 255))
        elif action == "cut":
            del data[at:]
        else:
            lines = bytes(data).split(b"\n")
            i, j = draw(st.integers(0, len(lines) - 1)), draw(st.integers(0, len(lines) - 1))
            lines[i], lines[j] = lines[j], lines[i]
            data = bytearray(b"\n".join(lines))
    return bytes(data)


@settings(
    max_examples=300, deadline=None, database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)  # fmt: skip
@given(data=mutated())
def test_a_mutated_interchange_gives_records_quarantine_or_one_input_error(
    tmp_path: Path, data: bytes
) -> None:
    path = tmp_path / "mutated.edi"
    path.write_bytes(data)
    try:
        reader = readers.open_file(path, kind=None, batch_size=3)
        chunks = list(reader.chunks())
    except InputError as exc:
        assert str(exc).strip()
        return
    for chunk in chunks:
        for rejected in chunk.rejected:
            assert rejected.location.startswith("message ") and rejected.reason.strip()
        assert set(readers.columns_of(reader.kind)) <= set(chunk.frame.columns)


@pytest.mark.slow
@settings(
    max_examples=60, deadline=None, database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)  # fmt: skip
@given(data=mutated())
def test_a_mutated_interchange_is_stored_quarantined_or_refused(
    tmp_path_factory: pytest.TempPathFactory, data: bytes
) -> None:
    folder = tmp_path_factory.mktemp("mutated")
    path = folder / "mutated.edi"
    path.write_bytes(data)
    store = Store.open(f"sqlite:///{folder / 'store.db'}")
    try:
        summary = ingest_file(store, path)
    except InputError as exc:
        assert str(exc).strip()
        assert _snapshot(store)["consignments"] == []
        return
    finally:
        store.close()
    assert summary.balanced, summary


def test_a_time_without_offset_is_read_in_the_zone_the_site_names(
    store: Store, tmp_path: Path
) -> None:
    # The lodging time of message 1 written as local time (format 203), as many carriers do.
    local = _edited(tmp_path, ("DTM+137:202610291000UTC:303'", "DTM+137:202610291100:203'"))
    refused = ingest_file(store, local)
    # A fault at message level: the message is quarantined whole; message 2 gives its own times.
    assert (refused.new, refused.quarantined) == (2, 1)
    assert {r.reason for r in refused.rejected} == {
        "time '202610291100' (format 203) has no UTC offset: use format 205 "
        "(CCYYMMDDHHMM±HHMM) or 303/304 (CCYYMMDDHHMM[SS]UTC), or set "
        "QUAYWATCH_EDIFACT_TIME_ZONE to the zone such times are written in"
    }
    brussels = IntakeOptions(limits=Limits(local_time_zone="Europe/Brussels"))
    # The entry keeps its message: once the zone is set, a retry maps it again and stores it.
    [entry] = quarantine.list_entries(store)
    with pytest.raises(InputError, match="set QUAYWATCH_EDIFACT_TIME_ZONE"):
        quarantine.retry(store, entry.quarantine_id)  # still no zone: nothing written
    retried = quarantine.retry(store, entry.quarantine_id, options=brussels)
    assert retried.stored, retried.reason
    assert quarantine.get_entry(store, entry.quarantine_id).status == "resolved"
    read = ingest_file(store, local, options=brussels)
    assert (read.new, read.unchanged, read.quarantined) == (0, 4, 0), read.rejected
    with store.reading() as conn:
        lodged = conn.execute(
            select(tables.consignments.c.lodged_at).where(
                tables.consignments.c.consignment_id == "261102-BEANR-0001001"
            )
        ).scalar_one()
    assert lodged.isoformat()[:19] == "2026-10-29T10:00:00"  # 11:00 in Brussels is 10:00 UTC
    # The hour the clocks go back (25 October 2026, 02:00-03:00 twice) is not one time.
    twice = _edited(
        tmp_path, ("DTM+137:202610291000UTC:303'", "DTM+137:202610250230:203'"), name="dst.edi"
    )
    ambiguous = ingest_file(store, twice, options=brussels)
    assert ambiguous.quarantined == 1
    assert "ambiguous or skipped in Europe/Brussels" in ambiguous.rejected[0].reason


def test_the_time_zone_setting_must_name_a_zone(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("QUAYWATCH_EDIFACT_TIME_ZONE", "Europe/Antwerp")
    with pytest.raises(ConfigurationError, match="QUAYWATCH_EDIFACT_TIME_ZONE: 'Europe/Antwerp' "
                       "is not an IANA time zone name"):  # fmt: skip
        load_settings()
