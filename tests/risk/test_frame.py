"""The frame-to-matrix translation the models read, the same at fit and at scoring."""

from __future__ import annotations

import math

import numpy as np
import polars as pl
import pytest
from hypothesis import given, strategies as st

from quaywatch.errors import ModelError
from quaywatch.risk import frame as fr

TRAIN = pl.DataFrame({"lane": ["NLRTM-BEANR", "COBUN-BEANR", "CNSHA-BEANR"], "kg": [1.0, 2, 3]})
SPECS = fr.specs_of(TRAIN)


def test_categories_become_their_index_in_the_sorted_training_values() -> None:
    scored = pl.DataFrame({"lane": ["NLRTM-BEANR", "CNSHA-BEANR", "COBUN-BEANR"], "kg": [5, 6, 7]})
    x = fr.matrix(scored, SPECS)
    assert SPECS[0].categories == ("CNSHA-BEANR", "COBUN-BEANR", "NLRTM-BEANR")
    assert x.tolist() == [[2.0, 5.0], [0.0, 6.0], [1.0, 7.0]]


def test_unseen_and_missing_values_are_nan_never_a_guess() -> None:
    scored = pl.DataFrame({"lane": ["SGSIN-BEANR", None], "kg": [None, 1.0]})
    x = fr.matrix(scored, SPECS)
    assert math.isnan(x[0, 0]) and math.isnan(x[1, 0]) and math.isnan(x[0, 1])


def test_categorical_and_enum_inputs_read_like_text() -> None:
    text = fr.matrix(TRAIN, SPECS)
    for dtype in (pl.Categorical, pl.Enum(["NLRTM-BEANR", "COBUN-BEANR", "CNSHA-BEANR"])):
        assert np.array_equal(
            fr.matrix(TRAIN.with_columns(pl.col("lane").cast(dtype)), SPECS), text
        )


def test_a_category_list_empty_in_training_gives_nan() -> None:
    specs = [fr.FeatureSpec("lane", "String", ())]
    assert math.isnan(fr.matrix(TRAIN, specs)[0, 0])


def test_a_column_whose_kind_changed_is_refused() -> None:
    with pytest.raises(ModelError, match="was text in training"):
        fr.matrix(TRAIN.with_columns(pl.col("kg").alias("lane")), SPECS)
    with pytest.raises(ModelError, match="lacks model feature"):
        fr.matrix(TRAIN.drop("kg"), SPECS)


@given(
    st.lists(st.text(max_size=4), min_size=1, max_size=8, unique=True),
    st.lists(st.one_of(st.none(), st.text(max_size=4)), max_size=30),
)
def test_codes_match_a_plain_lookup(categories: list[str], values: list[str | None]) -> None:
    specs = [fr.FeatureSpec("c", "String", tuple(sorted(categories)))]
    x = fr.matrix(pl.DataFrame({"c": values}, schema={"c": pl.String}), specs)
    index = {c: float(i) for i, c in enumerate(sorted(categories))}
    expected = [index.get(v, math.nan) if v is not None else math.nan for v in values]
    assert np.array_equal(x[:, 0], np.array(expected, dtype=np.float64), equal_nan=True)


def test_row_major_layout_holds_the_same_values_across_blocks() -> None:
    """More rows than one conversion block, ending mid-block, with categories and gaps."""
    n = 40_000
    rng = np.random.default_rng(5)
    lanes = np.array(["NLRTM-BEANR", "COBUN-BEANR", "CNSHA-BEANR", "SGSIN-BEANR"])
    kg = rng.normal(size=n)
    kg[rng.random(n) < 0.1] = np.nan
    frame = pl.DataFrame({"lane": rng.choice(lanes, size=n), "kg": kg})
    by_columns = fr.matrix(frame, SPECS)
    by_rows = fr.matrix(frame, SPECS, by_rows=True)
    assert by_rows.flags["C_CONTIGUOUS"] and not by_columns.flags["C_CONTIGUOUS"]
    assert np.array_equal(by_rows, by_columns, equal_nan=True)
