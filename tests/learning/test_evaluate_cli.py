from __future__ import annotations

import json
import re
from collections.abc import Callable, Sequence
from pathlib import Path

import polars as pl
import pytest
from typer.testing import CliRunner

from quaywatch.cli import app
from quaywatch.intake.pipeline import ingest_file
from quaywatch.store import reads
from quaywatch.store.store import Store
from quaywatch.synth import portday

runner = CliRunner()
TruthWriter = Callable[[Path, Sequence[str]], pl.DataFrame]
DayMaker = Callable[..., tuple[portday.PortDay, list[str]]]
SPLIT = "2026-10-05"


def run(url: str, *args: str) -> tuple[int, str]:
    result = runner.invoke(app, ["--database", url, *args])
    assert "Traceback" not in result.output
    return result.exit_code, result.output


@pytest.fixture
def day_in_store(
    store_url: str, tmp_path: Path, make_truth: TruthWriter, make_day: DayMaker
) -> tuple[str, Path, int]:
    """A stored day and its truth file; gives the URL, the file and how many are in the test."""
    day, ids = make_day(tmp_path / "day")
    store = Store.open(store_url)
    ingest_file(store, day.consignments)
    test_rows = reads.latest_consignments(
        store, lodged_from=pl.Series([SPLIT]).str.to_datetime(time_zone="UTC")[0]
    ).height
    store.close()
    assert 0 < test_rows < len(ids)
    truth = tmp_path / "truth.parquet"
    make_truth(truth, ids)
    return store_url, truth, test_rows


def test_evaluate_prints_the_references_and_writes_reports(
    day_in_store: tuple[str, Path, int], tmp_path: Path
) -> None:
    url, truth, test_rows = day_in_store
    code, out = run(url, "evaluate", "--truth", str(truth), "--split", SPLIT,
                    "--report", str(tmp_path / "r.json"), "--html", str(tmp_path / "r.html"))  # fmt: skip
    assert code == 0, out
    assert f"Detection on {test_rows} consignments" in out
    assert re.search(r"│ random\s+│ precision", out) and re.search(r"│ oracle\s+│ precision", out)
    assert "AUC 0.500" in out and "AUC 1.000" in out
    assert "report written to" in out and "HTML report written to" in out
    data = json.loads((tmp_path / "r.json").read_text())
    assert data["rows"] == test_rows and data["capacity_pct"] == 3.0
    assert [r["name"] for r in data["results"]] == ["random", "oracle"]
    assert data["lodged_from"] >= "2026-10-05T00:00:00+00:00"
    assert "<svg" in (tmp_path / "r.html").read_text()


def test_evaluate_json_and_capacity_setting(
    day_in_store: tuple[str, Path, int], monkeypatch: pytest.MonkeyPatch
) -> None:
    url, truth, test_rows = day_in_store
    monkeypatch.setenv("QUAYWATCH_CONTROL_CAPACITY_PCT", "10")
    code, out = run(url, "evaluate", "--truth", str(truth), "--split", SPLIT, "--json")
    assert code == 0, out
    data = json.loads(out)
    assert data["capacity_pct"] == 10.0 and data["rows"] == test_rows
    code, out = run(url, "evaluate", "--truth", str(truth), "--split", SPLIT, "--json",
                    "--capacity-pct", "50")  # fmt: skip
    assert code == 0 and json.loads(out)["capacity_k"] == -(-test_rows // 2)


def test_evaluate_errors_are_messages(
    tmp_path: Path, make_truth: TruthWriter, make_day: DayMaker
) -> None:
    url = f"sqlite:///{tmp_path / 'q.db'}"
    day, ids = make_day(tmp_path / "day", count=10)
    code, out = run(url, "ingest", str(day.consignments))
    assert code == 0, out
    truth = tmp_path / "truth.parquet"
    args = ["evaluate", "--truth", str(truth), "--split", "2026-01-01"]

    code, out = run(url, *args)
    assert code == 2 and "truth.parquet: no such file" in out
    make_truth(truth, ids).drop("pattern").write_parquet(truth)
    code, out = run(url, *args)
    assert code == 2 and "missing column pattern" in out
    make_truth(truth, ["SOMEONE-ELSE"])
    code, out = run(url, *args)
    assert code == 2 and "no consignments with ground truth to evaluate (10 have none)" in out
    make_truth(truth, ids)
    code, out = run(url, "evaluate", "--truth", str(truth), "--split", "2030-01-01")
    assert code == 2 and "no stored consignment was lodged at or after 2030-01-01" in out
    code, out = run(url, *args, "--capacity-pct", "0")
    assert code == 2 and "capacity_pct must be above 0" in out
    code, out = run(url, *args)
    assert code == 0 and "Detection on 10 consignments" in out
