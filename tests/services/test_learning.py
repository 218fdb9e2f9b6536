"""Learning-loop services: ``retrain`` and ``drift`` on the store (SQLite and PostgreSQL) and the
policy lab's ``simulate``; their results, what they record, and each argument they refuse."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from quaywatch.errors import InputError
from quaywatch.intake.pipeline import ingest_file
from quaywatch.learning.drift import Level
from quaywatch.learning.retrain import current_version
from quaywatch.risk import weight_sets
from quaywatch.services import hit_weights, lab, learning
from quaywatch.store import tables
from quaywatch.store.store import Store
from quaywatch.synth import traffic
from quaywatch.synth.controls import ControlRates
from quaywatch.synth.patterns import PatternRates

UNTIL, END = datetime(2026, 11, 5, tzinfo=UTC), datetime(2027, 2, 1, tzinfo=UTC)


def at(day: int) -> datetime:
    return datetime(2026, 10, day, tzinfo=UTC)


def audit_actions(store: Store) -> list[tuple[str, str]]:
    e = tables.audit_events
    with store.reading() as conn:
        return [(r.actor, r.action) for r in conn.execute(select(e).order_by(e.c.seq))]


@pytest.fixture(scope="module")
def controlled_files(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    """Five weeks of traffic with legacy controls (a 10 % random sample) and their outcomes;
    fraud five times as common as the default, so that this little traffic has enough hits."""
    rates = PatternRates(undervaluation=0.075, misdeclaration=0.05, cocaine=0.0125,
                         counterfeit=0.04, wildlife=0.01, shell_company=0.015)  # fmt: skip
    made = traffic.generate(
        tmp_path_factory.mktemp("retrain") / "traffic", days=35, per_day=300, seed=21,
        start=date(2026, 10, 1), with_events=False, rates=rates,
        control_rates=ControlRates(random_share=0.1, rule_share=0.15),
    )  # fmt: skip
    return [*made.consignment_files, *sorted((made.out / "outcomes").glob("*.csv"))]


@pytest.fixture(scope="module")
def drift_files(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    made = traffic.generate(
        tmp_path_factory.mktemp("drift") / "traffic", days=4, per_day=150, seed=3,
        start=date(2026, 10, 1), with_events=False, legacy_controls=False,
    )  # fmt: skip
    return list(made.consignment_files)


@pytest.mark.slow  # imports five weeks of traffic into each backend and trains a model
def test_retrain_promotes_a_first_model_and_records_the_decision(
    store: Store, controlled_files: list[Path], tmp_path: Path
) -> None:
    for path in controlled_files:
        ingest_file(store, path)
    models = tmp_path / "models"
    with pytest.raises(InputError, match=r"below the 100000 hits.*random control sample"):
        learning.retrain(store, models=models, capacity_pct=3.0, until=UNTIL, to=END,
                         actor="analyst", min_hits=100_000)  # fmt: skip
    assert current_version(models) is None
    # 38 hits before UNTIL: trained only because allowed, and the warning says so.
    result = learning.retrain(store, models=models, capacity_pct=3.0, until=UNTIL, to=END,
                              actor="analyst", params={"num_threads": 1}, rounds=100,
                              allow_few_hits=True)  # fmt: skip
    assert result.promoted and result.champion_version is None
    assert result.decision.reason.startswith("no champion yet")
    assert current_version(models) == result.challenger_version
    assert result.trained_until == UNTIL and result.evaluated_to == END
    assert result.challenger_metrics["weighting"] == "ipw"
    m = result.challenger_metrics
    assert m["hits"] < 50 and 0 < m["held_out_hits"] < m["held_out"] < m["labelled"]
    assert result.warnings == tuple(m["warnings"]) and "below the 50" in result.warnings[0]
    assert json.loads(json.dumps(result.to_dict()))["warnings"] == list(result.warnings)
    assert result.criterion == "auc" and not result.forced
    found = json.loads(json.dumps(result.to_dict()))
    assert found["challenger"] == result.challenger_version and found["promoted"] is True
    assert ("analyst", "model_promote") in audit_actions(store)
    # Without ``until``, the evaluation window is the four weeks before ``to``.
    kept = learning.retrain(store, models=models, capacity_pct=3.0, to=END, promote=False,
                            actor="analyst", params={"num_threads": 1}, rounds=100,
                            allow_few_hits=True)  # fmt: skip
    assert kept.trained_until == END - timedelta(days=learning.EVALUATION_DAYS)
    assert not kept.promoted and current_version(models) == result.challenger_version

    # A set fitted given the current model; a challenger then promoted on a window with no
    # consignment to fit on (the traffic ends on 4 November): the old set no longer applies.
    fitted = hit_weights.fit_weights(store, models=models, actor="analyst", since=at(1),
                                     until=UNTIL)  # fmt: skip
    assert weight_sets.active(store) is not None
    forced = learning.retrain(store, models=models, capacity_pct=3.0, until=UNTIL, to=END,
                              force=True, actor="analyst", params={"num_threads": 1}, rounds=100,
                              allow_few_hits=True)  # fmt: skip
    assert forced.promoted and forced.weights is None
    assert weight_sets.active(store) is None
    assert any(f"hit weight set {fitted.version}" in n and "no longer active" in n
               for n in forced.notes)  # fmt: skip
    assert ("analyst", "hit_weights_deactivate") in audit_actions(store)


def test_retrain_with_nothing_to_learn_from_is_an_input_error(store: Store, tmp_path: Path) -> None:
    with pytest.raises(InputError):
        learning.retrain(store, models=tmp_path / "models", capacity_pct=3.0, until=UNTIL,
                         to=END, actor="analyst")  # fmt: skip
    assert current_version(tmp_path / "models") is None


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ({"until": END, "to": UNTIL}, r"to \(2026-11-05.*\) must be after until \(2027-02-01"),
        ({"until": END, "now": UNTIL}, "must be after until"),
        ({"until": datetime(2026, 11, 5)}, "until must be a timezone-aware time"),
        ({"capacity_pct": 120.0}, "capacity_pct must be above 0 and at most 100, got 120"),
        ({"capacity_pct": 0.0}, "capacity_pct must be above 0"),
        ({"max_weight": 0.5}, "max_weight must be at least 1, got 0.5"),
        ({"force": True, "promote": False}, "force and promote=False contradict each other"),
    ],
)  # fmt: skip
def test_retrain_refuses_bad_arguments_by_name(
    store: Store, tmp_path: Path, arguments: dict[str, Any], message: str
) -> None:
    given = {"capacity_pct": 3.0, "until": UNTIL - timedelta(days=1), "to": END, **arguments}
    if "now" in arguments:
        given.pop("to")
    with pytest.raises(InputError, match=message):
        learning.retrain(store, models=tmp_path / "models", actor="a", **given)
    assert not (tmp_path / "models").exists()


def test_drift_reports_and_records_an_alert(store: Store, drift_files: list[Path]) -> None:
    for path in drift_files:
        ingest_file(store, path)
    same = learning.drift(store, reference_from=at(1), reference_to=at(5), recent_from=at(1),
                          recent_to=at(5), models=Path("no-models"), actor="watch")  # fmt: skip
    assert same.report.level is Level.STABLE and not same.alert_recorded
    assert any("no current model" in note for note in same.report.notes)
    moved = learning.drift(store, reference_from=at(1), reference_to=at(2), recent_from=at(4),
                           recent_to=at(5), models=Path("no-models"), track_records=True,
                           actor="watch")  # fmt: skip
    assert moved.report.level is Level.ALERT and moved.alert_recorded
    assert "consignee_days_since_first" in {d.name for d in moved.report.alerts()}
    assert moved.to_dict()["level"] == "alert"
    assert audit_actions(store).count(("watch", "drift_alert")) == 1


@pytest.mark.parametrize(
    ("window", "message"),
    [
        ({"reference_to": at(1)}, "the reference window ends before it starts: reference_to"),
        ({"recent_from": at(6)}, "the recent window ends before it starts: recent_to"),
        ({"recent_to": datetime(2026, 10, 5)}, "recent_to must be a timezone-aware time"),
    ],
)  # fmt: skip
def test_drift_refuses_a_bad_window_by_name(
    store: Store, window: dict[str, datetime], message: str
) -> None:
    given = {"reference_from": at(1), "reference_to": at(2), "recent_from": at(4),
             "recent_to": at(5), **window}  # fmt: skip
    with pytest.raises(InputError, match=message):
        learning.drift(store, models=Path("no-models"), actor="watch", **given)


def test_drift_of_an_empty_window_is_an_input_error(store: Store) -> None:
    with pytest.raises(InputError, match="no consignment lodged"):
        learning.drift(store, reference_from=at(1), reference_to=at(2), recent_from=at(4),
                       recent_to=at(5), models=Path("no-models"), actor="watch")  # fmt: skip


def test_simulate_compares_strategies_and_reports_progress() -> None:
    lines: list[str] = []
    result = lab.simulate(weeks=1, warmup_weeks=3, per_day=200, seed=4, strategies=["rules"],
                          displacement=False, with_html=True, progress=lines.append)  # fmt: skip
    assert result.strategies == ["rules"] and set(result.seconds) == {"rules"}
    assert [row["strategy"] for row in result.summary] == ["rules"]
    assert [row["week"] for row in result.weekly] == [1]
    assert result.consignments > 0 and "200 consignments a day, seed 4" in result.title
    assert result.html is not None and result.html.startswith("<!doctype html>")
    assert lines[0].startswith("Generated ") and lines[1].strip().startswith("rules:")
    json.dumps({"weekly": result.weekly, "summary": result.summary}, default=str)


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ({"strategies": ["magic"]}, "unknown strategy 'magic'; the strategies are rules, model"),
        ({"strategies": []}, "strategies must name at least one set-up"),
        ({"weeks": 0}, "weeks must be at least 1, got 0"),
        ({"warmup_weeks": 1}, "warmup_weeks must be at least 2, got 1"),
        ({"per_day": 10}, "per_day must be at least 100, got 10"),
    ],
)  # fmt: skip
def test_simulate_refuses_bad_arguments_by_name(arguments: dict[str, Any], message: str) -> None:
    with pytest.raises(InputError, match=message):
        lab.simulate(**arguments)
