"""Request and response bodies of the API that are not a service's own result type.

Service results (frozen dataclasses) are returned as they are; FastAPI turns them into JSON and
their schema into the OpenAPI document. What is here is the HTTP side only: receipts of
submissions, request bodies with several fields, and the examples of the OpenAPI document.
"""

from __future__ import annotations

from functools import cache
from typing import Any, Literal

from pydantic import BaseModel, Field

from quaywatch.api.problems import RecordProblem
from quaywatch.domain.models import Consignment
from quaywatch.services.assessments import Assessment

EXAMPLE_CONSIGNMENT: dict[str, Any] = {
    "consignment_id": "261206-BEANR-0000001",
    "version": 1,
    "transport_document": "MAEU0300000001",
    "lodged_at": "2026-12-05T10:00:00+00:00",
    "declarant": {"name": "Delta Fruit Co", "address": "677 Harbour Road, Antwerp",
                  "country": "BE", "aeo": "NONE"},
    "consignor": {"name": "Royal Textiles SRL", "address": "776 Harbour Road, Veracruz",
                  "country": "MX", "aeo": "NONE"},
    "consignee": {"name": "Delta Fruit Co", "address": "677 Harbour Road, Antwerp",
                  "country": "BE", "aeo": "NONE"},
    "carrier_scac": "MAEU",
    "vessel": {"imo": "9628946", "name": "DELTA 5"},
    "voyage": "005W",
    "route": {"port_of_loading": "MXVER", "transshipment_ports": [],
              "port_of_discharge": "BEANR", "place_of_delivery": "BEANR"},
    "eta": "2026-12-20T15:00:00+00:00",
    "goods_items": [{"sequence": 1, "hs6": "080450", "description": "Fresh mangoes",
                     "packages": 227, "package_type": "CT", "gross_mass_kg": 22477.1,
                     "value": 54869.25, "currency": "EUR", "origin_country": "MX",
                     "container_number": "MAEU2627091"}],
    "containers": [{"number": "MAEU2627091", "size_type": "45R1", "status": "LADEN",
                    "seals": [{"source": "SHI", "type": "KLP", "number": "SL23490025"}]}],
}  # fmt: skip

EXAMPLE_EVENT: dict[str, Any] = {
    "eventID": "MAEU2627091-DISC-BEANR-2026122015",
    "eventType": "EQUIPMENT",
    "eventClassifierCode": "ACT",
    "eventDateTime": "2026-12-20T15:00:00+01:00",
    "eventCreatedDateTime": "2026-12-20T15:01:00+01:00",
    "equipmentEventTypeCode": "DISC",
    "equipmentReference": "MAEU2627091",
    "ISOEquipmentCode": "45R1",
    "emptyIndicatorCode": "LADEN",
    "isTransshipmentMove": False,
    "eventLocation": {"UNLocationCode": "BEANR"},
    "transportCall": {"UNLocationCode": "BEANR", "facilityTypeCode": "POTE",
                      "vessel": {"vesselIMONumber": "9628946"}},
    "seals": [{"sealNumber": "SL23490025", "sealSource": "SHI", "sealType": "KLP"}],
    "documentReferences": [{"documentReferenceType": "TRD",
                            "documentReferenceValue": "MAEU0300000001"}],
}  # fmt: skip

EXAMPLE_OUTCOME: dict[str, Any] = {
    "control_id": "ANR-2026-000101", "consignment_id": "261206-BEANR-0000001", "version": 1,
    "container_number": "MAEU2627091", "control_type": "SCAN", "selected_by": "RULE",
    "propensity": 0.1089, "controlled_at": "2026-12-21T09:30:00+01:00",
    "known_at": "2026-12-21T16:00:00+01:00", "result": "NO_FINDING",
}  # fmt: skip

