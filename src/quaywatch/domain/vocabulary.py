"""The vocabularies of quaywatch's records, as string enums with no heavy imports.

Kept apart from ``models`` so that code which only needs a vocabulary (the command line's
choices, above all) loads in milliseconds; ``models`` re-exports every name.
"""

from __future__ import annotations

from enum import StrEnum


class AeoStatus(StrEnum):
    """Authorised Economic Operator status: customs simplifications (C), security (S), both (F)."""

    NONE = "NONE"
    AEOC = "AEOC"
    AEOS = "AEOS"
    AEOF = "AEOF"


class SealSource(StrEnum):
    """Who applied a seal (DCSA): carrier, shipper, phytosanitary, veterinary, customs."""

    CAR = "CAR"
    SHI = "SHI"
    PHY = "PHY"
    VET = "VET"
    CUS = "CUS"


class SealType(StrEnum):
    """Kind of seal (DCSA): keyless padlock, bolt, wire."""

    KLP = "KLP"
    BLT = "BLT"
    WIR = "WIR"


class EmptyIndicator(StrEnum):
    """Whether a container is laden or empty."""

    LADEN = "LADEN"
    EMPTY = "EMPTY"


class EventType(StrEnum):
    """DCSA event type: something done to a container, or to the vessel carrying it; a step
    of a shipment's documents; what a container's own sensors report (Track & Trace 3: IoT
    door and location, reefer temperatures)."""

    EQUIPMENT = "EQUIPMENT"
    TRANSPORT = "TRANSPORT"
    SHIPMENT = "SHIPMENT"
    IOT = "IOT"
    REEFER = "REEFER"


class EventClassifier(StrEnum):
    """DCSA classifier: actual, planned or estimated."""

    ACT = "ACT"
    PLN = "PLN"
    EST = "EST"


class EquipmentEventCode(StrEnum):
    """DCSA equipment event codes, including the customs selection and release codes."""

    LOAD = "LOAD"
    DISC = "DISC"
    GTIN = "GTIN"
    GTOT = "GTOT"
    STUF = "STUF"
    STRP = "STRP"
    PICK = "PICK"
    DROP = "DROP"
    INSP = "INSP"
    RSEA = "RSEA"
    RMVD = "RMVD"
    CUSS = "CUSS"
    CUSI = "CUSI"
    CUSR = "CUSR"
    # Track & Trace 3: available for drop-off or pick-up, crossed (a border).
    AVDO = "AVDO"
    AVPU = "AVPU"
    CROS = "CROS"


class TransportEventCode(StrEnum):
    """DCSA transport event codes: vessel arrival and departure."""

    ARRI = "ARRI"
    DEPA = "DEPA"


class ShipmentEventCode(StrEnum):
    """DCSA shipment event codes: the state of a booking, shipping instruction or transport
    document (Track & Trace 2.2 and 3.x)."""

    AMCF = "AMCF"
    AMCN = "AMCN"
    AMDC = "AMDC"
    AMPR = "AMPR"
    AMRE = "AMRE"
    APPR = "APPR"
    CACF = "CACF"
    CADC = "CADC"
    CANC = "CANC"
    CARE = "CARE"
    CMPL = "CMPL"
    CONF = "CONF"
    DECL = "DECL"
    DRFT = "DRFT"
    HOLD = "HOLD"
    ISSU = "ISSU"
    PENA = "PENA"
    PENC = "PENC"
    PENM = "PENM"
    PENU = "PENU"
    PSAM = "PSAM"
    PSDL = "PSDL"
    RECE = "RECE"
    REJE = "REJE"
    RELS = "RELS"
    REQS = "REQS"
    SUAM = "SUAM"
    SUBM = "SUBM"
    SUDL = "SUDL"
    SURR = "SURR"
    UPCF = "UPCF"
    UPCN = "UPCN"
    UPDC = "UPDC"
    UPDT = "UPDT"
    UPRE = "UPRE"
    VOID = "VOID"


class SensorEventCode(StrEnum):
    """DCSA Track & Trace 3 IoT and reefer event codes: detected (IoT), measured or adjusted
    (reefer)."""

    DETC = "DETC"
    MEAS = "MEAS"
    ADJU = "ADJU"


class IotCode(StrEnum):
    """What a container's IoT device detected (DCSA ``iotEventCode``): door closed, door
    opened, location update."""

    DRC = "DRC"
    DRO = "DRO"
    LOC = "LOC"


class TemperatureUnit(StrEnum):
    """Unit of a reefer's temperatures: Celsius or Fahrenheit."""

    CEL = "CEL"
    FAH = "FAH"


class FacilityType(StrEnum):
    """DCSA facility type codes."""

    BOCR = "BOCR"
    BORD = "BORD"
    BRTH = "BRTH"
    CLOC = "CLOC"
    COFS = "COFS"
    DEPO = "DEPO"
    INTE = "INTE"
    OFFD = "OFFD"
    PBPL = "PBPL"
    POTE = "POTE"
    RAMP = "RAMP"
    WAYP = "WAYP"


class ControlType(StrEnum):
    """How a container was controlled: papers only, X-ray (NII) scan, or opened and examined."""

    DOCUMENTARY = "DOCUMENTARY"
    SCAN = "SCAN"
    PHYSICAL = "PHYSICAL"


class SelectedBy(StrEnum):
    """What chose a control: the random sample, a risk rule, an officer, or a risk model."""

    RANDOM = "RANDOM"
    RULE = "RULE"
    OFFICER = "OFFICER"
    MODEL = "MODEL"


