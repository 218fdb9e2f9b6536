"""DCSA eBL 3.x shipping instructions and transport documents as consignment records.

A DCSA Bill of Lading 3.x document (a ``TransportDocument`` or ``ShippingInstructions``, bare,
wrapped in a full-state-transfer notification's ``data``, or in an amendment's
``amendedTransportDocument``) is translated to quaywatch consignment records: the same dicts the
JSON Lines reader gives ``consignments.flatten``, so that every check of docs/formats.md holds
for them too. The mapping is documented field by field in docs/formats.md ("DCSA eBL 3").

A B/L is a carrier's document, not a customs declaration: it lacks some of what quaywatch's
consignment requires (the vessel's IMO number, goods values, origin countries, ...). No gap
is filled with a guess. ``translate`` gives the records with every field that has a DCSA
source and a list of gaps, each the DCSA path where the value would be and the quaywatch field
that needs it; ``to_consignments`` raises ``Unmapped`` (a ``decode.Fault``) naming every gap,
which the reader quarantines as one record with one problem per gap.

DCSA documents carry many fields quaywatch does not read: ``SHAPE`` is open, listing only what
is read (checked by the front door as for every JSON kind).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from quaywatch.intake.decode import FLAG, NUMBER, TEXT, Fault, Obj, Seq

# --- shape -------------------------------------------------------------------------------

_ADDRESS = Obj(
    dict.fromkeys(
        ("street", "streetNumber", "floor", "postCode", "POBox", "city", "stateRegion",
         "countryCode", "UNLocationCode"),
        TEXT,
    )
)  # fmt: skip
_PARTY = Obj(
    {
        "partyName": TEXT,
        "address": _ADDRESS,
        "addressLines": Seq(TEXT),
        "displayedAddress": Seq(TEXT),
        "identifyingCodes": Seq(Obj(dict.fromkeys(("codeListProvider", "codeListName",
                                                   "partyCode"), TEXT))),
        "taxLegalReferences": Seq(Obj(dict.fromkeys(("type", "countryCode", "value"), TEXT))),
        "partyContactDetails": Seq(Obj(dict.fromkeys(("name", "phone", "email"), TEXT))),
    }
)  # fmt: skip
_LOCATION = Obj({"UNLocationCode": TEXT})
_WEIGHT = Obj({"value": NUMBER, "unit": TEXT})
_EQUIPMENT = {"equipmentReference": TEXT, "ISOEquipmentCode": TEXT}
#: What is read of a transport document or shipping instructions.
DOCUMENT = Obj(
    {
        **dict.fromkeys(
            ("transportDocumentReference", "shippingInstructionsReference", "carrierCode",
             "carrierCodeListProvider", "declaredValueCurrency"),
            TEXT,
        ),
        "shippingInstructionsRevisionNumber": NUMBER,
        "declaredValue": NUMBER,
        "isToOrder": FLAG,
        "isCargoDeliveredInICS2Zone": FLAG,
        "transports": Obj(
            {
                "plannedArrivalDate": TEXT,
                "portOfLoading": _LOCATION,
                "portOfDischarge": _LOCATION,
                "placeOfDelivery": _LOCATION,
                "vesselVoyages": Seq(
                    Obj(dict.fromkeys(("vesselName", "carrierExportVoyageNumber", "role"), TEXT))
                ),
            }
        ),
        "documentParties": Obj(
            {
                **dict.fromkeys(("shipper", "consignee", "issuingParty"), _PARTY),
                "notifyParties": Seq(_PARTY),
            }
        ),
        "consignmentItems": Seq(
            Obj(
                {
                    "descriptionOfGoods": Seq(TEXT),
                    "descriptionOfGoodsForCustoms": Seq(TEXT),
                    "HSCodes": Seq(TEXT),
                    "cargoItems": Seq(
                        Obj(
                            {
                                "equipmentReference": TEXT,
                                "cargoGrossWeight": _WEIGHT,
                                "outerPackaging": Obj(
                                    {"numberOfPackages": NUMBER, "packageCode": TEXT}
                                ),
                            }
                        )
                    ),
                }
            )
        ),
        "utilizedTransportEquipments": Seq(
            Obj(
                {
                    **_EQUIPMENT,
                    "equipment": Obj(_EQUIPMENT),
                    "emptyIndicatorCode": TEXT,
                    "seals": Seq(Obj(dict.fromkeys(("number", "source", "type"), TEXT))),
                }
            )
        ),
        "advanceManifestFilings": Seq(
            Obj(dict.fromkeys(("manifestTypeCode", "countryCode"), TEXT))
        ),
    }
)  # fmt: skip
#: A document as a file holds it: bare, in a notification (CloudEvents ``time`` and ``data``)
#: or in an amendment.
SHAPE = Obj(
    {
        **DOCUMENT.fields,
        "time": TEXT,
        "data": Obj(dict.fromkeys(("transportDocument", "shippingInstructions"), DOCUMENT)),
        "amendedTransportDocument": DOCUMENT,
    }
)

#: Keys by which a JSON object is told to be a DCSA eBL document (``looks_like``).
_REFERENCE_KEYS = {"transportDocumentReference", "shippingInstructionsReference"}
_LB_KG = 0.45359237
_UUID = re.compile(r"^[0-9a-fA-F]{8}-([0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}$")


def looks_like(record: Any) -> bool:
    """Whether a decoded JSON object is a DCSA eBL 3 document (bare, notified or amended)."""
    if not isinstance(record, dict):
        return False
    data = record.get("data")
    return bool(
        _REFERENCE_KEYS & record.keys()
        or "amendedTransportDocument" in record
        or {"consignmentItems", "documentParties"} <= record.keys()
        or (isinstance(data, dict) and {"transportDocument", "shippingInstructions"} & data.keys())
    )


# --- translation -------------------------------------------------------------------------


class Unmapped(Fault):
    """A DCSA document lacking what a quaywatch consignment requires: one ``(DCSA path,
    reason)`` per gap in ``problems``; ``field`` and ``reason`` are the first."""

    def __init__(self, problems: list[tuple[str, str]]) -> None:
        super().__init__(*problems[0])
        self.problems = problems


@dataclass(slots=True)
class Translation:
    """The consignment records of one document, and the gaps that keep them from being stored
    (``(DCSA path, reason)``, the reason naming the quaywatch field)."""

    records: list[dict[str, Any]]
    gaps: list[tuple[str, str]] = field(default_factory=list)


def to_consignments(record: dict[str, Any]) -> list[dict[str, Any]]:
    """The quaywatch consignment records of a DCSA eBL 3 document; ``Unmapped`` naming every
    required quaywatch field it has no value for.

    >>> to_consignments({"shippingInstructionsReference": "SI1"})  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    quaywatch.intake.dcsa_ebl.Unmapped: transportDocumentReference: missing: ...
    """
    translation = translate(record)
    if translation.gaps:
        raise Unmapped(translation.gaps)
    return translation.records


def translate(record: dict[str, Any]) -> Translation:
    """``record`` (of ``SHAPE``) as quaywatch consignment records and the gaps left."""
    doc, prefix, lodged_at = _unwrapped(record)
    gaps: list[tuple[str, str]] = []

    def gap(path: str, reason: str) -> None:
        gaps.append((f"{prefix}{path}", reason))

    if doc is None:
        gap("data", "holds no transportDocument or shippingInstructions: nothing to import")
        return Translation([], gaps)
    td_ref = doc.get("transportDocumentReference")
    si_ref = doc.get("shippingInstructionsReference")
    if td_ref is None:
        gap(
            "transportDocumentReference",
            "missing: quaywatch's transport_document is the B/L number, which the carrier "
            "gives with the draft transport document",
        )
    consignment_id = td_ref or _short_uuid(si_ref)
    if consignment_id is None:
        gap("shippingInstructionsReference", "missing: consignment_id needs a document reference")
    if lodged_at is None:  # the notification's envelope, outside the document: no prefix
        gaps.append(
            (
                "time",
                "missing: lodged_at needs when the document was sent, with its UTC offset: "
                "the time of the DCSA notification carrying it (a B/L's dates have no time)",
            )
        )
    transports = doc.get("transports") or {}
    parties = doc.get("documentParties") or {}
    head: dict[str, Any] = {
        "consignment_id": consignment_id,
        "version": doc.get("shippingInstructionsRevisionNumber") or 1,
        "transport_document": td_ref,
        "lodged_at": lodged_at,
        "declarant": _party(parties, "issuingParty", "declarant", gap),
        "consignor": _party(parties, "shipper", "consignor", gap),
        "consignee": _party(parties, "consignee", "consignee", gap, doc.get("isToOrder")),
        "carrier_scac": _scac(doc, gap),
        "vessel": {"imo": None, "name": None},
        "route": {},
        "eta": None,
    }
    notify = parties.get("notifyParties") or []
    if notify:  # quaywatch keeps one notify party: the first (docs/formats.md)
        head["notify_party"] = _party_fields(
            notify[0], "documentParties.notifyParties[0]", "notify_party", gap
        )
    if transports:
        _transport(transports, head, _under(gap, "transports"))
    else:
        gap(
            "transports",
            "missing: port_of_loading, port_of_discharge, eta and the vessel come from a "
            "transport document (shipping instructions do not carry them)",
        )
    goods, paths = _goods(doc, gap)
    if len(goods) == 1 and doc.get("declaredValue") is not None:
        # One goods item: the document's declared value is its value (docs/formats.md).
        goods[0]["value"] = doc["declaredValue"]
        goods[0]["currency"] = doc.get("declaredValueCurrency")
    else:
        for item, path in zip(goods, paths, strict=True):
            gap(
                path,
                f"no value: goods item {item['sequence']} needs value and currency; a B/L "
                "has only declaredValue, for the whole document and not always",
            )
    record_out = head | {"goods_items": goods, "containers": _containers(doc, gap)}
    return Translation([record_out], gaps)


def _unwrapped(record: dict[str, Any]) -> tuple[dict[str, Any] | None, str, str | None]:
    """The document in ``record``, the path to it and the notification's time (if any)."""
    if isinstance(record.get("data"), dict):
        data = record["data"]
        for key in ("transportDocument", "shippingInstructions"):
            if isinstance(data.get(key), dict):
                return data[key], f"data.{key}.", record.get("time")
        return None, "", record.get("time")
    if isinstance(record.get("amendedTransportDocument"), dict):
        return record["amendedTransportDocument"], "amendedTransportDocument.", None
    return record, "", None


