"""Use cases of the targeting officer's decision panel on a consignment's dossier.

``override_lane`` moves a consignment to another lane of a selection run with a reason code
(``reason_codes`` lists them) and a note; the planned order carrying the decision follows it,
and orders made afterwards follow it too. ``add_instruction`` writes an instruction for the
examiners, shown on the consignment's orders. ``open_referral`` / ``close_referral`` open an
ICS2 referral (RFI, RFS, DNL) with its request and close it with its result.
``decision_panel`` reads all of it for one consignment. The rules are the control layer's
(``control.decisions``): what is refused, and why.

Each write is one transaction with an audit event in the name of ``actor``. A bad id is an
``InputError`` naming the argument, a bad field a ``RecordError`` naming it, an unknown
run, consignment or referral a ``NotFoundError``, and what the state forbids a
``ConflictError`` that says why.

>>> override_lane(store, run_id, "261206-BEANR-0000001", lane="red",
...               reason_code="NEW_INTELLIGENCE", note="alert from Rotterdam", actor="ana")
... # doctest: +SKIP
"""

from __future__ import annotations

from dataclasses import dataclass

from quaywatch.control import decisions
from quaywatch.control.decisions import (
    NOTE_MAX as NOTE_MAX,
    TEXT_MAX as TEXT_MAX,
    ExaminerInstruction as ExaminerInstruction,
    LaneOverridden as LaneOverridden,
    Referral as Referral,
    RunDecision as RunDecision,
)
from quaywatch.domain.vocabulary import OVERRIDE_REASONS, OverrideReason
from quaywatch.risk.profiles.profile import Referral as ReferralKind
from quaywatch.services.arguments import check_identifier
from quaywatch.store.store import Store

#: The lanes an officer may choose, from no control to the strongest.
LANES = tuple(decisions.LANE_CONTROLS)


@dataclass(frozen=True, slots=True)
class ReasonCode:
    """A reason code of lane overrides and what it means."""

    code: str
    description: str


@dataclass(frozen=True, slots=True)
class DecisionPanel:
    """The decision panel of one consignment: each selection run's decision on it (newest
    run first) with the lane in force and its overrides, the examiner instructions and the
    referrals (oldest first); and what an officer may choose: the lanes, the reason codes of
    an override, the referral types."""

    consignment_id: str
    decisions: list[RunDecision]
    instructions: list[ExaminerInstruction]
    referrals: list[Referral]
    lanes: tuple[str, ...] = LANES
    reason_codes: tuple[str, ...] = tuple(OverrideReason)
    referral_kinds: tuple[str, ...] = tuple(ReferralKind)

    @property
    def open_referrals(self) -> int:
        return sum(1 for r in self.referrals if r.state == decisions.OPEN)


def reason_codes() -> list[ReasonCode]:
    """The reason codes of lane overrides, as ``domain.vocabulary.OVERRIDE_REASONS`` lists
    them."""
    return [ReasonCode(code.value, text) for code, text in OVERRIDE_REASONS.items()]


def decision_panel(store: Store, consignment_id: str) -> DecisionPanel:
    """The decision panel of ``consignment_id``; ``NotFoundError`` if it is not stored."""
    check_identifier("consignment_id", consignment_id)
    decisions.newest_version(store, consignment_id)
    return DecisionPanel(
        consignment_id,
        decisions.run_decisions(store, consignment_id),
        decisions.instructions(store, consignment_id),
        decisions.referrals(store, consignment_id),
    )


def override_lane(
    store: Store,
    run_id: str,
    consignment_id: str,
    *,
    lane: str,
    reason_code: str,
    note: str | None = None,
    actor: str,
) -> LaneOverridden:
    """Move ``consignment_id`` to ``lane`` in the selection run ``run_id`` for
    ``reason_code`` (one of ``reason_codes``; OFFICER_JUDGEMENT needs a ``note``, at most
    ``NOTE_MAX`` characters). A planned order of the consignment follows (its control type
    changed, or cancelled for green and blue); an order in progress or finished, or lowering a
    consignment the random sample drew, is refused with a ``ConflictError`` saying why."""
    check_identifier("run_id", run_id, max_length=36)
    check_identifier("consignment_id", consignment_id)
    return decisions.override_lane(store, run_id, consignment_id, lane=lane,
                                   reason_code=reason_code, note=note, actor=actor)  # fmt: skip


def add_instruction(
    store: Store, consignment_id: str, *, text: str, actor: str
) -> ExaminerInstruction:
    """Add an instruction (1 to ``TEXT_MAX`` characters) for the examiners of
    ``consignment_id``; it is shown on the consignment's orders."""
    check_identifier("consignment_id", consignment_id)
    return decisions.add_instruction(store, consignment_id, text, actor=actor)


def open_referral(
    store: Store, consignment_id: str, *, kind: str, request: str, actor: str
) -> Referral:
    """Open a referral of ``kind`` (RFI request for information, RFS request for screening,
    DNL do not load) on ``consignment_id`` with its ``request`` (1 to ``TEXT_MAX``
    characters)."""
    check_identifier("consignment_id", consignment_id)
    return decisions.open_referral(store, consignment_id, kind=kind, request=request,
                                   actor=actor)  # fmt: skip


def close_referral(
    store: Store,
    referral_id: str,
    *,
    result: str,
    actor: str,
    consignment_id: str | None = None,
) -> Referral:
    """Close the open referral ``referral_id`` (of ``consignment_id``, when given: else
    ``NotFoundError``) with its ``result`` (1 to ``TEXT_MAX`` characters); closing a closed
    one is a ``ConflictError``."""
    check_identifier("referral_id", referral_id, max_length=36)
    return decisions.close_referral(store, referral_id, result=result, actor=actor,
                                    consignment_id=consignment_id)  # fmt: skip
