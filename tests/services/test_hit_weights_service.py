"""Hit weights fitted on the store's own outcomes, on SQLite and PostgreSQL: the user's path.

Generated traffic (four days of 300 consignments, a legacy selection controlling almost half,
raised fraud rates, container events) is imported into each test's empty store with the starter
profiles and one profile that fires on every consignment (``ALL-BOXES``), a model is trained,
then ``quaywatch weights fit`` and ``weights show`` run through the command line and a scoring
run applies the set.
"""

from __future__ import annotations

import json
import math
from datetime import UTC, date, datetime
from pathlib import Path

import polars as pl
import pytest
from sqlalchemy import func, select
from typer.testing import CliRunner

from quaywatch.cli import app
from quaywatch.errors import InputError, NotFoundError, WriteConflictError
from quaywatch.intake.pipeline import ingest_file
from quaywatch.risk import combine, weight_sets
from quaywatch.risk.bundle import RiskModel
from quaywatch.services import hit_weights, profiles
from quaywatch.services.profiles import ProfileText
from quaywatch.services.risk import score_period, train_models
from quaywatch.store import reads, tables
from quaywatch.store.store import Store
from quaywatch.synth import traffic
from quaywatch.synth.controls import ControlRates
from quaywatch.synth.patterns import PatternRates

UNTIL = datetime(2026, 12, 1, tzinfo=UTC)
STARTER = Path(profiles.__file__).parents[1] / "risk" / "profiles" / "starter"
EVERYWHERE = """\
id: ALL-BOXES
version: 1
description: Every consignment with a container (a rule written too wide)
owner: test
condition: n_containers >= 1
action:
  weight: 2.0
"""


@pytest.fixture(scope="module")
def history(tmp_path_factory: pytest.TempPathFactory) -> traffic.Traffic:
    rates = PatternRates(undervaluation=0.05, misdeclaration=0.03, counterfeit=0.03,
                         cocaine=0.04, displacement_week=None)  # fmt: skip
    return traffic.generate(
        tmp_path_factory.mktemp("hit-weights"), days=4, per_day=300, seed=21,
        start=date(2026, 10, 1), rates=rates,
        control_rates=ControlRates(random_share=0.2, rule_share=0.25),
    )  # fmt: skip


@pytest.fixture
def prepared(store: Store, history: traffic.Traffic, tmp_path: Path) -> Path:
    """The store with the traffic, the profiles in force and a trained model; its models folder."""
    outcomes = sorted((history.out / "outcomes").glob("*.csv"))
    for path in [*history.consignment_files, *outcomes, *history.event_files]:
        ingest_file(store, path)
    sources = [*sorted(STARTER.glob("*.yaml")), ProfileText("all.yaml", EVERYWHERE)]
    for loaded in profiles.load_profiles(store, sources, actor="analyst"):
        profiles.activate_profile(store, loaded.profile_id, actor="analyst")
    train_models(store, until=UNTIL, model_dir=tmp_path / "models", capacity_pct=3.0,
                 actor="analyst", allow_few_hits=True)  # fmt: skip
    return tmp_path / "models"


def _count(store: Store, table: object) -> int:
    with store.reading() as conn:
        return int(conn.execute(select(func.count()).select_from(table)).scalar_one())  # type: ignore[arg-type]


def _audit(store: Store, action: str) -> list[dict[str, object]]:
    a = tables.audit_events
    with store.reading() as conn:
        rows = conn.execute(select(a.c.details).where(a.c.action == action)).scalars().all()
    return [json.loads(r) if isinstance(r, str) else r for r in rows]


