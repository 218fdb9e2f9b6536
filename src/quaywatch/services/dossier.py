"""The dossier of one consignment: everything an officer reads before deciding on it.

``consignment_dossier`` gathers, for the newest stored version of a consignment: its transport
(vessel, voyage, carrier, times) and route (loading port, transshipment hubs, discharge port,
place of delivery); its parties with their AEO status, when quaywatch first saw them and the
partner watchlists in force they are on (``exchange.watchlists``: a party of a seizure a
partner reported; de-identified entries matched with the group key of ``key_dir``); its
goods items, each with its value per kg in EUR beside the usual value per kg of its HS code
(the reference of the current model, where one is given); its containers and declared seals;
the container events that belong to it (``risk.anomaly.frames.journeys``: same container and
transport document, or a bare container number within the consignment's time frame), in time
order, each with its place on the declared route and whether its seals differ from that
container's previous event; every assessment of every version with the model and profile
versions and reasons; its past controls; and its decision panel (``services.decisions``:
each selection run's lane with the officers' overrides, examiner instructions, referrals).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import polars as pl
from sqlalchemy import func, select

from quaywatch.errors import NotFoundError
from quaywatch.exchange import protection, watchlists
from quaywatch.features import declared
from quaywatch.risk.anomaly import frames, reads as anomaly_reads
from quaywatch.services.arguments import check_identifier
from quaywatch.services.assessments import Assessment, assessment_history
from quaywatch.services.decisions import DecisionPanel, decision_panel
from quaywatch.store import reads, tables
from quaywatch.store.store import Store

_ROLES = ("consignor", "consignee", "declarant", "notify_party")


@dataclass(frozen=True, slots=True)
class DossierParty:
    """A party of the consignment in one role (``consignor``, ``consignee``, ``declarant``,
    ``notify party``); ``partner_watchlists``: the partner watchlists in force it matches an
    entry of (``partner:<code>``)."""

    role: str
    party_key: str
    name: str
    address: str | None
    country: str
    eori: str | None
    aeo: str
    first_seen_at: datetime
    partner_watchlists: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class DossierItem:
    """A goods item; ``value_per_kg_eur`` is null for a currency without a reference rate;
    ``usual_value_per_kg_eur`` is the median of its HS code (or chapter, or all goods, where
    the code has too few items) in the reference, null without one."""

    sequence: int
    hs6: str
    description: str
    packages: int
    package_type: str
    gross_mass_kg: float
    value: float
    currency: str
    origin_country: str
    container_number: str
    value_eur: float | None
    value_per_kg_eur: float | None
    usual_value_per_kg_eur: float | None


@dataclass(frozen=True, slots=True)
class DossierContainer:
    """A container of the consignment with its declared seals (number, source)."""

    number: str
    size_type: str
    status: str
    seals: tuple[tuple[str, str], ...]


@dataclass(frozen=True, slots=True)
class DossierEvent:
    """A container event of the consignment. ``role``: where it happened on the declared
    route (``pol``, ``hub``, ``pod``, or ``off`` a place not on it); ``seals_changed``: its
    seals differ from that container's previous sealed event."""

    event_time: datetime
    received_at: datetime
    event_code: str
    un_locode: str | None
    facility_type: str | None
    container_number: str
    role: str
    seals: tuple[str, ...]
    seals_changed: bool


@dataclass(frozen=True, slots=True)
class DossierControl:
    """A control of the consignment and what it found."""

    control_id: str
    version: int
    control_type: str
    selected_by: str
    controlled_at: datetime
    result: str
    irregularity: str | None
    revenue_recovered_eur: float
    seizure_goods: str | None
    seizure_quantity: float | None
    seizure_unit: str | None


@dataclass(frozen=True, slots=True)
class ConsignmentDossier:
    """Everything about the newest version of one consignment (see the module)."""

    consignment_id: str
    version: int
    versions: int
    transport_document: str
    lodged_at: datetime
    eta: datetime
    carrier_scac: str
    vessel_imo: str
    vessel_name: str | None
    voyage: str | None
    route: tuple[str, ...]
    place_of_delivery: str | None
    parties: tuple[DossierParty, ...]
    items: tuple[DossierItem, ...]
    containers: tuple[DossierContainer, ...]
    events: tuple[DossierEvent, ...]
    assessments: tuple[Assessment, ...]
    controls: tuple[DossierControl, ...]
    panel: DecisionPanel


def consignment_dossier(
    store: Store, consignment_id: str, *, reference: declared.ValueReference | None = None,
    key_dir: Path | None = None, now: datetime | None = None,
) -> ConsignmentDossier:  # fmt: skip
    """The dossier of ``consignment_id``'s newest version; ``reference`` (the current model's
    value reference) gives each goods item its usual value per kg; ``key_dir`` (the key
    directory) the partner group's key, and ``now`` the moment, for the partner watchlists.
    ``NotFoundError`` if the consignment is not stored."""
    check_identifier("consignment_id", consignment_id)
    c = tables.consignments
    with store.reading() as conn:
        header = conn.execute(
            select(c).where(c.c.consignment_id == consignment_id).order_by(c.c.version.desc())
        ).first()
        versions = conn.execute(
            select(func.count()).where(c.c.consignment_id == consignment_id)
        ).scalar_one()
    if header is None:
        raise NotFoundError(f"no consignment {consignment_id}")
    keys = pl.DataFrame({"consignment_id": [consignment_id], "version": [header.version]})
    hubs = tuple(p for p in (header.transshipment_ports or "").split("|") if p)
    return ConsignmentDossier(
        consignment_id=consignment_id, version=header.version, versions=versions,
        transport_document=header.transport_document, lodged_at=header.lodged_at,
        eta=header.eta, carrier_scac=header.carrier_scac, vessel_imo=header.vessel_imo,
        vessel_name=header.vessel_name, voyage=header.voyage,
        route=(header.port_of_loading, *hubs, header.port_of_discharge),
        place_of_delivery=header.place_of_delivery,
        parties=_parties(store, header, key_dir, datetime.now(UTC) if now is None else now),
        items=_items(store, consignment_id, header.version, reference),
        containers=_containers(store, consignment_id, header.version),
        events=_events(store, keys),
        assessments=assessment_history(store, consignment_id),
        controls=_controls(store, consignment_id),
        panel=decision_panel(store, consignment_id),
    )  # fmt: skip


