"""The states of an inspection order and the moves between them.

    planned ──start──▶ in_progress ──outcome──▶ done
       │                   │
       └──────cancel───────┴──────────────────▶ cancelled

``done`` and ``cancelled`` are final: a finished control is corrected by a new one, never by
reopening the old, so the outcome the learning loop saw stays what it was.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Literal

from quaywatch.errors import ConflictError, said


class State(StrEnum):
    """Where an inspection order stands."""

    PLANNED = "planned"
    IN_PROGRESS = "in_progress"
    DONE = "done"
    CANCELLED = "cancelled"


#: The states each state may move to.
TRANSITIONS: dict[State, frozenset[State]] = {
    State.PLANNED: frozenset({State.IN_PROGRESS, State.CANCELLED}),
    State.IN_PROGRESS: frozenset({State.DONE, State.CANCELLED}),
    State.DONE: frozenset(),
    State.CANCELLED: frozenset(),
}
#: States in which the order is still to be worked on (type may change, results be recorded).
OPEN = frozenset({State.PLANNED, State.IN_PROGRESS})


def check(order_id: str, current: str, target: State) -> State:
    """The order's ``current`` state, if it may move to ``target``; else a ``ConflictError``.

    The message names the order, both states and what is allowed from ``current``, so an
    officer knows what to do instead.
    """
    state = State(current)
    allowed = TRANSITIONS[state]
    if target not in allowed:
        options = ", ".join(sorted(allowed)) or "nothing: it is final"
        raise ConflictError(
            said(
                "order %(order)s is %(state)s; it cannot move to %(target)s (allowed: %(options)s)",
                order=order_id,
                state=str(state),
                target=str(target),
                options=options,
            )
        )
    return state


def require_open(
    order_id: str, current: str, action: Literal["override", "change the control type of"]
) -> State:
    """The order's state if it is planned or in progress; else a ``ConflictError`` saying
    ``action`` is refused (one template per action, so each translates whole)."""
    state = State(current)
    if state not in OPEN:
        raise ConflictError(
            said("order %(order)s is %(state)s; cannot override a finished order",
                 order=order_id, state=str(state))
            if action == "override"
            else said("order %(order)s is %(state)s; cannot change the control type of a "
                      "finished order", order=order_id, state=str(state))
        )  # fmt: skip
    return state
