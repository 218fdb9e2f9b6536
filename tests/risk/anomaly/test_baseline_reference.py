"""Baselines that the traffic they judge cannot set: a hub or a lane used by suspicious traffic
learns its usual from reference traffic (``features.reference``), shrunk toward the port-wide
figures, on hand-made journeys (the `trip` builder of conftest.py)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import polars as pl
from hypothesis import HealthCheck, given, settings, strategies as st

from quaywatch.features import reference
from quaywatch.risk.anomaly import detect, frames

Trip = Callable[..., tuple[pl.DataFrame, pl.DataFrame]]
LODGED = datetime(2026, 10, 1, tzinfo=UTC)  # the `trip` fixture's lodging time
LATER = datetime(2027, 1, 1, tzinfo=UTC)
H = [("H", "CAR")]


def _calls(trip: Trip, hub: str, n: int, days: float, *, prefix: str, start: float = 0.0,
           lodged: datetime = LODGED - timedelta(days=40)) -> tuple[pl.DataFrame, pl.DataFrame]:  # fmt: skip
    """`n` boxes of other consignments calling at `hub` for `days` days (0.1-day jitter)."""
    parts = [
        trip(
            f"CNSHA|{hub}|BEANR",
            [
                ("LOAD", "CNSHA", 1, H),
                ("DISC", hub, 10, H),
                ("LOAD", hub, 10 + days + (i % 5) / 10, H),
                ("DISC", "BEANR", 25, H),
            ],
            consignment=f"{prefix}{i:03d}",
            container=f"{prefix[:4]:X<4}{i:07d}",
            document=f"{prefix}D{i}",
            declared=("H",),
            lodged=lodged + timedelta(days=start + i * 0.05),
        )  # fmt: skip
        for i in range(n)
    ]
    return pl.concat([p[0] for p in parts]), pl.concat([p[1] for p in parts])


def _parties(boxes: pl.DataFrame, consignee: str | Callable[[str], str]) -> pl.DataFrame:
    """The consignments of `boxes` with their traders (one consignor per consignee)."""
    rows = boxes.select("consignment_id", "lodged_at").unique("consignment_id")
    name = consignee if callable(consignee) else (lambda _: consignee)
    keys = [name(c) for c in rows["consignment_id"]]
    return rows.with_columns(
        pl.Series("consignee_key", keys), pl.Series("consignor_key", [f"F-{k}" for k in keys])
    )


def _reference(boxes: pl.DataFrame, parties: pl.DataFrame, *, at: datetime,
               outcomes: pl.DataFrame | None = None) -> pl.DataFrame:  # fmt: skip
    """`frames.REFERENCE` of `boxes`: each box with its consignment's weight at `at`."""
    weights = reference.weights(parties, at=at, outcomes=outcomes)
    return boxes.join(weights, on="consignment_id").select(frames.REFERENCE.names())


def _seizure(consignment: str, known: datetime) -> pl.DataFrame:
    return pl.DataFrame({"consignment_id": [consignment], "result": ["SEIZURE"],
                         "revenue_recovered_eur": [0.0], "known_at": [known]})  # fmt: skip


def _judged(trip: Trip, days: float, hub: str = "TGLFW") -> tuple[pl.DataFrame, pl.DataFrame]:
    """The box looked at: discharged at `hub` on 13 Oct, loaded again `days` later."""
    return trip(f"COBUN|{hub}|BEANR", [
        ("LOAD", "COBUN", 2, [("S1", "CAR")]), ("DISC", hub, 12, [("S1", "CAR")]),
        ("LOAD", hub, 12 + days, [("S1", "CAR")]),
    ])  # fmt: skip


def _scene(trip: Trip, judged_days: float) -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame]:
    """MAPTM with 40 ordinary two-day calls; TGLFW used only by 60 boxes of one network whose
    consignee had a seizure recorded before the assessment, each waiting ten days; and the box
    looked at, the network's too, at TGLFW. Events, boxes, parties."""
    clean = _calls(trip, "MAPTM", 40, 2.0, prefix="CLEAN")
    network = _calls(trip, "TGLFW", 60, 10.0, prefix="NETW")
    judged = _judged(trip, judged_days)
    events = pl.concat([clean[0], network[0], judged[0]])
    boxes = pl.concat([clean[1], network[1], judged[1]])
    parties = _parties(boxes, lambda c: "BAD" if c.startswith(("NETW", "C1")) else f"OK-{c}")
    return events, boxes, parties


