"""Plain-word templates: the sentence a targeting officer reads for a feature that raised a score.

A model reason is a feature and its contribution; an officer needs a sentence he can check
against the documents ("consignee first seen 3 days ago", "value per kg 8× below the HS 0803.90
median"). A ``Template`` turns one row of the feature frame into that sentence. It receives the
whole row as a mapping of column → value, because a sentence often needs several columns (the
value ratio and the HS6 it is measured against, the hits and the controls behind a hit rate),
and the contribution, for a template whose words depend on how strongly the feature pushed.

Most sentences depend on a few cells and nothing else: such a template is a ``Cells``, which
names the columns it reads and writes the sentence from their values. It is a ``Template`` like
any other, and it can also write a whole column of rows at once (``Templates.texts``): the batch
explainer writes tens of thousands of sentences without a mapping and a look-up per reason, and
writes each distinct port, lane or HS6 once.

``Templates`` holds them per feature name or per name pattern (``fnmatch`` style, e.g.
``*_hit_rate``): an exact name wins, then the most specific (longest) matching pattern. A feature
without a template still gets a readable sentence, ``<feature> = <value> raises the risk``, so a
new feature is explained from its first day and its template can follow.

``TEMPLATES`` is the default registry: every entity-history feature of ``features/history.py``
(the entity label comes from the prefix: ``hs6_origin_hit_rate`` → "HS6 × origin") and every
declared feature of ``features/declared.py`` (value, duty, goods, route, container, parties,
timing).

Every sentence is a ``Said`` (``errors.said``): the English text, made from a template with
``%(name)s`` placeholders and its parameters, so a page shows it in its reader's language (the
words of an entity, "consignee", are ``Said`` parameters too and translate with it). As a
string it is the English sentence, as before.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable, Mapping, Sequence
from fnmatch import fnmatchcase
from numbers import Real
from typing import Any

from quaywatch.errors import Said, said

Row = Mapping[str, Any]
#: ``template(feature, row, contribution) -> text``.
Template = Callable[[str, Row, float], str]
#: ``column(name)``: the values of column ``name`` in the rows being written, in order (each
#: None if the frame has no such column, as ``row.get`` reads it).
Column = Callable[[str], Sequence[Any]]

#: Words for the parts of an entity prefix; a prefix is one or more of them joined by "_".
ENTITY_WORDS: dict[str, Said] = {
    "consignee": said("consignee"), "consignor": said("consignor"),
    "notify_party": said("notify party"), "carrier": said("carrier"),
    "declarant": said("declarant"), "importer": said("importer"), "seller": said("seller"),
    "courier": said("courier"), "office": said("office"), "hs6": said("HS6"), "hs4": said("HS4"),
    "hs2": said("HS chapter"), "chapter": said("HS chapter"), "origin": said("origin"),
    "origin_country": said("origin country"), "origin_region": said("origin region"),
    "port_of_loading": said("port of loading"), "hub": said("hub"), "route": said("route"),
    "lane": said("lane"), "vessel": said("vessel"), "container": said("container"),
    "address": said("address"), "phone": said("phone"), "email": said("email"),
}  # fmt: skip

#: What a declared feature is called in a sentence that says its value is missing.
_PER_KG = said("value per kg")
NOUNS: dict[str, Said] = {
    "value_z": _PER_KG, "value_ratio": _PER_KG, "value_per_kg_eur": _PER_KG,
    "value_z_max": _PER_KG, "value_ratio_max": _PER_KG,
    "box_mismatch": said("usual container type"),
    "duty_exposure_eur": said("duty at stake"), "max_duty_pct": said("duty rate"),
    "transshipments": said("route"), "hubs": said("route"), "lane": said("lane"),
    "origin_region": said("origin region"), "reefer": said("container type"),
    "consignee_aeo": said("consignee AEO status"), "consignor_aeo": said("consignor AEO status"),
    "declarant_aeo": said("declarant AEO status"), "lodged_hours_before_eta": said("lodging time"),
    "origin_differs_from_loading": said("origin"), "n_items": said("number of goods items"),
    "n_containers": said("number of containers"), "main_hs6": said("HS6"),
    "main_chapter": said("HS chapter"), "port_of_loading": said("port of loading"),
    "origin_country": said("origin country"), "total_value_eur": said("declared value"),
    "total_mass_kg": said("gross mass"),
}  # fmt: skip


def number(value: Any) -> float | None:
    """``value`` as a float; None when it is missing (null, NaN) or not a number."""
    if type(value) is float:  # nearly every cell a template reads: spare it the generic path
        return None if math.isnan(value) else value
    if value is None or isinstance(value, str):
        return None
    try:
        x = float(value)
    except (TypeError, ValueError):
        return None
    return None if math.isnan(x) else x


def _missing(value: Any) -> bool:
    # Exact types first: the abstract ``Real`` check is slow and runs for every template cell.
    if value is None:
        return True
    if type(value) is float:
        return math.isnan(value)
    if type(value) in (str, bool, int):
        return False
    return isinstance(value, Real) and math.isnan(value)


def format_number(x: float) -> str:
    """A number as an officer reads it: ``1,234``, ``3.14``, ``0.042``."""
    if math.isinf(x):
        return said("infinite") if x > 0 else said("minus infinite")
    if x == int(x) or abs(x) >= 100:
        return f"{round(x):,}"
    if abs(x) >= 1:
        return f"{x:.2f}".rstrip("0").rstrip(".")
    return f"{x:.2g}"


def format_value(value: Any) -> str:
    """Any cell as text: ``yes``/``no`` for booleans, ``missing`` for null or NaN."""
    if isinstance(value, bool):
        return said("yes") if value else said("no")
    if _missing(value):
        return said("missing")
    x = number(value)
    return format_number(x) if x is not None else str(value)


_ONCE, _TWICE = said("once"), said("twice")


# The counted words are made once per count (a batch writes the same few thousand times).
def _times(n: float) -> Said:
    return _times_of(round(n))


@functools.lru_cache(maxsize=4096)
def _times_of(count: int) -> Said:
    return (
        _ONCE if count == 1 else _TWICE if count == 2 else said("%(n)s times", n=format(count, ","))
    )


def _days(n: float) -> Said:
    return _days_of(round(n))


@functools.lru_cache(maxsize=4096)
def _days_of(count: int) -> Said:
    text = f"{count:,}"
    return said("%(n)s day", n=text) if count == 1 else said("%(n)s days", n=text)


def _hours(n: float) -> Said:
    return _hours_of(round(n))


@functools.lru_cache(maxsize=4096)
def _hours_of(count: int) -> Said:
    text = f"{count:,}"
    return said("%(n)s hour", n=text) if count == 1 else said("%(n)s hours", n=text)


def _goods_items(n: float) -> Said:
    count = round(n)
    text = f"{count:,}"
    return said("%(n)s goods item", n=text) if count == 1 else said("%(n)s goods items", n=text)


def _containers(n: float) -> Said:
    count = round(n)
    text = f"{count:,}"
    return said("%(n)s container", n=text) if count == 1 else said("%(n)s containers", n=text)


def _percent(x: float) -> str:
    return f"{x * 100:.0f} %"


def _factor(x: float) -> str:
    return f"{x:,.0f}" if x >= 10 else f"{x:.1f}".removesuffix(".0")


def _own(feature: str) -> tuple[str, ...]:
    return (feature,)


class Cells:
    """A template whose sentence depends only on a few cells of the row.

    ``reads(feature)`` names the columns (by default the feature's own); ``write(feature,
    *values)`` writes the sentence from their values, None for a column the row lacks. It must
    depend on nothing else: a batch writes each distinct string value of a one-column template
    once. Called with a row, a ``Cells`` is a ``Template``; ``Templates.texts`` hands it whole
    columns instead.

    >>> port = Cells(lambda feature, value: f"loaded at {value}")
    >>> port("port_of_loading", {"port_of_loading": "COBUN"}, 0.4)
    'loaded at COBUN'
    """

    __slots__ = ("write", "reads")

    def __init__(
        self, write: Callable[..., str], reads: Callable[[str], tuple[str, ...]] = _own
    ) -> None:
        self.write = write
        self.reads = reads

    def __call__(self, feature: str, row: Row, contribution: float) -> str:
        return self.write(feature, *[row.get(name) for name in self.reads(feature)])

    def texts(self, feature: str, cells: Sequence[Sequence[Any]]) -> list[str]:
        """The sentences for rows whose values are ``cells`` (one list per column of ``reads``)."""
        write = functools.partial(self.write, feature)
        if len(cells) == 1 and cells[0] and type(cells[0][0]) is str:
            values = cells[0]
            distinct = dict.fromkeys(values)
            # Only strings (and None) as keys: 0.0 and -0.0, or 1 and True, are equal keys that
            # a template may write differently.
            if all(value is None or type(value) is str for value in distinct):
                written = {value: write(value) for value in distinct}
                return [written[value] for value in values]
        return list(map(write, *cells))


@functools.cache
def entity_label(prefix: str) -> str:
    """The words for an entity prefix: ``hs6_origin`` → ``HS6 × origin``.

    Parts are matched longest first (``origin_country`` before ``origin``); a prefix with a part
    outside ``ENTITY_WORDS`` is shown whole, underscores as spaces, rather than split wrongly.
    """
    words = sorted(ENTITY_WORDS, key=len, reverse=True)
    parts: list[str] = []
    rest = prefix
    while rest:
        for word in words:
            if rest == word or rest.startswith(word + "_"):
                parts.append(ENTITY_WORDS[word])
                rest = rest[len(word) + 1 :]
                break
        else:
            return prefix.replace("_", " ")
    label: str = parts[-1]
    for part in reversed(parts[:-1]):
        label = said("%(entity)s × %(other)s", entity=part, other=label)
    return label


# The cached helpers below key on plain, typed values only: an entity *prefix* (a ``str``, whose
# label ``entity_label`` makes) rather than its label, and a cell's number after ``number``
# (a ``float`` or None) rather than the cell. A label ``Said`` equals the plain ``str`` of the
# same English, so a label key could hand one the other's (un)translatable sentence; True, 1
# and 1.0 are equal keys; and a cell may be unhashable (a list from a JSON column).
@functools.lru_cache(maxsize=4096)
def _whose(prefix: str) -> Said:
    """``consignee's controls`` reads well; a pair reads better as ``controls of this A × B``."""
    label = entity_label(prefix)
    if " × " in label:
        return said("controls of this %(entity)s", entity=label)
    return said("%(entity)s's controls", entity=label)


