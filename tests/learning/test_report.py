from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path

import polars as pl
import pytest
from rich.console import Console

from quaywatch.errors import InputError
from quaywatch.learning import report as rp
from quaywatch.learning.evaluate import Report, ScoreColumn, evaluate

FrameMaker = Callable[..., pl.DataFrame]


@pytest.fixture
def report(make_frame: FrameMaker) -> Report:
    data = make_frame().rename({"model": "<b>model</b>"})
    scorers = [ScoreColumn("<b>model</b>", calibrated=True), ScoreColumn("weight")]
    return evaluate(data, scorers, capacity_pct=3.0)


def test_json_round_trip(report: Report, tmp_path: Path) -> None:
    path = tmp_path / "report.json"
    rp.write_json(report, path)
    assert rp.read_json(path) == report


def test_json_keys_are_the_documented_ones(report: Report) -> None:
    data = json.loads(rp.to_json(report))
    assert list(data) == [
        "format", "rows", "without_truth", "unmatched_truth", "illicit", "base_rate", "critical",
        "revenue_at_stake_eur", "patterns", "capacity_pct", "capacity_k", "percents",
        "lodged_from", "lodged_to", "notes", "results",
    ]  # fmt: skip
    assert data["format"] == "quaywatch.evaluation/1"
    assert data["lodged_from"] == "2026-10-01T00:00:00+00:00"
    random, model, weight, oracle = data["results"]
    assert list(model) == [
        "name", "kind", "calibrated", "auc", "at_percents", "at_capacity", "pattern_recall",
        "critical_recall", "brier", "reliability", "curve",
    ]  # fmt: skip
    assert list(model["at_capacity"]) == ["k", "hits", "precision", "recall", "revenue"]
    assert list(model["at_percents"][0]) == ["percent", "k", "hits", "precision", "recall",
                                             "revenue"]  # fmt: skip
    assert (random["kind"], oracle["kind"], weight["brier"]) == ("random", "oracle", None)
    assert len(model["reliability"]) == 10


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("not json", "cannot read the report"),
        ('{"format": "something/else"}', "not a quaywatch.evaluation/1 report"),
        ('{"format": "quaywatch.evaluation/1", "rows": 3}', "malformed report"),
    ],
)
def test_reading_a_bad_report(tmp_path: Path, content: str, message: str) -> None:
    path = tmp_path / "bad.json"
    path.write_text(content)
    with pytest.raises(InputError, match=message) as caught:
        rp.read_json(path)
    assert str(path) in caught.value.message


def test_html_is_self_contained(report: Report, tmp_path: Path) -> None:
    path = tmp_path / "report.html"
    rp.write_html(report, path)
    page = path.read_text()
    assert page.startswith("<!DOCTYPE html>")
    assert not re.search(r"https?://", page)
    assert "<script" not in page and "<link" not in page
    # one precision/recall chart per result and the reliability diagram
    assert page.count("<svg") == len(report.results) + 1
    assert "reliability diagram" in page
    assert "<b>model</b>" not in page and "&lt;b&gt;model&lt;/b&gt;" in page
    assert "P@capacity 3%" in page and "cocaine" in page


def test_html_without_calibrated_scorer_says_so(make_frame: FrameMaker) -> None:
    page = rp.render_html(evaluate(make_frame(), [], capacity_pct=3.0))
    assert page.count("<svg") == 2  # random and oracle curves
    assert "No scorer in this evaluation gives calibrated probabilities." in page


def test_render_table(report: Report) -> None:
    console = Console(record=True, width=80)
    console.print(rp.render_table(report))
    text = console.export_text()
    assert max(len(line) for line in text.splitlines()) <= 80
    assert "capacity 3% = 12 controls" in " ".join(text.split())  # the title may wrap
    for name in ("random", "<b>model</b>", "weight", "oracle", "@1%", "@10%", "@3%"):
        assert name in text
    lines = text.splitlines()
    oracle = next(i for i, line in enumerate(lines) if line.startswith("│ oracle"))
    assert re.match(r"│ oracle\s+│ precision\s+│\s+100\.0%", lines[oracle])
    assert "AUC 1.000" in lines[oracle + 1] and "recall" in lines[oracle + 1]
    model = next(i for i, line in enumerate(lines) if line.startswith("│ <b>model</b>"))
    assert "Brier 0.0" in lines[model + 2] and "revenue" in lines[model + 2]
    assert not any("Brier" in line for line in lines[oracle : oracle + 4])


def test_scorer_names_are_not_read_as_markup(make_frame: FrameMaker) -> None:
    data = make_frame().rename({"model": "model[red]"})
    report = evaluate(data, [ScoreColumn("model[red]")], capacity_pct=3.0)
    console = Console(record=True, width=80)
    console.print(rp.render_table(report))
    assert "model[red]" in console.export_text()
