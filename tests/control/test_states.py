"""The order state machine: every move it allows, every move it refuses, on its own."""

from __future__ import annotations

import itertools

import pytest

from quaywatch.control import results
from quaywatch.control.states import TRANSITIONS, State, check, require_open
from quaywatch.errors import ConflictError

ALLOWED = {(a, b) for a, targets in TRANSITIONS.items() for b in targets}
ILLEGAL = sorted(set(itertools.product(State, State)) - ALLOWED)


def test_the_allowed_moves_are_exactly_the_workflow() -> None:
    assert {
        (State.PLANNED, State.IN_PROGRESS),
        (State.PLANNED, State.CANCELLED),
        (State.IN_PROGRESS, State.DONE),
        (State.IN_PROGRESS, State.CANCELLED),
    } == ALLOWED
    for current, target in ALLOWED:
        assert check("QW1", current, target) is current


@pytest.mark.parametrize(("current", "target"), ILLEGAL)
def test_every_other_move_is_refused_naming_order_and_states(current: State, target: State) -> None:
    with pytest.raises(ConflictError) as caught:
        check("QW0123456789AB", current, target)
    message = caught.value.message
    assert "order QW0123456789AB" in message
    assert f"is {current};" in message and f"cannot move to {target}" in message
    assert caught.value.status == 409


@pytest.mark.parametrize("final", [State.DONE, State.CANCELLED])
def test_final_states_allow_nothing(final: State) -> None:
    with pytest.raises(ConflictError, match="nothing: it is final"):
        check("QW1", final, State.IN_PROGRESS)
    with pytest.raises(ConflictError, match="cannot override a finished order"):
        require_open("QW1", final, "override")


@pytest.mark.parametrize(
    ("state", "control_type", "steps"),
    [
        ("planned", "DOCUMENTARY", ("start",)),
        ("planned", "PHYSICAL", ("start",)),
        ("in_progress", "DOCUMENTARY", ("outcome",)),
        ("in_progress", "SCAN", ("scan", "outcome")),
        ("in_progress", "PHYSICAL", ("scan", "findings", "outcome")),
        ("done", "PHYSICAL", ()),
        ("cancelled", "SCAN", ()),
    ],
)
def test_the_steps_an_order_allows_follow_its_state_and_control_type(
    state: str, control_type: str, steps: tuple[str, ...]
) -> None:
    assert results.allowed_steps(state, control_type) == steps
