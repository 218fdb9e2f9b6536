"""The audit screen (``audit:read``: managers, administrators): verify the chain, browse the
trail.

``/audit`` shows the events newest first (``services.audit.audit_page``), filtered by who acted,
what they did, the object (its kind and id) and a period of whole days, fifty at a time; the
next page starts below the last event shown (a cursor on the sequence number, so a page never
shifts as events are added). Each event's details are data and shown as such (escaped JSON).
The button posts ``/audit/verify`` (``services.audit.verify_audit``, optionally against an
anchor kept from an earlier verification, and optionally re-hashing every stored row the trail
binds, as ``audit verify --full`` does): the page then says what was checked and the head to
keep, or names the first event that breaks the chain, or lists the stored rows changed, missing
or added behind quaywatch's back.
"""

from __future__ import annotations

import json
import re
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from quaywatch.api.context import Service
from quaywatch.domain.access import Permission
from quaywatch.errors import AuditChainError, InputError, TamperedError, said
from quaywatch.services.audit import AuditPage, Verification, audit_page, verify_audit
from quaywatch.web.pages import Visitor, admitted, gettext, posted_by, redirect_to, render, told

router = APIRouter(include_in_schema=False)

#: Events on one page.
PAGE = 50
#: The filters of the page, as the query string names them.
FILTERS = ("actor", "action", "object_type", "object_id", "from", "to")


def _day(text: str, name: str) -> date | None:
    if not text:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise InputError(said("%(name)s must be a date as YYYY-MM-DD, got %(value)s", name=name,
                              value=repr(text))) from None  # fmt: skip


def _page(state: Service, asked: dict[str, str]) -> AuditPage:
    """The page of events the filters ``asked`` (text as typed) choose; ``InputError`` for a
    filter that cannot be used."""
    first, last = _day(asked["from"], "from"), _day(asked["to"], "to")
    before = asked.get("before", "")
    if before and not re.fullmatch(r"[0-9]{1,19}", before):
        raise InputError(said("before must be an event's sequence number, got %(value)s",
                              value=repr(before)))  # fmt: skip
    if last is not None and last >= date.max:
        raise InputError(
            said(
                "%(name)s must be a date before %(last)s, got %(value)s",
                name="to",
                last=date.max.isoformat(),
                value=repr(asked["to"]),
            )
        )
    return audit_page(
        state.store, limit=PAGE, actor=asked["actor"] or None, action=asked["action"] or None,
        object_type=asked["object_type"] or None, object_id=asked["object_id"] or None,
        since=None if first is None else datetime.combine(first, time(), UTC),
        until=None if last is None else datetime.combine(last, time(), UTC) + timedelta(days=1),
        before=int(before) if before else None,
    )  # fmt: skip


def _show(
    request: Request,
    visitor: Visitor,
    state: Service,
    asked: dict[str, str],
    *,
    checked: Verification | None = None,
    broken: str | None = None,
    tampered: str | None = None,
    anchor: str = "",
    full: bool = False,
    error: str | None = None,
    status: int = 200,
) -> Response:
    try:
        found = _page(state, asked)
    except InputError as exc:
        found, status = None, 422
        error = gettext(visitor.language, "These events cannot be shown: %(reason)s") % {
            "reason": told(visitor.language, exc)
        }
    details = (
        {}
        if found is None
        else {e.seq: json.dumps(e.details, sort_keys=True, ensure_ascii=False, default=str)
              for e in found.events}
    )  # fmt: skip
    keep = {name: value for name, value in asked.items() if name != "before" and value}
    return render(
        request, visitor, "audit.html",
        {"page": found, "asked": asked, "keep": keep, "details": details, "error": error,
         "checked": checked, "broken": broken, "tampered": tampered, "anchor": anchor,
         "full": full},
        status=status,
    )  # fmt: skip


def _asked(source: Any) -> dict[str, str]:
    asked = {name: str(source.get(name, "")).strip() for name in FILTERS}
    asked["before"] = str(source.get("before", "")).strip()
    return asked


@router.get("/audit")
async def audit_screen(request: Request) -> Response:
    """The audit trail, newest first, filtered; a page starting below ``before``."""
    state, visitor, refusal = await admitted(request, Permission.AUDIT_READ)
    if refusal is not None:
        return refusal
    asked = _asked(request.query_params)
    return await run_in_threadpool(lambda: _show(request, visitor, state, asked))


@router.post("/audit/verify")
async def audit_verify(request: Request) -> Response:
    """Walk the whole chain (against the anchor, if one is given) and show what was found,
    above the trail as filtered."""
    state, visitor, form, refusal = await posted_by(request, Permission.AUDIT_READ)
    if refusal is not None or visitor.principal is None:
        return refusal or redirect_to("/login")
    asked, anchor = _asked(form), form.get("anchor", "").strip()
    full = form.get("full") == "on"

    def verified() -> Response:
        try:
            checked = verify_audit(state.store, anchor=anchor or None, full=full)
        except AuditChainError as exc:
            return _show(
                request, visitor, state, asked, broken=told(visitor.language, exc), anchor=anchor
            )
        except TamperedError as exc:
            return _show(
                request,
                visitor,
                state,
                asked,
                tampered=told(visitor.language, exc),
                anchor=anchor,
                full=full,
            )
        except InputError as exc:
            error = gettext(visitor.language, "The anchor cannot be used: %(reason)s") % {
                "reason": told(visitor.language, exc)
            }
            return _show(request, visitor, state, asked, anchor=anchor, error=error, status=422)
        return _show(request, visitor, state, asked, checked=checked, anchor=anchor, full=full)

    return await run_in_threadpool(verified)