@functools.cache
def _entity(feature: str, kind: str) -> tuple[str, str]:
    """The entity prefix of ``{prefix}_{kind}`` and its label."""
    prefix = feature.removesuffix(f"_{kind}")
    return prefix, entity_label(prefix)


def _counts(kind: str, *counts: str) -> Callable[[str], tuple[str, ...]]:
    """``reads`` for ``{prefix}_{kind}``: itself, then the entity's ``counts`` (hits, controls)."""

    def reads(feature: str) -> tuple[str, ...]:
        prefix = feature.removesuffix(f"_{kind}")
        return (feature, *(f"{prefix}_{count}" for count in counts))

    return reads


def _also(*names: str) -> Callable[[str], tuple[str, ...]]:
    """``reads`` for a template that needs its own cell and the columns ``names``."""

    def reads(feature: str) -> tuple[str, ...]:
        return (feature, *names)

    return reads


def _records(feature: str, value: Any) -> Said:
    return _records_of(feature, number(value))


@functools.lru_cache(maxsize=65536)
def _records_of(feature: str, n: float | None) -> Said:
    _, label = _entity(feature, "records")
    if n is None:
        return said("%(entity)s history unknown", entity=label)
    if n == 0:
        return said("%(entity)s never seen before", entity=label)
    return said("%(entity)s seen %(times)s before", entity=label, times=_times(n))


