"""The rules of the HTTP transport that need no store: the retry schedule, which inbox URLs are
accepted, and how a posted body is split into transport records."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import pytest
from hypothesis import given, strategies as st

from quaywatch.errors import InputError
from quaywatch.exchange.push import Backoff, check_url
from quaywatch.services.exchange import MAX_POSTED_RECORDS, split_posted
from quaywatch.services.exchange_push import inbox_endpoint


@pytest.mark.parametrize(
    ("attempts", "seconds"),
    [(1, 30), (2, 60), (3, 120), (7, 1920), (8, 3600), (40, 3600), (0, 30)],
)
def test_the_wait_doubles_after_each_failed_attempt_up_to_an_hour(
    attempts: int, seconds: int
) -> None:
    assert Backoff().delay(attempts) == timedelta(seconds=seconds)


def test_a_claimed_message_is_leased_longer_than_any_push_may_take() -> None:
    assert Backoff.with_timeout(30, 3600, 10).lease_s == 120
    assert Backoff.with_timeout(30, 3600, 300).lease_s == 600


@pytest.mark.parametrize(
    "url",
    ["https://quaywatch.nlrtm.example", "https://10.1.2.3:8443/api/v1/exchange/inbox",
     "http://127.0.0.1:8000", "http://localhost:9000/"],
)  # fmt: skip
def test_https_urls_and_loopback_http_are_accepted(url: str) -> None:
    assert check_url(url) == url


@pytest.mark.parametrize(
    ("url", "says"),
    [("http://quaywatch.nlrtm.example", "plain http only on this machine"),
     ("ftp://nlrtm.example", r"not an http\(s\) URL"), ("https://", r"not an http\(s\) URL"),
     ("nlrtm.example", r"not an http\(s\) URL"), ("https://x.example/" + "a" * 2000, "not an")],
)  # fmt: skip
def test_other_urls_are_refused_with_the_reason(url: str, says: str) -> None:
    with pytest.raises(InputError, match=says):
        check_url(url)


def test_the_inbox_path_is_added_to_a_service_url_once() -> None:
    assert inbox_endpoint("https://n.example/") == "https://n.example/api/v1/exchange/inbox"
    assert inbox_endpoint("https://n.example/api/v1/exchange/inbox") == (
        "https://n.example/api/v1/exchange/inbox"
    )


_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner,
                                                                 max_size=3),
    max_leaves=10,
)  # fmt: skip
_records = st.lists(st.dictionaries(st.text(max_size=10), _values, max_size=4), min_size=1,
                    max_size=20)  # fmt: skip


@given(_records)
def test_an_array_and_json_lines_give_the_same_records_in_order(records: list[Any]) -> None:
    array = json.dumps(records).encode()
    lines = b"\r\n".join(json.dumps(r).encode() for r in records) + b"\n\n"
    as_array = split_posted(array, "http:x")
    as_lines = split_posted(lines, "http:x")
    assert [json.loads(r) for _, r in as_array] == records
    assert [json.loads(r) for _, r in as_lines] == records
    assert [s for s, _ in as_lines] == [f"http:x#{n}" for n in range(1, len(records) + 1)]


@given(st.dictionaries(st.text(max_size=10), _values, max_size=4))
def test_one_record_passes_exactly_as_received(record: dict[str, Any]) -> None:
    body = json.dumps(record, indent=2).encode()
    assert split_posted(body, "http:x") == [("http:x#1", body)]


@pytest.mark.parametrize(
    ("body", "says"),
    [(b"", "empty"), (b"  \n", "empty"), (b"[{}, ", "not a JSON array"),
     (json.dumps([{}] * (MAX_POSTED_RECORDS + 1)).encode(), "at most 1,000")],
)  # fmt: skip
def test_a_body_that_holds_no_records_is_refused(body: bytes, says: str) -> None:
    with pytest.raises(InputError, match=says):
        split_posted(body, "http:x")


@pytest.mark.parametrize("attempts", [1_025, 1_100, 10**6])
def test_the_wait_after_very_many_attempts_is_the_longest_wait(attempts: int) -> None:
    assert Backoff().delay(attempts) == timedelta(seconds=3600)
    assert Backoff(base_s=1, max_s=60).delay(attempts) == timedelta(seconds=60)
