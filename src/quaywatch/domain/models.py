"""The cargo data quaywatch works on, as pydantic models for its boundaries.

A ``Consignment`` mirrors an entry summary declaration (ENS): who ships what, in which
containers, along which route. ``ContainerEvent`` follows the DCSA Track & Trace event model.
The JSON Lines intake format is exactly ``Consignment.model_dump_json()`` per line; the store
returns these models when asked for a record.
"""

from __future__ import annotations

from typing import Annotated, Self

from pydantic import AfterValidator, AwareDatetime, BaseModel, ConfigDict, Field, model_validator

from quaywatch.domain import identifiers as ids
from quaywatch.domain.vocabulary import (
    AeoStatus as AeoStatus,
    Concealment as Concealment,
    ControlResult as ControlResult,
    ControlType as ControlType,
    EmptyIndicator as EmptyIndicator,
    EquipmentEventCode as EquipmentEventCode,
    EventClassifier as EventClassifier,
    EventType as EventType,
    FacilityType as FacilityType,
    Irregularity as Irregularity,
    SealSource as SealSource,
    SealType as SealType,
    SeizureUnit as SeizureUnit,
    SelectedBy as SelectedBy,
    TransportEventCode as TransportEventCode,
)

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
