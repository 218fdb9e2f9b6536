"""Hit sources: the interface through which a new kind of evidence raises an assessment.

A *hit source* looks at the consignments being assessed and reports what it found about them as
hits (``risk.hits``): the carrier's documents that disagree with the declaration
(``risk.document_hits``), and next a partner administration's alert (issue 16). The
engine treats its hits exactly as the built-in sources' (profiles, anomalies, screening,
graph, norms): the same log-odds sum, one weight per code fitted on the site's outcomes by
``quaywatch weights fit``, the same saturation rule, reasons with codes ranked with the
model's. Nothing in the engine names a plug-in source: sources are values handed to it
(``risk.engine.assess``, ``score_store``), and the services hand it the one list every use
case shares (``services.hit_sources.registered``).

A source declares, as data, every code it may report (``HitCode``): its prior (shipped) weight,
the sentence of its reason with ``{named}`` parameters, and any lane or referral it demands.
Each ``Hit`` names a consignment version, one of those codes, the parameters of its sentence,
and the ids of the records it was found in (``evidence``: they are stored with the reason, so an
assessment says which document or message raised it). The weight of a hit is its code's weight
times ``strength`` (1 unless the source grades its hits).

As of: the source receives the consignments with an ``as_of`` column, the moment each is
assessed as of; it must report only what was known then (a document received later is not
seen). A source also says which assessed consignments its evidence changed since their latest
assessment (``stale``): a scoring run assesses those again, as it does when container events
arrive.

>>> class Nothing:  # the smallest source: it never finds anything
...     name = Source.DOCUMENT
...     codes: dict[str, HitCode] = {}
...     def hits(self, consignments): return []
...     def stale(self, consignment_ids): return no_keys()
>>> collect([Nothing()], pl.DataFrame(schema=CONSIGNMENTS)).height
0
"""

from __future__ import annotations

import math
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Protocol

import polars as pl

from quaywatch.features import declared
from quaywatch.risk import hits as hitframe
from quaywatch.risk.explain import Source
from quaywatch.risk.wording import said_json_text

#: The columns of the consignments a source is asked about.
_MOMENT = pl.Datetime("us", "UTC")
CONSIGNMENTS = pl.Schema(
    {"consignment_id": pl.String(), "version": pl.Int64(), "lodged_at": _MOMENT, "as_of": _MOMENT}
)
_KEY_SCHEMA = pl.Schema({"consignment_id": pl.String(), "version": pl.Int64()})
_LANES = ("green", "yellow", "orange", "red")
_REFERRALS = ("RFI", "RFS", "DNL")


@dataclass(frozen=True, slots=True)
class HitCode:
    """A code a source may report: ``code`` (``<source>:<id>``, stable: weights are fitted and
    reasons counted by it), its prior ``weight`` in log-odds (documented with the codes in
    docs/risk-engine.md), the ``reason`` sentence with ``{named}`` parameters each hit fills, and
    the ``lane`` floor or ``referral`` it demands, if any."""

    code: str
    weight: float
    reason: str
    lane: str | None = None
    referral: str | None = None

    def __post_init__(self) -> None:
        if not math.isfinite(self.weight):
            raise ValueError(f"hit code {self.code!r} has weight {self.weight}; it must be finite")
        if self.lane is not None and self.lane not in _LANES:
            raise ValueError(f"hit code {self.code!r}: unknown lane {self.lane!r}")
        if self.referral is not None and self.referral not in _REFERRALS:
            raise ValueError(f"hit code {self.code!r}: unknown referral {self.referral!r}")


@dataclass(frozen=True, slots=True)
class Hit:
    """One thing a source found about one consignment version.

    ``params`` fill the code's reason sentence; ``evidence``: ids of the records it was found
    in; ``strength`` (positive) multiplies the code's weight for a source that grades its hits.
    """

    consignment_id: str
    version: int
    code: str
    params: Mapping[str, str] = field(default_factory=dict)
    evidence: tuple[str, ...] = ()
    strength: float = 1.0


