"""Reading risk profile files: YAML in, a checked and compiled ``Profile`` out, or a clear error.

An analyst's file is rejected with the file, the line and the reason (``RecordError``): an
unknown key, a missing description, a lane that does not exist, a port code that is not a
UN/LOCODE, a condition that does not parse (then also the column within the condition and a
caret under it). Lines come from the YAML parser's node marks, so they point at the value at
fault, not at the top of the file.

Lookup-list entries are taken as written: ``[080390, 030617]`` stays two HS codes (YAML alone
would read the second as an octal number).
"""

from __future__ import annotations

import difflib
import hashlib
import math
import re
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any

import yaml

from quaywatch.domain import reference as ref
from quaywatch.errors import InputError, RecordError
from quaywatch.risk.profiles.compiler import compile_condition
from quaywatch.risk.profiles.frame import FIELD_KINDS
from quaywatch.risk.profiles.profile import (
    Action,
    Lane,
    ListKind,
    Profile,
    Referral,
    template_fields,
)
from quaywatch.risk.profiles.syntax import ConditionError

KEYS = ("id", "version", "description", "owner", "valid_from", "valid_to", "reason", "lists",
        "condition", "action")  # fmt: skip
REQUIRED = ("id", "version", "description", "owner", "condition", "action")
ACTION_KEYS = ("weight", "lane", "referral")
_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
_LIST_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_ENTRY = {
    ListKind.HS: (re.compile(r"^\d{2}(?:\d{2}){0,2}$"), "an HS code of 2, 4 or 6 digits"),
    ListKind.PORT: (re.compile(r"^[A-Z]{2}[A-Z2-9]{3}$"), "a UN/LOCODE such as ECGYE"),
    ListKind.COUNTRY: (re.compile(r"^[A-Z]{2}$"), "an ISO 3166 alpha-2 country code"),
}
#: Largest weight a profile may state: e^10 multiplies the odds by 22,000, beyond any judgment.
MAX_WEIGHT = 10.0


Path_ = tuple[str | int, ...]


@dataclass
class _Document:
    """A parsed YAML mapping and the line of every key and value in it."""

    source: str
    data: dict[str, Any]
    lines: dict[Path_, int] = field(default_factory=dict)
    nodes: dict[Path_, yaml.Node] = field(default_factory=dict)
    record_id: str | None = None

    def error(self, path: Path_, reason: str, line: int | None = None) -> RecordError:
        found = line or self.lines.get(path) or self.lines.get(path[:1]) or 1
        return RecordError(reason, source=self.source, location=f"line {found}",
                           record_id=self.record_id,
                           field=".".join(str(p) for p in path) or None)  # fmt: skip


def _walk(doc: _Document, node: yaml.Node, path: Path_) -> None:
    doc.lines[path] = node.start_mark.line + 1
    doc.nodes[path] = node
    if isinstance(node, yaml.MappingNode):
        seen: set[str] = set()
        for key, value in node.value:
            name = str(key.value)
            if name in seen:
                raise doc.error(path + (name,), f"{name!r} is given twice",
                                key.start_mark.line + 1)  # fmt: skip
            seen.add(name)
            _walk(doc, value, path + (name,))
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            _walk(doc, item, path + (index,))


def _document(text: str, source: str) -> _Document:
    try:
        loader = yaml.SafeLoader(text)
        try:
            node = loader.get_single_node()
            data = loader.construct_document(node) if node is not None else None
        finally:
            loader.dispose()
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = f"line {mark.line + 1}" if mark else None
        raise RecordError(f"not valid YAML: {exc.problem or exc.context}", source=source,
                          location=line) from None  # fmt: skip
    except yaml.YAMLError as exc:
        raise InputError(f"not valid YAML: {exc}", source=source) from None
    if node is None or not isinstance(data, dict):
        raise RecordError("a profile file holds one YAML mapping (id: ..., condition: ...)",
                          source=source, location="line 1")  # fmt: skip
    doc = _Document(source, data)
    _walk(doc, node, ())
    if isinstance(data.get("id"), str):
        doc.record_id = data["id"]
    return doc


