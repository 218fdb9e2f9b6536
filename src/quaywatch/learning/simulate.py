"""The policy lab: replay generated traffic week by week through select → control → retrain.

Before an administration changes its control set-up (more scanners, a bigger random sample, a
different AEO policy, rules only or a model), it can try the change on traffic whose whole truth
is known. ``run`` replays one **strategy** over the weeks of a ``World``:

1. at the start of each week, retrain the model (every ``retrain_every`` weeks) on the control
   outcomes known by then: the legacy history plus what this strategy's own controls found,
   unweighted or with inverse-propensity weights (``Strategy.weighting``);
2. assess the week's consignments: rules only (the active risk profiles on top of the overall
   hit rate), the model alone, or both combined (``risk.combine``);
3. select controls under the capacity (``selection.policy.select``: rules first, random sample,
   optimiser, AEO facilitation), with the selection propensity of every decision;
4. control: each control finds what the truth holds at the detection rate of its type
   (``synth.controls.DETECTION``, the rates the legacy history was drawn with), and its outcome
   becomes known one to five days after arrival;
5. measure against the **full** truth, including everything nobody controlled: illicit
   consignments detected, revenue recovered, critical seizures, the burden on AEOs, and how well
   the week's model ranks all consignments (AUC on the truth), which is where a model that
   learnt only from its own selections shows its blind spots.

Container events, watchlists and the party graph are left out of the replay (profiles stand for
the analysts' knowledge): they need the store, and the lab is about the control set-up.
A shell company's consignment is controlled as the fraud it carries (undervaluation's
detection rates), as in the legacy history.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from enum import StrEnum
from pathlib import Path

import numpy as np
import polars as pl

from quaywatch.errors import InputError
from quaywatch.features import assessment, declared
from quaywatch.learning import metrics, train
from quaywatch.learning.weights import Weighting
from quaywatch.risk import combine, engine
from quaywatch.risk.bundle import RiskModel
from quaywatch.risk.profiles.apply import ProfileSet
from quaywatch.risk.profiles.frame import with_extras
from quaywatch.selection import policy as selection
from quaywatch.selection.capacity import Capacity
from quaywatch.synth import controls, frames, traffic
from quaywatch.synth.patterns import PatternRates

DAY = timedelta(days=1)
WEEK = timedelta(days=7)
#: The legacy control rates of the warm-up: 5 % random, 10 % by the old rules, so that a few
#: weeks of history hold enough outcomes for a first model (the generator's default, 1 % and
#: 2 %, needs a quarter).
LEGACY = controls.ControlRates(random_share=0.05, rule_share=0.10)
#: Weeks of lodging generated beyond the replay: a consignment is lodged about four weeks
#: before it arrives (at most seven), and the replay selects by arrival week.
TAIL_WEEKS = 7
#: Consignments a day the shipped capacity file is sized for (docs/selection.md).
CAPACITY_DAY = 8_000
#: Share of the revenue at stake a found fraud recovers (the legacy history's midpoints).
RECOVERED = {"undervaluation": 0.75, "misdeclaration": 0.95, "counterfeit": 1.0}
SEIZED = ("cocaine", "counterfeit", "wildlife")


class Scorer(StrEnum):
    """What ranks the consignments."""

    RULES = "rules"
    MODEL = "model"
    HYBRID = "hybrid"


@dataclass(frozen=True, slots=True)
class Strategy:
    """One control set-up to try.

    ``capacity_scale`` multiplies the capacity file after it is sized to the traffic volume;
    ``aeo_factor`` is the selection policy's (1 = no facilitation, 0 = never select an AEO
    by score).
    """

    name: str
    scorer: Scorer = Scorer.HYBRID
    capacity_scale: float = 1.0
    random_rate: float = 0.02
    aeo_factor: float = 0.5
    weighting: Weighting = Weighting.IPW
    retrain_every: int = 1


@dataclass(frozen=True, slots=True)
class World:
    """Generated traffic to replay: goods items, legacy outcomes, the truth, the weeks."""

    items: pl.DataFrame
    legacy: pl.DataFrame
    truth: pl.DataFrame
    start: datetime
    weeks: int
    per_day: int
    displacement: bool


def prepare(
    out: Path,
    *,
    weeks: int,
    warmup_weeks: int,
    per_day: int,
    seed: int,
    displacement: bool,
    legacy_rates: controls.ControlRates = LEGACY,
) -> World:
    """Generate ``warmup_weeks`` of legacy history and ``weeks`` to replay into ``out``.

    Weeks are arrival weeks: selection decides on the consignments arriving in a week (lodged
    up to seven weeks earlier, so ``TAIL_WEEKS`` more weeks of lodging are generated). The
    legacy controls of what arrived before the replay (and only those: what came after is the
    strategies' to decide) are the history the first model learns from. With
    ``displacement``, cocaine traffic moves to new routes two weeks into the replay.
    """
    rates = PatternRates(displacement_week=warmup_weeks + 2 if displacement else None)
    made = traffic.generate(
        out, days=(warmup_weeks + weeks + TAIL_WEEKS) * 7, per_day=per_day, seed=seed,
        rates=rates, with_events=False, legacy_controls=True, control_rates=legacy_rates,
    )  # fmt: skip
    items = frames.goods_item_rows(made.consignment_files)
    outcomes = frames.control_outcomes(sorted((made.out / "outcomes").glob("*.csv")))
    start = items.get_column("lodged_at").min()
    assert isinstance(start, datetime)
    start = start.replace(hour=0, minute=0, second=0, microsecond=0) + warmup_weeks * WEEK
    arrival = items.group_by(declared.KEY).agg(pl.col("eta").first())
    legacy = outcomes.join(arrival, on=list(declared.KEY)).filter(pl.col("eta") < start)
    truth = pl.read_parquet(made.out / "truth" / "truth.parquet")
    return World(items, legacy.drop("eta"), truth, start, weeks, per_day, displacement)


def _capacity(capacity: Capacity, world: World, strategy: Strategy) -> Capacity:
    scale = world.per_day / CAPACITY_DAY * strategy.capacity_scale
    return replace(capacity, amount=capacity.amount * scale,
                   policy=replace(capacity.policy, aeo_factor=strategy.aeo_factor))  # fmt: skip


def _rules_only(
    week: pl.DataFrame,
    history: pl.DataFrame,
    outcomes: pl.DataFrame,
    profiles: ProfileSet,
    t0: datetime,
) -> pl.DataFrame:
    """Assessments without a model: the overall hit rate, moved by the profiles' hits."""
    known = outcomes.select(assessment.hit().mean()).item()
    base = float(known) if known is not None else 0.03
    # The value reference from what was lodged before the week, as a model's would be.
    before = history.filter(pl.col("lodged_at") < t0)
    reference = declared.ValueReference.fit(declared.item_features(before))
    frame = assessment.assessment_frame(week, history=history, outcomes=outcomes,
                                        reference=reference)  # fmt: skip
    hits = profiles.apply(with_extras(frame, week)) if len(profiles) else None
    keyed = frame.select(*declared.KEY, pl.lit(base).alias("probability"))
    merged = combine.combine(keyed, hits if hits is not None else keyed.clear())
    return merged.with_columns(frame.get_column("duty_exposure_eur").fill_null(0.0)
                               .alias("revenue_at_stake_eur"))  # fmt: skip


def _assess(
    strategy: Strategy,
    week: pl.DataFrame,
    history: pl.DataFrame,
    outcomes: pl.DataFrame,
    model: RiskModel | None,
    profiles: ProfileSet,
    t0: datetime,
) -> pl.DataFrame:
    if strategy.scorer is Scorer.RULES or model is None:
        return _rules_only(week, history, outcomes, profiles, t0)
    return engine.assess(
        week, history=history, outcomes=outcomes, model=model,
        explain_rows=engine.Explain.NONE,
        profiles=profiles if strategy.scorer is Scorer.HYBRID else None,
    )  # fmt: skip


def control(decisions: pl.DataFrame, truth: pl.DataFrame, rng: np.random.Generator) -> pl.DataFrame:
    """The outcomes of the controls in ``decisions``, as ``reads.control_outcomes`` rows.

    ``decisions`` carries ``eta`` and the selection's ``control_type``, ``selected_by`` and
    ``propensity``; ``truth`` is the generator's truth. Known one to five days after arrival.
    """
    done = decisions.filter(pl.col("control_type").is_not_null()).join(
        truth.select(*declared.KEY, "pattern", pl.col("revenue_at_stake_eur").alias("_stake")),
        on=list(declared.KEY), how="left",
    )  # fmt: skip
    fraud = done.get_column("pattern").fill_null("none").replace("shell_company", "undervaluation")
    kinds = done.get_column("control_type").to_numpy().astype(str)
    found = controls.detected(rng, fraud.to_numpy().astype(str), kinds)
    real = (fraud != "none").to_numpy()
    share = fraud.replace_strict(RECOVERED, default=0.0, return_dtype=pl.Float64).to_numpy()
    stake = done.get_column("_stake").fill_null(0.0).to_numpy()
    seized = found & real & fraud.is_in(SEIZED).to_numpy()
    result = np.where(seized, "SEIZURE", np.where(found & real, "IRREGULAR", "COMPLIANT"))
    controlled = pl.col("eta") + pl.duration(hours=6)
    delay = (rng.uniform(1.0, 5.0, done.height) * 86_400_000_000).astype(np.int64)
    return done.with_columns(pl.Series("_delay", delay)).select(
        pl.format("S-{}-{}", "consignment_id", "control_type").alias("control_id"),
        *declared.KEY, "control_type", "selected_by", "propensity",
        controlled.alias("controlled_at"),
        (controlled + pl.duration(microseconds=pl.col("_delay"))).alias("known_at"),
        pl.Series("result", result, pl.String),
        pl.Series("revenue_recovered_eur", np.where(found & real, stake * share, 0.0)),
    )  # fmt: skip


def _share(flags: pl.Series) -> float:
    return float(flags.sum()) / flags.len() if flags.len() else 0.0


def _week_figures(
    w: int, week_truth: pl.DataFrame, decided: pl.DataFrame, found: pl.DataFrame,
    scores: pl.DataFrame, model: RiskModel | None,
) -> dict[str, float | int | None]:  # fmt: skip
    """One week's figures against the full truth."""
    everything = week_truth.join(
        decided.select(*declared.KEY, "control_type", "aeo"), on=list(declared.KEY), how="left"
    ).join(found.select(*declared.KEY, "result", "revenue_recovered_eur"),
           on=list(declared.KEY), how="left")  # fmt: skip
    controlled = everything.get_column("control_type").is_not_null()
    detected = everything.get_column("result").is_in(["IRREGULAR", "SEIZURE"]).fill_null(False)
    aeo = everything.get_column("aeo").fill_null(False)
    ranked = week_truth.join(scores.select(*declared.KEY, "probability"), on=list(declared.KEY))
    auc = metrics.roc_auc(ranked["probability"].to_numpy(), ranked["illicit"].to_numpy())
    return {
        "week": w + 1,
        "consignments": everything.height,
        "controls": int(controlled.sum()),
        "illicit": int(everything["illicit"].sum()),
        "detected": int((detected & everything["illicit"]).sum()),
        "critical": int(everything["critical"].sum()),
        "critical_seized": int((detected & everything["critical"]).sum()),
        "revenue_at_stake_eur": float(everything["revenue_at_stake_eur"].sum()),
        "revenue_recovered_eur": float(everything["revenue_recovered_eur"].fill_null(0.0).sum()),
        "aeo_control_rate": _share(controlled.filter(aeo)),
        "other_control_rate": _share(controlled.filter(~aeo)),
        "auc": auc if model is not None else None,
    }


def run(
    world: World,
    strategy: Strategy,
    *,
    capacity: Capacity,
    profiles: ProfileSet,
    seed: int = 0,
    params: dict[str, object] | None = None,
) -> pl.DataFrame:
    """Replay ``world`` with ``strategy``: one row of figures per week (see the module doc)."""
    if strategy.retrain_every < 1:
        raise ValueError("retrain_every must be at least 1 week")
    cap = _capacity(capacity, world, strategy)
    rng = np.random.default_rng([seed, 17])
    items, outcomes = world.items, world.legacy
    aeo = items.group_by(declared.KEY).agg(
        pl.col("carrier_scac", "eta").first(),
        ((pl.col("consignee_aeo").first() != "NONE") | (pl.col("declarant_aeo").first() != "NONE"))
        .alias("aeo"),
    )  # fmt: skip
    model: RiskModel | None = None
    rows = []
    for w in range(world.weeks):
        t0 = world.start + w * WEEK
        known = outcomes.filter(pl.col("known_at") < t0)
        if strategy.scorer is not Scorer.RULES and w % strategy.retrain_every == 0:
            # Too few labelled outcomes yet: keep the model there is (none: the rules).
            with contextlib.suppress(InputError):
                model = train.fit(items, known, until=t0, capacity_pct=3.0,
                                  params=dict(params or {}), weighting=strategy.weighting)  # fmt: skip
        history = items.filter(pl.col("lodged_at") < t0 + WEEK)
        week = history.filter(pl.col("eta").is_between(t0, t0 + WEEK, closed="left"))
        scores = _assess(strategy, week, history, known, model, profiles, t0)
        candidates = scores.join(aeo, on=list(declared.KEY), how="left")
        chosen = selection.select(candidates, cap, random_rate=strategy.random_rate,
                                  seed=seed * 1_000 + w).decisions  # fmt: skip
        decided = chosen.join(aeo, on=list(declared.KEY), how="left")
        found = control(decided, world.truth, rng)
        outcomes = pl.concat([outcomes, found], how="diagonal_relaxed")
        week_truth = world.truth.join(week.select(declared.KEY).unique(), on=list(declared.KEY))
        rows.append(_week_figures(w, week_truth, decided, found, scores, model))
    return pl.DataFrame(rows, schema_overrides={"auc": pl.Float64}).with_columns(
        pl.lit(strategy.name).alias("strategy")
    )
