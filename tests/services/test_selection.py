"""Selection services on the store (SQLite and PostgreSQL): a run's result and each argument
they refuse (its worklist: test_worklist.py)."""

from __future__ import annotations

import re
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest

from quaywatch.audit import chain
from quaywatch.errors import InputError, RecordError
from quaywatch.selection import capacity
from quaywatch.services import selection
from quaywatch.services.worklist import worklist
from quaywatch.store.store import Store

# The control tests' scenario (an assessed port day and a selection run) lives beside them.
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "control"))
from control_scenario import DAY_FROM, DAY_TO, assess_and_select  # noqa: E402

SHIPPED = Path(capacity.__file__).parent / "capacity.yaml"


@pytest.fixture
def assessed(store: Store, tmp_path: Path) -> Store:
    """A port day assessed (and selected once, by the scenario)."""
    assess_and_select(store, tmp_path)
    return store


def small_capacity_file(folder: Path) -> Path:
    """The shipped capacity with one control of each type per terminal shift."""
    text = SHIPPED.read_text(encoding="utf-8")
    for pattern, value in (("scanner_slots", "0.125"), ("officer_hours", "3"),
                           ("documentary_slots", "1")):  # fmt: skip
        text = re.sub(rf"{pattern}: \d+", f"{pattern}: {value}", text)
    path = folder / "small.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def test_select_controls_reports_counts_capacity_and_the_selected(
    assessed: Store, tmp_path: Path
) -> None:
    small = small_capacity_file(tmp_path)
    run = selection.select_controls(assessed, window_from=DAY_FROM, window_to=DAY_TO,
                                    capacity_file=small, random_rate=0.1, seed=3, actor="ana")  # fmt: skip
    c = run.counts
    assert c["candidates"] == 40 and 0 < c["selected"] < 40
    assert c["by_rule"] + c["by_random"] + c["by_model"] == c["selected"] == len(run.selected)
    assert sum(run.lanes.values()) == c["candidates"]
    assert run.lanes == {lane: c[f"lane_{lane}"] for lane in selection.LANES}
    assert (run.random_rate, run.seed, run.window_from, run.window_to) == (0.1, 3, DAY_FROM,
                                                                           DAY_TO)  # fmt: skip
    assert run.capacity_sha256 == capacity.load(small).sha256 and run.objective_eur > 0
    assert run.usage and sum(u.candidates for u in run.usage) == c["candidates"]
    for use in run.usage:
        assert set(use.used) == set(use.capacity) == set(run.resources)
        assert set(use.controls) == {"documentary", "scan", "physical"}
    assert sum(sum(u.controls.values()) for u in run.usage) == c["selected"]
    assert all(s.control_type in ("DOCUMENTARY", "SCAN", "PHYSICAL") for s in run.selected)
    assert all(s.lane in ("yellow", "orange", "red") for s in run.selected)
    with assessed.reading() as conn:
        event = chain.recent(conn, 1)[0]
    assert (event.actor, event.action, event.object_id) == ("ana", "select", run.run_id)


def test_a_window_without_arrivals_selects_nothing(assessed: Store) -> None:
    run = selection.select_controls(assessed, window_from=datetime(2027, 1, 1, tzinfo=UTC),
                                    window_to=datetime(2027, 1, 2, tzinfo=UTC), actor="ana")  # fmt: skip
    assert run.counts["candidates"] == 0 and run.selected == [] and run.usage == []
    assert worklist(assessed, run.run_id) == []


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ({"window_from": DAY_TO, "window_to": DAY_FROM}, "window_to .* is not after window_from"),
        ({"window_from": datetime(2026, 11, 1)}, "window_from must be a timezone-aware time"),
        ({"random_rate": 1.5}, "random_rate must be between 0 and 1, got 1.5"),
        ({"seed": -1}, "seed must be between 0 and 2147483647, got -1"),
    ],
)  # fmt: skip
def test_select_controls_refuses_bad_arguments_by_name(
    store: Store, arguments: dict[str, object], message: str
) -> None:
    given: dict[str, object] = {"window_from": DAY_FROM, "window_to": DAY_TO, **arguments}
    with pytest.raises(InputError, match=message):
        selection.select_controls(store, actor="ana", **given)  # type: ignore[arg-type]


def test_a_bad_capacity_file_names_its_field(store: Store, tmp_path: Path) -> None:
    bad = tmp_path / "cap.yaml"
    bad.write_text(SHIPPED.read_text(encoding="utf-8").replace("aeo_factor: 0.5", "aeo_factor: 2"),
                   encoding="utf-8")  # fmt: skip
    with pytest.raises(RecordError) as raised:
        selection.select_controls(store, window_from=DAY_FROM, window_to=DAY_TO,
                                  capacity_file=bad, actor="ana")  # fmt: skip
    assert raised.value.field == "policy.aeo_factor"