def _days_since_first(feature: str, value: Any) -> Said:
    days = number(value)
    # The sentence depends on the whole days (years from two on) alone: written once per
    # feature and count, as ``_records_of`` is (a batch writes tens of thousands).
    if days is None:
        return _first_seen(feature, None, None)
    if days >= 730:
        return _first_seen(feature, None, format(days / 365.25, ".0f"))
    return _first_seen(feature, math.floor(days) if days >= 1 else 0, None)


@functools.lru_cache(maxsize=65536)
def _first_seen(feature: str, days: int | None, years: str | None) -> Said:
    """``_days_since_first`` of ``days`` whole days (0: less than one) or ``years``; neither:
    never seen."""
    _, label = _entity(feature, "days_since_first")
    if years is not None:
        return said("%(entity)s first seen %(years)s years ago", entity=label, years=years)
    if days is None:
        return said("%(entity)s never seen before", entity=label)
    if days < 1:
        return said("%(entity)s first seen less than a day ago", entity=label)
    return said("%(entity)s first seen %(days)s ago", entity=label, days=_days(days))


def _controls(feature: str, value: Any) -> Said:
    return _controls_of(feature, number(value))


@functools.lru_cache(maxsize=65536)
def _controls_of(feature: str, n: float | None) -> Said:
    _, label = _entity(feature, "controls")
    if n is None:
        return said("%(entity)s control history unknown", entity=label)
    if n == 0:
        return said("%(entity)s never controlled before", entity=label)
    return said("%(entity)s controlled %(times)s", entity=label, times=_times(n))


