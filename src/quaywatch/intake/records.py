"""What readers hand to the import pipeline (chunks of raw rows and records already rejected),
and what a check says of a record it stores with a value set aside (``Warned``)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

import polars as pl

from quaywatch.domain.vocabulary import RecordKind as RecordKind


@dataclass(frozen=True, slots=True)
class Rejected:
    """A record that cannot be stored, with everything an operator needs to fix it."""

    location: str
    record_id: str | None
    problems: list[tuple[str, str]]
    raw: str

    @property
    def field(self) -> str | None:
        """The first field at fault."""
        return self.problems[0][0] if self.problems else None

    @property
    def reason(self) -> str:
        """The first reason."""
        return self.problems[0][1] if self.problems else "invalid record"


@dataclass(frozen=True, slots=True)
class Warned:
    """A record stored with a data-quality warning: one declared value was set aside.

    The record is stored without the value (``field`` null), since no real one can be what
    it says, rather than quarantined for it; ``reason`` says why and holds the value declared,
    which the import's audit event keeps (``docs/formats.md``, data-quality warnings).
    """

    location: str
    record_id: str | None
    field: str
    reason: str


@dataclass(slots=True)
class Chunk:
    """Up to ``batch_size`` raw records from one file.

    ``frame`` has one string column per input field, ``_loc`` (line, row or item number of the
    row), ``_raw`` (the record as read, JSON text; for flat formats the row itself) and
    ``_fault`` (``field<FIELD_SEP>reason`` where the reader's front door refused a row it could
    still split into fields, its values then kept as storable text: the pipeline quarantines
    the row's whole record). ``rejected`` holds records the reader could not even split into
    fields, or refused whole.
    """

    frame: pl.DataFrame
    rejected: list[Rejected] = field(default_factory=list)


def as_text(value: Any) -> str | None:
    """A JSON value as the raw text a CSV cell would hold (checks parse it from there)."""
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    return json.dumps(value)
