"""Intake over HTTP on SQLite and PostgreSQL: a consignment in, its assessment out."""

from __future__ import annotations

from api_support import Api, consignment

from quaywatch.domain.access import Role

FEED, ADMIN, ANALYST = Role.FEED, Role.ADMIN, Role.ANALYST


def test_a_new_consignment_is_stored_and_assessed_with_reasons(api: Api) -> None:
    answer = api.post("/api/v1/consignments", FEED, json=consignment(1))
    assert answer.status_code == 201, answer.text
    body = answer.json()
    assert body["consignment_id"] == "261206-BEANR-0000001" and body["status"] == "new"
    assessment = body["assessment"]
    assert 0 <= assessment["probability"] <= 1 and 0 <= assessment["score"] <= 100
    assert assessment["version"] == 1 and assessment["explained"] is True
    assert assessment["reasons"] and all(r["text"] for r in assessment["reasons"])
    assert assessment["model_version"].startswith("fraud-")

    again = api.post("/api/v1/consignments", FEED, json=consignment(1))
    assert again.status_code == 200
    assert again.json()["status"] == "unchanged"
    assert again.json()["assessment"] == assessment  # the stored one, not a second


def test_an_amendment_is_a_new_version_assessed_again(api: Api) -> None:
    api.post("/api/v1/consignments", FEED, json=consignment(2))
    answer = api.post("/api/v1/consignments", FEED, json=consignment(2, version=2))
    assert answer.status_code == 201 and answer.json()["assessment"]["version"] == 2
    history = api.get("/api/v1/consignments/261206-BEANR-0000002/assessments", ANALYST)
    assert [a["version"] for a in history.json()] == [1, 2]


def test_an_invalid_consignment_is_quarantined_and_named(api: Api) -> None:
    bad = consignment(3)
    bad["goods_items"][0]["hs6"] = "99"
    answer = api.post("/api/v1/consignments", FEED, json=bad)
    assert answer.status_code == 422
    assert answer.headers["content-type"] == "application/problem+json"
    problem = answer.json()
    assert problem["type"] == "urn:quaywatch:problem:invalid-record"
    [error] = [e for e in problem["errors"] if e["field"] == "hs6"]
    assert error["index"] == 0 and error["record_id"] == "261206-BEANR-0000003 v1"
    entry = api.get(f"/api/v1/quarantine/{error['quarantine_id']}", ADMIN)
    assert entry.status_code == 200 and entry.json()["record_id"] == "261206-BEANR-0000003 v1"
    # The same bad record again: the same quarantine entry, not a second one.
    again = api.post("/api/v1/consignments", FEED, json=bad).json()
    assert [e["quarantine_id"] for e in again["errors"] if e["field"] == "hs6"] == [
        error["quarantine_id"]
    ]
    fixed = consignment(3)
    retried = api.post(f"/api/v1/quarantine/{error['quarantine_id']}/retry", ADMIN,
                       json={"record": fixed})  # fmt: skip
    assert retried.status_code == 200 and retried.json()["stored"] is True


def test_an_array_stores_the_good_and_quarantines_the_bad(api: Api) -> None:
    bad = consignment(12)
    del bad["eta"]
    answer = api.post("/api/v1/consignments", FEED, json=[consignment(10), bad, consignment(11)])
    assert answer.status_code == 201
    body = answer.json()
    assert (body["read"], body["new"], body["quarantined"]) == (3, 2, 1)
    assert {a["consignment_id"] for a in body["assessments"]} == {
        "261206-BEANR-0000010", "261206-BEANR-0000011",
    }  # fmt: skip
    assert [(e["index"], e["field"]) for e in body["rejected"]] == [(1, "eta")]
    assert body["rejected"][0]["quarantine_id"] is not None


def test_without_a_model_consignments_are_stored_not_assessed(api_without_model: Api) -> None:
    answer = api_without_model.post("/api/v1/consignments", FEED, json=consignment(4))
    assert answer.status_code == 201
    assert answer.json()["assessment"] is None and "no model" in answer.json()["note"]
    asked = api_without_model.post("/api/v1/assessments", ANALYST,
                                   json={"consignment_ids": ["261206-BEANR-0000004"]})  # fmt: skip
    assert asked.status_code == 422 and "train" in asked.json()["detail"]


