"""The decision panel on a consignment's dossier: the targeting officer overrides its lane in a
selection run with a reason code, instructs the examiners, opens and closes referrals.

Everyone who reads the dossier (``assessment:read``) sees the panel; its forms are shown to,
and accepted from, ``selection:decide`` only (with the session's CSRF token). Each form posts
here, calls one service (``services.decisions``) and goes back to the dossier at the panel's
part it changed (``/consignments/<id>#lane``, ``#instructions``, ``#referrals``). A refused
form shows the dossier again with what was typed: a bad field's reason beside the field (422),
what the state forbids above the form (409), an unknown run or referral likewise (404).
"""

from __future__ import annotations

from collections.abc import Callable
from urllib.parse import quote

from fastapi import APIRouter, Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from quaywatch.api.context import Service
from quaywatch.domain.access import Permission
from quaywatch.errors import ConflictError, InputError, NotFoundError, RecordError
from quaywatch.services import decisions
from quaywatch.store.store import Store
from quaywatch.web.pages import CSRF_FIELD, Visitor, dossier_page, posted_by, redirect_to, told

router = APIRouter(include_in_schema=False)

#: Where on the dossier each form of the panel is, to go back to.
ANCHORS = {"lane": "lane", "instruction": "instructions", "referral": "referrals",
           "close": "referrals"}  # fmt: skip


async def _decide(
    request: Request,
    consignment_id: str,
    form_name: str,
    call: Callable[[Store, dict[str, str], str], object],
) -> Response:
    """Check the visitor and the form, make ``call(store, form, actor)`` and go back to the
    dossier; or show the dossier again with the reason the form was refused."""
    state, visitor, form, refusal = await posted_by(request, Permission.SELECTION_DECIDE)
    principal = visitor.principal
    if refusal is not None or principal is None:
        return refusal or redirect_to("/login")
    try:
        await run_in_threadpool(call, state.store, form, principal.name)
    except RecordError as exc:
        errors = {exc.field or "form": told(visitor.language, exc, with_field=False)}
        return await _again(request, visitor, state, consignment_id, form_name, form, 422,
                            errors=errors)  # fmt: skip
    except (InputError, ConflictError, NotFoundError) as exc:
        return await _again(request, visitor, state, consignment_id, form_name, form,
                            exc.status, failure=told(visitor.language, exc))  # fmt: skip
    target = f"/consignments/{quote(consignment_id, safe='')}#{ANCHORS[form_name.split(':')[0]]}"
    return redirect_to(target)


async def _again(
    request: Request,
    visitor: Visitor,
    state: Service,
    consignment_id: str,
    form_name: str,
    form: dict[str, str],
    status: int,
    *,
    errors: dict[str, str] | None = None,
    failure: str | None = None,
) -> Response:
    values = {k: v for k, v in form.items() if k != CSRF_FIELD}
    return await dossier_page(
        request, visitor, state, consignment_id, status=status, panel_form=form_name,
        panel_values=values, panel_errors=errors or {}, panel_failure=failure,
    )  # fmt: skip


@router.post("/consignments/{consignment_id}/lane")
async def override_lane(request: Request, consignment_id: str) -> Response:
    """Move the consignment to another lane of a selection run, for a reason code."""

    def call(store: Store, form: dict[str, str], actor: str) -> object:
        return decisions.override_lane(
            store, form.get("run", ""), consignment_id, lane=form.get("lane", ""),
            reason_code=form.get("reason_code", ""), note=form.get("note"), actor=actor,
        )  # fmt: skip

    return await _decide(request, consignment_id, "lane", call)


@router.post("/consignments/{consignment_id}/instructions")
async def add_instruction(request: Request, consignment_id: str) -> Response:
    """Add an instruction for the consignment's examiners."""

    def call(store: Store, form: dict[str, str], actor: str) -> object:
        return decisions.add_instruction(store, consignment_id, text=form.get("text", ""),
                                         actor=actor)  # fmt: skip

    return await _decide(request, consignment_id, "instruction", call)


@router.post("/consignments/{consignment_id}/referrals")
async def open_referral(request: Request, consignment_id: str) -> Response:
    """Open a referral (RFI, RFS, DNL) with its request."""

    def call(store: Store, form: dict[str, str], actor: str) -> object:
        return decisions.open_referral(store, consignment_id, kind=form.get("kind", ""),
                                       request=form.get("request", ""), actor=actor)  # fmt: skip

    return await _decide(request, consignment_id, "referral", call)


@router.post("/consignments/{consignment_id}/referrals/{referral_id}/close")
async def close_referral(request: Request, consignment_id: str, referral_id: str) -> Response:
    """Close an open referral of the consignment with its result."""

    def call(store: Store, form: dict[str, str], actor: str) -> object:
        return decisions.close_referral(store, referral_id, result=form.get("result", ""),
                                        actor=actor, consignment_id=consignment_id)  # fmt: skip

    return await _decide(request, consignment_id, f"close:{referral_id}", call)
