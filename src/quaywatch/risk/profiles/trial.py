"""Trying profiles on past traffic before they go live: ``quaywatch profiles test``.

An analyst asks two questions of a draft profile: how much traffic would it stop (the share of
consignments hit, which costs control capacity), and is it any good (of the hit consignments
that were controlled, how many controls found something, against the rate of all controls in
the same period). ``trial_frame`` builds the profile frame of a period from the store, with no
trained model needed; ``trial`` answers both questions per profile.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import polars as pl

from quaywatch.errors import InputError, said
from quaywatch.features import assessment, declared
from quaywatch.risk.profiles.apply import ProfileSet
from quaywatch.risk.profiles.frame import profile_frame
from quaywatch.store import reads
from quaywatch.store.store import Store


@dataclass(frozen=True, slots=True)
class TrialData:
    """The profile frame of a period and the control outcome of its consignments."""

    frame: pl.DataFrame
    controlled: pl.DataFrame  # declared.KEY and ``found``: a control of it was a hit
    reference_note: str


def trial_frame(
    store: Store,
    *,
    since: datetime,
    until: datetime | None = None,
    reference: declared.ValueReference | None = None,
) -> TrialData:
    """The profile frame of the consignments lodged in ``[since, until)``.

    Entity histories see every consignment and outcome known before each consignment (as
    live); the value reference is ``reference`` (the model's) or, without one, fitted on the
    goods items lodged before ``since``.
    """
    history = reads.goods_item_rows(store)
    window = history.filter(pl.col("lodged_at") >= since)
    if until is not None:
        window = window.filter(pl.col("lodged_at") < until)
    if window.is_empty():
        start = since.strftime("%Y-%m-%d %H:%M")
        if until is not None:
            raise InputError(
                said(
                    "no consignment lodged from %(since)s to %(until)s",
                    since=start,
                    until=until.strftime("%Y-%m-%d %H:%M"),
                )
            )
        raise InputError(said("no consignment lodged from %(since)s", since=start))
    note = said("the current model's value reference")
    if reference is None:
        before = history.filter(pl.col("lodged_at") < since)
        note = said(
            "a value reference fitted on %(count)s goods items lodged before the period",
            count=format(before.height, ","),
        )
        if before.is_empty():
            before = window
            note = said(
                "a value reference fitted on the period itself (nothing is stored before it)"
            )
        reference = declared.ValueReference.fit(declared.item_features(before))
    outcomes = reads.control_outcomes(store)
    frame = profile_frame(window, history=history, outcomes=outcomes, reference=reference,
                          parties=reads.parties(store))  # fmt: skip
    controlled = (
        outcomes.with_columns(assessment.hit().alias("found"))
        .group_by(*declared.KEY)
        .agg(pl.col("found").any())
        .join(frame.select(declared.KEY), on=list(declared.KEY), how="semi")
    )
    return TrialData(frame, controlled, note)


def trial(profiles: ProfileSet, data: TrialData) -> pl.DataFrame:
    """Per profile: ``profile``, ``consignments``, ``hits``, ``traffic_share``,
    ``controlled_hits`` (hit consignments that were controlled), ``found`` (of those, how many
    controls were hits), ``hit_rate`` (found / controlled_hits, null without one),
    ``overall_hit_rate`` (of every controlled consignment of the period) and ``lift``.
    """
    matches = profiles.matches(data.frame).join(data.controlled, on=list(declared.KEY), how="left")
    checked_all = data.controlled.height
    overall = int(data.controlled.get_column("found").sum()) / checked_all if checked_all else None
    rows = []
    for p in profiles.profiles:
        hit = matches.filter(pl.col(p.id))
        checked = hit.filter(pl.col("found").is_not_null())
        found = int(checked.get_column("found").sum())
        rate = found / checked.height if checked.height else None
        rows.append({
            "profile": f"{p.id} v{p.version}", "consignments": matches.height,
            "hits": hit.height, "traffic_share": hit.height / matches.height,
            "controlled_hits": checked.height, "found": found, "hit_rate": rate,
            "overall_hit_rate": overall,
            "lift": rate / overall if rate is not None and overall else None,
        })  # fmt: skip
    schema = {"profile": pl.String, "consignments": pl.Int64, "hits": pl.Int64,
              "traffic_share": pl.Float64, "controlled_hits": pl.Int64, "found": pl.Int64,
              "hit_rate": pl.Float64, "overall_hit_rate": pl.Float64, "lift": pl.Float64}  # fmt: skip
    return pl.DataFrame(rows, schema=schema)
