"""``quaywatch control ...`` and ``quaywatch kpis`` through typer's runner (SQLite and PostgreSQL)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from control_scenario import assess_and_select
from typer.testing import CliRunner

from quaywatch.cli import app
from quaywatch.control import orders
from quaywatch.store.store import Store


def test_an_officers_day_on_the_command_line(
    store_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Output that is not a terminal is never wrapped, so order ids come out whole.
    store = Store.open(store_url)
    try:
        run_id = assess_and_select(store, tmp_path)
    finally:
        store.close()
    runner = CliRunner(env={"COLUMNS": "200"})

    def qw(*args: str, code: int = 0) -> str:
        result = runner.invoke(app, ["--database", store_url, *args])
        assert result.exit_code == code, result.output
        assert "Traceback" not in result.output
        return result.output

    out = qw("control", "orders", "--run", run_id)
    assert "orders created, 0 already existed" in out and "CUSS/CUSI" in out
    assert "0 orders created" in qw("control", "orders", "--run", run_id)
    store = Store.open(store_url)
    try:
        made = orders.list_orders(store, run_id=run_id)
    finally:
        store.close()
    scan = next(o for o in made if o.control_type == "SCAN")
    assert scan.order_id in out

    work = qw("control", "worklist", "--run", run_id)
    assert f"Worklist of run {run_id}" in work and scan.order_id in work and "cocaine route" in work
    assert "no selection run 'nope'" in qw("control", "worklist", "--run", "nope", code=3)
    assert "no inspection order 'QWX'" in qw("control", "start", "QWX", code=3)
    assert "is planned; it cannot move to done" in qw(
        "control", "outcome", scan.order_id, "--result", "COMPLIANT", code=2)  # fmt: skip
    assert "in progress" in qw("control", "start", scan.order_id)
    assert "(suspicious): recorded" in qw("control", "scan", scan.order_id, "--verdict",
                                          "suspicious", "--image", "nii://a/1", "--analyst", "al")  # fmt: skip
    assert "needs a reason" in qw("control", "override", scan.order_id, "--type", "PHYSICAL",
                                  "--reason", " ", code=2)  # fmt: skip
    assert "now a PHYSICAL control" in qw("control", "override", scan.order_id, "--type",
                                          "PHYSICAL", "--reason", "dense [red]image[/]")  # fmt: skip
    qw("control", "findings", scan.order_id, "--note", "false wall", "--seals-broken")
    seizure = ["control", "outcome", scan.order_id, "--result", "SEIZURE", "--irregularity",
               "DRUGS", "--goods", "cocaine", "--quantity", "120", "--unit", "KGM", "--hs6",
               "293979", "--concealment", "FALSE_WALL"]  # fmt: skip
    assert "done: SEIZURE; consignment still held" in qw(*seizure)
    assert "already recorded, unchanged" in qw(*seizure)
    assert "a different outcome is refused" in qw(
        "control", "outcome", scan.order_id, "--result", "COMPLIANT", code=2)  # fmt: skip
    shown = qw("control", "show", scan.order_id)
    assert "dense [red]image[/]" in shown and "outcome SEIZURE" in shown and "nii://a/1" in shown
    assert scan.order_id not in qw("control", "list", "--state", "planned")
    assert scan.order_id in qw("control", "list", "--state", "done")

    figures = json.loads(qw("kpis", "--from", "2026-11-01", "--to", "2100-01-01", "--json"))
    assert figures["seizures"]["count"] == 1 and figures["controls"] == 1
    assert figures["by_lane"][0]["lane"] == scan.lane and figures["hit_rate"] == 1.0
    table = qw("kpis", "--from", "2026-11-01", "--to", "2100-01-01")
    assert (
        "Hit rate by lane" in table and "Profile effectiveness" in table and "AEO burden" in table
    )
    assert "ends before it starts" in qw(
        "kpis", "--from", "2026-11-02", "--to", "2026-11-01", code=2
    )
