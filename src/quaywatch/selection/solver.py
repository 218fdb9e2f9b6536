"""The fast selection solver: which control (if any) each candidate gets, under capacity.

The problem. Candidate *i* is worth ``weight[i]`` euros if a control finds what it hides
(probability × (revenue at stake + critical weight), AEO facilitation applied); control *k*
finds it with probability ``detection[k]``, so choosing *k* is worth ``weight[i] ×
detection[k]``. Each control uses ``use[k]`` of every resource; each group (a terminal's shift)
has ``capacity[g]``. Candidates with a ``floor`` (a rule's minimum lane) must get that control
or a stronger one; ``fixed`` ones (the random sample) get exactly their floor. Maximise the sum.

Why it can be solved fast. Among the *free* candidates (no floor) of one group, an optimal
choice controls a top slice by weight, and gives the strongest controls to the heaviest ones:
swapping two candidates' controls (or a controlled and an uncontrolled one) uses the same
resources and cannot lose value when the heavier gets the stronger control. So the free part of
a group is decided by three counts, (physical, scan, documentary), and the solver tries every
feasible (physical, scan) pair with the most documentary checks that still fit, over prefix
sums of the sorted weights: exact for the free candidates, whole columns at a time in numpy.

Rules first. Floors take their capacity before anything else. When they alone exceed a group's
capacity they are all kept, the excess is reported in ``Solution.overload``, and nothing else in
that group may use the exhausted resource. A floored candidate may still be upgraded (an orange
floor examined physically) when that is worth more than the free controls it displaces; this is
a greedy local improvement pass, heaviest first, each step re-solving the free part exactly. It
is the one place the solver may miss the optimum; the tests and ``benchmarks/selection.py``
compare it with the exact MILP of ``selection.exact``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

#: Slack for comparisons of capacity sums (officer hours are fractional).
_EPS = 1e-9
#: Grid cells evaluated at once when enumerating (physical, scan) counts.
_CHUNK = 1_000_000


@dataclass(frozen=True, slots=True)
class Problem:
    """A selection problem; arrays are numpy, one row per candidate unless said otherwise.

    ``group`` (int, 0..G-1), ``weight`` (float ≥ 0), ``floor`` (int: -1 none, else the weakest
    control allowed), ``fixed`` (bool: exactly the floor), ``capacity`` (G × R), ``use`` (K × R,
    controls from weakest to strongest), ``detection`` (K, increasing).
    """

    group: np.ndarray
    weight: np.ndarray
    floor: np.ndarray
    fixed: np.ndarray
    capacity: np.ndarray
    use: np.ndarray
    detection: np.ndarray

    def value(self, choice: np.ndarray) -> float:
        """The objective of ``choice`` (-1 = no control)."""
        chosen = choice >= 0
        return float((self.weight[chosen] * self.detection[choice[chosen]]).sum())

    def usage(self, choice: np.ndarray) -> np.ndarray:
        """Resources ``choice`` uses per group (G × R)."""
        used = np.zeros_like(self.capacity, dtype=float)
        chosen = choice >= 0
        np.add.at(used, self.group[chosen], self.use[choice[chosen]])
        return used


@dataclass(frozen=True, slots=True)
class Solution:
    """The control chosen per candidate (-1 none), its objective, and floors over capacity."""

    choice: np.ndarray
    objective: float
    #: (G × R): how far the floors alone exceed capacity (0 where they fit).
    overload: np.ndarray


def solve(problem: Problem) -> Solution:
    """Choose controls for ``problem``: floors first, then the most expected detected value."""
    p = problem
    if p.use.shape[0] != 3:
        raise ValueError("the solver expects three control types, weakest first")
    choice = np.where(p.floor >= 0, p.floor, -1).astype(np.int64)
    floor_use = p.usage(choice)
    overload = np.maximum(floor_use - p.capacity, 0.0)
    order = np.lexsort((-p.weight, p.group))  # by group, heaviest first
    bounds = np.searchsorted(p.group[order], np.arange(p.capacity.shape[0] + 1))
    for g in range(p.capacity.shape[0]):
        members = order[bounds[g] : bounds[g + 1]]
        if members.size:
            _solve_group(p, members, p.capacity[g] - floor_use[g], choice)
    return Solution(choice, p.value(choice), overload)


def _solve_group(p: Problem, members: np.ndarray, left: np.ndarray, choice: np.ndarray) -> None:
    """Fill ``choice`` for one group's ``members`` (sorted heaviest first) given ``left``."""
    free = members[p.floor[members] < 0]
    free = free[: _most_controls(p.use, np.maximum(left, 0) + _reclaimable(p, members))]
    sums = np.concatenate([[0.0], np.cumsum(p.weight[free])])
    best, counts = _best_counts(np.maximum(left, 0), sums, p.use, p.detection)
    upgradable = members[(p.floor[members] >= 0) & ~p.fixed[members] & (p.floor[members] < 2)]
    state = _State(left, best, counts)
    for _ in range(4):  # a few passes: one move can make another worth it again
        changed = False
        for i in upgradable[choice[upgradable] != p.floor[upgradable]]:  # undo or redo upgrades
            changed |= _improve(p, i, choice, sums, state)
        for floor in (0, 1):
            for i in upgradable[(p.floor[upgradable] == floor) & (choice[upgradable] == floor)]:
                # Heaviest first: once an upgrade does not pay, it cannot for lighter ones.
                if not _improve(p, i, choice, sums, state):
                    break
                changed = True
        if not changed:
            break
    counts = state.counts
    physical, scan, documentary = counts
    choice[free[:physical]] = 2
    choice[free[physical : physical + scan]] = 1
    choice[free[physical + scan : physical + scan + documentary]] = 0


