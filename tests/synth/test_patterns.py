"""Injected patterns: their rates, where they occur, what they cost, and the party signal."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import polars as pl
import pytest
from hypothesis import given, strategies as st

from quaywatch.features import declared
from quaywatch.synth import frames, patterns as pt, traffic, world
from quaywatch.synth.patterns import Pattern, PatternRates
from quaywatch.synth.traffic import Traffic


def _headers(traffic: Traffic) -> pl.DataFrame:
    rows = pl.concat(pl.read_csv(p, infer_schema=False) for p in traffic.consignment_files)
    eur = pl.col("value").cast(pl.Float64) * pl.when(pl.col("currency") == "USD").then(
        world.FX_TO_EUR["USD"]
    ).otherwise(1.0)
    declared = rows.group_by("consignment_id", maintain_order=True).agg(
        eur.sum().alias("declared_eur"), pl.col("hs6").first().alias("declared_hs6")
    )
    truth = pl.read_parquet(traffic.truth)
    return (
        rows.unique("consignment_id", keep="first", maintain_order=True)
        .join(declared, on="consignment_id")
        .join(truth, on="consignment_id")
    )


def test_each_pattern_rate_holds(large: Traffic) -> None:
    rates = PatternRates()
    n = large.consignments
    for name in pt.PATTERN_NAMES[1:]:
        expected = getattr(rates, name) * n
        assert abs(large.counts[name] - expected) <= 4.5 * math.sqrt(expected), name


def test_rates_are_tunable(tmp_path: Path) -> None:
    rates = PatternRates(undervaluation=0.0, misdeclaration=0.0, cocaine=0.1, counterfeit=0.0,
                         wildlife=0.0, shell_company=0.0)  # fmt: skip
    result = traffic.generate(tmp_path, days=1, per_day=3_000, rates=rates, with_events=False)
    assert 240 <= result.counts["cocaine"] <= 360
    assert result.counts["none"] + result.counts["cocaine"] == 3_000


def test_value_frauds_are_where_the_rules_put_them(large: Traffic) -> None:
    frame = _headers(large)
    under = frame.filter(pl.col("pattern") == "undervaluation")
    ratio = under["declared_eur"] / under["true_value_eur"]
    assert ratio.min() > 0.14 and ratio.max() < 0.61
    assert (under["revenue_at_stake_eur"] > 0).all()
    licit = frame.filter(pl.col("pattern") == "none")
    assert (licit["revenue_at_stake_eur"] == 0).all() and not licit["illicit"].any()
    assert ((licit["declared_eur"] - licit["true_value_eur"]).abs() < 1.0).all()
    mis = frame.filter(pl.col("pattern") == "misdeclaration")
    assert (mis["true_hs6"].replace_strict(world.MISDECLARED) == mis["declared_hs6"]).all()
    assert ((mis["declared_eur"] - mis["true_value_eur"]).abs() < 1.0).all()


def test_misclassified_goods_show_in_the_declared_features(large: Traffic) -> None:
    items = declared.item_features(frames.goods_item_rows(large.consignment_files))
    reference = declared.ValueReference.fit(items)
    features = declared.consignment_features(items, reference).join(
        pl.read_parquet(large.truth).select(*declared.KEY, "pattern"), on=list(declared.KEY)
    )
    # Canned tuna declared as frozen loins travels dry: the only goods the generator puts in
    # the wrong box, so the cold-chain signal is exact here.
    cold = features.filter(pl.col("box_mismatch") > 0.8)
    assert cold.height >= 20 and (cold["pattern"] == "misdeclaration").all()
    assert set(cold["box_hs6"]) == {"030487"}
    # Goods worth more per kg than the cheaper subheading they are declared under.
    high = features.group_by("pattern").agg((pl.col("value_z_max") > 2).mean().alias("share"))
    share = dict(high.iter_rows())
    assert share["misdeclaration"] > 4 * share["none"], share


def test_smuggling_patterns_have_their_lanes_and_goods(rich: Traffic) -> None:
    frame = _headers(rich)
    coke = frame.filter(pl.col("pattern") == "cocaine")
    assert coke.height > 100 and coke["critical"].all()
    assert coke["true_hs6"].is_in(world.COCAINE_COVER).all()
    assert (coke["container_size_type"] == "45R1").all()
    main = coke.filter(~pl.col("displaced"))
    moved = coke.filter(pl.col("displaced"))
    assert main["port_of_loading"].is_in(pt.COCAINE_ORIGINS).all()
    assert moved["port_of_loading"].is_in(pt.DISPLACED_ORIGINS).all()
    assert moved["transshipment_ports"].is_in(pt.DISPLACED_HUBS).all()
    assert 0.35 < moved.height / coke.height < 0.65
    assert not frame.filter(pl.col("pattern") != "cocaine")["displaced"].any()
    wild = frame.filter(pl.col("pattern") == "wildlife")
    assert wild["critical"].all() and wild["port_of_loading"].is_in(pt.WILDLIFE_ORIGINS).all()
    assert wild["true_hs6"].str.slice(0, 4).is_in(["0106", "0508", "4403", "4407"]).all()
    # Confounder: licit fruit from the very same ports, far more of it than cocaine at the
    # default rate.
    fruit = frame.filter(
        (pl.col("pattern") == "none") & pl.col("port_of_loading").is_in(pt.COCAINE_ORIGINS)
        & pl.col("true_hs6").is_in(world.COCAINE_COVER)
    )  # fmt: skip
    assert fruit.height > 3 * PatternRates().cocaine * frame.height


def test_no_displacement_before_the_configured_week(clean: Traffic) -> None:
    assert not pl.read_parquet(clean.truth)["displaced"].any()


def test_counterfeits_and_shells_use_new_or_linked_consignees(large: Traffic) -> None:
    frame = _headers(large)
    people = pl.read_parquet(large.out / "truth" / "parties.parquet")
    keys = ["consignee_name", "consignee_address", "consignee_phone"]
    known = people.select(
        pl.col("name").alias(keys[0]), pl.col("address").alias(keys[1]),
        pl.col("phone").alias(keys[2]), "first_seen", "kind", "linked_to",
    ).unique(keys, keep="first")  # fmt: skip
    frame = frame.join(known, on=keys, how="left")
    fakes = frame.filter(pl.col("pattern") == "counterfeit")
    assert fakes["port_of_loading"].is_in(pt.COUNTERFEIT_ORIGINS).all()
    assert fakes["true_hs6"].str.slice(0, 2).is_in(world.COUNTERFEIT_CHAPTERS).all()
    assert (fakes["kind"] == "newcomer").all()
    shells = frame.filter(pl.col("pattern") == "shell_company")
    assert (shells["kind"] == "shell").all() and (shells["revenue_at_stake_eur"] > 0).all()
    offenders = people.filter(pl.col("kind").is_in(["consignee", "newcomer"]) & pl.col("bad_actor"))
    shared = shells["consignee_address"].is_in(offenders["address"]) | shells[
        "consignee_phone"
    ].is_in(offenders["phone"])
    assert shared.all()


def test_party_history_is_informative(large: Traffic) -> None:
    frame = _headers(large).with_columns(
        pl.col("pattern").is_in(["undervaluation", "misdeclaration"]).alias("value_fraud")
    )
    aeo = frame.filter(pl.col("consignee_aeo") != "NONE")["value_fraud"].mean()
    other = frame.filter(pl.col("consignee_aeo") == "NONE")["value_fraud"].mean()
    assert 0 < aeo < 0.3 * other  # type: ignore[operator]
    share = (frame["consignee_aeo"] != "NONE").mean()
    assert 0.08 < share < 0.16  # type: ignore[operator]
    # A consignee that often cheated in the first three days keeps cheating in the last two.
    who = ["consignee_name", "consignee_address"]
    early = (
        frame.filter(pl.col("lodged_at") < pl.lit("2026-10-04"))
        .group_by(who)
        .agg(pl.col("value_fraud").mean().alias("early_rate"))
    )
    later = frame.filter(pl.col("lodged_at") >= pl.lit("2026-10-04")).join(early, on=who)
    repeat = later.filter(pl.col("early_rate") >= 0.3)["value_fraud"].mean()
    clean = later.filter(pl.col("early_rate") == 0)["value_fraud"].mean()
    assert repeat > 5 * clean  # type: ignore[operator]


def test_invalid_rates_are_refused() -> None:
    with pytest.raises(ValueError, match="shares"):
        PatternRates(undervaluation=0.6)


@given(
    st.lists(st.floats(0, 1e6), min_size=1, max_size=20),
    st.floats(0, 0.6),
    st.sampled_from(list(Pattern)),
)
def test_revenue_at_stake_is_never_negative(values: list[float], duty: float, p: Pattern) -> None:
    true = np.array(values)
    stake = pt.revenue_at_stake(
        np.full(len(true), int(p)), true, true * 0.5, np.full(len(true), duty),
        np.full(len(true), duty / 2), true * 2,
    )  # fmt: skip
    assert (stake >= 0).all()
    if p in (Pattern.NONE, Pattern.COCAINE, Pattern.WILDLIFE):
        assert (stake == 0).all()
