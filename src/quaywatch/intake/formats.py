"""The input formats quaywatch reads, and how a file's format is told from its content.

A ``Format`` is what a sender writes: quaywatch's own CSV, Parquet or JSON, or an industry
standard (DCSA Track & Trace 2.2 or 3.x events, DCSA eBL 3 transport documents and shipping
instructions, UN/EDIFACT CUSCAR cargo reports). It says which record kind it holds, which
containers it comes in (``Container``: CSV, Parquet, JSON Lines, a JSON array, the array under
one key of a JSON object such as Track & Trace 3's ``{"events": [...]}``, or one JSON object
alone, a UN/EDIFACT interchange), how one of its records is recognised (``marks``: its top-level keys or columns), the
JSON shape a record is read in and the step (``translate``) that turns a record into the flat
rows of its kind, which the import pipeline checks and stores. Adding a format is adding one
entry to ``FORMATS`` and its line to ``format_names.ABOUT``, which the command line's and the
API's help list (a non-JSON container also needs its reader in ``readers``).

``detect`` decides, from the file's first bytes and first record, and stops at the first
format that claims them, in ``FORMATS`` order; a JSON structure no format claims is refused
once, naming the keys found (``not a recognised format: found keys ...``), never record by
record. A format named by the caller (``quaywatch ingest --format``) overrides detection.
docs/formats.md lists the formats and the rules.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq

from quaywatch.errors import InputError
from quaywatch.intake import dcsa_ebl, decode, edifact, events, jsonarray, shapes
from quaywatch.intake.decode import Limits, Obj
from quaywatch.intake.format_names import ABOUT
from quaywatch.intake.kinds import KINDS
from quaywatch.intake.records import RecordKind


class Container(StrEnum):
    """How records are laid out in a file (the value is the reader's name for it)."""

    CSV = "csv"
    PARQUET = "parquet"
    JSON_LINES = "jsonl"
    JSON_ARRAY = "json"
    #: The items of the array under one key of a JSON object (``Format.wrapper``).
    JSON_KEY = "json-key"
    #: One JSON object alone (a record written over several lines).
    JSON_DOCUMENT = "json-document"
    #: A UN/EDIFACT interchange (``edifact``; its messages mapped by ``cuscar``).
    EDIFACT = "edifact"


JSON = (Container.JSON_LINES, Container.JSON_ARRAY, Container.JSON_KEY, Container.JSON_DOCUMENT)
#: What a record's location is counted in, per container.
UNITS = {Container.CSV: "line", Container.PARQUET: "row", Container.JSON_LINES: "line",
         Container.JSON_ARRAY: "item", Container.JSON_KEY: "item",
         Container.JSON_DOCUMENT: "document", Container.EDIFACT: "message"}  # fmt: skip


@dataclass(frozen=True, slots=True)
class Format:
    """One input format (module docstring).

    ``kind``: the record kind it holds; None for quaywatch's own formats, which hold
    consignments or control outcomes, told apart by the ``control_id`` key or column (or by
    ``--kind``). ``shape`` and ``translate``: the JSON shape of one record and the step to flat
    rows; None for the kind's own (``kinds.KINDS``). ``wrapper``: the key of a JSON object
    under which the records may come as an array. ``refine``: where the keys are not enough,
    whether a JSON record ``marks`` points to is one of this format by its values (a CloudEvent
    envelope is DCSA eBL only when its ``type`` is an eBL event type).
    """

    name: str
    kind: RecordKind | None
    containers: tuple[Container, ...]
    marks: Callable[[frozenset[str]], bool]
    about: str
    shape: Obj | None = None
    translate: Callable[[dict[str, Any]], list[dict[str, Any]]] | None = None
    wrapper: str | None = None
    refine: Callable[[dict[str, Any]], bool] | None = None

    def claims(self, keys: frozenset[str], record: dict[str, Any] | None = None) -> bool:
        """Whether a record with these keys (and, for JSON, these values) is of this format."""
        if not self.marks(keys):
            return False
        return self.refine is None or record is None or self.refine(record)

    def kind_of(self, keys: frozenset[str]) -> RecordKind:
        """The kind of a record with these keys or columns."""
        if self.kind is not None:
            return self.kind
        return RecordKind.OUTCOMES if _OUTCOME_KEY in keys else RecordKind.CONSIGNMENTS

    def shape_for(self, kind: RecordKind) -> Obj:
        return self.shape if self.shape is not None else KINDS[kind].shape

    def rows(self, kind: RecordKind, record: dict[str, Any]) -> list[dict[str, Any]]:
        """One record (of ``shape_for(kind)``) as the flat rows of its kind."""
        return (self.translate or KINDS[kind].flatten)(record)


#: A column only control outcomes have: it tells an outcome file from a consignment file.
_OUTCOME_KEY = "control_id"
#: The kinds quaywatch's own formats hold.
_OWN_KINDS = (RecordKind.CONSIGNMENTS, RecordKind.OUTCOMES)
_QUAYWATCH_KEYS = frozenset(KINDS[RecordKind.CONSIGNMENTS].shape.fields) | frozenset(
    KINDS[RecordKind.OUTCOMES].shape.fields
)
_DCSA_2_KEYS = frozenset({"eventID", "eventType", "eventClassifierCode"})


FORMATS: dict[str, Format] = {
    f.name: f
    for f in (
        Format(
            "dcsa-tnt-3",
            RecordKind.EVENTS,
            (*JSON,),
            lambda keys: "eventClassification" in keys,
            ABOUT["dcsa-tnt-3"],
            shape=shapes.EVENT_V3,
            translate=lambda record: [events.flatten_v3(record)],
            wrapper="events",
        ),
        Format(
            "dcsa-tnt-2.2",
            RecordKind.EVENTS,
            (*JSON,),
            lambda keys: bool(keys & _DCSA_2_KEYS),
            ABOUT["dcsa-tnt-2.2"],
            wrapper="events",
        ),
        Format(
            "dcsa-ebl-3",
            RecordKind.DOCUMENTS,
            (*JSON,),
            dcsa_ebl.marks,
            ABOUT["dcsa-ebl-3"],
            refine=dcsa_ebl.is_document,
        ),
        Format(
            "un-edifact-cuscar",
            RecordKind.CONSIGNMENTS,
            (Container.EDIFACT,),
            lambda keys: True,
            ABOUT["un-edifact-cuscar"],
        ),
        Format(
            "quaywatch-json",
            None,
            (*JSON,),
            lambda keys: bool(keys & _QUAYWATCH_KEYS),
            ABOUT["quaywatch-json"],
        ),
        Format(
            "quaywatch-csv",
            None,
            (Container.CSV,),
            lambda keys: True,
            ABOUT["quaywatch-csv"],
        ),
        Format(
            "quaywatch-parquet",
            None,
            (Container.PARQUET,),
            lambda keys: True,
            ABOUT["quaywatch-parquet"],
        ),
    )  # fmt: skip
}
if list(FORMATS) != list(ABOUT):  # the command line's help lists ABOUT: it must be the registry
    raise ImportError("intake.format_names.ABOUT and intake.formats.FORMATS differ")
_EXTENSIONS = {".csv": Container.CSV, ".parquet": Container.PARQUET, ".pq": Container.PARQUET,
               ".jsonl": Container.JSON_LINES, ".ndjson": Container.JSON_LINES,
               ".json": Container.JSON_ARRAY, ".edi": Container.EDIFACT,
               ".edifact": Container.EDIFACT, ".cuscar": Container.EDIFACT}  # fmt: skip
#: The keys under which a JSON object may hold the records of some format.
_WRAPPERS = frozenset(f.wrapper for f in FORMATS.values() if f.wrapper is not None)
#: JSON Lines records looked at for a first one that is a JSON object.
_SAMPLED = 20


@dataclass(frozen=True, slots=True)
class Detected:
    """What a file holds: its format, container, record kind and (for ``JSON_KEY``) the key
    holding the records."""

    format: Format
    container: Container
    kind: RecordKind
    wrapper: str | None = None


def detect(
    path: Path, *, name: str | None = None, kind: RecordKind | None = None,
    limits: Limits | None = None,
) -> Detected:  # fmt: skip
    """The format of ``path``: ``name`` if given, else by content (module docstring).

    ``kind`` narrows detection to the formats of that kind; a JSON record no format of it
    claims is then read in the kind's own format, so that each record is quarantined with its
    own reasons (what a submission of records of a known kind needs).
    """
    if not path.is_file():
        raise InputError("no such file", source=str(path))
    source = str(path)
    chosen = _named(name, kind, source) if name is not None else None
    container = _EXTENSIONS.get(path.suffix.lower())
    if container is None and _is_edifact(path):
        container = Container.EDIFACT
    if container is None:
        known = ", ".join(sorted(_EXTENSIONS))
        raise InputError(f"unknown file type {path.suffix!r} (known: {known})", source=source)
    lenient = Limits(max_depth=(limits or Limits()).max_depth)
    wrapper = None
    if container in JSON:
        container, wrapper = _json_container(path, lenient, chosen)
    if chosen is not None and container not in chosen.containers:
        raise InputError(
            f"format {chosen.name} is not read from {_named_container(container)}", source=source
        )
    if container is Container.EDIFACT and kind not in (None, RecordKind.CONSIGNMENTS):
        raise InputError(
            "a UN/EDIFACT interchange is read as CUSCAR cargo reports: consignments", source=source
        )
    if kind is RecordKind.DOCUMENTS and container not in JSON:
        raise InputError(
            "carrier documents are read from DCSA eBL 3 JSON (one document, an array or lines)",
            source=source,
        )
    keys, where, record = _first_keys(path, container, wrapper, lenient)
    if chosen is None:
        chosen = _claimed(container, keys, where, kind, source, record)
    found = chosen.kind_of(keys or frozenset())
    if kind is not None and chosen.kind is None:
        found = kind
    if found is RecordKind.EVENTS and container not in JSON:
        raise InputError("container events are read from DCSA JSON (array or lines)", source=source)
    return Detected(chosen, container, found, wrapper)


def _named(name: str, kind: RecordKind | None, source: str) -> Format:
    found = FORMATS.get(name)
    if found is None:
        raise InputError(f"unknown format {name!r} (known: {', '.join(FORMATS)})", source=source)
    if kind is not None and found.kind is not None and found.kind is not kind:
        raise InputError(f"format {name} holds {found.kind.value}, not {kind.value}", source=source)
    if kind is not None and kind not in _OWN_KINDS and found.kind is None:
        raise InputError(
            f"format {name} holds consignments or outcomes, not {kind.value}", source=source
        )
    return found


def _named_container(container: Container) -> str:
    names = {Container.CSV: "CSV", Container.PARQUET: "Parquet", Container.EDIFACT: "EDIFACT"}
    return names.get(container, "JSON")


def _is_edifact(path: Path) -> bool:
    """Whether the file begins as a UN/EDIFACT interchange does (``UNA`` or ``UNB``, after
    blanks and line ends if any, within its first ``edifact.HEAD_BYTES``)."""
    with path.open("rb") as file:
        return edifact.is_interchange(file.read(edifact.HEAD_BYTES))


def _claimed(
    container: Container, keys: frozenset[str] | None, where: str, kind: RecordKind | None,
    source: str, record: dict[str, Any] | None = None,
) -> Format:  # fmt: skip
    """The first format that claims a first record with ``keys`` (JSON: ``record``) in
    ``container``."""
    candidates = [
        f for f in FORMATS.values()
        if container in f.containers
        and (kind is None or f.kind is kind or (f.kind is None and kind in _OWN_KINDS))
    ]  # fmt: skip
    if keys is None:  # no first record could be read: the reader reports each as it reads
        return _default(candidates, kind)
    for candidate in candidates:
        if candidate.claims(keys, record):
            return candidate
    if kind is not None or container not in JSON:
        return _default(candidates, kind)
    shown = ", ".join(sorted(decode.storable(k) and k or repr(k) for k in keys)[:20])
    names = ", ".join(f.name for f in FORMATS.values() if container in f.containers)
    raise InputError(
        f"not a recognised format: found keys {shown or '(none)'} in {where}; quaywatch reads "
        f"{names} from JSON (docs/formats.md); --format NAME reads it as one of them",
        source=source,
    )


def _default(candidates: list[Format], kind: RecordKind | None) -> Format:
    """The format a record of ``kind`` is read in when its keys say nothing."""
    if kind is RecordKind.EVENTS:
        return FORMATS["dcsa-tnt-2.2"]
    own = [f for f in candidates if f.kind is kind] if kind is not None else []
    found = own[0] if own else next((f for f in candidates if f.kind is None), None)
    if found is None:
        what = "these records" if kind is None else kind.value
        raise InputError(f"no format quaywatch reads holds {what} in this layout")
    return found


def _json_container(
    path: Path, limits: Limits, chosen: Format | None
) -> tuple[Container, str | None]:
    """How a JSON file lays its records out, from its first bytes.

    ``[``: an array (in a ``.jsonl`` file, unless its first line is a whole JSON value).
    ``{`` on a first line that is a whole JSON value: JSON Lines (or, where it is the only
    line and holds a wrapper key, ``{"events": [...]}`` written on one line). Otherwise a JSON
    object over several lines: the records under a wrapper key, or one record alone; one that
    does not parse is read as JSON Lines, each line then quarantined with its reason as ever.
    """
    lines = path.suffix.lower() in (".jsonl", ".ndjson")
    with path.open("rb") as file:
        head = file.read(4096).lstrip(decode.BOM).lstrip(b" \t\r\n")
    if head.startswith(b"[") and not lines:
        return Container.JSON_ARRAY, None  # the first line is not read: it may be the file
    with path.open("rb") as file:
        pieces = (p for p in decode.lines(file, limits) if p.data.strip())
        first = next(pieces, None)
        alone = next(pieces, None) is None
    value: Any = None
    if first is not None and first.size == len(first.data):
        try:
            value = decode.parse_json(first.data.decode("utf-8", "replace"), limits)
        except decode.Fault:
            value = None
    if not head.startswith(b"{"):
        if lines and (value is not None or not head.startswith(b"[")):
            return Container.JSON_LINES, None
        return Container.JSON_ARRAY, None
    wrappers = set(_WRAPPERS) if chosen is None else {w for w in [chosen.wrapper] if w}
    if value is not None:  # a first line holding a whole value
        wrapped = [
            k for k in value if k in wrappers and isinstance(value[k], list)
        ] if isinstance(value, dict) else []  # fmt: skip
        if alone and wrapped:  # {"events": [...]} written on one line
            return Container.JSON_KEY, wrapped[0]
        return Container.JSON_LINES, None
    try:
        with path.open("rb") as file:  # stops at the wrapper: its array is not read here
            found = jsonarray.first_of_keys(file, wrappers, limits, str(path))
    except InputError:
        return Container.JSON_LINES, None
    if found is not None:
        return Container.JSON_KEY, found
    if path.stat().st_size <= limits.max_record_bytes:
        return Container.JSON_DOCUMENT, None
    return Container.JSON_LINES, None


def _first_keys(
    path: Path, container: Container, wrapper: str | None, limits: Limits
) -> tuple[frozenset[str] | None, str, dict[str, Any] | None]:
    """The column names, or the top-level keys of the first of the first ``_SAMPLED`` JSON
    objects that a format claims, else of the first of them (None where none can be read),
    where they were found, and (JSON) that object."""
    if container is Container.CSV:
        with path.open("rb") as file:
            head = file.readline(limits.max_record_bytes).decode("utf-8-sig", errors="replace")
        header = re.split(r"[\r\n]", head, maxsplit=1)[0]  # bare CRs end lines too
        try:
            return frozenset(n.strip() for n in next(csv.reader([header]), [])), "the header", None
        except csv.Error:
            return frozenset(), "the header", None
    if container is Container.EDIFACT:  # one format reads it: the interchange says the rest
        return frozenset(), "the interchange", None
    if container is Container.PARQUET:
        try:
            return frozenset(pq.read_schema(path).names), "the columns", None
        except Exception:  # a broken file: the reader reports it with its reason
            return frozenset(), "the columns", None
    with path.open("rb") as file:
        try:
            if container is Container.JSON_DOCUMENT:
                texts = [file.read()]
                where = "the object"
            elif container is Container.JSON_LINES:
                pieces = (p for p in decode.lines(file, limits) if p.data.strip())
                texts = [p.data for _, p in zip(range(_SAMPLED), pieces, strict=False)]
                where = "line {}"
            else:
                items = (
                    jsonarray.object_items(file, wrapper or "", limits, str(path))
                    if container is Container.JSON_KEY
                    else jsonarray.array_items(file, limits, str(path))
                )
                texts = [piece.data for _, (piece, _) in zip(range(_SAMPLED), items, strict=False)]
                where = f"{wrapper} item {{}}" if wrapper else "item {}"
        except InputError:  # a broken file: the reader reports it with its reason
            return None, "", None
    found: list[tuple[frozenset[str], str, dict[str, Any] | None]] = []
    for number, text in enumerate(texts, start=1):
        try:
            value = decode.parse_json(text.decode("utf-8", "replace"), limits)
        except decode.Fault:
            continue
        if isinstance(value, dict):
            keys = frozenset(value)
            if any(f.claims(keys, value) for f in FORMATS.values() if container in f.containers):
                # a broken record or two before it tell nothing
                return keys, where.format(number), value
            found.append((keys, where.format(number), value))
    return found[0] if found else (None, "", None)


def of_record(kind: RecordKind, record: dict[str, Any]) -> Format:
    """The format of one JSON record of ``kind`` (a quarantined record retried)."""
    keys = frozenset(record)
    json_formats = [f for f in FORMATS.values() if set(f.containers) & set(JSON)]
    for candidate in json_formats:
        if candidate.kind is kind and candidate.claims(keys, record):
            return candidate
    return _default(json_formats, kind)


def describe() -> str:
    """The formats, one per line: what ``--format`` accepts."""
    return "".join(f"{f.name}: {f.about}\n" for f in FORMATS.values())
