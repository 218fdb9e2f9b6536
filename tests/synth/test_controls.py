"""The legacy control history: selection rates, propensities, detection, and what it reveals."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from quaywatch.synth import controls, traffic
from quaywatch.synth.controls import ControlRates
from quaywatch.synth.traffic import Traffic

DAY_SECONDS = 86_400


def _outcomes(generated: Traffic) -> pl.DataFrame:
    return pl.concat(pl.read_csv(p, infer_schema=False) for p in generated.outcome_files)


def _declared(generated: Traffic) -> pl.DataFrame:
    """One row per consignment: its first goods item's row, with the day it was lodged."""
    rows = pl.concat(pl.read_csv(p, infer_schema=False) for p in generated.consignment_files)
    first = rows.filter(pl.col("item_sequence") == "1")
    return first.with_columns(
        controls.lane(first), pl.col("lodged_at").str.slice(0, 10).alias("day")
    )


def test_about_three_percent_are_controlled_one_percent_at_random(large: Traffic) -> None:
    found = _outcomes(large)
    n, rates = large.consignments, ControlRates()
    assert found.height == large.controls
    random = found.filter(pl.col("selected_by") == "RANDOM").height
    assert abs(random - n * rates.random_share) <= 4.5 * math.sqrt(n * rates.random_share)
    # Both draws pick about 3 %, less the few picked twice.
    expected = n * (1 - (1 - rates.random_share) * (1 - rates.rule_share))
    assert abs(found.height - expected) <= 0.1 * expected
    assert set(found["selected_by"]) == {"RANDOM", "RULE"}


def _strata(generated: Traffic, rates: ControlRates) -> pl.DataFrame:
    """Controlled and lodged consignments per day, lane and AEO status, checking on the way
    that the share controlled in each is the propensity its outcomes carry.

    Within a day and a lane (the consignee's age aside: the East Asian lane is left out), every
    controlled consignment has the same propensity. A stratum without any control on a day has
    no known propensity and is left out on both sides.
    """
    found = _outcomes(generated).with_columns(pl.col("propensity").cast(pl.Float64))
    assert found["propensity"].is_between(0.0, 1.0, closed="right").all()
    assert (found["propensity"] >= rates.random_share - 1e-12).all()
    declared = _declared(generated).with_columns((pl.col("consignee_aeo") != "NONE").alias("aeo"))
    strata = ["day", "lane", "aeo"]
    joined = found.join(declared, on="consignment_id", how="inner")
    assert joined.height == found.height
    per = (
        joined.filter(pl.col("lane") != "consumer_east_asia")
        .group_by(strata)
        .agg(pl.len().alias("controlled"), pl.col("propensity").min().alias("p"),
             (pl.col("propensity").max() - pl.col("propensity").min()).alias("spread"))
        .join(declared.group_by(strata).len("consignments"), on=strata)
    )  # fmt: skip
    assert per["spread"].max() < 1e-12
    for lane in ("reefer_latam", "sensitive_timber", "other"):
        for aeo in (False, True):
            part = per.filter((pl.col("lane") == lane) & (pl.col("aeo") == aeo))
            expected = (part["consignments"] * part["p"]).sum()
            variance = (part["consignments"] * part["p"] * (1 - part["p"])).sum()
            got = part["controlled"].sum()
            assert abs(got - expected) <= 4.5 * math.sqrt(variance) + 1, (lane, aeo, got, expected)
    return per


def test_propensities_match_the_selection_frequency_of_each_stratum(large: Traffic) -> None:
    per = _strata(large, ControlRates())
    # The risk lanes are controlled far more often than the rest, AEOs less.
    rate = per.group_by("lane", "aeo").agg(
        (pl.col("p") * pl.col("consignments")).sum() / pl.col("consignments").sum()
    )
    share = {(lane, aeo): p for lane, aeo, p in rate.iter_rows()}
    assert share[("reefer_latam", False)] > 3 * share[("other", False)]
    assert share[("other", True)] < share[("other", False)]


def test_propensities_hold_where_both_draws_often_pick_the_same(tmp_path: Path) -> None:
    """With large shares, a propensity that merely added the two draws would be seen."""
    rates = ControlRates(random_share=0.3, rule_share=0.2)
    generated = traffic.generate(
        tmp_path, days=1, per_day=6_000, seed=12, with_events=False, control_rates=rates
    )
    _strata(generated, rates)


def test_propensity_is_the_mixture_of_the_random_and_the_rule_draw() -> None:
    lanes = np.array(["other", "reefer_latam", "consumer_east_asia", "consumer_east_asia", "other"])
    new = np.array([False, False, True, False, False])
    aeo = np.array([False, False, False, False, True])
    rates = ControlRates(random_share=0.01, rule_share=0.02)
    p_random, p_rule = controls.propensities(lanes, new, aeo, rates)
    weight = np.array([1.0, 8.0, 10.0, 1.5, 0.2])
    assert np.allclose(p_rule, 0.02 * weight / weight.mean()) and (p_random == 0.01).all()
    capped = controls.propensities(lanes, new, aeo, ControlRates(rule_share=0.3))[1]
    assert capped.max() == ControlRates().max_rule_probability