@dataclass(slots=True)
class _State:
    """What the floors leave of a group's capacity, and the best free counts for it."""

    left: np.ndarray
    value: float
    counts: tuple[int, int, int]


def _improve(p: Problem, i: int, choice: np.ndarray, sums: np.ndarray, state: _State) -> bool:
    """Move floored candidate ``i`` to its best control (re-solving the free ones); True if moved."""
    current = int(choice[i])
    best: tuple[float, int, np.ndarray, float, tuple[int, int, int]] | None = None
    for level in range(int(p.floor[i]), p.use.shape[0]):
        if level == current:
            continue
        delta = p.use[level] - p.use[current]
        after = state.left - delta
        if np.any((after < -_EPS) & (delta > 0)):
            continue
        value, counts = _best_counts(np.maximum(after, 0), sums, p.use, p.detection)
        gain = p.weight[i] * (p.detection[level] - p.detection[current]) + value - state.value
        if gain > _EPS and (best is None or gain > best[0]):
            best = (gain, level, after, value, counts)
    if best is None:
        return False
    _, choice[i], state.left, state.value, state.counts = best
    return True


def _reclaimable(p: Problem, members: np.ndarray) -> np.ndarray:
    """Resources upgrades of floored members could free (a scan upgraded frees its slot)."""
    floors = p.floor[members]
    floors = floors[(floors >= 0) & ~p.fixed[members]]
    cheapest_from = np.array([p.use[k:].min(axis=0) for k in range(p.use.shape[0])])
    return np.asarray((p.use[floors] - cheapest_from[floors]).sum(axis=0), dtype=float)


def _most_controls(use: np.ndarray, left: np.ndarray) -> int:
    """An upper bound on how many free candidates ``left`` can control at all."""
    return int(_per_control(use, left).sum())


def _best_counts(
    left: np.ndarray, sums: np.ndarray, use: np.ndarray, detection: np.ndarray
) -> tuple[float, tuple[int, int, int]]:
    """The best (physical, scan, documentary) counts over free candidates with prefix ``sums``.

    Every feasible (physical, scan) pair is tried with as many documentary checks as still fit
    (more never lowers the value: weights are not negative).
    """
    m = sums.size - 1
    top = [min(m, int(x)) if np.isfinite(x) else m for x in _per_control(use, left)]
    scans = np.arange(top[1] + 1)
    rows = max(1, _CHUNK // scans.size)
    best, counts = 0.0, (0, 0, 0)
    for start in range(0, top[2] + 1, rows):
        phys = np.arange(start, min(top[2] + 1, start + rows))[:, None]
        rest = left[None, None, :] - phys[..., None] * use[2] - scans[None, :, None] * use[1]
        ok = np.all(rest >= -_EPS, axis=2) & (phys + scans <= m)
        with np.errstate(divide="ignore", invalid="ignore"):
            fit = np.where(
                use[0] > 0, np.floor(rest / np.where(use[0] > 0, use[0], 1) + _EPS), np.inf
            )
        docs = np.clip(np.min(fit, axis=2), 0, None)
        docs = np.minimum(docs, m - phys - scans).astype(np.int64)
        a, b = np.minimum(phys, m), np.minimum(phys + scans, m)
        c = np.minimum(b + np.maximum(docs, 0), m)
        value = (detection[2] * sums[a] + detection[1] * (sums[b] - sums[a])
                 + detection[0] * (sums[c] - sums[b]))  # fmt: skip
        value = np.where(ok, value, -np.inf)
        flat = int(np.argmax(value))
        if value.flat[flat] > best:
            i, j = np.unravel_index(flat, value.shape)
            best = float(value.flat[flat])
            counts = (int(start + i), int(j), int(docs[i, j]))
    return best, counts


def _per_control(use: np.ndarray, left: np.ndarray) -> np.ndarray:
    with np.errstate(divide="ignore"):
        per = np.where(use > 0, np.floor(left / np.where(use > 0, use, 1) + _EPS), np.inf)
    return np.asarray(per.min(axis=1))
