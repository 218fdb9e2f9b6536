"""The carrier's documents as a hit source: what differs from the declaration raises the risk.

``risk.carrier_documents`` compares a consignment with the newest carrier document of its B/L
(a DCSA eBL transport document, else the shipping instructions) known at a moment. This module
reports each discrepancy as a hit (``risk.hit_sources``), one code per kind, so that it weighs
in every assessment like any other source and is fitted by ``quaywatch weights fit``:

======================================  ======  ==============================================
code                                    weight  the carrier's document and the declaration...
======================================  ======  ==============================================
``document:seal_differs``               1.4     list other seals on the same container
``document:container_not_declared``     1.2     a container on the B/L is not declared
``document:weight_differs``             0.7     differ in a container's gross weight by more
                                                than ``WEIGHT_TOLERANCE``
``document:port_differs``               0.7     give another port of loading or discharge
``document:container_not_filed``        0.5     a declared container is not on the B/L
``document:check_digit``                0.3     the carrier filed a container number whose
                                                ISO 6346 check digit is wrong
``document:vessel_differs``             0.2     name another vessel (name or IMO number)
======================================  ======  ==============================================

The prior weights are judgment, not fitted: no generated traffic carries carrier documents yet.
docs/risk-engine.md ("Carrier documents") gives the reasoning; a site's own outcomes replace
them through ``quaywatch weights fit``. No code demands a lane: a discrepancy raises the
score, and a site that wants every seal discrepancy examined writes a profile for it.

As of: a consignment is compared with the documents known (``known_at``) at its ``as_of``; a
document filed after the assessment's moment is not seen, and its arrival makes the
consignment's latest assessment stale (``stale``), so the next scoring run assesses it again.
"""

from __future__ import annotations

from collections.abc import Collection, Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime

import polars as pl
from sqlalchemy import ColumnElement, func, or_, select

from quaywatch.domain.vocabulary import WEIGHT_TOLERANCE
from quaywatch.errors import said
from quaywatch.features import declared
from quaywatch.risk import carrier_documents as linking
from quaywatch.risk.carrier_documents import Discrepancy, DiscrepancyKind as K
from quaywatch.risk.explain import Source
from quaywatch.risk.hit_sources import Hit, HitCode
from quaywatch.store import reads, tables
from quaywatch.store.store import Store

_WHOSE = "the carrier's {document}"
#: Every code, with its prior weight and sentence (module docstring).
CODES: Mapping[K, HitCode] = {
    K.SEAL_DIFFERS: HitCode(
        "document:seal_differs", 1.4,
        f"container {{container}}: {_WHOSE} lists seal {{filed}}, the declaration {{declared}}",
    ),
    K.CONTAINER_NOT_DECLARED: HitCode(
        "document:container_not_declared", 1.2,
        f"{_WHOSE} lists container {{container}}, the declaration does not",
    ),
    K.WEIGHT_DIFFERS: HitCode(
        "document:weight_differs", 0.7,
        f"container {{container}}: {_WHOSE} lists {{filed}} kg, the declaration {{declared}} kg",
    ),
    K.PORT_DIFFERS: HitCode(
        "document:port_differs", 0.7,
        f"{_WHOSE} lists {{about}} {{filed}}, the declaration {{declared}}",
    ),
    K.CONTAINER_NOT_FILED: HitCode(
        "document:container_not_filed", 0.5,
        f"container {{container}} is declared but not on {_WHOSE}",
    ),
    K.CHECK_DIGIT: HitCode(
        "document:check_digit", 0.3,
        f"{_WHOSE} lists container {{container}}, whose ISO 6346 check digit is wrong",
    ),
    K.VESSEL_DIFFERS: HitCode(
        "document:vessel_differs", 0.2,
        f"{_WHOSE} lists {{about}} {{filed}}, the declaration {{declared}}",
    ),
}  # fmt: skip


