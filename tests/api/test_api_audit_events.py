"""GET /api/v1/audit/events with its filters (actor, action, object, period) and its cursor,
on SQLite and PostgreSQL."""

from __future__ import annotations

from api_support import Api, consignment
from sqlalchemy import text

from quaywatch.domain.access import Role


def test_audit_events_are_filtered_and_paged_by_cursor(api_without_model: Api) -> None:
    api = api_without_model
    for n in (1, 2):
        assert api.post("/api/v1/consignments", Role.FEED, json=consignment(n)).status_code == 201
    everything = api.get("/api/v1/audit/events", Role.ADMIN, params={"limit": 1000}).json()
    imports = [e["seq"] for e in everything if e["action"] == "import"]
    assert len(imports) == 2
    found = api.get("/api/v1/audit/events", Role.MANAGER, params={"action": "import"}).json()
    assert [e["seq"] for e in found] == imports
    page = api.get("/api/v1/audit/events", Role.MANAGER,
                   params={"action": "import", "limit": 1}).json()  # fmt: skip
    older = api.get("/api/v1/audit/events", Role.MANAGER,
                    params={"action": "import", "before": page[-1]["seq"]}).json()  # fmt: skip
    assert [e["seq"] for e in page + older] == imports
    users = api.get("/api/v1/audit/events", Role.ADMIN,
                    params={"object_type": "user", "actor": "admin"}).json()  # fmt: skip
    assert users and all(e["object_type"] == "user" and e["actor"] == "admin" for e in users)
    newest = everything[0]["at"]
    since = api.get("/api/v1/audit/events", Role.ADMIN, params={"from": newest}).json()
    # From the newest event then on: it, and what the calls since added (their users' tokens).
    assert [e["seq"] for e in since] == list(range(since[0]["seq"], everything[0]["seq"] - 1, -1))
    until = api.get("/api/v1/audit/events", Role.ADMIN, params={"to": newest}).json()
    assert [e["seq"] for e in until] == [e["seq"] for e in everything[1:21]]
    naive = api.get("/api/v1/audit/events", Role.ADMIN, params={"from": "2026-01-01T00:00:00"})
    assert naive.status_code == 422 and "since must be a timezone-aware time" in naive.text
    assert api.get("/api/v1/audit/events", Role.ADMIN, params={"before": 0}).status_code == 422
    assert api.get("/api/v1/audit/events", Role.TARGETING_OFFICER).status_code == 403


def test_audit_verify_full_names_a_changed_row(api_without_model: Api) -> None:
    api = api_without_model
    assert api.post("/api/v1/consignments", Role.FEED, json=consignment(1)).status_code == 201
    checked = api.get("/api/v1/audit/verify", Role.ADMIN, params={"full": "true"})
    assert checked.status_code == 200, checked.text
    assert checked.json()["rows"]["rows"] > 0 and checked.json()["rows"]["legacy_rows"] == 0
    assert api.get("/api/v1/audit/verify", Role.ADMIN).json()["rows"] is None
    with api.store.engine.begin() as conn:
        conn.execute(text("UPDATE goods_items SET value = value + 1"))
    tampered = api.get("/api/v1/audit/verify", Role.ADMIN, params={"full": "true"})
    assert tampered.status_code == 500 and "goods_items" in tampered.text
    assert "changed since it was stored" in tampered.text