def test_a_body_that_is_no_record_is_refused_whole(api: Api) -> None:
    for body, found in (("text", "a string"), (3, "a number"), ([1, 2], "record 0")):
        answer = api.post("/api/v1/consignments", FEED, json=body)
        assert answer.status_code == 422 and found in answer.json()["detail"], answer.text
    broken = api.client.post(
        "/api/v1/consignments", content=b"{not json", headers={
            **api.as_roles(FEED), "Content-Type": "application/json"},
    )  # fmt: skip
    assert broken.status_code == 422
    assert broken.json()["type"] == "urn:quaywatch:problem:invalid-request"
    many = api.post("/api/v1/consignments", FEED, json=[consignment(1)] * 1001)
    assert many.status_code == 422 and "at most 1000" in many.json()["detail"]


def test_events_and_outcomes_arrive_through_their_endpoints(api: Api) -> None:
    api.post("/api/v1/consignments", FEED, json=consignment(5))
    event = {
        "eventID": "E-5-DISC", "eventType": "EQUIPMENT", "eventClassifierCode": "ACT",
        "eventDateTime": "2026-12-20T15:00:00+01:00",
        "eventCreatedDateTime": "2026-12-20T15:01:00+01:00",
        "equipmentEventTypeCode": "DISC", "equipmentReference": "MSCU0000050",
        "emptyIndicatorCode": "LADEN", "eventLocation": {"UNLocationCode": "BEANR"},
        "transportCall": {"UNLocationCode": "BEANR", "facilityTypeCode": "POTE",
                          "vessel": {"vesselIMONumber": "9628946"}},
    }  # fmt: skip
    event["equipmentReference"] = consignment(5)["containers"][0]["number"]
    sent = api.post("/api/v1/events", FEED, json={"events": [event]})
    assert sent.status_code == 201, sent.text
    assert sent.json()["new"] == 1
    assert api.post("/api/v1/events", FEED, json=event).json()["unchanged"] == 1
    outcome = {
        "control_id": "ANR-5", "consignment_id": "261206-BEANR-0000005", "version": 1,
        "control_type": "SCAN", "selected_by": "RULE", "propensity": 0.2,
        "controlled_at": "2026-12-21T09:30:00+01:00", "known_at": "2026-12-21T16:00:00+01:00",
        "result": "COMPLIANT",
    }  # fmt: skip
    assert api.post("/api/v1/outcomes", FEED, json=outcome).status_code == 201
    unknown = api.post("/api/v1/outcomes", FEED, json={**outcome, "control_id": "ANR-6",
                                                         "consignment_id": "NOPE"})  # fmt: skip
    assert unknown.status_code == 422
    assert api.client.head("/api/v1/events", headers=api.as_roles(FEED)).status_code == 204


def test_the_quarantine_by_cause_and_a_retry_of_one_cause(api_without_model: Api) -> None:
    api = api_without_model
    for number in (20, 21):
        bad = consignment(number)
        bad["goods_items"][0]["hs6"] = "99"
        assert api.post("/api/v1/consignments", FEED, json=bad).status_code == 422
    causes = api.get("/api/v1/quarantine/reasons", ADMIN)
    assert causes.status_code == 200, causes.text
    [cause] = [c for c in causes.json() if c["field"] == "hs6"]
    assert cause["count"] == 2 and cause["kind"] == "consignments"
    listed = api.get("/api/v1/quarantine", ADMIN, params={"reason": cause["reason"][:12]})
    assert {e["record_id"] for e in listed.json()} >= {
        "261206-BEANR-0000020 v1", "261206-BEANR-0000021 v1",
    }  # fmt: skip
    body = {"reason": cause["reason"][:12], "kind": "consignments"}
    assert api.post("/api/v1/quarantine/retry", ANALYST, json=body).status_code == 403
    retried = api.post("/api/v1/quarantine/retry", ADMIN, json=body)
    assert retried.status_code == 200, retried.text
    outcomes = retried.json()["outcomes"]
    assert len(outcomes) == 2 and not any(o["stored"] for o in outcomes)  # nothing was fixed
    assert api.post("/api/v1/quarantine/retry", ADMIN, json={"reason": ""}).status_code == 422
