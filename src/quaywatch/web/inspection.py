"""The inspection screens: the orders an inspector works, and each order's steps.

``/orders`` lists the orders the visitor may read (an inspector: those of their terminals;
``services.control.list_orders``), ``/orders/<id>`` shows one with its state machine, history,
scans and outcome, and the forms of the steps its state allows: start it, record the scan
verdict, the examination's findings, and the outcome (with the seizure: goods, HS code,
quantity and unit, concealment). Each step is the service's (``services.control``), which
checks the order's state and the fields; a refused step shows the page again with the reason.
Photos and PDF documents are attached to an order in progress or done (``attach``), listed on
its page with their SHA-256, and served to those who may read the order (``attachment``),
photos as thumbnails.
Officers turn a selection run into orders from the worklist (``create_orders``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile

from quaywatch.api.context import service
from quaywatch.api.routes.orders import file_response
from quaywatch.control import results
from quaywatch.control.attachments import megabytes
from quaywatch.control.states import State
from quaywatch.domain.access import Permission
from quaywatch.domain.vocabulary import (
    Concealment,
    ControlResult,
    Irregularity,
    SeizureUnit,
    Verdict,
)
from quaywatch.errors import (
    ConflictError,
    InputError,
    NotFoundError,
    PermissionDeniedError,
    said,
)
from quaywatch.services import control
from quaywatch.web.pages import (
    Visitor,
    admitted,
    gettext,
    posted_by,
    redirect_to,
    render,
    told,
)

router = APIRouter(include_in_schema=False)

#: Orders listed at most.
ORDERS_SHOWN = 500
#: The steps of an order a form posts.
STEPS = results.STEPS


def _choices() -> dict[str, list[str]]:
    return {
        "verdicts": [v.value for v in Verdict],
        "results": [r.value for r in ControlResult],
        "irregularities": [i.value for i in Irregularity],
        "units": [u.value for u in SeizureUnit],
        "concealments": [c.value for c in Concealment],
        "states": [s.value for s in State],
    }


@router.get("/orders")
async def order_list(request: Request, state: str = "") -> Response:
    """The orders the visitor may read, oldest shift first, by state when one is chosen."""
    service_state, visitor, refusal = await admitted(request, Permission.ORDER_READ)
    if refusal is not None:
        return refusal
    try:
        found = await run_in_threadpool(
            control.list_orders, service_state.store, state=state or None, limit=ORDERS_SHOWN,
            viewer=visitor.principal,
        )  # fmt: skip
    except InputError as exc:
        return render(
            request, visitor, "refused.html", {"failure": told(visitor.language, exc)}, status=422
        )
    return render(request, visitor, "orders.html", {"orders": found, "state": state,
                                                     **_choices()})  # fmt: skip


def _order_page(
    request: Request, visitor: Visitor, dossier: control.OrderDossier, *, error: str | None,
    status: int = 200,
) -> Response:  # fmt: skip
    order = dossier.order
    principal = visitor.principal
    may_work = principal is not None and principal.may_act_at(Permission.ORDER_WORK, order.terminal)
    steps = control.allowed_steps(order) if may_work else ()
    limit = megabytes(service(request).settings.attachment_max_bytes)
    return render(
        request, visitor, "order.html",
        {"d": dossier, "o": order, "error": error, "steps": steps,
         "attach": may_work and control.attachable(order), "limit": limit, **_choices()},
        status=status,
    )  # fmt: skip


@router.get("/orders/{order_id}")
async def order_page(request: Request, order_id: str) -> Response:
    """One order: its state machine and history, scans and outcome, and the steps it allows."""
    state, visitor, refusal = await admitted(request, Permission.ORDER_READ)
    if refusal is not None:
        return refusal
    principal = visitor.principal
    assert principal is not None  # admitted let a principal in
    try:
        await run_in_threadpool(
            control.check_order_access, state.store, order_id, principal, Permission.ORDER_READ
        )
        dossier = await run_in_threadpool(control.order_dossier, state.store, order_id)
    except NotFoundError:
        missing = gettext(visitor.language, "There is no order %(id)s.") % {"id": order_id}
        return render(request, visitor, "refused.html", {"missing": missing}, status=404)
    except PermissionDeniedError:
        return render(request, visitor, "refused.html", {"terminal": True}, status=403)
    return _order_page(request, visitor, dossier, error=None)


def _text(form: dict[str, str], name: str) -> str | None:
    value = form.get(name, "").strip()
    return value or None


def _number(form: dict[str, str], name: str) -> float | None:
    value = _text(form, name)
    if value is None:
        return None
    try:
        return float(value)
    except ValueError:
        raise InputError(said("%(name)s must be a number, got %(value)s", name=name,
                              value=repr(value))) from None  # fmt: skip


def _yes_no(form: dict[str, str], name: str) -> bool | None:
    return {"yes": True, "no": False}.get(form.get(name, ""))


def _step(form: dict[str, str], step: str, actor: str) -> Callable[[Any, str], object]:
    """The service call of ``step`` with the form's fields (``InputError`` for a bad one)."""
    if step == "start":
        return lambda store, order_id: control.start_order(store, order_id, actor=actor)
    if step == "scan":
        verdict, image, analyst = form.get("verdict", ""), form.get("image_ref", ""), actor
        return lambda store, order_id: control.record_scan(
            store, order_id, verdict=verdict, image_ref=image, analyst=analyst, actor=actor
        )
    if step == "findings":
        note = form.get("note", "")
        seals, goods = _yes_no(form, "seals_intact"), _yes_no(form, "goods_as_declared")
        return lambda store, order_id: control.record_findings(
            store, order_id, note=note, seals_intact=seals, goods_as_declared=goods, actor=actor
        )
    if step == "outcome":
        result, irregularity = form.get("result", ""), _text(form, "irregularity")
        revenue = _number(form, "revenue_recovered_eur") or 0.0
        seized, quantity = _text(form, "seizure_goods"), _number(form, "seizure_quantity")
        unit, hs6 = _text(form, "seizure_unit"), _text(form, "seizure_hs6")
        concealment = _text(form, "concealment")
        return lambda store, order_id: control.record_outcome(
            store, order_id, result=result, irregularity=irregularity,
            revenue_recovered_eur=revenue, seizure_goods=seized, seizure_quantity=quantity,
            seizure_unit=unit, seizure_hs6=hs6, concealment=concealment, actor=actor,
        )  # fmt: skip
    raise NotFoundError(f"no step {step!r}")


