"""From a condition's syntax tree to one polars expression, with a type check on the way.

``compile_condition`` checks every name against the fields of the profile frame (an unknown one
is rejected with the closest field names), every ``@list`` against the profile's lookup lists,
and the kind of every operand: a number is not compared with a text, ``contains`` needs a list
or a text. The result is one boolean ``pl.Expr`` over whole columns: applying a profile to a
million consignments is one polars pass, and no analyst text is ever handed to ``eval``.

Missing values: every comparison or test that involves a missing value is false (and ``not``
turns it into true), so a profile never fires, or fails, on a null by accident; ``is null``
tests for missing values explicitly.

Every reason is made with ``errors.said``, each clause in it too (a kind such as "a number",
the hint after an unknown name), so a page shows the whole message in the analyst's language.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum

import polars as pl

from quaywatch.errors import Said, said
from quaywatch.risk.profiles.syntax import (
    Binary,
    Call,
    ConditionError,
    ListLiteral,
    ListRef,
    Literal,
    Name,
    Node,
    Test,
    Unary,
    parse,
)


class Kind(StrEnum):
    """The kind of a value in a condition, as analysts read it in error messages."""

    NUMBER = "number"
    TEXT = "text"
    BOOL = "yes/no"
    TEXT_LIST = "list of texts"
    TIME = "time"
    NULL = "null"

    @property
    def a(self) -> Said:
        """The kind with its article, as a message says it: ``a number``."""
        return _A_KIND[self]


_A_KIND = {
    Kind.NUMBER: said("a number"), Kind.TEXT: said("a text"), Kind.BOOL: said("a yes/no"),
    Kind.TEXT_LIST: said("a list of texts"), Kind.TIME: said("a time"), Kind.NULL: said("a null"),
}  # fmt: skip
#: A lookup list by the kind of its entries (numbers or texts).
_A_LIST = {Kind.NUMBER: said("a list of numbers"), Kind.TEXT: said("a list of texts")}


def _either(names: Sequence[str]) -> str:
    """``a``, ``a or b``, ``a, b or c``: the closest names an analyst may have meant."""
    if len(names) == 1:
        return names[0]
    return said("%(names)s or %(last)s", names=", ".join(names[:-1]), last=names[-1])


def kind_of(dtype: pl.DataType) -> Kind | None:
    """The condition kind of a polars column type; None for types conditions cannot use."""
    if dtype.is_numeric():
        return Kind.NUMBER
    if dtype == pl.String or isinstance(dtype, pl.Categorical | pl.Enum):
        return Kind.TEXT
    if dtype == pl.Boolean:
        return Kind.BOOL
    if isinstance(dtype, pl.Datetime):
        return Kind.TIME
    if isinstance(dtype, pl.List) and dtype.inner == pl.String:
        return Kind.TEXT_LIST
    return None


def kinds_of(schema: Mapping[str, pl.DataType]) -> dict[str, Kind]:
    """The fields of a frame a condition may use, with their kinds."""
    return {name: kind for name, dtype in schema.items() if (kind := kind_of(dtype)) is not None}


@dataclass(frozen=True, slots=True)
class Compiled:
    """A compiled condition: the expression and the fields and lists it reads."""

    expr: pl.Expr
    fields: frozenset[str]
    lists: frozenset[str]


Typed = tuple[pl.Expr, Kind]
Values = tuple[str, ...] | tuple[float, ...]

_ORDERED = frozenset({Kind.NUMBER, Kind.TEXT, Kind.TIME})
_COMPARE: dict[str, Callable[[pl.Expr, pl.Expr], pl.Expr]] = {
    "==": lambda a, b: a == b, "!=": lambda a, b: a != b, "<": lambda a, b: a < b,
    "<=": lambda a, b: a <= b, ">": lambda a, b: a > b, ">=": lambda a, b: a >= b,
}  # fmt: skip
#: Functions analysts may call, with the line ``docs/profiles.md`` shows for each.
FUNCTIONS = {
    "chapter": "chapter(hs) — the HS chapter (first 2 digits) of a code, or of each code of a list",
    "heading": "heading(hs) — the HS heading (first 4 digits), of a code or of each of a list",
    "upper": "upper(text), lower(text) — the text in capitals or small letters",
    "lower": "lower(text)",
    "abs": "abs(number) — the number without its sign",
    "log": "log(number) — natural logarithm; missing for zero or less",
    "ratio": "ratio(a, b) — a divided by b; missing when b is zero",
    "min": "min(a, b, ...), max(a, b, ...) — smallest or largest of numbers",
    "max": "max(a, b, ...)",
    "coalesce": "coalesce(a, b, ...) — the first that is not missing",
    "len": "len(list) — how many entries a list has",
    "any_in": "any_in(list, collection) — some entry of the list is in the collection",
    "all_in": "all_in(list, collection) — every entry of the list is in the collection",
    "count_in": "count_in(list, collection) — how many entries of the list are in it",
    "hour": "hour(time) — hour of the day, 0-23 (UTC)",
    "weekday": "weekday(time) — day of the week, 1 Monday to 7 Sunday",
}


class _Compiler:
    def __init__(self, text: str, fields: Mapping[str, Kind], lists: Mapping[str, Values]):
        self.text = text
        self.fields = fields
        self.lists = lists
        self.used_fields: set[str] = set()
        self.used_lists: set[str] = set()

    def fail(self, reason: Said, node: Node) -> ConditionError:
        return ConditionError(reason, node.position, self.text)

    def boolean(self, node: Node) -> pl.Expr:
        expr, kind = self.visit(node)
        if kind is not Kind.BOOL:
            raise self.fail(said("expected a yes/no test here, found %(kind)s", kind=kind.a), node)
        return expr

    def visit(self, node: Node) -> Typed:
        if isinstance(node, Literal):
            return self.literal(node)
        if isinstance(node, Name):
            return self.name(node)
        if isinstance(node, ListRef | ListLiteral):
            raise self.fail(said("a list can only follow 'in', 'contains' or 'startswith'"), node)
        if isinstance(node, Unary):
            if node.op == "not":
                return ~self.boolean(node.operand), Kind.BOOL
            return -self.number(node.operand), Kind.NUMBER
        if isinstance(node, Binary):
            return self.binary(node)
        if isinstance(node, Test):
            return self.test(node)
        return self.call(node)

    def literal(self, node: Literal) -> Typed:
        value = node.value
        if value is None:
            return pl.lit(None), Kind.NULL
        if isinstance(value, bool):
            return pl.lit(value), Kind.BOOL
        if isinstance(value, float):
            return pl.lit(value), Kind.NUMBER
        return pl.lit(value), Kind.TEXT

    def name(self, node: Name) -> Typed:
        kind = self.fields.get(node.name)
        if kind is None:
            close = difflib.get_close_matches(node.name, list(self.fields), n=4, cutoff=0.6)
            if node.name.lower() in FUNCTIONS:
                hint = said("%(name)s() is a function: write %(name)s(...)", name=node.name)
            elif close:
                hint = said("did you mean %(names)s?", names=_either(close))
            else:
                hint = said("the fields are listed in docs/profiles.md")
            raise self.fail(said("unknown field %(name)s; %(hint)s", name=repr(node.name),
                                 hint=hint), node)  # fmt: skip
        self.used_fields.add(node.name)
        expr = pl.col(node.name)
        return (expr.fill_null(False), kind) if kind is Kind.BOOL else (expr, kind)

    def number(self, node: Node) -> pl.Expr:
        expr, kind = self.visit(node)
        if kind is not Kind.NUMBER:
            raise self.fail(said("expected a number here, found %(kind)s", kind=kind.a), node)
        return expr

    def time_text(self, node: Node, typed: Typed, other: Kind) -> Typed:
        """A text literal read as a time when compared with a time; otherwise as it is."""
        if other is Kind.TIME and typed[1] is Kind.TEXT and isinstance(node, Literal):
            try:
                moment = datetime.fromisoformat(str(node.value))
            except ValueError:
                raise self.fail(said("%(value)s is not a date (YYYY-MM-DD)",
                                     value=repr(node.value)), node) from None  # fmt: skip
            moment = moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment
            return pl.lit(moment.astimezone(UTC), pl.Datetime("us", "UTC")), Kind.TIME
        return typed

    def comparable(self, left: Node, right: Node, op: str) -> tuple[pl.Expr, pl.Expr]:
        a, b = self.visit(left), self.visit(right)
        a, b = self.time_text(left, a, b[1]), self.time_text(right, b, a[1])
        if Kind.NULL in (a[1], b[1]):
            raise self.fail(said("compare with null using 'is null' or 'is not null'"), right)
        if a[1] is not b[1]:
            raise self.fail(said("cannot compare %(kind)s with %(other)s", kind=a[1].a,
                                 other=b[1].a), right)  # fmt: skip
        if op not in ("==", "!=") and a[1] not in _ORDERED:
            raise self.fail(said("'%(op)s' needs numbers, texts or times, not %(kind)s", op=op,
                                 kind=a[1].a), right)  # fmt: skip
        return a[0], b[0]

    def binary(self, node: Binary) -> Typed:
        if node.op in ("and", "or"):
            left, right = self.boolean(node.left), self.boolean(node.right)
            return (left & right if node.op == "and" else left | right), Kind.BOOL
        if node.op in _COMPARE:
            a, b = self.comparable(node.left, node.right, node.op)
            return _COMPARE[node.op](a, b).fill_null(False), Kind.BOOL
        a, b = self.number(node.left), self.number(node.right)
        if node.op == "+":
            return a + b, Kind.NUMBER
        if node.op == "-":
            return a - b, Kind.NUMBER
        if node.op == "*":
            return a * b, Kind.NUMBER
        return _divide(a, b), Kind.NUMBER

    def collection(self, node: Node) -> tuple[Values, Kind]:
        if isinstance(node, ListRef):
            found = self.lists.get(node.name)
            if found is None:
                if not self.lists:
                    raise self.fail(said("@%(name)s is not a list of this profile (it has none)",
                                         name=node.name), node)  # fmt: skip
                known = ", ".join(f"@{n}" for n in sorted(self.lists))
                raise self.fail(said("@%(name)s is not a list of this profile (its lists: "
                                     "%(lists)s)", name=node.name, lists=known), node)  # fmt: skip
            self.used_lists.add(node.name)
            values: Values = found
        elif isinstance(node, ListLiteral):
            # literal() gives numbers or texts only; the kind check below keeps them apart.
            values = tuple(item.value for item in node.items)  # type: ignore[assignment]
        else:
            raise self.fail(said('expected a list: ["a", "b"] or @name'), node)
        kinds = {Kind.NUMBER if isinstance(v, float | int) else Kind.TEXT for v in values}
        if len(kinds) != 1:
            raise self.fail(said("a list mixes numbers and texts"), node)
        return values, kinds.pop()

    def test(self, node: Test) -> Typed:
        operand, kind = self.visit(node.operand)
        if node.op == "null":
            result = operand.is_null()
        elif node.op == "between":
            low = self.comparable(node.operand, node.arguments[0], ">=")[1]
            high = self.comparable(node.operand, node.arguments[1], "<=")[1]
            result = operand.is_between(low, high).fill_null(False)
        elif node.op == "in":
            values, element = self.collection(node.arguments[0])
            if kind is Kind.TEXT_LIST:
                raise self.fail(said("a list field is never 'in' a list: use 'contains' or "
                                     "any_in()"), node.operand)  # fmt: skip
            if kind is not element:
                raise self.fail(said("cannot look for %(kind)s in %(list)s", kind=kind.a,
                                     list=_A_LIST[element]), node)  # fmt: skip
            # Numbers are compared as floats: an integer field (version) against [1, 2] too.
            probe = operand.cast(pl.Float64) if kind is Kind.NUMBER else operand
            result = probe.is_in(_collection(values)).fill_null(False)
        else:
            result = self.text_test(node, operand, kind)
        return (~result if node.negated else result), Kind.BOOL

    def text_test(self, node: Test, operand: pl.Expr, kind: Kind) -> pl.Expr:
        """``contains`` and ``startswith`` on a text or on each entry of a list of texts."""
        argument = node.arguments[0]
        if kind not in (Kind.TEXT, Kind.TEXT_LIST):
            raise self.fail(said("'%(op)s' needs a text or a list of texts, not %(kind)s",
                                 op=node.op, kind=kind.a), node)  # fmt: skip
        if isinstance(argument, ListRef | ListLiteral):
            values, element = self.collection(argument)
            if element is not Kind.TEXT:
                raise self.fail(said("'%(op)s' needs texts to look for", op=node.op), argument)
            if node.op == "contains":
                return _any_in(operand, values) if kind is Kind.TEXT_LIST else (
                    operand.str.contains_any(list(values)).fill_null(False))  # fmt: skip
            return _starts(operand, kind, tuple(str(v) for v in values))
        needle, needle_kind = self.visit(argument)
        if needle_kind is not Kind.TEXT:
            raise self.fail(said("'%(op)s' needs a text to look for, not %(kind)s", op=node.op,
                                 kind=needle_kind.a), argument)  # fmt: skip
        if kind is Kind.TEXT_LIST:
            if node.op == "contains":
                return operand.list.contains(needle).fill_null(False)
            if not isinstance(argument, Literal):
                raise self.fail(said("startswith on a list needs a quoted text or a list"),
                                argument)  # fmt: skip
            return _starts(operand, kind, (str(argument.value),))
        if node.op == "contains":
            return operand.str.contains(needle, literal=True).fill_null(False)
        return operand.str.starts_with(needle).fill_null(False)

    def call(self, node: Call) -> Typed:
        name = node.function.lower()
        if name not in FUNCTIONS:
            close = difflib.get_close_matches(name, list(FUNCTIONS), n=3, cutoff=0.6)
            hint = said("did you mean %(names)s?", names=_either([f"{c}()" for c in close])) \
                if close else said("the functions are listed in docs/profiles.md")  # fmt: skip
            raise self.fail(said("unknown function %(name)s(); %(hint)s", name=node.function,
                                 hint=hint), node)  # fmt: skip
        args = node.arguments
        arity = {"min": None, "max": None, "coalesce": None, "ratio": 2, "any_in": 2,
                 "all_in": 2, "count_in": 2}.get(name, 1)  # fmt: skip
        if (arity is None and len(args) < 2) or (arity is not None and len(args) != arity):
            if arity is None:
                raise self.fail(said("%(name)s() takes at least 2 arguments, got %(count)s",
                                     name=name, count=len(args)), node)  # fmt: skip
            raise self.fail(said("%(name)s() takes %(wanted)s argument(s), got %(count)s",
                                 name=name, wanted=arity, count=len(args)), node)  # fmt: skip
        if name in ("any_in", "all_in", "count_in"):
            operand, kind = self.visit(args[0])
            if kind is not Kind.TEXT_LIST:
                raise self.fail(said("%(name)s() needs a list field first, not %(kind)s",
                                     name=name, kind=kind.a), args[0])  # fmt: skip
            values, element = self.collection(args[1])
            if element is not Kind.TEXT:  # 080390 unquoted is the number 80390
                raise self.fail(said('%(name)s() needs a list of texts (quote codes: "080390")',
                                     name=name), args[1])  # fmt: skip
            inside = operand.list.eval(pl.element().is_in(_collection(values)))
            if name == "count_in":
                return inside.list.sum().cast(pl.Float64), Kind.NUMBER
            found = inside.list.any() if name == "any_in" else inside.list.all()
            return found.fill_null(False), Kind.BOOL
        if name in ("min", "max", "ratio", "abs", "log"):
            numbers = [self.number(a) for a in args]
            if name == "min":
                return pl.min_horizontal(numbers), Kind.NUMBER
            if name == "max":
                return pl.max_horizontal(numbers), Kind.NUMBER
            if name == "ratio":
                return _divide(numbers[0], numbers[1]), Kind.NUMBER
            if name == "abs":
                return numbers[0].abs(), Kind.NUMBER
            return pl.when(numbers[0] > 0).then(numbers[0].log()), Kind.NUMBER
        typed = [self.visit(a) for a in args]
        if name == "coalesce":
            kinds = {k for _, k in typed}
            if len(kinds) != 1:
                raise self.fail(said("coalesce() needs values of one kind"), node)
            return pl.coalesce([e for e, _ in typed]), kinds.pop()
        expr, kind = typed[0]
        accepted = _ACCEPTS.get(name, (Kind.TEXT, Kind.TEXT_LIST))
        if kind not in accepted:
            wanted = accepted[0].a if len(accepted) == 1 else said("a text or list of texts")
            raise self.fail(said("%(name)s() needs %(wanted)s, not %(kind)s", name=name,
                                 wanted=wanted, kind=kind.a), args[0])  # fmt: skip
        if name == "hour":
            return expr.dt.hour().cast(pl.Float64), Kind.NUMBER
        if name == "weekday":
            return expr.dt.weekday().cast(pl.Float64), Kind.NUMBER
        if name == "len":
            return expr.list.len().cast(pl.Float64), Kind.NUMBER
        if name in ("upper", "lower"):
            return (expr.str.to_uppercase() if name == "upper" else expr.str.to_lowercase()), kind
        width = 2 if name == "chapter" else 4
        if kind is Kind.TEXT_LIST:
            return expr.list.eval(pl.element().str.slice(0, width)), kind
        return expr.str.slice(0, width), kind


#: What the one-argument functions accept; chapter() and heading() take a text or a list.
_ACCEPTS: dict[str, tuple[Kind, ...]] = {
    "hour": (Kind.TIME,), "weekday": (Kind.TIME,), "len": (Kind.TEXT_LIST,),
    "upper": (Kind.TEXT,), "lower": (Kind.TEXT,),
}  # fmt: skip


def _collection(values: Values) -> pl.Expr:
    """``values`` as one list value, so ``is_in`` never reads them as a column to compare."""
    return pl.lit(pl.Series(values)).implode()


def _divide(a: pl.Expr, b: pl.Expr) -> pl.Expr:
    """``a / b``, missing where ``b`` is zero (an infinity would compare true by accident)."""
    return pl.when(b != 0).then(a / b)


def _any_in(operand: pl.Expr, values: Values) -> pl.Expr:
    return operand.list.eval(pl.element().is_in(_collection(values))).list.any().fill_null(False)


def _starts(operand: pl.Expr, kind: Kind, prefixes: Sequence[str]) -> pl.Expr:
    def test(text: pl.Expr) -> pl.Expr:
        return pl.any_horizontal([text.str.starts_with(p) for p in prefixes])

    if kind is Kind.TEXT_LIST:
        return operand.list.eval(test(pl.element())).list.any().fill_null(False)
    return test(operand).fill_null(False)


def compile_condition(
    text: str, fields: Mapping[str, Kind], lists: Mapping[str, Values] | None = None
) -> Compiled:
    """``text`` as one boolean expression over a frame whose fields are ``fields``.

    ``lists`` are the profile's lookup lists by name (``@name`` in the text). A
    ``ConditionError`` names the reason and the column in ``text`` of anything wrong.

    >>> compiled = compile_condition("n_items > 2", {"n_items": Kind.NUMBER})
    >>> sorted(compiled.fields)
    ['n_items']
    """
    compiler = _Compiler(text, fields, lists or {})
    expr = compiler.boolean(parse(text))
    return Compiled(expr, frozenset(compiler.used_fields), frozenset(compiler.used_lists))