def test_a_hub_used_only_by_suspicious_traffic_does_not_become_its_own_normal(trip: Trip) -> None:
    events, boxes, parties = _scene(trip, 9.5)
    keys = pl.DataFrame({"consignment_id": ["C1"], "version": [1]})
    # Before: learnt from all traffic, TGLFW's usual is the network's ten days.
    assert detect(events, boxes, at=LATER, keys=keys).is_empty()
    # After: the network's consignee had a seizure known at the assessment.
    ref = _reference(
        boxes, parties, at=LATER, outcomes=_seizure("NETW000", LATER - timedelta(days=60))
    )
    found = detect(events, boxes, at=LATER, keys=keys, reference=ref)
    assert found["code"].to_list() == ["anomaly:hub_dwell"]
    assert found["text"][0] == (
        "waited 9.5 days at TGLFW (13 Oct to 22 Oct), usual 2.2 days port-wide "
        "(95th pct 2.4; TGLFW has 0 boxes of reference traffic)"
    )
    # An ordinary two-day call there is still nothing.
    assert detect(*_scene(trip, 2.1)[:2], at=LATER, keys=keys, reference=ref).is_empty()


def test_suspicion_counts_only_once_it_is_recorded(trip: Trip) -> None:
    events, boxes, parties = _scene(trip, 9.5)
    keys = pl.DataFrame({"consignment_id": ["C1"], "version": [1]})
    late = _seizure("NETW000", LATER + timedelta(days=1))  # recorded after the assessment
    ref = _reference(boxes, parties, at=LATER, outcomes=late)
    assert ref.filter(pl.col("weight") == 0).is_empty()
    assert detect(events, boxes, at=LATER, keys=keys, reference=ref).is_empty()


def test_without_labels_newcomers_weigh_little(trip: Trip) -> None:
    """No outcome at all: the network's consignees all appeared during the record, so their
    60 boxes weigh 6 and TGLFW's figures are mostly the port-wide ones (300 ordinary calls)."""
    clean = _calls(trip, "MAPTM", 300, 2.0, prefix="CLEAN")
    network = _calls(trip, "TGLFW", 60, 10.0, prefix="NETW", start=45.0)  # lodged from day 45 on
    judged = _judged(trip, 9.5)
    events = pl.concat([clean[0], network[0], judged[0]])
    boxes = pl.concat([clean[1], network[1], judged[1]])
    parties = _parties(boxes, lambda c: f"NEW-{c[-1]}" if c.startswith(("NETW", "C1")) else "OLD")
    ref = _reference(boxes, parties, at=LATER)
    assert ref.group_by("weight").len().sort("weight")["len"].to_list() == [61, 300]
    keys = pl.DataFrame({"consignment_id": ["C1"], "version": [1]})
    assert detect(events, boxes, at=LATER, keys=keys).is_empty()
    found = detect(events, boxes, at=LATER, keys=keys, reference=ref)
    assert found["code"].to_list() == ["anomaly:hub_dwell"]
    assert (
        "port-wide" in found["text"][0]
        and "TGLFW has 6 boxes of reference traffic" in found["text"][0]
    )


def test_a_hub_with_ample_clean_traffic_keeps_its_own_rhythm(trip: Trip) -> None:
    """A slow hub (five days) with 200 clean calls is judged on its own figures, not the
    port-wide two days: five and a half days there is ordinary, fifteen is not."""
    fast, slow = (
        _calls(trip, "MAPTM", 300, 2.0, prefix="FAST"),
        _calls(trip, "TGLFW", 200, 5.0, prefix="SLOW"),
    )
    keys = pl.DataFrame({"consignment_id": ["C1"], "version": [1]})

    def found(days: float) -> pl.DataFrame:
        judged = _judged(trip, days)
        boxes = pl.concat([fast[1], slow[1], judged[1]])
        ref = _reference(boxes, _parties(boxes, "OK"), at=LATER)
        return detect(pl.concat([fast[0], slow[0], judged[0]]), boxes, at=LATER, keys=keys,
                      reference=ref)  # fmt: skip

    assert found(5.5).is_empty()
    text = found(15.0)["text"].to_list()
    assert text == ["waited 15.0 days at TGLFW (13 Oct to 28 Oct), usual 4.8 days for this hub "
                    "(95th pct 5.4; reference traffic, 201 boxes)"]  # fmt: skip


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(st.lists(st.floats(min_value=8.0, max_value=60.0), min_size=1, max_size=2))
def test_a_few_outlying_dwells_do_not_move_the_baseline(trip: Trip, outliers: list[float]) -> None:
    """MAPTM: 60 clean two-day calls and one or two extreme ones (up to 3 %) (a box held for another
    administration): a 2.5-day call stays ordinary and a 9.5-day one stands out."""
    clean = _calls(trip, "MAPTM", 60, 2.0, prefix="CLEAN")
    odd = [_calls(trip, "MAPTM", 1, d, prefix=f"ODD{i}") for i, d in enumerate(outliers)]
    keys = pl.DataFrame({"consignment_id": ["C1"], "version": [1]})
    for days, flagged in ((2.5, False), (9.5, True)):
        judged = _judged(trip, days, hub="MAPTM")
        events = pl.concat([clean[0], *(o[0] for o in odd), judged[0]])
        boxes = pl.concat([clean[1], *(o[1] for o in odd), judged[1]])
        ref = _reference(boxes, _parties(boxes, "OK"), at=LATER)
        found = detect(events, boxes, at=LATER, keys=keys, reference=ref)
        assert (not found.is_empty()) is flagged