def _short_uuid(reference: str | None) -> str | None:
    """A reference as a consignment id (35 characters at most): a UUID (36 with its hyphens,
    as DCSA examples give them) without its hyphens, the same UUID."""
    if reference is not None and _UUID.match(reference):
        return reference.replace("-", "").lower()
    return reference


#: Records a gap: ``(DCSA path, reason)``.
Gap = Callable[[str, str], None]


def _under(gap: Gap, prefix: str) -> Gap:
    return lambda path, reason: gap(f"{prefix}.{path}", reason)


def _party(
    parties: dict[str, Any], key: str, role: str, gap: Gap, to_order: Any = None
) -> dict[str, Any] | None:
    party = parties.get(key)
    if not party:
        if role == "notify_party":
            return None
        why = {
            "declarant": "a transport document's issuing carrier lodges the declaration; "
            "shipping instructions name no declarant",
            "consignor": "the consignor is the B/L's shipper",
            "consignee": "a to-order B/L names none"
            if to_order is True
            else "the consignee is the B/L's consignee",
        }[role]
        gap(f"documentParties.{key}", f"missing: quaywatch needs a {role} ({why})")
        return None
    return _party_fields(party, f"documentParties.{key}", role, gap)


def _party_fields(party: dict[str, Any], path: str, role: str, gap: Gap) -> dict[str, Any]:
    address = party.get("address") or {}
    lines = party.get("addressLines") or party.get("displayedAddress") or []
    country = address.get("countryCode") or (address.get("UNLocationCode") or "")[:2] or None
    if country is None:
        gap(
            f"{path}.address.countryCode",
            f"missing: {role}_country needs the party's country (an address with its "
            "countryCode; displayedAddress is free text)",
        )
    contact = (party.get("partyContactDetails") or [{}])[0] or {}
    eori = next(
        (
            ref.get("value")
            for ref in party.get("taxLegalReferences") or []
            if str(ref.get("type", "")).upper() == "EORI"
        ),
        None,
    )
    return {
        "name": party.get("partyName"),
        "address": _address(address) or ("\n".join(lines) if lines else None),
        "country": country,
        "eori": eori,
        "phone": contact.get("phone"),
        "email": contact.get("email"),
    }


