"""Route and event anomalies as hits: every detector over a batch of consignments at once.

``detect`` runs every detector over the events known at the assessment time and returns a
hits frame (``risk.hits``): per consignment and detector one row, the strongest finding of its
containers, with the detector's weight (log-odds), an officer-readable reason and, for the
strongest rip-on/rip-off signatures, a minimum lane. ``detect_store`` does the same from the
store. The engine merges the rows with the model's probability and the other sources.

The weights are measured, not guessed: the log of how much more often a detector fires on
cocaine consignments than on licit ones in generated traffic (``docs/anomalies.md`` gives the
figures), rounded down and capped so that one anomaly never outweighs everything else.

>>> found = detect(events, boxes, at=now)  # doctest: +SKIP
>>> found.select("code", "text").row(0)  # doctest: +SKIP
('anomaly:hub_dwell', 'waited 9.5 days at MAPTM (3 Oct to 12 Oct), usual 2.0 days (95th pct 3.4)')
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import polars as pl

from quaywatch.risk import hits
from quaywatch.risk.anomaly import daily, frames, hubs, reads, route, seals, timing
from quaywatch.risk.explain import Source
from quaywatch.store.store import Store


@dataclass(frozen=True, slots=True)
class Detector:
    """A detector's weight (log-odds it adds) and the minimum lane it demands, if any."""

    weight: float
    lane: str | None = None


#: Code ``anomaly:<name>``. The first four are measured on generated traffic: each weight is
#: the log-odds the detector adds **given the fraud model and the other sources** (a logistic
#: regression of the truth on every hit with the model's logit as offset, on a calibration run,
#: seed 3: ``benchmarks/hit_weights.py``; docs/anomalies.md), the scale ``risk.combine`` adds
#: on. ``rare_route`` fitted 4.3 on 36 flags, all of them cocaine (its raw log likelihood ratio
#: is above 7): kept at 4.5. The other four never fire on generated traffic (the generator does
#: not produce them) and carry a judgment weight on the same scale.
CAP = 5.0
DETECTORS: dict[str, Detector] = {
    "seal_changed": Detector(3.2, "orange"),  # precision 0.44, recall on cocaine 0.59
    "hub_restuffed": Detector(2.4, "orange"),  # precision 0.41
    "hub_dwell": Detector(0.7),  # precision 0.09: most long dwells are innocent
    "rare_route": Detector(4.5),  # precision 1.0 on 36 flags
    "seal_undeclared": Detector(1.2),
    "off_route": Detector(1.5),
    "seen_before_lodging": Detector(2.0),
    "gate_out_no_discharge": Detector(2.0),
}


def findings(
    events: pl.DataFrame,
    consignments: pl.DataFrame,
    *,
    at: datetime,
    calls: pl.DataFrame | None = None,
    routes: pl.DataFrame | None = None,
    reference: pl.DataFrame | None = None,
    learnt: daily.Learnt | None = None,
) -> pl.DataFrame:
    """Every detector's findings per container (``frames.FOUND``), before weighting.

    ``events`` (``frames.EVENTS``) and ``consignments`` (``frames.BOXES``, one row per
    container) may hold the whole history: the dwell baseline and the route frequencies are
    learnt from it, as of ``at``. Or they hold only the boxes to look at and their containers'
    events, and the history comes apart: ``calls``, the events the hub-dwell baseline is learnt
    from (at least every transshipment discharge and loading), and ``routes``, the boxes the
    route frequencies are learnt from (at least every version of every consignment on the
    lanes looked at); the findings on those boxes are the same.

    ``reference`` (``frames.REFERENCE``: every box of the history with its consignment's weight
    as reference traffic at ``at``, ``reads.reference``) keeps traffic under suspicion out of
    both baselines; without it every consignment counts fully, as if none were suspect.

    ``learnt`` holds both baselines learnt apart (a live run's, as of the start of its day:
    ``daily.learnt``); ``calls``, ``routes`` and ``reference`` are then not read, and each
    consignment is judged against the lanes' kept traffic alone (``route.rare_route``).
    """
    boxes = frames.conform(consignments, frames.BOXES).filter(pl.col("lodged_at") <= at)
    seen = frames.known(frames.conform(events, frames.EVENTS), at)
    usual = seen if calls is None else frames.known(frames.conform(calls, frames.EVENTS), at)
    lanes = boxes if routes is None else frames.conform(routes, frames.BOXES)
    if seen.is_empty() and learnt is not None:
        # No container event known yet (a consignment filed before its box moves, as most
        # are): every detector but the route's reads the events, so only the route is judged.
        rare = route.rare_route(boxes, at=at, history=learnt.lanes)
        return rare.select(frames.FOUND.names()).cast(frames.FOUND)
    journeys = frames.journeys(seen, boxes)
    if reference is not None:
        reference = frames.conform(reference, frames.REFERENCE)
    weights = (
        None
        if reference is None
        else reference.select("consignment_id", "weight").unique("consignment_id", keep="first")
    )
    if learnt is None:
        dwell = hubs.dwell(journeys, hubs.baseline(usual, reference), at=at)
        rare = route.rare_route(lanes, at=at, weights=weights)
    else:
        dwell = hubs.dwell(journeys, learnt.dwell, at=at)
        rare = route.rare_route(boxes, at=at, history=learnt.lanes)
    found = [
        seals.detect(journeys),
        hubs.restuffed(journeys),
        dwell,
        route.off_route(journeys),
        rare,
        timing.seen_before_lodging(journeys),
        timing.gate_out_no_discharge(journeys),
    ]
    return pl.concat([f.select(frames.FOUND.names()).cast(frames.FOUND) for f in found])


