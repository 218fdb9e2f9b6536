"""Each detector on hand-made journeys: the mark it looks for, and the look-alike it must pass."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import polars as pl
import pytest

from quaywatch.risk import hits
from quaywatch.risk.anomaly import DETECTORS, detect

Trip = Callable[..., tuple[pl.DataFrame, pl.DataFrame]]
LODGED = datetime(2026, 10, 1, tzinfo=UTC)  # the `trip` fixture's lodging time
LATER = datetime(2027, 1, 1, tzinfo=UTC)
S1, S2 = [("S1", "CAR")], [("S2", "CAR")]
ROUTE = "COBUN|MAPTM|BEANR"


def codes(found: pl.DataFrame) -> list[str]:
    return sorted(found["code"].to_list())


def test_seal_changed_at_hub_without_customs_reseal(trip: Trip) -> None:
    events, boxes = trip(ROUTE, [
        ("GTIN", "COBUN", 1, S1), ("LOAD", "COBUN", 2, S1), ("DISC", "MAPTM", 12, S1),
        ("LOAD", "MAPTM", 14, S2), ("DISC", "BEANR", 25, S2), ("GTOT", "BEANR", 27, S2),
    ])  # fmt: skip
    found = detect(events, boxes, at=LATER)
    assert found.columns == list(hits.SCHEMA) and found.schema == hits.SCHEMA
    row = found.row(0, named=True)
    assert codes(found) == ["anomaly:seal_changed"]
    assert row["text"] == (
        "seal S2 replaced S1 between DISC at MAPTM (13 Oct) and LOAD at MAPTM (15 Oct), "
        "no customs reseal"
    )
    assert row["weight"] == DETECTORS["seal_changed"].weight > 0
    assert (row["lane"], row["source"], row["referral"]) == ("orange", "anomaly", None)


@pytest.mark.parametrize(
    "journey",
    [
        pytest.param(  # customs opened the box and sealed it again
            [
                ("DISC", "BEANR", 25, S1),
                ("INSP", "BEANR", 26, S1),
                ("RSEA", "BEANR", 26.1, [("C9", "CUS")]),
                ("GTOT", "BEANR", 28, [("C9", "CUS")]),
            ],
            id="customs-reseal",
        ),
        pytest.param(  # one event with the seal typed wrong, then the right seal again
            [
                ("LOAD", "COBUN", 2, S1),
                ("DISC", "MAPTM", 12, [("SI", "CAR")]),
                ("LOAD", "MAPTM", 14, S1),
                ("DISC", "BEANR", 25, S1),
            ],
            id="typed-wrong-once",
        ),
        pytest.param(  # the shipper's seal reported on some events only
            [
                ("LOAD", "COBUN", 2, S1),
                ("DISC", "MAPTM", 12, [*S1, ("W7", "SHI")]),
                ("DISC", "BEANR", 25, S1),
            ],
            id="declared-seal-reported-late",
        ),
        pytest.param(
            [("LOAD", "COBUN", 2, []), ("DISC", "MAPTM", 12, S1), ("LOAD", "MAPTM", 14, S1)],
            id="events-without-seals",
        ),
    ],
)
def test_seal_look_alikes_are_not_flagged(trip: Trip, journey: list) -> None:
    events, boxes = trip(ROUTE, journey, declared=("S1", "W7"))
    assert detect(events, boxes, at=LATER).is_empty()


def test_first_seal_not_declared(trip: Trip) -> None:
    events, boxes = trip(ROUTE, [("LOAD", "COBUN", 2, S2), ("DISC", "MAPTM", 12, S2)])
    found = detect(events, boxes, at=LATER)
    assert codes(found) == ["anomaly:seal_undeclared"]
    assert (
        found["text"][0] == "seal S2 on LOAD at COBUN (3 Oct) is not a declared seal (declared S1)"
    )


def test_strip_and_stuff_at_hub(trip: Trip) -> None:
    events, boxes = trip(ROUTE, [
        ("LOAD", "COBUN", 2, S1), ("DISC", "MAPTM", 12, S1), ("STRP", "MAPTM", 12.5, S1),
        ("STUF", "MAPTM", 12.8, S1), ("LOAD", "MAPTM", 14, S1),
    ])  # fmt: skip
    found = detect(events, boxes, at=LATER)
    assert codes(found) == ["anomaly:hub_restuffed"]
    assert found["text"][0].startswith("stripped and stuffed again at a depot in MAPTM (13 Oct)")
    assert found["lane"][0] == "orange"


def test_stuffing_at_origin_and_stripping_at_delivery_are_planned(trip: Trip) -> None:
    events, boxes = trip(ROUTE, [
        ("STUF", "COBUN", 0.5, S1), ("LOAD", "COBUN", 2, S1), ("DISC", "MAPTM", 12, S1),
        ("LOAD", "MAPTM", 14, S1), ("DISC", "BEANR", 25, S1), ("STRP", "BEBRU", 28, S1),
    ], delivery="BEBRU")  # fmt: skip
    assert detect(events, boxes, at=LATER).is_empty()


def _dwell(trip: Trip, history: tuple[pl.DataFrame, pl.DataFrame], days: float,
           at: datetime = LATER) -> pl.DataFrame:  # fmt: skip
    journey = [("LOAD", "COBUN", 2, S1), ("DISC", "MAPTM", 12, S1)]
    if days:
        journey.append(("LOAD", "MAPTM", 12 + days, S1))
    events, boxes = trip(ROUTE, journey)
    return detect(pl.concat([history[0], events]), pl.concat([history[1], boxes]), at=at,
                  keys=boxes)  # fmt: skip


def test_long_dwell_against_the_hub_baseline(trip: Trip, history: tuple) -> None:
    found = _dwell(trip, history, 9.5)
    assert codes(found) == ["anomaly:hub_dwell"]
    assert found["text"][0] == (
        "waited 9.5 days at MAPTM (13 Oct to 22 Oct), usual 2.2 days for this hub "
        "(95th pct 2.4; reference traffic, 41 boxes)"
    )
    assert _dwell(trip, history, 2.3).is_empty()  # an ordinary call


def test_dwell_still_waiting_counts_the_time_so_far(trip: Trip, history: tuple) -> None:
    found = _dwell(trip, history, 0, at=LODGED + timedelta(days=20))
    assert found["text"].to_list() == [
        "has waited 8.0 days at MAPTM since 13 Oct, usual 2.2 days for this hub "
        "(95th pct 2.4; reference traffic, 40 boxes)"
    ]
    assert _dwell(trip, history, 0, at=LODGED + timedelta(days=13)).is_empty()


def test_event_off_the_declared_route(trip: Trip) -> None:
    events, boxes = trip(ROUTE, [
        ("LOAD", "COBUN", 2, S1), ("DISC", "MAPTM", 12, S1), ("LOAD", "MAPTM", 14, S1),
        ("DISC", "ESALG", 17, S1), ("LOAD", "ESALG", 18, S1), ("DISC", "BEANR", 25, S1),
        ("GTOT", "BEBRU", 27, S1),
    ], delivery="BEBRU")  # fmt: skip
    found = detect(events, boxes, at=LATER)
    assert codes(found) == ["anomaly:off_route"]
    assert found["text"][0] == (
        "DISC at ESALG (18 Oct), a port not on the declared route COBUN → MAPTM → BEANR"
    )


def test_loaded_before_lodging_but_gate_in_before_is_ordinary(trip: Trip) -> None:
    gate_in = [("GTIN", "COBUN", -1, S1), ("LOAD", "COBUN", 1, S1)]
    events, boxes = trip(ROUTE, gate_in)
    assert detect(events, boxes, at=LATER).is_empty()
    events, boxes = trip(ROUTE, [("GTIN", "COBUN", -2, S1), ("LOAD", "COBUN", -0.5, S1)])
    found = detect(events, boxes, at=LATER)
    assert codes(found) == ["anomaly:seen_before_lodging"]
    assert found["text"][0] == (
        "LOAD at COBUN (30 Sep), 12 hours before the declaration was lodged (1 Oct)"
    )


def test_gate_out_without_discharge(trip: Trip) -> None:
    events, boxes = trip("COBUN|BEANR", [("LOAD", "COBUN", 2, S1), ("GTOT", "BEANR", 20, S1)])
    found = detect(events, boxes, at=LATER)
    assert codes(found) == ["anomaly:gate_out_no_discharge"]
    assert found["text"][0] == "gated out at BEANR (21 Oct) with no discharge recorded there before"
    events, boxes = trip("COBUN|BEANR", [("DISC", "BEANR", 18, S1), ("GTOT", "BEANR", 20, S1)])
    assert detect(events, boxes, at=LATER).is_empty()


def _lane(trip: Trip, via: str, n: int) -> tuple[pl.DataFrame, pl.DataFrame]:
    """`n` earlier consignments from COBUN via PAMIT, then one via `via`."""
    parts = [
        trip(
            f"COBUN|{hub}|BEANR",
            [],
            consignment=f"L{i:03d}",
            container=f"LANE{i:07d}",
            lodged=LODGED + timedelta(hours=i),
        )
        for i, hub in enumerate(["PAMIT"] * n + [via])
    ]
    return pl.concat([p[0] for p in parts]), pl.concat([p[1] for p in parts])


def test_rare_route_for_the_lane_as_of_lodging(trip: Trip) -> None:
    events, boxes = _lane(trip, "TGLFW", 120)
    found = detect(events, boxes, at=LATER)
    assert found["consignment_id"].to_list() == ["L120"]
    assert found["text"][0] == (
        "route COBUN → TGLFW → BEANR through TGLFW: used by 0 of 120 earlier consignments "
        "from CO to BEANR (0.0 % of the reference traffic on that lane)"
    )
    assert detect(*_lane(trip, "PAMIT", 120), at=LATER).is_empty()
    assert detect(*_lane(trip, "TGLFW", 60), at=LATER).is_empty()  # too little history to judge


def test_event_without_document_links_by_time(trip: Trip) -> None:
    journey = [("LOAD", "COBUN", 2, S1), ("LOAD", "MAPTM", 14, S2)]
    events, boxes = trip(ROUTE, journey, document=None)
    assert codes(detect(events, boxes, at=LATER)) == ["anomaly:seal_changed"]
    far = events.with_columns(pl.col("event_time") + timedelta(days=400))
    assert detect(far, boxes, at=LATER + timedelta(days=500)).is_empty()


def test_keys_limit_the_consignments_reported(trip: Trip) -> None:
    journey = [("LOAD", "COBUN", 2, S1), ("LOAD", "MAPTM", 14, S2)]
    a = trip(ROUTE, journey, consignment="A", container="AAAU0000001", document="DA")
    b = trip(ROUTE, journey, consignment="B", container="BBBU0000001", document="DB")
    events, boxes = pl.concat([a[0], b[0]]), pl.concat([a[1], b[1]])
    assert sorted(detect(events, boxes, at=LATER)["consignment_id"]) == ["A", "B"]
    found = detect(events, boxes, at=LATER, keys=pl.DataFrame({"consignment_id": ["B"],
                                                               "version": [1]}))  # fmt: skip
    assert found["consignment_id"].to_list() == ["B"]


def test_one_row_per_detector_the_strongest(trip: Trip, history: tuple) -> None:
    events, boxes = trip(ROUTE, [
        ("LOAD", "COBUN", 2, S1), ("DISC", "MAPTM", 12, S1), ("LOAD", "MAPTM", 14, S2),
        ("DISC", "BEANR", 25, S2), ("GTOT", "BEANR", 27, [("S3", "CAR")]),
    ])  # fmt: skip
    found = detect(events, boxes, at=LATER)
    assert codes(found) == ["anomaly:seal_changed"]
    assert found.height == 1