def _text(doc: _Document, path: Path_, value: Any, *, required: bool = True) -> str:
    if not isinstance(value, str) or (required and not value.strip()):
        raise doc.error(path, "must be a non-empty text")
    return value.strip()


def _moment(doc: _Document, path: Path_, value: Any, *, end: bool) -> datetime | None:
    """A validity bound: a date (``valid_to`` includes that whole day) or a time, in UTC."""
    if value is None:
        return None
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value)
        except ValueError:
            raise doc.error(path, f"{value!r} is not a date (YYYY-MM-DD)") from None
    if isinstance(value, datetime):
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    if isinstance(value, date):
        day = value + timedelta(days=1) if end else value
        return datetime.combine(day, time(), tzinfo=UTC)
    raise doc.error(path, "must be a date (YYYY-MM-DD) or a date and time")


def _lists(doc: _Document, value: Any) -> dict[str, tuple[str, ...] | tuple[float, ...]]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise doc.error(("lists",), "must map list names to lists of values")
    lists: dict[str, tuple[str, ...] | tuple[float, ...]] = {}
    for name, spec in value.items():
        path: Path_ = ("lists", str(name))
        if not _LIST_NAME.match(str(name)):
            raise doc.error(path, f"list name {name!r} must be letters, digits and _")
        kind, entries_path = ListKind.TEXT, path
        if isinstance(spec, dict):
            unknown = set(spec) - {"kind", "values"}
            if unknown or "values" not in spec:
                raise doc.error(path, "a list is [values] or {kind: ..., values: [...]}")
            try:
                kind = ListKind(str(spec.get("kind", "text")).lower())
            except ValueError:
                raise doc.error(path + ("kind",), "kind must be one of " +
                                ", ".join(k.value for k in ListKind)) from None  # fmt: skip
            spec, entries_path = spec["values"], path + ("values",)
        if not isinstance(spec, list) or not spec:
            raise doc.error(entries_path, "must be a list of at least one value")
        lists[str(name)] = _entries(doc, entries_path, kind, len(spec))
    return lists


def _entries(
    doc: _Document, path: Path_, kind: ListKind, count: int
) -> tuple[str, ...] | tuple[float, ...]:
    raw: list[str] = []
    for index in range(count):
        node = doc.nodes[path + (index,)]
        if not isinstance(node, yaml.ScalarNode) or not str(node.value).strip():
            raise doc.error(path + (index,), "each entry is one value")
        raw.append(str(node.value).strip())
    if kind is ListKind.NUMBER:
        numbers: list[float] = []
        for index, text in enumerate(raw):
            try:
                numbers.append(float(text))
            except ValueError:
                raise doc.error(path + (index,), f"{text!r} is not a number") from None
            if not math.isfinite(numbers[-1]):
                raise doc.error(path + (index,), f"{text!r} is not a finite number")
        return tuple(numbers)
    countries = ref.countries() if kind is ListKind.COUNTRY else {}
    for index, text in enumerate(raw):
        rule = _ENTRY.get(kind)
        if rule and not rule[0].match(text):
            raise doc.error(path + (index,), f"{text!r} is not {rule[1]}")
        if countries and text not in countries:
            raise doc.error(path + (index,), f"{text!r} is not a country code")
    return tuple(raw)


def _action(doc: _Document, value: Any) -> Action:
    if not isinstance(value, dict):
        raise doc.error(("action",), "must be a mapping with weight, lane and referral")
    for key in value:
        if key not in ACTION_KEYS:
            raise doc.error(("action", str(key)), f"unknown action {key!r}; an action has "
                            + ", ".join(ACTION_KEYS))  # fmt: skip
    weight = value.get("weight")
    if isinstance(weight, bool) or not isinstance(weight, int | float):
        raise doc.error(("action", "weight"), "weight (log-odds added, e.g. 1.5) is required")
    if not -MAX_WEIGHT <= weight <= MAX_WEIGHT:
        raise doc.error(("action", "weight"), f"weight must be between -{MAX_WEIGHT:g} and "
                        f"{MAX_WEIGHT:g}")  # fmt: skip
    lane = value.get("lane")
    referral = value.get("referral")
    try:
        lane = Lane(str(lane).lower()) if lane is not None else None
    except ValueError:
        raise doc.error(("action", "lane"), f"lane {lane!r} is not one of " +
                        ", ".join(m.value for m in Lane)) from None  # fmt: skip
    try:
        referral = Referral(str(referral).upper()) if referral is not None else None
    except ValueError:
        raise doc.error(("action", "referral"), f"referral {referral!r} is not one of RFI "
                        "(request for information), RFS (request for screening), DNL "
                        "(do not load)") from None  # fmt: skip
    return Action(float(weight), lane, referral)


