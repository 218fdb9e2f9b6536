"""Column-wise parsing and checking of raw string fields, shared by every record kind.

A ``Field`` turns a raw string column into a typed, normalised column and a column of problems
(null where the value is fine). ``check`` applies a list of fields to a frame of raw strings in
one polars pass and adds ``_problems``: every ``field: reason`` found on the row.

What both stores would take differently is decided here, before either sees the data, so SQLite
and PostgreSQL never disagree on a record: a control character in any field (PostgreSQL refuses
a NUL, SQLite stores it), a whole number beyond its column's type (``column_max``), a time or an
amount outside the ``Plausible`` ranges (year 1 or 9999, a mass of 1e300 kg), a non-finite
number. Each quarantines its record naming the field.

Encodings (``encoded``): a record's content hash and the identity that groups rows into records
are taken over the fields *length-prefixed* (``<bytes>:<text>``, a null as ``~``), so no two
different tuples of fields encode alike, whatever characters they hold. Hashes stored before
this encoding (fields joined with ``\x1f``, ``legacy_joined``) are still recognised by the
pipeline's re-import check (``pipeline.Importer``), never written again.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time

import polars as pl
from sqlalchemy import BigInteger, Column, Integer, SmallInteger

from quaywatch.domain import identifiers as ids

Parser = Callable[[pl.Expr], tuple[pl.Expr, pl.Expr]]

#: Separates the field name from the reason inside a problem string, and problems from each other.
FIELD_SEP = "\x1f"
PROBLEM_SEP = "\x1e"
LIST_SEP = "|"

_TIME_FORMAT = "%Y-%m-%dT%H:%M:%S%.f%z"
_TRUE = ["TRUE", "1", "YES", "Y"]
_FALSE = ["FALSE", "0", "NO", "N"]

#: Control characters a field may hold: none (identifiers, codes, numbers), a tab (names and
#: other free text on one line), or tabs and line breaks (addresses, descriptions).
NO_CONTROLS = ""
TAB = "\t"
LINES = "\t\n\r"
#: C0 controls, DEL and C1 controls: never text a filer meant; PostgreSQL refuses U+0000.
_CONTROLS = [chr(code) for code in (*range(0x20), *range(0x7F, 0xA0))]
#: Largest value of each integer column type, for ``column_max``.
_INTEGER_MAX = {SmallInteger: 2**15 - 1, Integer: 2**31 - 1, BigInteger: 2**63 - 1}
#: The null marker of ``encoded``: not a digit, so it never starts a length prefix.
_NULL = "~"


@dataclass(frozen=True, slots=True)
class Plausible:
    """The ranges of times and amounts intake accepts as plausible (``docs/formats.md``).

    A value outside is quarantined, naming the field: a year-1 timestamp, a mass of 1e300 kg or
    a value of 1e308 is a typing or system error that would otherwise stop scoring or print
    ``Infinity`` in a report. The defaults are generous for real traffic; an administration
    narrows or widens them through the settings ``QUAYWATCH_EARLIEST_DATE`` and so on.
    """

    #: No time (lodging, arrival, event, control) before this day.
    earliest_date: date = date(1990, 1, 1)
    #: No time more than this many years after now (arrivals and planned events lie ahead).
    years_ahead: int = 2
    #: Gross mass of one goods item: at most a large container ship's deadweight (250,000 t).
    max_item_mass_kg: float = 250_000_000.0
    #: Value of one goods item and revenue recovered by one control, in EUR (a declared
    #: value in a currency without a reference rate: at most this many times 100,000, enough
    #: for the currency with the smallest unit in circulation).
    max_value_eur: float = 1e10
    #: Quantity seized by one control, in its unit (pieces, kg, litres...).
    max_seizure_quantity: float = 1e10

    def time_window(self, now: datetime | None = None) -> tuple[datetime, datetime]:
        """The earliest and latest time accepted, in UTC, as of ``now`` (default: now)."""
        now = now or datetime.now(UTC)
        earliest = datetime.combine(self.earliest_date, time(), UTC)
        try:
            latest = now.replace(year=now.year + self.years_ahead)
        except ValueError:  # 29 February, and the year ahead is not a leap year
            latest = now.replace(year=now.year + self.years_ahead, day=28)
        return earliest, latest

    def time_problem(self, value: pl.Expr) -> pl.Expr:
        """Why a parsed UTC time is implausible, or null."""
        earliest, latest = self.time_window()
        return (
            pl.when(value < earliest)
            .then(pl.lit(f"is before {earliest.date()}, the earliest date accepted"))
            .when(value > latest)
            .then(pl.lit(f"is after {latest.date()}, more than {self.years_ahead} years ahead"))
        )

    def at_most(self, value: pl.Expr, maximum: float, unit: str) -> pl.Expr:
        """Why ``value`` is above the plausible ``maximum`` (in ``unit``), or null."""
        return pl.when(value > maximum).then(
            pl.lit(f"is above {maximum:,.0f} {unit}, the most accepted".replace(" ,", " "))
        )


PLAUSIBLE = Plausible()
#: How a field's parsed value is held to the plausible ranges: a problem or null.
Bound = Callable[[pl.Expr, Plausible], pl.Expr]


def plausible_time(value: pl.Expr, plausible: Plausible) -> pl.Expr:
    """A time within ``Plausible.time_window``."""
    return plausible.time_problem(value)


def plausible_mass(value: pl.Expr, plausible: Plausible) -> pl.Expr:
    """A goods item's gross mass within ``Plausible.max_item_mass_kg``."""
    return plausible.at_most(value, plausible.max_item_mass_kg, "kg")


