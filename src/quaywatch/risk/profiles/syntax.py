"""The condition language of risk profiles: tokens, syntax tree and a recursive-descent parser.

An analyst writes a profile's condition as one expression over the fields of a consignment::

    reefer and port_of_loading in @cocaine_ports
      and (main_hs6 startswith ["0803", "0804"] or transshipment_ports contains @hubs)
      and value_ratio between 0.2 and 5

The grammar, loosest binding first (``docs/profiles.md`` explains it for analysts)::

    condition := or
    or        := and ("or" and)*
    and       := not ("and" not)*
    not       := "not" not | predicate
    predicate := sum [ ("==" | "=" | "!=" | "<" | "<=" | ">" | ">=") sum
                     | ["not"] "in" collection
                     | ["not"] "between" sum "and" sum
                     | "contains" (sum | collection)
                     | "startswith" (sum | collection)
                     | "is" ["not"] "null" ]
    sum       := product (("+" | "-") product)*
    product   := unary (("*" | "/") unary)*
    unary     := "-" unary | primary
    primary   := number | string | "true" | "false" | "null" | name ["(" args ")"]
                 | "(" condition ")" | collection
    collection:= "[" literal ("," literal)* [","] "]" | "@" name

Nothing here evaluates anything: ``parse`` turns text into a tree of frozen dataclasses, which
``compiler`` turns into a polars expression. Every error is a ``ConditionError`` (an
``InputError``) that carries the position in the text, never another exception, whatever the
input (tested with hypothesis). Its reason is made with ``errors.said`` (a clause within it,
such as what was found instead, too), so the web application shows it in the analyst's
language.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Literal as TypingLiteral

from quaywatch.errors import InputError, Said, said

#: Deepest nesting of parentheses and unary operators; deeper is certainly a mistake and would
#: otherwise exhaust Python's recursion limit.
MAX_DEPTH = 60
KEYWORDS = frozenset(
    {"and", "or", "not", "in", "between", "contains", "startswith", "is", "true", "false", "null"}
)
COMPARISONS = {"==": "==", "=": "==", "!=": "!=", "<": "<", "<=": "<=", ">": ">", ">=": ">="}


class ConditionError(InputError):
    """A condition that cannot be parsed or compiled; ``position`` is 0-based in the text,
    ``line`` and ``column`` (from 1) the same within the condition."""

    def __init__(self, reason: Said, position: int, text: str) -> None:
        self.reason = reason
        self.position = max(0, min(position, len(text)))
        self.text = text
        before = text[: self.position]
        self.line = before.count("\n") + 1
        self.column = self.position - (before.rfind("\n") + 1) + 1
        super().__init__(self.placed())

    def placed(self) -> Said:
        """The reason and where in the condition: ``... (condition column 7)``, or, for a
        condition of several lines, its line too."""
        if "\n" in self.text.strip("\n"):
            return said("%(reason)s (condition line %(line)s, column %(column)s)",
                        reason=self.reason, line=self.line, column=self.column)  # fmt: skip
        return said("%(reason)s (condition column %(column)s)", reason=self.reason,
                    column=self.column)  # fmt: skip

    def where(self) -> str:
        """``condition column 7`` or, for a condition of several lines, its line too (the
        English of ``placed``, for a message that quotes the condition)."""
        if "\n" in self.text.strip("\n"):
            return f"condition line {self.line}, column {self.column}"
        return f"condition column {self.column}"

    def pointer(self) -> str:
        """The offending line of the condition with a caret under the position."""
        line = self.text.split("\n")[self.line - 1]
        return f"    {line}\n    {' ' * (self.column - 1)}^"


# --- tokens -------------------------------------------------------------------------------

TokenKind = TypingLiteral["number", "string", "name", "list", "op", "end"]


@dataclass(frozen=True, slots=True)
class Token:
    """One token: its kind, its value (text, or the number) and its position."""

    kind: TokenKind
    value: str | float
    position: int


_TOKEN = re.compile(
    r"""
    (?P<space>\s+)
  | (?P<number>(?:\d+(?:_\d+)*(?:\.\d+)?|\.\d+)(?:[eE][+-]?\d+)?)
  | (?P<string>"(?:[^"\\\n]|\\.)*"|'(?:[^'\\\n]|\\.)*')
  | (?P<list>@[A-Za-z_][A-Za-z0-9_]*)
  | (?P<name>[A-Za-z_][A-Za-z0-9_]*)
  | (?P<op>==|!=|<=|>=|[<>=+\-*/(),\[\]])
    """,
    re.VERBOSE,
)
_ESCAPE = re.compile(r"\\(.)")


def tokenize(text: str) -> list[Token]:
    """The tokens of ``text``, ending with an ``end`` token; a ``ConditionError`` if stuck."""
    tokens: list[Token] = []
    at = 0
    while at < len(text):
        match = _TOKEN.match(text, at)
        if match is None:
            raise ConditionError(said("unexpected character %(char)s", char=repr(text[at])),
                                 at, text)  # fmt: skip
        kind, raw = match.lastgroup, match.group()
        if kind == "number":
            number = float(raw)
            if not math.isfinite(number):
                raise ConditionError(said("number %(number)s is too large", number=raw), at, text)
            tokens.append(Token("number", number, at))
        elif kind == "string":
            tokens.append(Token("string", _ESCAPE.sub(r"\1", raw[1:-1]), at))
        elif kind == "list":
            tokens.append(Token("list", raw[1:], at))
        elif kind == "name":
            tokens.append(Token("op" if raw.lower() in KEYWORDS else "name",
                                raw.lower() if raw.lower() in KEYWORDS else raw, at))  # fmt: skip
        elif kind == "op":
            tokens.append(Token("op", raw, at))
        at = match.end()
    tokens.append(Token("end", "", len(text)))
    return tokens


# --- syntax tree --------------------------------------------------------------------------

Value = float | str | bool | None


@dataclass(frozen=True, slots=True)
class Literal:
    value: Value
    position: int


@dataclass(frozen=True, slots=True)
class Name:
    name: str
    position: int


@dataclass(frozen=True, slots=True)
class ListRef:
    """``@name``: a lookup list of the profile."""

    name: str
    position: int


@dataclass(frozen=True, slots=True)
class ListLiteral:
    items: tuple[Literal, ...]
    position: int


@dataclass(frozen=True, slots=True)
class Unary:
    op: str  # "-" or "not"
    operand: Node
    position: int


@dataclass(frozen=True, slots=True)
class Binary:
    op: str  # arithmetic, comparison, "and", "or"
    left: Node
    right: Node
    position: int


@dataclass(frozen=True, slots=True)
class Test:
    """A predicate with a keyword: ``in``, ``between``, ``contains``, ``startswith``, ``null``."""

    op: str
    operand: Node
    arguments: tuple[Node, ...]
    negated: bool
    position: int


@dataclass(frozen=True, slots=True)
class Call:
    function: str
    arguments: tuple[Node, ...]
    position: int


Node = Literal | Name | ListRef | ListLiteral | Unary | Binary | Test | Call


# --- parser -------------------------------------------------------------------------------


class _Parser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.tokens = tokenize(text)
        self.at = 0
        self.depth = 0

    @property
    def token(self) -> Token:
        return self.tokens[self.at]

    def fail(self, reason: Said, token: Token | None = None) -> ConditionError:
        token = token or self.token
        return ConditionError(reason, token.position, self.text)

    def describe(self, token: Token) -> str:
        if token.kind == "end":
            return said("the end of the condition")
        if token.kind == "string":
            return said('the text "%(text)s"', text=token.value)
        if token.kind == "list":
            return f"@{token.value}"
        if token.kind == "number":
            return said("the number %(number)s", number=format(token.value, "g"))
        return repr(token.value)

    def accept(self, *ops: str) -> Token | None:
        if self.token.kind == "op" and self.token.value in ops:
            token = self.token
            self.at += 1
            return token
        return None

    def expect(self, op: str, what: Said) -> Token:
        token = self.accept(op)
        if token is None:
            raise self.fail(said("expected %(what)s, found %(found)s", what=what,
                                 found=self.describe(self.token)))  # fmt: skip
        return token

    def nest(self) -> None:
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise self.fail(said("the condition nests deeper than %(levels)s levels",
                                 levels=MAX_DEPTH))  # fmt: skip

    def parse(self) -> Node:
        if self.token.kind == "end":
            raise self.fail(said("the condition is empty"))
        node = self.or_()
        rest = self.tokens[self.at]
        if rest.kind != "end":
            raise self.fail(said("unexpected %(found)s; expected 'and', 'or' or the end",
                                 found=self.describe(rest)))  # fmt: skip
        return node

    def or_(self) -> Node:
        node = self.and_()
        while token := self.accept("or"):
            node = Binary("or", node, self.and_(), token.position)
        return node

    def and_(self) -> Node:
        node = self.not_()
        while token := self.accept("and"):
            node = Binary("and", node, self.not_(), token.position)
        return node

    def not_(self) -> Node:
        if token := self.accept("not"):
            self.nest()
            node = Unary("not", self.not_(), token.position)
            self.depth -= 1
            return node
        return self.predicate()

    def predicate(self) -> Node:
        node = self.sum_()
        token = self.token
        if token.kind == "op" and token.value in COMPARISONS:
            self.at += 1
            return Binary(COMPARISONS[str(token.value)], node, self.sum_(), token.position)
        negated = False
        if token.kind == "op" and token.value == "not":
            following = self.tokens[self.at + 1]
            if following.kind == "op" and following.value in ("in", "between"):
                self.at += 1
                negated = True
            else:
                raise self.fail(said("'not' here must be followed by 'in' or 'between'"))
        if self.accept("in"):
            return Test("in", node, (self.collection(),), negated, token.position)
        if self.accept("between"):
            low = self.sum_()
            self.expect("and", said("'and' between the two bounds of 'between'"))
            return Test("between", node, (low, self.sum_()), negated, token.position)
        for op in ("contains", "startswith"):
            if self.accept(op):
                argument = self.collection() if self._at_collection() else self.sum_()
                return Test(op, node, (argument,), False, token.position)
        if self.accept("is"):
            negated = self.accept("not") is not None
            self.expect("null", said("'null' after 'is'"))
            return Test("null", node, (), negated, token.position)
        return node

    def sum_(self) -> Node:
        node = self.product()
        while token := self.accept("+", "-"):
            node = Binary(str(token.value), node, self.product(), token.position)
        return node

    def product(self) -> Node:
        node = self.unary()
        while token := self.accept("*", "/"):
            node = Binary(str(token.value), node, self.unary(), token.position)
        return node

    def unary(self) -> Node:
        if token := self.accept("-"):
            self.nest()
            node = Unary("-", self.unary(), token.position)
            self.depth -= 1
            return node
        return self.primary()

    def _at_collection(self) -> bool:
        return self.token.kind == "list" or (self.token.kind == "op" and self.token.value == "[")

    def collection(self) -> ListRef | ListLiteral:
        token = self.token
        if token.kind == "list":
            self.at += 1
            return ListRef(str(token.value), token.position)
        self.expect("[", said('a list: ["a", "b"] or @name'))
        items: list[Literal] = []
        while not self.accept("]"):
            items.append(self.literal())
            if not self.accept(","):
                self.expect("]", said("',' or ']' in the list"))
                break
        if not items:
            raise self.fail(said("a list needs at least one value"), token)
        return ListLiteral(tuple(items), token.position)

    def literal(self) -> Literal:
        negative = self.accept("-") is not None
        token = self.token
        if token.kind == "number":
            self.at += 1
            value = float(token.value)
            return Literal(-value if negative else value, token.position)
        if token.kind == "string" and not negative:
            self.at += 1
            return Literal(str(token.value), token.position)
        raise self.fail(said("expected a number or a quoted text, found %(found)s",
                             found=self.describe(token)))  # fmt: skip

    def primary(self) -> Node:
        token = self.token
        if token.kind in ("number", "string"):
            self.at += 1
            return Literal(token.value, token.position)
        if token.kind == "op" and token.value in ("true", "false", "null"):
            self.at += 1
            value = {"true": True, "false": False, "null": None}[str(token.value)]
            return Literal(value, token.position)
        if self._at_collection():
            return self.collection()
        if token.kind == "name":
            self.at += 1
            if not self.accept("("):
                return Name(str(token.value), token.position)
            self.nest()
            arguments: list[Node] = []
            while not self.accept(")"):
                arguments.append(self.or_())
                if not self.accept(","):
                    self.expect(")", said("',' or ')' in the call of %(function)s()",
                                          function=token.value))  # fmt: skip
                    break
            self.depth -= 1
            return Call(str(token.value), tuple(arguments), token.position)
        if self.accept("("):
            self.nest()
            node = self.or_()
            self.expect(")", said("')' to close the '('"))
            self.depth -= 1
            return node
        raise self.fail(said("expected a value, found %(found)s", found=self.describe(token)))


def parse(text: str) -> Node:
    """The syntax tree of ``text``; a ``ConditionError`` that says where, if it is not valid.

    >>> parse("reefer and n_items > 2")  # doctest: +ELLIPSIS
    Binary(op='and', left=Name(name='reefer', position=0), ...)
    """
    return _Parser(text).parse()
