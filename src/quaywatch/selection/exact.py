"""The exact selection: the same problem as ``selection.solver`` as a MILP solved by HiGHS.

Not for production (it takes seconds to minutes where the fast solver takes milliseconds), but
the yardstick: the tests check the fast solver against it on many small instances, and
``benchmarks/selection.py`` on 100,000 candidates. One binary per allowed (candidate, control):

    maximise   Σ weight_i · detection_k · x_ik
    subject to Σ_k x_ik ≤ 1          (= 1 for a candidate with a floor)
               Σ_i,k use_kr · x_ik ≤ capacity_gr   for each group g and resource r

with x_ik allowed only for k ≥ floor_i (k = floor_i for a fixed one). Groups share nothing, so
each is solved on its own and the optimum is the sum. Floors must fit the capacity (the fast
solver's over-capacity convention has no MILP equivalent); a group whose floors do not fit is
reported infeasible.
"""

from __future__ import annotations

from dataclasses import dataclass

import highspy
import numpy as np

from quaywatch.selection.solver import Problem


@dataclass(frozen=True, slots=True)
class ExactSolution:
    """The MILP's choice (-1 none), its objective, and the best upper bound HiGHS proved.

    ``optimal`` is true when every group was solved to optimality (``bound`` then equals the
    objective up to HiGHS's gap tolerance); otherwise ``bound`` is the MIP dual bound (at worst
    the LP relaxation's) of the groups that ran out of time.
    """

    choice: np.ndarray
    objective: float
    bound: float
    optimal: bool


def solve_exact(
    problem: Problem, *, time_limit: float = 60.0, relax: bool = False
) -> ExactSolution:
    """Solve ``problem`` with HiGHS; ``time_limit`` in seconds per group.

    ``relax`` solves the LP relaxation instead: no choice (all -1), ``bound`` its optimum.
    """
    p = problem
    choice = np.full(p.weight.size, -1, dtype=np.int64)
    objective = bound = 0.0
    optimal = True
    for g in range(p.capacity.shape[0]):
        members = np.flatnonzero(p.group == g)
        if not members.size:
            continue
        found, value, upper, done = _solve_group(p, g, members, time_limit, relax)
        choice[members] = found
        objective, bound, optimal = objective + value, bound + upper, optimal and done
    return ExactSolution(choice, objective, bound, optimal)


def _solve_group(
    p: Problem, g: int, members: np.ndarray, time_limit: float, relax: bool
) -> tuple[np.ndarray, float, float, bool]:
    n, k_count = members.size, p.use.shape[0]
    floor, fixed = p.floor[members], p.fixed[members]
    k = np.arange(k_count)
    allowed = (k[None, :] >= floor[:, None]) & (~fixed[:, None] | (k[None, :] == floor[:, None]))
    item, control = np.nonzero(allowed)  # one column per allowed pair, item-major
    resources = np.flatnonzero(p.use.any(axis=0))
    # Column entries: its item's row, then one row per resource the control uses.
    per_resource = p.use[np.ix_(control, resources)]
    rows = np.column_stack(
        [item, n + np.broadcast_to(np.arange(resources.size), per_resource.shape)]
    )
    values = np.column_stack([np.ones(item.size), per_resource])
    keep = values != 0
    counts = keep.sum(axis=1)

    lp = highspy.HighsLp()
    lp.num_col_, lp.num_row_ = item.size, n + resources.size
    lp.sense_ = highspy.ObjSense.kMaximize
    lp.col_cost_ = p.weight[members][item] * p.detection[control]
    lp.col_lower_ = np.zeros(item.size)
    lp.col_upper_ = np.ones(item.size)
    lp.row_lower_ = np.concatenate(
        [np.where(floor >= 0, 1.0, 0.0), np.full(resources.size, -np.inf)]
    )
    lp.row_upper_ = np.concatenate([np.ones(n), p.capacity[g, resources]])
    lp.a_matrix_.format_ = highspy.MatrixFormat.kColwise
    lp.a_matrix_.start_ = np.concatenate([[0], np.cumsum(counts)]).astype(np.int32)
    lp.a_matrix_.index_ = rows[keep].astype(np.int32)
    lp.a_matrix_.value_ = values[keep]
    if not relax:
        lp.integrality_ = [highspy.HighsVarType.kInteger] * item.size

    highs = highspy.Highs()  # type: ignore[no-untyped-call]
    highs.setOptionValue("output_flag", False)
    highs.setOptionValue("time_limit", float(time_limit))
    highs.setOptionValue("mip_rel_gap", 1e-6)
    highs.setOptionValue("threads", 1)
    highs.passModel(lp)
    highs.run()
    status = highs.getModelStatus()
    info = highs.getInfo()
    found = np.full(n, -1, dtype=np.int64)
    if status == highspy.HighsModelStatus.kInfeasible:
        return found, 0.0, 0.0, False
    if relax:
        value = float(info.objective_function_value)
        return found, 0.0, value, status == highspy.HighsModelStatus.kOptimal
    x = np.asarray(highs.getSolution().col_value) > 0.5
    found[item[x]] = control[x]
    value = float((p.weight[members][item[x]] * p.detection[control[x]]).sum())
    done = status == highspy.HighsModelStatus.kOptimal
    return found, value, max(float(info.mip_dual_bound), value), done
