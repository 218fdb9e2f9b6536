"""The hit weights over HTTP: ``GET /api/v1/hit-weights`` and the saturation setting that
assessments made through the API apply (``QUAYWATCH_HIT_SATURATION_PCT``), on SQLite and
PostgreSQL.

The module's traffic (the same four days the ``models`` fixture trained on) is imported into
each test's store with one profile that fires on every consignment (``ALL-BOXES``); a weight
set is fitted on it with a prior so strong that every fitted weight is its shipped one, so the
profile's 2.0 either applies (saturation threshold 100 %) or is damped to 0 (20 %).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from api_support import Api
from fastapi.testclient import TestClient
from sqlalchemy import select

from quaywatch.api.app import create_app
from quaywatch.config import Settings
from quaywatch.domain.access import Role
from quaywatch.intake.pipeline import ingest_file
from quaywatch.services import hit_weights, profiles
from quaywatch.services.profiles import ProfileText
from quaywatch.store import tables
from quaywatch.store.store import Store
from quaywatch.synth import traffic
from quaywatch.synth.controls import ControlRates
from quaywatch.synth.patterns import PatternRates

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
def files(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    rates = PatternRates(undervaluation=0.05, misdeclaration=0.03, counterfeit=0.03,
                         cocaine=0.02, displacement_week=None)  # fmt: skip
    made = traffic.generate(
        tmp_path_factory.mktemp("api-hit-weights") / "traffic", days=4, per_day=300, seed=21,
        start=date(2026, 10, 1), with_events=False, rates=rates,
        control_rates=ControlRates(random_share=0.2, rule_share=0.25),
    )  # fmt: skip
    return [*made.consignment_files, *sorted((made.out / "outcomes").glob("*.csv"))]


@contextmanager
def _api(store: Store, store_url: str, models: Path, saturation_pct: float) -> Iterator[Api]:
    settings = Settings(database_url=store_url, model_dir=models,
                        hit_saturation_pct=saturation_pct)  # fmt: skip
    with TestClient(create_app(settings, store=store), base_url="https://testserver") as client:
        yield Api(client, store, settings)


def _with_traffic(store: Store, files: list[Path]) -> str:
    """The traffic and the profile in force; the id of one stored consignment."""
    for path in files:
        ingest_file(store, path)
    for loaded in profiles.load_profiles(store, [ProfileText("all.yaml", EVERYWHERE)], actor="a"):
        profiles.activate_profile(store, loaded.profile_id, actor="a")
    with store.reading() as conn:
        c = tables.consignments.c
        return str(conn.execute(select(c.consignment_id).order_by(c.consignment_id)).scalar())


def _fit(store: Store, models: Path) -> hit_weights.WeightSet:
    return hit_weights.fit_weights(
        store, models=models, actor="analyst", since=datetime(2026, 10, 1, tzinfo=UTC),
        until=datetime(2026, 12, 1, tzinfo=UTC), prior_strength=1e9,
    )  # fmt: skip


@pytest.mark.slow  # imports four days of traffic and fits a weight set, on each backend
def test_the_active_set_as_the_command_line_prints_it(
    store: Store, store_url: str, models: Path, files: list[Path]
) -> None:
    with _api(store, store_url, models, 20.0) as api:
        _check_route(api, store, models, files)


def _check_route(api: Api, store: Store, models: Path, files: list[Path]) -> None:
    missing = api.get("/api/v1/hit-weights", Role.ANALYST)
    assert missing.status_code == 404 and "quaywatch weights fit" in missing.text
    _with_traffic(store, files)
    fitted = _fit(store, models)
    answer = api.get("/api/v1/hit-weights", Role.TARGETING_OFFICER)
    assert answer.status_code == 200, answer.text
    body = answer.json()
    # The JSON of ``quaywatch weights show --json``: one shape for both.
    assert body == json.loads(json.dumps(hit_weights.show_weights(store).to_dict()))
    assert body["version"] == fitted.version and body["active"] is True
    codes = {c["code"]: c for c in body["codes"]}
    assert codes["profile:ALL-BOXES"]["share"] == 1.0 and codes["profile:ALL-BOXES"]["saturated"]
    assert api.client.get("/api/v1/hit-weights").status_code == 401
    assert api.get("/api/v1/hit-weights", Role.INSPECTOR).status_code == 403


@pytest.mark.slow
@pytest.mark.parametrize(("saturation_pct", "applied"), [(20.0, 0.0), (100.0, 2.0)])
def test_assessments_through_the_api_apply_the_saturation_setting(
    store: Store, store_url: str, models: Path, files: list[Path], saturation_pct: float,
    applied: float,
) -> None:  # fmt: skip
    consignment_id = _with_traffic(store, files)
    _fit(store, models)  # ALL-BOXES fired on 100 % of its window
    with _api(store, store_url, models, saturation_pct) as api:
        answer = api.post("/api/v1/assessments", Role.ANALYST,
                          json={"consignment_ids": [consignment_id]})  # fmt: skip
        assert answer.status_code == 200, answer.text
        (found,) = answer.json()
        weights = {r["code"]: r["weight"] for r in found["reasons"]}
        assert weights.get("profile:ALL-BOXES", 0.0) == pytest.approx(applied, abs=1e-4)
