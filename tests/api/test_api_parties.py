"""GET /api/v1/parties/{party_key}: the entity review's result over HTTP, on SQLite and
PostgreSQL; who may read it; unknown keys and bad reaches refused."""

from __future__ import annotations

import copy
from datetime import datetime

from api_support import Api, consignment

from quaywatch.domain.access import Role
from quaywatch.services.entities import party_review
from quaywatch.store import reads

ORCHID = {"name": "Orchid Lane BV", "address": "Kaai 5, 9000 Gent", "country": "BE",
          "aeo": "NONE", "phone": "+32 9 555 12 34"}  # fmt: skip
# The same phone, written another way.
PEONY = {"name": "Peony Wharf NV", "address": "Dok 8, 2030 Antwerpen", "country": "BE",
         "aeo": "NONE", "phone": "0032 9 5551234"}  # fmt: skip


def _keys(api: Api) -> dict[str, str]:
    for n, party in ((1, ORCHID), (2, PEONY)):
        record = consignment(n, consignee=copy.deepcopy(party))
        assert api.post("/api/v1/consignments", Role.FEED, json=record).status_code == 201
    return dict(reads.parties(api.store).select("name", "party_key").iter_rows())


def test_a_party_review_over_http(api_without_model: Api) -> None:
    api = api_without_model
    keys = _keys(api)
    answer = api.get(f"/api/v1/parties/{keys['Orchid Lane BV']}", Role.TARGETING_OFFICER)
    assert answer.status_code == 200, answer.text
    body = answer.json()
    review = party_review(api.store, keys["Orchid Lane BV"])
    assert (body["party_key"], body["name"], body["phone"]) == (
        review.party_key, "Orchid Lane BV", "+32 9 555 12 34"
    )  # fmt: skip
    assert datetime.fromisoformat(body["first_seen_at"]) == review.first_seen_at
    assert body["hits"] == {"controls": 0, "hits": 0, "seizures": 0, "irregular": 0,
                            "matches": [], "level": "none"}  # fmt: skip
    assert [n["name"] for n in body["neighbours"]] == ["Peony Wharf NV"]
    (link,) = body["links"]
    assert (link["kind"], link["value"]) == ("phone", "+32 9 555 12 34")
    assert body["track"]["by_role"]["consignee"] == 1 and body["left_out"] == 0

    one = api.get(f"/api/v1/parties/{keys['Orchid Lane BV']}", Role.ANALYST,
                  params={"hops": 1, "limit": 1})  # fmt: skip
    assert one.status_code == 200 and one.json()["hops"] == 1
    assert api.get(f"/api/v1/parties/{'0' * 32}", Role.ANALYST).status_code == 404
    assert api.get(f"/api/v1/parties/{'0' * 33}", Role.ANALYST).status_code == 422
    too_far = api.get(f"/api/v1/parties/{keys['Orchid Lane BV']}", Role.ANALYST,
                      params={"hops": 3})  # fmt: skip
    assert too_far.status_code == 422
    refused = api.get(f"/api/v1/parties/{keys['Orchid Lane BV']}", Role.INSPECTOR)
    assert refused.status_code == 403
    assert api.client.get(f"/api/v1/parties/{keys['Orchid Lane BV']}").status_code == 401
