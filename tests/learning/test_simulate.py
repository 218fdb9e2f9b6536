"""The policy lab: controls drawn from the truth, a short replay, the comparison and the CLI."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import polars as pl
import pytest
from typer.testing import CliRunner

from quaywatch.cli import app
from quaywatch.learning import lab, simulate as sim
from quaywatch.risk.profiles import loader
from quaywatch.risk.profiles.apply import ProfileSet
from quaywatch.selection import capacity
from quaywatch.synth.controls import ControlRates

ETA = datetime(2026, 11, 2, 8, tzinfo=UTC)


def _decisions(n: int, control: str | None) -> pl.DataFrame:
    return pl.DataFrame({
        "consignment_id": [f"C{i}" for i in range(n)], "version": [1] * n,
        "control_type": [control] * n, "selected_by": ["MODEL"] * n, "propensity": [1.0] * n,
        "eta": [ETA] * n,
    })  # fmt: skip


def _truth(n: int, pattern: str, stake: float) -> pl.DataFrame:
    return pl.DataFrame({
        "consignment_id": [f"C{i}" for i in range(n)], "version": [1] * n,
        "pattern": [pattern] * n, "revenue_at_stake_eur": [stake] * n,
    })  # fmt: skip


def test_controls_find_the_truth_at_their_detection_rate() -> None:
    rng = np.random.default_rng(1)
    found = sim.control(_decisions(4_000, "PHYSICAL"), _truth(4_000, "cocaine", 50_000.0), rng)
    seized = (found["result"] == "SEIZURE").mean()
    assert seized == pytest.approx(0.90, abs=0.02)  # synth.controls.DETECTION, physical
    assert (found["revenue_recovered_eur"] == 0.0).all()  # a drug seizure recovers no duty
    assert (found["known_at"] > found["controlled_at"]).all()
    assert (found["controlled_at"] > ETA).all()
    value = sim.control(_decisions(2_000, "DOCUMENTARY"), _truth(2_000, "undervaluation", 1_000.0),
                        rng)  # fmt: skip
    irregular = value.filter(pl.col("result") == "IRREGULAR")
    assert len(irregular) / 2_000 == pytest.approx(0.60, abs=0.04)
    assert (irregular["revenue_recovered_eur"] == 750.0).all()
    # Nothing to find on licit goods, and no control, no outcome.
    licit = sim.control(_decisions(500, "SCAN"), _truth(500, "none", 0.0), rng)
    assert (licit["result"] == "COMPLIANT").all()
    assert sim.control(_decisions(10, None), _truth(10, "cocaine", 1.0), rng).is_empty()


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> sim.World:
    out = tmp_path_factory.mktemp("lab") / "traffic"
    # A rich legacy history (30 % controlled) so that a first model can be trained at this size.
    return sim.prepare(out, weeks=2, warmup_weeks=5, per_day=500, seed=5, displacement=False,
                       legacy_rates=ControlRates(random_share=0.1, rule_share=0.2))  # fmt: skip


def test_a_short_replay_keeps_to_capacity_and_measures_against_the_truth(world: sim.World) -> None:
    profiles = ProfileSet.of([loader.read(p) for p in
                              sorted((Path(loader.__file__).parent / "starter").glob("*.yaml"))])  # fmt: skip
    shipped = capacity.load()
    runs = [sim.run(world, lab.PRESETS[name], capacity=shipped, profiles=profiles, seed=3,
                    params={"num_threads": 1}) for name in ("rules", "hybrid")]  # fmt: skip
    weekly = pl.concat(runs)
    assert weekly["week"].to_list() == [1, 2, 1, 2]
    assert (weekly["detected"] <= weekly["illicit"]).all()
    assert (weekly["controls"] < weekly["consignments"]).all()
    assert (weekly["critical_seized"] <= weekly["critical"]).all()
    # The same arrivals, whatever the strategy.
    assert runs[0]["consignments"].to_list() == runs[1]["consignments"].to_list()
    # Rules have no model; the hybrid falls back on them until the outcomes allow a first model.
    assert runs[0]["auc"].is_null().all() and runs[1]["auc"][-1] is not None
    summary = lab.summarise(weekly)
    assert summary["strategy"].to_list() == ["rules", "hybrid"]
    assert summary["detected_share"].is_between(0, 1).all()
    page = lab.html(weekly, summary, title="lab")
    assert page.count("<svg") == 2 and "hybrid" in page
    # Doubling the capacity buys more controls.
    double = sim.run(world, lab.PRESETS["hybrid-capacity-double"], capacity=shipped,
                     profiles=profiles, seed=3, params={"num_threads": 1})  # fmt: skip
    assert double["controls"].sum() > runs[1]["controls"].sum()


def test_cli_simulate_compares_set_ups(tmp_path: Path) -> None:
    runner = CliRunner()
    out = runner.invoke(app, ["simulate", "--weeks", "1", "--warmup-weeks", "3", "--per-day",
                              "200", "--strategy", "rules", "--strategy", "hybrid", "--json",
                              "--html", str(tmp_path / "lab.html")])  # fmt: skip
    assert out.exit_code == 0, out.output
    report = json.loads(out.stdout.strip().splitlines()[-1])
    assert [row["strategy"] for row in report["summary"]] == ["rules", "hybrid"]
    assert (tmp_path / "lab.html").read_text().startswith("<!doctype html>")
    bad = runner.invoke(app, ["simulate", "--strategy", "magic"])
    assert bad.exit_code != 0 and "unknown strategy 'magic'" in bad.output
