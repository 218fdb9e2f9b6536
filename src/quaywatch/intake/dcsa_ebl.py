"""DCSA eBL 3.x shipping instructions and transport documents as carrier-document rows.

A DCSA Bill of Lading 3.x document (a ``TransportDocument`` or ``ShippingInstructions``, bare,
wrapped in a full-state-transfer notification's ``data``, or in an amendment's
``amendedTransportDocument``) is the carrier's filing, not a customs declaration: it is kept as
what it is (``intake.carrier_documents`` checks it, ``store.tables.carrier_documents`` and its
child tables hold it) and linked to the consignments declaring the same transport document
(``risk.carrier_documents``). ``flatten`` gives its rows, one per line of the document: the
document itself, each party, each piece of equipment, each seal, each cargo item, every row
repeating the document's own fields (as a consignment's goods items repeat its fields), each
with the DCSA path of its line so that a fault is named where it is in the document.

DCSA documents carry many fields quaywatch does not read (charges, references, reefer settings,
dangerous goods): ``SHAPE`` is open, listing only what is read (checked by the front door as for
every JSON kind). docs/formats.md maps every stored field to its DCSA source.
"""

from __future__ import annotations

from typing import Any

from quaywatch.intake.decode import FLAG, NUMBER, TEXT, Fault, Obj, Seq, Shape
from quaywatch.intake.fields import LIST_SEP

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
    }
)  # fmt: skip
_LOCATION = Obj({"UNLocationCode": TEXT})
_WEIGHT = Obj({"value": NUMBER, "unit": TEXT})
_EQUIPMENT: dict[str, Shape] = {
    "equipmentReference": TEXT,
    "ISOEquipmentCode": TEXT,
    "tareWeight": _WEIGHT,
}
#: The single parties of ``documentParties`` and the role each is stored under.
SINGLE_PARTIES = {
    "shipper": "SHIPPER",
    "consignee": "CONSIGNEE",
    "endorsee": "ENDORSEE",
    "issuingParty": "ISSUER",
    "carriersAgentAtDestination": "CARRIER_AGENT",
    "buyer": "BUYER",
    "seller": "SELLER",
}
#: What is read of a transport document or shipping instructions.
DOCUMENT = Obj(
    {
        **dict.fromkeys(
            ("transportDocumentReference", "shippingInstructionsReference",
             "transportDocumentStatus", "shippingInstructionsStatus", "carrierBookingReference",
             "carrierCode", "carrierCodeListProvider", "declaredValueCurrency", "issueDate",
             "shippedOnBoardDate"),
            TEXT,
        ),
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
                    Obj(dict.fromkeys(("vesselName", "vesselIMONumber",
                                       "carrierExportVoyageNumber"), TEXT))
                ),
            }
        ),
        "documentParties": Obj(
            {
                **dict.fromkeys(SINGLE_PARTIES, _PARTY),
                "notifyParties": Seq(_PARTY),
                "other": Seq(Obj({"partyFunction": TEXT, "party": _PARTY})),
            }
        ),
        "consignmentItems": Seq(
            Obj(
                {
                    "carrierBookingReference": TEXT,
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
                    "isShipperOwned": FLAG,
                    "emptyIndicatorCode": TEXT,
                    "seals": Seq(Obj(dict.fromkeys(("number", "source", "type"), TEXT))),
                }
            )
        ),
        "advanceManifestFilings": Seq(
            Obj(
                dict.fromkeys(
                    ("manifestTypeCode", "countryCode", "advanceManifestFilingsHouseBLPerformedBy"),
                    TEXT,
                )
            )
        ),
    }
)  # fmt: skip
#: A document as a file holds it: bare, in a notification (CloudEvents ``data``) or in an
#: amendment.
SHAPE = Obj(
    {
        **DOCUMENT.fields,
        "data": Obj(dict.fromkeys(("transportDocument", "shippingInstructions"), DOCUMENT)),
        "amendedTransportDocument": DOCUMENT,
    }
)

#: Keys by which a JSON object is told to be a DCSA eBL document (``marks``).
_REFERENCE_KEYS = {"transportDocumentReference", "shippingInstructionsReference"}
_LB_KG = 0.45359237
_KG_PER = {"KGM": 1.0, "LBR": _LB_KG}
#: Line types of a document's rows, in the order they are numbered.
DOCUMENT_LINE, PARTY, EQUIPMENT, SEAL, CARGO = "DOCUMENT", "PARTY", "EQUIPMENT", "SEAL", "CARGO"


