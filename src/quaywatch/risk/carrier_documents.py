"""Declaration against carrier filing: the discrepancies between a consignment and the
carrier's documents (DCSA eBL transport documents, shipping instructions) of its B/L.

Customs combines filings, as ICS2 does: the carrier files the master-level data (the B/L it
issued, with its containers, seals and weights), the declarant the house-level entry summary
(the quaywatch consignment). They are linked by transport document number: a consignment's
``transport_document`` (its own B/L) or ``master_transport_document`` (the carrier's master B/L
over a house B/L) is a carrier document's ``transport_document_reference``.

For each linked reference the newest revision known as of the time asked (leak-free: an
assessment as of t sees only what was known at t) of its transport document is compared, or,
where the carrier has filed no transport document yet, of its shipping instructions. What
differs is a ``Discrepancy``:

- ``CONTAINER_NOT_FILED``: a declared container the carrier's document does not list;
- ``CONTAINER_NOT_DECLARED``: a container on the consignment's own B/L the declaration does not
  list (not judged against a master B/L, which covers other house consignments too);
- ``SEAL_DIFFERS``: the same container, other seal numbers: a seal replaced between the
  carrier's filing and the declaration is the rip-on/rip-off indicator;
- ``WEIGHT_DIFFERS``: the same container's declared gross mass and the carrier's cargo weight
  differ by more than the tolerance (own B/L only);
- ``PORT_DIFFERS``, ``VESSEL_DIFFERS``: port of loading or discharge, vessel name or IMO
  number differ, where both give one;
- ``CHECK_DIGIT``: the carrier filed a container number whose ISO 6346 check digit is wrong.
"""

from __future__ import annotations

from collections.abc import Collection, Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import Connection, or_, select

from quaywatch.domain.vocabulary import WEIGHT_TOLERANCE
from quaywatch.errors import NotFoundError
from quaywatch.store import tables


class DiscrepancyKind(StrEnum):
    """What differs between a declaration and the carrier's filing (module docstring)."""

    CONTAINER_NOT_FILED = "CONTAINER_NOT_FILED"
    CONTAINER_NOT_DECLARED = "CONTAINER_NOT_DECLARED"
    SEAL_DIFFERS = "SEAL_DIFFERS"
    WEIGHT_DIFFERS = "WEIGHT_DIFFERS"
    PORT_DIFFERS = "PORT_DIFFERS"
    VESSEL_DIFFERS = "VESSEL_DIFFERS"
    CHECK_DIGIT = "CHECK_DIGIT"


@dataclass(frozen=True, slots=True)
class Discrepancy:
    """One difference: its kind, the container it is about (if any), the value declared and
    the value filed (as text; None where one side has none), the carrier document compared
    (its id, kind, reference and revision), a sentence for an officer, and for a port or
    vessel the field compared (``about``: port of loading, port of discharge, vessel, vessel
    IMO number)."""

    kind: DiscrepancyKind
    container_number: str | None
    declared: str | None
    filed: str | None
    document_id: str
    document_kind: str
    reference: str
    revision: int
    detail: str
    about: str | None = None


@dataclass(frozen=True, slots=True)
class Linked:
    """A consignment version, the carrier documents compared with it (their ids, newest
    revision of each linked reference) and the discrepancies found."""

    consignment_id: str
    version: int
    transport_document: str
    master_transport_document: str | None
    documents: tuple[str, ...]
    discrepancies: tuple[Discrepancy, ...]


def latest_documents(
    conn: Connection, references: list[str], *, as_of: datetime | None = None
) -> dict[str, Mapping[str, Any]]:
    """For each transport document reference, its carrier document to compare: its
    transport document known last as of ``as_of``, else its shipping instructions known last
    (revisions are numbered per document, so two documents under one B/L are told apart by
    when they were known; the revision breaks a tie). References with none are left out."""
    d = tables.carrier_documents
    query = select(d).where(d.c.transport_document_reference.in_(references))
    if as_of is not None:
        query = query.where(d.c.known_at <= as_of)
    best: dict[str, Mapping[str, Any]] = {}
    for found in conn.execute(query).mappings():
        row: dict[str, Any] = dict(found)
        ref = row["transport_document_reference"]
        held = best.get(ref)
        if held is None or _rank(row) > _rank(held):
            best[ref] = row
    return best


def _rank(row: Mapping[str, Any]) -> tuple[bool, datetime, int]:
    return (row["document_kind"] == "TD", row["known_at"], row["revision"])


def check_consignment(
    conn: Connection,
    consignment_id: str,
    version: int | None = None,
    *,
    as_of: datetime | None = None,
    tolerance: float = WEIGHT_TOLERANCE,
) -> Linked:
    """The carrier documents of a consignment (its newest version unless ``version``; with
    ``as_of``, the newest received by then) and every discrepancy between them;
    ``NotFoundError`` for an unknown consignment."""
    c = tables.consignments
    query = select(c).where(c.c.consignment_id == consignment_id)
    if version is not None:
        query = query.where(c.c.version == version)
    if as_of is not None:
        query = query.where(c.c.received_at <= as_of)
    first = conn.execute(query.order_by(c.c.version.desc()).limit(1)).mappings().first()
    if first is None:
        raise NotFoundError(
            f"no consignment {consignment_id}" + (f" v{version}" if version else "")
        )
    return _link(conn, [dict(first)], as_of=as_of, tolerance=tolerance)[0]


