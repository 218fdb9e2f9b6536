"""Hit weights fitted on the store's own outcomes, on SQLite and PostgreSQL: the user's path.

Generated traffic (four days of 300 consignments, a legacy selection controlling almost half,
raised fraud rates, container events) is imported into each test's empty store with the starter
profiles and one profile that fires on every consignment (``ALL-BOXES``), a model is trained,
then ``quaywatch weights fit`` and ``weights show`` run through the command line and a scoring
run applies the set.
"""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from sqlalchemy import func, select
from typer.testing import CliRunner

from quaywatch.cli import app
from quaywatch.errors import InputError
from quaywatch.intake.pipeline import ingest_file
from quaywatch.risk import combine
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
                 actor="analyst")  # fmt: skip
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
    # Toward what the port saw: the fitted precision lies between the prior's and the local one.
    for c in moved:
        assert c.precision is not None
        prior = combine_sigmoid(c, shown.fit.prior_strength)
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
    assert run.saturated[0].measured_on == "batch" and run.saturated[0].factor == 0.0
    stored = reads.latest_assessments(store, run_id=run.run_id)
    assert set(stored.get_column("weight_set").to_list()) == {1}
    (details,) = [d for d in _audit(store, "score") if d.get("weight_set") == 1]
    assert details["saturated"][0]["code"] == "profile:ALL-BOXES"  # type: ignore[index]
    # A weight of 0 lifts nothing: far fewer than all consignments reach the review line.
    assert run.share_above_review is not None and run.share_above_review < 0.5


def combine_sigmoid(c: hit_weights.CodeWeight, k: float) -> float:
    """The prior precision ``π₀`` of a code, recovered from its reported figures."""
    # S·(n + k) = n·precision + k·π₀
    assert c.precision is not None
    return (c.shrunk_precision * (c.evidence + k) - c.evidence * c.precision) / k


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
    with pytest.raises(Exception, match="no fitted hit weight set is active"):
        hit_weights.show_weights(store)


def test_saturation_default_is_the_setting_default() -> None:
    from quaywatch.config import Settings

    assert Settings().hit_saturation_pct == combine.SATURATION_PCT