@router.get("/orders/{order_id}/attachments/{sha256}")
async def attachment(request: Request, order_id: str, sha256: str) -> Response:
    """One file attached to an order, for a visitor who may read the order: its content,
    checked against its SHA-256, with the type that content shows (a photo inline, a PDF as
    a download). Content changed in the store is refused with the reason, never served."""
    state, visitor, refusal = await admitted(request, Permission.ORDER_READ)
    principal = visitor.principal
    if refusal is not None or principal is None:
        return refusal or redirect_to("/login")
    try:
        found = await run_in_threadpool(
            lambda: control.attachment_content(state.store, order_id, sha256,
                                               principal=principal)
        )  # fmt: skip
    except NotFoundError:
        missing = gettext(visitor.language, "Order %(id)s has no attachment %(sha256)s.") % {
            "id": order_id, "sha256": sha256,
        }  # fmt: skip
        return render(request, visitor, "refused.html", {"missing": missing}, status=404)
    except PermissionDeniedError:
        return render(request, visitor, "refused.html", {"terminal": True}, status=403)
    return file_response(found)


# Before ``order_step``, whose ``{step}`` would take ``attachments`` for a step's name.
@router.post("/orders/{order_id}/attachments")
async def attach(request: Request, order_id: str) -> Response:
    """Attach the posted file (a photo or a PDF) with its caption to the order, and show the
    order again: with the file listed, or with the reason it was refused."""
    # Who asks, before the form (and its file) is read: a stranger's upload is not spooled.
    _, _, stranger = await admitted(request, Permission.ORDER_WORK)
    if stranger is not None:
        return stranger
    state, visitor, fields, refusal = await posted_by(request, Permission.ORDER_WORK)
    # ``posted_by`` keeps the form's text fields; the form it parsed (kept by the request)
    # holds the file, spooled to a temporary file that is closed whatever the answer.
    form = await request.form()
    try:
        principal = visitor.principal
        if refusal is not None or principal is None:
            return refusal or redirect_to("/login")
        upload = form.get("file")
        limit = state.settings.attachment_max_bytes
        content, filename = b"", None
        if isinstance(upload, UploadFile):
            content, filename = await upload.read(limit + 1), upload.filename
        caption = fields.get("caption")
        await run_in_threadpool(
            lambda: control.attach_file(
                state.store, order_id, content, filename=filename, caption=caption,
                max_bytes=limit, principal=principal,
            )
        )  # fmt: skip
    except NotFoundError:
        missing = gettext(visitor.language, "There is no order %(id)s.") % {"id": order_id}
        return render(request, visitor, "refused.html", {"missing": missing}, status=404)
    except PermissionDeniedError:
        return render(request, visitor, "refused.html", {"terminal": True}, status=403)
    except (InputError, ConflictError) as exc:
        dossier = await run_in_threadpool(control.order_dossier, state.store, order_id)
        status = 409 if isinstance(exc, ConflictError) else 422
        return _order_page(
            request, visitor, dossier, error=told(visitor.language, exc), status=status
        )
    finally:
        await form.close()
    return redirect_to(f"/orders/{quote(order_id, safe='')}")


@router.post("/orders/{order_id}/{step}")
async def order_step(request: Request, order_id: str, step: str) -> Response:
    """Do one step of an order (``start``, ``scan``, ``findings``, ``outcome``) and show the
    order again: moved on, or with the reason the step was refused."""
    state, visitor, form, refusal = await posted_by(request, Permission.ORDER_WORK)
    principal = visitor.principal
    if refusal is not None or principal is None:
        return refusal or redirect_to("/login")
    if step not in STEPS:
        missing = gettext(visitor.language, "There is no step %(step)s.") % {"step": step}
        return render(request, visitor, "refused.html", {"missing": missing}, status=404)
    try:
        await run_in_threadpool(
            control.check_order_access, state.store, order_id, principal, Permission.ORDER_WORK
        )
        call = _step(form, step, principal.name)
        await run_in_threadpool(call, state.store, order_id)
    except NotFoundError:
        missing = gettext(visitor.language, "There is no order %(id)s.") % {"id": order_id}
        return render(request, visitor, "refused.html", {"missing": missing}, status=404)
    except PermissionDeniedError:
        return render(request, visitor, "refused.html", {"terminal": True}, status=403)
    except (InputError, ConflictError) as exc:
        dossier = await run_in_threadpool(control.order_dossier, state.store, order_id)
        status = 409 if isinstance(exc, ConflictError) else 422
        return _order_page(
            request, visitor, dossier, error=told(visitor.language, exc), status=status
        )
    return redirect_to(f"/orders/{order_id}")
