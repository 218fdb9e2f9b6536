from __future__ import annotations

import re
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from typer.testing import CliRunner

from quaywatch.cli import app

runner = CliRunner()


def run(url: str, *args: str) -> tuple[int, str]:
    result = runner.invoke(app, ["--database", url, *args])
    assert "Traceback" not in result.output
    return result.exit_code, result.output


@pytest.mark.slow
def test_demo_then_reingest_then_quarantine_then_audit(store_url: str, tmp_path: Path) -> None:
    code, out = run(store_url, "demo", "--count", "1000", "--out", str(tmp_path / "day"))
    assert code == 0, out
    assert re.search(r"│ consignments\s*│\s*6\s*│\s*6,000\s*│", out), out  # the import table
    assert "Trained fraud-" in out and "Active risk profiles: STARTER-" in out
    assert (
        "Worklist: the 10 selected controls with the highest scores" in out
    )  # the worklist, with lanes and reasons
    assert re.search(r"│ 261006-BEANR-\S+ v1\s*│\s*\d+\.\d\s*│", out), out
    assert re.search(r"│ model\s+│ precision", out) and re.search(r"│ combined\s+│ precision", out)
    assert "oracle" in out and "random" in out  # the references on the day's ground truth
    events = int(re.search(r"Audit trail verified: (\d+) events", out).group(1))
    assert "Demo login: username demo, password demo-password-not-for-production" in out
    assert "WARNING: the demo account's password is published" in out
    assert any((tmp_path / "day" / "models").iterdir())  # models stay in the demo's folder
    consignments = sorted((tmp_path / "day" / "consignments").glob("*.csv"))[0]
    code, out = run(store_url, "ingest", str(consignments))
    assert code == 0 and re.search(r"│\s*1000\s*│\s*0\s*│", out), out  # read 1000, new 0

    code, out = run(store_url, "quarantine", "list")
    assert code == 0
    first_id = re.search(r"│\s*(\d+)\s*│\s*open", out).group(1)
    code, out = run(store_url, "quarantine", "show", first_id)
    assert code == 0 and "consignment_id" in out
    code, out = run(store_url, "quarantine", "retry", first_id)
    assert code == 1 and "still invalid" in out

    code, out = run(store_url, "audit", "verify")
    assert code == 0 and f"audit trail intact: {events + 3} events" in out
    engine = create_engine(store_url.replace("postgresql://", "postgresql+psycopg://"))
    with engine.begin() as conn:
        conn.execute(text("UPDATE audit_events SET actor = 'mallory' WHERE seq = 1"))
    engine.dispose()
    code, out = run(store_url, "audit", "verify")
    assert code == 4 and "audit event 1 was edited" in out


def test_bad_input_gives_a_message_and_exit_code_not_a_traceback(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'q.db'}"
    code, out = run(url, "ingest", str(tmp_path / "missing.csv"))
    assert code == 2 and "no such file" in out
    bad = tmp_path / "bad.csv"
    bad.write_text("consignment_id,item_sequence,shoe_size\n")
    code, out = run(url, "ingest", str(bad))
    assert code == 2 and "unknown columns shoe_size" in out
    code, out = run(url, "quarantine", "show", "999")
    assert code == 3 and "no quarantine entry 999" in out
    code, out = run("mysql://nobody@nowhere/x", "ingest", str(bad))
    assert code == 2 and "unsupported database URL" in out
