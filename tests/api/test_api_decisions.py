"""The decision panel over HTTP, on SQLite and PostgreSQL: an officer overrides a lane with a
reason code, instructs the examiners and works a referral; others read the panel; what the
rules refuse is a problem saying why."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from api_support import Api, consignment
from fastapi.testclient import TestClient

from quaywatch.api.app import create_app
from quaywatch.config import Settings
from quaywatch.domain.access import Role
from quaywatch.selection import capacity
from quaywatch.store.store import Store

OFFICER, ANALYST, INSPECTOR = Role.TARGETING_OFFICER, Role.ANALYST, Role.INSPECTOR
WINDOW = {"window_from": "2026-12-20T00:00:00Z", "window_to": "2026-12-21T00:00:00Z"}


@pytest.fixture
def api(store: Store, store_url: str, models: Path, tmp_path: Path) -> Iterator[Api]:
    """The API with a capacity file of one control of each type per terminal shift, so that
    a run leaves consignments unselected."""
    text = (Path(capacity.__file__).parent / "capacity.yaml").read_text(encoding="utf-8")
    text = re.sub(r"scanner_slots: \d+", "scanner_slots: 0.125", text)
    text = re.sub(r"officer_hours: \d+", "officer_hours: 3", text)
    text = re.sub(r"documentary_slots: \d+", "documentary_slots: 1", text)
    small = tmp_path / "capacity.yaml"
    small.write_text(text, encoding="utf-8")
    settings = Settings(database_url=store_url, model_dir=models, capacity_file=small)
    with TestClient(create_app(settings, store=store), base_url="https://testserver") as client:
        yield Api(client, store, settings)


def _run(api: Api) -> dict[str, Any]:
    ids = [consignment(n)["consignment_id"] for n in range(300, 330)]
    sent = api.post("/api/v1/consignments", Role.FEED,
                    json=[consignment(n) for n in range(300, 330)])  # fmt: skip
    assert sent.status_code == 201
    run = api.post("/api/v1/selection-runs", OFFICER, json={**WINDOW, "random_rate": 0.2})
    assert run.status_code == 201, run.text
    selected = {s["consignment_id"]: s for s in run.json()["selected"]}
    unselected = [c for c in ids if c not in selected]
    assert unselected and any(s["selected_by"] == "RANDOM" for s in selected.values())
    return {"run_id": run.json()["run_id"], "selected": selected, "unselected": unselected}


def test_an_officer_overrides_a_lane_and_the_orders_follow(api: Api) -> None:
    run = _run(api)
    run_id, green = run["run_id"], run["unselected"][0]
    path = f"/api/v1/selection-runs/{run_id}/consignments/{green}/lane"
    reasons = api.get("/api/v1/lane-override-reasons", ANALYST).json()
    assert {r["code"] for r in reasons} >= {"NEW_INTELLIGENCE", "OFFICER_JUDGEMENT"}
    assert all(r["description"] for r in reasons)

    missing = api.post(path, OFFICER, json={"lane": "red"})
    assert missing.status_code == 422 and missing.json()["errors"][0]["field"] == "reason_code"
    unknown = api.post(path, OFFICER, json={"lane": "red", "reason_code": "BORED"})
    assert unknown.status_code == 422 and "reason_code" in unknown.json()["detail"]
    no_note = api.post(path, OFFICER, json={"lane": "red", "reason_code": "OFFICER_JUDGEMENT"})
    assert no_note.status_code == 422 and no_note.json()["errors"][0]["field"] == "note"
    assert api.post(path, ANALYST, json={"lane": "red", "reason_code": "NEW_INTELLIGENCE"}
                    ).json()["detail"].count("selection:decide") == 1  # fmt: skip

    done = api.post(path, OFFICER, json={"lane": "red", "reason_code": "NEW_INTELLIGENCE",
                                         "note": "alert from the loading port"})  # fmt: skip
    assert done.status_code == 201, done.text
    assert done.json()["override"]["from_lane"] == "green"
    assert done.json()["override"]["control_type"] == "PHYSICAL"
    panel = api.get(f"/api/v1/consignments/{green}/decisions", ANALYST).json()
    [decision] = panel["decisions"]
    assert (decision["decided_lane"], decision["lane"]) == ("green", "red")
    assert decision["overrides"][0]["note"] == "alert from the loading port"

    drawn = next(c for c, s in run["selected"].items() if s["selected_by"] == "RANDOM")
    lowered = api.post(f"/api/v1/selection-runs/{run_id}/consignments/{drawn}/lane", OFFICER,
                       json={"lane": "green", "reason_code": "AEO_FACILITATION"})  # fmt: skip
    assert lowered.status_code == 409 and "random sample" in lowered.json()["detail"]

    made = api.post(f"/api/v1/selection-runs/{run_id}/orders", OFFICER).json()
    [officer] = [o for o in made["orders"] if o["consignment_id"] == green]
    assert (officer["selected_by"], officer["propensity"], officer["control_type"]) == (
        "OFFICER", 1.0, "PHYSICAL",
    )  # fmt: skip
    inspector = api.as_roles(INSPECTOR, terminals=(officer["terminal"],))
    started = api.client.post(f"/api/v1/orders/{officer['order_id']}/start", headers=inspector)
    assert started.status_code == 200
    busy = api.post(path, OFFICER, json={"lane": "orange", "reason_code": "OPERATIONAL"})
    assert busy.status_code == 409 and "the control has begun" in busy.json()["detail"]
    assert api.post(f"/api/v1/selection-runs/{run_id}/consignments/NOPE/lane", OFFICER,
                    json={"lane": "red", "reason_code": "NEW_INTELLIGENCE"}
                    ).status_code == 404  # fmt: skip


def test_instructions_reach_the_inspector_and_referrals_close_once(api: Api) -> None:
    run = _run(api)
    run_id = run["run_id"]
    target = next(c for c, s in run["selected"].items() if s["selected_by"] != "RANDOM")
    base = f"/api/v1/consignments/{target}"
    empty = api.post(f"{base}/instructions", OFFICER, json={"text": "   "})
    assert empty.status_code == 422 and empty.json()["errors"][0]["field"] == "text"
    said = api.post(f"{base}/instructions", OFFICER, json={"text": "Open the reefer unit."})
    assert said.status_code == 201 and said.json()["actor"]
    assert api.post(f"{base}/instructions", ANALYST, json={"text": "x"}).status_code == 403

    made = api.post(f"/api/v1/selection-runs/{run_id}/orders", OFFICER).json()
    [order] = [o for o in made["orders"] if o["consignment_id"] == target]
    inspector = api.as_roles(INSPECTOR, terminals=(order["terminal"],))
    seen = api.client.get(f"/api/v1/orders/{order['order_id']}", headers=inspector).json()
    assert [i["text"] for i in seen["instructions"]] == ["Open the reefer unit."]

    opened = api.post(f"{base}/referrals", OFFICER,
                      json={"kind": "RFS", "request": "Screen the container"})  # fmt: skip
    assert opened.status_code == 201 and opened.json()["state"] == "open"
    referral = opened.json()["referral_id"]
    assert api.post(f"{base}/referrals", OFFICER, json={"kind": "XYZ", "request": "?"}
                    ).status_code == 422  # fmt: skip
    closed = api.post(f"/api/v1/referrals/{referral}/close", OFFICER,
                      json={"result": "Screened: nothing found"})  # fmt: skip
    assert closed.status_code == 200 and closed.json()["state"] == "closed"
    again = api.post(f"/api/v1/referrals/{referral}/close", OFFICER, json={"result": "again"})
    assert again.status_code == 409 and "stays closed" in again.json()["detail"]
    assert api.post("/api/v1/referrals/nope/close", OFFICER,
                    json={"result": "x"}).status_code == 404  # fmt: skip
    panel = api.get(f"{base}/decisions", Role.PARTNER_LIAISON).json()
    assert [(r["kind"], r["state"]) for r in panel["referrals"]] == [("RFS", "closed")]
    assert [i["text"] for i in panel["instructions"]] == ["Open the reefer unit."]
    assert api.get("/api/v1/consignments/NOPE/decisions", ANALYST).status_code == 404
