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
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import partial
from typing import TypeVar

import polars as pl

from quaywatch.features.reference import NEWCOMER
from quaywatch.risk.anomaly import frames, hubs, reads
from quaywatch.store.store import Store

#: Lanes (origin country, port of discharge) whose day-start traffic a store keeps at once.
MAX_LANES = 256

_Key = TypeVar("_Key", str, tuple[str, str])


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
    return Learnt(kept.dwell(store), kept.lanes(store, boxes))


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
            found = days[day] = _Day(day)
        days.move_to_end(day)
        while len(days) > _DAYS_PER_STORE:
            days.popitem(last=False)
        return found


class _Day:
    """One store's baselines as of one day's start, each computed when first asked for.

    Each baseline (the reference traffic, the hub-dwell baseline, a lane's traffic) is
    computed once, by the first thread that asks for it, outside the lock: the lock guards the
    bookkeeping only, so the API's requests for other lanes go on reading the store meanwhile,
    and a request for the same lane waits for that thread's result instead of reading it again.
    A failed computation is forgotten: the threads waiting for it get its error, and the next
    request tries again. No computation asks for its own key (``_reference`` is asked for by
    the others, never by itself), which ``_once`` relies on: a thread waiting for its own
    result would wait for ever. The store is passed
    in, not kept: ``_days`` holds its days weakly by store, and a day that held its store
    would keep it alive.
    """

    def __init__(self, day: datetime) -> None:
        self._day = day
        self._lock = threading.Lock()
        self._made: OrderedDict[str, Future[pl.DataFrame]] = OrderedDict()  # reference, dwell
        self._lanes: OrderedDict[tuple[str, str], Future[pl.DataFrame]] = OrderedDict()

    def dwell(self, store: Store) -> pl.DataFrame:
        return self._once(self._made, "dwell", partial(self._dwell, store))

    def lanes(self, store: Store, boxes: pl.DataFrame) -> pl.DataFrame:
        pairs = (
            boxes.select(
                pl.col("port_of_loading").str.slice(0, 2).alias("origin"), "port_of_discharge"
            )
            .drop_nulls()
            .unique()
            .sort("origin", "port_of_discharge")
        )
        found = [
            self._once(
                self._lanes,
                (origin, port),
                partial(self._lane, store, origin, port),
                most=MAX_LANES,
            )
            for origin, port in pairs.iter_rows()
        ]
        empty = frames.BOXES.to_frame().with_columns(pl.lit(None, pl.Float64).alias("weight"))
        return pl.concat([empty, *found])

    def _once(
        self,
        kept: OrderedDict[_Key, Future[pl.DataFrame]],
        key: _Key,
        compute: Callable[[], pl.DataFrame],
        *,
        most: int | None = None,
    ) -> pl.DataFrame:
        """``kept[key]``, computed by ``compute`` unless another thread did or is doing so
        (then its result); with ``most``, the least recently asked for beyond it go."""
        with self._lock:
            promised = kept.get(key)
            mine = promised is None
            if promised is None:
                promised = kept[key] = Future()
            kept.move_to_end(key)
            while most is not None and len(kept) > most:
                kept.popitem(last=False)
        if mine:
            try:
                promised.set_result(compute())
            except BaseException as error:
                with self._lock:
                    if kept.get(key) is promised:
                        del kept[key]
                promised.set_exception(error)
                raise
        return promised.result()

    def _dwell(self, store: Store) -> pl.DataFrame:
        calls = reads.transshipments(store, known_by=self._day)
        return hubs.baseline(frames.known(calls, self._day), self._reference(store))

    def _lane(self, store: Store, origin: str, port: str) -> pl.DataFrame:
        lane = reads.lane_boxes(
            store,
            pl.DataFrame({"port_of_loading": [origin], "port_of_discharge": [port]}),
            lodged_by=self._day,
        )
        weights = self._reference(store).select("consignment_id", "weight")
        return lane.join(
            weights.unique("consignment_id"), on="consignment_id", how="left", maintain_order="left"
        ).with_columns(pl.col("weight").fill_null(NEWCOMER))

    def _reference(self, store: Store) -> pl.DataFrame:
        # ``reads.daily_reference`` keeps the day's frame too; conforming it to the schema it
        # already has copies nothing, so both hold the same columns.
        return self._once(
            self._made,
            "reference",
            lambda: frames.conform(reads.daily_reference(store, at=self._day), frames.REFERENCE),
        )