def _found(prefix: str, hits: float, controls: float | None) -> Said:
    """``consignee's controls found fraud 4 times in 6`` (``hits``, ``controls`` from ``number``)."""
    # + 0.0: -0.0 and 0.0 are one key, and "-0 controls" is no count.
    return _found_of(prefix, hits + 0.0, None if controls is None else controls + 0.0)


@functools.lru_cache(maxsize=65536)
def _found_of(prefix: str, hits: float, controls: float | None) -> Said:
    whose = _whose(prefix)
    if controls is None:
        if hits:
            return said("%(whose)s found fraud %(times)s", whose=whose, times=_times(hits))
        return said("%(whose)s never found fraud", whose=whose)
    if hits == 0:
        return said("%(whose)s found no fraud in %(controls)s", whose=whose,
                    controls=format(controls, ",.0f"))  # fmt: skip
    return said("%(whose)s found fraud %(times)s in %(controls)s", whose=whose,
                times=_times(hits), controls=format(controls, ",.0f"))  # fmt: skip


def _hits(feature: str, value: Any, controls_value: Any) -> Said:
    prefix, label = _entity(feature, "hits")
    hits = number(value)
    if hits is None:
        return said("%(entity)s control results unknown", entity=label)
    controls = number(controls_value)
    if controls == 0:
        return said("%(entity)s never controlled before", entity=label)
    return _found(prefix, hits, controls)


def _hit_rate(feature: str, value: Any, hits_value: Any, controls_value: Any) -> Said:
    prefix, label = _entity(feature, "hit_rate")
    rate = number(value)
    hits = number(hits_value)
    controls = number(controls_value)
    if controls == 0 and rate is not None:
        return said("%(entity)s never controlled; the hit rate of all controls (%(rate)s) applies",
                    entity=label, rate=_percent(rate))  # fmt: skip
    if hits is not None and controls is not None:
        return _found(prefix, hits, controls)
    if rate is not None:
        return said("%(whose)s hit rate %(rate)s", whose=_whose(prefix), rate=_percent(rate))
    return said("%(entity)s hit rate unknown", entity=label)


def _revenue_per_control(feature: str, value: Any) -> Said:
    prefix, label = _entity(feature, "revenue_per_control")
    euros = number(value)
    if euros is None:
        return said("%(entity)s never controlled before", entity=label)
    return said("%(whose)s recovered €%(euros)s per control", whose=_whose(prefix),
                euros=format(euros, ",.0f"))  # fmt: skip


def _hs(code: Any) -> str:
    return _hs_text(code if type(code) is str else "" if _missing(code) else str(code))


@functools.lru_cache(maxsize=8192)
def _hs_text(text: str) -> str:
    # Cached: a batch names the same few hundred subheadings tens of thousands of times.
    if len(text) == 6 and text.isdigit():
        return f"HS {text[:4]}.{text[4:]}"
    return f"HS {text}" if text else "HS6"


