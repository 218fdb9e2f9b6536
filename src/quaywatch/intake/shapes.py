"""The JSON shape each record kind is read in, for the front door (``decode.check_shape``).

Only what a kind's ``flatten`` reads is listed. A consignment or an outcome is quaywatch's own
format, so a key it does not list is refused, naming it (a misspelt ``notify_party`` would
otherwise lose its value without a word); a DCSA event carries many fields quaywatch has no use
for, which are passed over (their depth still checked). Text must be a JSON string (a number where text is read is refused: an
HS code or an IMO number written as a number has already lost what it was); a number may also
be a string holding one, a flag ``true``/``false`` or a string; any of them may be null.
"""

from __future__ import annotations

from quaywatch.intake.consignments import PARTY_FIELDS, ROLES
from quaywatch.intake.decode import FLAG, NUMBER, TEXT, Obj, Seq
from quaywatch.intake.outcomes import COLUMNS as OUTCOME_COLUMNS

_PARTY = Obj(dict.fromkeys(PARTY_FIELDS, TEXT), closed=True)

CONSIGNMENT = Obj(
    {
        **dict.fromkeys(
            ("consignment_id", "transport_document", "master_transport_document", "lodged_at",
             "carrier_scac", "voyage", "eta"),
            TEXT,
        ),
        "version": NUMBER,
        **dict.fromkeys(ROLES, _PARTY),
        "vessel": Obj({"imo": TEXT, "name": TEXT}, closed=True),
        "route": Obj(
            {
                **dict.fromkeys(("port_of_loading", "port_of_discharge", "place_of_delivery"), TEXT),
                "transshipment_ports": Seq(TEXT),
            },
            closed=True,
        ),
        "goods_items": Seq(
            Obj(
                {
                    **dict.fromkeys(
                        ("hs6", "description", "package_type", "currency", "origin_country",
                         "container_number"),
                        TEXT,
                    ),
                    **dict.fromkeys(
                        ("sequence", "packages", "gross_mass_kg", "value"), NUMBER
                    ),
                },
                closed=True,
            )
        ),
        "containers": Seq(
            Obj(
                {
                    **dict.fromkeys(("number", "size_type", "status"), TEXT),
                    "seals": Seq(
                        Obj(dict.fromkeys(("number", "source", "type"), TEXT), closed=True)
                    ),
                },
                closed=True,
            )
        ),
    },
    closed=True,
)  # fmt: skip

_LOCATION = {"UNLocationCode": TEXT, "facilityTypeCode": TEXT}

EVENT = Obj(
    {
        **dict.fromkeys(
            ("eventID", "eventType", "eventClassifierCode", "equipmentEventTypeCode",
             "transportEventTypeCode", "shipmentEventTypeCode", "eventDateTime",
             "eventCreatedDateTime",
             "equipmentReference", "emptyIndicatorCode"),
            TEXT,
        ),
        "isTransshipmentMove": FLAG,
        "eventLocation": Obj(_LOCATION),
        "transportCall": Obj({**_LOCATION, "vessel": Obj({"vesselIMONumber": TEXT})}),
        "seals": Seq(Obj(dict.fromkeys(("sealNumber", "sealSource", "sealType"), TEXT))),
        "documentReferences": Seq(
            Obj(dict.fromkeys(("documentReferenceType", "documentReferenceValue"), TEXT))
        ),
    }
)  # fmt: skip

_REFERENCE = Obj({"typeCode": TEXT, "reference": TEXT})

#: A DCSA Track & Trace 3.x event (``events.flatten_v3`` reads it).
EVENT_V3 = Obj(
    {
        **dict.fromkeys(("eventID", "eventDateTime", "eventUpdatedDateTime"), TEXT),
        "isRetracted": FLAG,
        "eventClassification": Obj(
            dict.fromkeys(
                ("eventTypeCode", "eventClassifierCode", "equipmentEventTypeCode",
                 "transportEventTypeCode", "shipmentEventTypeCode", "iotEventTypeCode",
                 "reeferEventTypeCode"),
                TEXT,
            )
        ),
        "eventLocation": Obj(
            {**_LOCATION, "geoCoordinate": Obj(dict.fromkeys(("latitude", "longitude"), NUMBER))}
        ),
        "equipmentDetails": Obj(
            {
                **dict.fromkeys(("equipmentReference", "emptyIndicatorCode", "movementType"), TEXT),
                "seals": Seq(Obj(dict.fromkeys(("number", "source", "type"), TEXT))),
            }
        ),
        "transportDetails": Obj(
            {"transportCall": Obj({"vesselTransport": Obj({"vesselIMONumber": TEXT})})}
        ),
        "shipmentDetails": Obj(
            {"documentReference": _REFERENCE, "additionalDocumentReferences": Seq(_REFERENCE)}
        ),
        "iotDetails": Obj({"iotEventCode": TEXT}),
        "reeferDetails": Obj(
            {
                "temperatureUnit": TEXT,
                **dict.fromkeys(("internalSetpointTemperature", "ambientMeasuredTemperature"), NUMBER),
                "temperatureProbeMeasurements": Seq(Obj({"measuredTemperatureValue": NUMBER})),
            }
        ),
    }
)  # fmt: skip

_OUTCOME_NUMBERS = ("version", "propensity", "revenue_recovered_eur", "seizure_quantity")
OUTCOME = Obj(
    {name: NUMBER if name in _OUTCOME_NUMBERS else TEXT for name in OUTCOME_COLUMNS}, closed=True
)
