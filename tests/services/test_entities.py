"""services.entities.party_review on SQLite and PostgreSQL, over a small hand-built store:
neighbours found through a shared phone (written two ways), a shared address one hop further,
a container two consignees used within three weeks; the neighbourhood bounded; the track
record counted by role, month and result; watchlist matches; bad arguments refused."""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

import pytest
from stdnum import iso6346

from quaywatch.errors import InputError, NotFoundError
from quaywatch.services.entities import party_review
from quaywatch.services.intake import ingest_files
from quaywatch.services.screening import load_watchlist_text
from quaywatch.store import reads
from quaywatch.store.store import Store

EXAMPLES = Path(__file__).parents[2] / "examples"


def _header(name: str) -> list[str]:
    return (EXAMPLES / name).read_text(encoding="utf-8").splitlines()[0].split(",")


HEADER, OUTCOMES = _header("consignments.csv"), _header("outcomes.csv")

ATLAS = {
    "name": "Atlas Jade NV",
    "address": "Havenlaan 1, 2000 Antwerpen",
    "country": "BE",
    "eori": "BE0412345675",
    "phone": "+32 3 555 01 23",
    "email": "info@atlas-jade.example",
}
# The same phone as Atlas, written another way: linked to it.
BIRCH = {
    "name": "Birch Trading BV",
    "address": "Kaai 9, 9000 Gent",
    "country": "BE",
    "phone": "0032 (0)3 5550123",
    "email": "sales@birch.example",
}
# Birch's address: two links from Atlas.
CEDAR = {
    "name": "Cedar Imports SRL",
    "address": "Kaai 9, 9000 Gent",
    "country": "BE",
    "eori": "BE0999888777",
    "email": "cedar@cedar.example",
}
# Nothing in common with anyone.
DUNE = {
    "name": "Dune Foods SA",
    "address": "Rue Haute 4, 1000 Bruxelles",
    "country": "BE",
    "phone": "+32 2 777 88 99",
}
# Atlas's container, ten days later: linked through it.
GRAIN = {"name": "Grain Hollow BV", "address": "Dok 3, 2030 Antwerpen", "country": "BE"}
BROKER = {
    "name": "Quay Brokers NV",
    "address": "Brouwersvliet 10, 2000 Antwerpen",
    "country": "BE",
    "phone": "+32 3 999 00 00",
}
SHIPPER = {"name": "Jeddah Fruit Co", "address": "Harbour Road 7, Jeddah", "country": "SA"}
SHARED_BOX = "MSCU" + "123456" + iso6346.calc_check_digit("MSCU123456")


def _box(n: int) -> str:
    prefix = f"TGHU{n:06d}"
    return prefix + iso6346.calc_check_digit(prefix)


def _row(
    consignment: str,
    lodged: str,
    *,
    consignee: dict[str, str],
    version: int = 1,
    notify: dict[str, str] | None = None,
    box: str | None = None,
) -> dict[str, Any]:
    row: dict[str, Any] = dict.fromkeys(HEADER, "")
    row.update(
        consignment_id=consignment,
        version=version,
        transport_document=f"TD{consignment[-6:]}",
        lodged_at=f"{lodged}T08:00:00+00:00",
        carrier_scac="MAEU",
        vessel_imo="9628946",
        port_of_loading="SAJED",
        port_of_discharge="BEANR",
        place_of_delivery="BEANR",
        eta=f"{lodged}T20:00:00+00:00",
        item_sequence=1,
        hs6="080450",
        description="Fresh mangoes",
        packages=10,
        package_type="CT",
        gross_mass_kg=1000,
        value=5000,
        currency="EUR",
        origin_country="SA",
        container_number=box or _box(int(consignment[-4:])),
        container_size_type="45R1",
        container_status="LADEN",
        seals="SHI:KLP:SL00000001",
    )
    parties = {"consignee": consignee, "consignor": SHIPPER, "declarant": BROKER}
    if notify:
        parties["notify_party"] = notify
    for role, party in parties.items():
        for field in ("name", "address", "country", "eori", "phone", "email"):
            row[f"{role}_{field}"] = party.get(field, "")
        row[f"{role}_aeo"] = party.get("aeo", "NONE")
    return row


def _write(path: Path, header: list[str], rows: list[dict[str, Any]]) -> Path:
    with path.open("w", newline="", encoding="utf-8") as file:
        writer = csv.DictWriter(file, fieldnames=header)
        writer.writeheader()
        writer.writerows(rows)
    return path


def _outcome(control: str, consignment: str, day: str, result: str, **more: Any) -> dict[str, Any]:
    row: dict[str, Any] = dict.fromkeys(OUTCOMES, "")
    row.update(
        control_id=control,
        consignment_id=consignment,
        version=1,
        control_type="SCAN",
        selected_by="RULE",
        propensity=0.1,
        controlled_at=f"{day}T09:00:00Z",
        known_at=f"{day}T15:00:00Z",
        result=result,
        **more,
    )
    return row


