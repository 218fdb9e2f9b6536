"""Intake over HTTP: consignments, container events, control outcomes and carriers'
documents (DCSA eBL 3) in.

Each submission goes through the same reader, checks, quarantine and idempotency as a file
(``services.intake.submit_records``). A consignment submitted alone answers 201 with its
assessment when it is new (or a new version), 200 with it when it was stored already, and 422
naming each field at fault, with the quarantine entry that now holds it, when it is invalid.
An array answers with the counts, the quarantined records and the stored consignments'
assessments (201 when something was new, 422 when nothing could be stored). Events, outcomes
and carrier documents answer so too, one record or many.
"""

from __future__ import annotations

import asyncio
from typing import Annotated, Any

from fastapi import APIRouter, Body, Path, Query, Request, Response
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from quaywatch.api import problems
from quaywatch.api.context import (
    PREFIX,
    Service,
    ServiceState,
    SignedSubmitter,
    Submitter,
)
from quaywatch.api.problems import RecordProblem
from quaywatch.api.schemas import (
    EXAMPLE_CONSIGNMENT,
    EXAMPLE_DOCUMENT,
    EXAMPLE_EVENT,
    EXAMPLE_OUTCOME,
    ConsignmentReceipt,
    RecordWarning,
    SubmissionReceipt,
    one_or_many,
)
from quaywatch.config import read_intake_options
from quaywatch.domain.access import Principal
from quaywatch.domain.vocabulary import RecordKind
from quaywatch.intake import formats
from quaywatch.services import intake
from quaywatch.services.assessments import Assessment, assess_consignments

router = APIRouter(
    prefix=PREFIX, tags=["intake"], responses=problems.documented(401, 403, 422, 503)
)

NO_MODEL = "stored, not assessed: no model is current yet (quaywatch train)"


def _problems(rejected: tuple[intake.RejectedRecord, ...]) -> list[RecordProblem]:
    return [
        RecordProblem(
            index=r.index,
            record_id=r.record_id,
            field=f or None,
            reason=reason,
            quarantine_id=r.quarantine_id,
        )  # fmt: skip
        for r in rejected
        for f, reason in r.errors
    ]


def _submit(
    state: ServiceState, who: Principal, body: Any, kind: RecordKind, wrapper: str | None = None,
    format_name: str | None = None,
) -> intake.Submission:  # fmt: skip
    records = intake.records_of(body, wrapper=wrapper)
    return intake.submit_records(
        state.store, records, kind=kind, source=_source(who, kind), actor=who.name,
        options=read_intake_options(state.settings), format_name=format_name,
    )  # fmt: skip


#: The formats events come in (the registry's, ``intake.formats``).
EVENT_FORMATS = [n for n, f in formats.FORMATS.items() if f.kind is RecordKind.EVENTS]
#: The ``format`` query parameter of an event submission.
EventFormat = Annotated[
    str | None,
    Query(
        alias="format",
        description=f"The events' format, one of {', '.join(EVENT_FORMATS)}; by default told "
        "from the first event's keys (docs/formats.md).",
        max_length=40,
        examples=EVENT_FORMATS,
    ),
]


def _source(who: Principal, kind: RecordKind) -> str:
    return f"api:{kind.value}:{who.name}"


def _refused(request: Request, rejected: tuple[intake.RejectedRecord, ...]) -> JSONResponse:
    detail = "; ".join(
        f"record {r.index}" + (f" ({r.record_id})" if r.record_id else "") + ": "
        + ", ".join(f"{f}: {reason}" if f else reason for f, reason in r.errors)
        for r in rejected[:5]
    )  # fmt: skip
    return problems.response(
        422, "invalid-record", "The records are invalid and were quarantined",
        detail or "invalid records", request, errors_=_problems(rejected),
    )  # fmt: skip


