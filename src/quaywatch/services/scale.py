"""Use cases of scale-out: export the store to the Parquet lake, score a lake period on Spark.

- ``export_parquet``: write what is new in the store since the lake's last export
  (``scale.lake``): consignments, goods items, containers, parties, events, outcomes and
  assessments, partitioned by date, with the manifest;
- ``spark_score``: assess the consignments a lake holds for a period on Spark with a model
  (``scale.spark``), the engine's own Arrow batch function mapped over the partitions, and
  write the assessments as Parquet, the lake's kept entity state brought up to date first;
- ``spark_state``: fold into the lake's kept entity state the exports it does not hold yet
  (``scale.kept_state``), or build it afresh.

Spark is imported only here, when the job runs.
"""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

from quaywatch.errors import InputError
from quaywatch.scale import kept_state, lake
from quaywatch.scale.runtime import SparkScoreResult, StateUpdate, check_java, check_pyspark
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


def results_folder(lake_dir: Path, out: Path | None) -> Path:
    """Where ``spark score`` writes: ``out``, by default ``LAKE/spark_assessments``.

    The job replaces the date partitions it writes under that folder: an ``InputError`` when
    it is the lake, a folder inside the lake other than the default one (a lake table would
    lose its days), or a folder holding the lake.

    >>> results_folder(Path("/data/lake"), None)
    PosixPath('/data/lake/spark_assessments')
    """
    lake_at = lake_dir.resolve()
    found = (out or lake_dir / lake.SPARK_RESULTS).resolve()
    if found == lake_at / lake.SPARK_RESULTS:
        return found
    if found == lake_at or found.is_relative_to(lake_at):
        raise InputError(
            f"--out {out} is inside the lake {lake_dir}: scoring would overwrite the lake's "
            f"files; leave --out out (the default is LAKE/{lake.SPARK_RESULTS}) or name a "
            "folder outside the lake"
        )
    if lake_at.is_relative_to(found):
        raise InputError(
            f"--out {out} holds the lake {lake_dir}: scoring would overwrite the lake's files; "
            "name a folder outside the lake"
        )
    return found


def spark_score(
    *,
    lake_dir: Path,
    model_path: Path,
    start: date,
    end: date,
    out: Path | None = None,
    master: str = "local[2]",
    partitions: int | None = None,
) -> SparkScoreResult:
    """Assess on Spark the consignments of ``lake_dir`` lodged from ``start`` to ``end``
    (both included) with the model in ``model_path``; write the assessments under ``out``
    (``results_folder``), replacing only the period's dates there.

    A ``SparkUnavailable`` error (with how to install it) when pyspark or Java 17+ is missing;
    an ``InputError`` for a period that ends before it starts, a folder that is not a lake, or
    an ``out`` that would overwrite the lake.
    """
    if end < start:
        raise InputError(f"the period ends ({end}) before it starts ({start})")
    _readable_lake(lake_dir)
    target = results_folder(lake_dir, out)
    # Before the model is loaded and Spark starts (seconds): say what is missing at once.
    check_pyspark()
    check_java()
    from quaywatch.scale import spark

    return spark.score(lake_dir=lake_dir, model_path=model_path, start=start, end=end,
                       out=target, master=master, partitions=partitions)  # fmt: skip


def _readable_lake(lake_dir: Path) -> None:
    """An ``InputError`` when ``lake_dir`` is not a lake, or its kept state is unreadable."""
    if not (lake_dir / lake.MANIFEST).exists():
        raise InputError(f"{lake_dir} is not a lake (no {lake.MANIFEST}): quaywatch export parquet")
    try:
        kept_state.read(lake_dir)
    except ValueError as exc:
        raise InputError(f"{exc}; rebuild it with quaywatch spark state --rebuild") from exc


def spark_state(
    *,
    lake_dir: Path,
    master: str = "local[2]",
    buckets: int | None = None,
    rebuild: bool = False,
) -> StateUpdate:
    """Fold into the kept entity state of ``lake_dir`` the exports it does not hold yet, or
    build it (``rebuild``: afresh, e.g. with another number of ``buckets``).

    A ``SparkUnavailable`` error when pyspark or Java 17+ is missing; an ``InputError`` for a
    folder that is not a lake, or ``buckets`` other than the kept state's without ``rebuild``.
    """
    if buckets is not None and buckets < 1:
        raise InputError(f"the kept state needs at least one bucket, got {buckets}")
    if not rebuild:
        _readable_lake(lake_dir)
        kept = kept_state.read(lake_dir)
        if kept is not None:  # before Spark starts (seconds): the same check as the job's
            kept_state.check_buckets(lake_dir, kept, buckets)
    elif not (lake_dir / lake.MANIFEST).exists():
        raise InputError(f"{lake_dir} is not a lake (no {lake.MANIFEST}): quaywatch export parquet")
    check_pyspark()
    check_java()
    from quaywatch.scale import spark

    return spark.state(lake_dir=lake_dir, master=master, buckets=buckets, rebuild=rebuild)
