# Fixtures of the anomaly tests.
#
# - `trip`: a builder of hand-made container journeys. `trip(route, events, ...)` returns the
#   two frames `detect` reads (events, boxes) for one consignment "C1" whose single container
#   travels along `route` ("COBUN|PAMIT|BEANR"). Each event is (code, place, day, seals) with
#   `day` in days after lodging (2026-10-01) and seals a list of (number, source); events are
#   received as they are created, a minute after they happen.
# - `history`: 40 ordinary boxes of other consignments calling at MAPTM for two days each, so
#   the dwell baseline of MAPTM is known (median 2 days).
from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta

import polars as pl
import pytest

from quaywatch.risk.anomaly import frames

LODGED = datetime(2026, 10, 1, tzinfo=UTC)
Event = tuple[str, str, float, Sequence[tuple[str, str]]]
Trip = Callable[..., tuple[pl.DataFrame, pl.DataFrame]]


def make_trip(
    route: str,
    events: Sequence[Event],
    *,
    consignment: str = "C1",
    container: str = "MSCU1234565",
    document: str | None = "DOC1",
    declared: Sequence[str] = ("S1",),
    delivery: str | None = None,
    lodged: datetime = LODGED,
    received_late: float | None = None,
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Events and boxes of one consignment; `received_late` (days) delays every reception."""
    places = route.split("|")
    hubs = "|".join(places[1:-1]) or None
    times = [lodged + timedelta(days=d) for _, _, d, _ in events]
    created = [t + timedelta(minutes=1) for t in times]
    received = [c + timedelta(days=received_late or 0) for c in created]
    event_frame = pl.DataFrame(
        {
            "event_id": [f"{consignment}-{container}-{i}" for i in range(len(events))],
            "event_code": [e[0] for e in events],
            "event_time": times,
            "created_time": created,
            "received_at": received,
            "known_at": received,
            "un_locode": [e[1] for e in events],
            "facility_type": ["DEPO" if e[0] in ("STRP", "STUF") else "POTE" for e in events],
            "container_number": [container] * len(events),
            "transport_document": [document] * len(events),
            "is_transshipment": [e[1] in places[1:-1] for e in events],
            "seals": [[{"seal_number": n, "source": s} for n, s in e[3]] for e in events],
        },
        schema=frames.EVENTS,
    )
    box = pl.DataFrame(
        {
            "consignment_id": [consignment],
            "version": [1],
            "transport_document": [document or "DOC1"],
            "lodged_at": [lodged],
            "eta": [lodged + timedelta(days=30)],
            "port_of_loading": [places[0]],
            "transshipment_ports": [hubs],
            "port_of_discharge": [places[-1]],
            "place_of_delivery": [delivery or places[-1]],
            "container_number": [container],
            "declared_seals": [list(declared)],
        },
        schema=frames.BOXES,
    )
    return event_frame, box


@pytest.fixture
def trip() -> Trip:
    return make_trip


@pytest.fixture
def history() -> tuple[pl.DataFrame, pl.DataFrame]:
    """40 boxes of other consignments, two days at MAPTM each (with 0.1-day jitter)."""
    parts = [
        make_trip(
            "CNSHA|MAPTM|BEANR",
            [
                ("LOAD", "CNSHA", 1, [("H", "CAR")]),
                ("DISC", "MAPTM", 10, [("H", "CAR")]),
                ("LOAD", "MAPTM", 12 + (i % 5) / 10, [("H", "CAR")]),
                ("DISC", "BEANR", 20, [("H", "CAR")]),
            ],
            consignment=f"H{i:02d}",
            container=f"HIST{i:07d}",
            document=f"HD{i}",
            declared=("H",),
            lodged=LODGED - timedelta(days=40),
        )
        for i in range(40)
    ]
    return pl.concat([p[0] for p in parts]), pl.concat([p[1] for p in parts])
