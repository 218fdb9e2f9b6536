"""The messages administrations exchange, version 1, as pydantic models.

Every message is ``{"header": ..., "body": ...}``: the header says who sent it to whom, when,
until when it is valid and what it answers; the body is one of the seven types below. Names
follow EU ICS2 where it has one: MRN, transport document reference (master / house), container
number (ISO 6346), referral request reference and type (RFI, RFS, DNL), screening method,
office of control. The JSON schemas shipped in ``schemas/`` are generated from these models
(``schema_of``); a test keeps them equal.

A message type is known to a receiver by its payload type, one per type and version:
``application/vnd.quaywatch.seizure-report.v1+json``. A new version adds a new payload type and
model; a receiver refuses a version it does not know (``receive.Reason.UNKNOWN_SCHEMA``).

Personal data (names, addresses, phones and EORI numbers of persons: a natural person's EORI
identifies them) travel only in ``Party``'s ``name``, ``address``, ``phone`` and ``eori``
(``PERSONAL_FIELDS``): de-identification (``protection``) replaces exactly those, an EORI by its
keyed hash (64 hex digits), which ``Party.eori`` therefore also takes.
"""

from __future__ import annotations

import json
from enum import StrEnum
from importlib import resources
from typing import Annotated, Any, Literal, Self

from pydantic import (
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    model_validator,
)

from quaywatch.domain.models import (
    Concealment,
    ContainerNumber,
    ControlResult as ControlOutcome,
    ControlType,
    CountryCode,
    Eori,
    HsCode,
    ImoNumber,
    Locode,
    SeizureUnit,
    Text,
)