def _receipt(found: intake.Submission, assessments: list[Assessment], note: str | None) -> Any:
    s = found.summary
    return SubmissionReceipt(
        batch_id=s.batch_id, read=s.read, new=s.new, unchanged=s.unchanged,
        quarantined=s.quarantined, skipped=dict(s.skipped), format=s.format,
        reference_version=s.reference_version,
        warnings=[RecordWarning(record_id=w.record_id, field=w.field, reason=w.reason)
                  for w in s.warnings[:100]],
        rejected=_problems(found.rejected), assessments=assessments, note=note,
    )  # fmt: skip


@router.post(
    "/consignments",
    summary="Submit consignments and get their assessments",
    status_code=201,
    openapi_extra=one_or_many("Consignment", EXAMPLE_CONSIGNMENT),
    responses={
        201: {
            "model": ConsignmentReceipt | SubmissionReceipt,
            "description": "Stored (something new), with the assessments",
        },
        200: {
            "model": ConsignmentReceipt | SubmissionReceipt,
            "description": "Stored already: unchanged, with the assessments",
        },
    },  # fmt: skip
    response_model=ConsignmentReceipt | SubmissionReceipt,
)
async def submit_consignments(
    request: Request,
    response: Response,
    state: ServiceState,
    who: Submitter,
    body: Annotated[Any, Body()],
) -> Any:
    """One consignment (an object) or up to 1,000 (an array), as in a JSON Lines file.

    Consignments posted one at a time by several clients at once are stored and assessed
    together, in one import and one scoring run (``services.filing``); each answer is still
    about its own consignment.
    """
    if isinstance(body, dict):
        # Awaited, not waited for in a worker thread: many requests wait for one batch.
        filed = await asyncio.wrap_future(
            state.filing.submit(body, actor=who.name, source=_source(who, RecordKind.CONSIGNMENTS))
        )
        if filed.rejected is not None:
            return _refused(request, (filed.rejected,))
        response.status_code = 201 if filed.status == "new" else 200
        return ConsignmentReceipt(
            consignment_id=filed.consignment_id, status=filed.status,
            assessment=filed.assessment, note=None if filed.assessment else NO_MODEL,
        )  # fmt: skip
    return await run_in_threadpool(_submit_many, request, response, state, who, body)


def _submit_many(
    request: Request, response: Response, state: Service, who: Principal, body: Any
) -> Any:
    found = _submit(state, who, body, RecordKind.CONSIGNMENTS)
    s = found.summary
    if s.quarantined == s.read:
        return _refused(request, found.rejected)
    model = state.models.get()
    assessments: list[Assessment] = []
    if model is not None and found.stored_ids:
        assessments = list(
            assess_consignments(state.store, list(found.stored_ids), model=model, actor=who.name,
                                saturation_pct=state.settings.hit_saturation_pct,
                                key_dir=state.settings.key_dir)
        )  # fmt: skip
    response.status_code = 201 if s.new else 200
    return _receipt(found, assessments, None if model is not None else NO_MODEL)


def _answer(request: Request, response: Response, found: intake.Submission) -> Any:
    """The answer to a submission of events or outcomes: 422 when nothing could be stored,
    else 201 (something new) or 200 with the receipt."""
    if found.summary.quarantined == found.summary.read:
        return _refused(request, found.rejected)
    response.status_code = 201 if found.summary.new else 200
    return _receipt(found, [], None)


def _records(kind: RecordKind, wrapper: str | None = None) -> Any:
    def submit(
        request: Request,
        response: Response,
        state: ServiceState,
        who: Submitter,
        body: Annotated[Any, Body()],
    ) -> Any:
        return _answer(request, response, _submit(state, who, body, kind, wrapper))

    def submit_events(
        request: Request,
        response: Response,
        state: ServiceState,
        who: Submitter,
        body: Annotated[Any, Body()],
        format_name: EventFormat = None,
    ) -> Any:
        found = _submit(state, who, body, kind, wrapper, format_name)
        return _answer(request, response, found)

    return submit_events if kind is RecordKind.EVENTS else submit