#: A DCSA eBL 3 transport document, the carrier's filing of ``EXAMPLE_CONSIGNMENT``'s B/L.
EXAMPLE_DOCUMENT: dict[str, Any] = {
    "transportDocumentReference": "MAEU0300000001",
    "transportDocumentStatus": "ISSUED",
    "carrierCode": "MAEU",
    "carrierCodeListProvider": "NMFTA",
    "issueDate": "2026-12-05",
    "shippedOnBoardDate": "2026-12-04",
    "isCargoDeliveredInICS2Zone": True,
    "transports": {"plannedArrivalDate": "2026-12-20",
                   "portOfLoading": {"UNLocationCode": "MXVER"},
                   "portOfDischarge": {"UNLocationCode": "BEANR"},
                   "vesselVoyages": [{"vesselName": "DELTA 5",
                                      "carrierExportVoyageNumber": "005W"}]},
    "documentParties": {
        "shipper": {"partyName": "Royal Textiles SRL",
                    "address": {"street": "Harbour Road", "streetNumber": "776",
                                "city": "Veracruz", "countryCode": "MX"}},
        "consignee": {"partyName": "Delta Fruit Co",
                      "address": {"street": "Harbour Road", "streetNumber": "677",
                                  "city": "Antwerp", "countryCode": "BE"}},
    },
    "consignmentItems": [{
        "carrierBookingReference": "MAEU261206",
        "descriptionOfGoods": ["Fresh mangoes"],
        "HSCodes": ["080450"],
        "cargoItems": [{"equipmentReference": "MAEU2627091",
                        "cargoGrossWeight": {"value": 22477.1, "unit": "KGM"},
                        "outerPackaging": {"numberOfPackages": 227, "packageCode": "CT"}}],
    }],
    "utilizedTransportEquipments": [{
        "equipment": {"equipmentReference": "MAEU2627091", "ISOEquipmentCode": "45R1"},
        "isShipperOwned": False,
        "seals": [{"number": "SL23490025", "source": "SHI"}],
    }],
}  # fmt: skip

#: An assessment as the API gives it (``services.assessments.Assessment``).
EXAMPLE_ASSESSMENT: dict[str, Any] = {
    "consignment_id": "261206-BEANR-0000001", "version": 1,
    "assessed_at": "2026-12-05T10:00:02Z", "run_id": "3f1c9e0a-5b7d-4c2e-9a61-0d2b8e7f4a10",
    "model_version": "20261201T060000Z-4f2a9c1e", "profile_version": "starter-3",
    "reference_version": "2024-03c605c230e0",
    "probability": 0.412, "model_probability": 0.366, "score": 41.2,
    "revenue_at_stake_eur": 9120.5, "lane_floor": None, "referral": None, "critical": False,
    "explained": True,
    "reasons": [{"code": "value_ratio", "text": "value per kg 3× below the HS 0804.50 median",
                 "weight": 0.21, "source": "model"}],
}  # fmt: skip


def assessments_example(description: str) -> dict[int | str, dict[str, Any]]:
    """``responses`` of an operation answering a list of assessments, with an example."""
    return {
        200: {
            "description": description,
            "content": {"application/json": {"example": [EXAMPLE_ASSESSMENT]}},
        }
    }


_OUTCOME_FIELDS = {
    "control_id": {"type": "string", "maxLength": 35},
    "consignment_id": {"type": "string", "maxLength": 35},
    "version": {"type": "integer", "minimum": 1},
    "container_number": {"type": "string"},
    "control_type": {"type": "string"},
    "selected_by": {"type": "string"},
    "propensity": {"type": "number"},
    "controlled_at": {"type": "string", "format": "date-time"},
    "known_at": {"type": "string", "format": "date-time"},
    "result": {"type": "string"},
    "irregularity": {"type": "string"},
    "revenue_recovered_eur": {"type": "number"},
    "seizure_goods": {"type": "string"},
    "seizure_quantity": {"type": "number"},
    "seizure_unit": {"type": "string"},
    "seizure_hs6": {"type": "string"},
    "concealment": {"type": "string"},
}