class Lane(StrEnum):
    """Selectivity lanes: green (release), yellow (documentary check), orange (NII scan), red
    (physical examination), blue (released, for post-clearance audit)."""

    GREEN = "green"
    YELLOW = "yellow"
    ORANGE = "orange"
    RED = "red"
    BLUE = "blue"


class OverrideReason(StrEnum):
    """Why a targeting officer moved a consignment to another lane than the selection chose
    (``OVERRIDE_REASONS`` says what each means)."""

    NEW_INTELLIGENCE = "NEW_INTELLIGENCE"
    PARTNER_REQUEST = "PARTNER_REQUEST"
    DOCUMENTS_CLARIFIED = "DOCUMENTS_CLARIFIED"
    CONTROLLED_ELSEWHERE = "CONTROLLED_ELSEWHERE"
    AEO_FACILITATION = "AEO_FACILITATION"
    OPERATIONAL = "OPERATIONAL"
    OFFICER_JUDGEMENT = "OFFICER_JUDGEMENT"


#: What each lane override reason means, as the officer's screen explains it.
OVERRIDE_REASONS: dict[OverrideReason, str] = {
    OverrideReason.NEW_INTELLIGENCE: (
        "Information received after the selection (an alert, a tip-off, a seizure on a related "
        "consignment) changes the risk"
    ),
    OverrideReason.PARTNER_REQUEST: (
        "Another administration or agency (a partner customs service, the police, a health or "
        "veterinary service) asked for the control, or for it to be lifted"
    ),
    OverrideReason.DOCUMENTS_CLARIFIED: (
        "The declarant supplied documents or corrections that answer the risk the selection saw"
    ),
    OverrideReason.CONTROLLED_ELSEWHERE: (
        "The goods are or were controlled elsewhere (at transshipment, at another office, by "
        "another agency): a second control adds nothing"
    ),
    OverrideReason.AEO_FACILITATION: (
        "The trader is an authorised economic operator and the facilitation it is entitled to "
        "applies to this control"
    ),
    OverrideReason.OPERATIONAL: (
        "The control cannot be made as planned at this terminal (scanner out of service, no "
        "examination bay): another control replaces it"
    ),
    OverrideReason.OFFICER_JUDGEMENT: (
        "The officer's own judgement of the risk, explained in the note (a note is required)"
    ),
}


class ControlResult(StrEnum):
    """The result of a control: nothing found, an irregularity (duties, papers), or a seizure."""

    COMPLIANT = "COMPLIANT"
    IRREGULAR = "IRREGULAR"
    SEIZURE = "SEIZURE"


class Irregularity(StrEnum):
    """What a control found wrong.

    VALUE (undervaluation), CLASSIFICATION (wrong tariff heading), QUANTITY and DOCUMENTS
    (minor discrepancies), IPR (counterfeit goods), DRUGS, CITES (protected species and timber).
    """

    VALUE = "VALUE"
    CLASSIFICATION = "CLASSIFICATION"
    QUANTITY = "QUANTITY"
    DOCUMENTS = "DOCUMENTS"
    IPR = "IPR"
    DRUGS = "DRUGS"
    CITES = "CITES"
    OTHER = "OTHER"


class SeizureUnit(StrEnum):
    """Unit of a seized quantity (UN/ECE Recommendation 20): kilogram, articles, cubic metre."""

    KGM = "KGM"
    NAR = "NAR"
    MTQ = "MTQ"


class Concealment(StrEnum):
    """Where seized goods were hidden.

    RIP_ON_RIP_OFF: a bag put behind the doors of a legitimate container, meant to be taken out
    before customs; FALSE_WALL: a built-in hide; REEFER_UNIT: inside the refrigeration machinery;
    MIXED_IN_CARGO: among or inside the declared goods; NOT_CONCEALED: declared openly as
    something else or without the permit it needs.
    """

    RIP_ON_RIP_OFF = "RIP_ON_RIP_OFF"
    FALSE_WALL = "FALSE_WALL"
    REEFER_UNIT = "REEFER_UNIT"
    MIXED_IN_CARGO = "MIXED_IN_CARGO"
    NOT_CONCEALED = "NOT_CONCEALED"


class Verdict(StrEnum):
    """The image analyst's reading of an NII scan."""

    CLEAR = "clear"
    SUSPICIOUS = "suspicious"


class RecordKind(StrEnum):
    """The kinds of input quaywatch imports: declarations, container events, control results,
    and carriers' documents (DCSA eBL transport documents and shipping instructions)."""

    CONSIGNMENTS = "consignments"
    EVENTS = "events"
    OUTCOMES = "outcomes"
    DOCUMENTS = "documents"


class KnownAt(StrEnum):
    """When an imported container event counts as known to an assessment as of a past time.

    ``RECEIVED`` (the default): when quaywatch stored it, so an assessment never sees an event
    it could not have had; ``CREATED``: the event's own creation time (DCSA
    ``eventCreatedDateTime``), for a history loaded after the fact that a backtest should see
    as it would have arrived. ``docs/intake.md`` explains the leakage risk of the second.
    """

    RECEIVED = "received"
    CREATED = "created"


#: Relative difference between the gross weight a consignment declares for a container and the
#: one its carrier filed that is tolerated before it counts as a discrepancy (5 %).
WEIGHT_TOLERANCE = 0.05