@functools.lru_cache(maxsize=8192)
def _median(code: str) -> Said:
    return said("the %(goods)s median", goods=code)


def _value_reads(feature: str) -> tuple[str, ...]:
    suffix = "_max" if feature.endswith("_max") else ""
    return f"value_ratio{suffix}", f"value_hs6{suffix}", f"value_z{suffix}"


def _value(feature: str, ratio_value: Any, code: Any, z_value: Any) -> Said:
    """The value per kg against the declared HS6's reference, as a factor when it is known.

    ``value_z``/``value_ratio`` speak of the item most below its reference, ``value_z_max``/
    ``value_ratio_max`` of the one most above (read with ``value_hs6`` or ``value_hs6_max``).
    """
    ratio = number(ratio_value)
    reference = _median(_hs(code))
    if ratio is not None and ratio > 0:
        # The sentence depends on the factor as written: once per factor and subheading.
        if ratio <= 1 / 1.1:
            return _factor_of(_factor(1 / ratio), "below", reference)
        if ratio >= 1.1:
            return _factor_of(_factor(ratio), "above", reference)
        return _factor_of("", "", reference)
    if ratio == 0:
        return said("declared value is zero")
    z = number(z_value)
    if z is None:
        return said("value per kg unknown against %(reference)s", reference=reference)
    if z < 0:
        return said("value per kg %(z)s robust deviations below %(reference)s",
                    z=format(abs(z), ".1f"), reference=reference)  # fmt: skip
    return said("value per kg %(z)s robust deviations above %(reference)s",
                z=format(abs(z), ".1f"), reference=reference)  # fmt: skip


@functools.lru_cache(maxsize=65536)
def _factor_of(factor: str, side: str, reference: Said) -> Said:
    """``_value`` of a value per kg ``factor`` times below or above (``side``; none: close to)
    ``reference``."""
    if side == "below":
        return said("value per kg %(factor)s× below %(reference)s",
                    factor=factor, reference=reference)  # fmt: skip
    if side == "above":
        return said("value per kg %(factor)s× above %(reference)s",
                    factor=factor, reference=reference)  # fmt: skip
    return said("value per kg close to %(reference)s", reference=reference)


def _box(feature: str, value: Any, code: Any) -> Said:
    """An item's container against how its subheading usually travels (``box_mismatch``)."""
    mismatch = number(value)
    goods = _hs(code)
    if mismatch is None:
        return said("usual container type of %(goods)s unknown", goods=goods)
    if abs(mismatch) < 0.5:  # the item is in the box its subheading mostly travels in
        return said("%(goods)s in its usual container type", goods=goods)
    if mismatch > 0:
        return said("%(goods)s travels in a reefer %(share)s of the time; declared in a dry box",
                    goods=goods, share=format(mismatch, ".0%"))  # fmt: skip
    return said("%(goods)s travels dry %(share)s of the time; declared in a reefer",
                goods=goods, share=format(-mismatch, ".0%"))  # fmt: skip


def _main_hs6(feature: str, value: Any) -> Said:
    return said("main goods %(goods)s", goods=_hs(value))


def _value_hs6(feature: str, value: Any) -> Said:
    return said("the item furthest from its usual value is %(goods)s", goods=_hs(value))


def _duty_exposure(feature: str, value: Any) -> Said:
    return said("€%(euros)s of duty at stake", euros=format(number(value) or 0, ",.0f"))


def _max_duty(feature: str, value: Any) -> Said:
    return said("duty rate up to %(rate)s %%", rate=format_number(number(value) or 0))


def _hub_list(value: Any) -> list[str]:
    return [] if _missing(value) else [h for h in str(value).split("|") if h]


def _transshipments(feature: str, value: Any, hubs_value: Any) -> Said:
    n = number(value) or 0
    if n == 0:
        return said("direct route, no transshipment")
    hubs = _hub_list(hubs_value)
    if hubs:
        return said("transshipped %(times)s (via %(hubs)s)", times=_times(n), hubs=", ".join(hubs))
    return said("transshipped %(times)s", times=_times(n))