def check_versions(
    conn: Connection,
    keys: Collection[tuple[str, int]],
    *,
    as_of: datetime | None = None,
    tolerance: float = WEIGHT_TOLERANCE,
) -> list[Linked]:
    """``check_consignment`` for many stored consignment versions at once (those of ``keys``
    that are stored, in key order), each against the carrier documents known at ``as_of``.

    The declaration compared is the version asked for, whenever it was received: an
    assessment of that version judges it, and only the carrier's side is held to ``as_of``.
    Reads in chunks of ``CHUNK`` (a scoring run asks about every linked consignment of a day).
    """
    wanted = set(keys)
    c = tables.consignments
    heads: list[dict[str, Any]] = []
    for ids in _chunks(sorted({cid for cid, _ in wanted})):
        query = select(c).where(c.c.consignment_id.in_(ids))
        heads += [
            dict(row)
            for row in conn.execute(query).mappings()
            if (row["consignment_id"], row["version"]) in wanted
        ]
    heads.sort(key=lambda h: (h["consignment_id"], h["version"]))
    return _link(conn, heads, as_of=as_of, tolerance=tolerance)


#: Ids per ``IN (...)`` of the bulk reads (well under every backend's parameter limit).
CHUNK = 500


def _chunks(values: list[Any]) -> Iterator[list[Any]]:
    for start in range(0, len(values), CHUNK):
        yield values[start : start + CHUNK]


def _link(
    conn: Connection, heads: list[dict[str, Any]], *, as_of: datetime | None, tolerance: float
) -> list[Linked]:
    """The ``Linked`` of each consignment version ``heads`` (consignments rows), in order."""
    references = sorted(
        {r for h in heads for r in (h["transport_document"], h["master_transport_document"]) if r}
    )
    documents: dict[str, Mapping[str, Any]] = {}
    for chunk in _chunks(references):
        documents |= latest_documents(conn, chunk, as_of=as_of)
    declared = _declared(conn, [(h["consignment_id"], h["version"]) for h in heads])
    filed = _filed(conn, sorted({d["document_id"] for d in documents.values()}))
    linked = []
    for head in heads:
        own, master = head["transport_document"], head["master_transport_document"]
        found = {r: documents[r] for r in (own, master) if r and r in documents}
        boxes = declared.get((head["consignment_id"], head["version"]), {})
        discrepancies: list[Discrepancy] = []
        for reference, document in found.items():
            discrepancies += _compare(head, boxes, document, filed[document["document_id"]],
                                      reference == own, tolerance)  # fmt: skip
        linked.append(Linked(
            head["consignment_id"], head["version"], own, master,
            tuple(doc["document_id"] for doc in found.values()), tuple(discrepancies),
        ))  # fmt: skip
    return linked


def linked_consignments(conn: Connection, reference: str) -> list[tuple[str, int]]:
    """The consignment versions declaring ``reference`` as their own or master B/L."""
    c = tables.consignments
    query = (
        select(c.c.consignment_id, c.c.version)
        .where(or_(c.c.transport_document == reference, c.c.master_transport_document == reference))
        .order_by(c.c.consignment_id, c.c.version)
    )
    return [(str(i), int(v)) for i, v in conn.execute(query)]


@dataclass(slots=True)
class _Box:
    seals: set[str]
    mass_kg: float
    check_digit_valid: bool = True


def _declared(
    conn: Connection, keys: list[tuple[str, int]]
) -> dict[tuple[str, int], dict[str, _Box]]:
    """The declared containers of each consignment version of ``keys``: seals, gross mass."""
    wanted = set(keys)
    found: dict[tuple[str, int], dict[str, _Box]] = {key: {} for key in keys}
    k, g, s = tables.containers, tables.goods_items, tables.seals

    def rows(*columns: Any) -> Iterator[tuple[dict[str, _Box], Any, Any]]:
        table = columns[0].table
        for ids in _chunks(sorted({cid for cid, _ in wanted})):
            query = select(table.c.consignment_id, table.c.version, *columns)
            for cid, version, number, value in conn.execute(
                query.where(table.c.consignment_id.in_(ids))
            ):
                if (cid, version) in wanted:
                    yield found[(cid, version)], number, value

    # every read yields a number and a value: the containers' number stands in for the value
    for boxes, number, _ in rows(k.c.container_number, k.c.container_number):
        boxes[number] = _Box(set(), 0.0)
    for boxes, number, mass in rows(g.c.container_number, g.c.gross_mass_kg):
        boxes.setdefault(number, _Box(set(), 0.0)).mass_kg += float(mass)
    for boxes, number, seal in rows(s.c.container_number, s.c.seal_number):
        boxes.setdefault(number, _Box(set(), 0.0)).seals.add(seal)
    return found


