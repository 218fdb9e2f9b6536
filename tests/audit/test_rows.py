"""Row hashes across a schema change: a column added to a covered table after its rows were
hashed (``import_batches.reference_version``, migration 0017) leaves the hash of a row written
before it unchanged, and is bound once it holds a value."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import Column, MetaData, Table

from quaywatch.audit.rows import COVERED, Covered
from quaywatch.store import tables


def test_a_batch_written_before_reference_version_keeps_its_hash() -> None:
    before = Table(
        "import_batches", MetaData(),
        *(Column(c.name, c.type, primary_key=c.primary_key)
          for c in tables.import_batches.columns if c.name != "reference_version"),
    )  # fmt: skip
    old = Covered(before)
    now = Covered(tables.import_batches, added=("reference_version",))
    assert COVERED["import_batches"].names == now.names
    moment = datetime(2026, 12, 1, tzinfo=UTC)
    row = ["b-1", "file.csv", None, "consignments", "tester", moment, moment, 3, 2, 1, 0]
    assert now.leaf([*row, None]) == old.leaf(row)
    key, digest = now.leaf([*row, "2024-0123456789ab"])
    assert key == old.leaf(row)[0] and digest != old.leaf(row)[1]
