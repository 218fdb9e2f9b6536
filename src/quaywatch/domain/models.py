"""The cargo data quaywatch works on, as pydantic models for its boundaries.

A ``Consignment`` mirrors an entry summary declaration (ENS): who ships what, in which
containers, along which route. ``ContainerEvent`` follows the DCSA Track & Trace event model.
The JSON Lines intake format is exactly ``Consignment.model_dump_json()`` per line; the store
returns these models when asked for a record.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Self

from pydantic import AfterValidator, AwareDatetime, BaseModel, ConfigDict, Field, model_validator

from quaywatch.domain import identifiers as ids

ContainerNumber = Annotated[str, AfterValidator(ids.validate_container_number)]
ImoNumber = Annotated[str, AfterValidator(ids.validate_imo)]
CountryCode = Annotated[str, AfterValidator(ids.validate_country)]
CurrencyCode = Annotated[str, AfterValidator(ids.validate_currency)]
HsCode = Annotated[str, AfterValidator(ids.validate_hs6)]
Locode = Annotated[str, AfterValidator(ids.validate_locode)]
PortCode = Annotated[str, AfterValidator(ids.validate_port)]
Eori = Annotated[str, AfterValidator(ids.validate_eori)]
Scac = Annotated[str, AfterValidator(ids.validate_scac)]
SizeType = Annotated[str, AfterValidator(ids.validate_size_type)]
PackageType = Annotated[str, AfterValidator(ids.validate_package_type)]
Text = Annotated[str, Field(min_length=1, max_length=512)]
RecordId = Annotated[
    str, Field(min_length=1, max_length=35, pattern=r"^[A-Za-z0-9][A-Za-z0-9._/-]*$")
]


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
    """DCSA event type: something done to a container, or to the vessel carrying it."""

    EQUIPMENT = "EQUIPMENT"
    TRANSPORT = "TRANSPORT"


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


class TransportEventCode(StrEnum):
    """DCSA transport event codes: vessel arrival and departure."""

    ARRI = "ARRI"
    DEPA = "DEPA"


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


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", str_strip_whitespace=True)


class Party(_Model):
    """A trader named on a consignment (consignor, consignee, notify party or declarant)."""

    name: Text
    address: Text | None = None
    country: CountryCode
    eori: Eori | None = None
    aeo: AeoStatus = AeoStatus.NONE
    phone: Annotated[str, Field(max_length=64)] | None = None
    email: Annotated[str, Field(max_length=254, pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$")] | None = (
        None
    )


class Seal(_Model):
    """A seal on a container: number (at most 15 characters), who applied it, and its kind."""

    number: Annotated[str, Field(min_length=1, max_length=15)]
    source: SealSource
    type: SealType


class Container(_Model):
    """A container as declared on a consignment."""

    number: ContainerNumber
    size_type: SizeType
    status: EmptyIndicator = EmptyIndicator.LADEN
    seals: tuple[Seal, ...] = ()


class GoodsItem(_Model):
    """One line of goods: what it is (HS6), how much, what it is worth and where it comes from."""

    sequence: Annotated[int, Field(ge=1, le=9999)]
    hs6: HsCode
    description: Text
    packages: Annotated[int, Field(ge=0)]
    package_type: PackageType
    gross_mass_kg: Annotated[float, Field(gt=0)]
    value: Annotated[float, Field(ge=0)]
    currency: CurrencyCode
    origin_country: CountryCode
    container_number: ContainerNumber


class Vessel(_Model):
    """The ship carrying the consignment."""

    imo: ImoNumber
    name: Text | None = None


class Route(_Model):
    """The road a consignment travels: loading, ordered transshipment ports, discharge, delivery."""

    port_of_loading: PortCode
    transshipment_ports: tuple[PortCode, ...] = ()
    port_of_discharge: PortCode
    place_of_delivery: Locode | None = None

    @model_validator(mode="after")
    def _ports_differ(self) -> Self:
        if self.port_of_loading == self.port_of_discharge:
            raise ValueError("port of loading equals port of discharge")
        return self


class Consignment(_Model):
    """An entry summary declaration for one transport document (B/L), in one version.

    An amendment is the same ``consignment_id`` with a higher ``version``; quaywatch keeps all.
    """

    consignment_id: RecordId
    version: Annotated[int, Field(ge=1)] = 1
    transport_document: RecordId
    master_transport_document: RecordId | None = None
    lodged_at: AwareDatetime
    declarant: Party
    consignor: Party
    consignee: Party
    notify_party: Party | None = None
    carrier_scac: Scac
    vessel: Vessel
    voyage: Annotated[str, Field(max_length=35)] | None = None
    route: Route
    eta: AwareDatetime
    goods_items: Annotated[tuple[GoodsItem, ...], Field(min_length=1)]
    containers: Annotated[tuple[Container, ...], Field(min_length=1)]

    @model_validator(mode="after")
    def _items_fit_containers(self) -> Self:
        sequences = [item.sequence for item in self.goods_items]
        if len(set(sequences)) != len(sequences):
            raise ValueError("goods item sequence numbers repeat")
        declared = {container.number for container in self.containers}
        if len(declared) != len(self.containers):
            raise ValueError("a container is declared twice")
        if {item.container_number for item in self.goods_items} != declared:
            raise ValueError("goods items and containers name different containers")
        return self


class ContainerEvent(_Model):
    """A DCSA Track & Trace event about a container or the vessel carrying it."""

    event_id: Annotated[str, Field(min_length=1, max_length=100)]
    event_type: EventType
    classifier: EventClassifier
    event_code: EquipmentEventCode | TransportEventCode
    event_time: AwareDatetime
    created_time: AwareDatetime
    un_locode: Locode
    facility_type: FacilityType | None = None
    container_number: ContainerNumber | None = None
    empty_indicator: EmptyIndicator | None = None
    seals: tuple[Seal, ...] = ()
    vessel_imo: ImoNumber | None = None
    is_transshipment: bool = False

    @model_validator(mode="after")
    def _code_matches_type(self) -> Self:
        if self.event_type is EventType.EQUIPMENT:
            if not isinstance(self.event_code, EquipmentEventCode):
                raise ValueError(f"{self.event_code} is not an equipment event code")
            if self.container_number is None:
                raise ValueError("an equipment event names its container")
        elif not isinstance(self.event_code, TransportEventCode):
            raise ValueError(f"{self.event_code} is not a transport event code")
        return self


__all__ = [
    "AeoStatus",
    "Consignment",
    "Container",
    "ContainerEvent",
    "EmptyIndicator",
    "EquipmentEventCode",
    "EventClassifier",
    "EventType",
    "FacilityType",
    "GoodsItem",
    "Party",
    "Route",
    "Seal",
    "SealSource",
    "SealType",
    "TransportEventCode",
    "Vessel",
]
