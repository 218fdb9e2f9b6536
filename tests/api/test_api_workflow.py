"""The officer's and analyst's work over HTTP, on SQLite and PostgreSQL: select, make orders,
work them (an inspector only at their terminals), profiles, watchlists, KPIs and the audit."""

from __future__ import annotations

import json
from pathlib import Path

from api_support import Api, consignment, kept_state_is_rebuilt, make_api

from quaywatch.api.app import operations_markdown
from quaywatch.api.schemas import EXAMPLE_CONSIGNMENT
from quaywatch.domain.access import Role
from quaywatch.store.store import Store

OFFICER, INSPECTOR, ANALYST = Role.TARGETING_OFFICER, Role.INSPECTOR, Role.ANALYST
WINDOW = {"window_from": "2026-12-20T00:00:00Z", "window_to": "2026-12-21T00:00:00Z"}


def _selected(api: Api) -> str:
    sent = api.post("/api/v1/consignments", Role.FEED,
                    json=[consignment(n) for n in range(100, 140)])  # fmt: skip
    assert sent.status_code == 201 and len(sent.json()["assessments"]) == 40
    run = api.post("/api/v1/selection-runs", OFFICER, json={**WINDOW, "random_rate": 0.2})
    assert run.status_code == 201, run.text
    assert run.json()["counts"]["candidates"] == 40 and run.json()["selected"]
    return str(run.json()["run_id"])


def test_select_then_work_an_order_to_its_outcome(api: Api) -> None:
    run_id = _selected(api)
    assert [r["run_id"] for r in api.get("/api/v1/selection-runs", OFFICER).json()] == [run_id]
    worklist = api.get(f"/api/v1/selection-runs/{run_id}/worklist", OFFICER).json()
    assert worklist and all(e["lane"] and e["terminal"] for e in worklist)
    made = api.post(f"/api/v1/selection-runs/{run_id}/orders", OFFICER)
    assert made.status_code == 201 and made.json()["created"]
    order = made.json()["orders"][0]
    terminal, order_id = order["terminal"], order["order_id"]

    elsewhere = api.as_roles(INSPECTOR, terminals=("NOWHERE",))
    assert api.client.get("/api/v1/orders", headers=elsewhere).json() == []
    denied = api.client.post(f"/api/v1/orders/{order_id}/start", headers=elsewhere)
    assert denied.status_code == 403 and "NOWHERE" not in denied.json()["detail"]
    assert api.client.get(f"/api/v1/orders/{order_id}", headers=elsewhere).status_code == 403

    here = api.as_roles(INSPECTOR, terminals=(terminal,))
    mine = api.client.get("/api/v1/orders", headers=here).json()
    assert mine and {o["terminal"] for o in mine} == {terminal}
    started = api.client.post(f"/api/v1/orders/{order_id}/start", headers=here)
    assert started.status_code == 200 and started.json()["state"] == "in_progress"
    scanned = api.client.post(f"/api/v1/orders/{order_id}/scan", headers=here, json={
        "verdict": "suspicious", "image_ref": "scanner-3/img-1", "analyst": "ivo"})  # fmt: skip
    assert scanned.status_code == 201 and scanned.json()["created"] is True
    found = api.client.post(
        f"/api/v1/orders/{order_id}/findings",
        headers=here,
        json={"note": "bags behind the doors", "seals_intact": False},
    )
    # Findings are those of a physical examination; a scan order must be changed first.
    assert found.status_code == 409 and "override" in found.json()["detail"]
    done = api.client.post(f"/api/v1/orders/{order_id}/outcome", headers=here, json={
        "result": "SEIZURE", "irregularity": "DRUGS", "seizure_goods": "cocaine",
        "seizure_quantity": 41.8, "seizure_unit": "KGM", "seizure_hs6": "293972",
        "concealment": "RIP_ON_RIP_OFF"})  # fmt: skip
    assert done.status_code == 200, done.text
    again = api.client.post(f"/api/v1/orders/{order_id}/outcome", headers=here,
                            json={"result": "COMPLIANT"})  # fmt: skip
    assert again.status_code == 409
    dossier = api.client.get(f"/api/v1/orders/{order_id}", headers=here).json()
    assert dossier["outcome"]["result"] == "SEIZURE"
    # The seizure is in the track records at once, as a rebuild from the history has it.
    assert kept_state_is_rebuilt(api.store)
    assert [s["action"] for s in dossier["history"]][:2] == ["create", "start"]

    kpis = api.get(
        "/api/v1/kpis",
        Role.MANAGER,
        params={"from": "2026-12-01T00:00:00Z", "to": "2027-01-01T00:00:00Z"},
    )
    assert kpis.status_code == 200, kpis.text
    verified = api.get("/api/v1/audit/verify", Role.MANAGER)
    assert verified.status_code == 200 and verified.json()["events"] > 10
    actors = {e["actor"] for e in api.get("/api/v1/audit/events", Role.ADMIN,
                                             params={"limit": 1000}).json()}  # fmt: skip
    assert len(actors) >= 4  # feed, officer, inspector, ... each write is theirs


def test_an_override_needs_a_reason_and_an_officer(api: Api) -> None:
    run_id = _selected(api)
    order_id = api.post(f"/api/v1/selection-runs/{run_id}/orders", OFFICER).json()["created"][0]
    missing = api.post(f"/api/v1/orders/{order_id}/override", OFFICER, json={"cancel": True})
    assert missing.status_code == 422 and "reason" in missing.text
    cancelled = api.post(f"/api/v1/orders/{order_id}/override", OFFICER,
                         json={"cancel": True, "reason": "vessel diverted"})  # fmt: skip
    assert cancelled.status_code == 200 and cancelled.json()["state"] == "cancelled"
    unknown = api.post("/api/v1/orders/NO-SUCH-ORDER/start", Role.INSPECTOR)
    assert unknown.status_code == 404


