"""Selection benchmark: the fast solver against the exact HiGHS MILP on 100,000 candidates.

    python benchmarks/selection.py [--count 100000] [--capacity-scale 8] [--random-rate 0.01]
                                   [--seed 7] [--time-limit 60]

Candidates arrive over one day at the four terminals of the shipped capacity file (4 terminals ×
3 shifts × 3 control types), with skewed probabilities (beta(0.4, 12): most near zero, a long
tail), log-normal revenue at stake, 0.5 % critical threats, 30 % AEO consignments, 0.3 % rule
floors (red, orange, yellow) and a random sample. The shipped capacities fit one real day of
about 8,000 import consignments; ``--capacity-scale`` multiplies them so that the 100,000 here
are controlled at a comparable rate (about 8 %).

Measured: ``policy.prepare`` + ``solver.solve`` + decisions (``policy.select``, the whole call
production makes) and ``solver.solve`` alone; then HiGHS on the same problem, one MILP per
terminal shift with ``--time-limit`` seconds each. ``optimum_ratio`` is the fast objective over
the HiGHS optimum when HiGHS proves optimality in every group, else over its best bound (the
MIP dual bound, never above the LP relaxation), which can only understate the ratio;
``reference`` says which. Last line: JSON. Targets (issue 7): ≤ 1 s and ≥ 0.995.
"""

from __future__ import annotations

import argparse
import json
import time
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import numpy as np
import polars as pl

from quaywatch.selection import capacity as capacities, exact, policy, solver


def candidates(count: int, seed: int) -> pl.DataFrame:
    """``count`` synthetic candidates arriving on one day, shaped like ``run.candidates``."""
    rng = np.random.default_rng(seed)
    carriers = ["MSCU", "MAEU", "CMDU", "HLCU", "COSU", "EGLV", "ONEY", "ZIMU", "YMLU", "HDMU"]
    share = np.array([20, 16, 13, 10, 9, 8, 7, 4, 4, 4], dtype=float)
    start = datetime(2026, 11, 2, 5, tzinfo=UTC)  # 06:00 in Antwerp: the early shift
    lane_floor = rng.choice(
        ["red", "orange", "yellow", None], count, p=[0.0005, 0.0015, 0.001, 0.997]
    )
    return pl.DataFrame(
        {
            "consignment_id": [f"BM{i:08d}" for i in range(count)],
            "version": np.ones(count, dtype=np.int64),
            "assessment_id": np.arange(count, dtype=np.int64),
            "probability": rng.beta(0.4, 12, count),
            "revenue_at_stake_eur": np.round(rng.lognormal(7.0, 1.6, count), 2),
            "carrier_scac": rng.choice(carriers, count, p=share / share.sum()),
            "eta": [start + timedelta(seconds=int(s)) for s in rng.integers(0, 86_400, count)],
            "aeo": rng.random(count) < 0.3,
            "critical": rng.random(count) < 0.005,
            "lane_floor": lane_floor.tolist(),
        }
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=100_000)
    parser.add_argument("--capacity-scale", type=float, default=8.0)
    parser.add_argument("--random-rate", type=float, default=0.01)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--time-limit", type=float, default=60.0)
    args = parser.parse_args()

    shipped = capacities.load()
    capacity = replace(shipped, amount=shipped.amount * args.capacity_scale)
    frame = candidates(args.count, args.seed)
    options = {"random_rate": args.random_rate, "seed": args.seed}
    policy.select(frame.head(1_000), capacity, **options)  # warm up polars and numpy

    began = time.perf_counter()
    selection = policy.select(frame, capacity, **options)
    seconds = time.perf_counter() - began
    problem = policy.prepare(frame, capacity, **options).problem
    began = time.perf_counter()
    fast = solver.solve(problem)
    solver_seconds = time.perf_counter() - began
    if fast.overload.any():
        raise SystemExit("rule floors exceed capacity: raise --capacity-scale")

    began = time.perf_counter()
    best = exact.solve_exact(problem, time_limit=args.time_limit)
    highs_seconds = time.perf_counter() - began
    reference = "milp_optimum" if best.optimal else "milp_dual_bound"
    ratio = fast.objective / best.bound
    controlled = selection.decisions["control_type"].is_not_null().sum()
    print(
        f"{args.count:,} candidates, {problem.capacity.shape[0]} terminal shifts: "
        f"{controlled:,} controlled; select {seconds:.3f} s (solver {solver_seconds:.3f} s); "
        f"objective {fast.objective:,.0f} vs HiGHS {best.objective:,.0f} (bound "
        f"{best.bound:,.0f}, {reference}, {highs_seconds:.1f} s): ratio {ratio:.5f}"
    )
    print(
        json.dumps(
            {
                "seconds": round(seconds, 4),
                "solver_seconds": round(solver_seconds, 4),
                "optimum_ratio": round(ratio, 6),
                "reference": reference,
                "objective": round(fast.objective, 2),
                "highs_objective": round(best.objective, 2),
                "highs_bound": round(best.bound, 2),
                "highs_seconds": round(highs_seconds, 2),
                "candidates": args.count,
                "controlled": int(controlled),
                "groups": int(problem.capacity.shape[0]),
            }
        )
    )


if __name__ == "__main__":
    main()
