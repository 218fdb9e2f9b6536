"""Column-wise parsing and checking of raw string fields, shared by every record kind.

A ``Field`` turns a raw string column into a typed, normalised column and a column of problems
(null where the value is fine). ``check`` applies a list of fields to a frame of raw strings in
one polars pass and adds ``_problems``: every ``field: reason`` found on the row.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

import polars as pl

from quaywatch.domain import identifiers as ids

Parser = Callable[[pl.Expr], tuple[pl.Expr, pl.Expr]]

#: Separates the field name from the reason inside a problem string, and problems from each other.
FIELD_SEP = "\x1f"
PROBLEM_SEP = "\x1e"
LIST_SEP = "|"

_TIME_FORMAT = "%Y-%m-%dT%H:%M:%S%.f%z"
_TRUE = ["TRUE", "1", "YES", "Y"]
_FALSE = ["FALSE", "0", "NO", "N"]


@dataclass(frozen=True, slots=True)
class Field:
    """One input column: how to parse it, and whether a record is invalid without it.

    ``repeats`` marks a column whose values recur from record to record (ports, countries,
    vessels, times to the hour): ``check`` parses each distinct value once and maps the result
    back, which is several times cheaper than parsing every row when a chunk repeats its values.
    """

    name: str
    parse: Parser
    required: bool = False
    repeats: bool = False


def text(max_length: int) -> Parser:
    """Free text up to ``max_length`` characters."""

    def parse(raw: pl.Expr) -> tuple[pl.Expr, pl.Expr]:
        problem = pl.when(raw.str.len_chars() > max_length).then(
            pl.lit(f"longer than {max_length} characters")
        )
        return raw, problem

    return parse


def code(
    problem: Callable[[pl.Expr], pl.Expr],
    normalise: Callable[[pl.Expr], pl.Expr] = ids.normalise_code_expr,
) -> Parser:
    """An identifier normalised and checked by ``domain.identifiers``."""

    def parse(raw: pl.Expr) -> tuple[pl.Expr, pl.Expr]:
        value = normalise(raw)
        return value, problem(value)

    return parse


def code_list(problem: Callable[[pl.Expr], pl.Expr]) -> Parser:
    """Identifiers separated by ``|``, each checked; stored normalised in the same form."""

    def parse(raw: pl.Expr) -> tuple[pl.Expr, pl.Expr]:
        parts = ids.normalise_code_expr(raw).str.split(LIST_SEP)
        first = parts.list.eval(problem(pl.element())).list.drop_nulls().list.first()
        return parts.list.join(LIST_SEP), first

    return parse


def enum(values: Iterable[str]) -> Parser:
    """One of a fixed vocabulary, compared upper-case."""
    allowed = sorted(str(value) for value in values)

    def parse(raw: pl.Expr) -> tuple[pl.Expr, pl.Expr]:
        value = raw.str.to_uppercase()
        problem = pl.when(~value.is_in(allowed)).then(
            pl.format("'{}' is not one of " + ", ".join(allowed), raw)
        )
        return value, problem

    return parse


def integer(minimum: int, maximum: int | None = None) -> Parser:
    """A whole number within bounds."""

    def parse(raw: pl.Expr) -> tuple[pl.Expr, pl.Expr]:
        value = raw.cast(pl.Int64, strict=False)
        bounds = f"at least {minimum}" + (f" and at most {maximum}" if maximum else "")
        too_big = value > maximum if maximum is not None else pl.lit(False)
        problem = (
            pl.when(value.is_null())
            .then(pl.format("'{}' is not a whole number", raw))
            .when((value < minimum) | too_big)
            .then(pl.lit(f"must be {bounds}"))
        )
        return value, problem

    return parse


def number(minimum: float, *, strict: bool = False, maximum: float | None = None) -> Parser:
    """A decimal number at least (or, ``strict``, above) ``minimum``, and at most ``maximum``.

    ``number(0, strict=True, maximum=1)`` is a probability that cannot be zero, (0, 1].
    """

    def parse(raw: pl.Expr) -> tuple[pl.Expr, pl.Expr]:
        value = raw.cast(pl.Float64, strict=False)
        low = value <= minimum if strict else value < minimum
        high = value > maximum if maximum is not None else pl.lit(False)
        ceiling = f"must be at most {maximum:g}" if maximum is not None else ""
        finite = value.is_finite()
        problem = (
            pl.when(value.is_null() | ~finite)
            .then(pl.format("'{}' is not a number", raw))
            .when(low)
            .then(pl.lit(f"must be {'above' if strict else 'at least'} {minimum:g}"))
            .when(high)
            .then(pl.lit(ceiling))
        )
        return value, problem

    return parse


def timestamp() -> Parser:
    """An ISO 8601 date and time with a UTC offset (``Z`` or ``+01:00``), kept in UTC."""

    def parse(raw: pl.Expr) -> tuple[pl.Expr, pl.Expr]:
        text = raw.str.replace(r"[zZ]$", "+00:00")
        value = text.str.to_datetime(_TIME_FORMAT, strict=False, time_zone="UTC", time_unit="us")
        problem = pl.when(value.is_null()).then(
            pl.format("'{}' is not an ISO 8601 time with a UTC offset", raw)
        )
        return value, problem

    return parse


def boolean() -> Parser:
    """true/false (also 1/0, yes/no)."""

    def parse(raw: pl.Expr) -> tuple[pl.Expr, pl.Expr]:
        upper = raw.str.to_uppercase()
        value = pl.when(upper.is_in(_TRUE)).then(True).when(upper.is_in(_FALSE)).then(False)
        problem = pl.when(value.is_null()).then(pl.format("'{}' is not true or false", raw))
        return value, problem

    return parse


def seal_list() -> Parser:
    """Seals as ``SOURCE:TYPE:NUMBER`` separated by ``|`` (e.g. ``CAR:BLT:ML123456``)."""
    pattern = r"^(CAR|SHI|PHY|VET|CUS):(KLP|BLT|WIR):[^|]{1,15}$"
    reason = "each seal is SOURCE:TYPE:NUMBER (CAR|SHI|PHY|VET|CUS, KLP|BLT|WIR, 1-15 chars)"

    def parse(raw: pl.Expr) -> tuple[pl.Expr, pl.Expr]:
        parts = raw.str.split(LIST_SEP).list.eval(pl.element().str.strip_chars())
        upper = parts.list.eval(
            pl.element().str.extract(r"^([^:]*:[^:]*:)", 1).str.to_uppercase()
            + pl.element().str.replace(r"^[^:]*:[^:]*:", "")
        )
        bad = upper.list.eval(~pl.element().str.contains(pattern)).list.any()
        return upper.list.join(LIST_SEP), pl.when(bad).then(pl.lit(reason))

    return parse


def problem_of(field: str, problem: pl.Expr) -> pl.Expr:
    """A problem tagged with its field, as stored in ``_problems``."""
    return pl.when(problem.is_not_null()).then(pl.lit(field + FIELD_SEP) + problem)


def check(frame: pl.DataFrame, fields: Sequence[Field]) -> pl.DataFrame:
    """Parse every field of ``frame`` (raw strings, blanks already null) and collect problems.

    Returns the frame with each field replaced by its parsed value and a ``_problems`` column.
    """
    by_value = _parsed_by_value(frame, [field for field in fields if field.repeats])
    values: list[pl.Expr] = []
    problems: list[pl.Expr] = []
    for field in fields:
        raw = pl.col(field.name)
        if field.name in by_value:
            parsed = by_value[field.name]
            value, problem = (
                raw.replace_strict(
                    parsed[field.name], parsed[column], default=None,
                    return_dtype=parsed.schema[column],
                )
                for column in ("_value", "_problem")
            )  # fmt: skip
        else:
            value, problem = field.parse(raw)
        values.append(value.alias(field.name))
        missing = pl.lit("missing") if field.required else pl.lit(None, dtype=pl.String)
        problems.append(
            problem_of(field.name, pl.when(raw.is_null()).then(missing).otherwise(problem))
        )
    return frame.with_columns(
        *values,
        pl.concat_str(problems, separator=PROBLEM_SEP, ignore_nulls=True).alias("_problems"),
    )


def _parsed_by_value(frame: pl.DataFrame, fields: Sequence[Field]) -> dict[str, pl.DataFrame]:
    """For each field, its distinct values with their parsed ``_value`` and ``_problem``.

    Left out where the values hardly repeat in ``frame``: mapping back would cost more than
    parsing every row.
    """
    if not fields or frame.is_empty():
        return {}
    distinct = frame.select(pl.col(field.name).unique().drop_nulls().implode() for field in fields)
    parsed: dict[str, pl.DataFrame] = {}
    for field in fields:
        values = distinct[field.name][0]
        if len(values) * 2 > frame.height:
            continue
        value, problem = field.parse(pl.col(field.name))
        parsed[field.name] = values.to_frame(field.name).with_columns(
            value.alias("_value"), problem.alias("_problem")
        )
    return parsed


def with_rules(checked: pl.DataFrame, rules: Sequence[pl.Expr], key: str) -> pl.DataFrame:
    """``checked`` with cross-field ``rules`` added to ``_problems`` and the record id ``_key``.

    ``_key`` is the ``key`` column, or the record's location where that is missing.
    """
    return checked.with_columns(
        pl.coalesce(pl.col(key), pl.format("at {}", pl.col("_loc"))).alias("_key"),
        pl.concat_str([pl.col("_problems"), *rules], separator=PROBLEM_SEP, ignore_nulls=True)
        .replace("", None)
        .alias("_problems"),
    )


def blanks_to_null(frame: pl.DataFrame, names: Iterable[str]) -> pl.DataFrame:
    """Strip every raw field and treat an empty one as absent."""
    return frame.with_columns(
        pl.col(name).str.strip_chars().replace("", None).alias(name) for name in names
    )


def content_hashes(valid: pl.DataFrame, columns: Sequence[str], ids: Sequence[str]) -> pl.DataFrame:
    """``_run``, ``_key``, the ``ids`` columns and the SHA-256 of each one-row record.

    The hash is over the parsed, normalised ``columns``, so the same record sent again in
    another format or spelling (case of codes, surrounding spaces) is recognised as unchanged.
    """
    canonical = valid.select(joined(columns)).to_series()
    return valid.select("_run", "_key", *ids).with_columns(
        sha256_hex(canonical).alias("content_sha256")
    )


def joined(columns: Sequence[str]) -> pl.Expr:
    """``columns`` as text separated by ``FIELD_SEP``, a null as empty: what hashes are taken of.

    polars joins a few columns at a time markedly faster than dozens at once, so the columns
    are joined in groups first; the text is the same.
    """
    texts = [pl.col(name).cast(pl.String).fill_null("") for name in columns]
    return pl.concat_str(
        [pl.concat_str(texts[i : i + 8], separator=FIELD_SEP) for i in range(0, len(texts), 8)],
        separator=FIELD_SEP,
    )


def sha256_hex(texts: pl.Series) -> pl.Series:
    """The SHA-256 of each text's UTF-8 bytes, in hex."""
    digests = [hashlib.sha256(data).hexdigest() for data in texts.cast(pl.Binary).to_list()]
    return pl.Series(texts.name, digests, pl.String)


def split_problems(problems: str) -> list[tuple[str, str]]:
    """``_problems`` text back to ``(field, reason)`` pairs."""
    pairs: list[tuple[str, str]] = []
    for item in problems.split(PROBLEM_SEP):
        if item:
            field, _, reason = item.partition(FIELD_SEP)
            pairs.append((field, reason))
    return pairs