def _filed(conn: Connection, document_ids: list[str]) -> dict[str, dict[str, _Box]]:
    """The containers each carrier document of ``document_ids`` lists: seals, cargo weight."""
    e, s, cargo = (
        tables.carrier_document_equipment, tables.carrier_document_seals,
        tables.carrier_document_cargo,
    )  # fmt: skip
    found: dict[str, dict[str, _Box]] = {d: {} for d in document_ids}
    for ids in _chunks(document_ids):
        for document, number, valid in conn.execute(
            select(e.c.document_id, e.c.container_number, e.c.check_digit_valid).where(
                e.c.document_id.in_(ids)
            )
        ):
            found[document][number] = _Box(set(), 0.0, bool(valid))
        for document, number, seal in conn.execute(
            select(s.c.document_id, s.c.container_number, s.c.seal_number).where(
                s.c.document_id.in_(ids)
            )
        ):
            found[document][number].seals.add(seal)
        for document, number, kg in conn.execute(
            select(cargo.c.document_id, cargo.c.container_number, cargo.c.gross_weight_kg).where(
                cargo.c.document_id.in_(ids)
            )
        ):
            found[document][number].mass_kg += float(kg)
    return found


def _same(a: Any, b: Any) -> bool:
    return " ".join(str(a).split()).casefold() == " ".join(str(b).split()).casefold()


def _compare(
    head: Mapping[str, Any],
    declared: dict[str, _Box],
    document: Mapping[str, Any],
    filed: dict[str, _Box],
    own: bool,
    tolerance: float,
) -> list[Discrepancy]:
    kind, ref, revision = document["document_kind"], document["reference"], document["revision"]
    which = f"{'transport document' if kind == 'TD' else 'shipping instructions'} {ref} " \
            f"(revision {revision})"  # fmt: skip
    found: list[Discrepancy] = []

    def add(
        what: DiscrepancyKind, box: str | None, declared: Any, filed: Any, text: str,
        about: str | None = None,
    ) -> None:  # fmt: skip
        found.append(Discrepancy(
            what, box, None if declared is None else str(declared),
            None if filed is None else str(filed), document["document_id"], kind, ref, revision,
            text, about,
        ))  # fmt: skip

    for number in sorted(declared.keys() - filed.keys()):
        add(DiscrepancyKind.CONTAINER_NOT_FILED, number, number, None,
            f"container {number} is declared but not on the carrier's {which}")  # fmt: skip
    if own:
        for number in sorted(filed.keys() - declared.keys()):
            add(DiscrepancyKind.CONTAINER_NOT_DECLARED, number, None, number,
                f"container {number} is on the carrier's {which} but not declared")  # fmt: skip
    for number in sorted(declared.keys() & filed.keys()):
        ours, theirs = declared[number], filed[number]
        if ours.seals and theirs.seals and ours.seals != theirs.seals:
            add(DiscrepancyKind.SEAL_DIFFERS, number, "|".join(sorted(ours.seals)),
                "|".join(sorted(theirs.seals)),
                f"container {number}: seal {', '.join(sorted(ours.seals))} declared, "
                f"{', '.join(sorted(theirs.seals))} on the carrier's {which} "
                "(a seal replaced after the carrier's filing: rip-on/rip-off indicator)")  # fmt: skip
        heavier = max(ours.mass_kg, theirs.mass_kg)
        if own and heavier > 0 and abs(ours.mass_kg - theirs.mass_kg) > tolerance * heavier:
            add(DiscrepancyKind.WEIGHT_DIFFERS, number, f"{ours.mass_kg:g}", f"{theirs.mass_kg:g}",
                f"container {number}: {ours.mass_kg:,.0f} kg declared, {theirs.mass_kg:,.0f} kg "
                f"on the carrier's {which} (more than {tolerance:.0%} apart)")  # fmt: skip
    for number in sorted(n for n, box in filed.items() if not box.check_digit_valid):
        add(DiscrepancyKind.CHECK_DIGIT, number, None, number,
            f"container {number} on the carrier's {which} fails the ISO 6346 check digit")  # fmt: skip
    for column, label in (("port_of_loading", "port of loading"),
                          ("port_of_discharge", "port of discharge")):  # fmt: skip
        ours_, theirs_ = head[column], document[column]
        if theirs_ is not None and ours_ != theirs_:
            add(DiscrepancyKind.PORT_DIFFERS, None, ours_, theirs_,
                f"{label} {ours_} declared, {theirs_} on the carrier's {which}", label)  # fmt: skip
    for column, label in (("vessel_name", "vessel"), ("vessel_imo", "vessel IMO number")):
        ours_, theirs_ = head[column], document[column]
        if ours_ is not None and theirs_ is not None and not _same(ours_, theirs_):
            add(DiscrepancyKind.VESSEL_DIFFERS, None, ours_, theirs_,
                f"{label} {ours_} declared, {theirs_} on the carrier's {which}", label)  # fmt: skip
    return found
