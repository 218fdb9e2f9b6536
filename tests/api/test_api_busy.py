"""A busy store answers 503 with Retry-After (a problem of type store-busy), on both stores,
never a 500: the same request goes through once the store is free."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager
from pathlib import Path

from api_support import consignment, make_api

from quaywatch.domain.access import Role
from quaywatch.store.store import Store


def test_a_busy_store_answers_503_with_retry_after(
    store: Store,
    store_url: str,
    tmp_path: Path,
    hold_store: Callable[[str], AbstractContextManager[None]],
) -> None:
    impatient = Store.open(store_url, lock_timeout_s=0.2)
    try:
        for api in make_api(impatient, store_url, tmp_path / "no-models"):
            headers = api.as_roles(Role.FEED)
            with hold_store(store_url):
                answer = api.client.post("/api/v1/consignments", headers=headers,
                                         json=consignment(1))  # fmt: skip
            assert answer.status_code == 503, answer.text
            assert answer.headers["content-type"] == "application/problem+json"
            assert int(answer.headers["Retry-After"]) > 0
            problem = answer.json()
            assert problem["type"] == "urn:quaywatch:problem:store-busy"
            assert "try again" in problem["detail"]
            assert problem["retry_after_s"] == int(answer.headers["Retry-After"])
            again = api.client.post("/api/v1/consignments", headers=headers,
                                    json=consignment(1))  # fmt: skip
            assert again.status_code != 503, again.text
    finally:
        impatient.close()
