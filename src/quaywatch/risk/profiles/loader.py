"""Reading risk profile files: YAML in, a checked and compiled ``Profile`` out, or a clear error.

An analyst's file is rejected with the file, the line and the reason (``RecordError``): an
unknown key, a missing description, a lane that does not exist, a port code that is not a
UN/LOCODE, a condition that does not parse (then also the column within the condition and a
caret under it). Lines come from the YAML parser's node marks, so they point at the value at
fault, not at the top of the file.

Lookup-list entries are taken as written: ``[080390, 030617]`` stays two HS codes (YAML alone
would read the second as an octal number).

Every error carries its line (and, where the YAML parser knows it, its column) as numbers
(``RecordError.line``, ``.column``) for an editor that marks them, and its reason made with
``errors.said`` (each clause in it too), so the web application shows it in the analyst's
language; the YAML parser's own words are translated for the problems analysts meet.
"""

from __future__ import annotations

import difflib
import hashlib
import math
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any

import yaml
import yaml.reader

from quaywatch.domain import reference as ref
from quaywatch.errors import InputError, RecordError, Said, said
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
    ListKind.HS: (re.compile(r"^\d{2}(?:\d{2}){0,2}$"), said("an HS code of 2, 4 or 6 digits")),
    ListKind.PORT: (re.compile(r"^[A-Z]{2}[A-Z2-9]{3}$"), said("a UN/LOCODE such as ECGYE")),
    ListKind.COUNTRY: (re.compile(r"^[A-Z]{2}$"), said("an ISO 3166 alpha-2 country code")),
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
    keys: dict[Path_, yaml.Node] = field(default_factory=dict)
    record_id: str | None = None

    def error(
        self, path: Path_, reason: str, line: int | None = None, *, column: int | None = None,
        excerpt: str | None = None,
    ) -> RecordError:  # fmt: skip
        """The error of the value at ``path``: at its line and column, unless ``line`` (and
        ``column``) say where exactly."""
        node = self.nodes.get(path) if line is None else None
        if node is not None:
            line, column = node.start_mark.line + 1, node.start_mark.column + 1
        found = line or self.lines.get(path[:1]) or 1
        return RecordError(reason, source=self.source, location=f"line {found}",
                           record_id=self.record_id, field=".".join(str(p) for p in path) or None,
                           line=found, column=column, excerpt=excerpt)  # fmt: skip

    def key_error(self, path: Path_, reason: str) -> RecordError:
        """The error of the key at ``path`` itself (an unknown key): at the key's line and
        column."""
        key = self.keys.get(path)  # None for a key YAML read as another kind (``true:``)
        if key is None:
            return self.error(path, reason)
        return self.error(path, reason, key.start_mark.line + 1, column=key.start_mark.column + 1)


#: The YAML parser's words for the problems analysts meet, each as a message that translates
#: (a ``%r`` of the parser is the ``found`` parameter); any other reads "not valid YAML", with
#: the parser's words after it in the English message only (the CLI's and the API's).
_YAML_PROBLEMS: tuple[tuple[re.Pattern[str], Callable[[str], Said]], ...] = (
    (re.compile(r"mapping values are not allowed here$"),
     lambda _: said("mapping values are not allowed here")),
    (re.compile(r"sequence entries are not allowed here$"),
     lambda _: said("sequence entries are not allowed here")),
    (re.compile(r"could not find expected ':'$"), lambda _: said("could not find expected ':'")),
    (re.compile(r"found character (.+) that cannot start any token$"),
     lambda found: said("found character %(found)s that cannot start any token", found=found)),
    (re.compile(r"expected <block end>, but found (.+)$"),
     lambda found: said("expected <block end>, but found %(found)s", found=found)),
    (re.compile(r"expected ',' or '\]', but got (.+)$"),
     lambda found: said("expected ',' or ']', but got %(found)s", found=found)),
    (re.compile(r"expected ',' or '\}', but got (.+)$"),
     lambda found: said("expected ',' or '}', but got %(found)s", found=found)),
    (re.compile(r"expected the node content, but found (.+)$"),
     lambda found: said("expected the node content, but found %(found)s", found=found)),
    (re.compile(r"expected alphabetic or numeric character, but found (.+)$"),
     lambda found: said("expected alphabetic or numeric character, but found %(found)s",
                        found=found)),
    (re.compile(r"expected a comment or a line break, but found (.+)$"),
     lambda found: said("expected a comment or a line break, but found %(found)s", found=found)),
    (re.compile(r"found unexpected end of stream$"),
     lambda _: said("found unexpected end of stream")),
    (re.compile(r"found unknown escape character (.+)$"),
     lambda found: said("found unknown escape character %(found)s", found=found)),
    (re.compile(r"found undefined alias (.+)$"),
     lambda found: said("found undefined alias %(found)s", found=found)),
    (re.compile(r"could not determine a constructor for the tag (.+)$"),
     lambda found: said("could not determine a constructor for the tag %(found)s", found=found)),
)  # fmt: skip