@pytest.mark.slow  # about 15 s on SQLite, 25 s on PostgreSQL
def test_fit_show_and_apply_the_weights(store: Store, store_url: str, prepared: Path) -> None:
    runner = CliRunner()
    base = ["--database", store_url, "weights"]
    window = ["--since", "2026-10-01", "--until", "2026-12-01", "--models", str(prepared)]
    scoring = ["--database", store_url, "score", "--model", str(prepared), "--at", "2026-12-01",
               "--rescore", "--top", "0"]  # fmt: skip
    # Without a set, a code saturating the run is reported, not damped, and the analyst is told.
    unfitted = runner.invoke(app, scoring)
    assert unfitted.exit_code == 0, unfitted.output
    flat = " ".join(unfitted.output.split())
    assert "profile:ALL-BOXES fires on 100% of the consignments scored" in flat
    assert "not damped" in flat and "quaywatch weights fit" in flat
    fitted = runner.invoke(app, [*base, "fit", *window])
    assert fitted.exit_code == 0, fitted.output
    for column in ("code", "shipped", "fitted", "applied", "share", "controlled",
                   "local precision", "saturated"):  # fmt: skip
        assert column in fitted.output
    assert "profile:ALL-BOXES" in fitted.output and "SATURATED" in fitted.output
    assert "fires on 100% of the consignments" in fitted.output

    shown = hit_weights.show_weights(store)
    assert shown.version == 1 and shown.active and shown.model_version
    codes = {c.code: c for c in shown.fit.codes}
    everywhere = codes["profile:ALL-BOXES"]
    assert everywhere.share == 1.0 and everywhere.saturated and everywhere.weight == 0.0
    assert everywhere.fired == shown.fit.consignments
    for c in shown.fit.codes:
        if c.controlled == 0:  # no local evidence: the shipped weight stands
            assert c.fitted == pytest.approx(c.shipped, abs=1e-9) and c.precision is None
        else:
            assert c.hits <= c.controlled <= c.fired and 0 <= (c.precision or 0) <= 1
    moved = [c for c in shown.fit.codes if c.evidence > 5 and not c.saturated]
    assert moved and all(abs(c.fitted - c.shipped) > 1e-6 for c in moved)
    # Toward what the port saw: the shrunk precision pools the local one with the prior's
    # π₀ = σ(logit m + shipped), m the model's mean probability over the code's consignments of
    # the window, computed here from the window's own evidence.
    priors = prior_precisions(store, prepared)
    k = shown.fit.prior_strength
    for c in moved:
        assert c.precision is not None
        prior = priors[c.code]
        pooled = (c.evidence * c.precision + k * prior) / (c.evidence + k)
        assert c.shrunk_precision == pytest.approx(pooled, rel=1e-6)
        low, high = sorted((prior, c.precision))
        assert low - 1e-9 <= c.shrunk_precision <= high + 1e-9

    again = runner.invoke(app, [*base, "fit", *window])  # the same fit: nothing new stored
    assert again.exit_code == 0 and "already holds this fit" in again.output
    assert _count(store, tables.hit_weight_sets) == 1
    assert _count(store, tables.hit_weights) == len(shown.fit.codes)
    assert len(_audit(store, "hit_weights_fit")) == 1
    listed = runner.invoke(app, [*base, "show", "--json"])
    assert listed.exit_code == 0 and json.loads(listed.output)["version"] == 1

    run = score_period(store, model_path=prepared, at=UNTIL, rescore=True, top=3, actor="a")
    assert run.weight_set == 1
    assert [s.code for s in run.saturated] == ["profile:ALL-BOXES"]
    (everywhere_run,) = run.saturated  # damped by the share of the set's window, 100 %
    assert everywhere_run.window_share == 1.0 and everywhere_run.factor == 0.0
    assert everywhere_run.batch_share == 1.0  # this run's own share: reported
    stored = reads.latest_assessments(store, run_id=run.run_id)
    assert set(stored.get_column("weight_set").to_list()) == {1}
    (details,) = [d for d in _audit(store, "score") if d.get("weight_set") == 1]
    assert details["saturated"][0]["code"] == "profile:ALL-BOXES"  # type: ignore[index]
    # A weight of 0 lifts nothing: far fewer than all consignments reach the review line.
    assert run.share_above_review is not None and run.share_above_review < 0.5
    damped = " ".join(runner.invoke(app, scoring).output.split())
    assert "hit weight set 1's fit window" in damped and "damped ×0.00" in damped


def prior_precisions(store: Store, models: Path) -> dict[str, float]:
    """Per code of the window, ``σ(logit m + shipped)``: its mean model probability and mean
    shipped weight over the consignments it hit, from the window's evidence."""
    found, scored, _ = hit_weights.window_evidence(
        store, RiskModel.load(models), since=datetime(2026, 10, 1, tzinfo=UTC), until=UNTIL
    )
    per_hit = (
        found.group_by("consignment_id", "version", "code")
        .agg(pl.col("weight").max())
        .join(scored, on=["consignment_id", "version"])
    )
    means = per_hit.group_by("code").agg(
        pl.col("model_probability").mean(), pl.col("weight").mean()
    )
    return {
        code: 1 / (1 + math.exp(-(math.log(m / (1 - m)) + w))) for code, m, w in means.iter_rows()
    }


@pytest.mark.slow
def test_an_impossible_fit_writes_nothing(store: Store, prepared: Path) -> None:
    with pytest.raises(InputError, match="no stored consignment was lodged"):
        hit_weights.fit_weights(
            store, models=prepared, actor="a", since=datetime(2027, 1, 1, tzinfo=UTC),
            until=datetime(2027, 2, 1, tzinfo=UTC),
        )  # fmt: skip
    with pytest.raises(InputError, match="prior strength"):
        hit_weights.fit_weights(store, models=prepared, actor="a", until=UNTIL, prior_strength=0)
    assert _count(store, tables.hit_weight_sets) == _count(store, tables.hit_weights) == 0
    assert _audit(store, "hit_weights_fit") == []
    with pytest.raises(NotFoundError, match="no fitted hit weight set is active"):
        hit_weights.show_weights(store)


def test_saturation_default_is_the_setting_default() -> None:
    from quaywatch.config import Settings

    assert Settings().hit_saturation_pct == combine.SATURATION_PCT


@pytest.mark.parametrize("value", ["0", "-5"])
def test_a_prior_strength_of_zero_is_refused_by_name(
    store_url: str, tmp_path: Path, value: str
) -> None:
    # Not replaced by the setting's 30: the option given is the option checked.
    out = CliRunner().invoke(
        app, ["--database", store_url, "weights", "fit", "--prior-strength", value,
              "--models", str(tmp_path / "models")],
    )  # fmt: skip
    assert out.exit_code != 0
    assert "--prior-strength" in out.output and "must be a positive number" in out.output


