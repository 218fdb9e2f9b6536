from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

import numpy as np
import polars as pl
import pytest

from quaywatch.errors import InputError
from quaywatch.learning.dataset import TRUTH_SCHEMA
from quaywatch.learning.evaluate import (
    HIDDEN_FROM_SCORERS,
    Kind,
    ScoreColumn,
    Scorer,
    evaluate,
    oracle_scores,
    time_split,
)

FrameMaker = Callable[..., pl.DataFrame]


@dataclass
class HeavierThanUsual:
    """A toy scorer: how far a consignment's weight lies above the training mean."""

    name: str = "heavier"
    calibrated: bool = False
    mean: float = 0.0

    def fit(self, train: pl.DataFrame) -> HeavierThanUsual:
        self.mean = float(train.get_column("weight").mean())  # type: ignore[arg-type]
        return self

    def score(self, test: pl.DataFrame) -> np.ndarray:
        return (test.get_column("weight") - self.mean).to_numpy()


def test_references_frame_every_scorer(make_frame: FrameMaker) -> None:
    data = make_frame()
    report = evaluate(
        data, [ScoreColumn("model", calibrated=True), ScoreColumn("weight")], capacity_pct=3.0
    )
    assert [r.name for r in report.results] == ["random", "model", "weight", "oracle"]
    assert [r.kind for r in report.results] == [Kind.RANDOM, Kind.SCORER, Kind.SCORER, Kind.ORACLE]
    assert report.rows == 400 and report.capacity_k == 12
    assert report.illicit == int(data["illicit"].sum())
    assert report.base_rate == pytest.approx(report.illicit / 400)

    random = report.result("random")
    assert random.auc == 0.5
    for item in (*random.at_percents, *random.curve):
        assert item.at.precision == pytest.approx(report.base_rate)
        assert item.at.recall == pytest.approx(item.at.k / 400)
        assert item.at.revenue == pytest.approx(item.at.k / 400)
    assert random.critical_recall == pytest.approx(12 / 400)
    assert set(random.pattern_recall) == set(report.patterns)

    oracle = report.result("oracle")
    assert oracle.auc == 1.0
    for item in oracle.at_percents:
        expected = 1.0 if item.at.k <= report.illicit else report.illicit / item.at.k
        assert item.at.precision == pytest.approx(expected)
    for result in report.results:
        cap = result.at_capacity
        assert cap.revenue is not None and oracle.at_capacity.revenue is not None
        assert cap.revenue <= oracle.at_capacity.revenue + 1e-12
        assert cap.hits <= oracle.at_capacity.hits
    assert [a.percent for a in report.result("model").at_percents] == [1, 2, 5, 10]
    assert [a.at.k for a in report.result("model").at_percents] == [4, 8, 20, 40]


def test_oracle_ranks_illicit_by_revenue_then_licit() -> None:
    data = pl.DataFrame(
        {
            "illicit": [False, True, True, False, True],
            "revenue_at_stake_eur": [9.0, 10.0, 30.0, 0.0, 20.0],
        }
    )
    order = np.argsort(-oracle_scores(data), kind="stable")
    assert order.tolist() == [2, 4, 1, 0, 3]


def test_probability_figures_only_for_calibrated_scorers(make_frame: FrameMaker) -> None:
    report = evaluate(
        make_frame(),
        [ScoreColumn("model", calibrated=True), ScoreColumn("weight")],
        capacity_pct=3.0,
    )
    model, weight = report.result("model"), report.result("weight")
    assert model.brier is not None and 0 < model.brier < 0.1
    assert len(model.reliability) == 10 and sum(b.count for b in model.reliability) == 400
    assert weight.brier is None and weight.reliability == ()
    assert report.result("oracle").brier is None and report.result("random").brier is None


