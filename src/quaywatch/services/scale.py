"""Use cases of scale-out: export the store to the Parquet lake, score a lake period on Spark.

- ``export_parquet``: write what is new in the store since the lake's last export
  (``scale.lake``): consignments, goods items, containers, parties, events, outcomes and
  assessments, partitioned by date, with the manifest;
- ``spark_score``: assess the consignments a lake holds for a period on Spark with a model
  (``scale.spark``), the engine's own Arrow batch function mapped over the partitions, and
  write the assessments as Parquet. Spark is imported only here, when the job runs.
"""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

from quaywatch.errors import InputError
from quaywatch.scale import lake
from quaywatch.scale.runtime import SparkScoreResult, check_java, check_pyspark
from quaywatch.store.store import Store


def export_parquet(store: Store, *, to: Path) -> lake.LakeExport:
    """Export what is new in ``store`` into the lake at ``to`` (created if need be).

    An ``InputError`` when ``to`` is a file or holds a manifest this version cannot read.
    """
    if to.exists() and not to.is_dir():
        raise InputError(f"{to} is a file; the lake is a folder")
    try:
        return lake.export(store, to)
    except (ValueError, json.JSONDecodeError) as exc:
        raise InputError(f"cannot export to the lake {to}: {exc}") from exc


def spark_score(
    *,
    lake_dir: Path,
    model_path: Path,
    start: date,
    end: date,
    out: Path,
    master: str = "local[2]",
    partitions: int | None = None,
) -> SparkScoreResult:
    """Assess on Spark the consignments of ``lake_dir`` lodged from ``start`` to ``end``
    (both included) with the model in ``model_path``; write the assessments under ``out``.

    A ``SparkUnavailable`` error (with how to install it) when pyspark or Java 17+ is missing.
    """
    if end < start:
        raise InputError(f"the period ends ({end}) before it starts ({start})")
    if not (lake_dir / lake.MANIFEST).exists():
        raise InputError(f"{lake_dir} is not a lake (no {lake.MANIFEST}): quaywatch export parquet")
    # Before the model is loaded and Spark starts (seconds): say what is missing at once.
    check_pyspark()
    check_java()
    from quaywatch.scale import spark

    return spark.score(lake_dir=lake_dir, model_path=model_path, start=start, end=end,
                       out=out, master=master, partitions=partitions)  # fmt: skip
