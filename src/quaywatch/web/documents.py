"""A carrier's document (``assessment:read``): what the carrier filed for a B/L, beside the
declarations.

``/documents/<reference>`` shows ``services.documents.show_document``: the newest revision of
the DCSA eBL transport document or shipping instructions filed under ``reference`` (its own
reference or the B/L number it carries): transport, parties, equipment with its seals, cargo
items; every revision received; and each consignment declaring its B/L, linked to its dossier,
with its discrepancies with the filing. The consignment dossier shows the same check for its
own B/L (``web.pages.dossier_page``).
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from quaywatch.domain.access import Permission
from quaywatch.errors import NotFoundError
from quaywatch.services.documents import show_document
from quaywatch.web.pages import admitted, gettext, render

router = APIRouter(include_in_schema=False)

#: Characters of a reference looked up at most (the API's limit).
MAX_REFERENCE = 100


@router.get("/documents/{reference}")
async def document_page(request: Request, reference: str) -> Response:
    """The carrier document filed under ``reference``; 404 for one not stored."""
    state, visitor, refusal = await admitted(request, Permission.ASSESSMENT_READ)
    if refusal is not None:
        return refusal
    found = None
    if len(reference) <= MAX_REFERENCE:  # a longer one names no document: not looked up
        try:
            found = await run_in_threadpool(show_document, state.store, reference)
        except NotFoundError:
            found = None
    if found is None:
        missing = gettext(visitor.language, "There is no carrier document %(ref)s.") % {
            "ref": reference
        }
        return render(request, visitor, "refused.html", {"missing": missing}, status=404)
    return render(request, visitor, "document.html", {"doc": found})
