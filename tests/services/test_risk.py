"""The risk services on SQLite and PostgreSQL: train a model, score the store, list anomalies.

The traffic is generated once per module and imported into each test's empty store: four days
of 300 consignments whose legacy selection controls almost half, with raised fraud rates, so a
model has enough labels (about 400, with over 20 hits) at test size.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

import polars as pl
import pytest
from sqlalchemy import select

from quaywatch.errors import InputError, ModelError
from quaywatch.features import assessment
from quaywatch.intake.pipeline import ingest_file
from quaywatch.risk import compiled
from quaywatch.risk.bundle import RiskModel
from quaywatch.services.risk import compile_models, list_anomalies, score_period, train_models
from quaywatch.store import reads, tables
from quaywatch.store.store import Store
from quaywatch.synth import traffic
from quaywatch.synth.controls import ControlRates
from quaywatch.synth.patterns import PatternRates

#: After every generated outcome is known.
UNTIL = datetime(2026, 12, 1, tzinfo=UTC)


@pytest.fixture(scope="module")
def history(tmp_path_factory: pytest.TempPathFactory) -> traffic.Traffic:
    rates = PatternRates(undervaluation=0.05, misdeclaration=0.03, counterfeit=0.03,
                         cocaine=0.02, displacement_week=None)  # fmt: skip
    return traffic.generate(
        tmp_path_factory.mktemp("risk-services"), days=4, per_day=300, seed=21,
        start=date(2026, 10, 1), with_events=False, rates=rates,
        control_rates=ControlRates(random_share=0.2, rule_share=0.25),
    )  # fmt: skip


@pytest.fixture(scope="module")
def day(tmp_path_factory: pytest.TempPathFactory) -> traffic.Traffic:
    """One day of 200 consignments with their container events, 15 % of them cocaine."""
    rates = PatternRates(cocaine=0.15, displacement_week=None)
    return traffic.generate(tmp_path_factory.mktemp("anomaly-services"), days=1, per_day=200,
                            seed=5, rates=rates, legacy_controls=False)  # fmt: skip


def _ingest(store: Store, made: traffic.Traffic) -> None:
    outcomes = sorted((made.out / "outcomes").glob("*.csv"))
    for path in [*made.consignment_files, *outcomes, *made.event_files]:
        ingest_file(store, path)


def _actions(store: Store) -> list[tuple[str, str]]:
    a = tables.audit_events
    with store.reading() as conn:
        return [(r.action, r.actor) for r in conn.execute(select(a.c.action, a.c.actor)).all()]


@pytest.mark.slow  # 5 s on SQLite, 8-16 s on PostgreSQL
def test_train_then_score_the_stored_traffic(
    store: Store, history: traffic.Traffic, tmp_path: Path
) -> None:
    _ingest(store, history)
    models = tmp_path / "models"
    # 27 hits: refused by default, saying what to do instead; nothing saved, nothing audited.
    with pytest.raises(InputError, match=r"\(27 hits\).*below the 50 hits") as refused:
        train_models(store, until=UNTIL, model_dir=models, capacity_pct=5.0, actor="analyst")
    assert "random control sample" in str(refused.value) and "--allow-few-hits" in str(
        refused.value
    )
    assert not models.exists() and _actions(store).count(("train", "analyst")) == 0
    trained = train_models(store, until=UNTIL, model_dir=models, capacity_pct=5.0,
                           actor="analyst", allow_few_hits=True)  # fmt: skip
    assert trained.hits == 27 and "only 27 hits, below the 50" in trained.warnings[0]
    assert trained.metrics["warnings"] == list(trained.warnings)
    assert RiskModel.load(models).metrics["warnings"] == list(trained.warnings)
    assert trained.weighting == "ipw" == trained.metrics["weighting"]  # the shared default
    # The figures: every consignment controlled with an outcome known before UNTIL, and the
    # hits among them, as counted straight from the store.
    labels = (
        reads.control_outcomes(store, known_before=UNTIL)
        .group_by("consignment_id", "version")
        .agg(assessment.hit().any().alias("hit"))
    )
    assert (trained.labelled, trained.hits) == (labels.height, labels["hit"].sum())
    assert 0 < trained.held_out_hits <= trained.held_out
    assert trained.version.startswith("fraud-") and trained.folder == models / trained.version
    assert trained.until == UNTIL and trained.capacity_pct == 5.0
    assert trained.labelled >= 200 and 20 <= trained.hits < trained.labelled
    assert trained.window_start.date() == date(2026, 10, 1) <= trained.window_end.date()
    assert 0 < trained.held_out < trained.labelled
    assert trained.held_out_auc is not None and 0 <= trained.held_out_auc <= 1
    assert trained.held_out_precision_at_capacity is not None
    assert 0 <= trained.held_out_precision_at_capacity <= 1
    assert trained.metrics["labelled"] == trained.labelled
    assert RiskModel.load(models).version == trained.version  # now current
    assert trained.compiled == compiled.available() == RiskModel.load(models).is_compiled
    assert _actions(store).count(("train", "analyst")) == 1

    at = datetime(2026, 12, 2, tzinfo=UTC)
    run = score_period(store, model_path=models, at=at, top=4, actor="analyst")
    stored = reads.latest_assessments(store, run_id=run.run_id)
    assert run.model_version == trained.version and run.assessed == stored.height == 1_200
    assert 0 < run.explained <= run.assessed
    review = RiskModel.load(models).review_probability
    assert run.review_probability == review
    above = stored.filter(pl.col("probability") >= review).height / stored.height
    assert run.share_above_review == pytest.approx(above)
    assert len(run.top) == 4
    assert [r.score for r in run.top] == sorted(stored["score"], reverse=True)[:4]
    first = run.top[0]
    row = stored.filter(consignment_id=first.consignment_id, version=first.version).row(
        0, named=True
    )
    assert (first.score, first.revenue_at_stake_eur) == (row["score"], row["revenue_at_stake_eur"])
    assert 1 <= len(first.reasons) <= 3 and all(isinstance(t, str) and t for t in first.reasons)
    assert ("score", "analyst") in _actions(store)

    again = score_period(store, model_path=models, at=at, actor="analyst")
    assert (again.assessed, again.share_above_review, again.top) == (0, None, ())
    later = datetime(2026, 10, 4, tzinfo=UTC)
    redone = score_period(store, model_path=models, at=at, since=later, rescore=True,
                          explain_all=True, top=0, actor="analyst")  # fmt: skip
    lodged = reads.goods_item_rows(store).filter(pl.col("lodged_at") >= later)
    assert redone.assessed == lodged.select("consignment_id", "version").n_unique() > 0
    assert redone.explained == redone.assessed and redone.top == ()


def test_training_needs_enough_outcomes_and_a_sound_capacity(store: Store, tmp_path: Path) -> None:
    models = tmp_path / "models"
    with pytest.raises(InputError, match="capacity_pct must be above 0 and at most 100"):
        train_models(store, until=UNTIL, model_dir=models, capacity_pct=120, actor="t")
    with pytest.raises(InputError, match="controlled consignments with a known outcome"):
        train_models(store, until=UNTIL, model_dir=models, capacity_pct=3.0, actor="t")
    assert not models.exists() and _actions(store) == []


def test_scoring_needs_a_model_and_a_sound_top(store: Store, tmp_path: Path) -> None:
    with pytest.raises(ModelError, match="no trained model"):
        score_period(store, model_path=tmp_path / "nothing", actor="t")
    with pytest.raises(InputError, match="top must be 0 or more, got -1"):
        score_period(store, model_path=tmp_path, top=-1, actor="t")
    with pytest.raises(ModelError, match="no trained model"):
        compile_models(tmp_path / "nothing")


@pytest.mark.slow  # 1 s on SQLite, 5-6 s on PostgreSQL (the events)
def test_list_anomalies_heaviest_first(store: Store, day: traffic.Traffic) -> None:
    _ingest(store, day)
    found = list_anomalies(store, limit=500)
    consignments = reads.goods_item_rows(store).select("consignment_id").n_unique()
    assert found.consignments == consignments and 0 < found.flagged < consignments
    assert found.found == len(found.rows) <= 500 and found.limit == 500
    totals = [r.total_weight for r in found.rows]
    assert totals == sorted(totals, reverse=True)
    per = pl.DataFrame([(r.consignment_id, r.weight, r.total_weight) for r in found.rows],
                       schema=["id", "weight", "total"], orient="row")  # fmt: skip
    sums = per.group_by("id").agg(pl.col("weight").sum(), pl.col("total").first())
    assert sums.filter((pl.col("weight") - pl.col("total")).abs() > 1e-9).is_empty()
    assert all(r.reason and not r.detector.startswith("anomaly:") for r in found.rows)

    seals = list_anomalies(store, code="anomaly:seal_changed", limit=3)
    assert 0 < len(seals.rows) <= 3 and {r.detector for r in seals.rows} == {"seal_changed"}
    assert list_anomalies(store, code="seal_changed", limit=3).rows == seals.rows
    assert seals.found == sum(r.detector == "seal_changed" for r in found.rows)

    early = list_anomalies(store, at=datetime(2026, 9, 1))  # before any event
    assert early.at == datetime(2026, 9, 1, tzinfo=UTC) and early.found == 0 and not early.rows
    none = list_anomalies(store, since=datetime(2027, 1, 1, tzinfo=UTC))
    assert (none.consignments, none.flagged, none.rows) == (0, 0, ())
    assert list_anomalies(store, stale=True).consignments == 0  # nothing assessed yet


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ({"code": "nonsense"}, "unknown detector 'nonsense'; the detectors are .*seal_changed"),
        ({"limit": 0}, "limit must be at least 1, got 0"),
    ],
)
def test_list_anomalies_refuses_bad_arguments(
    store: Store, arguments: dict[str, object], message: str
) -> None:
    with pytest.raises(InputError, match=message):
        list_anomalies(store, **arguments)  # type: ignore[arg-type]