class HitSource(Protocol):
    """What the engine asks of a hit source (module docstring)."""

    @property
    def name(self) -> Source:
        """The source its hits and reasons are attributed to; every code starts ``<name>:``."""
        ...

    @property
    def codes(self) -> Mapping[str, HitCode]:
        """Every code it may report, by code."""
        ...

    def hits(self, consignments: pl.DataFrame) -> Iterable[Hit]:
        """What it finds about ``consignments`` (``CONSIGNMENTS``), each as of its ``as_of``."""
        ...

    def stale(self, consignment_ids: Collection[str] | None) -> pl.DataFrame:
        """``consignment_id``, ``version`` of assessed consignments (of these, when given) whose
        evidence here became known after their latest assessment."""
        ...


def no_keys() -> pl.DataFrame:
    """An empty ``consignment_id``, ``version`` frame (what ``stale`` returns when none)."""
    return pl.DataFrame(schema=_KEY_SCHEMA)


def consignments_of(batch: pl.DataFrame, at: pl.Expr) -> pl.DataFrame:
    """The consignments of ``batch`` (``declared.KEY`` and ``lodged_at``) as a source is asked
    about them, assessed as of ``at`` (an expression over ``batch``)."""
    return batch.select(
        pl.col("consignment_id").cast(pl.String),
        pl.col("version").cast(pl.Int64),
        pl.col("lodged_at").cast(_MOMENT),
        at.cast(_MOMENT).alias("as_of"),
    )


def collect(sources: Sequence[HitSource], consignments: pl.DataFrame) -> pl.DataFrame:
    """The hits of every source for ``consignments``, as a hits frame (``risk.hits``).

    Each hit gets its code's weight (times its strength), lane and referral, and its sentence;
    hits about consignments not asked about are dropped. A ``ValueError`` names the source and
    the code when a source breaks its contract (two sources of one name, a code it does not
    declare or not under its name, a parameter its sentence lacks, a strength not positive).
    """
    names = [source.name for source in sources]
    if len(set(names)) != len(names):
        raise ValueError(f"hit sources must have distinct names, got {names}")
    columns: dict[str, list[object]] = {name: [] for name in hitframe.SCHEMA}
    for source in sources:
        name = Source(source.name).value
        codes = source.codes
        for code in codes:
            if not code.startswith(f"{name}:"):
                raise ValueError(f"hit source {name}: code {code!r} must start with '{name}:'")
        for hit in source.hits(consignments):
            spec = codes.get(hit.code)
            if spec is None:
                raise ValueError(f"hit source {name} reported code {hit.code!r}, not declared")
            if not (math.isfinite(hit.strength) and hit.strength > 0):
                raise ValueError(f"hit source {name}, code {hit.code}: strength {hit.strength}")
            try:
                text = spec.reason.format_map(hit.params)
            except (KeyError, IndexError, ValueError) as exc:
                raise ValueError(
                    f"hit source {name}, code {hit.code}: its reason needs {exc}"
                ) from None
            for column, value in (
                ("consignment_id", hit.consignment_id), ("version", hit.version),
                ("code", hit.code), ("text", text), ("weight", spec.weight * hit.strength),
                ("source", name), ("lane", spec.lane), ("referral", spec.referral),
                ("evidence", list(hit.evidence) or None),
                ("said", said_json_text(spec.reason, hit.params, text)),
            ):  # fmt: skip
                columns[column].append(value)
    found = pl.DataFrame(columns, schema=hitframe.SCHEMA)
    if found.is_empty():
        return found
    keys = consignments.select(pl.col(k).cast(d) for k, d in _KEY_SCHEMA.items())
    return found.join(keys, on=list(declared.KEY), how="semi", maintain_order="left")


def stale(sources: Sequence[HitSource], consignment_ids: Collection[str] | None) -> pl.DataFrame:
    """The consignments (of these, when given) any source's new evidence makes due again."""
    found = [no_keys(), *(s.stale(consignment_ids).select(*_KEY_SCHEMA) for s in sources)]
    return pl.concat([f.cast(_KEY_SCHEMA) for f in found]).unique(maintain_order=True)
