"""Generated files read as frames equal what the store returns after a real import."""

from __future__ import annotations

from pathlib import Path

import polars as pl

from quaywatch.intake.pipeline import ingest_file
from quaywatch.store import reads
from quaywatch.store.store import Store
from quaywatch.synth import frames, traffic

KEYS = ["consignee_key", "consignor_key", "declarant_key"]


def test_goods_item_rows_match_the_store(tmp_path: Path) -> None:
    made = traffic.generate(tmp_path / "t", days=2, per_day=60, seed=4, with_events=False)
    store = Store.open(f"sqlite:///{tmp_path / 'q.db'}")
    for path in made.consignment_files:
        ingest_file(store, path)
    stored = reads.goods_item_rows(store)
    store.close()
    read = frames.goods_item_rows(list(made.consignment_files))
    assert read.schema == stored.schema
    # Party keys differ (intake hashes with SHA-256) but name the same parties.
    assert read.drop(KEYS).equals(stored.drop(KEYS))
    for key in KEYS:
        pairs = pl.DataFrame({"read": read[key], "stored": stored[key]}).unique()
        assert pairs["read"].n_unique() == pairs["stored"].n_unique() == pairs.height
