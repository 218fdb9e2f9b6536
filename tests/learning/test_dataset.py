from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path

import polars as pl
import pytest

from quaywatch.errors import InputError
from quaywatch.learning.dataset import TRUTH_SCHEMA, consignments_with_truth, load_truth
from quaywatch.learning.evaluate import evaluate, time_split
from quaywatch.store.store import Store

TruthWriter = Callable[[Path, Sequence[str]], pl.DataFrame]
IDS = [f"C{i:03d}" for i in range(12)]


def test_load_truth_reads_the_generator_schema(tmp_path: Path, make_truth: TruthWriter) -> None:
    written = make_truth(tmp_path / "truth.parquet", IDS)
    loaded = load_truth(tmp_path / "truth.parquet")
    assert loaded.schema == pl.Schema(TRUTH_SCHEMA)
    assert loaded.equals(written)


def test_load_truth_normalises_compatible_types(tmp_path: Path, make_truth: TruthWriter) -> None:
    path = tmp_path / "truth.parquet"
    written = make_truth(path, IDS)
    written.with_columns(
        pl.col("version").cast(pl.Int32),
        pl.col("lodged_at").dt.cast_time_unit("ms").dt.convert_time_zone("Europe/Brussels"),
        pl.col("true_value_eur").cast(pl.Int64),
        pl.lit("extra").alias("ignored"),
    ).write_parquet(path)
    loaded = load_truth(path)
    assert loaded.schema == pl.Schema(TRUTH_SCHEMA)
    assert loaded["lodged_at"][0] == datetime(2026, 10, 1, tzinfo=UTC)


def _corrupt(frame: pl.DataFrame, how: str) -> pl.DataFrame:
    if how.startswith("drop "):
        return frame.drop(how.removeprefix("drop "))
    if how == "illicit as text":
        return frame.with_columns(pl.col("illicit").cast(pl.String))
    if how == "naive times":
        return frame.with_columns(pl.col("lodged_at").dt.replace_time_zone(None))
    if how == "null pattern":
        return frame.with_columns(pl.when(pl.int_range(pl.len()) == 2).then(None)
                                  .otherwise(pl.col("pattern")).alias("pattern"))  # fmt: skip
    if how == "negative revenue":
        return frame.with_columns(pl.lit(-1.0).alias("revenue_at_stake_eur"))
    assert how == "duplicate key"
    return pl.concat([frame, frame.head(2)])


@pytest.mark.parametrize(
    ("how", "message"),
    [
        ("drop illicit", "missing column illicit"),
        ("drop revenue_at_stake_eur", "missing column revenue_at_stake_eur"),
        ("drop true_hs6", "missing column true_hs6"),
        ("illicit as text", "column illicit is String, expected Boolean"),
        ("naive times", "column lodged_at is Datetime"),
        ("null pattern", "column pattern has 1 missing values"),
        ("negative revenue", "column revenue_at_stake_eur has negative values"),
        (
            "duplicate key",
            "2 .consignment_id, version. pairs appear more than once, e.g. C000 version 1",
        ),
    ],
)
def test_bad_truth_names_file_and_column(
    tmp_path: Path, make_truth: TruthWriter, how: str, message: str
) -> None:
    path = tmp_path / "truth.parquet"
    _corrupt(make_truth(path, IDS), how).write_parquet(path)
    with pytest.raises(InputError, match=message) as caught:
        load_truth(path)
    assert caught.value.message.startswith(f"{path}: ")


@pytest.mark.parametrize(
    ("content", "message"),
    [(None, "no such file"), (b"consignment_id,illicit\n", "not a readable Parquet file")],
)
def test_unreadable_truth(tmp_path: Path, content: bytes | None, message: str) -> None:
    path = tmp_path / "truth.parquet"
    if content is not None:
        path.write_bytes(content)
    with pytest.raises(InputError, match=message) as caught:
        load_truth(path)
    assert str(path) in caught.value.message


def test_consignments_with_truth(
    stored_day: tuple[Store, list[str]], tmp_path: Path, make_truth: TruthWriter
) -> None:
    store, ids = stored_day
    # Truth for all but the last three stored consignments, and for one the store never saw.
    written = make_truth(tmp_path / "truth.parquet", [*ids[:-3], "NEVER-STORED"])
    frame = consignments_with_truth(store, load_truth(tmp_path / "truth.parquet"))

    assert frame.height == len(ids)
    assert sorted(frame["consignment_id"]) == sorted(ids)
    assert frame.filter(pl.col("illicit").is_null())["consignment_id"].sort().to_list() == sorted(
        ids[-3:]
    )
    assert frame.schema["lodged_at"] == pl.Datetime("us", "UTC")
    assert frame.schema["version"] == pl.Int64
    assert "content_sha256" in frame.columns and "true_hs6" in frame.columns
    # the store's lodging time, not the truth file's placeholder
    assert frame["lodged_at"].n_unique() > 1
    matched = frame.join(written, on="consignment_id", suffix="_truth")
    assert matched.height == len(ids) - 3
    for column in ("illicit", "pattern", "revenue_at_stake_eur", "critical"):
        assert matched[column].equals(matched[f"{column}_truth"], check_names=False)

    split = frame["lodged_at"].sort()[len(ids) // 2]
    _, test = time_split(frame, split)
    report = evaluate(test, [], capacity_pct=10.0)
    missing_after = int(test["illicit"].null_count())
    assert report.rows + report.without_truth == test.height
    assert report.without_truth == missing_after
    assert report.illicit == int(test["illicit"].sum())
