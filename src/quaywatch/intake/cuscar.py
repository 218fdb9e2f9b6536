"""CUSCAR (UN/EDIFACT customs cargo report) messages to quaywatch consignment records.

A cargo report lists the consignments (``CNI`` groups) a vessel carries; each becomes one
consignment record in the JSON form ``consignments.flatten`` reads, checked afterwards like any
other. The segments read and what each gives are tabled in docs/formats.md (section CUSCAR);
every other segment is passed over.

- Message level (before the first ``CNI``): ``DTM`` lodging time and ETA, parties (``NAD``
  with ``COM``), the voyage (``TDT`` main carriage with its ``LOC``/``DTM``) and the equipment
  (``EQD`` with its seals, ``SEL``). Parties, route and times given here apply to every
  consignment of the message that does not give its own.
- Consignment level (``CNI`` group): references (``RFF``), route (``LOC``), times (``DTM``),
  parties (``NAD``), goods items (``GID`` with ``FTX``, ``PIA``, ``MEA``, ``MOA``, ``LOC``,
  ``SGP``); a goods item's container is the ``EQD`` its ``SGP`` names.

A value that cannot be mapped (a number that is not one, a time without a UTC offset, a code
quaywatch does not read) is a fault naming the message, segment, tag and element. A fault at
message level quarantines every consignment of the message; one in a ``CNI`` group only that
consignment. A message with an envelope fault (``edifact.Message.fault``) is quarantined whole.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from typing import IO, Any
from zoneinfo import ZoneInfo

from quaywatch.intake import decode, edifact
from quaywatch.intake.decode import Limits
from quaywatch.intake.edifact import Fault, Message, Segment

#: NAD party function code (UNCL 3035) to quaywatch's role.
ROLES = {"DT": "declarant", "CZ": "consignor", "CN": "consignee", "N1": "notify_party"}
#: LOC location function code (UNCL 3227) to the route field it gives.
ROUTE = {"9": "port_of_loading", "11": "port_of_discharge", "7": "place_of_delivery"}
TRANSSHIPMENT, ORIGIN = "13", "27"
#: DTM qualifiers (UNCL 2005): document date (lodging) and estimated arrival.
TIMES = {"137": "lodged_at", "132": "eta"}
#: SEL sealing party (UNCL 9303, or the DCSA source code itself) to the seal source.
SEAL_SOURCES = {"CA": "CAR", "SH": "SHI", "CU": "CUS"} | {
    code: code for code in ("CAR", "SHI", "PHY", "VET", "CUS")
}
SEAL_TYPES = ("KLP", "BLT", "WIR")
#: EQD full/empty indicator (UNCL 8169).
FULL_EMPTY = {"4": "EMPTY", "5": "LADEN"}
#: BGM message functions read (UNCL 1225): original, change, replacement.
FUNCTIONS = ("9", "4", "5")
#: MEA weight units (UNECE Rec. 20) and their kilograms.
WEIGHT_UNITS = {"KGM": Decimal(1), "TNE": Decimal(1000)}

_NUMBER = re.compile(r"-?(\d+([.,]\d*)?|[.,]\d+)")


class _Bad(Exception):
    def __init__(self, segment: Segment, element: int, reason: str) -> None:
        super().__init__(reason)
        self.fault = Fault(segment.position, segment.tag, element, reason)


@dataclass(slots=True)
class _Level:
    """What the message, or one consignment, gives: times, route, parties, references."""

    values: dict[str, str] = field(default_factory=dict)
    parties: dict[str, dict[str, str]] = field(default_factory=dict)
    transshipment: list[str] = field(default_factory=list)

    def set(self, key: str, value: str, segment: Segment, element: int) -> None:
        if not value:
            return
        if self.values.get(key, value) != value:
            raise _Bad(segment, element, f"gives {key} a second time, with another value")
        self.values[key] = value


@dataclass(slots=True)
class _Consignment:
    start: Segment
    level: _Level = field(default_factory=_Level)
    items: list[dict[str, Any]] = field(default_factory=list)
    uses: list[tuple[str, Segment]] = field(default_factory=list)  # containers named by SGP
    fault: Fault | None = None


def read(
    file: IO[bytes], limits: Limits, source: str, progress: Callable[[], None] | None = None
) -> Iterator[tuple[int, decode.Parsed | decode.Refused]]:
    """Every consignment of the interchange in ``file`` as the front door's verdict, numbered by
    its message: a record to check and store, or a refusal naming message, segment and element.

    ``InputError`` where the file is not an interchange that can be read (``edifact``).
    """
    zone = None if limits.local_time_zone is None else decode.time_zone(limits.local_time_zone)
    for message in edifact.messages(file, limits, source, progress):
        for result in consignments(message, zone):
            yield message.number, result


def consignments(
    message: Message, zone: ZoneInfo | None = None
) -> list[decode.Parsed | decode.Refused]:
    """The consignment records of one message (see the module docstring); ``zone``: where a
    time written without a UTC offset is read (None: such a time is a fault)."""
    raw = json.dumps(message.raw(), ensure_ascii=False)
    if message.fault is None and message.kind != "CUSCAR":
        message.fault = Fault(1, "UNH", 2, f"message type {message.kind!r} is not CUSCAR")
    if message.fault is not None:
        return [decode.Refused(message.fault.field, message.fault.reason, raw)]
    mapper = _Mapper(zone)
    try:
        mapper.read(message.segments[1:-1])
    except _Bad as bad:
        return [decode.Refused(bad.fault.field, bad.fault.reason, raw)]
    results: list[decode.Parsed | decode.Refused] = []
    for consignment in mapper.consignments:
        record = mapper.record(consignment) if consignment.fault is None else None
        key = _record_id(consignment)
        if record is None:
            fault = consignment.fault or mapper.fault
            assert fault is not None
            results.append(decode.Refused(fault.field, fault.reason, raw, key))
        else:
            results.append(decode.Parsed(record, json.dumps(record, ensure_ascii=False)))
    return results


def _record_id(consignment: _Consignment) -> str | None:
    values = consignment.level.values
    if "consignment_id" not in values:
        return None
    return f"{values['consignment_id']} v{values.get('version', '1')}"


class _Mapper:
    """Reads a message's segments in order, keeping to which group each belongs."""

    def __init__(self, zone: ZoneInfo | None) -> None:
        self.zone = zone
        self.message = _Level()
        self.transport: dict[str, str] = {}
        self.containers: dict[str, dict[str, Any]] = {}
        self.consignments: list[_Consignment] = []
        self.fault: Fault | None = None
        self.group = "head"  # head, tdt, eqd, cni, gid: the group the last segments opened
        self.party: dict[str, str] | None = None
        self.container: dict[str, Any] | None = None

    @property
    def level(self) -> _Level:
        return self.consignments[-1].level if self.consignments else self.message

    def read(self, segments: list[Segment]) -> None:
        """Map every segment; ``_Bad`` for a fault at message level."""
        for segment in segments:
            current = self.consignments[-1] if self.consignments else None
            if current is not None and current.fault is not None and segment.tag != "CNI":
                continue  # the rest of a faulted consignment: passed over to the next CNI
            try:
                self._segment(segment)
            except _Bad as bad:
                if current is None or segment.tag == "CNI":
                    raise
                current.fault = bad.fault

    def _segment(self, s: Segment) -> None:
        tag = s.tag
        handler = getattr(self, f"_{tag.lower()}", None)
        if tag in ("TDT", "EQD", "CNI", "GID"):
            self.group = tag.lower()
        if tag not in ("NAD", "CTA", "COM"):
            self.party = None  # a COM belongs to the NAD (and CTA) just before it
        if handler is not None:
            handler(s)

    # --- message level -----------------------------------------------------------------------

    def _bgm(self, s: Segment) -> None:
        function = s.get(3)
        if function and function not in FUNCTIONS:
            raise _Bad(
                s, 3,
                f"message function {function!r} is not read: an original (9), change (4) or "
                "replacement (5); an amendment is a consignment with a higher version (RFF+UCN)",
            )  # fmt: skip

    def _tdt(self, s: Segment) -> None:
        if s.get(1) != "20":  # pre- and on-carriage are not the vessel reported
            self.group = "other"
            return
        if self.consignments or self.transport:
            raise _Bad(s, 1, "a second main-carriage TDT: a message reports one vessel call")
        self.transport = {
            "voyage": s.get(2), "carrier_scac": s.get(5, 1), "imo": s.get(8, 1),
            "vessel_name": s.get(8, 4),
        }  # fmt: skip

    def _eqd(self, s: Segment) -> None:
        """A container, at message level or in a consignment's group; one reported again (a
        container shared by consignments) must agree, and its seals are added."""
        self.container = None
        if s.get(1) != "CN":
            return  # other equipment (trailers, pallets) carries no container
        number = s.get(2)
        if not number:
            raise _Bad(s, 2, "no container number")
        status = s.get(6)
        if status and status not in FULL_EMPTY:
            raise _Bad(s, 6, f"full/empty indicator {status!r} is not 4 (empty) or 5 (full)")
        container: dict[str, Any] = {"number": number, "size_type": s.get(3) or None,
                     "status": FULL_EMPTY.get(status), "seals": []}  # fmt: skip
        known = self.containers.setdefault(_container_key(number), container)
        if any(known[k] != container[k] for k in ("size_type", "status")):
            raise _Bad(
                s, 3, f"container {number} is reported again with another size/type or status"
            )
        self.container = known

    def _sel(self, s: Segment) -> None:
        if self.group != "eqd" or self.container is None:
            if self.group == "eqd":
                return  # a seal of equipment that is not a container
            raise _Bad(s, 0, "a seal (SEL) outside an EQD group")
        party = s.get(2)
        source = SEAL_SOURCES.get(party)
        if source is None:
            raise _Bad(
                s, 2,
                f"sealing party {party!r} is not read: CA (carrier), SH (shipper), CU "
                "(customs) or a DCSA seal source (CAR, SHI, PHY, VET, CUS)",
            )  # fmt: skip
        kind = s.get(5)
        if kind not in SEAL_TYPES:
            raise _Bad(s, 5, f"seal type {kind!r} is not KLP, BLT or WIR")
        seal = {"number": s.get(1), "source": source, "type": kind}
        if seal not in self.container["seals"]:
            self.container["seals"].append(seal)

    # --- either level ------------------------------------------------------------------------

    def _dtm(self, s: Segment) -> None:
        key = TIMES.get(s.get(1, 1))
        if key is not None and self.group in ("head", "tdt", "cni"):
            self.level.set(key, _time(s, self.zone), s, 1)

    def _loc(self, s: Segment) -> None:
        code, place = s.get(1), s.get(2, 1)
        if self.group == "gid":
            if code == ORIGIN:
                _set_item(self.consignments[-1].items[-1], "origin_country", place, s, 2)
            return
        if self.group not in ("head", "tdt", "cni"):
            return
        if code == TRANSSHIPMENT and place:
            self.level.transshipment.append(place)
        elif code in ROUTE:
            self.level.set(ROUTE[code], place, s, 2)

    def _nad(self, s: Segment) -> None:
        role = ROLES.get(s.get(1))
        if role is None or self.group == "gid":
            return
        if role in self.level.parties:
            raise _Bad(s, 1, f"a second NAD+{s.get(1)} ({role.replace('_', ' ')}) here")
        names = [n for n in s.components(4)[:5] if n]
        lines = [n for n in s.components(3) if n]
        street = [n for n in s.components(5) if n]
        city = " ".join(part for part in (s.get(8), s.get(6)) if part)
        if not names and lines:  # unstructured: the first line names the party
            names, street = lines[:1], lines[1:]
        address = ", ".join([*street, city] if city else street)
        party = {"name": " ".join(names), "address": address, "country": s.get(9),
                 "eori": s.get(2, 1)}  # fmt: skip
        self.party = {k: v for k, v in party.items() if v}
        self.level.parties[role] = self.party

    def _com(self, s: Segment) -> None:
        if self.party is None:
            return
        channel = {"TE": "phone", "EM": "email"}.get(s.get(1, 2))
        if channel is not None and s.get(1, 1):
            if channel in self.party:
                raise _Bad(s, 1, f"gives the party's {channel} a second time")
            self.party[channel] = s.get(1, 1)

    def _cta(self, s: Segment) -> None:
        pass  # a contact's COM belong to the party before it

    # --- consignment level -------------------------------------------------------------------

    def _cni(self, s: Segment) -> None:
        consignment = _Consignment(s)
        consignment.level.set("transport_document", s.get(2, 1), s, 2)
        self.consignments.append(consignment)

    def _rff(self, s: Segment) -> None:
        if self.group != "cni":
            return
        qualifier, value, level = s.get(1, 1), s.get(1, 2), self.level
        if qualifier == "UCN":
            level.set("consignment_id", value, s, 1)
            level.set("version", s.get(1, 4), s, 1)
        elif qualifier == "MB":
            level.set("master_transport_document", value, s, 1)
        elif qualifier == "BM" and "transport_document" not in level.values:
            level.set("transport_document", value, s, 1)

    def _gid(self, s: Segment) -> None:
        if not self.consignments:
            raise _Bad(s, 0, "a goods item (GID) before any consignment (CNI)")
        sequence = s.get(1)
        if not sequence.isdigit():
            raise _Bad(s, 1, f"goods item number {sequence!r} is not a whole number")
        packages = s.get(2, 1)
        if packages and not packages.isdigit():
            raise _Bad(s, 2, f"number of packages {packages!r} is not a whole number")
        self.consignments[-1].items.append(
            {
                "sequence": sequence,
                "packages": packages or None,
                "package_type": s.get(2, 2) or None,
            }
        )

    def _item(self) -> dict[str, Any] | None:
        return self.consignments[-1].items[-1] if self.group == "gid" else None

    def _ftx(self, s: Segment) -> None:
        item = self._item()
        if item is not None and s.get(1) == "AAA":
            text = " ".join(part for part in s.components(4) if part)
            item["description"] = f"{item['description']} {text}" if "description" in item else text

    def _pia(self, s: Segment) -> None:
        item = self._item()
        if item is None:
            return
        for element in range(2, len(s.elements) + 1):
            if s.get(element, 2) == "HS":
                code = s.get(element, 1)
                if code.isdigit() and len(code) in (8, 10):
                    code = code[:6]  # a national tariff code: its first six digits are HS
                _set_item(item, "hs6", code, s, element)

    def _mea(self, s: Segment) -> None:
        item = self._item()
        if item is None or s.get(1) not in ("AAE", "WT") or s.get(2, 1) != "G":
            return
        unit = s.get(3, 1)
        if unit not in WEIGHT_UNITS:
            raise _Bad(s, 3, f"gross weight unit {unit!r} is not KGM or TNE")
        value = _number(s, 3, 2, "gross weight")
        if unit != "KGM":
            value = format((Decimal(value) * WEIGHT_UNITS[unit]).normalize(), "f")
        _set_item(item, "gross_mass_kg", value, s, 3)

    def _moa(self, s: Segment) -> None:
        item = self._item()
        if item is None or s.get(1, 1) != "40":
            return
        _set_item(item, "value", _number(s, 1, 2, "customs value"), s, 1)
        _set_item(item, "currency", s.get(1, 3), s, 1)

    def _sgp(self, s: Segment) -> None:
        item = self._item()
        if item is None:
            return
        if "container_number" in item:
            raise _Bad(s, 1, "a goods item in a second container: quaywatch keeps one a goods item")
        item["container_number"] = s.get(1, 1)
        self.consignments[-1].uses.append((s.get(1, 1), s))

    # --- the record --------------------------------------------------------------------------

    def record(self, consignment: _Consignment) -> dict[str, Any] | None:
        """The consignment as quaywatch's JSON record; ``None`` with ``consignment.fault`` set
        where it names a container the message does not report or has no reference."""
        own, message = consignment.level, self.message
        if "consignment_id" not in own.values:
            consignment.fault = Fault(
                consignment.start.position, "CNI", 0,
                "the consignment has no RFF+UCN (its unique consignment reference)",
            )  # fmt: skip
            return None
        containers: dict[str, dict[str, Any]] = {}
        for number, segment in consignment.uses:
            key = _container_key(number)
            if key not in self.containers:
                consignment.fault = Fault(
                    segment.position, "SGP", 1, f"container {number!r} has no EQD in this message"
                )
                return None
            containers.setdefault(key, self.containers[key])

        def value(key: str) -> str | None:
            return own.values.get(key) or message.values.get(key) or self.transport.get(key)

        record: dict[str, Any] = {
            key: value(key)
            for key in ("consignment_id", "transport_document", "master_transport_document",
                        "lodged_at", "carrier_scac", "voyage", "eta")
        }  # fmt: skip
        record["version"] = own.values.get("version") or None
        for role in ROLES.values():
            party = own.parties.get(role) or message.parties.get(role)
            if party is not None:
                record[role] = dict(party)
        record["vessel"] = {"imo": value("imo"), "name": value("vessel_name")}
        record["route"] = {key: value(key) for key in ROUTE.values()} | {
            "transshipment_ports": list(own.transshipment or message.transshipment)
        }
        record["goods_items"] = [dict(item) for item in consignment.items]
        record["containers"] = [
            {**c, "seals": [dict(seal) for seal in c["seals"]]} for c in containers.values()
        ]
        return record