def _lane(trip: Trip, n_clean: int, n_network: int) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Boxes of a lane CO → BEANR: `n_clean` earlier consignments via PAMIT, then `n_network`
    of one network via TGLFW, then the one looked at (C1) via TGLFW; and their traders."""
    parts = [
        trip(
            f"COBUN|{hub}|BEANR",
            [("LOAD", "COBUN", 2, [("S1", "CAR")])],
            consignment=cid,
            container=f"LANE{i:07d}",
            document=f"LD{i}",
            lodged=LODGED + timedelta(hours=i),
        )  # fmt: skip
        for i, (cid, hub) in enumerate(
            [(f"L{i:03d}", "PAMIT") for i in range(n_clean)]
            + [(f"N{i:03d}", "TGLFW") for i in range(n_network)]
            + [("C1", "TGLFW")]
        )
    ]
    boxes = pl.concat([p[1] for p in parts])
    return boxes, _parties(boxes, lambda c: "BAD" if c[0] in "NC" else f"OK-{c}")


def test_a_route_repeated_by_suspicious_traffic_stays_rare(trip: Trip) -> None:
    """120 clean consignments via PAMIT, then 20 of a network via TGLFW (1 in 7 of the lane):
    counted as usual before; with the network's seizure known, TGLFW is still unused by the
    lane's reference traffic."""
    boxes, parties = _lane(trip, 120, 20)
    events = frames.EVENTS.to_frame()
    keys = pl.DataFrame({"consignment_id": ["C1"], "version": [1]})
    assert detect(events, boxes, at=LATER, keys=keys).is_empty()
    ref = _reference(
        boxes, parties, at=LATER, outcomes=_seizure("N000", LODGED + timedelta(days=1))
    )
    found = detect(events, boxes, at=LATER, keys=keys, reference=ref)
    assert found["text"].to_list() == [
        "route COBUN → TGLFW → BEANR through TGLFW: used by 20 of 140 earlier consignments from "
        "CO to BEANR (0.0 % of the reference traffic on that lane)"
    ]


def test_a_same_day_burst_of_unknown_consignments_does_not_make_a_hub_usual(trip: Trip) -> None:
    """A live run's weights are those of the start of its day. 300 clean consignments via
    PAMIT are in them; 20 lodged since via TGLFW (a burst on a new hub) are not: unknown, they
    weigh a newcomer's 0.1 each (2 of 302, under 1 %), so TGLFW stays rare for the next one.
    Once the reference names them as ordinary traffic (the next day's), they count fully."""
    boxes, parties = _lane(trip, 300, 20)
    events = frames.EVENTS.to_frame()
    keys = pl.DataFrame({"consignment_id": ["C1"], "version": [1]})
    morning = LODGED + timedelta(hours=299, minutes=30)  # after the clean ones, before the burst
    ref = _reference(boxes, parties, at=morning)
    assert set(ref["consignment_id"]) == {f"L{i:03d}" for i in range(300)}
    found = detect(events, boxes, at=LATER, keys=keys, reference=ref)
    assert found["text"].to_list() == [
        "route COBUN → TGLFW → BEANR through TGLFW: used by 20 of 320 earlier consignments from "
        "CO to BEANR (0.7 % of the reference traffic on that lane)"
    ]
    named = _reference(boxes, parties, at=LATER)  # no record against them: ordinary
    assert detect(events, boxes, at=LATER, keys=keys, reference=named).is_empty()


def test_a_same_day_burst_of_unknown_boxes_does_not_set_a_hub_normal(trip: Trip) -> None:
    """300 ordinary two-day calls at MAPTM in the reference; 60 boxes lodged after it was
    computed, each waiting ten days at TGLFW, the only traffic there: unknown, they weigh 6,
    so TGLFW's usual is mostly the port-wide two days and a 9.5-day wait there stands out."""
    clean = _calls(trip, "MAPTM", 300, 2.0, prefix="CLEAN")
    burst = _calls(trip, "TGLFW", 60, 10.0, prefix="BURST", start=30.0)
    judged = _judged(trip, 9.5)
    events = pl.concat([clean[0], burst[0], judged[0]])
    boxes = pl.concat([clean[1], burst[1], judged[1]])
    ref = _reference(boxes, _parties(boxes, "OLD"), at=LODGED - timedelta(days=20))
    assert ref["weight"].to_list() == [1.0] * 300
    keys = pl.DataFrame({"consignment_id": ["C1"], "version": [1]})
    found = detect(events, boxes, at=LATER, keys=keys, reference=ref)
    assert found["code"].to_list() == ["anomaly:hub_dwell"]
    assert "port-wide" in found["text"][0] and "TGLFW has 6 boxes" in found["text"][0]
