"""Sentences written by polars expressions that a page can show in its reader's language.

A hit source writes its sentences for a whole frame at once (``pl.format``). ``worded`` writes
the same sentence from an English template with ``%(name)s`` placeholders (an
``errors.said`` template, a key of the web catalogs) and, alongside, the message as JSON
(``{"id": template, "args": {...}}``, as ``risk.explain.said_json`` writes it): the hits
frame's ``said`` column, which the reason carries so that a page translates the template and
fills it with the same arguments. An argument is a column name, an expression (its text is
what ``pl.format`` would write) or another ``Worded`` (a word that translates too: "consignee").

>>> w = worded("seal %(old)s replaced by %(new)s", old="seal_before", new="seal_after")
>>> pl.DataFrame({"seal_before": ["4471"], "seal_after": ["9902"]}).select(w.columns()).row(0)
('seal 4471 replaced by 9902', '{"id": "seal %(old)s replaced by %(new)s", "args": {"old": "4471", "new": "9902"}}')
"""

from __future__ import annotations

import functools
import json
import re
import string
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import polars as pl

from quaywatch.errors import Said
from quaywatch.risk.explain import said_json

_PLACEHOLDER = re.compile(r"%\((\w+)\)s|%%")


@dataclass(frozen=True, slots=True)
class Worded:
    """A sentence per row: its English ``text`` and its message ``said`` (JSON, null where the
    text is null)."""

    text: pl.Expr
    said: pl.Expr

    def columns(self, text: str = "text", said: str = "said") -> list[pl.Expr]:
        """Both, named as the hits frame names them."""
        return [self.text.alias(text), self.said.alias(said)]


def _quoted(expr: pl.Expr) -> pl.Expr:
    """The JSON string of each value's text."""
    return (
        pl.struct(expr.cast(pl.String).alias("v")).struct.json_encode()
        .str.strip_prefix('{"v":').str.strip_suffix("}")
    )  # fmt: skip


def worded(template: str, **args: str | pl.Expr | Worded) -> Worded:
    """``template`` filled, per row, with ``args`` (see the module docstring)."""
    texts: list[pl.Expr] = []
    fields: list[pl.Expr] = []
    at = 0
    for match in _PLACEHOLDER.finditer(template):
        texts.append(pl.lit(template[at : match.start()]))
        at = match.end()
        if match.group(0) == "%%":
            texts.append(pl.lit("%"))
            continue
        name = match.group(1)
        arg = args[name]
        if isinstance(arg, Worded):
            texts.append(arg.text)
        else:
            texts.append((pl.col(arg) if isinstance(arg, str) else arg).cast(pl.String))
    texts.append(pl.lit(template[at:]))
    for name, arg in args.items():
        if fields:
            fields.append(pl.lit(", "))
        fields.append(pl.lit(f"{json.dumps(name)}: "))
        if isinstance(arg, Worded):
            fields.append(arg.said)
        else:
            fields.append(_quoted(pl.col(arg) if isinstance(arg, str) else arg))
    text = pl.concat_str(texts)
    head = f'{{"id": {json.dumps(template, ensure_ascii=False)}, "args": {{'
    said = pl.concat_str([pl.lit(head), *fields, pl.lit("}}")])
    return Worded(text, pl.when(text.is_not_null()).then(said))


def word(text: str) -> Worded:
    """A fixed word or sentence that translates (the template is the text itself)."""
    return Worded(pl.lit(text), pl.lit(json.dumps({"id": text, "args": {}}, ensure_ascii=False)))


def words(expr: pl.Expr, known: Iterable[str]) -> Worded:
    """The text of ``expr`` per row, as a word that translates where it is one of ``known``
    (a role: "consignee"), else as it is (a name)."""
    text = expr.cast(pl.String)
    as_word = pl.concat_str([pl.lit('{"id": '), _quoted(text), pl.lit(', "args": {}}')])
    return Worded(
        text, pl.when(text.is_in([str(k) for k in known])).then(as_word).otherwise(_quoted(text))
    )


def chosen(condition: pl.Expr, then: Worded, otherwise: Worded) -> Worded:
    """``then`` where ``condition`` holds, else ``otherwise``."""
    return Worded(
        pl.when(condition).then(then.text).otherwise(otherwise.text),
        pl.when(condition).then(then.said).otherwise(otherwise.said),
    )


@functools.cache
def said_template(reason: str) -> str | None:
    """The ``errors.said`` template of a ``str.format`` sentence with ``{named}`` fields
    (``hit_sources.HitCode.reason``): ``"seal {filed}"`` → ``"seal %(filed)s"``; None if it
    has a field that is not a plain name (a format spec, a conversion, a position)."""
    parts = []
    try:
        parsed = list(string.Formatter().parse(reason))
    except ValueError:
        return None
    for literal, field, spec, conversion in parsed:
        parts.append(literal.replace("%", "%%"))
        if field is None:
            continue
        if not field.isidentifier() or spec or conversion:
            return None
        parts.append(f"%({field})s")
    return "".join(parts)


def said_json_text(reason: str, params: Mapping[str, Any], text: str) -> str | None:
    """The message (JSON, as ``worded`` writes it) of ``text``, the sentence ``reason`` (a
    ``str.format`` template) filled with ``params``: a parameter that is an ``errors.Said``
    (a word) is nested. None where the template cannot be one or does not give ``text``."""
    template = said_template(reason)
    if template is None:
        return None
    try:
        message = Said(template, {name: params[name] for name in _fields(template)})
    except (KeyError, ValueError, TypeError):
        return None
    if str(message) != text:
        return None
    return json.dumps(said_json(message), ensure_ascii=False)


@functools.cache
def _fields(template: str) -> tuple[str, ...]:
    return tuple(dict.fromkeys(re.findall(r"%\((\w+)\)s", template)))
