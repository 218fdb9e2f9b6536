from __future__ import annotations

import re
from collections.abc import Callable

import polars as pl

from quaywatch.learning import charts
from quaywatch.learning.evaluate import ScoreColumn, evaluate

FrameMaker = Callable[..., pl.DataFrame]


def _coordinates(svg: str) -> list[tuple[float, float]]:
    points = " ".join(re.findall(r'points="([^"]*)"', svg)).split()
    return [(float(x), float(y)) for x, y in (p.split(",") for p in points)]


def test_curves_stay_inside_the_plot(make_frame: FrameMaker) -> None:
    report = evaluate(make_frame(), [ScoreColumn("model")], capacity_pct=3.0)
    svg = charts.curve_chart(report, report.result("model"))
    width, height = map(int, re.search(r'viewBox="0 0 (\d+) (\d+)"', svg).groups())  # type: ignore[union-attr]
    inside = [(x, y) for x, y in _coordinates(svg) if 0 <= x <= width and 0 <= y <= height]
    assert len(inside) == len(_coordinates(svg)) > 2 * len(report.result("model").curve)
    # six lines: precision and recall of the scorer, of random and of oracle
    assert svg.count("<polyline") == 6 + 4  # and four legend strokes
    assert "capacity" in svg


def test_reliability_chart_has_a_point_per_filled_bin(make_frame: FrameMaker) -> None:
    report = evaluate(make_frame(), [ScoreColumn("model", calibrated=True)], capacity_pct=3.0)
    result = report.result("model")
    svg = charts.reliability_chart([result])
    filled = sum(1 for b in result.reliability if b.count)
    assert svg.count("<circle") == filled + 1  # plus the legend marker
