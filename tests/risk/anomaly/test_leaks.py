"""Leak-freedom: what was not known at the assessment time changes nothing."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import polars as pl
from polars.testing import assert_frame_equal

from quaywatch.risk.anomaly import detect

Trip = Callable[..., tuple[pl.DataFrame, pl.DataFrame]]
LODGED = datetime(2026, 10, 1, tzinfo=UTC)
ROUTE = "COBUN|MAPTM|BEANR"
S1, S2 = [("S1", "CAR")], [("S2", "CAR")]
AT = LODGED + timedelta(days=16)


def test_events_received_after_the_assessment_change_nothing(
    trip: Trip, history: tuple[pl.DataFrame, pl.DataFrame]
) -> None:
    on_time = [("LOAD", "COBUN", 2, S1), ("DISC", "MAPTM", 12, S1), ("LOAD", "MAPTM", 14, S1)]
    events, boxes = trip(ROUTE, on_time)
    # Everything a late feed could bring: a seal swap, a strip at the hub, an off-route call,
    # even events dated before the assessment, all received after it.
    late, _ = trip(ROUTE, [
        ("STRP", "MAPTM", 12.5, S1), ("STUF", "MAPTM", 12.6, S2), ("DISC", "ESALG", 15, S2),
        ("LOAD", "ESALG", 15.5, [("S3", "CAR")]),
    ], received_late=5)  # fmt: skip
    late = late.with_columns(pl.format("late-{}", "event_id").alias("event_id"))
    all_events = pl.concat([history[0], events, late])
    base = pl.concat([history[0], events])
    boxes = pl.concat([history[1], boxes])
    before = detect(base, boxes, at=AT)
    assert_frame_equal(detect(all_events, boxes, at=AT), before)
    assert before.filter(pl.col("consignment_id") == "C1").is_empty()
    after = detect(all_events, boxes, at=AT + timedelta(days=6))
    assert {"anomaly:hub_restuffed", "anomaly:off_route", "anomaly:seal_changed"} <= set(
        after.filter(pl.col("consignment_id") == "C1")["code"]
    )


def test_events_created_after_the_assessment_do_not_count_even_if_received(trip: Trip) -> None:
    """A bulk replay is received at once; an event's creation still bounds when it was known."""
    events, boxes = trip(ROUTE, [("LOAD", "COBUN", 2, S1), ("LOAD", "MAPTM", 20, S2)])
    replayed = events.with_columns(pl.lit(LODGED, pl.Datetime("us", "UTC")).alias("known_at"))
    assert detect(replayed, boxes, at=AT).is_empty()
    assert not detect(replayed, boxes, at=AT + timedelta(days=10)).is_empty()


def test_consignments_lodged_later_do_not_change_a_route_verdict(trip: Trip) -> None:
    def lane(vias: list[str]) -> tuple[pl.DataFrame, pl.DataFrame]:
        parts = [
            trip(
                f"COBUN|{hub}|BEANR",
                [],
                consignment=f"L{i:03d}",
                container=f"LANE{i:07d}",
                lodged=LODGED + timedelta(hours=i),
            )
            for i, hub in enumerate(vias)
        ]
        return pl.concat([p[0] for p in parts]), pl.concat([p[1] for p in parts])

    now = LODGED + timedelta(days=30)
    alone = detect(*lane(["PAMIT"] * 120 + ["TGLFW"]), at=now)
    followed = detect(*lane(["PAMIT"] * 120 + ["TGLFW"] * 40), at=now)
    assert alone["consignment_id"].to_list() == ["L120"]
    # The first two through TGLFW were rare as of their lodging (under 1 % of the lane); the
    # ones after them were lodged when TGLFW had become part of the lane.
    assert followed["consignment_id"].to_list() == ["L120", "L121"]
    # Consignments lodged after the assessment are not history yet.
    early = LODGED + timedelta(hours=120, minutes=30)
    assert_frame_equal(detect(*lane(["PAMIT"] * 120 + ["TGLFW"] * 40), at=early), alone)