def marks(keys: frozenset[str]) -> bool:
    """Whether a JSON object with these top-level keys is a DCSA eBL 3 document (bare or
    amended) or a notification about one (a CloudEvent: ``specversion`` and ``data``; its
    ``type`` is then checked by ``is_document``)."""
    return bool(
        _REFERENCE_KEYS & keys
        or "amendedTransportDocument" in keys
        or {"consignmentItems", "documentParties"} <= keys
        or {"specversion", "data"} <= keys
    )


#: The CloudEvent ``type`` of DCSA eBL 3 notifications (``org.dcsa.transport-document.v3``,
#: ``org.dcsa.shipping-instructions.v3``), by their prefix: the version may change.
EVENT_TYPES = ("org.dcsa.transport-document.", "org.dcsa.shipping-instructions.")


def is_document(record: dict[str, Any]) -> bool:
    """Whether a record ``marks`` points to is a DCSA eBL document: any document, but a
    CloudEvent envelope (``specversion`` and ``data``) only of an eBL event type, as other
    CloudEvents (a Track & Trace notification, another standard's) carry other things.

    >>> is_document({"specversion": "1.0", "type": "org.dcsa.transport-document.v3", "data": {}})
    True
    >>> is_document({"specversion": "1.0", "type": "org.dcsa.track-and-trace.v3", "data": {}})
    False
    """
    keys = frozenset(record)
    if marks(keys - {"specversion", "data"}) or not {"specversion", "data"} <= keys:
        return True
    kind = record.get("type")
    return isinstance(kind, str) and kind.startswith(EVENT_TYPES)


# --- rows ----------------------------------------------------------------------------------


def flatten(record: dict[str, Any]) -> list[dict[str, Any]]:
    """The rows of one DCSA eBL 3 document (of ``SHAPE``): its document line, then its parties,
    equipment, seals and cargo items, each row with the document's fields (``docs/formats.md``).

    Values are passed on as given (a weight converted to kg): ``carrier_documents.validate``
    checks them and names a fault by the ``dcsa_path`` of its line.

    >>> [row["line_type"] for row in flatten({"transportDocumentReference": "TD1"})]
    ['DOCUMENT']
    """
    doc, kind, prefix = _unwrapped(record)
    transports = doc.get("transports") or {}
    items = doc.get("consignmentItems") or []
    bookings = [doc.get("carrierBookingReference")]
    bookings += [item.get("carrierBookingReference") for item in items]
    booked = list(dict.fromkeys(str(b) for b in bookings if b))
    td_ref, si_ref = doc.get("transportDocumentReference"), doc.get("shippingInstructionsReference")
    # Shipping instructions as first sent (the POST request) have no reference yet: they are
    # kept under their booking reference until the carrier gives one.
    reference = td_ref if kind == "TD" else si_ref or (booked[0] if len(booked) == 1 else None)
    voyages = transports.get("vesselVoyages") or []
    vessel = voyages[0] if voyages else {}  # the first: the vessel loading at the port of loading
    head: dict[str, Any] = {
        "document_kind": kind,
        "reference": reference,
        "transport_document_reference": td_ref,
        "shipping_instructions_reference": si_ref,
        "booking_references": LIST_SEP.join(booked) or None,
        "status": doc.get(
            "transportDocumentStatus" if kind == "TD" else "shippingInstructionsStatus"
        ),
        "carrier_code": doc.get("carrierCode"),
        "carrier_code_list": doc.get("carrierCodeListProvider"),
        "vessel_name": vessel.get("vesselName"),
        "vessel_imo": vessel.get("vesselIMONumber"),
        "voyage": vessel.get("carrierExportVoyageNumber"),
        "port_of_loading": _locode(transports, "portOfLoading"),
        "port_of_discharge": _locode(transports, "portOfDischarge"),
        "place_of_delivery": _locode(transports, "placeOfDelivery"),
        "planned_arrival": transports.get("plannedArrivalDate"),
        "issue_date": doc.get("issueDate"),
        "shipped_on_board_date": doc.get("shippedOnBoardDate"),
        "is_to_order": doc.get("isToOrder"),
        "cargo_in_ics2_zone": doc.get("isCargoDeliveredInICS2Zone"),
        "advance_manifest_filings": _joined(
            ":".join(
                str(f.get(k) or "")
                for k in (
                    "manifestTypeCode",
                    "countryCode",
                    "advanceManifestFilingsHouseBLPerformedBy",
                )
            )
            for f in doc.get("advanceManifestFilings") or []
        ),  # fmt: skip
        "declared_value": doc.get("declaredValue"),
        "declared_value_currency": doc.get("declaredValueCurrency"),
    }
    lines: list[dict[str, Any]] = [{"line_type": DOCUMENT_LINE, "dcsa_path": prefix.rstrip(".")}]
    lines += _parties(doc.get("documentParties") or {}, f"{prefix}documentParties")
    lines += _equipment(doc, prefix)
    lines += _cargo(items, prefix)
    return [head | line | {"line": number} for number, line in enumerate(lines)]


