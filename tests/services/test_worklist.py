"""The worklist services on the store (SQLite and PostgreSQL): a run's selected consignments
with their reasons and hits, filtered, sorted and paged, and the capacity meter of the shifts
in view."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from quaywatch.domain.vocabulary import OverrideReason
from quaywatch.errors import InputError, NotFoundError
from quaywatch.selection import capacity
from quaywatch.services import control, decisions, selection
from quaywatch.services.worklist import (
    SORTS,
    TOP_REASONS,
    WorklistFilter,
    capacity_meter,
    worklist,
    worklist_summary,
)
from quaywatch.store.store import Store

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "control"))
from control_scenario import COC, DAY_FROM, DAY_TO, MODEL, assess_and_select  # noqa: E402

SHIPPED = Path(capacity.__file__).parent / "capacity.yaml"


@pytest.fixture
def run(store: Store, tmp_path: Path) -> selection.SelectionResult:
    """A port day assessed (the profile COC fires on every third consignment, UND on every
    fifth) and selected with the shipped capacity and a random sample."""
    assess_and_select(store, tmp_path)
    return selection.select_controls(store, window_from=DAY_FROM, window_to=DAY_TO,
                                     capacity_file=SHIPPED, random_rate=0.2, seed=1,
                                     actor="ana")  # fmt: skip


def test_worklist_shows_score_reasons_hits_and_orders_once_made(
    store: Store, run: selection.SelectionResult
) -> None:
    work = worklist(store, run.run_id)
    assert sorted(w.consignment_id for w in work) == sorted(s.consignment_id for s in run.selected)
    keys = [(w.shift_start, w.terminal, -w.expected_value_eur) for w in work]
    assert keys == sorted(keys)
    for w in work:
        assert w.score == 50.0 and w.probability is not None and 0 <= w.probability <= 1
        assert 1 <= len(w.reasons) <= TOP_REASONS
        assert w.reasons[0] in (COC, MODEL)  # strongest first: the profile when it fired
        profiles = 1 if w.reasons[0] == COC else 0
        assert w.hits.get("profile", 0) >= profiles and "model" not in w.hits
        assert w.order_id is None and w.order_state is None
        assert w.eta.tzinfo is not None and w.vessel_imo
    assert len(worklist(store, run.run_id, limit=2)) == min(2, len(work))
    made = control.create_orders(store, run.run_id, actor="ana")
    ordered = worklist(store, run.run_id)
    assert sorted(w.order_id for w in ordered if w.order_id) == sorted(
        o.order_id for o in made.orders
    )
    assert {w.order_state for w in ordered} == {"planned"}


@pytest.mark.parametrize("sort", SORTS)
def test_every_sort_pages_without_repeating_or_skipping(
    store: Store, run: selection.SelectionResult, sort: str
) -> None:
    every = worklist(store, run.run_id, sort=sort)
    assert len(every) == len(run.selected) > 4
    if sort == "score":
        assert [w.score for w in every] == sorted((w.score for w in every), reverse=True)
    elif sort == "value":
        values = [w.expected_value_eur for w in every]
        assert values == sorted(values, reverse=True)
    elif sort == "eta":
        assert [w.eta for w in every] == sorted(w.eta for w in every)
    pages = [worklist(store, run.run_id, sort=sort, offset=k, limit=3)
             for k in range(0, len(every), 3)]  # fmt: skip
    assert [w for page in pages for w in page] == every


def test_filters_by_terminal_lane_shift_and_vessel_call_agree_with_the_summary(
    store: Store, run: selection.SelectionResult
) -> None:
    every = worklist(store, run.run_id)
    summary = worklist_summary(store, run.run_id)
    assert summary.total == len(every)
    assert summary.terminals == tuple(sorted({e.terminal for e in every}))
    assert summary.lanes == tuple(sorted({e.lane for e in every}))
    assert summary.shifts == tuple(sorted({e.shift_start for e in every}))
    calls = {(e.vessel_imo, e.voyage) for e in every}
    assert calls <= {(v.vessel_imo, v.voyage) for v in summary.vessel_calls}
    first = every[0]
    call = next(v for v in summary.vessel_calls if v.vessel_imo == first.vessel_imo
                and v.voyage == first.voyage)  # fmt: skip
    for chosen, keep in (
        (WorklistFilter(terminal=first.terminal), lambda e: e.terminal == first.terminal),
        (WorklistFilter(lane=first.lane), lambda e: e.lane == first.lane),
        (WorklistFilter(shift_start=first.shift_start),
         lambda e: e.shift_start == first.shift_start),
        (WorklistFilter(vessel_call=call.key),
         lambda e: (e.vessel_imo, e.voyage) == (first.vessel_imo, first.voyage)),
        (WorklistFilter(first.terminal, first.lane, first.shift_start, call.key),
         lambda e: (e.terminal, e.lane, e.shift_start, e.vessel_imo, e.voyage)
         == (first.terminal, first.lane, first.shift_start, first.vessel_imo, first.voyage)),
    ):  # fmt: skip
        wanted = [e for e in every if keep(e)]
        assert wanted and worklist(store, run.run_id, chosen) == wanted, chosen
        counted = worklist_summary(store, run.run_id, chosen)
        assert counted.total == len(wanted) and counted.terminals == summary.terminals


def test_the_capacity_meter_adds_up_the_shifts_in_view(
    store: Store, run: selection.SelectionResult
) -> None:
    whole = capacity_meter(store, run.run_id)
    assert whole is not None
    assert whole.shifts == len(run.usage) and whole.selected == len(run.selected)
    assert whole.random == run.counts["by_random"] and whole.random_rate == 0.2
    for resource in whole.resources:
        assert resource.capacity == pytest.approx(sum(u.capacity[resource.resource]
                                                      for u in run.usage))  # fmt: skip
        assert resource.planned == pytest.approx(sum(u.used[resource.resource]
                                                     for u in run.usage))  # fmt: skip
    assert whole.controls == {
        kind.upper(): n for kind in ("documentary", "scan", "physical")
        if (n := sum(u.controls[kind] for u in run.usage))
    }  # fmt: skip
    one = run.usage[0]
    shift = capacity_meter(store, run.run_id,
                           WorklistFilter(terminal=one.terminal, shift_start=one.shift_start))  # fmt: skip
    assert shift is not None and shift.shifts == 1
    assert {r.resource: r.capacity for r in shift.resources} == pytest.approx(one.capacity)
    assert {r.resource: r.planned for r in shift.resources} == pytest.approx(one.used)
    # A lane narrows the rows, not the shifts: the meter stays the shift's.
    assert capacity_meter(store, run.run_id, WorklistFilter(terminal=one.terminal,
                          shift_start=one.shift_start, lane="red")) == shift  # fmt: skip


def test_the_capacity_meter_follows_the_officers_lane_overrides(
    store: Store, run: selection.SelectionResult
) -> None:
    before = capacity_meter(store, run.run_id)
    assert before is not None
    lowered = next(s for s in run.selected if s.selected_by != "RANDOM")
    decisions.override_lane(store, run.run_id, lowered.consignment_id, lane="green",
                            reason_code=OverrideReason.NEW_INTELLIGENCE, actor="olga")  # fmt: skip
    after = capacity_meter(store, run.run_id)
    assert after is not None and after.selected == before.selected - 1
    assert after.controls.get(lowered.control_type, 0) == before.controls[lowered.control_type] - 1
    use = {r.resource: r.planned for r in before.resources}
    for resource in after.resources:
        assert resource.planned <= use[resource.resource]
    assert sum(r.planned for r in after.resources) < sum(use.values())


def test_unknown_run_bad_limit_offset_sort_or_naive_shift(store: Store) -> None:
    with pytest.raises(NotFoundError, match="no selection run 'nope'"):
        worklist(store, "nope")
    with pytest.raises(NotFoundError, match="no selection run 'nope'"):
        capacity_meter(store, "nope")
    with pytest.raises(InputError, match="limit must be at least 1, got 0"):
        worklist(store, "nope", limit=0)
    with pytest.raises(InputError, match="offset must be between 0 and 1000000000, got -1"):
        worklist(store, "nope", offset=-1)
    with pytest.raises(InputError, match="sort must be one of shift, score, value, eta"):
        worklist(store, "nope", sort="name")
    with pytest.raises(InputError, match="shift_start must be a timezone-aware time"):
        WorklistFilter(shift_start=DAY_FROM.replace(tzinfo=None))
