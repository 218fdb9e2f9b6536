"""Carriers' documents as an officer reads them: one B/L or shipping instructions with its
revisions, the consignments declaring it and what differs between them; and, for one
consignment, its discrepancies with the carrier's filing (``risk.carrier_documents``).

What the CLI (``quaywatch documents show|check``), the API (``GET /documents/...``) and the web
pages (a document's page, the consignment dossier's document check) call.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import Connection, or_, select

from quaywatch.domain.vocabulary import WEIGHT_TOLERANCE
from quaywatch.errors import InputError, NotFoundError
from quaywatch.risk import carrier_documents as linking
from quaywatch.risk.carrier_documents import Linked
from quaywatch.store import tables
from quaywatch.store.store import Store


@dataclass(frozen=True, slots=True)
class Revision:
    """One stored revision of a carrier document: what the carrier filed, when it came."""

    document_id: str
    document_kind: str
    reference: str
    revision: int
    status: str | None
    transport_document_reference: str | None
    received_at: datetime


@dataclass(frozen=True, slots=True)
class DocumentParty:
    role: str
    name: str
    address: str | None
    country: str | None
    eori: str | None


@dataclass(frozen=True, slots=True)
class DocumentEquipment:
    container_number: str
    check_digit_valid: bool
    size_type: str | None
    seals: tuple[str, ...]
    cargo_gross_kg: float | None
    tare_kg: float | None


@dataclass(frozen=True, slots=True)
class DocumentCargo:
    sequence: int
    container_number: str
    hs_codes: str | None
    description: str
    packages: int | None
    package_code: str | None
    gross_weight_kg: float


@dataclass(frozen=True, slots=True)
class DocumentView:
    """The newest revision of a carrier document in full, every revision, the consignments
    declaring its transport document, and each one's discrepancies with the carrier's filing."""

    document_id: str
    document_kind: str
    reference: str
    revision: int
    status: str | None
    transport_document_reference: str | None
    shipping_instructions_reference: str | None
    carrier_code: str | None
    carrier_code_list: str | None
    vessel_name: str | None
    vessel_imo: str | None
    voyage: str | None
    port_of_loading: str | None
    port_of_discharge: str | None
    place_of_delivery: str | None
    planned_arrival: date | None
    shipped_on_board_date: date | None
    issue_date: date | None
    cargo_in_ics2_zone: bool | None
    advance_manifest_filings: str | None
    received_at: datetime
    parties: tuple[DocumentParty, ...]
    equipment: tuple[DocumentEquipment, ...]
    cargo: tuple[DocumentCargo, ...]
    revisions: tuple[Revision, ...]
    consignments: tuple[Linked, ...]


def show_document(store: Store, reference: str) -> DocumentView:
    """The carrier document filed under ``reference`` (its own reference, or the transport
    document number it carries): the newest revision, a transport document before shipping
    instructions; ``NotFoundError`` if none is stored."""
    d = tables.carrier_documents
    with store.reading() as conn:
        rows = [
            dict(r)
            for r in conn.execute(
                select(d)
                .where(
                    or_(d.c.reference == reference, d.c.transport_document_reference == reference)
                )
                .order_by(d.c.document_kind.desc(), d.c.reference, d.c.revision)
            ).mappings()
        ]
        if not rows:
            raise NotFoundError(f"no carrier document {reference}")
        newest = max(rows, key=lambda r: (r["document_kind"] == "TD", r["revision"]))
        document_id = newest["document_id"]
        linked: list[Linked] = []
        number = newest["transport_document_reference"]
        if number is not None:
            linked = [
                linking.check_consignment(conn, cid, version)
                for cid, version in linking.linked_consignments(conn, number)
            ]
        fields = {k: newest[k] for k in DocumentView.__dataclass_fields__ if k in newest}
        return DocumentView(
            **fields,
            parties=_parties(conn, document_id),
            equipment=_equipment(conn, document_id),
            cargo=_cargo(conn, document_id),
            revisions=tuple(
                Revision(
                    r["document_id"],
                    r["document_kind"],
                    r["reference"],
                    r["revision"],
                    r["status"],
                    r["transport_document_reference"],
                    r["received_at"],
                )  # fmt: skip
                for r in rows
            ),
            consignments=tuple(linked),
        )


def check_consignment(
    store: Store,
    consignment_id: str,
    version: int | None = None,
    *,
    tolerance: float = WEIGHT_TOLERANCE,
) -> Linked:
    """The discrepancies between a consignment (its newest version unless ``version``) and
    the carrier's documents of its transport document(s)."""
    if not 0 <= tolerance < 1:
        raise InputError(f"tolerance must be at least 0 and below 1, got {tolerance}")
    with store.reading() as conn:
        return linking.check_consignment(conn, consignment_id, version, tolerance=tolerance)


@dataclass(frozen=True, slots=True)
class DocumentCheck:
    """A consignment version against the carrier's filing: the check (``Linked``: the
    documents compared and every discrepancy) and, for each document compared, its revision
    (reference, kind, number, status), so that a page can name and link it."""

    check: Linked
    compared: tuple[Revision, ...]


def document_check(
    store: Store,
    consignment_id: str,
    version: int | None = None,
    *,
    tolerance: float = WEIGHT_TOLERANCE,
) -> DocumentCheck:
    """``check_consignment``, with the revisions compared (what the dossier shows)."""
    if not 0 <= tolerance < 1:
        raise InputError(f"tolerance must be at least 0 and below 1, got {tolerance}")
    d = tables.carrier_documents
    with store.reading() as conn:
        check = linking.check_consignment(conn, consignment_id, version, tolerance=tolerance)
        rows = conn.execute(
            select(d.c.document_id, d.c.document_kind, d.c.reference, d.c.revision, d.c.status,
                   d.c.transport_document_reference, d.c.received_at)
            .where(d.c.document_id.in_(check.documents))
            .order_by(d.c.reference, d.c.revision)
        ).all()  # fmt: skip
    return DocumentCheck(check, tuple(Revision(*row) for row in rows))


def _parties(conn: Connection, document_id: str) -> tuple[DocumentParty, ...]:
    p = tables.carrier_document_parties
    query = select(p.c.role, p.c.name, p.c.address, p.c.country, p.c.eori)
    rows = conn.execute(query.where(p.c.document_id == document_id).order_by(p.c.sequence))
    return tuple(DocumentParty(*row) for row in rows)


def _equipment(conn: Connection, document_id: str) -> tuple[DocumentEquipment, ...]:
    e, s = tables.carrier_document_equipment, tables.carrier_document_seals
    seals: dict[str, list[str]] = {}
    for number, seal in conn.execute(
        select(s.c.container_number, s.c.seal_number)
        .where(s.c.document_id == document_id)
        .order_by(s.c.seal_number)
    ):
        seals.setdefault(number, []).append(seal)
    query = select(e).where(e.c.document_id == document_id).order_by(e.c.container_number)
    return tuple(
        DocumentEquipment(
            r["container_number"],
            bool(r["check_digit_valid"]),
            r["size_type"],
            tuple(seals.get(r["container_number"], [])),
            r["cargo_gross_kg"],
            r["tare_kg"],
        )  # fmt: skip
        for r in conn.execute(query).mappings()
    )


def _cargo(conn: Connection, document_id: str) -> tuple[DocumentCargo, ...]:
    c = tables.carrier_document_cargo
    query = select(c).where(c.c.document_id == document_id).order_by(c.c.sequence)
    keep = [f for f in DocumentCargo.__dataclass_fields__]
    return tuple(DocumentCargo(**{k: r[k] for k in keep}) for r in conn.execute(query).mappings())
