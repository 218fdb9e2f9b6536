"""Fitted hit weights and saturation as scoring applies them (``risk.combine.reweigh``)."""

from __future__ import annotations

import math

import polars as pl
import pytest

from quaywatch.risk import combine


def _hits(n: int, code: str, weight: float, rows: range | None = None) -> pl.DataFrame:
    chosen = rows if rows is not None else range(n)
    return pl.DataFrame(
        {"consignment_id": [f"C{i:04d}" for i in chosen], "version": [1] * len(chosen),
         "code": [code] * len(chosen), "text": ["t"] * len(chosen),
         "weight": [weight] * len(chosen), "source": [code.split(":")[0]] * len(chosen)},
    )  # fmt: skip


def _assessed(n: int, p: float = 0.02) -> pl.DataFrame:
    return pl.DataFrame(
        {"consignment_id": [f"C{i:04d}" for i in range(n)], "version": [1] * n,
         "probability": [p] * n},
    )  # fmt: skip


def _logit(p: float) -> float:
    return math.log(p / (1 - p))


SET = combine.HitWeights(
    version=3, fitted={"profile:A": 0.4, "anomaly:wide": 1.0},
    shipped={"profile:A": 2.0, "anomaly:wide": 1.0}, shares={"profile:A": 0.01, "anomaly:wide": 0.5},
)  # fmt: skip


def test_a_fitted_set_moves_every_hit_of_a_code_by_fitted_minus_shipped() -> None:
    hits = pl.concat([_hits(10, "profile:A", 2.0, range(3)), _hits(10, "graph:phone", 1.2, range(2)),
                      _hits(10, "profile:A", 2.5, range(5, 6))])  # fmt: skip
    out, saturated = combine.reweigh(hits, 10, combine.HitWeighting(SET))
    weights = dict(zip(zip(out["consignment_id"], out["code"], strict=True), out["weight"],
                       strict=True))  # fmt: skip
    assert weights[("C0000", "profile:A")] == pytest.approx(0.4)
    assert weights[("C0005", "profile:A")] == pytest.approx(0.9)  # its spread kept
    assert weights[("C0000", "graph:phone")] == pytest.approx(1.2)  # a code the set lacks
    assert saturated == ()


def test_applied_weights_change_the_combined_score_as_documented() -> None:
    # logit(combined) = logit(model) + Σ applied weights: 2.0 shipped, 0.4 fitted.
    assessed = _assessed(10)
    hits = _hits(10, "profile:A", 2.0, range(4))
    shipped = combine.combine(assessed, combine.reweigh(hits, 10, combine.HitWeighting())[0])
    fitted = combine.combine(assessed, combine.reweigh(hits, 10, combine.HitWeighting(SET))[0])
    for frame, added in ((shipped, 2.0), (fitted, 0.4)):
        p = frame.get_column("probability").to_list()
        assert _logit(p[0]) == pytest.approx(_logit(0.02) + added)
        assert p[9] == pytest.approx(0.02)  # not hit: the model's probability


def test_a_large_batch_reports_its_saturation_but_never_damps_by_it() -> None:
    n = 400
    hits = pl.concat([_hits(n, "anomaly:broken", 3.0), _hits(n, "profile:half", 2.0, range(200)),
                      _hits(n, "profile:few", 2.0, range(20)),
                      _hits(n, "profile:aeo", -1.0, range(300))])  # fmt: skip
    out, saturated = combine.reweigh(hits, n, combine.HitWeighting())
    found = {s.code: s for s in saturated}
    assert set(found) == {"anomaly:broken", "profile:half", "profile:aeo"}
    assert found["anomaly:broken"].batch_share == 1.0
    assert found["profile:half"].batch_share == 0.5
    assert all(s.window_share is None and s.factor == 1.0 and not s.damped for s in saturated)
    # Reported, not applied: without a fitted set every weight is the shipped one.
    assert out.get_column("weight").to_list() == hits.get_column("weight").to_list()
    assert found["profile:half"].to_dict() == {"code": "profile:half", "window_share": None,
                                               "batch_share": 0.5, "factor": 1.0,
                                               "damped": False}  # fmt: skip
    _, fewer = combine.reweigh(hits, n, combine.HitWeighting(saturation_pct=60.0))
    assert [s.code for s in fewer] == ["anomaly:broken", "profile:aeo"]


def test_only_the_fitted_sets_share_damps_whatever_the_batch() -> None:
    # anomaly:wide fired on half the fit window (damped ×0.25 at 20 %), profile:A on 1 % of it;
    # in this batch profile:A fires everywhere: reported, its fitted weight applied undamped.
    n = 300
    hits = pl.concat([_hits(n, "anomaly:wide", 1.0, range(30)), _hits(n, "profile:A", 2.0)])
    out, saturated = combine.reweigh(hits, n, combine.HitWeighting(SET))
    found = {s.code: s for s in saturated}
    assert found["anomaly:wide"] == combine.Saturated("anomaly:wide", 0.5, 0.1, 0.25)
    assert found["profile:A"] == combine.Saturated("profile:A", 0.01, 1.0, 1.0)
    got = dict(out.select("code", "weight").unique().iter_rows())
    assert got == pytest.approx({"anomaly:wide": 0.25, "profile:A": 0.4})


@pytest.mark.parametrize("weights", [None, SET])
def test_a_consignment_weighs_the_same_alone_and_in_any_batch(
    weights: combine.HitWeights | None,
) -> None:
    # An incremental run of re-assessments: the consignments whose containers got events, where
    # an anomaly fires on most of them. C0000 must score as it does alone (through the API).
    n = 250
    hits = pl.concat([_hits(n, "anomaly:wide", 1.0, range(200)), _hits(n, "profile:A", 2.0),
                      _hits(n, "anomaly:dwell", 1.5, range(100))])  # fmt: skip
    weighting = combine.HitWeighting(weights)
    batch = combine.combine(_assessed(n), combine.reweigh(hits, n, weighting)[0])
    one = hits.filter(pl.col("consignment_id") == "C0000")
    alone = combine.combine(_assessed(1), combine.reweigh(one, 1, weighting)[0])
    assert alone["probability"][0] == pytest.approx(batch["probability"][0])
    assert alone["probability"][0] > 0.02


def test_a_batch_of_one_uses_the_share_the_fitted_set_recorded() -> None:
    hits = pl.concat([_hits(1, "anomaly:wide", 1.0), _hits(1, "profile:A", 2.0)])
    out, saturated = combine.reweigh(hits, 1, combine.HitWeighting(SET))
    assert saturated == (combine.Saturated("anomaly:wide", 0.5, None, 0.25),)
    got = dict(out.select("code", "weight").iter_rows())
    assert got == pytest.approx({"anomaly:wide": 0.25, "profile:A": 0.4})
    # Without a set, one consignment says nothing about shares: nothing is judged.
    alone, none = combine.reweigh(_hits(1, "anomaly:broken", 3.0), 1, combine.HitWeighting())
    assert none == () and alone.get_column("weight").to_list() == [3.0]


@pytest.mark.parametrize(("share", "factor"), [(0.2, 1.0), (0.25, 0.75), (0.5, 0.25), (1.0, 0.0)])
def test_damping_is_the_odds_of_the_threshold_over_the_odds_of_the_share(
    share: float, factor: float
) -> None:
    assert combine.damped(2.0, share, 20.0) == pytest.approx(2.0 * factor)
    assert combine.damped(-2.0, share, 20.0) == -2.0
