"""Use case of the policy lab: ``simulate``, control set-ups compared on generated traffic.

Generated weeks are replayed through select → control → retrain once per set-up (a
``learning.lab.PRESETS`` strategy) and measured against the full truth of the traffic: the
share of illicit consignments found, the hit rate, revenue recovered, critical seizures, the
burden on AEOs and how well the week's model ranks all traffic. ``docs/policy-lab.md`` lists
the set-ups.
"""

from __future__ import annotations

import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import polars as pl

from quaywatch.errors import InputError
from quaywatch.learning import lab, simulate as sim
from quaywatch.risk.profiles import loader
from quaywatch.risk.profiles.apply import ProfileSet
from quaywatch.selection import capacity

#: The set-ups compared when none is named.
DEFAULT_STRATEGIES = lab.DEFAULT
#: Every set-up the lab knows, by name.
STRATEGIES = tuple(lab.PRESETS)
#: What each set-up is, in a programme manager's words (``docs/policy-lab.md`` says more).
#: The base of every ``hybrid-`` and ``model-`` variant draws a 2 % random sample, weights
#: outcomes by their inverse selection propensity and facilitates AEOs by a factor 0.5.
DESCRIPTIONS: dict[str, str] = {
    "rules": "Risk profiles only, on top of the overall hit rate.",
    "model": "The fraud model only, retrained every week with inverse-propensity weights.",
    "hybrid": "Model and profiles combined, as in production.",
    "hybrid-selected-only": (
        "Model and profiles, retrained only on what it selected itself: no random sample, "
        "no weights."
    ),
    "hybrid-unweighted": (
        "Model and profiles with the random sample, but outcomes not weighted by their "
        "selection propensity."
    ),
    "model-selected-only": (
        "The model alone, retrained only on what it selected itself: no random sample, no weights."
    ),
    "model-unweighted": (
        "The model alone with the random sample, but outcomes not weighted by their "
        "selection propensity."
    ),
    "hybrid-random-5": "Model and profiles with a 5 % random sample instead of 2 %.",
    "hybrid-capacity-half": "Model and profiles with half the scanners and officers.",
    "hybrid-capacity-double": "Model and profiles with twice the scanners and officers.",
    "hybrid-no-aeo-facilitation": "Model and profiles without AEO facilitation (factor 1).",
    "hybrid-strong-aeo-facilitation": "Model and profiles with strong AEO facilitation (factor 0.2).",
}
#: The smallest replay the lab runs: weeks, legacy weeks before it, consignments a day.
MIN_WEEKS, MIN_WARMUP_WEEKS, MIN_PER_DAY = 1, 2, 100


@dataclass(frozen=True, slots=True)
class LabResult:
    """A policy lab comparison.

    ``weekly`` holds one dict of figures per strategy and week (``learning.simulate.run``),
    ``summary`` one per strategy (``learning.lab.summarise``: ``controls``, ``detected_share``,
    ``precision``, ``revenue_share``, ``critical_share``, ``aeo_burden``, ``late_auc``, ...);
    ``html`` the report page when it was asked for; ``seconds`` the time each strategy took.
    """

    title: str
    start: datetime
    weeks: int
    per_day: int
    seed: int
    displacement: bool
    strategies: list[str]
    consignments: int
    weekly: list[dict[str, Any]]
    summary: list[dict[str, Any]]
    seconds: dict[str, float]
    html: str | None


def _check(weeks: int, warmup_weeks: int, per_day: int, names: Sequence[str]) -> None:
    for name, value, least in (("weeks", weeks, MIN_WEEKS),
                               ("warmup_weeks", warmup_weeks, MIN_WARMUP_WEEKS),
                               ("per_day", per_day, MIN_PER_DAY)):  # fmt: skip
        if value < least:
            raise InputError(f"{name} must be at least {least}, got {value}")
    unknown = [n for n in names if n not in lab.PRESETS]
    if unknown:
        raise InputError(
            f"unknown strategy {unknown[0]!r}; the strategies are {', '.join(lab.PRESETS)}"
        )
    if not names:
        raise InputError("strategies must name at least one set-up")


def simulate(
    *,
    weeks: int = 12,
    warmup_weeks: int = 5,
    per_day: int = 1_000,
    seed: int = 7,
    strategies: Sequence[str] | None = None,
    displacement: bool = True,
    capacity_file: Path | None = None,
    profile_files: Sequence[Path] | None = None,
    with_html: bool = False,
    progress: Callable[[str], None] | None = None,
) -> LabResult:
    """Replay ``weeks`` generated arrival weeks (after ``warmup_weeks`` of legacy control
    history) of ``per_day`` consignments a day through each of ``strategies`` (None: the
    ``DEFAULT_STRATEGIES``).

    ``displacement`` moves cocaine traffic to new routes two weeks in; ``capacity_file`` and
    ``profile_files`` default to the shipped capacity and starter profiles. ``progress``, when
    given, receives a sentence as each stage ends (the replay takes minutes). Raises
    ``InputError`` naming the argument for a value below its minimum or an unknown strategy.
    """
    names = list(strategies) if strategies is not None else list(DEFAULT_STRATEGIES)
    _check(weeks, warmup_weeks, per_day, names)
    say = progress or (lambda _: None)
    files = profile_files or sorted((Path(loader.__file__).parent / "starter").glob("*.yaml"))
    rules = ProfileSet.of([loader.read(path) for path in files])
    cap = capacity.load(capacity_file)
    seconds: dict[str, float] = {}
    with tempfile.TemporaryDirectory(prefix="quaywatch-lab-") as folder:
        started = time.perf_counter()
        world = sim.prepare(Path(folder) / "traffic", weeks=weeks, warmup_weeks=warmup_weeks,
                            per_day=per_day, seed=seed, displacement=displacement)  # fmt: skip
        consignments = world.items["consignment_id"].n_unique()
        say(f"Generated {consignments:,} consignments in {time.perf_counter() - started:.0f} s; "
            f"replaying {weeks} weeks from {world.start:%Y-%m-%d}.")  # fmt: skip
        weekly = []
        for name in names:
            started = time.perf_counter()
            weekly.append(sim.run(world, lab.PRESETS[name], capacity=cap, profiles=rules,
                                  seed=seed))  # fmt: skip
            seconds[name] = time.perf_counter() - started
            say(f"  {name}: {seconds[name]:.0f} s")
    every = pl.concat(weekly)
    summary = lab.summarise(every)
    title = f"Policy lab: {weeks} weeks of {per_day:,} consignments a day, seed {seed}" + (
        ", cocaine routes displaced" if displacement else ""
    )
    return LabResult(
        title=title, start=world.start, weeks=weeks, per_day=per_day, seed=seed,
        displacement=displacement, strategies=names, consignments=consignments,
        weekly=every.to_dicts(), summary=summary.to_dicts(), seconds=seconds,
        html=lab.html(every, summary, title=title) if with_html else None,
    )  # fmt: skip