def reference_of(record: dict[str, Any]) -> str | None:
    """The reference a DCSA eBL document (bare, notified or amended) is filed under: its
    transport document or shipping instructions reference, else its one booking reference;
    None where it has none (or is no document).

    >>> reference_of({"data": {"transportDocument": {"transportDocumentReference": "TD1"}}})
    'TD1'
    """
    try:
        doc, kind, _ = _unwrapped(record)
    except Fault:
        return None
    key = "transportDocumentReference" if kind == "TD" else "shippingInstructionsReference"
    found = doc.get(key)
    if not isinstance(found, str) or not found:
        items = doc.get("consignmentItems")
        booked = {doc.get("carrierBookingReference")} | {
            item.get("carrierBookingReference")
            for item in (items if isinstance(items, list) else [])
            if isinstance(item, dict)
        }
        booked = {b for b in booked if isinstance(b, str) and b}
        found = booked.pop() if len(booked) == 1 else None
    return found


def _unwrapped(record: dict[str, Any]) -> tuple[dict[str, Any], str, str]:
    """The document in ``record``, its kind (``TD`` or ``SI``) and the path to it."""
    data = record.get("data")
    if isinstance(data, dict):
        if isinstance(data.get("transportDocument"), dict):
            return data["transportDocument"], "TD", "data.transportDocument."
        if isinstance(data.get("shippingInstructions"), dict):
            return data["shippingInstructions"], "SI", "data.shippingInstructions."
        raise Fault("data", "holds no transportDocument or shippingInstructions: nothing to store")
    if isinstance(record.get("amendedTransportDocument"), dict):
        return record["amendedTransportDocument"], "TD", "amendedTransportDocument."
    # A bare document: a transport document has the carrier's transports and status, shipping
    # instructions have neither.
    is_td = "transportDocumentStatus" in record or "transports" in record
    return record, "TD" if is_td else "SI", ""


def _locode(transports: dict[str, Any], key: str) -> Any:
    return (transports.get(key) or {}).get("UNLocationCode")


def _joined(values: Any) -> str | None:
    items = [str(v) for v in values if v]
    return LIST_SEP.join(items) if items else None


def _kg(weight: dict[str, Any] | None) -> Any:
    """A DCSA weight in kg; an unknown unit as text, which the number check refuses by name."""
    if not weight or weight.get("value") is None:
        return None
    unit = str(weight.get("unit") or "KGM").upper()
    if unit not in _KG_PER:
        return f"{weight['value']} {unit}"
    return float(weight["value"]) * _KG_PER[unit]


def _parties(parties: dict[str, Any], path: str) -> list[dict[str, Any]]:
    found: list[tuple[str, str, dict[str, Any]]] = [
        (role, f"{path}.{key}", parties[key])
        for key, role in SINGLE_PARTIES.items()
        if isinstance(parties.get(key), dict)
    ]
    found += [
        ("NOTIFY", f"{path}.notifyParties[{n}]", party)
        for n, party in enumerate(parties.get("notifyParties") or [])
    ]
    found += [
        (str(other.get("partyFunction") or "OTHER"), f"{path}.other[{n}].party", other["party"])
        for n, other in enumerate(parties.get("other") or [])
        if isinstance(other.get("party"), dict)
    ]
    return [_party(role, at, party) for role, at, party in found]