def _parties(
    store: Store, header: object, key_dir: Path | None, at: datetime
) -> tuple[DossierParty, ...]:
    keys = {role: getattr(header, f"{role}_key") for role in _ROLES}
    frame = reads.parties(store, [k for k in keys.values() if k])
    known = {row["party_key"]: row for row in frame.iter_rows(named=True)}
    live = watchlists.in_force(watchlists.entries(store), at)
    listed: dict[str, list[str]] = {}
    if live:
        found = watchlists.screen(live, frame, protection.group_key_if_any(key_dir))
        for key, entry in found.select("party_key", "entry").iter_rows():
            listed.setdefault(key, []).append(live[entry].watchlist_id)
    return tuple(
        DossierParty(
            role.replace("_", " "),
            key,
            known[key]["name"],
            known[key]["address"],
            known[key]["country"],
            known[key]["eori"],
            known[key]["aeo"],
            known[key]["first_seen_at"],
            tuple(sorted(set(listed.get(key, ())))),
        )  # fmt: skip
        for role, key in keys.items()
        if key and key in known
    )


def _items(
    store: Store, consignment_id: str, version: int, reference: declared.ValueReference | None
) -> tuple[DossierItem, ...]:
    g = tables.goods_items
    rows = reads.frame(
        store,
        select(g).where(g.c.consignment_id == consignment_id, g.c.version == version)
        .order_by(g.c.sequence),
    )  # fmt: skip
    valued = declared.item_features(rows)
    usual: dict[str, float] = {}
    if reference is not None and not valued.is_empty():
        table = reference.table(valued.get_column("hs6"))
        usual = {
            hs6: math.exp(median) for hs6, median in table.select("hs6", "_median").iter_rows()
        }
    return tuple(
        DossierItem(
            r["sequence"],
            r["hs6"],
            r["description"],
            r["packages"],
            r["package_type"],
            r["gross_mass_kg"],
            r["value"],
            r["currency"],
            r["origin_country"],
            r["container_number"],
            r["value_eur"],
            r["value_per_kg_eur"],
            usual.get(r["hs6"]),
        )  # fmt: skip
        for r in valued.iter_rows(named=True)
    )


def _containers(store: Store, consignment_id: str, version: int) -> tuple[DossierContainer, ...]:
    k, s = tables.containers, tables.seals
    with store.reading() as conn:
        boxes = conn.execute(
            select(k.c.container_number, k.c.size_type, k.c.status)
            .where(k.c.consignment_id == consignment_id, k.c.version == version)
            .order_by(k.c.container_number)
        ).all()  # fmt: skip
        seals = conn.execute(
            select(s.c.container_number, s.c.seal_number, s.c.source)
            .where(s.c.consignment_id == consignment_id, s.c.version == version)
            .order_by(s.c.container_number, s.c.seal_number)
        ).all()  # fmt: skip
    return tuple(
        DossierContainer(
            box.container_number,
            box.size_type,
            box.status,
            tuple(
                (x.seal_number, x.source)
                for x in seals
                if x.container_number == box.container_number
            ),
        )  # fmt: skip
        for box in boxes
    )


def _events(store: Store, keys: pl.DataFrame) -> tuple[DossierEvent, ...]:
    boxes = anomaly_reads.boxes(store, keys)
    if boxes.is_empty():
        return ()
    events = anomaly_reads.events(store, boxes.get_column("container_number").unique().to_list())
    journey = frames.journeys(events, boxes)
    found: list[DossierEvent] = []
    last: dict[str, tuple[str, ...]] = {}
    for r in journey.iter_rows(named=True):
        seals = tuple(sorted(s["seal_number"] for s in r["seals"]))
        box = r["container_number"]
        changed = bool(seals) and box in last and last[box] != seals
        if seals:
            last[box] = seals
        found.append(
            DossierEvent(
                r["event_time"],
                r["received_at"],
                r["event_code"],
                r["un_locode"],
                r["facility_type"],
                box,
                r["role"],
                seals,
                changed,
            )  # fmt: skip
        )
    return tuple(sorted(found, key=lambda e: (e.event_time, e.container_number)))


def _controls(store: Store, consignment_id: str) -> tuple[DossierControl, ...]:
    o = tables.control_outcomes
    with store.reading() as conn:
        rows = conn.execute(
            select(o).where(o.c.consignment_id == consignment_id).order_by(o.c.controlled_at)
        ).all()
    return tuple(
        DossierControl(
            r.control_id,
            r.version,
            r.control_type,
            r.selected_by,
            r.controlled_at,
            r.result,
            r.irregularity,
            r.revenue_recovered_eur,
            r.seizure_goods,
            r.seizure_quantity,
            r.seizure_unit,
        )  # fmt: skip
        for r in rows
    )