def _hubs(feature: str, value: Any) -> Said:
    hubs = _hub_list(value)
    if hubs:
        return said("routed via %(hubs)s", hubs=", ".join(hubs))
    return said("direct route, no transshipment hub")


def _aeo(feature: str, value: Any) -> Said:
    prefix = feature.removesuffix("_aeo")
    # The word of the party where it reads as its prefix (a sentence keeps its English).
    word = ENTITY_WORDS.get(prefix)
    party: str = word if word == prefix else prefix
    if value:
        return said("%(party)s is an AEO", party=party)
    return said("%(party)s is not an AEO", party=party)


def _lodged(feature: str, value: Any) -> Said:
    hours = number(value) or 0.0
    before = hours >= 0
    hours = abs(hours)
    # Written once per side and count, as ``_records_of`` is.
    if hours < 1:
        return _lodged_of(before, 0, "")
    if hours >= 48:
        return _lodged_of(before, round(hours / 24), "days")
    return _lodged_of(before, round(hours), "hours")


@functools.lru_cache(maxsize=4096)
def _lodged_of(before: bool, count: int, unit: str) -> Said:
    """``_lodged`` of ``count`` days or hours (``unit``; none: less than an hour) before or
    after arrival."""
    if not unit:
        if before:
            return said("lodged less than an hour before arrival")
        return said("lodged less than an hour after arrival")
    span = _days_of(count) if unit == "days" else _hours_of(count)
    if before:
        return said("lodged %(span)s before arrival", span=span)
    return said("lodged %(span)s after arrival", span=span)


def _chapter(feature: str, value: Any) -> Said:
    code = f"{round(value):02d}" if number(value) is not None else str(value)
    return said("main goods in HS chapter %(chapter)s", chapter=code)


def _count(counted: Callable[[float], Said]) -> Cells:
    def write(feature: str, value: Any) -> Said:
        return counted(number(value) or 0)

    return Cells(write)


def _fixed(true_text: Said, false_text: Said) -> Cells:
    def write(feature: str, value: Any) -> Said:
        return true_text if value else false_text

    return Cells(write)


def _labelled(template: str) -> Cells:
    """``template`` (a ``said`` template with ``%(value)s``) filled with the cell's value."""

    def write(feature: str, value: Any) -> Said:
        return Said(template, {"value": format_value(value)})

    return Cells(write)


def _fallback(feature: str, value: Any) -> Said:
    return said("%(feature)s = %(value)s raises the risk", feature=feature.replace("_", " "),
                value=format_value(value))  # fmt: skip


_FALLBACK = Cells(_fallback)


def fallback(feature: str, row: Row, contribution: float) -> str:
    """The sentence for a feature without a template: ``tax rate = 8 raises the risk``."""
    return _FALLBACK(feature, row, contribution)


class Templates:
    """Templates per feature name or name pattern; ``text`` picks one and writes the sentence."""

    def __init__(self) -> None:
        self._templates: dict[str, tuple[Template, bool]] = {}
        self._chosen: dict[str, tuple[Template, bool] | None] = {}

    def add(self, pattern: str, template: Template, *, handles_missing: bool = False) -> None:
        """Use ``template`` for features named ``pattern`` (an exact name or an fnmatch pattern).

        Unless ``handles_missing``, a row whose own value is null or NaN reads "<noun> unknown"
        and the template only ever sees a value.
        """
        self._templates[pattern] = (template, handles_missing)
        self._chosen.clear()

    def lookup(self, feature: str) -> Template | None:
        """The template for ``feature``: exact name, else the longest matching pattern, else None."""
        found = self._find(feature)
        return None if found is None else found[0]

    def _find(self, feature: str) -> tuple[Template, bool] | None:
        if feature not in self._chosen:
            matching = [p for p in self._templates if fnmatchcase(feature, p)]
            exact = feature if feature in self._templates else None
            best = exact or max(matching, key=len, default=None)
            self._chosen[feature] = None if best is None else self._templates[best]
        return self._chosen[feature]

    def text(self, feature: str, row: Row, contribution: float) -> str:
        """The sentence for ``feature`` on ``row``; the generic fallback if it has no template."""
        found = self._find(feature)
        if found is None:
            return fallback(feature, row, contribution)
        template, handles_missing = found
        if not handles_missing and _missing(row.get(feature)):
            return _unknown(feature)
        return template(feature, row, contribution)

    def texts(self, feature: str, column: Column) -> list[str] | None:
        """The sentences ``text`` writes for ``feature``, for many rows at once.

        ``column(name)`` reads a column of those rows. None if the feature's template is not a
        ``Cells``: it reads whole rows, one by one with ``text``.
        """
        found = self._find(feature)
        template, handles_missing = (_FALLBACK, True) if found is None else found
        if not isinstance(template, Cells):
            return None
        names = template.reads(feature)
        cells = [column(name) for name in names]
        if handles_missing:
            return template.texts(feature, cells)
        own = cells[names.index(feature)] if feature in names else column(feature)
        present = [i for i, value in enumerate(own) if not _missing(value)]
        if len(present) == len(own):
            return template.texts(feature, cells)
        texts = [_unknown(feature)] * len(own)
        written = template.texts(feature, [[values[i] for i in present] for values in cells])
        for i, text in zip(present, written, strict=True):
            texts[i] = text
        return texts


