"""Training with inverse-propensity weights, and champion/challenger cycles against the store.

One module-scoped SQLite store holds two months of generated traffic whose legacy selection is
biased (a 10 % random sample, rules controlling 15 % with up to ten times the weight on risky
lanes), imported as a user would; the store paths are run once more on SQLite and PostgreSQL
through the ``store`` fixture with the CLI.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path

import polars as pl
import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from quaywatch.cli import app
from quaywatch.features import assessment
from quaywatch.intake.pipeline import ingest_file
from quaywatch.learning import retrain as cycle, train
from quaywatch.learning.champion import MIN_SAMPLE
from quaywatch.learning.weights import Weighting, with_weights
from quaywatch.risk import compiled
from quaywatch.risk.bundle import RiskModel
from quaywatch.store import reads, tables
from quaywatch.store.store import Store
from quaywatch.synth import traffic
from quaywatch.synth.controls import ControlRates

UNTIL = datetime(2026, 11, 12, tzinfo=UTC)
END = datetime(2027, 3, 1, tzinfo=UTC)  # every outcome of the traffic is known by then
PARAMS = {"num_threads": 1}
runner = CliRunner()


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    made = traffic.generate(
        tmp_path_factory.mktemp("retrain") / "traffic", days=60, per_day=800, seed=21,
        start=date(2026, 10, 1), with_events=False,
        control_rates=ControlRates(random_share=0.1, rule_share=0.15),
    )  # fmt: skip
    return [*made.consignment_files, *sorted((made.out / "outcomes").glob("*.csv"))]


@pytest.fixture(scope="module")
def world(files: list[Path], tmp_path_factory: pytest.TempPathFactory) -> Iterator[Store]:
    store = Store.open(f"sqlite:///{tmp_path_factory.mktemp('world') / 'q.db'}")
    for path in files:
        ingest_file(store, path)
    yield store
    store.close()


def audit(store: Store) -> list[dict[str, object]]:
    with store.reading() as conn:
        rows = conn.execute(select(tables.audit_events).order_by(tables.audit_events.c.seq))
        return [dict(r) for r in rows.mappings()]


def test_weighting_restores_the_traffic_mix_of_a_biased_selection(world: Store) -> None:
    """What bias correction buys, measured: the labels' hit rate, weighted, is the traffic's.

    The rules send controls to the lanes where fraud is, so the controlled consignments hit far
    more often than the traffic does. The random sample's hit rate is the traffic's, without
    bias; the inverse-propensity weighted hit rate of all controls estimates the same figure.
    """
    outcomes = reads.control_outcomes(world, known_before=END)
    labels = outcomes.with_columns(assessment.hit().alias("hit"))
    random_rate = labels.filter(pl.col("selected_by") == "RANDOM")["hit"].mean()
    plain = labels["hit"].mean()
    weighted = with_weights(labels, Weighting.IPW)
    ipw_rate = weighted.select((pl.col("hit") * pl.col("weight")).sum() / pl.col("weight").sum())
    assert isinstance(random_rate, float) and isinstance(plain, float)
    assert plain > 1.3 * random_rate  # the bias
    assert abs(ipw_rate.item() - random_rate) < 0.4 * (plain - random_rate)  # corrected


def test_fit_with_ipw_records_the_weighting_and_differs_from_unweighted(world: Store) -> None:
    items = reads.goods_item_rows(world, lodged_before=UNTIL)
    outcomes = reads.control_outcomes(world, known_before=UNTIL)
    plain = train.fit(items, outcomes, until=UNTIL, capacity_pct=3.0, params=PARAMS,
                      weighting=Weighting.NONE)  # fmt: skip
    ipw = train.fit(items, outcomes, until=UNTIL, capacity_pct=3.0, params=PARAMS,
                    weighting=Weighting.IPW, max_weight=5.0)  # fmt: skip
    assert plain.metrics["weighting"] == "none" and "max_weight" not in plain.metrics
    m = ipw.metrics
    assert m["weighting"] == "ipw" and m["max_weight"] == 5.0
    assert m["clipped"] > 0  # the 10 % random sample has weight 10 > 5
    assert 0 < m["effective_size"] < m["labelled"]
    assert plain.version != ipw.version
    assert plain.fraud.metadata["data_sha256"] != ipw.fraud.metadata["data_sha256"]
    assert 0 < ipw.review_probability < 1 and 0 < m["held_out_auc"] < 1
    # Weighted, the held-out controls stand for the traffic, where hits are rarer: the model
    # calibrated on them gives lower probabilities than the one calibrated on the controls.
    assert ipw.metrics["held_out_brier"] < plain.metrics["held_out_brier"]


def test_retrain_promotes_the_first_model_then_judges_on_the_random_sample(
    world: Store, tmp_path: Path
) -> None:
    models = tmp_path / "models"
    first = cycle.retrain(world, models=models, until=datetime(2026, 11, 8, tzinfo=UTC),
                          to=UNTIL, capacity_pct=3.0, actor="analyst", params=PARAMS,
                          allow_few_hits=True)  # fmt: skip
    # 41 hits by then: trained only because allowed, and the model says so.
    assert "only 41 hits, below the 50" in first.challenger.metrics["warnings"][0]
    assert first.promoted and first.champion_version is None
    assert cycle.current_version(models) == first.challenger.version
    promoted = RiskModel.load(models)
    assert promoted.metrics["weighting"] == "ipw"
    # Compiled when promoted, into the version's own folder (not the staging folder it was
    # saved in first, which is gone): loading finds the objects.
    assert promoted.is_compiled == compiled.available()
    assert not list(models.glob(".candidate-*"))

    second = cycle.retrain(world, models=models, until=UNTIL, to=END, capacity_pct=3.0,
                           actor="analyst", params=PARAMS, rounds=300,
                           allow_few_hits=True)  # fmt: skip
    c = second.comparison
    assert second.champion_version == first.challenger.version
    assert second.evaluated_from == UNTIL  # after both training cuts
    assert c.sample >= MIN_SAMPLE and c.enough
    assert c.auc.low is not None and c.auc.high is not None and c.auc.low <= c.auc.high
    assert second.promoted == (c.auc.low > 0)  # the AUC criterion, nothing else
    expected = second.challenger.version if second.promoted else first.challenger.version
    assert cycle.current_version(models) == expected
    assert (models / second.challenger.version / "manifest.json").is_file()  # kept either way

    events = [e for e in audit(world) if e["object_type"] == "model"][-2:]
    assert [e["action"] for e in events] == [
        "model_promote", "model_promote" if second.promoted else "model_keep"]  # fmt: skip
    details = json.loads(str(events[1]["details"]))
    assert details["champion"] == first.challenger.version
    assert details["comparison"]["sample"] == c.sample and details["criterion"] == "auc"


def test_no_promote_keeps_and_force_promotes_and_a_small_sample_decides_nothing(
    world: Store, tmp_path: Path
) -> None:
    models = tmp_path / "models"
    champion = train.fit(
        reads.goods_item_rows(world, lodged_before=datetime(2026, 11, 10, tzinfo=UTC)),
        reads.control_outcomes(world, known_before=datetime(2026, 11, 10, tzinfo=UTC)),
        until=datetime(2026, 11, 10, tzinfo=UTC), capacity_pct=3.0, params=PARAMS,
    )  # fmt: skip
    champion.save(models)
    kept = cycle.retrain(world, models=models, until=UNTIL, to=END, capacity_pct=3.0,
                         actor="a", params=PARAMS, promote=False, rounds=100,
                         allow_few_hits=True)  # fmt: skip
    assert not kept.promoted and "promotion not asked for" in kept.decision.reason
    assert cycle.current_version(models) == champion.version
    assert not RiskModel.load(models / kept.challenger.version).is_compiled  # not promoted
    small = cycle.retrain(world, models=models, until=datetime(2026, 11, 13, tzinfo=UTC),
                          to=datetime(2026, 11, 20, tzinfo=UTC), capacity_pct=3.0, actor="a",
                          params=PARAMS, rounds=100, allow_few_hits=True)  # fmt: skip
    assert not small.comparison.enough and not small.promoted
    assert "too small" in small.decision.reason
    forced = cycle.retrain(world, models=models, until=datetime(2026, 11, 14, tzinfo=UTC),
                           to=END, capacity_pct=3.0, actor="a", params=PARAMS, force=True,
                           rounds=100, allow_few_hits=True)  # fmt: skip
    assert forced.promoted and forced.decision.reason.startswith("forced")
    assert cycle.current_version(models) == forced.challenger.version
    assert RiskModel.load(models).is_compiled == compiled.available()
    actions = [e["action"] for e in audit(world) if e["object_type"] == "model"][-3:]
    assert actions == ["model_keep", "model_keep", "model_promote"]
    forced_details = json.loads(str(audit(world)[-1]["details"]))
    assert forced_details["forced"] is True


@pytest.mark.slow  # imports two months of traffic into each backend (~20 s each)
def test_retrain_cli_on_both_backends(store_url: str, files: list[Path], tmp_path: Path) -> None:
    store = Store.open(store_url)
    for path in files:
        ingest_file(store, path)
    store.close()
    models = tmp_path / "models"
    base = ["--database", store_url, "retrain", "--models", str(models), "--allow-few-hits"]
    result = runner.invoke(app, [*base, "--until", "2026-11-12", "--to", "2027-03-01"])
    assert result.exit_code == 0, result.output
    assert "Champion: none" in result.output and "PROMOTED" in result.output
    assert "AUC" in result.output and "95 % interval" in result.output
    result = runner.invoke(app, [*base, "--until", "2026-11-13", "--to", "2026-11-20", "--json"])
    assert result.exit_code == 0, result.output
    found = json.loads(result.output)
    assert found["promoted"] is False and "too small" in found["reason"]
    result = runner.invoke(app, [*base, "--until", "2026-11-15", "--to", "2026-11-01"])
    assert result.exit_code == 2 and "must be after" in result.output
    result = runner.invoke(app, [*base, "--until", "2026-10-02", "--to", "2026-10-20"])
    assert result.exit_code == 2 and "controlled consignments" in result.output
    assert "Traceback" not in result.output