@pytest.mark.parametrize("kind", controls.TYPES)
@pytest.mark.parametrize("fraud", list(controls.DETECTION))
def test_detection_rates_hold(fraud: str, kind: str) -> None:
    n = 20_000
    rate = controls.DETECTION[fraud][controls.TYPES.index(kind)]
    found = controls.detected(np.random.default_rng(1), np.full(n, fraud), np.full(n, kind))
    assert abs(found.sum() - n * rate) <= 4.5 * math.sqrt(n * rate * (1 - rate)) + 1


def test_outcomes_follow_the_truth_and_only_for_controlled_consignments(large: Traffic) -> None:
    found = _outcomes(large)
    truth = pl.read_parquet(large.truth)
    assert found["control_id"].is_unique().all() and found["consignment_id"].is_unique().all()
    joined = found.join(truth, on="consignment_id", how="left")
    assert joined["pattern"].null_count() == 0  # every outcome is of a generated consignment
    revenue = joined["revenue_recovered_eur"].cast(pl.Float64)
    licit = joined.filter(pl.col("pattern") == "none")
    assert licit["result"].is_in(["COMPLIANT", "IRREGULAR"]).all()
    assert (licit["result"] == "IRREGULAR").mean() < 0.04  # minor irregularities only
    assert licit["irregularity"].drop_nulls().is_in(["DOCUMENTS", "QUANTITY"]).all()
    assert (licit["revenue_recovered_eur"].cast(pl.Float64) <= 400).all()
    illicit = joined.filter(pl.col("pattern") != "none")
    assert (
        illicit["revenue_recovered_eur"].cast(pl.Float64) <= illicit["revenue_at_stake_eur"]
    ).all()
    assert (revenue >= 0).all()
    seized = joined.filter(pl.col("result") == "SEIZURE")
    assert seized["pattern"].is_in(["cocaine", "counterfeit", "wildlife", "shell_company"]).all()
    assert (
        seized.select(pl.col("seizure_goods", "seizure_quantity", "seizure_unit"))
        .null_count()
        .sum_horizontal()
        .item()
        == 0
    )
    coke = seized.filter(pl.col("pattern") == "cocaine")
    assert (
        coke.height > 0
        and coke["concealment"]
        .is_in(["RIP_ON_RIP_OFF", "MIXED_IN_CARGO", "REEFER_UNIT", "FALSE_WALL"])
        .all()
    )
    value = joined.filter(pl.col("irregularity") == "VALUE")
    assert value.height > 0 and value["pattern"].is_in(["undervaluation", "shell_company"]).all()
    # Detection is imperfect: some frauds that were controlled come back compliant.
    assert (illicit["result"] == "COMPLIANT").any() and (
        illicit["result"] != "COMPLIANT"
    ).mean() > 0.3
    times = joined.select(
        *(pl.col(c).str.to_datetime(time_zone="UTC") for c in ("controlled_at", "known_at")),
    )
    delay = (times["known_at"] - times["controlled_at"]).dt.total_seconds()
    assert delay.min() >= 0 and delay.max() <= 10 * DAY_SECONDS
    # Files hold the controls of their day.
    for path in large.outcome_files:
        days = pl.read_csv(path, infer_schema=False)["controlled_at"].str.slice(0, 10)
        assert set(days) == {path.stem}


def test_controls_happen_after_arrival(clean: Traffic) -> None:
    declared = _declared(clean).select(
        "consignment_id", pl.col("eta").str.to_datetime(time_zone="UTC")
    )
    found = _outcomes(clean).join(declared, on="consignment_id")
    controlled = found["controlled_at"].str.to_datetime(time_zone="UTC")
    hours = (controlled - found["eta"]).dt.total_hours()
    assert hours.min() >= 5.99 and hours.max() <= 72


def test_without_legacy_controls_the_rest_is_unchanged(tmp_path: Path) -> None:
    with_history = traffic.generate(tmp_path / "a", days=2, per_day=400, seed=5)
    without = traffic.generate(tmp_path / "b", days=2, per_day=400, seed=5, legacy_controls=False)
    assert with_history.controls > 0 and without.controls == 0 and not without.outcome_files
    assert not (without.out / "outcomes").exists()
    for first, second in zip(with_history.consignment_files + with_history.event_files,
                             without.consignment_files + without.event_files, strict=True):  # fmt: skip
        assert first.read_bytes() == second.read_bytes()
    assert pl.read_parquet(with_history.truth).equals(pl.read_parquet(without.truth))


def test_control_rates_are_checked() -> None:
    with pytest.raises(ValueError, match="control shares"):
        ControlRates(random_share=0.4, rule_share=0.2)


def test_a_day_too_small_for_any_control_writes_no_outcome_file(tmp_path: Path) -> None:
    tiny = traffic.generate(tmp_path / "tiny", days=1, per_day=3, seed=1)
    assert (tiny.controls, tiny.outcome_files) == (0, [])
