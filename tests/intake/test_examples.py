"""The example files in examples/, imported as docs/formats.md describes them."""

from __future__ import annotations

from pathlib import Path

import pytest

from quaywatch.intake.pipeline import ingest_file
from quaywatch.store.store import Store

EXAMPLES = Path(__file__).parents[2] / "examples"


@pytest.mark.parametrize(
    ("name", "read", "new", "unchanged", "quarantined", "field"),
    [
        ("consignments.csv", 4, 3, 0, 1, "container_number"),
        ("consignments.jsonl", 3, 1, 1, 1, None),  # version 2 amendment, a repeat, a broken line
        ("consignments.parquet", 2, 2, 0, 0, None),
        ("cuscar.edi", 4, 4, 0, 0, None),  # a CUSCAR interchange: two messages, four B/Ls
        ("cuscar-twin.csv", 4, 4, 0, 0, None),  # the same consignments as CSV
        ("events.json", 11, 11, 0, 0, None),
        ("events.jsonl", 2, 1, 0, 1, "seals"),
        # known_at before controlled_at; a control of the consignment quarantined above
        ("outcomes.csv", 5, 3, 0, 2, "known_at"),
    ],
)
def test_examples_import_as_documented(
    store: Store,
    name: str,
    read: int,
    new: int,
    unchanged: int,
    quarantined: int,
    field: str | None,
) -> None:
    if name in ("consignments.jsonl", "outcomes.csv"):
        ingest_file(store, EXAMPLES / "consignments.csv")
    summary = ingest_file(store, EXAMPLES / name)
    assert (summary.read, summary.new, summary.unchanged, summary.quarantined) == (
        read, new, unchanged, quarantined,
    )  # fmt: skip
    if field:
        assert summary.rejected[0].field == field
    if name == "outcomes.csv":
        assert summary.kind == "outcomes"
        assert summary.rejected[1].reason == (
            "unknown consignment 261102-BEANR-0000003 v1 (import the consignment first)"
        )
