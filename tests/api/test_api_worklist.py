"""A run's worklist over HTTP, on SQLite and PostgreSQL: filters, sorts, pages and the capacity
meter answer what the services do; bad values are problems naming them."""

from __future__ import annotations

from api_support import Api, consignment

from quaywatch.domain.access import Role

OFFICER = Role.TARGETING_OFFICER
WINDOW = {"window_from": "2026-12-20T00:00:00Z", "window_to": "2026-12-21T00:00:00Z"}


def test_the_worklist_filters_sorts_pages_and_meters(api: Api) -> None:
    sent = api.post("/api/v1/consignments", Role.FEED,
                    json=[consignment(n) for n in range(200, 230)])  # fmt: skip
    assert sent.status_code == 201
    run = api.post("/api/v1/selection-runs", OFFICER, json={**WINDOW, "random_rate": 0.3})
    run_id = run.json()["run_id"]
    path = f"/api/v1/selection-runs/{run_id}"
    every = api.get(f"{path}/worklist?sort=score", OFFICER).json()
    assert len(every) == len(run.json()["selected"]) > 2
    scores = [e["score"] for e in every]
    assert scores == sorted(scores, reverse=True)
    assert all(e["eta"] and e["vessel_imo"] and isinstance(e["hits"], dict) for e in every)
    paged = [api.get(f"{path}/worklist?sort=score&offset={k}&limit=2", OFFICER).json()
             for k in range(0, len(every), 2)]  # fmt: skip
    assert [e for page in paged for e in page] == every
    first = every[0]
    shift = api.get(f"{path}/worklist", OFFICER,
                    params={"shift_start": first["shift_start"], "terminal": first["terminal"]})  # fmt: skip
    assert shift.status_code == 200 and shift.json()
    assert {(e["shift_start"], e["terminal"]) for e in shift.json()} == {
        (first["shift_start"], first["terminal"])
    }
    meter = api.get(f"{path}/capacity", OFFICER, params={"shift_start": first["shift_start"],
                                                          "terminal": first["terminal"]})  # fmt: skip
    assert meter.status_code == 200, meter.text
    body = meter.json()
    assert body["shifts"] == 1 and body["selected"] == len(shift.json())
    assert body["resources"] and all(r["capacity"] >= 0 for r in body["resources"])
    whole = api.get(f"{path}/capacity", OFFICER).json()
    assert whole["selected"] == len(every) and whole["random_rate"] == 0.3
    bad = api.get(f"{path}/worklist?sort=name", OFFICER)
    assert bad.status_code == 422 and "sort must be one of" in bad.json()["detail"]
    naive = api.get(f"{path}/worklist", OFFICER, params={"shift_start": "2026-12-20T06:00:00"})
    assert naive.status_code == 422 and "shift_start" in naive.json()["detail"]
    assert api.get(f"{path}/capacity", Role.INSPECTOR).status_code == 403


def test_select_again_makes_a_new_run_over_the_same_window(api: Api) -> None:
    sent = api.post("/api/v1/consignments", Role.FEED,
                    json=[consignment(n) for n in range(300, 320)])  # fmt: skip
    assert sent.status_code == 201
    first = api.post("/api/v1/selection-runs", OFFICER, json={**WINDOW, "random_rate": 0.3,
                                                             "seed": 9}).json()  # fmt: skip
    again = api.post(f"/api/v1/selection-runs/{first['run_id']}/again", OFFICER)
    assert again.status_code == 201, again.text
    made = again.json()
    assert made["run_id"] != first["run_id"]
    assert (made["window_from"], made["window_to"], made["random_rate"], made["seed"]) == (
        first["window_from"], first["window_to"], 0.3, 9)  # fmt: skip
    assert made["counts"] == first["counts"]  # nothing was assessed again: the same choice
    assert api.post("/api/v1/selection-runs/nope/again", OFFICER).status_code == 404
    assert api.post(f"/api/v1/selection-runs/{first['run_id']}/again",
                    Role.ANALYST).status_code == 403  # fmt: skip