@cache
def component_schemas() -> dict[str, Any]:
    """Schemas the request bodies refer to, for the OpenAPI document's components."""
    found = Consignment.model_json_schema(ref_template="#/components/schemas/{model}")
    schemas: dict[str, Any] = dict(found.pop("$defs", {}))
    schemas["Consignment"] = found
    schemas["ControlOutcomeRecord"] = {
        "type": "object",
        "description": "A control's outcome, as in a control outcomes file (docs/formats.md).",
        "properties": _OUTCOME_FIELDS,
        "required": ["control_id", "consignment_id", "control_type", "selected_by",
                     "propensity", "controlled_at", "known_at", "result"],
    }  # fmt: skip
    schemas["DcsaDocument"] = {
        "type": "object",
        "description": "A DCSA eBL 3 transport document or shipping instructions, bare, in a "
        "notification (data.transportDocument, data.shippingInstructions) or an amendment "
        "(amendedTransportDocument), as DCSA publishes it (docs/formats.md).",
        "additionalProperties": True,
    }
    schemas["DcsaEvent"] = {
        "type": "object",
        "description": "A DCSA Track & Trace event (2.2 or 3.x fields), as DCSA publishes it.",
        "additionalProperties": True,
    }
    return schemas


def one_or_many(name: str, example: dict[str, Any], wrapper: str | None = None) -> dict[str, Any]:
    """``openapi_extra`` of an operation whose body is one ``name`` or an array of them."""
    ref = {"$ref": f"#/components/schemas/{name}"}
    choices: list[dict[str, Any]] = [ref, {"type": "array", "items": ref, "maxItems": 1000}]
    if wrapper:
        choices.append({"type": "object", "properties": {wrapper: choices[1]},
                        "required": [wrapper]})  # fmt: skip
    return {
        "requestBody": {
            "required": True,
            "content": {
                "application/json": {
                    "schema": {"oneOf": choices} if not wrapper else {"anyOf": choices},
                    "examples": {
                        "one": {"summary": f"One {name}", "value": example},
                        "several": {"summary": f"An array of {name}", "value": [example]},
                    },
                }
            },
        }
    }


class ConsignmentReceipt(BaseModel):
    """What became of one submitted consignment, and its assessment."""

    consignment_id: str
    status: Literal["new", "unchanged"]
    assessment: Assessment | None = Field(
        description="Its assessment with reasons; null when no model is current yet."
    )
    note: str | None = None


class RecordWarning(BaseModel):
    """A record stored with a declared value set aside (a data-quality warning)."""

    record_id: str | None
    field: str = Field(description="The field set aside: stored empty.")
    reason: str = Field(
        description="Why, with the value declared.",
        examples=["IMO check digit does not match (declared 7654321): the event is stored "
                  "without a vessel IMO number"],
    )  # fmt: skip


class SubmissionReceipt(BaseModel):
    """What became of the records of a submission."""

    batch_id: str
    read: int
    new: int
    unchanged: int
    quarantined: int
    skipped: dict[str, int] = Field(
        default_factory=dict,
        description="Valid records acknowledged but not stored, by what they are (DCSA "
        "shipment events, retracted events): quaywatch has no use for them yet.",
    )
    format: str | None = Field(None, description="The format the records were read in.")
    reference_version: str | None = Field(
        None,
        description="The reference data (ports, HS codes, tariff and exchange rates) the "
        "records were checked with, as recorded on the import batch (docs/reference-data.md).",
        examples=["2024-03c605c230e0"],
    )
    warnings: list[RecordWarning] = Field(
        default_factory=list,
        description="Records stored with a declared value set aside (the first 100): a vessel "
        "IMO number whose check digit does not match is stored empty (docs/formats.md).",
    )
    rejected: list[RecordProblem] = Field(
        description="The quarantined records (the first 100), each with its quarantine entry."
    )
    assessments: list[Assessment] = Field(
        default_factory=list, description="Consignments only: the stored ones' assessments."
    )
    note: str | None = None