def _address(address: dict[str, Any]) -> str | None:
    street = " ".join(str(address[k]) for k in ("street", "streetNumber") if address.get(k))
    city = " ".join(str(address[k]) for k in ("postCode", "city") if address.get(k))
    parts = [p for p in (street, city, address.get("stateRegion")) if p]
    return ", ".join(str(p) for p in parts) or None


def _scac(doc: dict[str, Any], gap: Gap) -> str | None:
    code, provider = doc.get("carrierCode"), doc.get("carrierCodeListProvider")
    if code is not None and provider == "NMFTA":
        return str(code)
    if code is None:
        gap("carrierCode", "missing: carrier_scac needs the carrier's SCAC (NMFTA code)")
    else:
        gap(
            "carrierCode",
            f"is a carrier code listed by {provider or 'no one'}, not a SCAC: carrier_scac "
            "needs the carrier's NMFTA SCAC (an SMDG liner code names the carrier otherwise)",
        )
    return None


def _transport(transports: dict[str, Any], head: dict[str, Any], gap: Gap) -> None:
    route = head["route"]
    for key, name in (
        ("portOfLoading", "port_of_loading"),
        ("portOfDischarge", "port_of_discharge"),
    ):
        route[name] = (transports.get(key) or {}).get("UNLocationCode")
        if route[name] is None:
            gap(f"{key}.UNLocationCode", f"missing: {name} needs the port's UN/LOCODE")
    route["place_of_delivery"] = (transports.get("placeOfDelivery") or {}).get("UNLocationCode")
    arrival = transports.get("plannedArrivalDate")
    if arrival is None:
        gap("plannedArrivalDate", "missing: eta needs the planned arrival date")
    else:  # a date: the estimate taken as the start of that day in UTC (docs/formats.md)
        head["eta"] = (
            f"{arrival}T00:00:00+00:00"
            if re.fullmatch(r"\d{4}-\d\d-\d\d", str(arrival))
            else arrival
        )
    voyages = transports.get("vesselVoyages") or []
    mother = next((v for v in voyages if v.get("role") == "MOTHER"), voyages[0] if voyages else {})
    head["vessel"]["name"] = mother.get("vesselName")
    head["voyage"] = mother.get("carrierExportVoyageNumber")
    gap(
        "vesselVoyages",
        "no IMO number: vessel_imo is required and DCSA eBL 3 gives the vessel by name only",
    )


