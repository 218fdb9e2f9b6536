"""The fast solver against the exact HiGHS MILP on many small random instances."""

from __future__ import annotations

import numpy as np
import pytest

from quaywatch.selection import capacity
from quaywatch.selection.exact import solve_exact
from quaywatch.selection.solver import Problem, solve

SHIPPED = capacity.load()


def instance(seed: int) -> Problem:
    """A small random instance: skewed weights, some rule floors, some fixed (random) ones."""
    rng = np.random.default_rng(seed)
    n, groups = int(rng.integers(5, 60)), int(rng.integers(1, 4))
    if seed % 3:
        use, detection = SHIPPED.use, SHIPPED.detection
    else:  # any resource pattern, any increasing detection rates
        use = rng.choice([0, 0.5, 1, 2, 3], size=(3, 3))
        use[use.sum(axis=1) == 0, 0] = 1
        detection = np.sort(rng.random(3)) + np.arange(3) * 0.01
    floor = np.where(rng.random(n) < 0.15, rng.integers(0, 3, n), -1)
    return Problem(
        group=rng.integers(0, groups, n),
        weight=rng.lognormal(0, 1.5, n) * (rng.random(n) < 0.9),
        floor=floor,
        fixed=(floor >= 0) & (rng.random(n) < 0.3),
        capacity=rng.integers(0, 12, (groups, 3)).astype(float),
        use=use,
        detection=detection,
    )


def feasible(p: Problem, choice: np.ndarray) -> bool:
    honoured = (choice >= p.floor) & ((choice == p.floor) | ~p.fixed)
    return bool(honoured.all() and (p.usage(choice) <= p.capacity + 1e-9).all())


@pytest.mark.parametrize("block", range(4))
def test_fast_solver_is_feasible_and_within_one_percent_of_the_optimum(block: int) -> None:
    compared = 0
    for seed in range(block * 60, (block + 1) * 60):
        p = instance(seed)
        fast = solve(p)
        if fast.overload.any():  # floors alone overrun: no MILP to compare with
            continue
        best = solve_exact(p)
        assert best.optimal and feasible(p, best.choice)
        assert feasible(p, fast.choice), seed
        assert fast.objective == pytest.approx(p.value(fast.choice))
        assert fast.objective >= 0.99 * best.objective - 1e-9, seed
        assert fast.objective <= best.bound * (1 + 1e-6) + 1e-9
        compared += 1
    assert compared >= 15


def test_without_floors_the_fast_solver_is_exact() -> None:
    for seed in range(40):
        p = instance(seed)
        p = Problem(p.group, p.weight, np.full_like(p.floor, -1), np.zeros_like(p.fixed),
                    p.capacity, p.use, p.detection)  # fmt: skip
        assert solve(p).objective == pytest.approx(solve_exact(p).objective, rel=1e-6)


def test_floors_over_capacity_are_all_kept_and_reported() -> None:
    use, detection = SHIPPED.use, SHIPPED.detection
    physical_hours = use[2, 1]
    p = Problem(
        group=np.zeros(6, dtype=np.int64),
        weight=np.array([1.0, 2.0, 3.0, 100.0, 50.0, 0.5]),
        floor=np.array([2, 2, 2, -1, -1, 0]),
        fixed=np.zeros(6, dtype=bool),
        capacity=np.array([[10.0, 2 * physical_hours, 10.0]]),
        use=use,
        detection=detection,
    )
    s = solve(p)
    assert list(s.choice[:3]) == [2, 2, 2] and s.choice[5] >= 0
    assert s.overload[0, 1] == pytest.approx(physical_hours)  # one examination too many
    assert s.overload[0, 0] == 0 and s.overload[0, 2] == 0
    # officer hours are exhausted: nothing else may use them (a scan needs 0.25 h)
    assert s.choice[3] in (-1, 0) and s.choice[4] in (-1, 0)


def test_lp_relaxation_bounds_the_milp() -> None:
    p = instance(1)
    relaxed = solve_exact(p, relax=True)
    assert relaxed.bound >= solve_exact(p).objective - 1e-9