def _condition_error(doc: _Document, text: str, exc: ConditionError) -> RecordError:
    """The file line of a condition error: exact for a ``|`` block, else the key's line."""
    node = doc.nodes[("condition",)]
    line = node.start_mark.line + 1
    if isinstance(node, yaml.ScalarNode) and node.style == "|":  # text starts a line below
        line += exc.line
    return doc.error(("condition",), f"{exc.reason} ({exc.where()}):\n{exc.pointer()}", line)


def parse(text: str, source: str = "<profile>") -> Profile:
    """The profile in ``text`` (one YAML mapping), checked and compiled; ``source`` names it.

    Raises ``RecordError`` (file, line, profile id, field, reason) for anything wrong.
    """
    doc = _document(text, source)
    data = doc.data
    for key in data:
        if key not in KEYS:
            close = difflib.get_close_matches(str(key), KEYS, n=1)
            hint = f"; did you mean {close[0]!r}?" if close else ""
            raise doc.error((str(key),), f"unknown key {key!r}{hint}")
    for key in REQUIRED:
        if key not in data:
            raise doc.error((), f"{key!r} is missing", 1)
    profile_id = _text(doc, ("id",), data["id"] if isinstance(data["id"], str) else None)
    if not _ID.match(profile_id):
        raise doc.error(("id",), "id must be 1-64 letters, digits, '.', '_' or '-'")
    version = data["version"]
    if isinstance(version, bool) or not isinstance(version, int) or version < 1:
        raise doc.error(("version",), "version must be a whole number, 1 or more")
    valid_from = _moment(doc, ("valid_from",), data.get("valid_from"), end=False)
    valid_to = _moment(doc, ("valid_to",), data.get("valid_to"), end=True)
    if valid_from and valid_to and valid_to <= valid_from:
        raise doc.error(("valid_to",), "valid_to must come after valid_from")
    lists = _lists(doc, data.get("lists"))
    reason = data.get("reason")
    fields: frozenset[str] = frozenset()
    if reason is not None:
        reason = _text(doc, ("reason",), reason)
        try:
            fields = template_fields(reason, FIELD_KINDS)
        except InputError as exc:
            raise doc.error(("reason",), exc.message) from None
    condition = data["condition"]
    if not isinstance(condition, str):
        raise doc.error(("condition",), "the condition must be text (use | for several lines)")
    try:
        compiled = compile_condition(condition, FIELD_KINDS, lists)
    except ConditionError as exc:
        raise _condition_error(doc, condition, exc) from None
    unused = sorted(set(lists) - compiled.lists)
    if unused:
        raise doc.error(("lists", unused[0]), f"list @{unused[0]} is not used by the condition")
    return Profile(
        id=profile_id, version=version,
        description=_text(doc, ("description",), data["description"]),
        owner=_text(doc, ("owner",), data["owner"]),
        valid_from=valid_from, valid_to=valid_to, condition=condition.strip(), lists=lists,
        action=_action(doc, data["action"]), reason=reason, source=source, body=text,
        sha256=hashlib.sha256(text.encode("utf-8")).hexdigest(),
        expr=compiled.expr, fields=compiled.fields | fields,
    )  # fmt: skip


def read(path: Path) -> Profile:
    """The profile in the file ``path``; an ``InputError`` if it cannot be read."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"cannot read the profile: {exc}", source=str(path)) from None
    return parse(text, str(path))
