"""As-of entity histories: hand-computed cases, a naive reference, and a proof of leak-freedom."""

from __future__ import annotations

import random
from datetime import date, timedelta

import polars as pl
import pytest
from hypothesis import given, settings, strategies as st

from quaywatch.features.history import Entity, as_of_history, feature_names

DAY0 = date(2021, 1, 1)
IMPORTER = Entity("importer", ("importer",))
PAIR = Entity("importer_hs6", ("importer", "hs6"))
ENTITIES = [IMPORTER, PAIR]


def _day(n: int) -> date:
    return DAY0 + timedelta(days=n)


def _frames(
    rows: list[tuple[int, str | None, int]],
    history: list[tuple[int, str | None, int]],
    outcomes: list[tuple[int, str | None, int, bool, float]],
) -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame]:
    schema = {"importer": pl.String, "hs6": pl.Int64}
    r = pl.DataFrame(
        [(_day(d), i, h) for d, i, h in rows],
        schema={"at": pl.Date, **schema},
        orient="row",
    )
    hi = pl.DataFrame(
        [(_day(d), i, h) for d, i, h in history],
        schema={"seen_at": pl.Date, **schema},
        orient="row",
    )
    o = pl.DataFrame(
        [(_day(d), i, h, hit, rev) for d, i, h, hit, rev in outcomes],
        schema={"known_at": pl.Date, **schema, "hit": pl.Boolean, "revenue": pl.Float64},
        orient="row",
    )
    return r, hi, o


def _features(r: pl.DataFrame, hi: pl.DataFrame, o: pl.DataFrame, w: float = 4.0) -> pl.DataFrame:
    return as_of_history(
        r, history=hi, outcomes=o, entities=ENTITIES, revenue="revenue", prior_weight=w
    )


def test_hand_computed_case() -> None:
    rows, history, outcomes = _frames(
        rows=[(5, "A", 1), (0, "A", 1), (3, None, 1), (3, "B", 2)],
        history=[(0, "A", 1), (1, "A", 2), (2, "A", 1), (5, "A", 1), (3, "B", 2)],
        outcomes=[(1, "A", 1, True, 100.0), (2, "A", 2, False, 0.0), (4, "B", 2, True, 50.0)],
    )
    out = _features(rows, history, outcomes, w=4.0)
    assert out.columns[:3] == ["at", "importer", "hs6"]
    assert out.columns[3:] == feature_names(IMPORTER, revenue=True) + feature_names(
        PAIR, revenue=True
    )
    first = out.row(0, named=True)  # day 5: records on days 0,1,2 (day 5 is not before day 5)
    assert first["importer_records"] == 3
    assert first["importer_days_since_first"] == 5
    assert first["importer_hs6_records"] == 2
    # Three outcomes known before day 5, two hits: prior (2 + 1) / (3 + 2) = 0.6.
    assert first["importer_controls"] == 2 and first["importer_hits"] == 1
    assert first["importer_hit_rate"] == pytest.approx((1 + 4 * 0.6) / (2 + 4))
    assert first["importer_revenue_per_control"] == pytest.approx(50.0)
    assert first["importer_hs6_hit_rate"] == pytest.approx((1 + 4 * 0.6) / (1 + 4))
    second = out.row(1, named=True)  # day 0: nothing known yet, prior 0.5
    assert second["importer_records"] == 0
    assert second["importer_days_since_first"] is None
    assert second["importer_hit_rate"] == pytest.approx(0.5)
    assert second["importer_revenue_per_control"] is None
    third = out.row(2, named=True)  # null importer: a never-seen entity
    assert third["importer_records"] == 0 and third["importer_controls"] == 0
    fourth = out.row(3, named=True)  # day 3: B seen on day 3 itself does not count yet
    assert fourth["importer_records"] == 0 and fourth["importer_controls"] == 0
    # Two outcomes before day 3, one hit: prior (1 + 1) / (2 + 2).
    assert fourth["importer_hit_rate"] == pytest.approx(0.5)


def test_rejects_mismatched_times_and_missing_columns() -> None:
    rows, history, outcomes = _frames([(0, "A", 1)], [], [])
    with pytest.raises(ValueError, match="share one dtype"):
        _features(rows, history.with_columns(pl.col("seen_at").cast(pl.Datetime)), outcomes)
    with pytest.raises(ValueError, match="lacks column"):
        _features(rows.drop("hs6"), history, outcomes)


def _naive(
    rows: pl.DataFrame, history: pl.DataFrame, outcomes: pl.DataFrame, w: float
) -> pl.DataFrame:
    """The definition, row by row, in O(n²): the vectorised version must agree with it."""
    result: dict[str, list[float | None]] = {}
    for row in rows.iter_rows(named=True):
        t = row["at"]
        known = [o for o in outcomes.iter_rows(named=True) if o["known_at"] < t]
        prior = (sum(o["hit"] for o in known) + 1) / (len(known) + 2)
        for entity in ENTITIES:
            key = tuple(row[c] for c in entity.columns)
            if None in key:
                key = ("never seen",)

            def same(other: dict[str, object], key: tuple[object, ...] = key) -> bool:
                return tuple(other[c] for c in entity.columns) == key  # noqa: B023

            seen = [
                h["seen_at"] for h in history.iter_rows(named=True) if h["seen_at"] < t and same(h)
            ]
            mine = [o for o in known if same(o)]
            hits = float(sum(o["hit"] for o in mine))
            values = [
                float(len(seen)),
                (t - min(seen)).days if seen else None,
                float(len(mine)),
                hits,
                (hits + w * prior) / (len(mine) + w),
                sum(o["revenue"] for o in mine) / len(mine) if mine else None,
            ]
            for name, value in zip(feature_names(entity, revenue=True), values, strict=True):
                result.setdefault(name, []).append(None if value is None else float(value))
    return pl.DataFrame(result, schema={n: pl.Float64 for n in result})