@pytest.fixture
def traders(store: Store, tmp_path: Path) -> dict[str, str]:
    """The store with the traders' consignments and outcomes; their party keys by name."""
    rows = [
        _row("261001-BEANR-0001", "2026-10-01", consignee=ATLAS, box=SHARED_BOX),
        _row("261002-BEANR-0002", "2026-10-15", consignee=ATLAS),
        _row("261103-BEANR-0003", "2026-11-03", consignee=ATLAS),
        _row("261004-BEANR-0004", "2026-10-20", consignee=DUNE, notify=ATLAS),
        _row("261005-BEANR-0005", "2026-10-21", consignee=ATLAS),
        # Amended: its newest version names Dune, not Atlas.
        _row("261005-BEANR-0005", "2026-10-22", consignee=DUNE, version=2),
        _row("261006-BEANR-0006", "2026-10-06", consignee=BIRCH),
        _row("261007-BEANR-0007", "2026-10-07", consignee=CEDAR),
        _row("261011-BEANR-0011", "2026-10-11", consignee=GRAIN, box=SHARED_BOX),
    ]
    outcomes = [
        _outcome(
            "C-1",
            "261001-BEANR-0001",
            "2026-10-03",
            "SEIZURE",
            irregularity="DRUGS",
            seizure_goods="cocaine",
            seizure_quantity=12,
            seizure_unit="KGM",
        ),
        _outcome("C-2", "261002-BEANR-0002", "2026-10-17", "COMPLIANT"),
        _outcome(
            "C-4",
            "261004-BEANR-0004",
            "2026-11-02",
            "IRREGULAR",
            irregularity="VALUE",
            revenue_recovered_eur=2000,
        ),
        _outcome(
            "C-7",
            "261007-BEANR-0007",
            "2026-10-09",
            "IRREGULAR",
            irregularity="VALUE",
            revenue_recovered_eur=50,
        ),
    ]
    summaries = ingest_files(
        store,
        [_write(tmp_path / "c.csv", HEADER, rows), _write(tmp_path / "o.csv", OUTCOMES, outcomes)],
        actor="test",
    )
    assert [s.quarantined for s in summaries] == [0, 0], summaries
    return dict(reads.parties(store).select("name", "party_key").iter_rows())


def test_neighbours_are_found_through_what_they_share(
    store: Store, traders: dict[str, str]
) -> None:
    review = party_review(store, traders["Atlas Jade NV"], hops=2)
    assert (review.name, review.country, review.aeo) == ("Atlas Jade NV", "BE", "NONE")
    assert review.first_seen_at.isoformat() == "2026-10-01T08:00:00+00:00"
    near = {n.name: n.hop for n in review.neighbours}
    assert near == {"Birch Trading BV": 1, "Grain Hollow BV": 1, "Cedar Imports SRL": 2}
    assert review.left_out == 0
    links = {(l.source, l.target, l.kind, l.value) for l in review.links}  # noqa: E741
    assert links == {
        (traders["Atlas Jade NV"], traders["Birch Trading BV"], "phone", "+32 3 555 01 23"),
        (traders["Atlas Jade NV"], traders["Grain Hollow BV"], "container", SHARED_BOX),
        (traders["Birch Trading BV"], traders["Cedar Imports SRL"], "address", "Kaai 9, 9000 Gent"),
    }
    shared = {(i.kind, i.value): (i.shared_with, i.linking) for i in review.identifiers}
    assert shared[("phone", "+32 3 555 01 23")] == (1, True)
    assert shared[("eori", "BE0412345675")] == (0, False)
    assert shared[("container", SHARED_BOX)] == (1, True)

    one_hop = party_review(store, traders["Atlas Jade NV"], hops=1)
    assert {n.name for n in one_hop.neighbours} == {"Birch Trading BV", "Grain Hollow BV"}
    alone = party_review(store, traders["Dune Foods SA"])
    assert (alone.neighbours, alone.links, alone.left_out) == ((), (), 0)


def test_the_neighbourhood_is_bounded_and_says_what_it_left_out(
    store: Store, traders: dict[str, str]
) -> None:
    review = party_review(store, traders["Atlas Jade NV"], hops=2, limit=1)
    # The nearer first, then by name: Birch before Grain; Cedar, two hops out, left out.
    assert [n.name for n in review.neighbours] == ["Birch Trading BV"]
    assert review.left_out == 2 and review.limit == 1
    assert {l.target for l in review.links} == {traders["Birch Trading BV"]}  # noqa: E741


