"""Inspection orders over HTTP: make a run's orders, list them, work each step, and attach
photos and PDF documents to them.

An inspector reads and works only the orders of their own terminals
(``services.control.check_order_access``); the other roles that hold the permission, all.
A file is sent as ``multipart/form-data`` (``file``, and an optional ``caption``); what it is
comes from its content, not from the type the client names, and its SHA-256 is computed by
the service. It is answered with the type its content showed, never sniffed by the browser
(``nosniff``), in a sandbox (CSP) so that nothing in it runs, a photo inline and a PDF as a
download.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, File, Form, Path, Query, UploadFile
from fastapi.responses import Response
from pydantic import BaseModel, Field

from quaywatch.api import problems
from quaywatch.api.context import (
    PREFIX,
    OrderCreator,
    OrderOverrider,
    OrderReader,
    OrderWorker,
    ServiceState,
)
from quaywatch.control.attachments import MEDIA_TYPES, Attachment, AttachmentContent
from quaywatch.control.orders import Order
from quaywatch.control.outcome import RecordedOutcome
from quaywatch.control.results import ScanResult
from quaywatch.control.states import State
from quaywatch.domain.access import Permission
from quaywatch.domain.vocabulary import (
    Concealment,
    ControlResult,
    ControlType,
    Irregularity,
    SeizureUnit,
    Verdict,
)
from quaywatch.services import control

router = APIRouter(
    prefix=PREFIX, tags=["orders"], responses=problems.documented(401, 403, 404, 409, 422, 503)
)

OrderId = Annotated[str, Path(min_length=1, max_length=35)]
RunId = Annotated[str, Path(min_length=1, max_length=36)]
Sha256 = Annotated[
    str, Path(pattern="^[0-9a-f]{64}$", description="The SHA-256 of the file, 64 hex digits.")
]


def _value(member: StrEnum | None) -> str | None:
    return None if member is None else member.value


#: What a file's answer carries besides its type: no sniffing, nothing in it runs or loads
#: (a sandbox without permissions), no framing, no referrer, not kept by shared browsers.
#: Inline styles only are let through: a browser's own viewer of an opened photo uses them to
#: centre and zoom it, and without script they can do nothing else.
FILE_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "Content-Security-Policy": (
        "default-src 'none'; style-src 'unsafe-inline'; sandbox; frame-ancestors 'none'"
    ),
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}

_TAMPERED: dict[int | str, dict[str, Any]] = {
    500: {
        "model": problems.Problem,
        "content": {problems.MEDIA_TYPE: {}},
        "description": "The stored content no longer matches its SHA-256: it is not served",
    }
}


def content_disposition(disposition: str, filename: str) -> str:
    """A ``Content-Disposition`` value naming ``filename`` safely: an ASCII fallback with
    everything but letters, digits, dot, dash, underscore and space replaced, and the name
    itself percent-encoded (RFC 6266 ``filename*``)."""
    fallback = (
        "".join(
            ch if ch.isascii() and (ch.isalnum() or ch in "._- ") else "_" for ch in filename
        ).strip()
        or "attachment"
    )
    return f"{disposition}; filename=\"{fallback}\"; filename*=UTF-8''{quote(filename, safe='')}"


def file_response(found: AttachmentContent) -> Response:
    """The file's content with its checked type and the headers of ``FILE_HEADERS``: inline
    for a photo, a download for a PDF (browsers' PDF viewers do not run in a sandbox)."""
    attached = found.attachment
    disposition = "attachment" if attached.media_type == "application/pdf" else "inline"
    headers = {
        **FILE_HEADERS,
        "Content-Disposition": content_disposition(disposition, attached.filename),
        "ETag": f'"{attached.sha256}"',
    }
    return Response(found.content, media_type=attached.media_type, headers=headers)


class ScanBody(BaseModel):
    """An NII scan's result."""

    verdict: Verdict
    image_ref: str = Field(min_length=1, max_length=512, examples=["scanner-3/img-000812"])
    analyst: str = Field(min_length=1, max_length=128, description="Who read the image.")
    scan_id: str | None = Field(None, max_length=35, description="The scanner's id of the scan.")


class FindingsBody(BaseModel):
    """What the physical examination found."""

    note: str = Field(min_length=1, max_length=4000)
    seals_intact: bool | None = None
    goods_as_declared: bool | None = None


class OutcomeBody(BaseModel):
    """How the control ended."""

    result: ControlResult
    irregularity: Irregularity | None = None
    revenue_recovered_eur: float = Field(0.0, ge=0, allow_inf_nan=False)
    seizure_goods: str | None = Field(None, max_length=512)
    seizure_quantity: float | None = Field(None, gt=0, allow_inf_nan=False)
    seizure_unit: SeizureUnit | None = None
    seizure_hs6: str | None = Field(None, examples=["293972"])
    concealment: Concealment | None = None


class OverrideBody(BaseModel):
    """Another control type for the order, or its cancellation, with the reason."""

    reason: str = Field(min_length=1, max_length=4000)
    control_type: ControlType | None = None
    cancel: bool = False


@router.post("/selection-runs/{run_id}/orders", summary="Make the orders of a run", status_code=201)
def create(run_id: RunId, state: ServiceState, who: OrderCreator) -> control.OrdersCreated:
    """One inspection order per selected consignment; again for the same run: nothing new."""
    return control.create_orders(state.store, run_id, actor=who.name)


@router.get("/orders", summary="Inspection orders, oldest shift first")
def list_orders(
    state: ServiceState,
    who: OrderReader,
    order_state: Annotated[State | None, Query(alias="state")] = None,
    run_id: Annotated[str | None, Query(max_length=36)] = None,
    limit: Annotated[int, Query(ge=1, le=10_000)] = control.DEFAULT_LIMIT,
) -> list[Order]:
    """The orders the caller may read (an inspector: those of their terminals)."""
    return control.list_orders(
        state.store,
        state=None if order_state is None else order_state.value,
        run_id=run_id,
        limit=limit,
        viewer=who,
    )


@router.get("/orders/{order_id}", summary="One order whole")
def dossier(order_id: OrderId, state: ServiceState, who: OrderReader) -> control.OrderDossier:
    """The order, its steps, its scans and its outcome."""
    control.check_order_access(state.store, order_id, who, Permission.ORDER_READ)
    return control.order_dossier(state.store, order_id)


@router.post("/orders/{order_id}/start", summary="Start working an order")
def start(order_id: OrderId, state: ServiceState, who: OrderWorker) -> Order:
    """The order moves to IN_PROGRESS."""
    control.check_order_access(state.store, order_id, who, Permission.ORDER_WORK)
    return control.start_order(state.store, order_id, actor=who.name)


@router.post("/orders/{order_id}/scan", summary="Record an NII scan", status_code=201)
def scan(order_id: OrderId, body: ScanBody, state: ServiceState, who: OrderWorker) -> ScanResult:
    """The scan's verdict and image; the same image again changes nothing."""
    control.check_order_access(state.store, order_id, who, Permission.ORDER_WORK)
    return control.record_scan(
        state.store, order_id, verdict=body.verdict.value, image_ref=body.image_ref,
        analyst=body.analyst, scan_id=body.scan_id, actor=who.name,
    )  # fmt: skip


@router.post("/orders/{order_id}/findings", summary="Record examination findings")
def findings(
    order_id: OrderId, body: FindingsBody, state: ServiceState, who: OrderWorker
) -> control.FindingsRecorded:
    """What the examination found, for an order in progress."""
    control.check_order_access(state.store, order_id, who, Permission.ORDER_WORK)
    return control.record_findings(
        state.store, order_id, note=body.note, seals_intact=body.seals_intact,
        goods_as_declared=body.goods_as_declared, actor=who.name,
    )  # fmt: skip


@router.post("/orders/{order_id}/outcome", summary="Record the outcome")
def outcome(
    order_id: OrderId, body: OutcomeBody, state: ServiceState, who: OrderWorker
) -> RecordedOutcome:
    """The control's outcome; it becomes a label for learning. The same again changes nothing;
    another outcome for a finished order is refused."""
    control.check_order_access(state.store, order_id, who, Permission.ORDER_WORK)
    return control.record_outcome(
        state.store, order_id, result=body.result.value,
        irregularity=_value(body.irregularity),
        revenue_recovered_eur=body.revenue_recovered_eur, seizure_goods=body.seizure_goods,
        seizure_quantity=body.seizure_quantity, seizure_unit=_value(body.seizure_unit),
        seizure_hs6=body.seizure_hs6, concealment=_value(body.concealment), actor=who.name,
    )  # fmt: skip


@router.post("/orders/{order_id}/override", summary="Change or cancel an order")
def override(
    order_id: OrderId, body: OverrideBody, state: ServiceState, who: OrderOverrider
) -> Order:
    """Another control type, or cancellation, with a mandatory reason."""
    return control.override_order(
        state.store, order_id, reason=body.reason, control_type=_value(body.control_type),
        cancel=body.cancel, actor=who.name,
    )  # fmt: skip


@router.post(
    "/orders/{order_id}/attachments",
    summary="Attach a photo or PDF to an order",
    status_code=201,
    responses={200: {"model": Attachment, "description": "Attached already: nothing changed"}},
)
def attach(
    order_id: OrderId,
    file: Annotated[UploadFile, File(description="A JPEG, PNG or WebP photo, or a PDF.")],
    state: ServiceState,
    who: OrderWorker,
    response: Response,
    caption: Annotated[str | None, Form(description="What the file shows.")] = None,
) -> Attachment:
    """The file is kept once under its SHA-256; the same file on the same order again changes
    nothing (200). The order must be in progress or done; the size limit is the setting
    ``attachment_max_bytes``."""
    limit = state.settings.attachment_max_bytes
    content = file.file.read(limit + 1)  # one byte more than allowed is enough to refuse
    made = control.attach_file(
        state.store, order_id, content, filename=file.filename, caption=caption,
        max_bytes=limit, principal=who,
    )  # fmt: skip
    if not made.created:
        response.status_code = 200
    return made


@router.get("/orders/{order_id}/attachments", summary="The files attached to an order")
def listed(order_id: OrderId, state: ServiceState, who: OrderReader) -> list[Attachment]:
    """Oldest first: name, caption, type, size, SHA-256, who attached it and when."""
    return control.list_attachments(state.store, order_id, principal=who)


@router.get(
    "/orders/{order_id}/attachments/{sha256}",
    summary="One attached file",
    response_class=Response,
    responses={
        200: {
            "description": "The file, with the type its content shows",
            "content": {media: {"schema": {"type": "string", "format": "binary"}}
                        for media in MEDIA_TYPES},
        },
        **_TAMPERED,
    },
)  # fmt: skip
def fetched(order_id: OrderId, sha256: Sha256, state: ServiceState, who: OrderReader) -> Response:
    """The content, hashed again as it is read: content changed in the store is refused
    (500, naming the order and the hash), never served."""
    return file_response(control.attachment_content(state.store, order_id, sha256,
                                                    principal=who))  # fmt: skip