def _set_item(item: dict[str, Any], key: str, value: str, segment: Segment, element: int) -> None:
    if not value:
        return
    if item.get(key, value) != value:
        raise _Bad(segment, element, f"gives the goods item's {key} a second time")
    item[key] = value


def _container_key(number: str) -> str:
    return number.replace(" ", "").upper()


def _number(s: Segment, element: int, component: int, what: str) -> str:
    """An EDIFACT number (decimal mark ``,`` or ``.``) as text with a decimal point."""
    text = s.get(element, component)
    if not _NUMBER.fullmatch(text):
        raise _Bad(s, element, f"{what} {text!r} is not a number")
    return text.replace(",", ".")


def _offset(s: Segment, digits: str, zone: ZoneInfo | None) -> str:
    """The UTC offset (``±HH:MM``) of local time ``digits`` (CCYYMMDDHHMM[SS]) in ``zone``."""
    assert zone is not None
    try:
        local = datetime.strptime(digits, "%Y%m%d%H%M%S" if len(digits) == 14 else "%Y%m%d%H%M")
    except ValueError:
        raise _Bad(s, 1, f"time {digits!r} is not a date and time") from None
    first, second = local.replace(tzinfo=zone, fold=0), local.replace(tzinfo=zone, fold=1)
    round_trip = first.astimezone(UTC).astimezone(zone).replace(tzinfo=None)
    if first.utcoffset() != second.utcoffset() or round_trip != local:
        raise _Bad(
            s, 1, f"local time {digits!r} is ambiguous or skipped in {zone.key} (a clock "
            "change): give it with its UTC offset (format 205)",
        )  # fmt: skip
    offset = first.strftime("%z")
    return f"{offset[:3]}:{offset[3:]}"


