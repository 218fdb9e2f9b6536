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

import json
import math
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from enum import StrEnum
from typing import Any

import numpy as np
import numpy.typing as npt
import polars as pl

from quaywatch.errors import InputError, ModelError
from quaywatch.risk.reasons import TEMPLATES, Templates

Indices = npt.NDArray[np.intp]


class Source(StrEnum):
    """What produced a reason; the model now, the others as they are built."""

    MODEL = "model"
    PROFILE = "profile"
    ANOMALY = "anomaly"
    SCREENING = "screening"
    GRAPH = "graph"


@dataclass(frozen=True, slots=True)
class Reason:
    """One reason an assessment scored high.

    ``code`` is stable across versions and rows (``model:<feature>``, ``profile:<rule id>``), so
    analysts can count how often a reason fires; ``text`` is the sentence for the officer;
    ``weight`` is on the log-odds scale (see the module docstring).
    """

    code: str
    text: str
    weight: float
    source: Source

    def __post_init__(self) -> None:
        if not math.isfinite(self.weight):
            raise ValueError(f"reason {self.code!r} has weight {self.weight}; it must be finite")

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready dict; ``Reason.from_json`` reads it back."""
        return {
            "code": self.code,
            "text": self.text,
            "weight": self.weight,
            "source": self.source.value,
        }

    @classmethod
    def from_json(cls, data: Any) -> Reason:
        """The reason saved by ``to_json``; an ``InputError`` for anything else."""
        if not isinstance(data, dict) or set(data) != {"code", "text", "weight", "source"}:
            raise InputError(f"not a reason: {data!r}", source="reasons")
        code, text, weight, source = data["code"], data["text"], data["weight"], data["source"]
        if not (isinstance(code, str) and isinstance(text, str)):
            raise InputError(f"reason code and text must be strings: {data!r}", source="reasons")
        if isinstance(weight, bool) or not isinstance(weight, int | float):
            raise InputError(f"reason weight must be a number: {data!r}", source="reasons")
        if source not in set(Source):
            raise InputError(f"unknown reason source {source!r}", source="reasons")
        try:
            return cls(code, text, float(weight), Source(source))
        except ValueError as exc:
            raise InputError(str(exc), source="reasons") from None


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
        if type(weight) is not float or not math.isfinite(weight):
            return json.dumps([r.to_json() for r in reasons], ensure_ascii=False, allow_nan=False)
        parts.append(
            f'{{"code": {_quote(r.code)}, "text": {_quote(r.text)}, '
            f'"weight": {float.__repr__(weight)}, "source": {_quote(r.source.value)}}}'
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
    result: list[list[Reason]] = [[] for _ in range(features.height)]
    at, rank = np.nonzero(valid)
    if at.size == 0:
        return result
    explained = np.unique(at)
    # Rows as mappings that read a column only when a template asks for it: a template reads
    # two or three of the row's fifty-odd columns, and ``to_dicts`` would convert them all.
    cells = _Columns(features[index[explained]])
    record_of = {int(i): _Row(cells, n) for n, i in enumerate(explained.tolist())}
    kept = columns[at, rank]
    for i, j, weight, position in zip(
        at.tolist(), kept.tolist(), values[at, kept].tolist(), index[at].tolist(), strict=True
    ):
        feature = feature_names[j]
        text = templates.text(feature, record_of[i], weight)
        row = result[position]
        for same, earlier in enumerate(row):
            # Two features telling one fact (value_z and value_ratio): one reason, both pushes.
            if earlier.text == text:
                row[same] = replace(earlier, weight=earlier.weight + weight)
                break
        else:
            row.append(Reason(f"model:{feature}", text, weight, Source.MODEL))
    return result


class _Columns:
    """The columns of a frame as Python lists, each converted on first use."""

    __slots__ = ("_frame", "_names", "_lists")

    def __init__(self, frame: pl.DataFrame) -> None:
        self._frame = frame
        self._names = frame.columns
        # None for a name the frame lacks: asked again for every row, answered at once.
        self._lists: dict[str, list[Any] | None] = {}

    def names(self) -> list[str]:
        return self._names

    def get(self, name: str) -> list[Any] | None:
        """The column ``name`` as a list, None if the frame has no such column."""
        try:
            return self._lists[name]
        except KeyError:
            found = self._frame.get_column(name).to_list() if name in self._names else None
            self._lists[name] = found
            return found


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
    merged: list[list[Reason]] = []
    for per_row in zip(*reason_lists, strict=True):
        best: dict[str, Reason] = {}
        for reasons in per_row:
            for reason in reasons:
                kept = best.get(reason.code)
                if reason.weight > 0 and (kept is None or reason.weight > kept.weight):
                    best[reason.code] = reason
        merged.append(sorted(best.values(), key=lambda r: -r.weight)[:top])
    return merged