def _goods(doc: dict[str, Any], gap: Gap) -> tuple[list[dict[str, Any]], list[str]]:
    """One goods item per cargo item (a consignment item split over containers is one goods
    item per container), and the DCSA path of each."""
    goods: list[dict[str, Any]] = []
    paths: list[str] = []
    items = doc.get("consignmentItems") or []
    if not items:
        gap("consignmentItems", "missing: a consignment needs at least one goods item")
    for i, item in enumerate(items):
        at = f"consignmentItems[{i}]"
        codes = {str(code)[:6] for code in item.get("HSCodes") or []}
        if not codes:
            gap(f"{at}.HSCodes", "missing: hs6 needs the goods' HS code")
        elif len(codes) > 1:
            gap(
                f"{at}.HSCodes",
                "holds several HS subheadings: quaywatch's goods item has one hs6, and the "
                "B/L does not say which weight and packages belong to which",
            )
        lines = item.get("descriptionOfGoodsForCustoms") or item.get("descriptionOfGoods") or []
        if not lines:
            gap(f"{at}.descriptionOfGoods", "missing: description is required")
        cargo_items = item.get("cargoItems") or []
        if not cargo_items:
            gap(
                f"{at}.cargoItems", "missing: a goods item needs its container, weight and packages"
            )
        for c, cargo in enumerate(cargo_items):
            cat = f"{at}.cargoItems[{c}]"
            packaging = cargo.get("outerPackaging") or {}
            if packaging.get("packageCode") is None:
                gap(
                    f"{cat}.outerPackaging.packageCode",
                    "missing: package_type needs the UN/ECE Rec. 21 package code",
                )
            if packaging.get("numberOfPackages") is None:
                gap(f"{cat}.outerPackaging.numberOfPackages", "missing: packages is required")
            gap(
                cat,
                f"no origin: goods item {len(goods) + 1} needs origin_country, which a B/L "
                "does not carry",
            )
            paths.append(cat)
            goods.append(
                {
                    "sequence": len(goods) + 1,
                    "hs6": min(codes) if len(codes) == 1 else None,
                    "description": "\n".join(str(line) for line in lines) or None,
                    "packages": packaging.get("numberOfPackages"),
                    "package_type": packaging.get("packageCode"),
                    "gross_mass_kg": _kilograms(cargo.get("cargoGrossWeight"), cat, gap),
                    "value": None,
                    "currency": None,
                    "origin_country": None,
                    "container_number": cargo.get("equipmentReference"),
                }
            )
    return goods, paths


