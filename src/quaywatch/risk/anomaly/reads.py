"""What the anomaly detectors read from the store, and which consignments need a new look.

``events`` and ``boxes`` return the two frames of ``frames`` (the same queries on SQLite and
PostgreSQL; times come back timezone-aware UTC), of the whole store or of a few consignments:
``boxes(store, keys)`` their containers, ``events(store, containers)`` those containers'
events. What the detectors learn from the whole history has reads of its own that fetch no
more than it needs: ``transshipments`` (the hub-dwell baseline's events), ``lane_boxes`` (the
route frequencies of a few lanes) and ``reference`` (how far each box is reference traffic at a
moment, ``features.reference``: the baselines learn from it; ``daily_reference`` keeps a live
run's). A live run reads the first two as of the start of its day (``known_by``,
``lodged_by``), once a day (``daily``). ``stale`` answers the re-assessment question: which consignments have container events
known after their latest assessment, so that a scoring run assesses them again with what the
events now say.
"""

from __future__ import annotations

import threading
import weakref
from collections import OrderedDict
from collections.abc import Collection
from datetime import UTC, datetime

import polars as pl
from sqlalchemy import ColumnElement, false, func, or_, select

from quaywatch.features import reference as standing
from quaywatch.risk.anomaly.frames import BOXES, EVENTS, KEY, REFERENCE, SEAL
from quaywatch.risk.screening import Screener, watchlist_entries
from quaywatch.store import reads as store_reads, tables
from quaywatch.store.reads import frame
from quaywatch.store.store import Store

#: The customs events quaywatch emits itself (selected for scan, for inspection, released):
#: decisions about a container, not news of its journey, so they neither feed the detectors
#: nor make a consignment due for re-assessment.
OWN_EVENTS = ("CUSS", "CUSI", "CUSR")


def events(store: Store, containers: Collection[str] | None = None) -> pl.DataFrame:
    """Every stored container event with its seals (``frames.EVENTS``), but ``OWN_EVENTS``;
    with ``containers``, only the events of those container numbers."""
    e, s = tables.events, tables.event_seals
    names = [n for n in EVENTS.names() if n != "seals"]
    which: ColumnElement[bool] = e.c.event_code.not_in(OWN_EVENTS)
    if containers is not None:
        which = which & e.c.container_number.in_(sorted(containers))
    rows = frame(
        store, select(*(e.c[n] for n in names)).where(which), {n: EVENTS[n] for n in names}
    )
    if rows.is_empty():  # no event yet, as for most consignments just filed: no seals either
        return pl.DataFrame(schema=EVENTS)
    seal_rows = select(s.c.event_id, s.c.seal_number, s.c.source)
    if containers is not None:
        seal_rows = seal_rows.where(s.c.event_id.in_(select(e.c.event_id).where(which)))
    seals = frame(
        store,
        seal_rows,
        {"event_id": pl.String(), "seal_number": pl.String(), "source": pl.String()},
    )
    lists = seals.group_by("event_id").agg(
        pl.struct("seal_number", "source").sort_by("seal_number").alias("seals")
    )
    return (
        rows.join(lists, on="event_id", how="left")
        .with_columns(pl.col("seals").fill_null(pl.lit([], pl.List(SEAL))))
        .select(EVENTS.names())
        .cast(EVENTS)
    )


def boxes(store: Store, keys: pl.DataFrame | None = None) -> pl.DataFrame:
    """Every container of every stored consignment version, with route and declared seals;
    with ``keys`` (``consignment_id``, ``version``), only those versions' containers."""
    if keys is None:
        return _boxes(store, None)
    c = tables.consignments
    found = _boxes(store, c.c.consignment_id.in_(keys.get_column("consignment_id").unique().sort()))
    return found.join(keys.select(KEY).unique(), on=list(KEY), how="semi")


def lane_boxes(
    store: Store, lanes: pl.DataFrame, *, lodged_by: datetime | None = None
) -> pl.DataFrame:
    """The containers (``frames.BOXES``) of every version of every stored consignment that
    has a version on one of the lanes of ``lanes`` (``port_of_loading``, of which the country
    counts, and ``port_of_discharge``): what the route frequencies of those lanes are learnt
    from (a consignment counts on the lane of its newest version, which may be another).
    With ``lodged_by``, only the versions lodged by then."""
    c = tables.consignments
    origin = func.substr(c.c.port_of_loading, 1, 2)
    pairs = (
        lanes.select(pl.col("port_of_loading").str.slice(0, 2).alias("origin"), "port_of_discharge")
        .unique()
        .drop_nulls()
        .sort("origin", "port_of_discharge")
    )
    # The country is the first two letters of the port of loading; the range beside it lets
    # the index on (port of discharge, port of loading) find the lane. It holds because ports
    # are stored as checked UN/LOCODEs (two capitals, then three capitals or digits 2-9): each
    # of the country's lies between the country and the country followed by "ZZZ" in any
    # collation. The equality on the first two letters stays, so the range only has to hold
    # every one of them.
    on_lane = or_(false(), *(
        (c.c.port_of_discharge == port)
        & c.c.port_of_loading.between(country, f"{country}ZZZ")
        & (origin == country)
        for country, port in pairs.iter_rows()
    ))  # fmt: skip
    which: ColumnElement[bool] = c.c.consignment_id.in_(select(c.c.consignment_id).where(on_lane))
    if lodged_by is not None:
        which = which & (c.c.lodged_at <= lodged_by)
    return _boxes(store, which)


