"""From a polars frame to the numeric matrix LightGBM reads, the same way at fit and at scoring.

The model file must hold everything needed to rebuild that matrix (STYLE.md: everything needed
to reproduce a prediction is saved with the model), so the translation is described by a list of
``FeatureSpec``: the column name, its polars dtype and, for a categorical, the categories seen in
training. A categorical is any ``String``, ``Categorical`` or ``Enum`` column; it becomes the
index of its value in the sorted training categories, and LightGBM treats it natively
(``categorical_feature``). A value never seen in training, or a null, becomes NaN: LightGBM's
"missing", never a guess. Numbers and booleans are cast to ``Float64`` with nulls as NaN.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
import polars as pl

from quaywatch.errors import ModelError

Matrix = npt.NDArray[np.float64]

_CATEGORICAL = (pl.String, pl.Categorical, pl.Enum)


@dataclass(frozen=True, slots=True)
class FeatureSpec:
    """One model input: its name, the polars dtype it had in training, its categories if any."""

    name: str
    dtype: str
    categories: tuple[str, ...] | None = None

    @property
    def categorical(self) -> bool:
        """Whether LightGBM treats the column as a native categorical."""
        return self.categories is not None

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready dict; ``from_json`` reads it back."""
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> FeatureSpec:
        """The spec saved by ``to_json``."""
        categories = data.get("categories")
        return cls(
            name=str(data["name"]),
            dtype=str(data["dtype"]),
            categories=None if categories is None else tuple(str(c) for c in categories),
        )


def _is_categorical(dtype: pl.DataType) -> bool:
    return isinstance(dtype, _CATEGORICAL)


def specs_of(frame: pl.DataFrame) -> list[FeatureSpec]:
    """The specs of a training frame: every column, categories sorted for a stable encoding."""
    specs = []
    for name, dtype in frame.schema.items():
        if _is_categorical(dtype):
            values = frame[name].cast(pl.String).drop_nulls().unique().sort()
            specs.append(FeatureSpec(name, str(dtype), tuple(values.to_list())))
        elif dtype.is_numeric() or dtype == pl.Boolean:
            specs.append(FeatureSpec(name, str(dtype)))
        else:
            raise ModelError(f"feature {name!r} has dtype {dtype}; use numbers, booleans or text")
    return specs


def lightgbm_name(name: str) -> str:
    """The name LightGBM stores: it refuses JSON special characters, so keep only ``\\w``."""
    return re.sub(r"\W", "_", name)


def matrix(frame: pl.DataFrame, specs: Sequence[FeatureSpec], *, by_rows: bool = False) -> Matrix:
    """The float matrix for ``frame`` in the order of ``specs``; refuses a frame that does not fit.

    Extra columns are ignored (a scored batch carries ids and more); a missing column or one whose
    kind changed (text where a number was trained, or the reverse) is a ``ModelError``.
    ``by_rows`` lays it out row by row (C order), as a compiled model reads it
    (``risk.compiled``); otherwise column by column, as polars holds it.
    """
    missing = [s.name for s in specs if s.name not in frame.columns]
    if missing:
        raise ModelError(f"the data lacks model feature(s): {', '.join(missing)}")
    columns: list[pl.Expr] = []
    for spec in specs:
        dtype = frame.schema[spec.name]
        if spec.categories is not None:
            if not _is_categorical(dtype):
                raise ModelError(f"feature {spec.name!r} was text in training, got {dtype}")
            columns.append(_codes(spec.name, spec.categories))
        else:
            if not (dtype.is_numeric() or dtype == pl.Boolean):
                raise ModelError(f"feature {spec.name!r} was numeric in training, got {dtype}")
            columns.append(pl.col(spec.name).cast(pl.Float64))
    selected = frame.select(columns).fill_null(float("nan"))
    if by_rows:
        return _by_rows(selected)
    # polars hands the columns over as they are (column-major); LightGBM reads that layout as
    # fast as rows, so no transposing copy (a second of a million-row scoring run).
    return np.asarray(selected.to_numpy(), dtype=np.float64)


#: Rows converted together by ``_by_rows``: 16 Ki rows of ~80 columns, 10 MiB, small enough
#: that the allocator reuses the same memory for every block instead of mapping fresh pages.
_BLOCK = 1 << 14


def _by_rows(selected: pl.DataFrame) -> Matrix:
    """``selected`` (all ``Float64``) as a row-major matrix, converted a block of rows at a time.

    Neither a column-major matrix nor a copy of each column in between: only the result is
    new memory. On the first million-row batch of a process, where every new page costs a
    fault, that halves the time of the conversion (0.7-0.85 s to 0.3-0.5 s, measured inside
    ``assess``). Two threads share the blocks (polars and numpy copy without the GIL).
    """
    out = np.empty((selected.height, selected.width), dtype=np.float64)

    def copy(first: int) -> None:
        for start in range(first * _BLOCK, selected.height, 2 * _BLOCK):
            out[start : start + _BLOCK] = selected.slice(start, _BLOCK).to_numpy()

    with ThreadPoolExecutor(max_workers=2) as pool:
        list(pool.map(copy, (0, 1)))
    return out


def _codes(name: str, categories: tuple[str, ...]) -> pl.Expr:
    """The index of each value of ``name`` in ``categories`` as a float; null where unseen.

    An ``Enum`` of the training categories numbers them in their order, so its physical codes
    are the indexes; a value outside it becomes null (``strict=False``). Twice as fast as
    mapping the strings one by one (``replace_strict``) on a million rows.
    """
    if not categories:
        return pl.lit(None, pl.Float64).alias(name)
    enum = pl.Enum(categories)
    return pl.col(name).cast(pl.String).cast(enum, strict=False).to_physical().cast(pl.Float64)


def vector(values: npt.ArrayLike | None, rows: int, name: str) -> npt.NDArray[np.float64] | None:
    """A float vector of length ``rows`` (labels or weights), or None; refuses NaN and bad shape."""
    if values is None:
        return None
    array = np.asarray(values, dtype=np.float64)
    if array.shape != (rows,):
        raise ModelError(f"{name} has shape {array.shape}, expected ({rows},)")
    if not np.isfinite(array).all():
        raise ModelError(f"{name} contains NaN or infinity")
    return array


def data_hash(x: Matrix, *arrays: npt.NDArray[np.float64] | None) -> str:
    """SHA-256 of the training matrix, labels and weights: tells which data built a model."""
    digest = hashlib.sha256()
    digest.update(str(x.shape).encode())
    digest.update(x.tobytes())
    for array in arrays:
        digest.update(b"-" if array is None else array.tobytes())
    return digest.hexdigest()
