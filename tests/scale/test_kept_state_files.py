"""The kept state's files (``scale.kept_state``), without Spark: which generation each bucket
is read from after an update, what an unreadable manifest says, the lock, and the clean-up of
generations nobody reads."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from quaywatch.errors import ConflictError
from quaywatch.scale import kept_state

NOW = datetime(2026, 12, 8, tzinfo=UTC)


def _bucket(lake: Path, generation: str, bucket: int) -> None:
    folder = lake / kept_state.FOLDER / generation / f"bucket={bucket}"
    folder.mkdir(parents=True)
    (folder / "part-0.parquet").write_bytes(b"rows")


def test_an_update_points_only_its_touched_buckets_to_its_generation(tmp_path: Path) -> None:
    """A bucket the update did not touch stays where it was, even when the new generation's
    folder holds it (left there by an update that died before its manifest)."""
    state = kept_state.KeptState(export=1, buckets=4, parts={0: "g000001/bucket=0",
                                 1: "g000001/bucket=1", 3: "g000001/bucket=3"}, generation=1)  # fmt: skip
    for bucket in (0, 1, 3):
        _bucket(tmp_path, "g000001", bucket)
    for bucket in (0, 1, 2):  # 0: a dead update's; 1 and 2: this update's
        _bucket(tmp_path, "g000002", bucket)
    found = kept_state.written(tmp_path, state, export=2, touched={1, 2, 3}, rows=9, now=NOW)
    assert found.parts == {0: "g000001/bucket=0", 1: "g000002/bucket=1", 2: "g000002/bucket=2"}
    assert (found.export, found.generation, found.rows) == (2, 2, 9)
    kept_state.save(tmp_path, found)
    assert kept_state.read(tmp_path) == found
    # A rebuild reads its own generation only.
    rebuilt = kept_state.written(tmp_path, found, export=2, touched=set(), rows=3, now=NOW,
                                 replace_all=True)  # fmt: skip
    assert rebuilt.parts == {}


def test_generations_nobody_reads_are_removed_when_the_manifest_is_saved(tmp_path: Path) -> None:
    for generation in ("g000001", "g000002", "g000007"):
        _bucket(tmp_path, generation, 0)
    state = kept_state.KeptState(export=3, buckets=2, parts={0: "g000002/bucket=0"}, generation=2)
    assert kept_state.last_generation(tmp_path) == 7
    kept_state.save(tmp_path, state)
    held = sorted(p.name for p in (tmp_path / kept_state.FOLDER).iterdir() if p.is_dir())
    assert held == ["g000002"]
    assert kept_state.last_generation(tmp_path / "none") == 0


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("[]", "not a kept entity state"),
        ('{"format": 2}', "format 2, expected 1"),
        ('{"format": 1, "export": 1}', "not a kept entity state ('buckets')"),
        ('{"format": 1, "export": 1, "buckets": 2, "parts": [], "rows": 0, "generation": 1}',
         "not a kept entity state"),
    ],
)  # fmt: skip
def test_an_unreadable_manifest_is_named(tmp_path: Path, text: str, says: str) -> None:
    root = tmp_path / kept_state.FOLDER
    root.mkdir()
    (root / kept_state.MANIFEST).write_text(text)
    with pytest.raises(ValueError, match="_state.json") as caught:
        kept_state.read(tmp_path)
    assert says in str(caught.value)


def test_a_second_holder_of_the_lock_is_refused(tmp_path: Path) -> None:
    with kept_state.locked(tmp_path):
        with (
            pytest.raises(ConflictError, match="is running") as caught,
            kept_state.locked(tmp_path),
        ):
            pass  # pragma: no cover - never reached
        assert ".lock" in caught.value.message
    with kept_state.locked(tmp_path):  # released when the block ended
        pass
