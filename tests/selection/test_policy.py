"""Rules first, the random sample and its propensities, AEO facilitation and lanes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
import polars as pl
import pytest

from quaywatch.errors import RecordError
from quaywatch.selection import capacity, policy

SHIPPED = capacity.load()
EARLY = datetime(2026, 11, 2, 6, tzinfo=UTC)  # 07:00 in Antwerp: MPET's early shift (MSCU)


def frame(n: int, seed: int = 1, **columns: object) -> pl.DataFrame:
    rng = np.random.default_rng(seed)
    base = pl.DataFrame(
        {
            "consignment_id": [f"C{i:06d}" for i in range(n)],
            "version": np.ones(n, dtype=np.int64),
            "probability": rng.beta(0.5, 10, n),
            "revenue_at_stake_eur": rng.lognormal(7, 1.5, n),
            "carrier_scac": ["MSCU"] * n,
            "eta": [EARLY + timedelta(seconds=int(s)) for s in rng.integers(0, 6 * 3600, n)],
        }
    )
    return base.with_columns(pl.Series(k, v) for k, v in columns.items())


def test_rules_are_honoured_first_and_reported_when_they_overrun() -> None:
    n = 400
    floors = ["red"] * 20 + ["orange"] * 5 + [None] * (n - 25)  # 20 exams = 60 h > 48 h
    got = policy.select(frame(n, lane_floor=floors), SHIPPED, random_rate=0.0)
    d = got.decisions.sort("consignment_id")
    ruled = d.head(25)
    assert (ruled["selected_by"] == "RULE").all() and (ruled["propensity"] == 1).all()
    assert (ruled.head(20)["control_type"] == "PHYSICAL").all()
    assert ruled.tail(5)["control_type"].is_in(["SCAN", "PHYSICAL"]).all()
    over = got.overloads.row(0, named=True)
    assert got.overloads.height == 1 and over["resource"] == "officer_hours"
    assert over["capacity"] == 48 and over["required_by_rules"] >= 60
    # officer hours gone: the optimiser adds only documentary checks (no officer time)
    assert set(d.filter(pl.col("selected_by") == "MODEL")["control_type"]) <= {"DOCUMENTARY"}


def test_referrals_set_floors_and_unknown_values_are_refused() -> None:
    refs = ["DNL", "RFS", "RFI"] + [None] * 7
    d = policy.select(frame(10, referral=refs), SHIPPED, random_rate=0.0).decisions
    d = d.sort("consignment_id")
    assert d["control_type"].head(3).to_list()[0] == "PHYSICAL"
    assert d["control_type"][1] in ("SCAN", "PHYSICAL") and d["control_type"][2] is not None
    with pytest.raises(RecordError, match="field lane_floor") as caught:
        policy.select(frame(3, lane_floor=["purple", None, None]), SHIPPED)
    assert caught.value.record_id == "C000000 v1"


def test_capacity_is_respected_and_used_for_the_most_valuable() -> None:
    got = policy.select(frame(3_000), SHIPPED, random_rate=0.0)
    usage = got.usage
    assert (usage["used"] <= usage["capacity"] + 1e-9).all()
    d = got.decisions
    chosen = d.filter(pl.col("selected_by") == "MODEL")
    value = pl.col("probability") * pl.col("revenue_at_stake_eur")
    # everything controlled is worth at least what everything left alone is worth
    assert (
        chosen.select(value.min()).item()
        >= d.filter(pl.col("selected_by") == "NONE").select(value.max()).item()
    )
    physical = chosen.filter(pl.col("control_type") == "PHYSICAL").select(value.min()).item()
    scanned = chosen.filter(pl.col("control_type") == "SCAN").select(value.max()).item()
    assert physical >= scanned  # the heaviest get the strongest control
    assert got.objective == pytest.approx(d["expected_value"].sum())


def test_random_sample_rate_seed_and_propensities() -> None:
    rate, n = 0.05, 20_000
    got = policy.select(frame(n), SHIPPED, random_rate=rate, seed=3)
    d = got.decisions
    drawn = d.filter(pl.col("selected_by") == "RANDOM")
    assert abs(drawn.height - rate * n) < 4 * np.sqrt(n * rate * (1 - rate))
    assert (drawn["control_type"] == "SCAN").all()
    assert drawn["propensity"].is_in([rate, 1.0]).all() and (drawn["propensity"] == rate).sum() > 0
    assert (d.filter(pl.col("selected_by") == "NONE")["propensity"] == rate).all()
    assert (d.filter(pl.col("selected_by") == "MODEL")["propensity"] == 1.0).all()
    again = policy.select(frame(n), SHIPPED, random_rate=rate, seed=3).decisions
    other = policy.select(frame(n), SHIPPED, random_rate=rate, seed=4).decisions
    assert again.equals(d)
    assert not other["selected_by"].equals(d["selected_by"])
    # input order does not change the draw: it is made over the candidates in key order
    shuffled = policy.select(frame(n).sample(fraction=1.0, shuffle=True, seed=1), SHIPPED,
                             random_rate=rate, seed=3).decisions  # fmt: skip
    assert shuffled.equals(d)


def test_aeo_facilitation_lowers_aeo_selection() -> None:
    n = 4_000
    base = frame(n)
    aeo = np.arange(n) % 2 == 0
    plain = policy.select(base.with_columns(pl.Series("aeo", aeo)), SHIPPED, random_rate=0.0)
    facilitated = policy.select(base.with_columns(pl.Series("aeo", aeo)), SHIPPED, random_rate=0.0,
                                policy=capacity.Policy(aeo_factor=0.2))  # fmt: skip
    neutral = policy.select(base.with_columns(pl.Series("aeo", aeo)), SHIPPED, random_rate=0.0,
                            policy=capacity.Policy(aeo_factor=1.0))  # fmt: skip

    def aeo_controls(s: policy.Selection) -> int:
        d = s.decisions.sort("consignment_id")
        return int((d["control_type"].is_not_null() & pl.Series(aeo)).sum())

    assert aeo_controls(facilitated) < aeo_controls(plain) < aeo_controls(neutral)


def test_lanes_follow_controls_and_blue_takes_high_revenue_low_probability() -> None:
    n = 3_000
    revenue = np.full(n, 100.0)
    revenue[-1] = 1_000_000.0
    probability = np.full(n, 0.01)
    got = policy.select(frame(n, revenue_at_stake_eur=revenue, probability=probability,
                              critical=np.arange(n) < 3), SHIPPED, random_rate=0.0)  # fmt: skip
    d = got.decisions
    lanes = dict(zip(["PHYSICAL", "SCAN", "DOCUMENTARY"], ["red", "orange", "yellow"], strict=True))
    for control, lane in lanes.items():
        assert (d.filter(pl.col("control_type") == control)["lane"] == lane).all()
    assert set(d.filter(pl.col("control_type").is_null())["lane"]) == {"green"}
    # critical threats weigh 50,000 EUR more: physically examined first
    crit = d.filter(pl.col("consignment_id").is_in(["C000000", "C000001", "C000002"]))
    assert (crit["control_type"] == "PHYSICAL").all()
    loose = policy.select(frame(n, revenue_at_stake_eur=revenue, probability=probability),
                          capacity.loads(_tiny(), "tiny"), random_rate=0.0).decisions  # fmt: skip
    assert loose.filter(pl.col("consignment_id") == f"C{n - 1:06d}")["lane"].item() == "blue"


def _tiny() -> str:
    """The shipped file with no capacity at MPET: nothing is controlled there."""
    text = capacity.__file__.replace("capacity.py", "capacity.yaml")
    with open(text, encoding="utf-8") as f:
        body = f.read()
    return body.replace("{scanner_slots: 8, officer_hours: 48, documentary_slots: 120}",
                        "{scanner_slots: 0, officer_hours: 0, documentary_slots: 0}")  # fmt: skip
