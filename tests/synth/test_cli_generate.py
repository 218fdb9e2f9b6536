"""``quaywatch generate`` through typer's runner: a summary table, and errors without traces."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from quaywatch.cli import app

runner = CliRunner()


def test_generate_writes_traffic_and_prints_counts(tmp_path: Path) -> None:
    out = tmp_path / "traffic"
    args = ["generate", "--days", "2", "--per-day", "300", "--seed", "5", "--out", str(out)]
    result = runner.invoke(app, [*args, "--start", "2026-11-01", "--port", "nlrtm"])
    assert result.exit_code == 0, result.output
    assert "undervaluation" in result.output and "600" in result.output
    assert sorted(p.name for p in (out / "consignments").iterdir()) == [
        "2026-11-01.csv", "2026-11-02.csv",
    ]  # fmt: skip
    assert (out / "truth" / "truth.parquet").is_file() and (out / "manifest.json").is_file()
    assert ",NLRTM," in (out / "consignments" / "2026-11-01.csv").read_text()
    again = runner.invoke(app, args)
    assert again.exit_code == 2 and "not an empty folder" in again.output


@pytest.mark.parametrize(
    ("option", "value", "message"),
    [
        ("--start", "2026-13-01", "is not a date"),
        ("--port", "XXABC", "is not a container port"),
        ("--days", "0", "at least 1"),
        ("--noise", "2", "share between 0 and 0.5"),
        ("--seed", "-1", "--seed must be between"),
    ],
)
def test_bad_input_is_an_error_not_a_traceback(
    tmp_path: Path, option: str, value: str, message: str
) -> None:
    result = runner.invoke(app, ["generate", "--out", str(tmp_path), "--days", "1",
                                 "--per-day", "10", option, value])  # fmt: skip
    assert result.exit_code == 2
    assert message in result.output and "Traceback" not in result.output
