"""Reasons: why an assessment scored high, in words a targeting officer can check.

A targeting officer trusts a score because it says why. Every assessment carries its top
reasons: a stable ``code`` (for counting and filtering), a ``text`` the officer reads, a
``weight`` and the ``source`` that produced it.

Model reasons come from the fraud model's contributions (``FraudModel.contributions``, SHAP
values): per row, how far each feature moved the score away from the average, in log-odds.
``model_reasons`` picks the largest per row with numpy over the whole matrix and writes text only
for the cells it keeps, and only for the rows asked for (``rows``): a batch of a million
consignments of which a thousand reach the worklist pays for a thousand sentences.

Only reasons that **raise** the risk are listed. An officer reads them to check why a container
was selected: what to look for in the documents and in the box. A feature that lowered the score
("consignee is an AEO") does not explain a selection, and mixing it in would hide the reasons
that did. A row whose score nothing raised above the average gets no reason at all.

Other sources (risk profiles, route and event anomalies, screening, the party graph) plug in
through ``merge``, which ranks every reason of a row on one scale. That scale is the log-odds
of the fraud model: a model reason weighs its contribution; a profile rule or an anomaly detector
states its weight as the log-odds it adds to the risk (its author's judgment or a fitted
coefficient: 0.7 ≈ doubles the odds, 2.3 ≈ ten times). Model contributions are taken before
calibration; Platt scaling multiplies all of them by the same positive factor, so their order is
the same either way.

>>> contributions = model.contributions(x)  # doctest: +SKIP
>>> reasons = model_reasons(contributions, x, top=3, rows=selected)  # doctest: +SKIP
>>> [r.text for r in reasons[0]]  # doctest: +SKIP
['consignee first seen 3 days ago', 'value per kg 8× below the HS 0803.90 median']
"""

from __future__ import annotations

import functools
import json
import math
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

import numpy as np
import numpy.typing as npt
import polars as pl

from quaywatch.errors import InputError, ModelError, Said
from quaywatch.risk.reasons import TEMPLATES, Templates

Indices = npt.NDArray[np.intp]


class Source(StrEnum):
    """What produced a reason; the model now, the others as they are built."""

    MODEL = "model"
    PROFILE = "profile"
    ANOMALY = "anomaly"
    SCREENING = "screening"
    GRAPH = "graph"
    UNUSUAL = "unusual"
    DOCUMENT = "document"
    PARTNER = "partner"


#: The values of ``Source``, for checking a stored reason's source.
_SOURCES = frozenset(s.value for s in Source)