router.add_api_route(
    "/events",
    _records(RecordKind.EVENTS, wrapper="events"),
    methods=["POST"],
    summary="Submit DCSA Track & Trace container events",
    description=(
        "DCSA Track & Trace events (2.2 or 3.x): one event, an array (what an event "
        'subscription\'s callback receives) or a 3.x response `{"events": [...]}`. Events '
        "make the assessments of their consignments stale: the next scoring run, or the next "
        "assessment asked for, takes them into account."
    ),
    status_code=201,
    response_model=SubmissionReceipt,
    responses={200: {"model": SubmissionReceipt, "description": "Stored already: unchanged"}},
    openapi_extra=one_or_many("DcsaEvent", EXAMPLE_EVENT, wrapper="events"),
)
router.add_api_route(
    "/outcomes",
    _records(RecordKind.OUTCOMES),
    methods=["POST"],
    summary="Submit control outcomes",
    description=(
        "Outcomes of controls made outside quaywatch's orders (the declaration system's): one "
        "or an array. Outcomes of quaywatch's own orders are recorded on the order."
    ),
    status_code=201,
    response_model=SubmissionReceipt,
    responses={200: {"model": SubmissionReceipt, "description": "Stored already: unchanged"}},
    openapi_extra=one_or_many("ControlOutcomeRecord", EXAMPLE_OUTCOME),
)

router.add_api_route(
    "/documents",
    _records(RecordKind.DOCUMENTS),
    methods=["POST"],
    summary="Submit carriers' documents (DCSA eBL 3)",
    description=(
        "DCSA eBL 3 transport documents or shipping instructions, as a carrier or the port "
        "community system sends them: one document (bare, a full-state-transfer notification "
        "with `data.transportDocument` or `data.shippingInstructions`, or an amendment's "
        "`amendedTransportDocument`) or an array of them. Checked, quarantined and stored as "
        "by `quaywatch ingest --kind documents`: a document already stored is unchanged (200); "
        "the same reference with other content is stored as its next revision (201). Each is "
        "linked to the consignments declaring its B/L (`GET /documents/{reference}`)."
    ),
    status_code=201,
    response_model=SubmissionReceipt,
    responses={200: {"model": SubmissionReceipt, "description": "Stored already: unchanged"}},
    openapi_extra=one_or_many("DcsaDocument", EXAMPLE_DOCUMENT),
)


SubscriptionId = Annotated[str, Path(min_length=1, max_length=100)]


@router.head("/events", status_code=204, summary="Check the event endpoint")
def events_check(who: Submitter) -> Response:
    """Answers 204 to a feed that checks its credentials before sending."""
    return Response(status_code=204)


@router.post(
    "/events/callbacks/{subscription_id}",
    summary="Receive a DCSA event subscription's deliveries",
    status_code=201,
    response_model=SubmissionReceipt,
    responses={200: {"model": SubmissionReceipt, "description": "Stored already: unchanged"}},
    openapi_extra=one_or_many("DcsaEvent", EXAMPLE_EVENT, wrapper="events"),
)
def event_callback(
    subscription_id: SubscriptionId,
    request: Request,
    response: Response,
    state: ServiceState,
    who: SignedSubmitter,
    body: Annotated[Any, Body()],
    format_name: EventFormat = None,
) -> Any:
    """The callback URL to give a DCSA Track & Trace publisher for a subscription registered
    with `quaywatch callbacks add`: each delivery is checked against the subscription's shared
    secret (`Notification-Signature: sha256=<hex>` over the body, `Subscription-ID`) and its
    events stored as by `POST /events`, as the subscription's feed account. A feed's token is
    accepted too."""
    found = _submit(state, who, body, RecordKind.EVENTS, "events", format_name)
    return _answer(request, response, found)


@router.head("/events/callbacks/{subscription_id}", status_code=204, summary="Check a callback URL")
def event_callback_check(subscription_id: SubscriptionId) -> Response:
    """Answers 204: what a publisher may check before it registers the callback URL. Stores
    nothing and says nothing about the subscription."""
    return Response(status_code=204)