def _yaml_problem(problem: str) -> Said | None:
    """The YAML parser's ``problem`` as a message that translates; None for one not known."""
    for pattern, message in _YAML_PROBLEMS:
        matched = pattern.match(problem)
        if matched:
            return message(matched.group(1) if pattern.groups else "")
    return None


def _walk(doc: _Document, node: yaml.Node, path: Path_) -> None:
    doc.lines[path] = node.start_mark.line + 1
    doc.nodes[path] = node
    if isinstance(node, yaml.MappingNode):
        seen: set[str] = set()
        for key, value in node.value:
            name = str(key.value)
            if name in seen:
                raise doc.error(path + (name,), said("%(key)s is given twice", key=repr(name)),
                                key.start_mark.line + 1, column=key.start_mark.column + 1)  # fmt: skip
            seen.add(name)
            doc.keys[path + (name,)] = key
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
        problem = str(exc.problem or exc.context or "")
        known = _yaml_problem(problem)
        raise RecordError(
            said("not valid YAML: %(problem)s", problem=known) if known else said("not valid YAML"),
            source=source, location=f"line {mark.line + 1}" if mark else None,
            line=mark.line + 1 if mark else None, column=mark.column + 1 if mark else None,
            excerpt=None if known else f"({problem})",
        ) from None  # fmt: skip
    except yaml.reader.ReaderError as exc:  # a character YAML does not allow, before parsing
        line = text.count("\n", 0, exc.position) + 1
        column = exc.position - (text.rfind("\n", 0, exc.position) + 1) + 1
        char = repr(exc.character)
        if isinstance(exc.character, int):
            char = "U+" + format(exc.character, "04X")
        raise RecordError(said("not valid YAML: the character %(char)s is not allowed", char=char),
                          source=source, location=f"line {line}", line=line,
                          column=column) from None  # fmt: skip
    except yaml.YAMLError as exc:
        raise RecordError(said("not valid YAML"), source=source, location="line 1", line=1,
                          excerpt=f"({exc})") from None  # fmt: skip
    if node is None or not isinstance(data, dict):
        raise RecordError(said("a profile file holds one YAML mapping (id: ..., condition: ...)"),
                          source=source, location="line 1", line=1)  # fmt: skip
    doc = _Document(source, data)
    _walk(doc, node, ())
    if isinstance(data.get("id"), str):
        doc.record_id = data["id"]
    return doc


def _text(doc: _Document, path: Path_, value: Any, *, required: bool = True) -> str:
    if not isinstance(value, str) or (required and not value.strip()):
        raise doc.error(path, said("must be a non-empty text"))
    return value.strip()


def _moment(doc: _Document, path: Path_, value: Any, *, end: bool) -> datetime | None:
    """A validity bound: a date (``valid_to`` includes that whole day) or a time, in UTC."""
    if value is None:
        return None
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value)
        except ValueError:
            raise doc.error(path, said("%(value)s is not a date (YYYY-MM-DD)",
                                       value=repr(value))) from None  # fmt: skip
    if isinstance(value, datetime):
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    if isinstance(value, date):
        day = value + timedelta(days=1) if end else value
        return datetime.combine(day, time(), tzinfo=UTC)
    raise doc.error(path, said("must be a date (YYYY-MM-DD) or a date and time"))