@dataclass(frozen=True, slots=True)
class Reason:
    """One reason an assessment scored high.

    ``code`` is stable across versions and rows (``model:<feature>``, ``profile:<rule id>``), so
    analysts can count how often a reason fires; ``text`` is the sentence for the officer;
    ``weight`` is on the log-odds scale (see the module docstring). ``evidence``: the ids of the
    records a hit source read (a carrier document revision, a partner's message), so the
    assessment names what it was made from; empty for the model and the built-in sources, and
    then left out of the JSON (their stored reasons read as they always did).

    ``text`` may be a ``Said`` (``errors.said``): the English sentence that also carries its
    template and parameters, so a page shows it in its reader's language. Its JSON then has
    ``"said": {"id": <template>, "args": {...}}`` besides the text (a parameter that is itself
    a ``Said``, a word such as "consignee", nested the same way); a reason without it (stored
    before, or an analyst's own words) reads as its text, in every language.
    """

    code: str
    text: str
    weight: float
    source: Source
    evidence: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        _check_finite(self.code, self.weight)

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready dict; ``Reason.from_json`` reads it back."""
        found: dict[str, Any] = {
            "code": self.code,
            "text": self.text,
            "weight": self.weight,
            "source": self.source.value,
        }
        if self.evidence:
            found["evidence"] = list(self.evidence)
        if isinstance(self.text, Said):
            found["said"] = said_json(self.text)
        return found

    @classmethod
    def from_json(cls, data: Any) -> Reason:
        """The reason saved by ``to_json``; an ``InputError`` for anything else."""
        if not isinstance(data, dict) or not _KEYS <= set(data) <= _KEYS | _OPTIONAL:
            raise InputError(f"not a reason: {data!r}", source="reasons")
        code, text, weight, source = data["code"], data["text"], data["weight"], data["source"]
        if "said" in data and isinstance(text, str):
            text = said_from_json(data["said"], text)
        evidence = data.get("evidence", [])
        if not (isinstance(code, str) and isinstance(text, str)):
            raise InputError(f"reason code and text must be strings: {data!r}", source="reasons")
        if isinstance(weight, bool) or not isinstance(weight, int | float):
            raise InputError(f"reason weight must be a number: {data!r}", source="reasons")
        if source not in _SOURCES:
            raise InputError(f"unknown reason source {source!r}", source="reasons")
        if not (isinstance(evidence, list) and all(isinstance(e, str) for e in evidence)):
            raise InputError(f"reason evidence must be a list of ids: {data!r}", source="reasons")
        try:
            return cls(code, text, float(weight), Source(source), tuple(evidence))
        except ValueError as exc:
            raise InputError(str(exc), source="reasons") from None


#: The keys every stored reason has (``evidence`` and ``said`` are added where there are some).
_KEYS = frozenset({"code", "text", "weight", "source"})
_OPTIONAL = frozenset({"evidence", "said"})


def said_json(message: Said) -> dict[str, Any]:
    """``{"id": template, "args": {...}}`` of ``message``; a parameter that is a ``Said`` is
    nested the same way, any other is stored as its text."""
    return {
        "id": message.template,
        "args": {
            name: said_json(value) if isinstance(value, Said) else str(value)
            for name, value in message.params.items()
        },
    }


def _said(data: Any) -> Said:
    # Read back for every hit of every explained assessment: plain type checks, and the
    # message made as ``errors.said`` makes it (its own dict of arguments, no copies; not
    # through ``said`` itself, whose keyword arguments would refuse one named ``template``).
    if type(data) is not dict or not data.keys() <= _SAID_KEYS:
        raise ValueError(f"not a message: {data!r}")
    template, given = data.get("id"), data.get("args", {})
    if type(template) is not str or type(given) is not dict:
        raise ValueError(f"not a message: {data!r}")
    args = {
        name: _said(value) if isinstance(value, dict) else str(value)
        for name, value in given.items()
    }
    made = str.__new__(Said, template % args if args else template)
    made.template = template
    made.params = args
    return made


_SAID_KEYS = frozenset(("id", "args"))


def said_from_json(data: Any, text: str) -> str:
    """The ``Said`` stored as ``data`` (``said_json``) if its English is ``text``; else
    ``text`` as it is (a message that does not read back as its sentence is not trusted: the
    page shows the stored text)."""
    try:
        message = _said(data)
    except (ValueError, KeyError, TypeError):
        return text
    return message if str(message) == text else text


def message_of(text: str, stored: str | None) -> str:
    """``text`` with its message stored as JSON text (a hits frame's ``said`` column, written
    by ``risk.wording``): a ``Said`` when ``stored`` gives back ``text``, else ``text``."""
    if stored is None:
        return text
    try:
        data = json.loads(stored)
    except ValueError:
        return text
    return said_from_json(data, text)


def _said_text(message: Said) -> str:
    """``json.dumps(said_json(message), ensure_ascii=False)``, made once per message (a batch
    writes the same one often, and the same words inside many) and without the dicts: the
    text around the arguments is made once per template."""
    memo = message.__dict__
    found: str | None = memo.get("_json")
    if found is None:
        params = message.params
        pieces = _pieces(message.template, tuple(params))
        parts = [pieces[0]]
        for value, piece in zip(params.values(), pieces[1:], strict=True):
            parts.append(_said_text(value) if isinstance(value, Said) else _quote(str(value)))
            parts.append(piece)
        found = memo["_json"] = "".join(parts)
    return found


@functools.lru_cache(maxsize=4096)
def _pieces(template: str, names: tuple[str, ...]) -> tuple[str, ...]:
    """The JSON of a message of ``template`` around its arguments ``names``, in order."""
    head = f'{{"id": {_quote(template)}, "args": {{'
    if not names:
        return (head + "}}",)
    keys = [f"{_quote(name)}: " for name in names]
    return (head + keys[0], *(f", {key}" for key in keys[1:]), "}}")


def _check_finite(code: str, weight: float) -> None:
    if not math.isfinite(weight):
        raise ValueError(f"reason {code!r} has weight {weight}; it must be finite")


#: Setting a slot directly: what ``Reason.__init__`` does, less its per-field overhead.
#: The fields ``_reasons`` sets, in order: a field added to ``Reason`` must be set there too
#: (a test compares them with the dataclass).
_FIELDS = ("code", "text", "weight", "source", "evidence")
_SLOTS = tuple(vars(Reason)[name].__set__ for name in _FIELDS)


def _reasons(
    codes: Sequence[str], texts: Sequence[str], weights: Sequence[float], source: Source
) -> list[Reason]:
    """``Reason(code, text, weight, source)`` for each, for weights already checked finite.

    Half the cost of the constructor (measured): the batch path makes some 200,000.
    """
    new = object.__new__
    set_code, set_text, set_weight, set_source, set_evidence = _SLOTS
    made = []
    for code, text, weight in zip(codes, texts, weights, strict=True):
        reason = new(Reason)
        set_code(reason, code)
        set_text(reason, text)
        set_weight(reason, weight)
        set_source(reason, source)
        set_evidence(reason, ())
        made.append(reason)
    return made


#: The string encoder ``json.dumps(..., ensure_ascii=False)`` itself uses (C where available).
_quote = json.encoder.encode_basestring


def to_json(reasons: Sequence[Reason]) -> str:
    """The reasons of one assessment as a JSON array, to store with it.

    The text is exactly ``json.dumps([r.to_json() for r in reasons], ensure_ascii=False,
    allow_nan=False)``, written without building the dicts and an encoder per call: the batch
    path writes tens of thousands (three times faster, measured on the scoring benchmark). A
    weight that is not a plain finite float goes through ``json.dumps`` itself.
    """
    parts = []
    for r in reasons:
        weight = r.weight
        if type(weight) is not float or not math.isfinite(weight) or r.evidence:
            return json.dumps([r.to_json() for r in reasons], ensure_ascii=False, allow_nan=False)
        text = r.text
        # ``!r`` of an exact float is ``float.__repr__``; a ``Source`` is a ``str``, its value.
        if type(text) is str or not isinstance(text, Said):
            parts.append(
                f'{{"code": {_quote(r.code)}, "text": {_quote(text)}, '
                f'"weight": {weight!r}, "source": {_quote(r.source)}}}'
            )
        else:  # a sentence that translates: its message too, written once per message
            parts.append(
                f'{{"code": {_quote(r.code)}, "text": {_quote(text)}, '
                f'"weight": {weight!r}, "source": {_quote(r.source)}, "said": {_said_text(text)}}}'
            )
    return "[" + ", ".join(parts) + "]"


def from_json(text: str) -> list[Reason]:
    """The reasons stored by ``to_json``; an ``InputError`` if ``text`` is not such a list."""
    try:
        data = json.loads(text)
    except ValueError as exc:
        raise InputError(f"reasons are not valid JSON: {exc}", source="reasons") from None
    if not isinstance(data, list):
        raise InputError("reasons must be a JSON array", source="reasons")
    return [Reason.from_json(item) for item in data]


def _row_index(rows: npt.ArrayLike | None, n: int) -> Indices:
    """Sorted, distinct row positions from a boolean mask or an index array (None: all)."""
    if rows is None:
        return np.arange(n, dtype=np.intp)
    array = np.asarray(rows)
    if array.ndim != 1:
        raise ValueError(f"rows must be one-dimensional, got shape {array.shape}")
    if array.dtype == np.bool_:
        if array.shape != (n,):
            raise ValueError(f"the rows mask has {array.size} entries for {n} rows")
        return np.flatnonzero(array).astype(np.intp)
    if array.size == 0:
        return np.empty(0, dtype=np.intp)
    if not np.issubdtype(array.dtype, np.integer):
        raise ValueError(f"rows must be a boolean mask or integer positions, got {array.dtype}")
    if array.min() < -n or array.max() >= n:
        raise ValueError(f"rows holds a position outside 0..{n - 1}")
    return np.unique(np.where(array < 0, array + n, array)).astype(np.intp)


def _same_height(n: int, features: pl.DataFrame) -> None:
    if n != features.height:
        raise ModelError(f"{n} rows of contributions for {features.height} rows of features")


def _matrix(
    contributions: npt.NDArray[np.float64] | pl.DataFrame,
    features: pl.DataFrame,
    names: Sequence[str] | None,
    index: Indices,
) -> tuple[npt.NDArray[np.float64], list[str]]:
    """The contributions of the rows in ``index`` without the bias column, and feature names."""
    if isinstance(contributions, pl.DataFrame):
        if contributions.columns[-1:] != ["bias"]:
            raise ModelError("the contributions frame must end with the bias column 'bias'")
        names = contributions.columns[:-1] if names is None else names
        _same_height(contributions.height, features)
        values = contributions[index].to_numpy().astype(np.float64, copy=False)
    else:
        if contributions.ndim != 2:
            raise ModelError(f"contributions must be a matrix, got shape {contributions.shape}")
        _same_height(contributions.shape[0], features)
        if names is None:
            if features.width != contributions.shape[1] - 1:
                raise ModelError(
                    f"{contributions.shape[1] - 1} contribution columns for a frame of "
                    f"{features.width} columns: pass names, the feature of each column"
                )
            names = features.columns
        values = np.asarray(contributions[index], dtype=np.float64)
    if values.shape[1] != len(names) + 1:
        raise ModelError(f"{values.shape[1] - 1} contribution columns for {len(names)} names")
    return values[:, :-1], list(names)


def top_contributions(
    values: npt.NDArray[np.float64], top: int
) -> tuple[Indices, npt.NDArray[np.bool_]]:
    """``(columns, valid)``: per row the ``top`` largest columns, largest first, and a mask.

    ``argpartition`` finds the ``top`` largest in linear time per row; only those ``top`` are
    then sorted (by contribution, ties by column so the order is stable). ``valid`` is False
    where a selected contribution does not raise the risk (zero, negative or NaN).
    """
    k = min(top, values.shape[1])
    if k == 0 or values.shape[0] == 0:
        empty = np.empty((values.shape[0], 0), dtype=np.intp)
        return empty, empty.astype(bool)
    if k < values.shape[1]:
        columns = np.argpartition(-values, k - 1, axis=1)[:, :k]
    else:
        columns = np.broadcast_to(np.arange(k), values.shape).copy()
    picked = np.take_along_axis(values, columns, axis=1)
    order = np.lexsort((columns, -picked), axis=1)
    columns = np.take_along_axis(columns, order, axis=1).astype(np.intp)
    picked = np.take_along_axis(picked, order, axis=1)
    return columns, picked > 0


def model_reasons(
    contributions: npt.NDArray[np.float64] | pl.DataFrame,
    features: pl.DataFrame,
    *,
    top: int = 3,
    rows: npt.ArrayLike | None = None,
    names: Sequence[str] | None = None,
    templates: Templates = TEMPLATES,
) -> list[list[Reason]]:
    """Per row of ``features``, up to ``top`` model reasons that raised the risk, largest first.

    ``contributions`` is ``FraudModel.contributions`` (a frame whose columns name the features,
    ``bias`` last) or the same matrix as numpy, whose columns are then named by ``names``, or by
    the columns of ``features`` when it holds exactly the model's features. ``features`` is the
    frame the model scored: the text shows its values, so a categorical reads as its label
    ("origin country CO"), never as the code the model saw. It may carry more columns than the
    model reads; a template uses them (``value_ratio`` and ``main_hs6`` for ``value_z``).

    ``rows`` (a boolean mask or positions) names the rows to explain; every other row gets ``[]``
    and costs nothing beyond its slot in the result.
    """
    if top < 1:
        raise ValueError(f"top must be at least 1, got {top}")
    index = _row_index(rows, features.height)
    values, feature_names = _matrix(contributions, features, names, index)
    columns, valid = top_contributions(values, top)
    at, rank = np.nonzero(valid)
    if at.size == 0:
        return [[] for _ in range(features.height)]
    kept = columns[at, rank]
    explained, row_of = np.unique(at, return_inverse=True)
    # Only the explained rows' cells that a template reads are converted to Python: two or three
    # of the row's fifty-odd columns.
    cells = _Columns(features[index[explained]])
    weights = values[at, kept]
    texts = _sentences(templates, feature_names, cells, kept, row_of, weights)
    # Two features telling one fact (value_z and value_ratio): one reason, where the first of
    # them ranks, weighing both pushes (added in rank order).
    first = _first_same_text(at, texts, columns.shape[1])
    alone = first == np.arange(at.size)
    keep = np.flatnonzero(alone)
    # ``add.at`` adds in the order of its indices, as a loop would: rank order.
    np.add.at(weights, first[~alone], weights[~alone])
    weights = weights[keep]
    if not np.isfinite(weights).all():
        bad = int(np.argmin(np.isfinite(weights)))
        _check_finite(f"model:{feature_names[kept[keep[bad]]]}", float(weights[bad]))
    codes = [f"model:{name}" for name in feature_names]
    made = _reasons(
        [codes[j] for j in kept[keep].tolist()],
        texts[keep].tolist(),
        weights.tolist(),
        Source.MODEL,
    )
    # The reasons run row by row, largest first: each explained row's are one slice.
    starts = np.flatnonzero(np.diff(at[keep], prepend=-1)).tolist()
    ends = [*starts[1:], keep.size]
    explained_rows = [made[start:end] for start, end in zip(starts, ends, strict=True)]
    if explained.size == features.height:  # every row explained: the common case, as it is
        return explained_rows
    result: list[list[Reason]] = [[] for _ in range(features.height)]
    for position, row in zip(index[explained].tolist(), explained_rows, strict=True):
        result[position] = row
    return result


def _first_same_text(at: Indices, texts: npt.NDArray[np.object_], width: int) -> Indices:
    """For each reason, the first reason of its row (``at``) with the same text: itself if none.

    A row holds at most ``width`` reasons, one after the other.
    """
    first = np.arange(at.size)
    for distance in range(1, min(width, at.size)):
        same = (at[distance:] == at[:-distance]) & (texts[distance:] == texts[:-distance])
        # A later, larger distance overwrites: the earliest match wins.
        first[distance:][same] = np.flatnonzero(same)
    return first


def _sentences(
    templates: Templates,
    names: Sequence[str],
    cells: _Columns,
    kept: Indices,
    row_of: Indices,
    weights: npt.NDArray[np.float64],
) -> npt.NDArray[np.object_]:
    """The sentence of each reason (feature ``names[kept]`` on row ``row_of`` of ``cells``).

    A feature's reasons are written together when its template reads cells (``Cells``): one
    look-up per feature, not per reason. A plain template reads rows: it is called row by row,
    in the order of the reasons.
    """
    by_feature = np.argsort(kept, kind="stable")
    features, starts = np.unique(kept[by_feature], return_index=True)
    written: list[Any] = []
    one_by_one = []
    for j, start, end in zip(
        features.tolist(), starts.tolist(), [*starts[1:].tolist(), kept.size], strict=True
    ):
        these = by_feature[start:end]
        batch: list[Any] | None
        batch = templates.texts(names[j], functools.partial(cells.gather, at=row_of[these]))
        if batch is None:
            one_by_one.append(these)
            batch = [None] * these.size
        written += batch
    texts = np.empty(kept.size, dtype=object)
    texts[by_feature] = np.fromiter(written, dtype=object, count=kept.size)
    if one_by_one:
        rows: dict[int, _Row] = {}
        for k in np.sort(np.concatenate(one_by_one)).tolist():
            n = int(row_of[k])
            row = rows.get(n)
            if row is None:
                row = rows[n] = _Row(cells, n)
            texts[k] = templates.text(names[kept[k]], row, float(weights[k]))
    return texts


class _Columns:
    """The columns of a frame as Python lists, each converted on first use."""

    __slots__ = ("_frame", "_names", "_known", "_lists")

    def __init__(self, frame: pl.DataFrame) -> None:
        self._frame = frame
        self._names = frame.columns
        self._known = set(self._names)
        # None for a name the frame lacks: asked again for every row, answered at once.
        self._lists: dict[str, list[Any] | None] = {}

    def names(self) -> list[str]:
        return self._names

    def get(self, name: str) -> list[Any] | None:
        """The column ``name`` as a list, None if the frame has no such column."""
        try:
            return self._lists[name]
        except KeyError:
            found = self._frame.get_column(name).to_list() if name in self._known else None
            self._lists[name] = found
            return found

    def gather(self, name: str, at: Indices) -> list[Any]:
        """The column ``name`` at the positions ``at``, each None if the frame has no such column.

        Only those cells are converted to Python.
        """
        if name not in self._known:
            return [None] * len(at)
        return self._frame.get_column(name).gather(at).to_list()


class _Row(Mapping[str, Any]):
    """One row of ``_Columns`` as a read-only mapping: the values ``to_dicts`` would give."""

    __slots__ = ("_columns", "_at")

    def __init__(self, columns: _Columns, at: int) -> None:
        self._columns = columns
        self._at = at

    def __getitem__(self, name: str) -> Any:
        column = self._columns.get(name)
        if column is None:
            raise KeyError(name)
        return column[self._at]

    def get(self, name: str, default: Any = None) -> Any:
        # Templates read cells with ``get``: spare them ``Mapping.get``'s exception round trip.
        column = self._columns.get(name)
        return default if column is None else column[self._at]

    def __iter__(self) -> Iterator[str]:
        return iter(self._columns.names())

    def __len__(self) -> int:
        return len(self._columns.names())


def merge(*reason_lists: Sequence[Sequence[Reason]], top: int = 5) -> list[list[Reason]]:
    """Per row, the ``top`` reasons of every source together, heaviest first, one per code.

    Each argument holds one list of reasons per row (``model_reasons``, a profile run, an anomaly
    detector...), all for the same rows. Weights are compared as they are: every source states
    them on the fraud model's log-odds scale (see the module docstring). A code that appears
    twice keeps its heaviest reason; reasons that do not raise the risk (weight ≤ 0) are left
    out, as in ``model_reasons``. Equal weights keep the order of the arguments.
    """
    if top < 1:
        raise ValueError(f"top must be at least 1, got {top}")
    if not reason_lists:
        return []
    lengths = {len(reasons) for reasons in reason_lists}
    if len(lengths) != 1:
        raise ValueError(f"reason lists cover different numbers of rows: {sorted(lengths)}")
    if len(reason_lists) == 1:
        # One source, such as ``model_reasons``: a row already in merged order is kept as it is.
        return [
            list(reasons[:top]) if _in_order(reasons) else _merged((reasons,), top)
            for reasons in reason_lists[0]
        ]
    return [_merged(per_row, top) for per_row in zip(*reason_lists, strict=True)]


def _in_order(reasons: Sequence[Reason]) -> bool:
    """Whether ``_merged`` leaves one source's row as it is, cut to ``top``.

    So it does when every weight is positive and none exceeds the one before (a tie keeps its
    order: the sort is stable) and no code comes twice.
    """
    previous = math.inf
    codes = set()
    for reason in reasons:
        weight = reason.weight
        if not 0 < weight <= previous or reason.code in codes:
            return False
        codes.add(reason.code)
        previous = weight
    return True


def _merged(per_source: Sequence[Sequence[Reason]], top: int) -> list[Reason]:
    """One row of ``merge``: the heaviest reason per code, heaviest first, ``top`` of them."""
    best: dict[str, Reason] = {}
    for reasons in per_source:
        for reason in reasons:
            kept = best.get(reason.code)
            if reason.weight > 0 and (kept is None or reason.weight > kept.weight):
                best[reason.code] = reason
    return sorted(best.values(), key=lambda r: -r.weight)[:top]
