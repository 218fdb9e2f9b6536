"""Use cases of selection: run a selection over a window (``select_controls``) and read the
stored runs (``list_selection_runs``, ``get_selection_run``); a run's worklist is read by
``services.worklist``.

A selection run takes every assessed consignment arriving (ETA) in a window, chooses controls
within the capacity of each terminal shift, draws the random control sample and stores one
decision per consignment (``selection.run``). Its result here carries what an officer and an
API client need: the counts per ``selected_by`` and per lane, the capacity used per terminal
shift, the resources that rules alone overran, and the selected consignments.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import polars as pl
from sqlalchemy import select

from quaywatch.errors import InputError, NotFoundError
from quaywatch.selection import capacity as capacities
from quaywatch.selection.run import select_store
from quaywatch.services.arguments import check_at_least, check_interval
from quaywatch.store import tables
from quaywatch.store.store import Store

#: The lanes, from release to post-clearance audit, in the order they are reported.
LANES = ("green", "yellow", "orange", "red", "blue")
#: The kinds of control a run decides, as the capacity use counts them.
CONTROL_KINDS = ("documentary", "scan", "physical")
#: The largest seed of the random draw (what the store keeps, a 32-bit integer).
MAX_SEED = 2**31 - 1


@dataclass(frozen=True, slots=True)
class CapacityUse:
    """One terminal shift of a run: its candidates, the controls chosen, each resource's use."""

    shift_start: datetime
    terminal: str
    shift: str
    candidates: int
    controls: dict[str, int]
    used: dict[str, float]
    capacity: dict[str, float]


@dataclass(frozen=True, slots=True)
class Overload:
    """A resource of a terminal shift that the rules and the random sample alone overran."""

    shift_start: datetime
    terminal: str
    shift: str
    resource: str
    required: float
    capacity: float
    required_by_rules: float


@dataclass(frozen=True, slots=True)
class SelectedConsignment:
    """One consignment a run selected for control."""

    consignment_id: str
    version: int
    control_type: str
    lane: str
    selected_by: str
    propensity: float
    probability: float
    expected_value_eur: float
    terminal: str
    shift: str
    shift_start: datetime


@dataclass(frozen=True, slots=True)
class SelectionResult:
    """What a selection run decided.

    ``counts`` holds ``candidates``, ``selected``, ``by_rule``, ``by_random``, ``by_model``,
    ``overloads`` and ``lane_<lane>``; ``lanes`` the same lane counts by lane name.
    """

    run_id: str
    window_from: datetime
    window_to: datetime
    capacity_source: str
    capacity_sha256: str
    resources: tuple[str, ...]
    random_rate: float
    seed: int
    objective_eur: float
    counts: dict[str, int]
    lanes: dict[str, int]
    usage: list[CapacityUse]
    overloads: list[Overload]
    selected: list[SelectedConsignment]


def _usage(frame: pl.DataFrame, resources: tuple[str, ...]) -> list[CapacityUse]:
    found: dict[tuple[datetime, str], CapacityUse] = {}
    for row in frame.sort("shift_start", "terminal", "resource").iter_rows(named=True):
        key = (row["shift_start"], row["terminal"])
        if key not in found:
            found[key] = CapacityUse(
                row["shift_start"], row["terminal"], row["shift"], int(row["candidates"]),
                {kind: int(row[kind]) for kind in CONTROL_KINDS}, {}, {},
            )  # fmt: skip
        found[key].used[row["resource"]] = float(row["used"])
        found[key].capacity[row["resource"]] = float(row["capacity"])
    return list(found.values())


