"""Errors as RFC 9457 problem details, mapped once from quaywatch's error tree.

Every error response is ``application/problem+json``: ``type`` (a stable URN per kind of
error), ``title``, ``status``, ``detail`` (the error's message, which never holds a secret) and
``instance`` (the request path), with extension members where the error has more to say:
``errors`` (each record and field at fault, with the quarantine entry that holds the record)
and ``retry_after_s``; ``code``, the message id of a message made with ``errors.said`` (its
English template, the key of the web application's catalogs). Anything that is not a ``QuaywatchError`` is a bug: it is logged with its
traceback and answered with a bare 500 that reveals nothing of it.
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from starlette.exceptions import HTTPException

from quaywatch import errors

log = logging.getLogger("quaywatch.api")

MEDIA_TYPE = "application/problem+json"

#: Each error class, most specific first: the URN suffix of its ``type`` and its title.
KINDS: tuple[tuple[type[errors.QuaywatchError], str, str], ...] = (
    (errors.RecordError, "invalid-record", "A record is invalid"),
    (errors.InputError, "invalid-input", "The request cannot be used"),
    (errors.ConfigurationError, "configuration", "The service is misconfigured"),
    (errors.AuthenticationError, "unauthenticated", "Authentication required"),
    (errors.PermissionDeniedError, "forbidden", "Not allowed for your roles"),
    (errors.TooManyAttemptsError, "too-many-attempts", "Too many attempts"),
    (errors.NotFoundError, "not-found", "Not found"),
    (errors.ConflictError, "conflict", "Conflicts with the object's state"),
    (errors.WriteConflictError, "write-conflict", "A concurrent write won"),
    (errors.StoreBusyError, "store-busy", "The store is busy; try again"),
    (errors.SchemaError, "schema", "The store's schema is not this version's"),
    (errors.StoreError, "store-unavailable", "The store could not complete the request"),
    (errors.ModelError, "model", "The model cannot be used"),
    (errors.AuditChainError, "audit-chain-broken", "The audit chain does not verify"),
    (errors.TamperedError, "tampered-content", "Stored content does not match its hash"),
    (errors.QuaywatchError, "error", "Error"),
)


def problem_type(slug: str) -> str:
    """The ``type`` URI of a kind of problem."""
    return f"urn:quaywatch:problem:{slug}"


class RecordProblem(BaseModel):
    """One record or field at fault."""

    index: int | None = Field(None, description="Position of the record in the request, from 0.")
    record_id: str | None = None
    field: str | None = None
    reason: str
    line: int | None = Field(None, description="Line of the fault in the text sent, from 1.")
    column: int | None = Field(None, description="Column of the fault on that line, from 1.")
    quarantine_id: int | None = Field(
        None, description="The quarantine entry that holds the record, to correct and retry."
    )


class Problem(BaseModel):
    """An RFC 9457 problem details object."""

    type: str = Field(examples=[problem_type("not-found")])
    title: str = Field(examples=["Not found"])
    status: int = Field(examples=[404])
    detail: str = Field(examples=["no consignment 261102-BEANR-0000099"])
    instance: str | None = Field(None, examples=["/api/v1/consignments/261102-BEANR-0000099"])
    errors: list[RecordProblem] | None = None
    retry_after_s: int | None = None
    code: str | None = Field(
        None,
        description="The message id of ``detail``'s reason (its English template), where it "
        "has one: the same for every value it names.",
        examples=["unknown field %(name)s; %(hint)s"],
    )


def _kind(exc: errors.QuaywatchError) -> tuple[str, str]:
    for cls, slug, title in KINDS:
        if isinstance(exc, cls):
            return slug, title
    raise AssertionError("QuaywatchError is the last kind")  # pragma: no cover


def response(
    status: int,
    slug: str,
    title: str,
    detail: str,
    request: Request,
    *,
    errors_: list[RecordProblem] | None = None,
    headers: dict[str, str] | None = None,
    **extra: Any,
) -> JSONResponse:
    """A problem response."""
    body = Problem(
        type=problem_type(slug), title=title, status=status, detail=detail,
        instance=request.url.path, errors=errors_, **extra,
    )  # fmt: skip
    return JSONResponse(
        body.model_dump(exclude_none=True), status_code=status, media_type=MEDIA_TYPE,
        headers=headers,
    )  # fmt: skip


def from_error(exc: errors.QuaywatchError, request: Request) -> JSONResponse:
    """The problem response of a quaywatch error."""
    slug, title = _kind(exc)
    found = None
    headers = None
    extra: dict[str, Any] = {}
    if isinstance(exc, errors.RecordError):
        found = [RecordProblem(record_id=exc.record_id, field=exc.field, reason=exc.reason,
                               line=exc.line, column=exc.column)]  # fmt: skip
    if isinstance(exc, errors.TooManyAttemptsError | errors.StoreBusyError):
        extra["retry_after_s"] = exc.retry_after_s
        headers = {"Retry-After": str(exc.retry_after_s)}
    if isinstance(exc, errors.AuthenticationError):
        headers = {"WWW-Authenticate": 'Bearer realm="quaywatch"'}
    if exc.code is not None:
        extra["code"] = exc.code
    return response(exc.status, slug, title, exc.message, request, errors_=found,
                    headers=headers, **extra)  # fmt: skip


def install(app: FastAPI) -> None:
    """Answer every error of ``app`` with a problem."""

    async def quaywatch_error(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, errors.QuaywatchError)
        if exc.status >= 500:
            log.error("%s %s: %s", request.method, request.url.path, exc.message)
        return from_error(exc, request)

    async def invalid_request(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, RequestValidationError)
        found = [
            RecordProblem(
                field=".".join(str(part) for part in e["loc"] if part != "body") or None,
                reason=str(e["msg"]),
            )
            for e in exc.errors()
        ]
        detail = "; ".join(f"{p.field or 'request'}: {p.reason}" for p in found[:5])
        return response(422, "invalid-request", "The request does not match the API",
                        detail, request, errors_=found)  # fmt: skip

    async def http_error(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, HTTPException)
        slug = {404: "not-found", 405: "method-not-allowed"}.get(exc.status_code, "http")
        return response(exc.status_code, slug, str(exc.detail), str(exc.detail), request,
                        headers=dict(exc.headers) if exc.headers else None)  # fmt: skip

    async def bug(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error on %s %s", request.method, request.url.path)
        return response(500, "internal", "Internal error",
                        "the service failed; the error is in its log", request)  # fmt: skip

    app.add_exception_handler(errors.QuaywatchError, quaywatch_error)
    app.add_exception_handler(RequestValidationError, invalid_request)
    app.add_exception_handler(HTTPException, http_error)
    app.add_exception_handler(Exception, bug)


def documented(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI ``responses`` for problem answers with these statuses."""
    return {
        status: {"model": Problem, "content": {MEDIA_TYPE: {}}, "description": _TEXT[status]}
        for status in statuses
    }


_TEXT = {
    400: "Bad request",
    401: "No valid token or session",
    403: "Your roles do not allow this",
    404: "No such object",
    409: "The object's state forbids this",
    422: "Invalid input: each field at fault is named",
    429: "Too many attempts",
    503: "The store or the model is not available",
}