def _party(role: str, path: str, party: dict[str, Any]) -> dict[str, Any]:
    address = party.get("address") or {}
    lines = party.get("addressLines") or party.get("displayedAddress") or []
    taxes = party.get("taxLegalReferences") or []
    eori = [t.get("value") for t in taxes if str(t.get("type", "")).upper() == "EORI"]
    return {
        "line_type": PARTY,
        "dcsa_path": path,
        "party_role": role,
        "party_name": party.get("partyName"),
        "party_address": _address(address) or ("\n".join(lines) if lines else None),
        # a displayed address is free text: its country is not guessed from it
        "party_country": address.get("countryCode")
        or (address.get("UNLocationCode") or "")[:2]
        or None,
        "party_eori": eori[0] if eori else None,
        "party_tax_ids": _joined(
            f"{t.get('type')}:{t.get('countryCode') or ''}:{t.get('value')}"
            for t in taxes
            if str(t.get("type", "")).upper() != "EORI"
        ),
        "party_codes": _joined(
            f"{c.get('codeListName') or c.get('codeListProvider')}:{c.get('partyCode')}"
            for c in party.get("identifyingCodes") or []
        ),
    }


def _address(address: dict[str, Any]) -> str | None:
    street = " ".join(str(address[k]) for k in ("street", "streetNumber") if address.get(k))
    city = " ".join(str(address[k]) for k in ("postCode", "city") if address.get(k))
    parts = [p for p in (street, city, address.get("stateRegion")) if p]
    return ", ".join(str(p) for p in parts) or None


def _equipment(doc: dict[str, Any], prefix: str) -> list[dict[str, Any]]:
    """One row per utilized transport equipment, then one per seal of each."""
    loaded: dict[str, float] = {}  # the cargo weight stowed in each container, kg
    for item in doc.get("consignmentItems") or []:
        for cargo in item.get("cargoItems") or []:
            weight = _kg(cargo.get("cargoGrossWeight"))
            number = str(cargo.get("equipmentReference") or "").replace(" ", "").upper()
            if isinstance(weight, float) and number:
                loaded[number] = loaded.get(number, 0.0) + weight
    equipment: list[dict[str, Any]] = []
    seals: list[dict[str, Any]] = []
    for u, ute in enumerate(doc.get("utilizedTransportEquipments") or []):
        at = f"{prefix}utilizedTransportEquipments[{u}]"
        inner = ute.get("equipment") or {}
        number = inner.get("equipmentReference") or ute.get("equipmentReference")
        equipment.append(
            {
                "line_type": EQUIPMENT,
                "dcsa_path": at,
                "container_number": number,
                "size_type": inner.get("ISOEquipmentCode") or ute.get("ISOEquipmentCode"),
                "container_status": ute.get("emptyIndicatorCode"),
                "shipper_owned": ute.get("isShipperOwned"),
                "tare_kg": _kg(inner.get("tareWeight") or ute.get("tareWeight")),
                "cargo_gross_kg": loaded.get(str(number or "").replace(" ", "").upper()),
            }
        )
        for s, seal in enumerate(ute.get("seals") or []):
            seals.append(
                {
                    "line_type": SEAL,
                    "dcsa_path": f"{at}.seals[{s}]",
                    "container_number": number,
                    "seal_number": seal.get("number"),
                    "seal_source": seal.get("source"),
                    "seal_type": seal.get("type"),
                }
            )
    return equipment + seals


def _cargo(items: list[dict[str, Any]], prefix: str) -> list[dict[str, Any]]:
    """One row per cargo item (a consignment item over two containers is two rows)."""
    rows: list[dict[str, Any]] = []
    for i, item in enumerate(items):
        codes = dict.fromkeys(str(code)[:6] for code in item.get("HSCodes") or [])
        lines = item.get("descriptionOfGoodsForCustoms") or item.get("descriptionOfGoods") or []
        # a consignment item without cargo items (DCSA requires one) is refused by its first
        for c, cargo in enumerate(item.get("cargoItems") or [{}]):
            packaging = cargo.get("outerPackaging") or {}
            rows.append(
                {
                    "line_type": CARGO,
                    "dcsa_path": f"{prefix}consignmentItems[{i}].cargoItems[{c}]",
                    "consignment_item": i + 1,
                    "hs_codes": LIST_SEP.join(codes) or None,
                    "description": "\n".join(str(line) for line in lines) or None,
                    "packages": packaging.get("numberOfPackages"),
                    "package_code": packaging.get("packageCode"),
                    "gross_weight_kg": _kg(cargo.get("cargoGrossWeight")),
                    "container_number": cargo.get("equipmentReference"),
                }
            )
    return rows