def _time(s: Segment, zone: ZoneInfo | None) -> str:
    """A DTM's time as ISO 8601 with its UTC offset: format 205 (``CCYYMMDDHHMM±HHMM``), or
    303/304 (``CCYYMMDDHHMM[SS]`` then ``UTC``/``GMT``), or, with ``zone``, 203/204
    (``CCYYMMDDHHMM[SS]``) read in that zone. A time without a zone is refused otherwise, and
    a local time the zone's clock change makes ambiguous or skips is refused always: when a
    consignment was known must be exact."""
    text, code = s.get(1, 2), s.get(1, 3)
    expected = "format 205 (CCYYMMDDHHMM±HHMM) or 303/304 (CCYYMMDDHHMM[SS]UTC)"
    if code in ("203", "204") and zone is None:
        raise _Bad(
            s, 1, f"time {text!r} (format {code}) has no UTC offset: use {expected}, or set "
            "QUAYWATCH_EDIFACT_TIME_ZONE to the zone such times are written in",
        )  # fmt: skip
    if code not in ("203", "204", "205", "303", "304"):
        raise _Bad(
            s, 1, f"time {text!r} (format {code or 'none'}) has no UTC offset: use {expected}"
        )
    if code in ("203", "204"):
        found = re.fullmatch(r"(\d{12})" if code == "203" else r"(\d{14})", text)
        offset = "" if found is None else _offset(s, found.group(1), zone)
    elif code == "205":
        found = re.fullmatch(r"(\d{12})([+-]\d{2})(\d{2})", text)
        offset = f"{found.group(2)}:{found.group(3)}" if found else ""
    else:
        length = 12 if code == "303" else 14
        found = re.fullmatch(rf"(\d{{{length}}})(UTC|GMT)", text)
        offset = "+00:00"
    if found is None:
        raise _Bad(s, 1, f"time {text!r} is not of format {code}; quaywatch reads {expected}")
    digits = found.group(1)
    seconds = digits[12:14] or "00"
    iso = (
        f"{digits[:4]}-{digits[4:6]}-{digits[6:8]}T{digits[8:10]}:{digits[10:12]}:{seconds}{offset}"
    )
    try:
        datetime.fromisoformat(iso)
    except ValueError:
        raise _Bad(s, 1, f"time {text!r} is not a date and time") from None
    return iso