def _kilograms(weight: dict[str, Any] | None, at: str, gap: Gap) -> Any:
    if not weight or weight.get("value") is None:
        gap(f"{at}.cargoGrossWeight", "missing: gross_mass_kg is required")
        return None
    unit, value = weight.get("unit"), weight["value"]
    if unit == "LBR":
        try:
            return float(value) * _LB_KG
        except (TypeError, ValueError):
            return value  # left to the checks, which name the field
    if unit != "KGM":
        gap(f"{at}.cargoGrossWeight.unit", "is not KGM or LBR: gross_mass_kg is in kilograms")
    return value


def _containers(doc: dict[str, Any], gap: Gap) -> list[dict[str, Any]]:
    containers = []
    for u, ute in enumerate(doc.get("utilizedTransportEquipments") or []):
        at = f"utilizedTransportEquipments[{u}]"
        equipment = ute.get("equipment") or {}
        number = equipment.get("equipmentReference") or ute.get("equipmentReference")
        size_type = equipment.get("ISOEquipmentCode") or ute.get("ISOEquipmentCode")
        if size_type is None:
            gap(
                f"{at}.equipment.ISOEquipmentCode",
                "missing: container_size_type needs the ISO 6346 size/type code",
            )
        seals = []
        for s, seal in enumerate(ute.get("seals") or []):
            if seal.get("source") is None:
                gap(
                    f"{at}.seals[{s}].source",
                    "missing: a seal needs its source (CAR, SHI, VET, CUS)",
                )
            if seal.get("type") is None:
                gap(
                    f"{at}.seals[{s}]",
                    "no seal type: quaywatch's seal needs its type (KLP, BLT, WIR), which "
                    "DCSA eBL 3 does not carry",
                )
            seals.append(
                {
                    "number": seal.get("number"),
                    "source": seal.get("source"),
                    "type": seal.get("type"),
                }
            )
        containers.append(
            {
                "number": number,
                "size_type": size_type,
                "status": ute.get("emptyIndicatorCode") or "LADEN",
                "seals": seals,
            }
        )
    return containers
