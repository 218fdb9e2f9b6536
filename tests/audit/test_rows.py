"""Row hashes across a schema change: a column added to a covered table after its rows were
hashed (``import_batches.reference_version``, one of ``rows.LATE``) leaves the hash of a row
written before it as the canonical form of 0016 gave it, and is bound once it holds a value."""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime

from quaywatch.audit.rows import COVERED


def test_a_batch_written_before_reference_version_keeps_its_hash() -> None:
    batches = COVERED["import_batches"]
    assert batches.names[-1] == "reference_version"  # the late column last
    moment = datetime(2026, 12, 1, tzinfo=UTC)
    row = ["b-1", "file.csv", None, "consignments", "tester", moment, moment, 3, 2, 1, 0]
    # The canonical row as row hashes were first written: every column then, in table order.
    written = [*row[:5], "2026-12-01T00:00:00.000000+00:00", "2026-12-01T00:00:00.000000+00:00",
               *row[7:]]  # fmt: skip
    canonical = json.dumps(["import_batches", written], separators=(",", ":"), sort_keys=True)
    then = hashlib.sha256(b"\x00" + canonical.encode("ascii")).hexdigest()
    assert batches.leaf([*row, None]) == batches.leaf(row) == ('["b-1"]', then)
    key, digest = batches.leaf([*row, "2024-0123456789ab"])
    assert key == '["b-1"]' and digest != then