def transshipments(store: Store, *, known_by: datetime | None = None) -> pl.DataFrame:
    """The transshipment discharges and loadings (``frames.EVENTS``, without seals): the
    events the hub-dwell baseline is learnt from; with ``known_by``, only those known (received
    and created) by then (``frames.known``)."""
    e = tables.events
    names = [n for n in EVENTS.names() if n != "seals"]
    which = e.c.is_transshipment.is_(True) & e.c.event_code.in_(("DISC", "LOAD"))
    if known_by is not None:
        which = which & (e.c.known_at <= known_by) & (e.c.created_time <= known_by)
    query = select(*(e.c[n] for n in names)).where(which)
    rows = frame(store, query, {n: EVENTS[n] for n in names})
    return rows.with_columns(pl.lit([], pl.List(SEAL)).alias("seals")).cast(EVENTS)


def reference(store: Store, *, at: datetime, outcomes: pl.DataFrame | None = None) -> pl.DataFrame:
    """Every container of every stored consignment lodged by ``at`` with its consignment's
    weight as reference traffic at ``at`` (``frames.REFERENCE``; ``features.reference``).

    ``outcomes`` are the control outcomes that may put traffic under suspicion (None: every
    stored one; only those recorded before ``at`` count); the watchlists are those published by
    ``at``, and only a strong match (an identifier, or a name at the same address) puts a
    party's traffic under suspicion: a name alone is too weak to take traffic out of a baseline.
    """
    return _reference(
        store, at=at, outcomes=store_reads.control_outcomes(store) if outcomes is None else outcomes
    )


def daily_reference(store: Store, *, at: datetime) -> pl.DataFrame:
    """``reference`` at the start of ``at``'s day (UTC) with every stored outcome, kept for
    the day.

    A live scoring run's baselines. ``reference`` reads every container and screens every
    trader, far too much to repeat for each consignment filed through the API, and a day's
    traffic moves a baseline of weeks little. So the first live run of a day computes the
    reference traffic of that day's start, as the store holds it then, and every later run of
    the day uses it: a consignment filed, an outcome recorded or a list loaded during the day
    joins the baselines the next day (its own assessment still sees it: only the baselines
    wait). Consignments lodged since the start of the day have no standing in it; the
    detectors count them as newcomers.
    """
    day = at.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    with _daily_lock:
        days = _daily.get(store)
        found = None if days is None else days.get(day)
    if found is None:  # computed outside the lock: other stores' runs go on meanwhile
        computed = reference(store, at=day)
        with _daily_lock:
            days = _daily.setdefault(store, OrderedDict())
            found = days.setdefault(day, computed)
            days.move_to_end(day)
            while len(days) > _DAYS_KEPT:
                days.popitem(last=False)
    return found


#: Days whose reference traffic ``daily_reference`` keeps per store, held weakly by store (the
#: frames do not refer to it): a closed store's go with it.
_DAYS_KEPT = 4
_daily: weakref.WeakKeyDictionary[Store, OrderedDict[datetime, pl.DataFrame]] = (
    weakref.WeakKeyDictionary()
)
_daily_lock = threading.Lock()


def _reference(store: Store, *, at: datetime, outcomes: pl.DataFrame) -> pl.DataFrame:
    c, k = tables.consignments, tables.containers
    roles = {role: tables.parties.alias(role) for role in standing.TRADERS}
    header = ["consignment_id", "version", "transport_document", "lodged_at", "eta",
              "consignee_key", "consignor_key"]  # fmt: skip
    query = select(
        k.c.container_number, *(c.c[n] for n in header),
        *(party.c.aeo.label(f"{role}_aeo") for role, party in roles.items()),
    ).join_from(k, c, (k.c.consignment_id == c.c.consignment_id) & (k.c.version == c.c.version))  # fmt: skip
    for role, party in roles.items():
        query = query.outerjoin(party, party.c.party_key == c.c[f"{role}_key"])
    boxes = frame(store, query.where(c.c.lodged_at <= at))
    weights = standing.weights(boxes, at=at, outcomes=outcomes, listed=_listed(store, boxes, at))
    return (
        boxes.join(weights, on="consignment_id", how="inner")
        .unique(["consignment_id", "container_number", "transport_document"], keep="first")
        .sort("consignment_id", "container_number")
        .select(REFERENCE.names())
        .cast(REFERENCE)
    )