def _lists(doc: _Document, value: Any) -> dict[str, tuple[str, ...] | tuple[float, ...]]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise doc.error(("lists",), said("must map list names to lists of values"))
    lists: dict[str, tuple[str, ...] | tuple[float, ...]] = {}
    for name, spec in value.items():
        path: Path_ = ("lists", str(name))
        if not _LIST_NAME.match(str(name)):
            raise doc.error(path, said("list name %(name)s must be letters, digits and _",
                                       name=repr(name)))  # fmt: skip
        kind, entries_path = ListKind.TEXT, path
        if isinstance(spec, dict):
            unknown = set(spec) - {"kind", "values"}
            if unknown or "values" not in spec:
                raise doc.error(path, said("a list is [values] or {kind: ..., values: [...]}"))
            try:
                kind = ListKind(str(spec.get("kind", "text")).lower())
            except ValueError:
                raise doc.error(path + ("kind",), said("kind must be one of %(kinds)s",
                                kinds=", ".join(k.value for k in ListKind))) from None  # fmt: skip
            spec, entries_path = spec["values"], path + ("values",)
        if not isinstance(spec, list) or not spec:
            raise doc.error(entries_path, said("must be a list of at least one value"))
        lists[str(name)] = _entries(doc, entries_path, kind, len(spec))
    return lists


def _entries(
    doc: _Document, path: Path_, kind: ListKind, count: int
) -> tuple[str, ...] | tuple[float, ...]:
    raw: list[str] = []
    for index in range(count):
        node = doc.nodes[path + (index,)]
        if not isinstance(node, yaml.ScalarNode) or not str(node.value).strip():
            raise doc.error(path + (index,), said("each entry is one value"))
        raw.append(str(node.value).strip())
    if kind is ListKind.NUMBER:
        numbers: list[float] = []
        for index, text in enumerate(raw):
            try:
                numbers.append(float(text))
            except ValueError:
                raise doc.error(path + (index,), said("%(value)s is not a number",
                                                      value=repr(text))) from None  # fmt: skip
            if not math.isfinite(numbers[-1]):
                raise doc.error(path + (index,), said("%(value)s is not a finite number",
                                                      value=repr(text)))  # fmt: skip
        return tuple(numbers)
    countries = ref.countries() if kind is ListKind.COUNTRY else {}
    for index, text in enumerate(raw):
        rule = _ENTRY.get(kind)
        if rule and not rule[0].match(text):
            raise doc.error(path + (index,), said("%(value)s is not %(what)s", value=repr(text),
                                                  what=rule[1]))  # fmt: skip
        if countries and text not in countries:
            raise doc.error(path + (index,), said("%(value)s is not a country code",
                                                  value=repr(text)))  # fmt: skip
    return tuple(raw)


def _action(doc: _Document, value: Any) -> Action:
    if not isinstance(value, dict):
        raise doc.error(("action",), said("must be a mapping with weight, lane and referral"))
    for key in value:
        if key not in ACTION_KEYS:
            raise doc.key_error(("action", str(key)), said("unknown action %(key)s; an action has "
                            "%(keys)s", key=repr(key), keys=", ".join(ACTION_KEYS)))  # fmt: skip
    weight = value.get("weight")
    if isinstance(weight, bool) or not isinstance(weight, int | float):
        raise doc.error(("action", "weight"),
                        said("weight (log-odds added, e.g. 1.5) is required"))  # fmt: skip
    if not -MAX_WEIGHT <= weight <= MAX_WEIGHT:
        bound = format(MAX_WEIGHT, "g")
        raise doc.error(("action", "weight"), said("weight must be between %(low)s and %(high)s",
                        low="-" + bound, high=bound))  # fmt: skip
    lane = value.get("lane")
    referral = value.get("referral")
    try:
        lane = Lane(str(lane).lower()) if lane is not None else None
    except ValueError:
        raise doc.error(("action", "lane"), said("lane %(lane)s is not one of %(lanes)s",
                        lane=repr(lane), lanes=", ".join(m.value for m in Lane))) from None  # fmt: skip
    try:
        referral = Referral(str(referral).upper()) if referral is not None else None
    except ValueError:
        raise doc.error(("action", "referral"), said("referral %(referral)s is not one of RFI "
                        "(request for information), RFS (request for screening), DNL "
                        "(do not load)", referral=repr(referral))) from None  # fmt: skip
    return Action(float(weight), lane, referral)


