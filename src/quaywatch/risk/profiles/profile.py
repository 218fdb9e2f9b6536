"""A risk profile as quaywatch holds it once its file has been read and checked.

A profile is an analyst's rule: *when* a consignment matches ``condition`` (within the validity
window), *do* ``action`` (add ``weight`` log-odds to the risk, demand at least ``lane``, ask for
a pre-loading ``referral``) and *say* ``reason``. ``loader`` builds these from YAML; ``apply``
runs them over a profile frame.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

import polars as pl

from quaywatch.errors import InputError, said
from quaywatch.risk.profiles.compiler import Kind
from quaywatch.risk.profiles.frame import FIELD_KINDS


class Lane(StrEnum):
    """Selectivity lanes, least to most intrusive: release, documents, scan, physical."""

    GREEN = "green"
    YELLOW = "yellow"
    ORANGE = "orange"
    RED = "red"


class Referral(StrEnum):
    """Pre-loading referrals (ICS2): request for information, for screening, do not load."""

    RFI = "RFI"
    RFS = "RFS"
    DNL = "DNL"


class ListKind(StrEnum):
    """What a lookup list holds; its entries are checked against the kind when loaded."""

    HS = "hs"
    PORT = "port"
    COUNTRY = "country"
    PARTY = "party"
    TEXT = "text"
    NUMBER = "number"


@dataclass(frozen=True, slots=True)
class Action:
    """What a hit does: log-odds added to the risk, minimum lane, referral."""

    weight: float
    lane: Lane | None = None
    referral: Referral | None = None


@dataclass(frozen=True, slots=True)
class Profile:
    """One version of a risk profile, checked and compiled.

    ``body`` is the YAML text exactly as read and ``sha256`` its digest: a stored version is
    never changed, a changed body is a new version. ``expr`` is the compiled condition;
    ``fields`` the frame columns it and the reason read.
    """

    id: str
    version: int
    description: str
    owner: str
    valid_from: datetime | None
    valid_to: datetime | None
    condition: str
    lists: dict[str, tuple[str, ...] | tuple[float, ...]]
    action: Action
    reason: str | None
    source: str
    body: str
    sha256: str
    expr: pl.Expr
    fields: frozenset[str]

    @property
    def code(self) -> str:
        """The reason code of its hits: ``profile:<id>``."""
        return f"profile:{self.id}"

    def in_window(self) -> pl.Expr:
        """Whether a consignment's ``lodged_at`` falls in the validity window."""
        inside = pl.lit(True)
        if self.valid_from is not None:
            inside = inside & (pl.col("lodged_at") >= self.valid_from)
        if self.valid_to is not None:
            inside = inside & (pl.col("lodged_at") < self.valid_to)
        return inside.fill_null(False)

    def text(self) -> pl.Expr:
        """The sentence of a hit: the reason template filled in, or the description."""
        return render(self.reason, self.source) if self.reason else pl.lit(self.description)


# --- reason templates ---------------------------------------------------------------------

_PLACEHOLDER = re.compile(r"\{\{|\}\}|\{([^{}]*)\}|[{}]")
_FORMAT = re.compile(r"(?P<name>[A-Za-z_][A-Za-z0-9_]*)(?::(?P<spec>\.\d[f%]))?$")


def template_fields(template: str, fields: dict[str, Kind]) -> frozenset[str]:
    """The fields ``template`` shows; an ``InputError`` naming the first placeholder it lacks.

    A placeholder is ``{field}`` or ``{field:.1f}`` (one decimal) or ``{field:.0%}`` (percent);
    ``{{`` and ``}}`` are literal braces.
    """
    used: set[str] = set()
    for match in _PLACEHOLDER.finditer(template):
        token = match.group()
        if token in ("{{", "}}"):
            continue
        inner = match.group(1)
        if inner is None:
            raise InputError(said("a lone %(brace)s in the reason: write %(twice)s for a brace",
                                  brace=repr(token), twice=token * 2))  # fmt: skip
        parsed = _FORMAT.match(inner)
        if parsed is None:
            raise InputError(said("%(placeholder)s is not a placeholder: use {field}, "
                                  "{field:.1f} or {field:.0%%}", placeholder="{" + inner + "}"))  # fmt: skip
        name = parsed.group("name")
        if name not in fields:
            raise InputError(said("the reason shows %(placeholder)s, which is not a field",
                                  placeholder="{" + name + "}"))  # fmt: skip
        if parsed.group("spec") and fields[name] is not Kind.NUMBER:
            raise InputError(said("%(placeholder)s: only numbers take a format",
                                  placeholder="{" + inner + "}"))  # fmt: skip
        used.add(name)
    return frozenset(used)


def _shown(name: str, spec: str | None, kind: Kind) -> pl.Expr:
    column = pl.col(name)
    if kind is Kind.TEXT_LIST:
        text = column.list.join(", ")
    elif kind is Kind.BOOL:
        text = pl.when(column).then(pl.lit("yes")).otherwise(pl.lit("no"))
    elif kind is Kind.TIME:
        text = column.dt.strftime("%Y-%m-%d %H:%M")
    elif kind is Kind.NUMBER and spec:
        digits = int(spec[1:-1])
        scaled = column * 100 if spec.endswith("%") else column
        text = scaled.round(digits).cast(pl.Float64)
        # Not strict: a NaN or infinite value (a zero reference median) reads "?", not a crash.
        text = (text.cast(pl.Int64, strict=False) if digits == 0 else text).cast(pl.String)
        text = text + "%" if spec.endswith("%") else text
    elif kind is Kind.NUMBER:
        whole = column.round(0).cast(pl.Int64, strict=False).cast(pl.String)
        text = pl.when(column.abs() >= 100).then(whole)
        text = text.otherwise(column.round(2).cast(pl.String))
    else:
        text = column.cast(pl.String)
    return text.fill_null("?")


def render(template: str, source: str = "") -> pl.Expr:
    """``template`` filled with each row's values, as one string expression."""
    parts: list[pl.Expr] = []
    at = 0
    for match in _PLACEHOLDER.finditer(template):
        parts.append(pl.lit(template[at : match.start()]))
        token = match.group()
        if token in ("{{", "}}"):
            parts.append(pl.lit(token[0]))
        else:
            parsed = _FORMAT.match(match.group(1) or "")
            if parsed is None or parsed.group("name") not in FIELD_KINDS:
                raise InputError(said("bad placeholder %(placeholder)s in the reason",
                                      placeholder=token), source=source or None)  # fmt: skip
            name = parsed.group("name")
            parts.append(_shown(name, parsed.group("spec"), FIELD_KINDS[name]))
        at = match.end()
    parts.append(pl.lit(template[at:]))
    return pl.concat_str(parts)
