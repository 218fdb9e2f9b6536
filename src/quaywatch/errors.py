"""Errors that quaywatch reports to its users.

Every error a person can cause (a bad file, an unknown record, a broken audit chain) is one of
these; anything else is a bug and may surface as a traceback. The CLI prints these in one place
with a non-zero exit code; the API (later) maps ``status`` to an HTTP response.

    QuaywatchError                 root; ``status`` for the API, ``exit_code`` for the CLI
    ├── ConfigurationError         a setting or the database URL is unusable
    │   └── ReferenceDataError     a site reference file is bad: names file, line and field
    ├── InputError                 a file a user handed us cannot be read as a whole
    │   ├── RecordError            one record is bad: names file, location, record and field
    │   │                          (and, where known, its line and column as numbers)
    │   └── TrustError             a partner's root document of keys does not verify
    ├── AuthenticationError        no valid credentials (unknown token, wrong password, expired)
    ├── PermissionDeniedError      the caller's roles do not allow the action
    ├── TooManyAttemptsError       too many failed logins in a short time; try again later
    ├── NotFoundError              an id (quarantine entry, batch, ...) does not exist
    ├── ConflictError              the action does not fit the object's state (an order done)
    ├── StoreError                 the database refused or failed an operation
    │   ├── SchemaError            the database lacks quaywatch's schema: run `quaywatch db upgrade`
    │   ├── StoreBusyError         busy or unreachable now (locked, lock timeout, serialization
    │   │                          failure, deadlock, connection refused): try again later
    │   └── WriteConflictError     another writer stored the same key first; nothing was written
    ├── ModelError                 a model file cannot be used, or data does not fit the model
    ├── AuditChainError            the audit trail does not verify
    └── TamperedError              stored content no longer matches the hash it is kept under

A message a person may read in another language is written with ``said``: its English
template (``"user %(name)s already exists"``) and parameters travel with the error (``code``,
``params``), and the web application renders them through its catalogs
(``web.i18n.source_messages`` collects every ``said`` template of the package). A parameter
may itself be a ``Said`` (a clause such as "did you mean ...?", or the reason a wrapping
error repeats): a page translates it first and the whole message is in one language.

``services.intake.FilesNotImportedError`` (a ``QuaywatchError`` there, since it carries the
import summaries) gathers the files of a multi-file import that failed, each with its error.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any


class Said(str):
    """A message in English, with the template and parameters it was made from: what a
    translation needs (``code`` is the template, the catalogs' key)."""

    template: str
    params: Mapping[str, Any]

    def __new__(cls, template: str, params: Mapping[str, Any]) -> Said:
        made = super().__new__(cls, template % dict(params) if params else template)
        made.template = template
        made.params = MappingProxyType(dict(params))
        return made


def said(template: str, **params: Any) -> Said:
    """A translatable message: ``template`` (English, with ``%(name)s`` placeholders) filled
    with ``params``; as a string, the English text.

    >>> ConflictError(said("user %(name)s already exists", name="ana")).message
    'user ana already exists'
    """
    # ``Said``'s constructor, less its copies: ``params`` is this call's own dict (the risk
    # engine writes some 100,000 reasons a batch this way).
    made = str.__new__(Said, template % params if params else template)
    made.template = template
    made.params = params  # read-only by convention: no caller keeps it
    return made


class QuaywatchError(Exception):
    """Root of every error quaywatch reports to a person.

    ``code`` and ``params``: the template and parameters of a message made with ``said``
    (None and empty otherwise), for an adapter that shows it in another language.
    """

    status: int = 500
    exit_code: int = 1

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message
        self.code: str | None = message.template if isinstance(message, Said) else None
        self.params: Mapping[str, Any] = (
            message.params if isinstance(message, Said) else MappingProxyType({})
        )

    def told(self, translated: str) -> str:
        """The whole message with ``translated`` (``code`` in another language, filled with
        ``params``) for the English of ``code``: what names things outside the message (an
        input's file) is kept, as it does not translate."""
        return translated


class ConfigurationError(QuaywatchError):
    """A setting cannot be used as given."""

    exit_code = 2


@dataclass(frozen=True, slots=True)
class ReferenceProblem:
    """One problem of a site reference file: the file, its line (0: the whole file), the field."""

    file: str
    line: int
    field: str
    reason: str

    def __str__(self) -> str:
        where = self.file if self.line == 0 else f"{self.file} line {self.line}"
        return (
            f"{where}, field {self.field}: {self.reason}"
            if self.field
            else f"{where}: {self.reason}"
        )


class ReferenceDataError(ConfigurationError):
    """A site reference directory holds a bad file; every problem is listed, none is used."""

    def __init__(self, site_dir: str, problems: list[ReferenceProblem]) -> None:
        lines = "\n".join(f"  {problem}" for problem in problems)
        super().__init__(f"site reference directory {site_dir} cannot be used:\n{lines}")
        self.problems = problems


class InputError(QuaywatchError):
    """An input file cannot be used at all (unreadable, unknown format, missing columns)."""

    status = 422
    exit_code = 2

    def __init__(self, message: str, *, source: str | None = None) -> None:
        super().__init__(f"{source}: {message}" if source else message)
        self.source = source
        if source and isinstance(message, Said):  # the source is a name: the message translates
            self.code, self.params = message.template, message.params

    def told(self, translated: str) -> str:
        """``translated`` after the file at fault, as the English message names it."""
        return f"{self.source}: {translated}" if self.source else translated


class RecordError(InputError):
    """One record is invalid; carries everything needed to find and fix it.

    ``line`` and ``column`` (from 1; None where unknown) are where the fault is in the text a
    person wrote, for an editor that marks it; ``location`` says it in words. ``excerpt``
    follows the reason in the English message only (the CLI's and the API's): where exactly,
    the text quoted with a caret under the fault. ``code`` and ``params`` leave it out: a page
    shows the line and column itself.
    """

    def __init__(
        self,
        reason: str,
        *,
        source: str | None = None,
        location: str | None = None,
        record_id: str | None = None,
        field: str | None = None,
        line: int | None = None,
        column: int | None = None,
        excerpt: str | None = None,
    ) -> None:
        where = ", ".join(
            part
            for part in (
                location,
                f"record {record_id}" if record_id else None,
                f"field {field}" if field else None,
            )
            if part
        )
        shown = f"{where}: {reason}" if where else reason
        super().__init__(f"{shown} {excerpt}" if excerpt else shown, source=source)
        if isinstance(reason, Said):  # what translates is the reason; ``where`` names things
            self.code, self.params = reason.template, reason.params
        self.reason = reason
        self.location = location
        self.record_id = record_id
        self.field = field
        self.line = line
        self.column = column
        self.excerpt = excerpt


class TrustError(InputError):
    """A root document of an administration's keys is refused: badly signed, out of turn,
    another administration's, or expired (``exchange.roots`` says what a root must be)."""


class AuthenticationError(QuaywatchError):
    """The caller could not be identified: no, unknown, expired or revoked credentials.

    The message never says which of these it was to the caller beyond what is safe (a wrong
    password and an unknown user read the same).
    """

    status = 401
    exit_code = 5


class PermissionDeniedError(QuaywatchError):
    """The caller is known, but none of their roles allows the action."""

    status = 403
    exit_code = 5


class TooManyAttemptsError(QuaywatchError):
    """Too many failed logins for one account or client in a short time."""

    status = 429
    exit_code = 5

    def __init__(self, message: str, *, retry_after_s: int) -> None:
        super().__init__(message)
        self.retry_after_s = retry_after_s


class NotFoundError(QuaywatchError):
    """A referenced object does not exist."""

    status = 404
    exit_code = 3


class ConflictError(QuaywatchError):
    """The object exists but its state forbids the action (a finished order started again)."""

    status = 409
    exit_code = 2


class StoreError(QuaywatchError):
    """The store could not complete an operation; nothing was written."""

    status = 503


class SchemaError(StoreError):
    """The database has no quaywatch schema, or an older or newer one than this quaywatch, and
    migrating automatically is off: an operator runs ``quaywatch db upgrade``."""

    exit_code = 2


class StoreBusyError(StoreError):
    """The store cannot serve now but may in a moment: the database is locked by a writer, a
    lock wait timed out, a transaction lost a serialization check or a deadlock, or the server
    refused the connection. Nothing was written; running the same command again is safe.

    ``retry_after_s`` is how long to wait first (the API's ``Retry-After``); the CLI exits with
    75 (``EX_TEMPFAIL``), which scripts can take as "try again".
    """

    exit_code = 75

    def __init__(self, message: str, *, retry_after_s: int = 5) -> None:
        super().__init__(message)
        self.retry_after_s = retry_after_s


class WriteConflictError(StoreError):
    """Two writers raced for the same key and this one lost; its transaction was rolled back.

    Idempotent writers (imports) run again and find the winner's rows; others report it.
    """

    status = 409


class ModelError(QuaywatchError):
    """A saved model is incomplete or inconsistent, or the data handed to it does not fit it."""

    status = 422
    exit_code = 2


class AuditChainError(QuaywatchError):
    """The audit log has been edited, had rows inserted or deleted, or lost its head."""

    status = 500
    exit_code = 4


class TamperedError(QuaywatchError):
    """Stored data no longer hashes to what was kept for it: rows the audit trail bound
    (``audit verify --full`` names each one changed, missing or added) or an order's attachment
    (reported, never served). It was changed in the database after it was stored."""

    status = 500
    exit_code = 4