@pytest.mark.parametrize("in_time_order", [False, True])
@pytest.mark.parametrize("seed", [1, 2, 3])
def test_matches_naive_reference_on_random_data(seed: int, in_time_order: bool) -> None:
    """Rows in any order, or already in time order (the path that skips sorting them)."""
    rng = random.Random(seed)
    people = ["A", "B", "C", None]

    def key() -> tuple[str | None, int]:
        return rng.choice(people), rng.randint(1, 3)

    rows, history, outcomes = _frames(
        rows=[(rng.randint(0, 30), *key()) for _ in range(60)],
        history=[(rng.randint(0, 30), *key()) for _ in range(120)],
        outcomes=[
            (rng.randint(0, 30), *key(), rng.random() < 0.3, rng.choice([0.0, 10.0, 25.5]))
            for _ in range(80)
        ],
    )
    if in_time_order:
        rows = rows.sort("at", maintain_order=True)
    got = _features(rows, history, outcomes, w=3.0).drop("at", "importer", "hs6")
    want = _naive(rows, history, outcomes, 3.0)
    assert got.columns == want.columns
    for name in got.columns:
        g, w = got[name].to_list(), want[name].to_list()
        assert [v is None for v in g] == [v is None for v in w], name
        present = [(a, b) for a, b in zip(g, w, strict=True) if a is not None]
        assert [a for a, _ in present] == pytest.approx([b for _, b in present], rel=1e-12), name


@pytest.mark.parametrize(
    "kinds",
    [("hit_rate", "controls", "days_since_first"), ("days_since_first",), ("records", "hits")],
)
def test_a_subset_of_kinds_gives_the_same_values(kinds: tuple[str, ...]) -> None:
    """Leaving ``records`` out takes another path to the first sighting: same figures."""
    rng = random.Random(11)

    def key() -> tuple[str | None, int]:
        return rng.choice(["A", "B", "C", None]), rng.randint(1, 3)

    rows, history, outcomes = _frames(
        rows=[(rng.randint(0, 30), *key()) for _ in range(80)],
        history=[(rng.randint(0, 30), *key()) for _ in range(150)],
        outcomes=[(rng.randint(0, 30), *key(), rng.random() < 0.3, 1.0) for _ in range(60)],
    )
    full = _features(rows, history, outcomes)
    part = as_of_history(
        rows, history=history, outcomes=outcomes, entities=ENTITIES, prior_weight=4.0, kinds=kinds
    )
    names = [n for e in ENTITIES for n in feature_names(e, kinds=kinds)]
    assert part.columns == [*rows.columns, *names]
    assert part.select(names).equals(full.select(names))
    with pytest.raises(ValueError, match="unknown history feature kind"):
        as_of_history(rows, history=history, outcomes=outcomes, entities=ENTITIES, kinds=["age"])


_keys = st.tuples(st.sampled_from(["A", "B", None]), st.integers(1, 2))
_rows = st.lists(st.tuples(st.integers(0, 20), _keys), min_size=1, max_size=8)
_history = st.lists(st.tuples(st.integers(0, 20), _keys), max_size=12)
_outcomes = st.lists(
    st.tuples(st.integers(0, 20), _keys, st.booleans(), st.sampled_from([0.0, 5.0])), max_size=12
)


@settings(max_examples=60, deadline=None)
@given(rows=_rows, history=_history, outcomes=_outcomes, late_h=_history, late_o=_outcomes)
def test_records_known_at_or_after_the_assessment_change_nothing(
    rows: list[tuple[int, tuple[str | None, int]]],
    history: list[tuple[int, tuple[str | None, int]]],
    outcomes: list[tuple[int, tuple[str | None, int], bool, float]],
    late_h: list[tuple[int, tuple[str | None, int]]],
    late_o: list[tuple[int, tuple[str | None, int], bool, float]],
) -> None:
    """Leak-freedom: for each row, records dated at or after its time move none of its features."""
    flat_rows = [(d, *k) for d, k in rows]
    r, hi, o = _frames(
        flat_rows, [(d, *k) for d, k in history], [(d, *k, h, v) for d, k, h, v in outcomes]
    )
    before = _features(r, hi, o)
    for index, (t, *_) in enumerate(flat_rows):
        # Shift every late record to day t or later: it happens in this row's future.
        _, hi_late, o_late = _frames(
            [], [(t + d, *k) for d, k in late_h], [(t + d, *k, h, v) for d, k, h, v in late_o]
        )
        after = _features(r, pl.concat([hi, hi_late]), pl.concat([o, o_late]))
        assert after.row(index) == before.row(index)