def _listed(store: Store, boxes: pl.DataFrame, at: datetime) -> list[str]:
    """The keys of the traders of ``boxes`` strongly matched on a watchlist published by ``at``."""
    entries = watchlist_entries(store, as_of=at.date())
    if entries.is_empty():
        return []
    keys = pl.concat([boxes.get_column(f"{role}_key") for role in standing.TRADERS]).unique()
    traders = store_reads.parties(store).filter(pl.col("party_key").is_in(keys.implode()))
    matches = Screener.build(entries).screen(traders)
    return sorted(set(matches.filter(pl.col("strong")).get_column("party_key").to_list()))


def _boxes(store: Store, which: ColumnElement[bool] | None) -> pl.DataFrame:
    """The containers of the consignment versions for which ``which`` (on ``consignments``)
    holds (None: all of them), with route and declared seals."""
    c, k, s = tables.consignments, tables.containers, tables.seals
    header = ["transport_document", "lodged_at", "eta", "port_of_loading",
              "transshipment_ports", "port_of_discharge", "place_of_delivery"]  # fmt: skip
    same = (k.c.consignment_id == c.c.consignment_id) & (k.c.version == c.c.version)
    query = select(k.c.consignment_id, k.c.version, k.c.container_number,
                   *(c.c[n] for n in header)).join_from(k, c, same)  # fmt: skip
    if which is not None:
        query = query.where(which)
    schema = {n: dtype for n, dtype in BOXES.items() if n != "declared_seals"}
    rows = frame(store, query, schema)
    seal_rows = select(s.c.consignment_id, s.c.version, s.c.container_number, s.c.seal_number)
    if which is not None:  # a few consignments: their seals only (the whole store: no join)
        sealed = (s.c.consignment_id == c.c.consignment_id) & (s.c.version == c.c.version)
        seal_rows = seal_rows.join_from(s, c, sealed).where(which)
    declared = frame(
        store,
        seal_rows,
        {
            "consignment_id": pl.String(),
            "version": pl.Int64(),
            "container_number": pl.String(),
            "seal_number": pl.String(),
        },  # fmt: skip
    )
    box = ["consignment_id", "version", "container_number"]
    lists = declared.group_by(box).agg(pl.col("seal_number").sort().alias("declared_seals"))
    return (
        rows.join(lists, on=box, how="left")
        .with_columns(pl.col("declared_seals").fill_null(pl.lit([], pl.List(pl.String))))
        .select(BOXES.names())
        .cast(BOXES)
    )


def stale(store: Store, consignment_ids: Collection[str] | None = None) -> pl.DataFrame:
    """``consignment_id``, ``version`` of assessed consignments (of these, when given) whose
    containers have events known after the consignment's latest assessment (``assessed_at``,
    the moment it was assessed as of).

    An event counts for a consignment when it names one of its containers and either its
    transport document or none, and is not one of ``OWN_EVENTS``. One query on either backend.
    ``known_at`` decides, as for every as-of read: an event received live is known when it
    arrives; one imported for a backtest with its creation time makes stale the assessments as
    of a moment before that creation, not every assessment made before the import (those as of
    a later moment already saw it, or, assessed before it was loaded, need ``--rescore``).
    """
    a, c, k, e = tables.assessments, tables.consignments, tables.containers, tables.events
    latest_of = select(
        a.c.consignment_id, a.c.version, func.max(a.c.assessed_at).label("assessed_at")
    )
    if consignment_ids is not None:
        latest_of = latest_of.where(a.c.consignment_id.in_(sorted(consignment_ids)))
    latest = latest_of.group_by(a.c.consignment_id, a.c.version).subquery("latest")
    same = (latest.c.consignment_id == k.c.consignment_id) & (latest.c.version == k.c.version)
    query = (
        select(latest.c.consignment_id, latest.c.version)
        .select_from(latest)
        .join(k, same)
        .join(c, (c.c.consignment_id == k.c.consignment_id) & (c.c.version == k.c.version))
        .join(
            e,
            (e.c.container_number == k.c.container_number)
            & or_(
                e.c.transport_document == c.c.transport_document, e.c.transport_document.is_(None)
            )  # fmt: skip
            & (e.c.known_at > latest.c.assessed_at)
            & e.c.event_code.not_in(OWN_EVENTS),
        )
        .distinct()
        .order_by(latest.c.consignment_id, latest.c.version)
    )
    return frame(store, query, {"consignment_id": pl.String(), "version": pl.Int64()})
