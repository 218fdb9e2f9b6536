"""The value reference learns from reference traffic (``features.reference``): undervaluers
under suspicion, or a wave of newcomers, do not set the usual price of their goods; robust to
a few odd prices; saved references from before still load."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta

import polars as pl
import pytest
from hypothesis import given, settings, strategies as st

from quaywatch.features import declared, reference

START = datetime(2026, 6, 1, 8, tzinfo=UTC)
UNTIL = datetime(2026, 10, 1, tzinfo=UTC)


def _items(prices: list[float], consignees: list[str], lodged: list[datetime],
           aeo: list[str] | None = None) -> pl.DataFrame:  # fmt: skip
    """One 1,000 kg item of bananas (0803.90) per price, each its own consignment."""
    n = len(prices)
    return declared.item_features(pl.DataFrame({
        "consignment_id": [f"C{i:04d}" for i in range(n)], "version": [1] * n,
        "lodged_at": lodged, "consignee_key": consignees,
        "consignor_key": [f"F-{c}" for c in consignees],
        "consignee_aeo": aeo or ["NONE"] * n, "consignor_aeo": ["NONE"] * n,
        "hs6": ["080390"] * n, "gross_mass_kg": [1000.0] * n,
        "value": [p * 1000.0 for p in prices], "currency": ["EUR"] * n,
        "container_size_type": ["45R1"] * n,
    }))  # fmt: skip


def _median(ref: declared.ValueReference) -> float:
    return math.exp(ref.by_hs6["080390"][0])


def _market(undervalued: int, *, established: bool = False) -> tuple[pl.DataFrame, list[str]]:
    """40 items of five regular importers at 0.80 EUR/kg since June; `undervalued` items of
    one importer (BAD) at 0.08 EUR/kg in September. `established`: BAD is one of the regular
    importers (its first item in June is honest), not a newcomer."""
    prices = [0.80] * 40 + [0.08] * undervalued
    consignees = [f"OK{i % 5}" for i in range(40)] + ["BAD"] * undervalued
    if established:
        consignees[0] = "BAD"
    lodged = [START + timedelta(days=i) for i in range(40)] + [
        START + timedelta(days=95 + i / 10) for i in range(undervalued)
    ]
    return _items(prices, consignees, lodged), [f"C{i:04d}" for i in range(40, 40 + undervalued)]


def test_a_subheading_mostly_declared_by_undervaluers_keeps_the_honest_price() -> None:
    items, bad = _market(60, established=True)
    everyone = items.drop("consignee_key", "consignor_key")  # before: all traffic counts
    assert _median(declared.ValueReference.fit(everyone, at=UNTIL)) == pytest.approx(0.08)
    seizure = pl.DataFrame({"consignment_id": [bad[0]], "result": ["IRREGULAR"],
                            "revenue_recovered_eur": [25_000.0],
                            "known_at": [UNTIL - timedelta(days=2)]})  # fmt: skip
    fitted = declared.ValueReference.fit(items, outcomes=seizure, at=UNTIL)
    assert _median(fitted) == pytest.approx(0.80)
    assert fitted.basis == {"ordinary": 39, "suspect": 61}
    # Recorded after the window's end, the result is not known to the reference.
    late = seizure.with_columns(pl.lit(UNTIL + timedelta(days=1)).alias("known_at"))
    assert _median(declared.ValueReference.fit(items, outcomes=late, at=UNTIL)) != pytest.approx(
        0.80
    )
    # A clerical irregularity (nothing worth recovering) is no suspicion.
    minor = seizure.with_columns(pl.lit(10.0).alias("revenue_recovered_eur"))
    assert _median(declared.ValueReference.fit(items, outcomes=minor, at=UNTIL)) != pytest.approx(
        0.80
    )


def test_without_labels_a_wave_of_newcomers_weighs_little() -> None:
    """BAD first appears in September, three months into the window: its 60 items weigh 6."""
    items, _ = _market(60)
    fitted = declared.ValueReference.fit(items, at=UNTIL)
    assert fitted.basis == {"ordinary": 40, "newcomer": 60}
    assert _median(fitted) == pytest.approx(0.80)


def test_an_aeo_newcomer_is_trusted() -> None:
    items, _ = _market(60)
    items = items.with_columns(
        pl.when(pl.col("consignee_key") == "BAD").then(pl.lit("AEOF")).otherwise(
            pl.col("consignee_aeo")).alias("consignee_aeo")
    )  # fmt: skip
    fitted = declared.ValueReference.fit(items, at=UNTIL)
    assert fitted.basis == {"ordinary": 40, "trusted": 60}


@settings(max_examples=30, deadline=None)
@given(st.lists(st.floats(min_value=1e-3, max_value=1e4), min_size=0, max_size=5))
def test_a_few_odd_prices_hardly_move_the_reference(odd: list[float]) -> None:
    """50 items between 0.70 and 0.90 EUR/kg and up to five at any price: the median stays
    within the honest band and the spread within a factor of two of the clean one."""
    honest = [0.70 + 0.2 * i / 49 for i in range(50)]
    prices = honest + odd
    n = len(prices)
    lodged = [START + timedelta(hours=i) for i in range(n)]
    items = _items(prices, [f"OK{i}" for i in range(n)], lodged)
    clean = declared.ValueReference.fit(_items(honest, [f"OK{i}" for i in range(50)], lodged[:50]))
    fitted = declared.ValueReference.fit(items)
    assert 0.70 <= _median(fitted) <= 0.90
    assert fitted.by_hs6["080390"][1] <= 2 * clean.by_hs6["080390"][1]


def test_a_reference_saved_before_weights_still_loads() -> None:
    saved = {"by_hs6": {"080390": [-0.2, 0.3]}, "by_chapter": {}, "overall": [0.0, 1.0],
             "min_items": 30}  # fmt: skip
    loaded = declared.ValueReference.from_dict(saved)
    assert loaded.by_hs6 == {"080390": (-0.2, 0.3)} and loaded.basis == {}
    items, _ = _market(10)
    fitted = declared.ValueReference.fit(items, at=UNTIL)
    assert declared.ValueReference.from_dict(fitted.to_dict()) == fitted


def test_weights_need_a_timezone_and_the_columns() -> None:
    frame = pl.DataFrame({"consignment_id": ["C1"], "lodged_at": [START]})
    with pytest.raises(ValueError, match="consignee_key"):
        reference.weights(frame, at=UNTIL)
    with pytest.raises(ValueError, match="timezone"):
        reference.weights(frame, at=datetime(2026, 1, 1))


def test_an_outcome_counts_only_when_recorded_strictly_before_the_moment() -> None:
    """As for training labels and track records: a seizure recorded in the same instant as the
    baseline's moment is not yet known; a microsecond earlier, it puts BAD's traffic under
    suspicion; so does a clean control make OK0's traffic trusted."""
    items, bad = _market(3)
    rows = items.select("consignment_id", "lodged_at", "consignee_key", "consignor_key")
    at = START + timedelta(days=120)

    def standing(known: datetime) -> dict[str, str]:
        outcomes = pl.DataFrame({"consignment_id": [bad[0], "C0000"],
                                 "result": ["SEIZURE", "COMPLIANT"],
                                 "revenue_recovered_eur": [0.0, 0.0],
                                 "known_at": [known, known]})  # fmt: skip
        found = reference.weights(rows, at=at, outcomes=outcomes)
        return dict(found.select("consignment_id", "standing").iter_rows())

    same = standing(at)
    assert same[bad[1]] == "newcomer" and same["C0005"] == "ordinary"
    before = standing(at - timedelta(microseconds=1))
    assert before[bad[1]] == "suspect" and before["C0005"] == "trusted"
