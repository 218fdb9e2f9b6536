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
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable, Mapping, Sequence
from fnmatch import fnmatchcase
from numbers import Real
from typing import Any

Row = Mapping[str, Any]
#: ``template(feature, row, contribution) -> text``.
Template = Callable[[str, Row, float], str]
#: ``column(name)``: the values of column ``name`` in the rows being written, in order (each
#: None if the frame has no such column, as ``row.get`` reads it).
Column = Callable[[str], Sequence[Any]]

#: Words for the parts of an entity prefix; a prefix is one or more of them joined by "_".
ENTITY_WORDS = {
    "consignee": "consignee", "consignor": "consignor", "notify_party": "notify party",
    "carrier": "carrier", "declarant": "declarant", "importer": "importer", "seller": "seller",
    "courier": "courier", "office": "office", "hs6": "HS6", "hs4": "HS4", "hs2": "HS chapter",
    "chapter": "HS chapter", "origin": "origin", "origin_country": "origin country",
    "origin_region": "origin region", "port_of_loading": "port of loading", "hub": "hub",
    "route": "route", "lane": "lane", "vessel": "vessel", "container": "container",
    "address": "address", "phone": "phone", "email": "email",
}  # fmt: skip

#: What a declared feature is called in a sentence that says its value is missing.
NOUNS = {
    "value_z": "value per kg", "value_ratio": "value per kg", "value_per_kg_eur": "value per kg",
    "value_z_max": "value per kg", "value_ratio_max": "value per kg",
    "box_mismatch": "usual container type",
    "duty_exposure_eur": "duty at stake", "max_duty_pct": "duty rate", "transshipments": "route",
    "hubs": "route", "lane": "lane", "origin_region": "origin region", "reefer": "container type",
    "consignee_aeo": "consignee AEO status", "consignor_aeo": "consignor AEO status",
    "declarant_aeo": "declarant AEO status", "lodged_hours_before_eta": "lodging time",
    "origin_differs_from_loading": "origin", "n_items": "number of goods items",
    "n_containers": "number of containers", "main_hs6": "HS6", "main_chapter": "HS chapter",
    "port_of_loading": "port of loading", "origin_country": "origin country",
    "total_value_eur": "declared value", "total_mass_kg": "gross mass",
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
        return "infinite" if x > 0 else "minus infinite"
    if x == int(x) or abs(x) >= 100:
        return f"{round(x):,}"
    if abs(x) >= 1:
        return f"{x:.2f}".rstrip("0").rstrip(".")
    return f"{x:.2g}"


def format_value(value: Any) -> str:
    """Any cell as text: ``yes``/``no`` for booleans, ``missing`` for null or NaN."""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if _missing(value):
        return "missing"
    x = number(value)
    return format_number(x) if x is not None else str(value)


def _times(n: float) -> str:
    count = round(n)
    return {1: "once", 2: "twice"}.get(count, f"{count:,} times")


def _plural(n: float, word: str) -> str:
    count = round(n)
    return f"{count:,} {word}" if count == 1 else f"{count:,} {word}s"


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
    return " × ".join(parts)


def _whose(label: str) -> str:
    """``consignee's controls`` reads well; a pair reads better as ``controls of this A × B``."""
    return f"controls of this {label}" if " × " in label else f"{label}'s controls"


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


def _records(feature: str, value: Any) -> str:
    _, label = _entity(feature, "records")
    n = number(value)
    if n is None:
        return f"{label} history unknown"
    return f"{label} never seen before" if n == 0 else f"{label} seen {_times(n)} before"


def _days_since_first(feature: str, value: Any) -> str:
    _, label = _entity(feature, "days_since_first")
    days = number(value)
    if days is None:
        return f"{label} never seen before"
    if days < 1:
        return f"{label} first seen less than a day ago"
    if days >= 730:
        return f"{label} first seen {days / 365.25:.0f} years ago"
    return f"{label} first seen {_plural(math.floor(days), 'day')} ago"


def _controls(feature: str, value: Any) -> str:
    _, label = _entity(feature, "controls")
    n = number(value)
    if n is None:
        return f"{label} control history unknown"
    return f"{label} never controlled before" if n == 0 else f"{label} controlled {_times(n)}"


def _found(label: str, hits: float, controls: float | None) -> str:
    """``consignee's controls found fraud 4 times in 6``."""
    whose = _whose(label)
    if controls is None:
        return f"{whose} found fraud {_times(hits)}" if hits else f"{whose} never found fraud"
    if hits == 0:
        return f"{whose} found no fraud in {controls:,.0f}"
    return f"{whose} found fraud {_times(hits)} in {controls:,.0f}"


def _hits(feature: str, value: Any, controls_value: Any) -> str:
    _, label = _entity(feature, "hits")
    hits = number(value)
    if hits is None:
        return f"{label} control results unknown"
    controls = number(controls_value)
    if controls == 0:
        return f"{label} never controlled before"
    return _found(label, hits, controls)


def _hit_rate(feature: str, value: Any, hits_value: Any, controls_value: Any) -> str:
    _, label = _entity(feature, "hit_rate")
    rate = number(value)
    hits = number(hits_value)
    controls = number(controls_value)
    if controls == 0 and rate is not None:
        return f"{label} never controlled; the hit rate of all controls ({_percent(rate)}) applies"
    if hits is not None and controls is not None:
        return _found(label, hits, controls)
    return (
        f"{_whose(label)} hit rate {_percent(rate)}"
        if rate is not None
        else f"{label} hit rate unknown"
    )


def _revenue_per_control(feature: str, value: Any) -> str:
    _, label = _entity(feature, "revenue_per_control")
    euros = number(value)
    if euros is None:
        return f"{label} never controlled before"
    return f"{_whose(label)} recovered €{euros:,.0f} per control"


def _hs(code: Any) -> str:
    return _hs_text(code if type(code) is str else "" if _missing(code) else str(code))


@functools.lru_cache(maxsize=8192)
def _hs_text(text: str) -> str:
    # Cached: a batch names the same few hundred subheadings tens of thousands of times.
    if len(text) == 6 and text.isdigit():
        return f"HS {text[:4]}.{text[4:]}"
    return f"HS {text}" if text else "HS6"


def _value_reads(feature: str) -> tuple[str, ...]:
    suffix = "_max" if feature.endswith("_max") else ""
    return f"value_ratio{suffix}", f"value_hs6{suffix}", f"value_z{suffix}"


def _value(feature: str, ratio_value: Any, code: Any, z_value: Any) -> str:
    """The value per kg against the declared HS6's reference, as a factor when it is known.

    ``value_z``/``value_ratio`` speak of the item most below its reference, ``value_z_max``/
    ``value_ratio_max`` of the one most above (read with ``value_hs6`` or ``value_hs6_max``).
    """
    ratio = number(ratio_value)
    reference = f"the {_hs(code)} median"
    if ratio is not None and ratio > 0:
        if ratio <= 1 / 1.1:
            return f"value per kg {_factor(1 / ratio)}× below {reference}"
        if ratio >= 1.1:
            return f"value per kg {_factor(ratio)}× above {reference}"
        return f"value per kg close to {reference}"
    if ratio == 0:
        return "declared value is zero"
    z = number(z_value)
    if z is None:
        return f"value per kg unknown against {reference}"
    side = "below" if z < 0 else "above"
    return f"value per kg {abs(z):.1f} robust deviations {side} {reference}"


def _box(feature: str, value: Any, code: Any) -> str:
    """An item's container against how its subheading usually travels (``box_mismatch``)."""
    mismatch = number(value)
    goods = _hs(code)
    if mismatch is None:
        return f"usual container type of {goods} unknown"
    if abs(mismatch) < 0.5:  # the item is in the box its subheading mostly travels in
        return f"{goods} in its usual container type"
    if mismatch > 0:
        return f"{goods} travels in a reefer {mismatch:.0%} of the time; declared in a dry box"
    return f"{goods} travels dry {-mismatch:.0%} of the time; declared in a reefer"


def _main_hs6(feature: str, value: Any) -> str:
    return f"main goods {_hs(value)}"


def _value_hs6(feature: str, value: Any) -> str:
    return f"the item furthest from its usual value is {_hs(value)}"


def _duty_exposure(feature: str, value: Any) -> str:
    return f"€{number(value) or 0:,.0f} of duty at stake"


def _max_duty(feature: str, value: Any) -> str:
    return f"duty rate up to {format_number(number(value) or 0)} %"


def _hub_list(value: Any) -> list[str]:
    return [] if _missing(value) else [h for h in str(value).split("|") if h]


def _transshipments(feature: str, value: Any, hubs_value: Any) -> str:
    n = number(value) or 0
    if n == 0:
        return "direct route, no transshipment"
    hubs = _hub_list(hubs_value)
    return f"transshipped {_times(n)}" + (f" (via {', '.join(hubs)})" if hubs else "")


def _hubs(feature: str, value: Any) -> str:
    hubs = _hub_list(value)
    return f"routed via {', '.join(hubs)}" if hubs else "direct route, no transshipment hub"


def _aeo(feature: str, value: Any) -> str:
    party = feature.removesuffix("_aeo")
    return f"{party} is an AEO" if value else f"{party} is not an AEO"


def _lodged(feature: str, value: Any) -> str:
    hours = number(value) or 0.0
    side = "before" if hours >= 0 else "after"
    hours = abs(hours)
    if hours < 1:
        return f"lodged less than an hour {side} arrival"
    if hours >= 48:
        return f"lodged {_plural(hours / 24, 'day')} {side} arrival"
    return f"lodged {_plural(hours, 'hour')} {side} arrival"


def _chapter(feature: str, value: Any) -> str:
    code = f"{round(value):02d}" if number(value) is not None else str(value)
    return f"main goods in HS chapter {code}"


def _count(word: str) -> Cells:
    def write(feature: str, value: Any) -> str:
        return _plural(number(value) or 0, word)

    return Cells(write)


def _fixed(true_text: str, false_text: str) -> Cells:
    def write(feature: str, value: Any) -> str:
        return true_text if value else false_text

    return Cells(write)


def _labelled(before: str, after: str = "") -> Cells:
    def write(feature: str, value: Any) -> str:
        return f"{before}{format_value(value)}{after}"

    return Cells(write)


def _fallback(feature: str, value: Any) -> str:
    return f"{feature.replace('_', ' ')} = {format_value(value)} raises the risk"


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
    return f"{NOUNS.get(feature, feature.replace('_', ' '))} unknown"


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
TEMPLATES.add("origin_region", _labelled("origin in "))
TEMPLATES.add("reefer", _fixed("reefer container", "not a reefer container"))
TEMPLATES.add("*_aeo", Cells(_aeo))
TEMPLATES.add("lodged_hours_before_eta", Cells(_lodged))
TEMPLATES.add(
    "origin_differs_from_loading",
    _fixed("origin country differs from the country of loading", "loaded in the country of origin"),
)
TEMPLATES.add("n_items", _count("goods item"))
TEMPLATES.add("n_containers", _count("container"))
TEMPLATES.add("main_chapter", Cells(_chapter))
TEMPLATES.add("main_hs6", Cells(_main_hs6))
TEMPLATES.add("value_hs6", Cells(_value_hs6))
TEMPLATES.add("port_of_loading", _labelled("loaded at "))
TEMPLATES.add("origin_country", _labelled("origin country "))
TEMPLATES.add("lane", _labelled("lane "))
TEMPLATES.add("total_value_eur", _labelled("declared value €"))
TEMPLATES.add("total_mass_kg", _labelled("gross mass ", " kg"))
TEMPLATES.add("value_per_kg_eur", _labelled("declared value €", " per kg"))
