"""Shortcuts in the checks must not change a single result.

``Field.repeats`` parses each distinct value once and maps it back; ``encoded`` and
``legacy_joined`` concatenate columns in groups; ``sha256_hex`` hashes without a per-row encode.
Each is held to the plain way of doing the same thing, since stored content hashes and
quarantine reasons depend on them.
"""

from __future__ import annotations

import dataclasses
import hashlib

import polars as pl
from hypothesis import given, settings, strategies as st
from polars.testing import assert_frame_equal

from quaywatch.intake import consignments, fields as f

# Values valid and invalid for the repeated fields (ports, countries, times, IMO numbers, HS
# codes...), in several spellings, so that a chunk repeats some and not others.
_VALUES = ["BEANR", " beanr ", "NLRTM", "XXXXX", "BE", "cn", "ZZ", "EUR", "eur", "XYZ",
           "2026-11-02T03:00:00Z", "2026-11-02T03:00:00+01:00", "2026-11-02", "9074729",
           "IMO 9074729", "9074728", "850440", "999999", "22G1", "CT", "BEANR|NLRTM",
           "NLRTM|XXXXX", "BE0123456789", "MAEU", "", None]  # fmt: skip
_REPEATED = [field for field in consignments.FIELDS if field.repeats]


@settings(max_examples=60, deadline=None)
@given(
    columns=st.fixed_dictionaries(
        {field.name: st.lists(st.sampled_from(_VALUES), min_size=1, max_size=4).flatmap(
            lambda pool: st.lists(st.sampled_from(pool), min_size=12, max_size=12))
         for field in _REPEATED}
    ),
    height=st.sampled_from([1, 6, 12]),
)  # fmt: skip
def test_checking_distinct_values_once_gives_the_same_values_and_problems(
    columns: dict[str, list[str | None]], height: int
) -> None:
    raw = pl.DataFrame({name: values[:height] for name, values in columns.items()})
    frame = f.blanks_to_null(raw.cast(pl.String), columns)
    once = f.check(frame, _REPEATED)
    every_row = f.check(frame, [dataclasses.replace(field, repeats=False) for field in _REPEATED])
    assert_frame_equal(once, every_row)


def test_repeated_values_are_parsed_once() -> None:
    frame = pl.DataFrame({field.name: ["BEANR"] * 4 + [None] for field in _REPEATED})
    assert set(f._parsed_by_value(frame, _REPEATED)) == {field.name for field in _REPEATED}
    assert f._parsed_by_value(frame.head(1), _REPEATED) == {}


@settings(max_examples=60, deadline=None)
@given(
    rows=st.lists(
        st.lists(st.one_of(st.none(), st.text(max_size=4)), min_size=19, max_size=19), max_size=5
    ),
    width=st.integers(1, 19),
)
def test_legacy_joined_in_groups_is_the_plain_concatenation(
    rows: list[list[str | None]], width: int
) -> None:
    names = [f"c{i}" for i in range(width)]
    frame = pl.DataFrame(
        [row[:width] for row in rows], schema=dict.fromkeys(names, pl.String), orient="row"
    )
    plain = pl.concat_str([pl.col(n).fill_null("") for n in names], separator=f.FIELD_SEP)
    assert frame.select(f.legacy_joined(names)).to_series().to_list() == (
        frame.select(plain).to_series().to_list()
    )


@settings(max_examples=60, deadline=None)
@given(
    rows=st.lists(
        st.lists(st.one_of(st.none(), st.text(max_size=4)), min_size=19, max_size=19), max_size=5
    ),
    width=st.integers(1, 19),
)
def test_encoded_in_groups_is_each_value_length_prefixed(
    rows: list[list[str | None]], width: int
) -> None:
    names = [f"c{i}" for i in range(width)]
    frame = pl.DataFrame(
        [row[:width] for row in rows], schema=dict.fromkeys(names, pl.String), orient="row"
    )
    plain = [
        "".join("~" if v is None else f"{len(v.encode())}:{v}" for v in row[:width]) for row in rows
    ]
    assert frame.select(f.encoded(names)).to_series().to_list() == plain


@given(st.lists(st.text(), max_size=5))
def test_sha256_hex_is_hashlib_over_utf8(texts: list[str]) -> None:
    assert f.sha256_hex(pl.Series(texts, dtype=pl.String)).to_list() == [
        hashlib.sha256(text.encode()).hexdigest() for text in texts
    ]
