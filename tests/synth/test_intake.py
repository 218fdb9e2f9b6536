"""Generated files go through intake: clean ones entirely, noisy ones minus the noise share."""

from __future__ import annotations

from pathlib import Path

from quaywatch.intake.pipeline import ingest_file
from quaywatch.store.store import Store
from quaywatch.synth.traffic import Traffic


def test_clean_day_ingests_without_quarantine(clean: Traffic, tmp_path: Path) -> None:
    store = Store.open(f"sqlite:///{tmp_path / 'x.db'}")
    try:
        day = ingest_file(store, clean.consignment_files[0])
        assert day.read == 2_000 and day.new == 2_000 and day.quarantined == 0, day.rejected[:1]
        events = ingest_file(store, clean.event_files[0])
        assert events.read > 2_000 * 4 and events.quarantined == 0, events.rejected[:1]
    finally:
        store.close()


def test_noisy_day_quarantines_about_the_noise_share(noisy: Traffic, tmp_path: Path) -> None:
    store = Store.open(f"sqlite:///{tmp_path / 'x.db'}")
    try:
        day = ingest_file(store, noisy.consignment_files[0])
    finally:
        store.close()
    assert day.read == 2_000 and day.balanced
    assert 80 <= day.quarantined <= 120  # noise 0.05 of 2,000
    fields = {field for r in day.rejected for field, _ in r.problems}
    assert {"container_number", "port_of_loading", "hs6", "vessel_imo", "origin_country"} <= fields


def test_events_with_rip_marks_and_reseals_pass_intake(rich: Traffic, tmp_path: Path) -> None:
    store = Store.open(f"sqlite:///{tmp_path / 'x.db'}")
    try:
        events = ingest_file(store, rich.event_files[1])
    finally:
        store.close()
    assert events.quarantined == 0 and events.new == events.read, events.rejected[:1]


def test_generated_outcomes_ingest_once_their_consignments_are_stored(
    clean: Traffic, tmp_path: Path
) -> None:
    store = Store.open(f"sqlite:///{tmp_path / 'x.db'}")
    try:
        for path in clean.consignment_files:
            ingest_file(store, path)
        imported = [ingest_file(store, path) for path in clean.outcome_files]
        counts = store.counts()
    finally:
        store.close()
    assert all(s.kind == "outcomes" and s.quarantined == 0 for s in imported), [
        s.rejected[:1] for s in imported if s.quarantined
    ]
    assert sum(s.new for s in imported) == clean.controls == counts["control_outcomes"] > 0
