"""The KCS benchmark: reading the files, what each split may see, and the CLI command."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
import pytest
from typer.testing import CliRunner

from quaywatch.cli import app
from quaywatch.errors import InputError, RecordError
from quaywatch.learning import kcs, kcs_run

#: 800 rows of each split, in date order (see data/kcs/README.md).
KCS = Path(__file__).parent / "data" / "kcs"
FULL = Path("/work/shared/data/benchmarks/kcs")


def _copy(tmp_path: Path, rows: int = 400, edit: dict[str, str] | None = None) -> Path:
    """The first ``rows`` rows of each split in ``tmp_path``; ``edit`` rewrites the train file."""
    for split, name in kcs.FILES.items():
        lines = (KCS / name).read_text().splitlines()[: rows + 1]
        text = "\n".join(lines) + "\n"
        if split == "train":
            for old, new in (edit or {}).items():
                text = text.replace(old, new, 1)
        (tmp_path / name).write_text(text)
    return tmp_path


def test_reads_the_three_splits_typed_and_sampled() -> None:
    splits = kcs.read_splits(KCS, sample=500)
    assert [s.height for s in (splits.train, splits.valid, splits.test)] == [500, 500, 500]
    assert kcs.read_splits(KCS).train.height == 800
    assert splits.train.schema["Date"] == pl.Date
    assert splits.train["Date"].is_sorted()
    assert splits.train["Date"].max() < splits.valid["Date"].min()


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        ({"2020-01-01": "2020-13-45"}, "line 2, record 94070719, field Date"),
        ({",0,0\n": ",3,0\n"}, "field Fraud: cannot read '3'"),
        ({"500.0,78900.0": "lots,78900.0"}, "field Net Mass: cannot read 'lots'"),
        ({"Net Mass": "Weight"}, "missing column(s): Net Mass"),
    ],
)
def test_bad_input_names_file_line_and_column(
    tmp_path: Path, edit: dict[str, str], message: str
) -> None:
    folder = _copy(tmp_path, edit=edit)
    with pytest.raises(InputError, match="df_syn_train_eng.csv") as caught:
        kcs.read_splits(folder)
    assert message in caught.value.message
    if "missing" not in message:
        assert isinstance(caught.value, RecordError)


def test_no_split_sees_a_test_label_and_valid_rows_see_no_valid_label(tmp_path: Path) -> None:
    splits = kcs.read_splits(_copy(tmp_path, rows=300))
    flipped = kcs.Splits(
        train=splits.train,
        valid=splits.valid.with_columns((1 - pl.col("Fraud")).alias("Fraud")),
        test=splits.test.with_columns((1 - pl.col("Fraud")).alias("Fraud")),
    )
    before, after = kcs.with_history(splits), kcs.with_history(flipped)
    features = kcs.model_inputs(before).columns
    for split in ("train", "valid"):
        mask = pl.col("split") == split
        assert before.filter(mask).select(features).equals(after.filter(mask).select(features))
    # Valid labels do reach the test rows: they precede the test period.
    test = pl.col("split") == "test"
    assert not before.filter(test).select(features).equals(after.filter(test).select(features))


def _benchmark(tmp_path: Path, data: Path, sample: int) -> dict[str, Any]:
    out = tmp_path / "kcs.json"
    result = CliRunner().invoke(
        app,
        ["benchmark", "kcs", "--data", str(data), "--output", str(out), "--sample", str(sample)],
    )
    assert result.exit_code == 0, result.output
    assert "KCS benchmark" in result.output
    report: dict[str, Any] = json.loads(out.read_text())
    return report


def test_cli_runs_on_a_sample_and_writes_the_report(tmp_path: Path) -> None:
    report = _benchmark(tmp_path, KCS, 700)
    assert report["scored"] == "test"
    assert report["rows"] == {"train": 700, "valid": 700, "test": 700}
    assert 0 <= report["auc"] <= 1
    for key in ("precision_at_pct", "recall_at_pct", "critical_recall_at_pct"):
        assert set(report[key]) == {"1", "2", "5", "10"}
        assert all(0 <= v <= 1 for v in report[key].values())
    recall = report["recall_at_pct"]
    assert recall["1"] <= recall["2"] <= recall["5"] <= recall["10"] > 0
    assert report["reference"]["xgboost_dataset_authors"]["auc"] == 0.813
    assert report["seconds"] > 0 and report["params"]["best_iteration"] >= 1
    assert report["params"]["variant"] == kcs_run.DEFAULT.name


@pytest.mark.skipif(not FULL.is_dir(), reason="the full KCS files are not available")
def test_cli_on_3000_rows_of_each_split_beats_chance(tmp_path: Path) -> None:
    report = _benchmark(tmp_path, FULL, 3000)
    assert report["rows"] == {"train": 3000, "valid": 3000, "test": 3000}
    assert report["auc"] > 0.6
    assert report["precision_at_pct"]["10"] > 0.3  # fraud is 22 % of test rows


def test_cli_reports_a_missing_folder_without_traceback(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        app, ["benchmark", "kcs", "--data", str(tmp_path), "--output", str(tmp_path / "r.json")]
    )
    assert result.exit_code == 2
    assert "df_syn_train_eng.csv: file not found" in result.output


def test_labels_are_released_at_the_close_of_their_quarter(tmp_path: Path) -> None:
    splits = kcs.read_splits(KCS)
    q4 = pl.col("Date") >= pl.date(2020, 10, 1)
    flipped = kcs.Splits(
        train=splits.train.with_columns(
            pl.when(q4).then(1 - pl.col("Fraud")).otherwise(pl.col("Fraud")).alias("Fraud")
        ),
        valid=splits.valid,
        test=splits.test,
    )
    entities = (kcs.ENTITIES[4],)  # hs6
    before = kcs.with_history(splits, entities)
    after = kcs.with_history(flipped, entities)
    same = (before["hs6_hit_rate"] == after["hs6_hit_rate"]).to_numpy()
    train_q4 = ((before["split"] == "train") & (before["Date"] >= date(2020, 10, 1))).to_numpy()
    assert same[(before["split"] == "train").to_numpy()].all()  # Q4 labels reach no train row
    assert not same[(before["split"] == "valid").to_numpy()].all()  # but reach 2021 Q1
    assert train_q4.any()
    daily = kcs.with_history(flipped, entities, release="day")
    moved = (
        daily["hs6_hit_rate"] != kcs.with_history(splits, entities, release="day")["hs6_hit_rate"]
    )
    assert moved.to_numpy()[train_q4].any()  # released daily, they reach later Q4 rows


def test_figures_follow_the_field_definitions() -> None:
    scores = np.arange(100, dtype=np.float64)[::-1]  # row 0 ranked first
    fraud = np.zeros(100, dtype=np.int64)
    fraud[[0, 1, 3, 50]] = 1
    critical = np.zeros(100, dtype=np.int64)
    critical[[1, 60]] = 2
    critical[3] = 1
    report = kcs_run.figures(scores, fraud, critical)
    assert report["precision_at_pct"] == {"1": 1.0, "2": 1.0, "5": 0.6, "10": 0.3}
    assert report["recall_at_pct"] == {"1": 0.25, "2": 0.5, "5": 0.75, "10": 0.75}
    assert report["critical_recall_at_pct"] == {"1": 0.0, "2": 0.5, "5": 0.5, "10": 0.5}
    # Licit rows ranked above a fraud: 1 above row 3, 47 above row 50.
    assert report["auc"] == pytest.approx(1 - (1 + 47) / (4 * 96))
