"""Fixtures shared by the risk tests."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import pytest

from quaywatch.intake.pipeline import ingest_file
from quaywatch.risk import screening
from quaywatch.store.store import Store
from quaywatch.synth import traffic

#: The first day of ``party_traffic``.
PARTY_TRAFFIC_START = date(2026, 10, 1)


@pytest.fixture
def party_traffic(store: Store, tmp_path: Path) -> tuple[Store, traffic.Traffic]:
    """Five days of 400 consignments (from 1 October 2026, seed 21, no events, no controls)
    stored, with the generated offenders' list (every offender on it) loaded as OFFENDERS the
    day before: what the party graph's tests link and seed from."""
    generated = traffic.generate(tmp_path / "t", days=5, per_day=400, seed=21, with_events=False,
                                 legacy_controls=False, watchlist_share=1.0)  # fmt: skip
    for path in generated.consignment_files:
        ingest_file(store, path, actor="tester")
    screening.load_watchlist(store, generated.out / "watchlists" / "offenders.csv",
                             watchlist_id="OFFENDERS", source="synthetic",
                             list_date=PARTY_TRAFFIC_START - timedelta(days=1),
                             actor="tester")  # fmt: skip
    return store, generated