def _condition_error(doc: _Document, body: str, exc: ConditionError) -> RecordError:
    """A condition error at its place in the file: exact line and column for a ``|`` block
    (or ``|-``, ``|+``) and for a condition on the key's line; else the line where the
    condition starts, column unknown."""
    node = doc.nodes[("condition",)]
    line, column = node.start_mark.line + 1, None
    if isinstance(node, yaml.ScalarNode) and node.style == "|":  # text starts a line below
        line += exc.line
        lines = body.split("\n")
        first = next((t for t in lines[node.start_mark.line + 1 :] if t.strip()), "")
        column = len(first) - len(first.lstrip(" ")) + exc.column
    elif isinstance(node, yaml.ScalarNode) and node.start_mark.line == node.end_mark.line:
        raw = body[node.start_mark.index : node.end_mark.index]
        shift = 1 if node.style in ("'", '"') else 0
        if raw[shift : len(raw) - shift] == exc.text:  # no escapes: the text is as written
            column = node.start_mark.column + shift + exc.column
    return doc.error(("condition",), exc.reason, line, column=column,
                     excerpt=f"({exc.where()}):\n{exc.pointer()}")  # fmt: skip


def parse(text: str, source: str = "<profile>") -> Profile:
    """The profile in ``text`` (one YAML mapping), checked and compiled; ``source`` names it.

    Raises ``RecordError`` (file, line, profile id, field, reason) for anything wrong.
    """
    doc = _document(text, source)
    data = doc.data
    for key in data:
        if key not in KEYS:
            close = difflib.get_close_matches(str(key), KEYS, n=1)
            raise doc.key_error((str(key),), said("unknown key %(key)s; did you mean %(close)s?",
                            key=repr(key), close=repr(close[0])) if close else  # fmt: skip
                            said("unknown key %(key)s", key=repr(key)))  # fmt: skip
    for key in REQUIRED:
        if key not in data:
            raise doc.error((), said("%(key)s is missing", key=repr(key)), 1)
    profile_id = _text(doc, ("id",), data["id"] if isinstance(data["id"], str) else None)
    if not _ID.match(profile_id):
        raise doc.error(("id",), said("id must be 1-64 letters, digits, '.', '_' or '-'"))
    version = data["version"]
    if isinstance(version, bool) or not isinstance(version, int) or version < 1:
        raise doc.error(("version",), said("version must be a whole number, 1 or more"))
    valid_from = _moment(doc, ("valid_from",), data.get("valid_from"), end=False)
    valid_to = _moment(doc, ("valid_to",), data.get("valid_to"), end=True)
    if valid_from and valid_to and valid_to <= valid_from:
        raise doc.error(("valid_to",), said("valid_to must come after valid_from"))
    lists = _lists(doc, data.get("lists"))
    reason = data.get("reason")
    fields: frozenset[str] = frozenset()
    if reason is not None:
        reason = _text(doc, ("reason",), reason)
        try:
            fields = template_fields(reason, FIELD_KINDS)
        except InputError as exc:  # its reason is a ``said``: it stays translatable here
            raise doc.error(("reason",), exc.message) from None
    condition = data["condition"]
    if not isinstance(condition, str):
        raise doc.error(("condition",),
                        said("the condition must be text (use | for several lines)"))  # fmt: skip
    try:
        compiled = compile_condition(condition, FIELD_KINDS, lists)
    except ConditionError as exc:
        raise _condition_error(doc, text, exc) from None
    unused = sorted(set(lists) - compiled.lists)
    if unused:
        raise doc.error(("lists", unused[0]), said("list @%(name)s is not used by the condition",
                                                   name=unused[0]))  # fmt: skip
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
        raise InputError(said("cannot read the profile: %(reason)s", reason=str(exc)),
                         source=str(path)) from None  # fmt: skip
    return parse(text, str(path))
