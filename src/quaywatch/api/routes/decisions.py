"""The targeting officer's decision panel over HTTP: a consignment's lane overrides, examiner
instructions and referrals (``services.decisions``).

Reading the panel needs ``assessment:read``; every write ``selection:decide``. What the rules
refuse (an order no longer planned, a random-sample consignment lowered, a referral closed
already) answers 409 with the reason; a bad field 422 naming it.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path
from pydantic import BaseModel, Field

from quaywatch.api import problems
from quaywatch.api.context import PREFIX, AssessmentReader, Decider, ServiceState
from quaywatch.domain.vocabulary import Lane, OverrideReason
from quaywatch.risk.profiles.profile import Referral as ReferralKind
from quaywatch.services import decisions

router = APIRouter(
    prefix=PREFIX, tags=["decisions"], responses=problems.documented(401, 403, 404, 409, 422, 503)
)

ConsignmentId = Annotated[str, Path(min_length=1, max_length=35)]
RunId = Annotated[str, Path(min_length=1, max_length=36)]
ReferralId = Annotated[str, Path(min_length=1, max_length=36)]


class LaneOverrideBody(BaseModel):
    """The lane to move the consignment to, why (a reason code), and the officer's note."""

    lane: Lane = Field(examples=["red"])
    reason_code: OverrideReason = Field(examples=["NEW_INTELLIGENCE"])
    note: str | None = Field(
        None, max_length=decisions.NOTE_MAX, examples=["Alert from the port of loading"],
        description="Required with OFFICER_JUDGEMENT.",
    )  # fmt: skip


class InstructionBody(BaseModel):
    """What the examiners are to look for, and where."""

    text: str = Field(min_length=1, max_length=decisions.TEXT_MAX,
                      examples=["Check the reefer unit's machinery compartment."])  # fmt: skip


class ReferralBody(BaseModel):
    """An ICS2 referral: request for information, for screening, or do not load."""

    kind: ReferralKind = Field(examples=["RFI"])
    request: str = Field(min_length=1, max_length=decisions.TEXT_MAX,
                         examples=["Send the commercial invoice and the packing list."])  # fmt: skip


class ClosingBody(BaseModel):
    """The answer or result a referral is closed with."""

    result: str = Field(min_length=1, max_length=decisions.TEXT_MAX,
                        examples=["Invoice received; values match the declaration."])  # fmt: skip


@router.get("/lane-override-reasons", summary="The reason codes of lane overrides")
def reasons(who: AssessmentReader) -> list[decisions.ReasonCode]:
    """Each reason code an officer may give for a lane override, and what it means."""
    return decisions.reason_codes()


@router.get("/consignments/{consignment_id}/decisions", summary="A consignment's decision panel")
def panel(
    consignment_id: ConsignmentId, state: ServiceState, who: AssessmentReader
) -> decisions.DecisionPanel:
    """Each selection run's decision on the consignment, with the lane in force and its
    overrides; the examiner instructions; the referrals."""
    return decisions.decision_panel(state.store, consignment_id)


@router.post(
    "/selection-runs/{run_id}/consignments/{consignment_id}/lane",
    summary="Override a consignment's lane", status_code=201,
)  # fmt: skip
def override(
    run_id: RunId,
    consignment_id: ConsignmentId,
    body: LaneOverrideBody,
    state: ServiceState,
    who: Decider,
) -> decisions.LaneOverridden:
    """Move the consignment to another lane of the run, with a reason code; its planned order
    follows. Refused (409) for an order in progress or finished, and for lowering a
    consignment the random sample drew."""
    return decisions.override_lane(
        state.store, run_id, consignment_id, lane=body.lane.value,
        reason_code=body.reason_code.value, note=body.note, actor=who.name,
    )  # fmt: skip


@router.post(
    "/consignments/{consignment_id}/instructions", summary="Instruct the examiners",
    status_code=201,
)  # fmt: skip
def instruct(
    consignment_id: ConsignmentId, body: InstructionBody, state: ServiceState, who: Decider
) -> decisions.ExaminerInstruction:
    """An instruction for the examiners, shown on the consignment's orders."""
    return decisions.add_instruction(state.store, consignment_id, text=body.text, actor=who.name)


@router.post("/consignments/{consignment_id}/referrals", summary="Open a referral", status_code=201)
def refer(
    consignment_id: ConsignmentId, body: ReferralBody, state: ServiceState, who: Decider
) -> decisions.Referral:
    """Open an RFI, RFS or DNL referral with its request."""
    return decisions.open_referral(state.store, consignment_id, kind=body.kind.value,
                                   request=body.request, actor=who.name)  # fmt: skip


@router.post("/referrals/{referral_id}/close", summary="Close a referral")
def close(
    referral_id: ReferralId, body: ClosingBody, state: ServiceState, who: Decider
) -> decisions.Referral:
    """Close an open referral with its result; a closed one answers 409."""
    return decisions.close_referral(state.store, referral_id, result=body.result,
                                    actor=who.name)  # fmt: skip
