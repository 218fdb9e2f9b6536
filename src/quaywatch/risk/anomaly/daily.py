"""What a live run learns once a day: the anomaly baselines as of the start of the day.

A consignment filed through the API is assessed in milliseconds only if assessing it reads its
own rows, not the history. The two baselines of the detectors are learnt from the history: the
usual dwell per hub (``hubs.baseline``, from every transshipment call) and the routes usual on a
lane (``route.rare_route``, from every earlier consignment of the lane). A day's traffic moves a
baseline of weeks little, as it moves the reference traffic little (``reads.daily_reference``):
so a live run (a scoring run, the API's filings) learns both from the store as of the start of
its day (UTC), computed by the day's first run that needs them and kept for the day's later
ones:

- the hub-dwell baseline from the transshipment calls known (received and created) by the day's
  start, weighted by that moment's reference traffic: computed once per day per store;
- a lane's earlier traffic from its consignments lodged by the day's start (as stored when the
  day's first consignment of the lane is assessed), with their reference weights: read once per
  day per lane, when the day's first consignment of that lane is assessed, and kept for up to
  ``MAX_LANES`` lanes (the least recently used goes first).

The consignments assessed still have their own containers' events read live: what a box did is
never a day late, only what is usual is. Each consignment is judged against the kept traffic
alone (``route.rare_route`` with ``history``), so a scoring run over a period and the API assess
a consignment alike, whatever else their batch holds. An evaluation (outcomes given, not live)
learns both baselines as of its own moment instead (``detect.detect_store``).
"""

from __future__ import annotations

import threading
import weakref
from collections import OrderedDict
from dataclasses import dataclass
from datetime import UTC, datetime

import polars as pl

from quaywatch.features.reference import NEWCOMER
from quaywatch.risk.anomaly import frames, hubs, reads
from quaywatch.store.store import Store

#: Lanes (origin country, port of discharge) whose day-start traffic a store keeps at once.
MAX_LANES = 256


@dataclass(frozen=True, slots=True)
class Learnt:
    """Baselines learnt apart from the consignments judged: ``dwell`` the usual dwell per hub
    (``hubs.baseline``), ``lanes`` the earlier traffic of their lanes (``frames.BOXES`` with
    each consignment's reference ``weight``)."""

    dwell: pl.DataFrame
    lanes: pl.DataFrame


def start_of_day(at: datetime) -> datetime:
    """The start (UTC) of ``at``'s day: the moment a live run's baselines are learnt as of."""
    return at.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)


def learnt(store: Store, boxes: pl.DataFrame, *, at: datetime) -> Learnt:
    """The baselines a live run at ``at`` judges ``boxes`` (``frames.BOXES``) against: the
    hub-dwell baseline and the traffic of their lanes as of the start of ``at``'s day."""
    kept = _kept(store, start_of_day(at))
    return Learnt(kept.dwell(), kept.lanes(boxes))


#: Days kept per store: today's, and a few past days' for a live run over a period.
_DAYS_PER_STORE = 4
_days: weakref.WeakKeyDictionary[Store, OrderedDict[datetime, _Day]] = weakref.WeakKeyDictionary()
_days_lock = threading.Lock()


def _kept(store: Store, day: datetime) -> _Day:
    """``store``'s baselines of ``day``, made once (held weakly: a closed store's go with it)."""
    with _days_lock:
        days = _days.setdefault(store, OrderedDict())
        found = days.get(day)
        if found is None:
            found = days[day] = _Day(store, day)
        days.move_to_end(day)
        while len(days) > _DAYS_PER_STORE:
            days.popitem(last=False)
        return found


class _Day:
    """One store's baselines as of one day's start, each computed when first asked for."""

    def __init__(self, store: Store, day: datetime) -> None:
        self._store = store
        self._day = day
        self._lock = threading.Lock()
        self._dwell: pl.DataFrame | None = None
        self._lanes: OrderedDict[tuple[str, str], pl.DataFrame] = OrderedDict()

    def dwell(self) -> pl.DataFrame:
        with self._lock:
            if self._dwell is None:
                calls = reads.transshipments(self._store, known_by=self._day)
                self._dwell = hubs.baseline(frames.known(calls, self._day), self._reference())
            return self._dwell

    def lanes(self, boxes: pl.DataFrame) -> pl.DataFrame:
        pairs = (
            boxes.select(
                pl.col("port_of_loading").str.slice(0, 2).alias("origin"), "port_of_discharge"
            )
            .drop_nulls()
            .unique()
            .sort("origin", "port_of_discharge")
        )
        found = [self._lane(origin, port) for origin, port in pairs.iter_rows()]
        empty = frames.BOXES.to_frame().with_columns(pl.lit(None, pl.Float64).alias("weight"))
        return pl.concat([empty, *found])

    def _lane(self, origin: str, port: str) -> pl.DataFrame:
        with self._lock:
            lane = self._lanes.get((origin, port))
            if lane is not None:
                self._lanes.move_to_end((origin, port))
                return lane
            lane = reads.lane_boxes(
                self._store,
                pl.DataFrame({"port_of_loading": [origin], "port_of_discharge": [port]}),
                lodged_by=self._day,
            )
            weights = self._reference().select("consignment_id", "weight").unique("consignment_id")
            lane = lane.join(
                weights, on="consignment_id", how="left", maintain_order="left"
            ).with_columns(pl.col("weight").fill_null(NEWCOMER))
            self._lanes[(origin, port)] = lane
            if len(self._lanes) > MAX_LANES:
                self._lanes.popitem(last=False)
            return lane

    def _reference(self) -> pl.DataFrame:
        return frames.conform(reads.daily_reference(self._store, at=self._day), frames.REFERENCE)
