"""The state Spark broadcasts for a period is trimmed (``scale.spark.trimmed``) to the rows a
lookup in the period reads: on any state, every lookup at or after the period's start finds
the same on the trimmed rows as on all of them; and the cumulation gives the per-key running
sums whatever order the deltas come in. No Spark needed: these are the polars steps its
Python passes run.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import polars as pl
from hypothesis import given, settings, strategies as st
from polars.testing import assert_frame_equal

from quaywatch.intake.entity_state import cumulate, fold
from quaywatch.scale.spark import trimmed

T0 = datetime(2026, 10, 1, tzinfo=UTC)
_TIME = pl.Datetime("us", "UTC")

delta = st.tuples(
    st.sampled_from(["consignee", "hs6", "*"]),
    st.sampled_from(["A", "B", ""]),
    st.integers(0, 40),
    st.integers(-1, 2),
    st.integers(-1, 2),
    st.integers(-1, 1),
)


def lookup_snapshot(states: pl.DataFrame, lookups: pl.DataFrame) -> pl.DataFrame:
    """Per (entity, entity_key, t) of ``lookups``: the latest row of ``states`` strictly before
    ``t`` (records, controls, hits; null when none) and the first sighting (the earliest row with
    a record): what ``features.batch_state`` reads, written plainly as the test's reference."""
    by = ["entity", "entity_key"]
    latest = lookups.with_row_index("__i").sort("t").join_asof(
        states.sort("at"), left_on="t", right_on="at", by=by, strategy="backward",
        allow_exact_matches=False, check_sortedness=False,
    )  # fmt: skip
    first = states.filter(pl.col("records") > 0).group_by(by).agg(pl.col("at").min().alias("first"))
    found = latest.join(first, on=by, how="left").sort("__i")
    return found.select(*lookups.columns, "records", "controls", "hits", "first")


def _deltas(rows: list[tuple[str, str, int, int, int, int]]) -> pl.DataFrame:
    return pl.DataFrame(
        [(e, k, T0 + timedelta(hours=h), r, c, x) for e, k, h, r, c, x in rows],
        schema={"entity": pl.String, "entity_key": pl.String, "at": _TIME, "records": pl.Int64,
                "controls": pl.Int64, "hits": pl.Int64},
        orient="row",
    )  # fmt: skip


@settings(max_examples=150, deadline=None)
@given(
    st.lists(delta, max_size=40),
    st.integers(0, 45),
    st.lists(st.tuples(st.sampled_from(["consignee", "hs6", "*"]), st.sampled_from(["A", "B", ""]),
                       st.integers(0, 45)), min_size=1, max_size=12),
)  # fmt: skip
def test_lookups_in_the_period_find_the_same_on_the_trimmed_rows(
    rows: list[tuple[str, str, int, int, int, int]],
    start: int,
    asked: list[tuple[str, str, int]],
) -> None:
    states = cumulate(_deltas(rows))
    since = T0 + timedelta(hours=start)
    lookups = pl.DataFrame(
        [(e, k, since + timedelta(hours=h)) for e, k, h in asked],
        schema={"entity": pl.String, "entity_key": pl.String, "t": _TIME},
        orient="row",
    )
    kept = trimmed(states, since)
    assert kept.height <= states.height
    assert_frame_equal(lookup_snapshot(kept, lookups), lookup_snapshot(states, lookups))


@settings(max_examples=100, deadline=None)
@given(st.lists(delta, max_size=40), st.integers(0, 2**32 - 1))
def test_the_cumulation_is_the_running_sum_per_key_in_any_order(
    rows: list[tuple[str, str, int, int, int, int]], seed: int
) -> None:
    frame = _deltas(rows)
    shuffled = frame.sample(fraction=1.0, shuffle=True, seed=seed)
    found = cumulate(shuffled).sort("entity", "entity_key", "at")
    by = ["entity", "entity_key"]
    expected = (
        frame.group_by(*by, "at")
        .agg(pl.col("records", "controls", "hits").sum())
        .filter(pl.any_horizontal(pl.col(n) != 0 for n in ("records", "controls", "hits")))
        .sort(*by, "at")
        .with_columns(pl.col("records", "controls", "hits").cum_sum().over(by))
    )
    assert_frame_equal(found, expected)


@settings(max_examples=200, deadline=None)
@given(st.lists(delta, max_size=40), st.lists(delta, max_size=15))
def test_a_fold_of_new_deltas_gives_the_state_of_all_the_deltas(
    kept: list[tuple[str, str, int, int, int, int]],
    new: list[tuple[str, str, int, int, int, int]],
) -> None:
    """What a lake's kept state becomes with the deltas of new records (``fold``) is what the
    state of every delta together would be: new deltas later than the kept rows, among them
    (a late outcome) or before them (an amendment taking back an old lodging)."""
    order = ["entity", "entity_key", "at"]
    found = fold(cumulate(_deltas(kept)), _deltas(new)).sort(order)
    assert_frame_equal(found, cumulate(_deltas(kept + new)).sort(order))


def test_a_fold_keeps_a_stored_row_of_nothing_as_its_base() -> None:
    """A row whose counts are all back to nothing is still a row of the state (a lookup after
    it finds nothing, not the row before): folding a later delta keeps it."""
    states = cumulate(_deltas([("hs6", "A", 1, 1, 0, 0), ("hs6", "A", 5, -1, 0, 0)]))
    assert states.height == 2
    found = fold(states, _deltas([("hs6", "A", 9, 1, 0, 0)])).sort("at")
    assert found["records"].to_list() == [1, 0, 1]