def test_a_scorer_is_fitted_on_the_past_and_judged_on_the_future(make_frame: FrameMaker) -> None:
    data = make_frame()
    train, test = time_split(data, datetime(2026, 10, 10, tzinfo=UTC))
    scorer = HeavierThanUsual().fit(train)
    assert isinstance(scorer, Scorer)
    assert scorer.mean == pytest.approx(float(train["weight"].mean()))  # type: ignore[arg-type]
    report = evaluate(test, [scorer], capacity_pct=5.0)
    assert report.rows == test.height
    assert report.lodged_from == datetime(2026, 10, 10, tzinfo=UTC)
    assert report.lodged_to == test["lodged_at"].max()
    assert report.result("heavier").auc is not None


def test_time_split_is_strictly_before_and_at_or_after(make_frame: FrameMaker) -> None:
    data = make_frame(n=10)
    split = datetime(2026, 10, 1, 3, tzinfo=UTC)
    train, test = time_split(data, split)
    assert train["lodged_at"].max() < split <= test["lodged_at"].min()
    assert test["lodged_at"].min() == split
    assert train.height + test.height == 10
    with pytest.raises(ValueError, match="timezone-aware"):
        time_split(data, datetime(2026, 10, 1))
    with pytest.raises(ValueError, match="no column 'eta'"):
        time_split(data, split, time_column="eta")


def test_the_row_order_given_does_not_change_the_report(make_frame: FrameMaker) -> None:
    data = make_frame().with_columns(pl.col("model").round(1))  # many ties
    scorers = [ScoreColumn("model", calibrated=True)]
    shuffled = data.sample(fraction=1.0, shuffle=True, seed=1)
    assert evaluate(shuffled, scorers, capacity_pct=3.0) == evaluate(
        data, scorers, capacity_pct=3.0
    )


def test_consignments_without_truth_are_counted_not_dropped_silently(
    make_frame: FrameMaker,
) -> None:
    data = make_frame(n=50).with_columns(
        pl.when(pl.int_range(pl.len()) < 3).then(None).otherwise(pl.col("illicit")).alias("illicit")
    )
    report = evaluate(data, [], capacity_pct=10.0)
    assert report.rows == 47 and report.without_truth == 3
    assert any("3 consignments without ground truth" in n for n in report.notes)
    with pytest.raises(InputError, match=r"no consignments with ground truth.*\(50 have none\)"):
        evaluate(data.with_columns(pl.lit(None, pl.Boolean).alias("illicit")), [], capacity_pct=3)


@pytest.mark.parametrize(
    ("scorers", "message"),
    [
        ([ScoreColumn("random", column="model")], "not random/oracle"),
        ([ScoreColumn("model"), ScoreColumn("model")], "unique"),
        ([ScoreColumn("missing")], "no column 'missing'"),
    ],
)
def test_scorer_mistakes_are_refused(
    make_frame: FrameMaker, scorers: list[ScoreColumn], message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        evaluate(make_frame(n=20), scorers, capacity_pct=3.0)


def test_scorers_never_see_the_ground_truth(make_frame: FrameMaker) -> None:
    assert set(HIDDEN_FROM_SCORERS) == set(TRUTH_SCHEMA) - {
        "consignment_id",
        "version",
        "lodged_at",
    }
    with pytest.raises(ValueError, match="no column 'illicit'"):
        evaluate(make_frame(n=20), [ScoreColumn("cheat", column="illicit")], capacity_pct=3.0)


def test_a_scorer_returning_the_wrong_number_of_scores_is_refused(make_frame: FrameMaker) -> None:
    @dataclass
    class Short:
        name: str = "short"
        calibrated: bool = False

        def fit(self, train: pl.DataFrame) -> Short:
            return self

        def score(self, test: pl.DataFrame) -> np.ndarray:
            return np.zeros(test.height - 1)

    with pytest.raises(ValueError, match="returned 19 scores for 20 rows"):
        evaluate(make_frame(n=20), [Short()], capacity_pct=3.0)


def test_missing_columns_and_capacity_are_checked(make_frame: FrameMaker) -> None:
    with pytest.raises(ValueError, match="lacks columns: critical"):
        evaluate(make_frame(n=20).drop("critical"), [], capacity_pct=3.0)
    with pytest.raises(ValueError, match="capacity_pct"):
        evaluate(make_frame(n=20), [], capacity_pct=0)