@dataclass(frozen=True, slots=True)
class CarrierDocumentHits:
    """The discrepancies with the carrier's documents in ``store`` as a hit source; a weight
    differs beyond ``tolerance`` (a share of the heavier figure)."""

    store: Store
    tolerance: float = WEIGHT_TOLERANCE

    @property
    def name(self) -> Source:
        return Source.DOCUMENT

    @property
    def codes(self) -> Mapping[str, HitCode]:
        return {c.code: c for c in CODES.values()}

    def hits(self, consignments: pl.DataFrame) -> Iterator[Hit]:
        """A hit per discrepancy of each consignment with a carrier document known at its
        ``as_of``; one read of the links, then bulk reads of only the linked consignments."""
        if consignments.is_empty():
            return
        ids = consignments.get_column("consignment_id").unique().to_list()
        candidates = consignments.join(
            _first_filed(self.store, ids if len(ids) <= linking.CHUNK else None),
            on=list(declared.KEY),
        ).filter(pl.col("first_known") <= pl.col("as_of"))
        if candidates.is_empty():
            return
        with self.store.reading() as conn:
            for (as_of,), group in candidates.partition_by(
                "as_of", as_dict=True, maintain_order=True
            ).items():
                assert isinstance(as_of, datetime)
                keys = list(group.select(declared.KEY).iter_rows())
                for found in linking.check_versions(
                    conn, keys, as_of=as_of, tolerance=self.tolerance
                ):
                    for d in found.discrepancies:
                        yield _hit(found.consignment_id, found.version, d)

    def stale(self, consignment_ids: Collection[str] | None) -> pl.DataFrame:
        """Assessed consignments (of these, when given) of whose B/L a carrier document became
        known after their latest assessment (``assessed_at``, the moment it was made as of).
        More ids than ``linking.CHUNK`` are not put in the query (a database caps the values
        of one statement): every assessed consignment is read and those kept, as ``hits``
        does."""
        a, c, d = tables.assessments, tables.consignments, tables.carrier_documents
        latest_of = select(
            a.c.consignment_id, a.c.version, func.max(a.c.assessed_at).label("assessed_at")
        )
        wanted = None if consignment_ids is None else sorted(consignment_ids)
        if wanted is not None and len(wanted) <= linking.CHUNK:
            latest_of = latest_of.where(a.c.consignment_id.in_(wanted))
        latest = latest_of.group_by(a.c.consignment_id, a.c.version).subquery("latest")
        query = (
            select(latest.c.consignment_id, latest.c.version)
            .select_from(latest)
            .join(c, (c.c.consignment_id == latest.c.consignment_id)
                  & (c.c.version == latest.c.version))
            .join(d, _declares() & (d.c.known_at > latest.c.assessed_at))
            .distinct()
            .order_by(latest.c.consignment_id, latest.c.version)
        )  # fmt: skip
        found = reads.frame(
            self.store, query, {"consignment_id": pl.String(), "version": pl.Int64()}
        )
        if wanted is not None and len(wanted) > linking.CHUNK:
            found = found.filter(pl.col("consignment_id").is_in(wanted))
        return found


def _declares() -> ColumnElement[bool]:
    """The join of a consignment with the carrier documents of its own or master B/L."""
    reference = tables.carrier_documents.c.transport_document_reference
    return or_(
        reference == tables.consignments.c.transport_document,
        reference == tables.consignments.c.master_transport_document,
    )


def _first_filed(store: Store, consignment_ids: list[str] | None) -> pl.DataFrame:
    """``consignment_id``, ``version``, ``first_known``: the consignment versions (of these,
    when given) whose B/L has a carrier document, and when the first became known."""
    c, d = tables.consignments, tables.carrier_documents
    query = (
        select(c.c.consignment_id, c.c.version, func.min(d.c.known_at).label("first_known"))
        .select_from(c.join(d, _declares()))
        .group_by(c.c.consignment_id, c.c.version)
    )
    if consignment_ids is not None:
        query = query.where(c.c.consignment_id.in_(sorted(consignment_ids)))
    return reads.frame(
        store, query,
        {"consignment_id": pl.String(), "version": pl.Int64(),
         "first_known": pl.Datetime("us", "UTC")},
    )  # fmt: skip


def _document(d: Discrepancy) -> str:
    if d.document_kind == "TD":
        return said("bill %(reference)s", reference=d.reference)
    return said("shipping instructions %(reference)s", reference=d.reference)


#: The words of a field compared (``Discrepancy.about``): they translate with the sentence.
_ABOUT = {
    "port of loading": said("port of loading"), "port of discharge": said("port of discharge"),
    "vessel": said("vessel"), "vessel IMO number": said("vessel IMO number"),
}  # fmt: skip
_NONE = said("none")


def _kg(value: str | None) -> str:
    return _NONE if value is None else f"{float(value):,.0f}"


def _seals(value: str | None) -> str:
    return _NONE if value is None else ", ".join(value.split("|"))


def _hit(consignment_id: str, version: int, d: Discrepancy) -> Hit:
    """The hit of one discrepancy, its sentence's parameters and the document as evidence."""
    shown = {K.WEIGHT_DIFFERS: _kg, K.SEAL_DIFFERS: _seals}.get(d.kind, lambda v: v or _NONE)
    about = d.about or ""
    params = {
        "document": _document(d), "container": d.container_number or "",
        "declared": shown(d.declared), "filed": shown(d.filed), "about": _ABOUT.get(about, about),
    }  # fmt: skip
    return Hit(consignment_id, version, CODES[d.kind].code, params, (d.document_id,))