def detect(
    events: pl.DataFrame,
    consignments: pl.DataFrame,
    *,
    at: datetime,
    keys: pl.DataFrame | None = None,
    calls: pl.DataFrame | None = None,
    routes: pl.DataFrame | None = None,
    reference: pl.DataFrame | None = None,
    learnt: daily.Learnt | None = None,
) -> pl.DataFrame:
    """Anomaly hits (``risk.hits`` frame) of the consignments known at ``at``.

    ``keys`` (``consignment_id``, ``version``) limits the hits to those consignments; the
    history in ``events`` and ``consignments`` (or in ``calls`` and ``routes``: ``findings``)
    still informs the baselines, learnt from the reference traffic ``reference`` says, unless
    ``learnt`` holds them (``findings``).
    """
    found = findings(events, consignments, at=at, calls=calls, routes=routes,
                     reference=reference, learnt=learnt)  # fmt: skip
    if keys is not None:
        found = found.join(keys.select(frames.KEY).unique(), on=list(frames.KEY), how="semi")
    weights = pl.DataFrame(
        {
            "detector": list(DETECTORS),
            "weight": [d.weight for d in DETECTORS.values()],
            "lane": [d.lane for d in DETECTORS.values()],
        },
        schema={"detector": pl.String, "weight": pl.Float64, "lane": pl.String},
    )
    strongest = (
        found.sort("strength", "container_number", "text", descending=[True, False, False])
        .unique(subset=[*frames.KEY, "detector"], keep="first")
        .join(weights, on="detector", how="left")
        .sort([*frames.KEY, "weight", "detector"], descending=[False, False, True, False])
    )
    return hits.conform(
        strongest.with_columns(
            pl.format("anomaly:{}", "detector").alias("code"),
            pl.lit(Source.ANOMALY.value).alias("source"),
        )
    )


def detect_store(
    store: Store,
    keys: pl.DataFrame | None,
    *,
    now: datetime,
    outcomes: pl.DataFrame | None = None,
) -> pl.DataFrame:
    """``detect`` over what the store knows at ``now``, for ``keys`` (None: every consignment).

    For a few consignments it reads their containers and those containers' events, and of the
    history only what the baselines learn from (``reads.transshipments``, ``reads.lane_boxes``,
    ``reads.reference``), not every event. The baselines learn from reference traffic as
    known at ``now``: ``outcomes`` are the control outcomes that may put traffic under
    suspicion, and both baselines are learnt as of ``now``. None is a live run: every stored
    outcome, and both baselines learnt as of the start of ``now``'s day and kept for the day's
    later runs (``daily``): a consignment's own containers' events are still read as of ``now``.
    """
    if outcomes is None:
        boxes = reads.boxes(store, keys)
        containers = None if keys is None else boxes.get_column("container_number").unique()
        return detect(
            reads.events(store, containers=None if containers is None else containers.to_list()),
            boxes, at=now, keys=keys, learnt=daily.learnt(store, boxes, at=now),
        )  # fmt: skip
    reference = reads.reference(store, at=now, outcomes=outcomes)
    if keys is None:
        return detect(reads.events(store), reads.boxes(store), at=now, reference=reference)
    boxes = reads.boxes(store, keys)
    return detect(
        reads.events(store, containers=boxes.get_column("container_number").unique().to_list()),
        boxes, at=now, keys=keys, calls=reads.transshipments(store, known_by=now),
        routes=reads.lane_boxes(store, boxes), reference=reference,
    )  # fmt: skip