#: Version of every message model in this module.
VERSION = 1
#: An administration's code: a UN/LOCODE of its port (BEANR) or a customs office reference.
ADMINISTRATION_RE = r"^[A-Z]{2}[A-Z0-9]{3,15}$"
Administration = Annotated[str, Field(pattern=ADMINISTRATION_RE)]
MessageId = Annotated[
    str, Field(pattern=r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
]
#: ICS2 master reference number: two digits of the year, the country, 14 letters or digits.
Mrn = Annotated[str, Field(pattern=r"^[0-9]{2}[A-Z]{2}[A-Z0-9]{14}$")]
#: A customs office reference number (COL), e.g. BE212000.
OfficeCode = Annotated[str, Field(pattern=r"^[A-Z]{2}[A-Z0-9]{6}$")]
Sha256 = Annotated[str, Field(pattern=r"^[0-9a-f]{64}$")]
Reference = Annotated[
    str, Field(min_length=1, max_length=70, pattern=r"^[A-Za-z0-9][A-Za-z0-9._/-]*$")
]
LongText = Annotated[str, Field(min_length=1, max_length=4000)]

#: The fields of a ``Party`` that hold personal data.
PERSONAL_FIELDS = ("name", "address", "phone", "eori")


class MessageType(StrEnum):
    """The message types, named as in their payload type."""

    RISK_ANALYSIS_RESULT = "risk-analysis-result"
    REFERRAL_REQUEST = "referral-request"
    REFERRAL_RESPONSE = "referral-response"
    CONTROL_RESULT = "control-result"
    SEIZURE_REPORT = "seizure-report"
    RISK_PROFILE_SHARE = "risk-profile-share"
    FEEDBACK = "feedback"


class RiskArea(StrEnum):
    """The risk areas of the EU common risk management framework."""

    SAFETY_SECURITY = "SAFETY_SECURITY"
    FINANCIAL = "FINANCIAL"
    DRUGS = "DRUGS"
    IPR = "IPR"
    ENVIRONMENT = "ENVIRONMENT"
    HEALTH = "HEALTH"
    PROHIBITIONS = "PROHIBITIONS"


class AnalysisResult(StrEnum):
    """What the sender's risk analysis concluded for the next port."""

    CONTROL_AT_FIRST_ENTRY = "CONTROL_AT_FIRST_ENTRY"
    PASS_TO_NEXT_PORT = "PASS_TO_NEXT_PORT"
    NO_ACTION = "NO_ACTION"


class ReferralType(StrEnum):
    """ICS2 referral types: request for information, request for screening, do not load."""

    RFI = "RFI"
    RFS = "RFS"
    DNL = "DNL"


class ScreeningMethod(StrEnum):
    """ICS2 screening method codes (EU 2015/1998): physical search, visual check, explosive
    detection dogs, explosive trace detection, X-ray, explosive detection system, metal
    detection, any other method; plus NII for a container scanner."""

    PHS = "PHS"
    VCK = "VCK"
    EDD = "EDD"
    ETD = "ETD"
    XRY = "XRY"
    EDS = "EDS"
    CMD = "CMD"
    AOM = "AOM"
    NII = "NII"


class ReferralOutcome(StrEnum):
    """How a referral was answered."""

    INFORMATION_PROVIDED = "INFORMATION_PROVIDED"
    SCREENED_NO_THREAT = "SCREENED_NO_THREAT"
    SCREENED_THREAT_FOUND = "SCREENED_THREAT_FOUND"
    NOT_LOADED = "NOT_LOADED"
    DECLINED = "DECLINED"


class DetectionMethod(StrEnum):
    """What found the goods."""

    RISK_PROFILE = "RISK_PROFILE"
    RISK_MODEL = "RISK_MODEL"
    NII_SCAN = "NII_SCAN"
    DOG = "DOG"
    PHYSICAL_EXAMINATION = "PHYSICAL_EXAMINATION"
    INTELLIGENCE = "INTELLIGENCE"
    PARTNER_ALERT = "PARTNER_ALERT"
    RANDOM = "RANDOM"
    OTHER = "OTHER"


class ActionTaken(StrEnum):
    """What the receiver did with a message (``Feedback``)."""

    CONTROLLED = "CONTROLLED"
    NOT_CONTROLLED = "NOT_CONTROLLED"
    USED_IN_PROFILE = "USED_IN_PROFILE"
    FORWARDED = "FORWARDED"
    NO_ACTION = "NO_ACTION"


class FeedbackResult(StrEnum):
    """The result of what was done."""

    NO_FINDINGS = "NO_FINDINGS"
    IRREGULARITY = "IRREGULARITY"
    SEIZURE = "SEIZURE"
    PENDING = "PENDING"


class PartyRole(StrEnum):
    """A party's role on the consignment."""

    CONSIGNOR = "CONSIGNOR"
    CONSIGNEE = "CONSIGNEE"
    NOTIFY_PARTY = "NOTIFY_PARTY"
    CARRIER = "CARRIER"
    DECLARANT = "DECLARANT"


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", str_strip_whitespace=True)


class Header(_Model):
    """Who sends the message to whom, when, until when it is valid, and what it answers."""

    message_id: MessageId
    message_type: MessageType
    sender: Administration
    recipient: Administration
    issued_at: AwareDatetime
    expires_at: AwareDatetime
    in_reply_to: MessageId | None = None

    @model_validator(mode="after")
    def _expires_after_issue(self) -> Self:
        if self.expires_at <= self.issued_at:
            raise ValueError("expires_at must be after issued_at")
        return self


class TransportDocument(_Model):
    """An ICS2 transport document reference: the master (carrier's) or house document."""

    level: Literal["MASTER", "HOUSE"]
    reference: Reference


class Party(_Model):
    """A party to the consignment; ``name``, ``address``, ``phone`` and ``eori`` are personal
    data. ``eori`` is an EORI number, or its keyed hash in a de-identified message."""

    role: PartyRole
    name: Text
    address: Text | None = None
    phone: Annotated[str, Field(max_length=64)] | None = None
    country: CountryCode
    eori: Eori | Sha256 | None = None


class Attachment(_Model):
    """A file sent apart from the message, named here by its hash."""

    file_name: Annotated[str, Field(min_length=1, max_length=255)]
    media_type: Annotated[str, Field(pattern=r"^[a-z]+/[a-z0-9.+-]+$")]
    sha256: Sha256


class Cargo(_Model):
    """Which cargo a message is about: the MRN, transport documents and containers."""

    mrn: Mrn | None = None
    transport_documents: tuple[TransportDocument, ...] = ()
    containers: tuple[ContainerNumber, ...] = ()

    @model_validator(mode="after")
    def _names_cargo(self) -> Self:
        if self.mrn is None and not self.transport_documents and not self.containers:
            raise ValueError("name the cargo: an mrn, a transport document or a container")
        return self


class Reasons(_Model):
    """Why the sender's analysis concluded as it did."""

    profile_ids: tuple[Reference, ...] = ()
    model_version: Reference | None = None
    score_band: Literal["LOW", "MEDIUM", "HIGH", "VERY_HIGH"] | None = None
    watchlist_hits: tuple[Reference, ...] = ()


class RiskAnalysisResult(Cargo):
    """The sender's risk analysis of cargo bound for the recipient's port.

    The recipient owes ``Feedback`` on one it acts on by ``feedback_due_by``."""

    risk_area: RiskArea
    result: AnalysisResult
    reasons: Reasons
    recommended_control: ControlType | None = None
    office_of_control: OfficeCode | None = None
    valid_until: AwareDatetime
    feedback_due_by: AwareDatetime | None = None


class ReferralRequest(Cargo):
    """An ICS2 referral: request for information, request for screening, do not load."""

    referral_request_reference: Reference
    referral_type: ReferralType
    text: LongText
    screening_methods: tuple[ScreeningMethod, ...] = ()


class ReferralResponse(_Model):
    """The answer to a referral request, with the screening methods used and attachments."""

    referral_request_reference: Reference
    result: ReferralOutcome
    screening_methods: tuple[ScreeningMethod, ...] = ()
    text: LongText | None = None
    attachments: tuple[Attachment, ...] = ()


class ControlResult(Cargo):
    """A control performed and its outcome, linked to a seizure when there was one."""

    control_type: ControlType
    performed_at: AwareDatetime
    office_of_control: OfficeCode | None = None
    outcome: ControlOutcome
    detection_method: DetectionMethod | None = None
    seizure_case_reference: Reference | None = None


class SeizureReport(Cargo):
    """A seizure: what, where, how much, how hidden and found, on which ship and route."""

    case_reference: Reference
    seizure_date: AwareDatetime
    place: Locode
    hs_code: HsCode
    goods_description: Text
    quantity: Annotated[float, Field(gt=0)]
    unit: SeizureUnit
    concealment: Concealment
    detection_method: DetectionMethod
    vessel_imo: ImoNumber | None = None
    voyage: Annotated[str, Field(min_length=1, max_length=35)] | None = None
    route: tuple[Locode, ...] = ()
    parties: tuple[Party, ...] = ()
    image_hashes: tuple[Sha256, ...] = ()


class RiskProfileShare(_Model):
    """A risk profile in quaywatch's profile language (YAML text), for review by the receiver."""

    profile_id: Reference
    profile_version: Annotated[int, Field(ge=1)]
    title: Text
    risk_area: RiskArea
    profile: Annotated[str, Field(min_length=1, max_length=100_000)]
    valid_until: AwareDatetime | None = None


class Feedback(_Model):
    """What was done with a message (``header.in_reply_to``) and its result."""

    action_taken: ActionTaken
    result: FeedbackResult
    text: LongText | None = None
    control_result_message_id: MessageId | None = None


#: The body model of each message type.
BODIES: dict[MessageType, type[_Model]] = {
    MessageType.RISK_ANALYSIS_RESULT: RiskAnalysisResult,
    MessageType.REFERRAL_REQUEST: ReferralRequest,
    MessageType.REFERRAL_RESPONSE: ReferralResponse,
    MessageType.CONTROL_RESULT: ControlResult,
    MessageType.SEIZURE_REPORT: SeizureReport,
    MessageType.RISK_PROFILE_SHARE: RiskProfileShare,
    MessageType.FEEDBACK: Feedback,
}


class Message(_Model):
    """A whole message: header and the body of the type the header names."""

    header: Header
    body: dict[str, Any]

    def typed_body(self) -> _Model:
        """The body as its type's model (``parse`` has validated it)."""
        return BODIES[self.header.message_type].model_validate(self.body)


def payload_type(message_type: MessageType, version: int = VERSION) -> str:
    """The DSSE payload type of ``message_type`` at ``version``."""
    return f"application/vnd.quaywatch.{message_type.value}.v{version}+json"


#: Payload type → (message type, version) for every version this quaywatch reads.
KNOWN_PAYLOAD_TYPES = {payload_type(t): (t, VERSION) for t in MessageType}


class MessageProblem(ValueError):
    """A payload that is not a valid message; ``field`` names where (``body.containers.0``)."""

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(f"field {field}: {reason}" if field else reason)
        self.field = field
        self.reason = reason


def _first_problem(exc: ValidationError, prefix: str) -> MessageProblem:
    error = exc.errors(include_url=False)[0]
    where = ".".join(str(part) for part in (prefix, *error["loc"]) if part != "")
    return MessageProblem(where, str(error["msg"]).removeprefix("Value error, "))


def parse(payload: bytes, expected_type: MessageType) -> Message:
    """``payload`` as a message of ``expected_type``; ``MessageProblem`` naming the field else.

    Raw JSON bytes, strictly: duplicate keys and non-finite numbers are refused (two readers
    could otherwise see two different messages in the same signed bytes).
    """
    try:
        data = json.loads(
            payload.decode("utf-8"),
            object_pairs_hook=_unique_keys,
            parse_constant=_no_constant,
        )
    except (UnicodeDecodeError, ValueError) as exc:
        raise MessageProblem("", f"not JSON text in UTF-8: {exc}") from None
    try:
        message = Message.model_validate(data)
    except ValidationError as exc:
        raise _first_problem(exc, "") from None
    if message.header.message_type != expected_type:
        raise MessageProblem(
            "header.message_type",
            f"{message.header.message_type} does not match the payload type's {expected_type}",
        )
    try:
        message.typed_body()
    except ValidationError as exc:
        raise _first_problem(exc, "body") from None
    return message


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    found: dict[str, Any] = {}
    for key, value in pairs:
        if key in found:
            raise ValueError(f"key {key!r} appears twice")
        found[key] = value
    return found


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


def encode(header: Header, body: _Model) -> bytes:
    """The payload bytes of a message: canonical JSON (sorted keys, no spaces), UTF-8."""
    data = {"header": header.model_dump(mode="json"), "body": body.model_dump(mode="json")}
    return json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def schema_of(message_type: MessageType) -> dict[str, Any]:
    """The JSON schema of a whole message of ``message_type`` (header and body)."""
    body = BODIES[message_type].model_json_schema(mode="validation")
    header = Header.model_json_schema(mode="validation")
    defs = {**header.pop("$defs", {}), **body.pop("$defs", {}), "Header": header}
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": payload_type(message_type),
        "title": BODIES[message_type].__name__,
        "type": "object",
        "properties": {"header": {"$ref": "#/$defs/Header"}, "body": {"$ref": "#/$defs/Body"}},
        "required": ["header", "body"],
        "additionalProperties": False,
        "$defs": {**defs, "Body": body},
    }


def shipped_schema(message_type: MessageType) -> dict[str, Any]:
    """The schema file shipped for ``message_type`` (``schemas/NAME.v1.json``)."""
    name = f"{message_type.value}.v{VERSION}.json"
    text = resources.files("quaywatch.exchange").joinpath("schemas", name).read_text("utf-8")
    loaded: dict[str, Any] = json.loads(text)
    return loaded
