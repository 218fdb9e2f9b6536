"""The policy lab over HTTP: a run is accepted at once (202) and read back until it is done."""

from __future__ import annotations

import time
from typing import Any

import pytest
from api_support import Api

from quaywatch.domain.access import Role
from quaywatch.services import lab

SMALL = {"weeks": 1, "warmup_weeks": 2, "per_day": 100, "strategies": ["rules", "hybrid"]}


def _until_finished(api: Api, url: str) -> dict[str, Any]:
    deadline = time.monotonic() + 120
    while True:
        found = api.get(url, Role.MANAGER)
        assert found.status_code == 200
        body: dict[str, Any] = found.json()
        if body["run"]["state"] in ("done", "failed"):
            return body
        assert time.monotonic() < deadline, body["run"]
        time.sleep(0.2)


def test_a_manager_starts_a_run_and_reads_its_figures_once_done(api_without_model: Api) -> None:
    api = api_without_model
    started = api.post("/api/v1/lab/runs", Role.MANAGER, json={**SMALL, "title": "Rules or both?"})
    assert started.status_code == 202
    accepted = started.json()
    run = accepted["run"]
    assert run["state"] == "queued" and run["title"] == "Rules or both?"
    assert run["parameters"] == {**SMALL, "seed": 7, "displacement": True}
    assert accepted["url"] == f"/api/v1/lab/runs/{run['run_id']}"
    assert started.headers["Location"] == accepted["url"]

    done = _until_finished(api, accepted["url"])
    assert done["run"]["state"] == "done", done["run"]["error"]
    assert done["run"]["consignments"] > 0 and done["run"]["strategies_done"] == 2
    assert [row["strategy"] for row in done["summary"]] == ["rules", "hybrid"]
    assert {"detected_share", "precision", "revenue_share", "aeo_burden"} <= set(done["summary"][0])
    assert len(done["weekly"]) == 2  # one week for each set-up
    assert set(done["seconds"]) == {"rules", "hybrid"}

    listed = api.get("/api/v1/lab/runs", Role.MANAGER).json()
    assert [r["run_id"] for r in listed] == [run["run_id"]]
    assert "summary" not in listed[0]


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"weeks": 27}, "weeks"),
        ({"warmup_weeks": 1}, "warmup_weeks"),
        ({"per_day": 5_001}, "per_day"),
        ({"strategies": ["rules", "bogus"]}, "strategies"),
        ({"strategies": []}, "strategies"),
    ],
)
def test_parameters_out_of_bounds_are_refused_naming_the_field(
    api_without_model: Api, change: dict[str, Any], field: str
) -> None:
    api = api_without_model
    refused = api.post("/api/v1/lab/runs", Role.ANALYST, json={**SMALL, **change})
    assert refused.status_code == 422
    assert refused.headers["content-type"] == "application/problem+json"
    assert [e["field"] for e in refused.json()["errors"]] == [field]
    assert api.get("/api/v1/lab/runs", Role.ANALYST).json() == []


def test_the_lab_needs_lab_run(api_without_model: Api) -> None:
    api = api_without_model
    for call in (
        lambda *roles: api.post("/api/v1/lab/runs", *roles, json=SMALL),
        lambda *roles: api.get("/api/v1/lab/runs", *roles),
        lambda *roles: api.get("/api/v1/lab/options", *roles),
    ):
        refused = call(Role.TARGETING_OFFICER)
        assert refused.status_code == 403
        assert refused.json()["detail"].endswith("may not lab:run")
    assert api.client.get("/api/v1/lab/runs").status_code == 401
    assert api.get("/api/v1/lab/runs", Role.ANALYST).json() == []  # nothing was started


def test_an_unknown_run_is_not_found_and_the_options_describe_every_set_up(
    api_without_model: Api,
) -> None:
    api = api_without_model
    missing = api.get("/api/v1/lab/runs/no-such-run", Role.ANALYST)
    assert missing.status_code == 404
    assert "no-such-run" in missing.json()["detail"]
    options = api.get("/api/v1/lab/options", Role.ANALYST).json()
    assert [s["name"] for s in options["strategies"]] == list(lab.STRATEGIES)
    assert all(s["description"] != s["name"] for s in options["strategies"])
    assert options["weeks"] == {"least": 1, "most": 26, "default": 12}
