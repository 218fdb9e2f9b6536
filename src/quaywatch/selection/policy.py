"""A selection: rules first, then the random sample, then the optimiser; lanes and propensities.

``select`` takes candidates (one row per consignment, see ``CANDIDATE_COLUMNS``) and a capacity
file, and decides per candidate its control, lane, who selected it and with what probability:

1. *Rules first*: a minimum lane (``lane_floor``: yellow → documentary, orange → at least a
   scan, red → physical) or a referral (RFI → documentary, RFS → scan, DNL → physical) is always
   honoured and takes capacity before anything else (``selected_by`` RULE). When these exceed a
   shift's capacity they are all kept and the excess is reported in ``overloads``.
2. *Random sample*: each candidate is drawn with probability ``random_rate`` (seeded RNG, over
   the candidates in key order, so a run can be reproduced) and gets the policy's random control,
   outside the optimiser (RANDOM). The sample measures what the other controls cannot: how much
   is found where no one looked.
3. *Optimiser*: every other candidate is worth probability × (revenue at stake + critical
   weight if ``critical``), times the AEO factor for AEO consignments; ``selection.solver``
   chooses controls that maximise the expected detected value in the capacity left (MODEL).

Propensity, what the learning loop weights outcomes by, is the probability that the whole
policy selects the consignment: 1 for RULE and MODEL decisions, ``rate + (1 − rate) × [the
optimiser would have picked it]`` for RANDOM (the optimiser would have picked a drawn candidate
when it weighs at least as much as the lightest one it picked in that shift), and ``rate`` for
consignments not selected (NONE), which the sample could have drawn.

Lanes: red, orange, yellow by control; green without one, or blue (post-clearance audit) for a
consignment released at arrival whose revenue at stake is high but probability low.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import polars as pl

from quaywatch.errors import RecordError
from quaywatch.selection.capacity import CONTROL_LANES, CONTROLS, Capacity, Policy
from quaywatch.selection.solver import Problem, solve

#: Required candidate columns; ``assessment_id``, ``aeo``, ``critical``, ``lane_floor`` and
#: ``referral`` are optional (absent or null: none, not AEO, not critical).
CANDIDATE_COLUMNS = ("consignment_id", "version", "probability", "revenue_at_stake_eur",
                     "carrier_scac", "eta")  # fmt: skip
LANE_FLOORS = {"green": -1, "yellow": 0, "orange": 1, "red": 2}
REFERRAL_FLOORS = {"RFI": 0, "RFS": 1, "DNL": 2}
SELECTED_BY = ("RULE", "RANDOM", "MODEL", "NONE")


@dataclass(frozen=True, slots=True)
class Selection:
    """Decisions per candidate, capacity use per terminal shift, and floors over capacity."""

    decisions: pl.DataFrame
    usage: pl.DataFrame
    overloads: pl.DataFrame
    objective: float


def _optional(candidates: pl.DataFrame) -> pl.DataFrame:
    defaults = {"assessment_id": pl.lit(None, pl.Int64), "aeo": pl.lit(False),
                "critical": pl.lit(False), "lane_floor": pl.lit(None, pl.String),
                "referral": pl.lit(None, pl.String)}  # fmt: skip
    missing = [name for name in CANDIDATE_COLUMNS if name not in candidates.columns]
    if missing:
        raise RecordError(f"candidates lack column(s) {', '.join(missing)}", field=missing[0])
    return candidates.with_columns(
        expr.alias(name) for name, expr in defaults.items() if name not in candidates.columns
    ).with_columns(pl.col("aeo", "critical").fill_null(False))


def _check(frame: pl.DataFrame, column: str, allowed: dict[str, int]) -> None:
    bad = frame.filter(pl.col(column).is_not_null() & ~pl.col(column).is_in(list(allowed)))
    if bad.height:
        row = bad.row(0, named=True)
        raise RecordError(
            f"{row[column]!r} is not one of {', '.join(allowed)}",
            record_id=f"{row['consignment_id']} v{row['version']}", field=column,
        )  # fmt: skip


@dataclass(frozen=True, slots=True)
class Prepared:
    """Candidates with their terminal shift, and the solver problem they make."""

    frame: pl.DataFrame
    groups: pl.DataFrame
    problem: Problem
    rule: np.ndarray
    drawn: np.ndarray
    policy: Policy


def prepare(
    candidates: pl.DataFrame,
    capacity: Capacity,
    *,
    random_rate: float = 0.02,
    seed: int = 0,
    policy: Policy | None = None,
) -> Prepared:
    """Rules, the random draw and the value of each candidate, as a ``solver.Problem``."""
    if not 0.0 <= random_rate <= 1.0:
        raise RecordError(f"random rate {random_rate} is not between 0 and 1", field="random_rate")
    policy = policy or capacity.policy
    frame = capacity.assign(_optional(candidates).sort("consignment_id", "version"))
    _check(frame, "lane_floor", LANE_FLOORS)
    _check(frame, "referral", REFERRAL_FLOORS)
    n = frame.height
    shifts = [s.name for s in capacity.shifts]
    groups = (
        frame.select("terminal", "shift", "shift_start").unique().sort("shift_start", "terminal")
    )
    groups = groups.with_row_index("group").with_columns(pl.col("group").cast(pl.Int64))
    frame = frame.join(groups, on=["terminal", "shift", "shift_start"], maintain_order="left")
    t_index = [capacity.terminals.index(t) for t in groups["terminal"]]
    s_index = [shifts.index(s) for s in groups["shift"]]
    amounts = capacity.amount[t_index, s_index].reshape(groups.height, len(capacity.resources))

    rule = np.maximum(
        frame["lane_floor"]
        .replace_strict(LANE_FLOORS, default=-1, return_dtype=pl.Int64)
        .to_numpy(),
        frame["referral"]
        .replace_strict(REFERRAL_FLOORS, default=-1, return_dtype=pl.Int64)
        .to_numpy(),
    )
    drawn = np.random.default_rng(seed).random(n) < random_rate
    random_floor = CONTROLS.index(policy.random_control)
    floor = np.where(drawn, np.maximum(rule, random_floor), rule)
    p = frame["probability"].to_numpy().astype(float)
    revenue = frame["revenue_at_stake_eur"].to_numpy().astype(float)
    weight = p * (
        np.maximum(revenue, 0.0) + policy.critical_weight_eur * frame["critical"].to_numpy()
    )
    weight = np.clip(np.where(frame["aeo"].to_numpy(), weight * policy.aeo_factor, weight), 0, None)
    problem = Problem(frame["group"].to_numpy(), weight, floor, drawn & (rule < 0), amounts,
                      capacity.use, capacity.detection)  # fmt: skip
    return Prepared(frame, groups, problem, rule, drawn, policy)


def select(
    candidates: pl.DataFrame,
    capacity: Capacity,
    *,
    random_rate: float = 0.02,
    seed: int = 0,
    policy: Policy | None = None,
) -> Selection:
    """Decide a control (or none) for each candidate; see the module docstring for the rules."""
    ready = prepare(candidates, capacity, random_rate=random_rate, seed=seed, policy=policy)
    frame, groups, problem, rule, drawn = (ready.frame, ready.groups, ready.problem, ready.rule,
                                           ready.drawn)  # fmt: skip
    policy = ready.policy
    weight = problem.weight
    p = frame["probability"].to_numpy().astype(float)
    revenue = frame["revenue_at_stake_eur"].to_numpy().astype(float)
    solution = solve(problem)
    choice = solution.choice

    by = np.where(
        rule >= 0, "RULE", np.where(drawn, "RANDOM", np.where(choice >= 0, "MODEL", "NONE"))
    )
    picked = by == "MODEL"
    lightest = np.full(groups.height, np.inf)
    np.minimum.at(lightest, problem.group[picked], weight[picked])
    would = weight >= lightest[problem.group]
    propensity = np.select(
        [(by == "RULE") | picked, by == "RANDOM"],
        [1.0, random_rate + (1 - random_rate) * would], random_rate,
    )  # fmt: skip
    lanes = np.array([CONTROL_LANES[c] for c in CONTROLS] + ["green"])[choice]
    blue = (
        (choice < 0) & (revenue >= policy.blue_min_revenue_eur) & (p < policy.blue_max_probability)
    )
    lanes = np.where(blue, "blue", lanes)
    control = np.array([c.upper() for c in CONTROLS] + [None], dtype=object)[choice]
    decisions = frame.select(
        "consignment_id", "version", "assessment_id", "terminal", "shift", "shift_start",
        "probability", "revenue_at_stake_eur",
    ).with_columns(
        pl.Series("lane", lanes, pl.String),
        pl.Series("control_type", control.tolist(), pl.String),
        pl.Series("selected_by", by, pl.String),
        pl.Series("propensity", propensity, pl.Float64),
        pl.Series("expected_value", np.where(choice >= 0, weight * capacity.detection[choice], 0.0)),
    )  # fmt: skip
    return Selection(decisions, _usage(problem, choice, groups, capacity),
                     _overloads(problem, rule, groups, capacity, solution.overload),
                     solution.objective)  # fmt: skip


def _usage(
    problem: Problem, choice: np.ndarray, groups: pl.DataFrame, capacity: Capacity
) -> pl.DataFrame:
    """Per terminal shift and resource: capacity, used, and controls of each type."""
    used = problem.usage(choice)
    counts = np.zeros((groups.height, len(CONTROLS)), dtype=np.int64)
    chosen = choice >= 0
    np.add.at(counts, (problem.group[chosen], choice[chosen]), 1)
    candidates = np.bincount(problem.group, minlength=groups.height)
    rows = groups.with_columns(
        pl.Series("candidates", candidates),
        *(pl.Series(c, counts[:, k]) for k, c in enumerate(CONTROLS)),
    )
    per = [rows.with_columns(pl.lit(r).alias("resource"), pl.Series("capacity", problem.capacity[:, q]),
                             pl.Series("used", used[:, q]))
           for q, r in enumerate(capacity.resources)]  # fmt: skip
    return pl.concat(per).sort("shift_start", "terminal", "resource")


def _overloads(
    problem: Problem, rule: np.ndarray, groups: pl.DataFrame, capacity: Capacity, excess: np.ndarray
) -> pl.DataFrame:
    """Resources the rules and the random sample alone overrun, per terminal shift."""
    by_rules = problem.usage(np.where(rule >= 0, rule, -1))
    g, q = np.nonzero(excess > 1e-9)
    return (
        groups[g]
        .select("terminal", "shift", "shift_start")
        .with_columns(
            pl.Series("resource", [capacity.resources[i] for i in q], pl.String),
            pl.Series("capacity", problem.capacity[g, q]),
            pl.Series("required_by_rules", by_rules[g, q]),
            pl.Series("required", problem.capacity[g, q] + excess[g, q]),
        )
    )