def select_controls(
    store: Store,
    *,
    window_from: datetime,
    window_to: datetime,
    capacity_file: Path | None = None,
    random_rate: float = 0.02,
    seed: int = 0,
    actor: str,
) -> SelectionResult:
    """Choose controls for the assessed consignments arriving in [``window_from``, ``window_to``).

    ``capacity_file`` is a capacity YAML (None: the one shipped); ``random_rate`` the share of
    consignments drawn for random control, ``seed`` the seed of that draw. The run, its
    decisions and one audit event are stored in one transaction. Raises ``InputError`` naming
    the argument for a naive or inverted window, a rate outside [0, 1] or a seed outside
    [0, 2**31 - 1], and a ``RecordError`` naming the field for a bad capacity file.
    """
    check_interval("window", ("window_from", window_from), ("window_to", window_to))
    if not 0.0 <= random_rate <= 1.0:
        raise InputError(f"random_rate must be between 0 and 1, got {random_rate:g}")
    if not 0 <= seed <= MAX_SEED:
        raise InputError(f"seed must be between 0 and {MAX_SEED}, got {seed}")
    capacity = capacities.load(capacity_file)
    run = select_store(store, window_from, window_to, capacity, random_rate=random_rate,
                       seed=seed, actor=actor)  # fmt: skip
    chosen = run.selection.decisions.filter(pl.col("control_type").is_not_null()).sort(
        "shift_start", "terminal", "expected_value", "consignment_id",
        descending=[False, False, True, False],
    )  # fmt: skip
    selected = [
        SelectedConsignment(
            r["consignment_id"],
            int(r["version"]),
            r["control_type"],
            r["lane"],
            r["selected_by"],
            float(r["propensity"]),
            float(r["probability"]),
            float(r["expected_value"]),
            r["terminal"],
            r["shift"],
            r["shift_start"],
        )  # fmt: skip
        for r in chosen.iter_rows(named=True)
    ]
    overloads = [
        Overload(
            r["shift_start"],
            r["terminal"],
            r["shift"],
            r["resource"],
            float(r["required"]),
            float(r["capacity"]),
            float(r["required_by_rules"]),
        )  # fmt: skip
        for r in run.selection.overloads.sort("shift_start", "terminal").iter_rows(named=True)
    ]
    return SelectionResult(
        run_id=run.run_id, window_from=window_from, window_to=window_to,
        capacity_source=capacity.source, capacity_sha256=capacity.sha256,
        resources=capacity.resources, random_rate=random_rate, seed=seed,
        objective_eur=float(run.selection.objective), counts=dict(run.counts),
        lanes={lane: run.counts[f"lane_{lane}"] for lane in LANES},
        usage=_usage(run.selection.usage, capacity.resources), overloads=overloads,
        selected=selected,
    )  # fmt: skip


def select_again(
    store: Store, run_id: str, *, capacity_file: Path | None = None, actor: str
) -> SelectionResult:
    """A new selection run over the window of the run ``run_id``, with its random rate and
    seed, on the newest assessment of each consignment (after a profile was put in force and
    the traffic assessed again, say). ``capacity_file`` is the site's capacity now, which may
    differ from the old run's. The old run keeps its overrides and orders; ``NotFoundError``
    naming it when there is none."""
    run = get_selection_run(store, run_id)
    return select_controls(store, window_from=run.window_from, window_to=run.window_to,
                           capacity_file=capacity_file, random_rate=run.random_rate,
                           seed=run.seed, actor=actor)  # fmt: skip


@dataclass(frozen=True, slots=True)
class SelectionRun:
    """One stored selection run: its window, capacity file, sample and what it chose."""

    run_id: str
    window_from: datetime
    window_to: datetime
    capacity_source: str
    capacity_sha256: str
    random_rate: float
    seed: int
    objective_eur: float
    created_at: datetime
    actor: str
    candidates: int
    selected: int
    overloads: int


def list_selection_runs(store: Store, *, limit: int = 50) -> tuple[SelectionRun, ...]:
    """The newest selection runs first."""
    check_at_least("limit", limit)
    r = tables.selection_runs
    query = select(r).order_by(r.c.created_at.desc(), r.c.run_id).limit(limit)
    with store.reading() as conn:
        rows = conn.execute(query).mappings().all()
    return tuple(
        SelectionRun(
            **{k: v for k, v in row.items() if k != "objective"},
            objective_eur=float(row["objective"]),
        )  # fmt: skip
        for row in rows
    )


def get_selection_run(store: Store, run_id: str) -> SelectionRun:
    """The selection run ``run_id``; ``NotFoundError`` naming it when there is none."""
    r = tables.selection_runs
    with store.reading() as conn:
        row = conn.execute(select(r).where(r.c.run_id == run_id)).mappings().first()
    if row is None:
        raise NotFoundError(f"no selection run {run_id!r}")
    return SelectionRun(
        **{k: v for k, v in row.items() if k != "objective"}, objective_eur=float(row["objective"])
    )
