"""Truth rows the store never held are reported, and recall per pattern reaches the terminal.

``quaywatch evaluate`` used to join the truth onto the stored consignments only, so the truth
of a consignment that was never imported vanished without a word; these tests hold it to
counting and naming them, in the table, the JSON and the HTML, without changing a figure of
the consignments it did match.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Sequence
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import polars as pl
import pytest
from rich.console import Console
from typer.testing import CliRunner

from quaywatch.cli import app
from quaywatch.intake.pipeline import ingest_file
from quaywatch.learning import report as rp
from quaywatch.learning.dataset import consignments_with_truth, load_truth, unmatched_truth
from quaywatch.learning.evaluate import ScoreColumn, Unmatched, evaluate
from quaywatch.services.evaluation import evaluate_detection
from quaywatch.store.store import Store

TruthWriter = Callable[[Path, Sequence[str]], pl.DataFrame]
FrameMaker = Callable[..., pl.DataFrame]
SPLIT = datetime(2026, 10, 5, tzinfo=UTC)
runner = CliRunner()


def _truth(ids: Sequence[str], *, lodged: datetime, illicit: int = 0) -> pl.DataFrame:
    """Truth rows (the generator's schema) for ``ids``, the first ``illicit`` of them cocaine."""
    n = len(ids)
    bad = [i < illicit for i in range(n)]
    return pl.DataFrame(
        {
            "consignment_id": list(ids), "version": [1] * n, "lodged_at": [lodged] * n,
            "illicit": bad, "pattern": ["cocaine" if b else "none" for b in bad],
            "revenue_at_stake_eur": [5_000.0 if b else 0.0 for b in bad], "critical": bad,
            "displaced": [False] * n, "true_hs6": ["080390"] * n, "true_value_eur": [1.0] * n,
        },
        schema_overrides={"lodged_at": pl.Datetime("us", "UTC")},
    )  # fmt: skip


def _never_stored(n: int, *, lodged: datetime, prefix: str = "LOST") -> pl.DataFrame:
    """Truth rows of ``n`` consignments no store holds, the first two illicit (cocaine)."""
    return _truth([f"{prefix}-{i:03d}" for i in range(n)], lodged=lodged, illicit=2)


def test_unmatched_truth_counts_the_period_and_names_illicit_ones_first() -> None:
    stored = pl.DataFrame({"consignment_id": ["A", "B"], "version": [2, 1]})
    known = _truth(["A", "B"], lodged=SPLIT, illicit=1)  # A's truth is of an older version
    after = _never_stored(7, lodged=SPLIT + timedelta(hours=1))
    before = _never_stored(3, lodged=SPLIT - timedelta(hours=1), prefix="EARLY")
    truth = pl.concat([known, after.reverse(), before])
    found = unmatched_truth(stored, truth, since=SPLIT)
    assert found == Unmatched(
        rows=7, illicit=2, patterns={"cocaine": 2},
        examples=("LOST-000", "LOST-001", "LOST-002", "LOST-003", "LOST-004"), before_split=3,
    )  # fmt: skip
    assert "7 ground-truth rows" in (found.note() or "") and "(2 illicit)" in (found.note() or "")
    assert unmatched_truth(stored, known, since=SPLIT) == Unmatched()
    assert Unmatched().note() is None
    with pytest.raises(ValueError, match="timezone-aware"):
        unmatched_truth(stored, truth, since=datetime(2026, 10, 5))


def test_evaluate_adds_the_note_and_leaves_every_figure_alone(make_frame: FrameMaker) -> None:
    data = make_frame()
    scorers = [ScoreColumn("model", calibrated=True)]
    plain = evaluate(data, scorers, capacity_pct=3.0)
    lost = Unmatched(rows=4, illicit=1, patterns={"cocaine": 1}, examples=("X1",), before_split=2)
    flagged = evaluate(data, scorers, capacity_pct=3.0, unmatched=lost)
    assert flagged.unmatched == lost
    assert replace(flagged, notes=plain.notes, unmatched=Unmatched()) == plain
    assert any("4 ground-truth rows" in n and "X1" in n for n in flagged.notes)


def test_the_report_shows_unmatched_rows_everywhere(make_frame: FrameMaker, tmp_path: Path) -> None:
    lost = Unmatched(rows=4, illicit=1, patterns={"cocaine": 1}, examples=("X1",), before_split=2)
    report = evaluate(make_frame(), [], capacity_pct=3.0, unmatched=lost)
    data = json.loads(rp.to_json(report))
    assert data["unmatched_truth"] == {
        "rows": 4, "illicit": 1, "patterns": {"cocaine": 1}, "examples": ["X1"],
        "before_split": 2,
    }  # fmt: skip
    path = tmp_path / "r.json"
    rp.write_json(report, path)
    assert rp.read_json(path) == report
    del data["unmatched_truth"]  # a report written before the key existed still reads
    assert rp.from_dict(data).unmatched == Unmatched()
    assert "4 ground-truth rows of the period never stored" in " ".join(
        rp.render_html(report).split()
    )
    console = Console(record=True, width=100)
    console.print(rp.render(report))
    assert "4 ground-truth rows" in " ".join(console.export_text().split())


def _pattern_rows(text: str) -> dict[str, list[str]]:
    rows = {}
    for line in text.splitlines():
        cells = [c.strip() for c in line.strip("│ ").split("│")]
        if len(cells) > 2 and re.fullmatch(r"[\d,]+", cells[1]):
            rows[cells[0]] = cells[1:]
    return rows


def test_recall_per_pattern_in_the_terminal_beside_what_is_reachable(
    make_frame: FrameMaker,
) -> None:
    report = evaluate(make_frame(), [ScoreColumn("model", calibrated=True)], capacity_pct=3.0)
    console = Console(record=True, width=120)
    console.print(rp.render(report))
    text = console.export_text()
    assert f"Recall per fraud pattern at capacity 3% = {report.capacity_k} controls" in text
    header = next(line for line in text.splitlines() if "reachable" in line and "pattern" in line)
    assert re.search(r"pattern\s+┃\s+illicit\s+┃\s+model\s+┃\s+random\s+┃\s+reachable", header)
    rows = _pattern_rows(text)
    model, oracle = report.result("model"), report.result("oracle")
    assert set(report.patterns) <= set(rows)
    for pattern, count in report.patterns.items():
        assert rows[pattern] == [
            f"{count:,}", rp._pct(model.pattern_recall[pattern]),
            rp._pct(report.result("random").pattern_recall[pattern]),
            rp._pct(oracle.pattern_recall[pattern]),
        ]  # fmt: skip
    assert rows["all illicit"][-1] == rp._pct(oracle.at_capacity.recall)
    assert rows["critical"][-2:] == [
        rp._pct(report.result("random").critical_recall), rp._pct(oracle.critical_recall)
    ]  # fmt: skip


@pytest.fixture
def stored_with_lost_truth(
    stored_day: tuple[Store, list[str]], tmp_path: Path, make_truth: TruthWriter
) -> tuple[Store, Path, Path, int]:
    """The stored day; its truth; and that truth plus six rows of never-stored consignments."""
    store, ids = stored_day
    plain, lost = tmp_path / "truth.parquet", tmp_path / "lost.parquet"
    matched = make_truth(plain, ids)
    extra = pl.concat([
        _never_stored(6, lodged=SPLIT + timedelta(hours=3)),
        _never_stored(2, lodged=SPLIT - timedelta(days=3), prefix="OLD"),
    ])  # fmt: skip
    pl.concat([matched, extra]).write_parquet(lost)
    return store, plain, lost, 6


def test_the_service_reports_never_stored_truth_and_keeps_the_figures(
    stored_with_lost_truth: tuple[Store, Path, Path, int],
) -> None:
    store, plain, lost, missing = stored_with_lost_truth
    before = evaluate_detection(store, truth_path=plain, split_at=SPLIT, capacity_pct=10)
    after = evaluate_detection(store, truth_path=lost, split_at=SPLIT, capacity_pct=10)
    assert after.unmatched.rows == missing and after.unmatched.illicit == 2
    assert after.unmatched.before_split == 2 and after.unmatched.examples[:2] == (
        "LOST-000", "LOST-001",
    )  # fmt: skip
    assert before.unmatched == Unmatched()
    assert replace(after, notes=before.notes, unmatched=Unmatched()) == before
    stored = consignments_with_truth(store, load_truth(lost))
    assert stored.height == consignments_with_truth(store, load_truth(plain)).height


def test_the_cli_names_never_stored_truth(
    store_url: str,
    tmp_path: Path,
    make_day: Callable[..., tuple[Any, list[str]]],
    make_truth: TruthWriter,
) -> None:
    day, ids = make_day(tmp_path / "day")
    store = Store.open(store_url)
    ingest_file(store, day.consignments)
    store.close()
    truth = tmp_path / "truth.parquet"
    matched = make_truth(truth, ids)
    pl.concat([matched, _never_stored(3, lodged=SPLIT)]).write_parquet(truth)
    args = ["--database", store_url, "evaluate", "--truth", str(truth), "--split", "2026-10-05"]
    result = runner.invoke(app, [*args, "--report", str(tmp_path / "r.json"),
                                 "--html", str(tmp_path / "r.html")])  # fmt: skip
    assert result.exit_code == 0, result.output
    text = " ".join(result.output.split())
    assert (
        "3 ground-truth rows of consignments lodged in the evaluated period match no "
        "stored consignment (2 illicit), e.g. LOST-000, LOST-001, LOST-002" in text
    )
    assert "reachable" in text and "Recall per fraud pattern" in text
    data = json.loads((tmp_path / "r.json").read_text())
    assert data["unmatched_truth"]["rows"] == 3
    assert "3 ground-truth rows of the period never stored" in " ".join(
        (tmp_path / "r.html").read_text().split()
    )