PROFILE = """\
id: API-TEST-001
version: 1
description: Mangoes from Mexico
owner: analysts
valid_from: 2026-01-01
reason: "mangoes {main_hs6} loaded at {port_of_loading}"
condition: |
  hs6_codes contains "080450" and port_of_loading == "MXVER"
action:
  weight: 1.0
"""


def test_profiles_from_draft_to_retired(api: Api) -> None:
    api.post("/api/v1/consignments", Role.FEED, json=[consignment(n) for n in range(200, 205)])
    texts = {"profiles": [{"name": "api-test.yaml", "text": PROFILE}]}
    broken = {"profiles": [{"name": "bad.yaml", "text": PROFILE.replace('== "MXVER"', "== ")}]}
    checked = api.post("/api/v1/profiles/validate", ANALYST, json=broken).json()
    assert checked["failed"] == 1 and checked["files"][0]["error"]
    assert api.post("/api/v1/profiles/validate", ANALYST, json=texts).json()["failed"] == 0
    trial = api.post("/api/v1/profiles/trial", ANALYST,
                     json={**texts, "since": "2026-12-01T00:00:00Z"})  # fmt: skip
    assert trial.status_code == 200, trial.text
    assert trial.json()["profiles"][0]["hits"] == 5
    stored = api.post("/api/v1/profiles", ANALYST, json=texts)
    assert stored.status_code == 201 and stored.json()[0]["status"] == "draft"
    active = api.post("/api/v1/profiles/API-TEST-001/activate", ANALYST, json={})
    assert active.status_code == 200 and active.json()["status"] == "active"
    listed = api.get("/api/v1/profiles", OFFICER).json()
    assert [(p["profile_id"], p["status"]) for p in listed] == [("API-TEST-001", "active")]
    retired = api.post("/api/v1/profiles/API-TEST-001/retire", ANALYST)
    assert retired.status_code == 200 and retired.json()["status"] == "retired"
    assert api.post("/api/v1/profiles/NOPE/retire", ANALYST).status_code == 404


WATCHLIST = """\
entry_id,name,country,category,eori,phone,email,address
W1,Royal Textiles SRL,MX,counterfeit,,,,
"""


def test_watchlists_and_matching(api: Api) -> None:
    loaded = api.client.put("/api/v1/watchlists/ipr", headers=api.as_roles(ANALYST), json={
        "source": "national IPR desk", "list_date": "2026-12-01", "csv": WATCHLIST})  # fmt: skip
    assert loaded.status_code == 200, loaded.text
    assert loaded.json()["entries"] == 1
    listed = api.get("/api/v1/watchlists", OFFICER).json()
    assert [w["watchlist_id"] for w in listed] == ["ipr"]
    matched = api.post("/api/v1/match", Role.PARTNER_LIAISON, json={"queries": {
        "a": {"name": "Royal Textiles S.R.L.", "country": "MX"},
        "b": {"name": "Nobody Known Ltd"}}})  # fmt: skip
    assert matched.status_code == 200
    found = matched.json()["responses"]
    assert found["a"]["matches"][0]["entry_id"] == "W1" and found["b"]["matches"] == []
    bad = api.client.put("/api/v1/watchlists/ipr", headers=api.as_roles(ANALYST), json={
        "source": "x", "list_date": "2026-12-01", "csv": "nonsense\n1"})  # fmt: skip
    assert bad.status_code == 422


def test_probes_and_metrics(api: Api, api_without_model: Api) -> None:
    assert api.client.get("/health").json() == {"status": "ok"}
    ready = api.client.get("/ready")
    assert ready.status_code == 200 and ready.json()["ready"] is True
    not_ready = api_without_model.client.get("/ready")
    assert not_ready.status_code == 503
    assert [c["name"] for c in not_ready.json()["checks"] if not c["ok"]] == ["model"]
    api.get("/api/v1/orders", OFFICER)
    text = api.client.get("/metrics").text
    assert 'route="/api/v1/orders",status="200"' in text and "quaywatch_model_loaded 1.0" in text
    spec = api.client.get("/openapi.json").json()
    operation = spec["paths"]["/api/v1/consignments"]["post"]
    assert operation["x-permission"] == "data:submit"
    assert "examples" in operation["requestBody"]["content"]["application/json"]
    assert "Consignment" in spec["components"]["schemas"]


def test_docs_list_every_operation_with_its_permission() -> None:
    text = (Path(__file__).parents[2] / "docs" / "api.md").read_text(encoding="utf-8")
    assert operations_markdown() in text


def test_a_broken_model_folder_is_not_ready_and_says_why(
    store: Store, store_url: str, tmp_path: Path
) -> None:
    models = tmp_path / "models"
    models.mkdir()
    (models / "CURRENT").write_text("fraud-missing\n")
    for api in make_api(store, store_url, models):
        ready = api.client.get("/ready")
        assert ready.status_code == 503
        [model] = [c for c in ready.json()["checks"] if c["name"] == "model"]
        assert model["ok"] is False and "fraud-missing" in model["detail"]
        assert "quaywatch_model_loaded 0.0" in api.client.get("/metrics").text
        answer = api.post("/api/v1/assessments", ANALYST,
                          json={"consignment_ids": ["261206-BEANR-0000001"]})  # fmt: skip
        assert answer.status_code == 422 and answer.json()["type"].endswith(":model")


def test_the_shipped_example_is_the_documented_example() -> None:
    shipped = Path(__file__).parents[2] / "examples" / "consignment.json"
    assert json.loads(shipped.read_text(encoding="utf-8")) == EXAMPLE_CONSIGNMENT