@pytest.mark.slow
def test_evaluation_leaves_out_a_set_fitted_on_the_test_periods_outcomes(
    store: Store, prepared: Path, history: traffic.Traffic
) -> None:
    from quaywatch.services.evaluation import evaluate_detection, model_scores

    split = datetime(2026, 10, 3, tzinfo=UTC)
    hit_weights.fit_weights(store, models=prepared, actor="a", since=datetime(2026, 10, 1,
                            tzinfo=UTC), until=UNTIL)  # fmt: skip
    report = evaluate_detection(store, truth_path=history.truth, split_at=split,
                                capacity_pct=5.0, model_path=prepared)  # fmt: skip
    notes = " ".join(report.notes)
    assert "shipped hit weights, not the active set 1" in notes
    assert "In-sample" in notes  # the model was trained until December
    scored = model_scores(store, prepared, split)
    shipped = model_scores(store, prepared, split, fitted_weights=False)
    assert scored.equals(shipped)
    # A set whose window ended by the split applies, without a note.
    hit_weights.fit_weights(store, models=prepared, actor="a", since=datetime(2026, 10, 1,
                            tzinfo=UTC), until=split)  # fmt: skip
    again = evaluate_detection(store, truth_path=history.truth, split_at=split,
                               capacity_pct=5.0, model_path=prepared)  # fmt: skip
    assert "hit weights" not in " ".join(again.notes)
    assert weight_sets.active(store) is not None


@pytest.fixture(scope="module")
def networks(tmp_path_factory: pytest.TempPathFactory) -> traffic.Traffic:
    """Three weeks with shell-company networks and cocaine: outcomes known within the window
    seed the graph and mark the anomaly baselines' suspicious traffic."""
    rates = PatternRates(undervaluation=0.05, cocaine=0.04, shell_company=0.05,
                         displacement_week=None)  # fmt: skip
    return traffic.generate(
        tmp_path_factory.mktemp("hit-weights-networks"), days=21, per_day=120, seed=5,
        start=date(2026, 10, 1), rates=rates,
        control_rates=ControlRates(random_share=0.2, rule_share=0.25),
    )  # fmt: skip


@pytest.mark.slow
def test_the_fits_hits_do_not_know_the_windows_outcomes(
    store: Store, networks: traffic.Traffic, tmp_path: Path
) -> None:
    # The hits the weights are judged on are those found before the window's outcomes were
    # known: importing those outcomes changes none of them (graph seeds, anomaly baselines).
    history = networks
    outcomes = sorted((history.out / "outcomes").glob("*.csv"))
    trainer = Store.open(f"sqlite:///{tmp_path / 'train.db'}")
    try:
        for path in [*history.consignment_files, *outcomes]:
            ingest_file(trainer, path)
        train_models(trainer, until=UNTIL, model_dir=tmp_path / "models", capacity_pct=3.0,
                     actor="analyst", allow_few_hits=True)  # fmt: skip
    finally:
        trainer.close()
    model = RiskModel.load(tmp_path / "models")
    for path in [*history.consignment_files, *history.event_files]:
        ingest_file(store, path)
    since = datetime(2026, 10, 1, tzinfo=UTC)

    def hits() -> pl.DataFrame:
        found = hit_weights.window_evidence(store, model, since=since, until=UNTIL)[0]
        return found.select("consignment_id", "version", "code", "weight").sort(pl.all())

    before = hits()
    for path in outcomes:
        ingest_file(store, path)
    assert hits().equals(before)


@pytest.mark.slow
def test_two_fits_at_once_the_loser_is_told_plainly(store: Store, prepared: Path) -> None:
    if store.dialect != "postgresql":
        pytest.skip("SQLite writers take turns: two fits cannot pick the same number")
    from sqlalchemy import event

    window = {"since": datetime(2026, 10, 1, tzinfo=UTC), "until": UNTIL}
    raced: list[hit_weights.WeightSet] = []
    started: list[bool] = []

    def other_fit_first(conn: object, cursor: object, statement: str, *args: object) -> None:
        # Between this fit's read of the latest number and its write, another one commits.
        if statement.startswith("INSERT INTO hit_weight_sets") and not started:
            started.append(True)
            raced.append(hit_weights.fit_weights(store, models=prepared, actor="other",
                                                 prior_strength=10.0, **window))  # fmt: skip

    event.listen(store.engine, "before_cursor_execute", other_fit_first)
    try:
        with pytest.raises(WriteConflictError, match="another weight fit stored hit weight set 1"):
            hit_weights.fit_weights(store, models=prepared, actor="a", **window)
    finally:
        event.remove(store.engine, "before_cursor_execute", other_fit_first)
    assert raced and raced[0].version == 1
    shown = hit_weights.show_weights(store)
    assert shown.version == 1 and shown.fitted_by == "other"
    assert _count(store, tables.hit_weight_sets) == 1