def _unknown(feature: str) -> str:
    """What a template that needs its value writes when the value is missing."""
    return said("%(what)s unknown", what=NOUNS.get(feature, feature.replace("_", " ")))


TEMPLATES = Templates()
#: Every suffix of ``features.history`` (``FEATURE_KINDS`` and ``revenue_per_control``).
_HISTORY: dict[str, Cells] = {
    "records": Cells(_records), "days_since_first": Cells(_days_since_first),
    "controls": Cells(_controls), "hits": Cells(_hits, _counts("hits", "controls")),
    "hit_rate": Cells(_hit_rate, _counts("hit_rate", "hits", "controls")),
    "revenue_per_control": Cells(_revenue_per_control),
}  # fmt: skip
for _kind, _template in _HISTORY.items():
    TEMPLATES.add(f"*_{_kind}", _template, handles_missing=True)
_VALUE = Cells(_value, _value_reads)
TEMPLATES.add("value_z", _VALUE, handles_missing=True)
TEMPLATES.add("value_ratio", _VALUE, handles_missing=True)
TEMPLATES.add("value_z_max", _VALUE, handles_missing=True)
TEMPLATES.add("value_ratio_max", _VALUE, handles_missing=True)
TEMPLATES.add("box_mismatch", Cells(_box, _also("box_hs6")), handles_missing=True)
TEMPLATES.add("duty_exposure_eur", Cells(_duty_exposure))
TEMPLATES.add("max_duty_pct", Cells(_max_duty))
TEMPLATES.add("transshipments", Cells(_transshipments, _also("hubs")))
TEMPLATES.add("hubs", Cells(_hubs), handles_missing=True)
TEMPLATES.add("origin_region", _labelled(said("origin in %(value)s").template))
TEMPLATES.add("reefer", _fixed(said("reefer container"), said("not a reefer container")))
TEMPLATES.add("*_aeo", Cells(_aeo))
TEMPLATES.add("lodged_hours_before_eta", Cells(_lodged))
TEMPLATES.add(
    "origin_differs_from_loading",
    _fixed(said("origin country differs from the country of loading"),
           said("loaded in the country of origin")),
)  # fmt: skip
TEMPLATES.add("n_items", _count(_goods_items))
TEMPLATES.add("n_containers", _count(_containers))
TEMPLATES.add("main_chapter", Cells(_chapter))
TEMPLATES.add("main_hs6", Cells(_main_hs6))
TEMPLATES.add("value_hs6", Cells(_value_hs6))
TEMPLATES.add("port_of_loading", _labelled(said("loaded at %(value)s").template))
TEMPLATES.add("origin_country", _labelled(said("origin country %(value)s").template))
TEMPLATES.add("lane", _labelled(said("lane %(value)s").template))
TEMPLATES.add("total_value_eur", _labelled(said("declared value €%(value)s").template))
TEMPLATES.add("total_mass_kg", _labelled(said("gross mass %(value)s kg").template))
TEMPLATES.add("value_per_kg_eur", _labelled(said("declared value €%(value)s per kg").template))
