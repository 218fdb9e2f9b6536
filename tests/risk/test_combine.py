"""Combining the model's probability with the hits of every other source, by hand-made cases."""

from __future__ import annotations

import math

import polars as pl
import pytest

from quaywatch.risk import combine, hits
from quaywatch.risk.explain import Source


def _assessed(*probabilities: float) -> pl.DataFrame:
    n = len(probabilities)
    return pl.DataFrame(
        {
            "consignment_id": [f"C{i}" for i in range(n)],
            "version": [1] * n,
            "probability": list(probabilities),
        }  # fmt: skip
    )


def _hits(*rows: tuple[str, str, float, str | None, str | None, str]) -> pl.DataFrame:
    return hits.conform(
        pl.DataFrame(
            [
                (cid, 1, code, f"text of {code}", weight, source, lane, referral, None, None)
                for cid, code, weight, lane, referral, source in rows
            ],  # fmt: skip
            schema=hits.SCHEMA,
            orient="row",
        )
    )


def _odds(p: float) -> float:
    return p / (1 - p)


def test_no_hit_leaves_the_model_alone() -> None:
    out = combine.combine(_assessed(0.1, 0.5), hits.empty())
    assert out["probability"].to_list() == [0.1, 0.5]
    assert out["model_probability"].to_list() == [0.1, 0.5]
    assert out["added"].to_list() == [0.0, 0.0]
    assert out["lane_floor"].to_list() == [None, None] and not out["critical"].any()


def test_weights_multiply_the_odds_and_a_code_counts_once() -> None:
    found = _hits(
        ("C0", "profile:A", 1.0, None, None, "profile"),
        ("C0", "profile:A", 0.4, None, None, "profile"),  # the same code again: its heaviest
        ("C0", "anomaly:seal_changed", 2.0, "orange", None, "anomaly"),
        ("C1", "profile:TRUSTED", -0.5, None, None, "profile"),  # facilitation lowers the odds
    )
    out = combine.combine(_assessed(0.02, 0.3, 0.7), found)
    p0, p1, p2 = out["probability"].to_list()
    assert _odds(p0) == pytest.approx(_odds(0.02) * math.exp(3.0))
    assert _odds(p1) == pytest.approx(_odds(0.3) * math.exp(-0.5)) and p2 == 0.7
    assert out["added"].to_list() == [3.0, -0.5, 0.0]
    assert out["lane_floor"].to_list() == ["orange", None, None]
    assert out["critical"].to_list() == [True, False, False]


def test_the_sum_is_capped_and_the_strictest_lane_and_referral_win() -> None:
    found = _hits(
        ("C0", "a", 6.0, "yellow", "RFI", "profile"),
        ("C0", "b", 6.0, "red", None, "screening"),
        ("C0", "c", 6.0, None, "RFS", "anomaly"),
        ("C1", "d", 0.5, "yellow", "DNL", "profile"),
    )
    out = combine.combine(_assessed(0.001, 0.001), found)
    assert out["added"].to_list() == [combine.MAX_ADDED, 0.5]
    assert out["lane_floor"].to_list() == ["red", "yellow"]
    assert out["referral"].to_list() == ["RFS", "DNL"]
    assert out["critical"].to_list() == [True, True]  # red; do not load


def test_hit_reasons_follow_the_rows_heaviest_first() -> None:
    found = _hits(
        ("C1", "profile:A", 1.0, None, None, "profile"),
        ("C1", "anomaly:rare_route", 4.5, None, None, "anomaly"),
        ("C9", "profile:A", 1.0, None, None, "profile"),  # not among the rows asked for
    )
    reasons = combine.hit_reasons(_assessed(0.1, 0.2).select("consignment_id", "version"), found)
    assert reasons[0] == []
    assert [r.code for r in reasons[1]] == ["anomaly:rare_route", "profile:A"]
    assert reasons[1][0].source is Source.ANOMALY and reasons[1][0].text.startswith("text of")


def test_heaviest_keeps_one_hit_per_consignment_and_code_the_strongest() -> None:
    found = pl.DataFrame({
        "consignment_id": ["C2", "C1", "C1", "C1"], "version": [1, 1, 1, 1],
        "code": ["x", "x", "x", "y"], "weight": [0.5, 0.3, 1.2, 0.1],
        "text": ["c2", "weak", "strong", "other"],
    })  # fmt: skip
    kept = hits.heaviest(found)
    assert kept.select("consignment_id", "code", "text").rows() == [
        ("C1", "x", "strong"), ("C1", "y", "other"), ("C2", "x", "c2"),
    ]  # fmt: skip