def test_the_track_record_counts_roles_months_and_results(
    store: Store, traders: dict[str, str]
) -> None:
    track = party_review(store, traders["Atlas Jade NV"]).track
    # Four consignments name Atlas in their newest version (the amended one no longer does).
    assert track.consignments == 4
    assert track.by_role == {"consignor": 0, "consignee": 3, "notify party": 1, "declarant": 0}
    months = {
        m.month: (m.consignee, m.notify_party, m.consignments, m.controls, m.hits)
        for m in track.months
    }
    assert months == {"2026-10": (2, 1, 3, 2, 1), "2026-11": (1, 0, 1, 1, 1)}
    assert (track.controls, track.hits) == (3, 2)
    assert track.hit_rate == pytest.approx(2 / 3)
    assert track.results == {"COMPLIANT": 1, "IRREGULAR": 1, "SEIZURE": 1}
    assert track.revenue_recovered_eur == 2000
    assert [c.control_id for c in track.latest_controls] == ["C-4", "C-2", "C-1"]
    assert track.latest_controls[0].roles == ("notify party",)
    assert [c.consignment_id for c in track.latest] == [
        "261103-BEANR-0003",
        "261004-BEANR-0004",
        "261002-BEANR-0002",
        "261001-BEANR-0001",
    ]
    assert track.latest[0].score is None and track.latest[0].lane is None


def test_hits_of_the_party_and_of_its_neighbours(
    store: Store, traders: dict[str, str], tmp_path: Path
) -> None:
    review = party_review(store, traders["Atlas Jade NV"])
    # Its own hits count the consignments it sent or received: the seizure, not the
    # irregularity found on a consignment it was only the notify party of.
    assert (review.hits.controls, review.hits.hits, review.hits.seizures) == (2, 1, 1)
    assert review.hits.level == "high" and review.watchlists == 0
    by_name = {n.name: n for n in review.neighbours}
    cedar = by_name["Cedar Imports SRL"]
    assert (cedar.hits.controls, cedar.hits.hits, cedar.hits.irregular) == (1, 0, 1)
    assert cedar.hits.level == "none" and cedar.consignments == 1
    assert by_name["Birch Trading BV"].hits.level == "none"

    load_watchlist_text(
        store,
        "entry_id,name,address,country,identifiers,category,note\n"
        "W-1,Cedar Holdings,,BE,BE0999888777,counterfeit,\n",
        watchlist_id="LIST",
        source="tests",
        list_date="2026-01-01",
        actor="test",
    )
    listed = {n.name: n for n in party_review(store, traders["Atlas Jade NV"]).neighbours}
    (match,) = listed["Cedar Imports SRL"].hits.matches
    assert (match.watchlist_id, match.kind, match.strong) == ("LIST", "eori", True)
    assert listed["Cedar Imports SRL"].hits.level == "high"
    assert party_review(store, traders["Atlas Jade NV"]).watchlists == 1


@pytest.mark.parametrize(
    ("key", "arguments", "error", "message"),
    [
        ("0" * 32, {}, NotFoundError, "no party 0000"),
        ("", {}, InputError, "party_key must have 1 to 32 characters"),
        ("x" * 33, {}, InputError, "party_key must have 1 to 32 characters"),
        ("ab\x00", {}, InputError, "control character"),
        ("0" * 32, {"hops": 3}, InputError, "hops must be from 1 to 2, got 3"),
        ("0" * 32, {"hops": 0}, InputError, "hops must be from 1 to 2, got 0"),
        ("0" * 32, {"limit": 0}, InputError, "limit must be at least 1, got 0"),
        ("0" * 32, {"limit": 201}, InputError, "limit must be at most 200, got 201"),
    ],
)
def test_bad_arguments_are_refused(
    store: Store, key: str, arguments: dict[str, int], error: type[Exception], message: str
) -> None:
    with pytest.raises(error, match=message):
        party_review(store, key, **arguments)


def test_a_party_imported_later_is_found_through_the_index(
    store: Store, traders: dict[str, str], tmp_path: Path
) -> None:
    from quaywatch.risk import neighbourhood

    party_review(store, traders["Atlas Jade NV"])  # keys every batch so far
    assert neighbourhood.index_parties(store) == 0  # nothing left to key
    # A later import: a party with Atlas's phone, written yet another way.
    elm = {"name": "Elm Logistics BV", "address": "Dok 8, 2030 Antwerpen", "country": "BE",
           "phone": "+3235550123"}  # fmt: skip
    ingest_files(store, [_write(tmp_path / "later.csv", HEADER,
                                [_row("261020-BEANR-0020", "2026-10-20", consignee=elm)])],
                 actor="test")  # fmt: skip
    review = party_review(store, traders["Atlas Jade NV"], hops=1)
    assert {n.name for n in review.neighbours} == {
        "Birch Trading BV", "Grain Hollow BV", "Elm Logistics BV"
    }  # fmt: skip
    shared = {(i.kind, i.value): i.shared_with for i in review.identifiers}
    assert shared[("phone", "+32 3 555 01 23")] == 2
    assert neighbourhood.index_parties(store) == 0