def plausible_eur(value: pl.Expr, plausible: Plausible) -> pl.Expr:
    """An amount in EUR within ``Plausible.max_value_eur``."""
    return plausible.at_most(value, plausible.max_value_eur, "EUR")


def plausible_quantity(value: pl.Expr, plausible: Plausible) -> pl.Expr:
    """A seized quantity within ``Plausible.max_seizure_quantity``."""
    return plausible.at_most(value, plausible.max_seizure_quantity, "units")


@dataclass(frozen=True, slots=True)
class Field:
    """One input column: how to parse it, and whether a record is invalid without it.

    ``repeats`` marks a column whose values recur from record to record (ports, countries,
    vessels, times to the hour): ``check`` parses each distinct value once and maps the result
    back, which is several times cheaper than parsing every row when a chunk repeats its values.
    ``controls``: the control characters the field may hold (``NO_CONTROLS``, ``TAB``,
    ``LINES``); any other quarantines the record. ``bound``: the plausible range of the parsed
    value, if it has one.
    """

    name: str
    parse: Parser
    required: bool = False
    repeats: bool = False
    controls: str = NO_CONTROLS
    bound: Bound | None = None


def column_max(column: Column[int]) -> int:
    """The largest value the store's integer ``column`` holds on every backend.

    SQLite would store any 64-bit number where PostgreSQL refuses one beyond ``integer``: the
    bound of the declared type decides for both.
    """
    for kind, largest in _INTEGER_MAX.items():
        if type(column.type) is kind:
            return largest
    raise TypeError(f"{column.name} is not an integer column")


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


def integer(minimum: int, maximum: int) -> Parser:
    """A whole number within bounds (``maximum`` at most the column's, see ``column_max``)."""

    def parse(raw: pl.Expr) -> tuple[pl.Expr, pl.Expr]:
        value = raw.cast(pl.Int64, strict=False)
        problem = (
            pl.when(value.is_null() & raw.str.contains(r"^[+-]?[0-9]+$"))
            .then(pl.lit(f"must be at least {minimum} and at most {maximum}"))
            .when(value.is_null())
            .then(pl.format("'{}' is not a whole number", raw))
            .when((value < minimum) | (value > maximum))
            .then(pl.lit(f"must be at least {minimum} and at most {maximum}"))
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
            pl.when(value.is_null())
            .then(pl.format("'{}' is not a number", raw))
            .when(~finite)
            .then(pl.format("'{}' is not a finite number", raw))
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
        # An empty entry (``|`` twice, or at an end) is no seal: refused like any malformed one.
        bad = upper.list.eval((~pl.element().str.contains(pattern)).fill_null(True)).list.any()
        # One seal number twice with another source or type: the store keeps a seal once by
        # its number, so one of the two would be lost without a word.
        numbers = upper.list.eval(pl.element().str.replace(r"^[^:]*:[^:]*:", ""))
        clash = numbers.list.n_unique() < upper.list.n_unique()
        problem = (
            pl.when(bad)
            .then(pl.lit(reason))
            .when(clash)
            .then(pl.lit("a seal number is given twice with another source or type"))
        )
        return upper.list.join(LIST_SEP), problem

    return parse


def problem_of(field: str, problem: pl.Expr) -> pl.Expr:
    """A problem tagged with its field, as stored in ``_problems``."""
    return pl.when(problem.is_not_null()).then(pl.lit(field + FIELD_SEP) + problem)


def control_problem(raw: pl.Expr, allowed: str = NO_CONTROLS) -> pl.Expr:
    """Why ``raw`` holds a control character the field does not allow (``U+0000``), or null.

    The reason names the character, never the value: it goes to the quarantine, which must
    store where the value could not be.
    """
    forbidden = [c for c in _CONTROLS if c not in allowed]
    found = raw.str.extract(f"({_control_class(allowed)})", 1)
    names = [f"contains the control character U+{ord(c):04X}" for c in forbidden]
    return found.replace_strict(forbidden, names, default=None, return_dtype=pl.String)


def _control_class(allowed: str) -> str:
    """A regular expression character class of the control characters not ``allowed``."""
    return "[" + "".join(f"\\x{{{ord(c):02X}}}" for c in _CONTROLS if c not in allowed) + "]"


def check(
    frame: pl.DataFrame, fields: Sequence[Field], plausible: Plausible = PLAUSIBLE
) -> pl.DataFrame:
    """Parse every field of ``frame`` (raw strings, blanks already null) and collect problems.

    Returns the frame with each field replaced by its parsed value and a ``_problems`` column.
    A field's first problem is, in order: missing (where required), a control character it
    does not allow, its parser's, its value outside the ``plausible`` range.
    """
    by_value = _parsed_by_value(frame, [field for field in fields if field.repeats])
    # Control characters are rare: find the columns holding any first (a cheap scan each, all
    # in one query), and say which character only there.
    holding = frame.select(
        pl.col(field.name).str.contains(_control_class(field.controls)).any() for field in fields
    )
    dirty = {name for name in holding.columns if holding.get_column(name).item()}
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
        bound = field.bound(value, plausible) if field.bound else pl.lit(None, pl.String)
        problems.append(
            problem_of(
                field.name,
                pl.when(raw.is_null())
                .then(missing)
                .otherwise(
                    pl.coalesce(control_problem(raw, field.controls), problem, bound)
                    if field.name in dirty
                    else pl.coalesce(problem, bound)
                ),
            )
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
        frame_of_values = values.to_frame(field.name)
        columns = (value.alias("_value"), problem.alias("_problem"))
        # No value (the field blank on every row, as on most one-record chunks): only the
        # parsed types are wanted, and the parser's expressions cost more to run than to type.
        parsed[field.name] = (
            pl.DataFrame(schema=frame_of_values.lazy().with_columns(*columns).collect_schema())
            if values.is_empty()
            else frame_of_values.with_columns(*columns)
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


def content_hashes(
    valid: pl.DataFrame, columns: Sequence[str], ids: Sequence[str], *, legacy: bool = False
) -> pl.DataFrame:
    """``_run``, ``_key``, the ``ids`` columns and the SHA-256 of each one-row record.

    The hash is over the parsed, normalised ``columns``, so the same record sent again in
    another format or spelling (case of codes, surrounding spaces) is recognised as unchanged.
    ``legacy``: the hash as stored before ``encoded`` (``legacy_joined``), for comparing with
    such a stored hash only.
    """
    canonical = valid.select((legacy_joined if legacy else encoded)(columns)).to_series()
    return valid.select("_run", "_key", *ids).with_columns(
        sha256_hex(canonical).alias("content_sha256")
    )


def encoded(columns: Sequence[str] | Sequence[pl.Expr]) -> pl.Expr:
    """``columns`` as one text that no other tuple of values gives: what hashes are taken of.

    Each value is its text (``cast(pl.String)``) prefixed with its length in UTF-8 bytes and a
    colon, a null is ``~``: read from the start, the prefixes say where each value ends, so
    the text decodes to exactly one tuple, whatever characters the values hold. polars joins
    a few columns at a time markedly faster than dozens at once, so they are joined in groups.
    """
    texts = [(pl.col(c) if isinstance(c, str) else c).cast(pl.String) for c in columns]
    parts = [
        pl.when(text.is_null())
        .then(pl.lit(_NULL))
        .otherwise(pl.format("{}:{}", text.str.len_bytes(), text))
        for text in texts
    ]
    return pl.concat_str([pl.concat_str(parts[i : i + 8]) for i in range(0, len(parts), 8)])


def legacy_joined(columns: Sequence[str]) -> pl.Expr:
    """``columns`` as text separated by ``FIELD_SEP``, a null as empty: the encoding of the
    content hashes stored before ``encoded``. Two tuples can give the same text (a value
    holding ``FIELD_SEP``), so it is only ever compared with such a stored hash.

    Also the encoding of party keys, which must stay stable: a party's key is its identity
    across imports, and no valid party field holds ``FIELD_SEP`` (a control character).
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
