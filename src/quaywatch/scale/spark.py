"""The risk engine on Apache Spark: a lake period assessed with ``mapInArrow``.

``score`` reads the lake (``scale.lake``) and runs three steps, each a Spark stage that calls
quaywatch's own polars code on Arrow batches, never a second implementation:

1. goods-item rows of the newest version of every consignment (a join of the lake tables, as
   ``store.reads.goods_item_rows`` joins the store's);
2. the as-of entity state: per bucket of consignments, their items and outcomes cogrouped into
   the state's deltas (``intake.entity_state.deltas_of``), then per bucket of entity keys
   cumulated (``cumulate``): the ``entity_states`` rows of every key;
3. the period's consignments, repartitioned so that a consignment's items stay together,
   assessed by ``risk.batch.assess_batch`` in ``mapInArrow`` with the model and the state of
   the period's keys broadcast to the executors (destroyed when the job ends); the
   assessments written as Parquet partitioned by lodging date, only the period's dates
   replaced (dynamic partition overwrite: the results of other periods stay).

The state of the period's keys is broadcast: fine for a period's keys on a cluster's
executors (a few hundred MB for a national day); joining it to the batches by key instead is
the next step for years at once (docs/scale.md).
"""

from __future__ import annotations

import io
import pickle
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

import polars as pl
import pyarrow as pa

from quaywatch.intake.entity_state import cumulate, deltas_of
from quaywatch.risk import batch as batchfn
from quaywatch.risk.bundle import RiskModel
from quaywatch.risk.engine import Explain
from quaywatch.scale.runtime import SparkScoreResult, check_java, check_pyspark

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession

KEY = ["consignment_id", "version"]
_ASSESSMENT_DDL = (
    "consignment_id string, version bigint, lodged_at timestamp, probability double, "
    "model_probability double, score double, revenue_at_stake_eur double, lane_floor string, "
    "referral string, critical boolean, reasons string, explained boolean"
)
_DELTA_DDL = (
    "entity string, entity_key string, at timestamp, records bigint, controls bigint, hits bigint"
)

_DELTA_SCHEMA = pa.schema(
    [("entity", pa.string()), ("entity_key", pa.string()), ("at", pa.timestamp("us", tz="UTC")),
     ("records", pa.int64()), ("controls", pa.int64()), ("hits", pa.int64())]
)  # fmt: skip


def session(master: str, *, partitions: int = 4, app: str = "quaywatch") -> SparkSession:
    """A Spark session on ``master`` in UTC, overwriting only the date partitions it writes;
    checks Java and pyspark first (``scale.runtime``).

    pyspark starts its local Python workers with ``$PYSPARK_PYTHON`` (default ``python3``):
    the caller (the CLI) sets it to its own interpreter; on a cluster spark-submit does
    (docs/scale.md). An existing session is returned as it is, apart from these settings."""
    check_pyspark()
    check_java()
    from pyspark.sql import SparkSession

    return (
        SparkSession.builder.master(master)
        .appName(app)
        .config("spark.sql.session.timeZone", "UTC")
        .config("spark.sql.shuffle.partitions", str(partitions))
        .config("spark.sql.sources.partitionOverwriteMode", "dynamic")
        .config("spark.ui.enabled", "false")
        .config("spark.sql.parquet.outputTimestampType", "TIMESTAMP_MICROS")
        .getOrCreate()
    )


def _table(batches: Iterator[pa.RecordBatch]) -> pa.Table | None:
    found = list(batches)
    return pa.Table.from_batches(found) if found else None


def _polars(table: pa.Table) -> pl.DataFrame:
    frame = pl.from_arrow(table)
    assert isinstance(frame, pl.DataFrame)  # a table always gives a frame
    return frame


def items_of(spark: SparkSession, lake_dir: Path) -> DataFrame:
    """Goods-item rows of the newest version of every lake consignment (``lake.goods_item_rows``
    in Spark, ``risk.batch.ITEM_SCHEMA``'s columns)."""
    from pyspark.sql import functions as f

    def read(name: str) -> DataFrame:
        return spark.read.option("basePath", str(lake_dir / name)).parquet(str(lake_dir / name))

    c = read("consignments")
    newest = c.groupBy("consignment_id").agg(f.max("version").alias("version"))
    header = c.join(newest, KEY, "left_semi").select(
        *KEY, "lodged_at", "eta", "carrier_scac", "port_of_loading", "transshipment_ports",
        "port_of_discharge", "consignee_key", "consignor_key", "declarant_key",
    )  # fmt: skip
    parties = read("parties").select("party_key", "aeo").dropDuplicates(["party_key"])
    for role in ("consignee", "consignor", "declarant"):
        aeo = parties.select(f.col("party_key").alias(f"{role}_key"),
                             f.col("aeo").alias(f"{role}_aeo"))  # fmt: skip
        header = header.join(aeo, f"{role}_key", "left")
    goods = read("goods_items").select(*KEY, "sequence", "hs6", "description", "gross_mass_kg",
                                       "value", "currency", "origin_country",
                                       "container_number")  # fmt: skip
    boxes = read("containers").select(*KEY, "container_number",
                                      f.col("size_type").alias("container_size_type"))  # fmt: skip
    joined = header.join(goods, KEY).join(boxes, [*KEY, "container_number"], "left")
    return joined.select(*batchfn.ITEM_SCHEMA)


def entity_state(items: DataFrame, outcomes: DataFrame, buckets: int) -> DataFrame:
    """The ``entity_states`` rows of every key, from goods-item rows and control outcomes
    (``consignment_id``, ``version``, ``known_at``, ``result``, ``revenue_recovered_eur``)."""
    from pyspark.sql import functions as f

    def deltas(left: pa.Table, right: pa.Table) -> pa.Table:
        found = deltas_of(_polars(left).drop("__bucket"), _polars(right).drop("__bucket"))
        return found.to_arrow().cast(_DELTA_SCHEMA)

    def state(table: pa.Table) -> pa.Table:
        return cumulate(_polars(table).drop("__bucket")).to_arrow().cast(_DELTA_SCHEMA)

    by_consignment = f.abs(f.hash("consignment_id")) % buckets
    left = items.withColumn("__bucket", by_consignment).groupBy("__bucket")
    right = outcomes.withColumn("__bucket", by_consignment).groupBy("__bucket")
    found = left.cogroup(right).applyInArrow(deltas, _DELTA_DDL)
    by_key = f.abs(f.hash("entity", "entity_key")) % buckets
    return found.withColumn("__bucket", by_key).groupBy("__bucket").applyInArrow(state, _DELTA_DDL)


def score(
    *,
    lake_dir: Path,
    model_path: Path,
    start: date,
    end: date,
    out: Path,
    master: str = "local[2]",
    partitions: int | None = None,
    explain_all: bool = False,
    spark: SparkSession | None = None,
) -> SparkScoreResult:
    """Assess the lake's consignments lodged from ``start`` to ``end`` (both included) with the
    model in ``model_path`` on Spark; write them under ``out`` (see the module docstring)."""
    from pyspark.sql import functions as f

    started = time.perf_counter()
    model = RiskModel.load(model_path)
    parts = partitions or 4
    owned = spark is None and _running() is None
    spark = spark or session(master, partitions=parts)
    try:
        outcomes = spark.read.option("basePath", str(lake_dir / "outcomes")).parquet(
            str(lake_dir / "outcomes")
        )
        with assessments(
            items_of(spark, lake_dir), outcomes, model=model, start=start, end=end,
            partitions=parts, explain_all=explain_all,
        ) as assessed:  # fmt: skip
            # Dynamic: only the period's dates are replaced, those of other periods stay
            # (an option of the write, so a session the caller gave behaves the same).
            assessed.withColumn("date", f.to_date("lodged_at")).write.mode("overwrite").option(
                "partitionOverwriteMode", "dynamic"
            ).partitionBy("date").parquet(str(out))
        written = spark.read.parquet(str(out))
        count = written.filter(f.col("date").between(start, end)).count()
    finally:
        if owned:
            spark.stop()
    seconds = time.perf_counter() - started
    return SparkScoreResult(out, count, master, parts, seconds, count / seconds if seconds else 0.0)


def _running() -> SparkSession | None:
    """The session ``getOrCreate`` would return instead of starting one, if any."""
    from pyspark.sql import SparkSession

    return SparkSession.getActiveSession()


@contextmanager
def assessments(
    items: DataFrame,
    outcomes: DataFrame,
    *,
    model: RiskModel,
    start: date,
    end: date,
    partitions: int,
    explain_all: bool = False,
) -> Iterator[DataFrame]:
    """The assessments (``risk.batch.ASSESSMENT_SCHEMA`` and ``model_version``) of the
    consignments of ``items`` lodged from ``start`` to ``end``, as a Spark frame to use inside
    the block; ``items`` and ``outcomes`` hold the whole history the entity state is built
    from. The model and state broadcast to the executors are destroyed when the block ends.

    >>> with assessments(items, outcomes, model=m, start=d1, end=d2, partitions=4) as found:
    ...     found.write.parquet("out")  # doctest: +SKIP
    """
    from pyspark.sql import functions as f

    spark = items.sparkSession
    states = entity_state(items, outcomes.select(*KEY, "known_at", "result",
                                                 "revenue_recovered_eur"), partitions)  # fmt: skip
    since = datetime.combine(start, datetime.min.time(), UTC)
    until = datetime.combine(end + timedelta(days=1), datetime.min.time(), UTC)
    period = items.filter((f.col("lodged_at") >= since) & (f.col("lodged_at") < until))
    # The state of the period's keys only, before the period's end: what its lookups read.
    keys = (
        period.repartition(partitions, "consignment_id")
        .mapInArrow(_long_keys, "entity string, entity_key string")
        .distinct()
    )
    wanted = states.filter(f.col("at") < until).join(keys, ["entity", "entity_key"], "left_semi")
    glob = states.filter((f.col("entity") == "*") & (f.col("at") < until))
    snapshot = wanted.unionByName(glob).toArrow()
    shipped = spark.sparkContext.broadcast((pickle.dumps(model), _ipc(snapshot), explain_all))

    def assess(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        table = _table(batches)
        if table is None:
            return
        blob, state, every = shipped.value
        yield batchfn.assess_batch(
            table, states=_from_ipc(state), model=_model(blob),
            explain_rows=Explain.ALL if every else Explain.AUTO,
        )  # fmt: skip

    try:
        yield (
            period.repartition(partitions, "consignment_id")
            .sortWithinPartitions("consignment_id", "sequence")
            .mapInArrow(assess, _ASSESSMENT_DDL)
            .withColumn("model_version", f.lit(model.version))
        )
    finally:
        shipped.destroy()


def _long_keys(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
    from quaywatch.intake.entities import entity_keys
    from quaywatch.intake.entity_state import long_keys

    table = _table(batches)
    if table is None:
        return
    frame = batchfn.conform(_polars(table), batchfn.ITEM_SCHEMA, "the goods-item batch")
    found = long_keys(entity_keys(frame)).select("entity", "entity_key")
    yield from (
        found.to_arrow()
        .cast(pa.schema([("entity", pa.string()), ("entity_key", pa.string())]))
        .to_batches()
    )


def _ipc(table: pa.Table) -> bytes:
    sink = io.BytesIO()
    with pa.ipc.new_stream(sink, table.schema) as writer:
        writer.write_table(table)
    return sink.getvalue()


def _from_ipc(data: bytes) -> pa.Table:
    return pa.ipc.open_stream(data).read_all()


_MODELS: dict[int, Any] = {}


def _model(blob: bytes) -> RiskModel:
    """The broadcast model, unpickled once per Python worker."""
    key = hash(blob)
    if key not in _MODELS:
        _MODELS.clear()
        _MODELS[key] = pickle.loads(blob)  # noqa: S301 - our own broadcast, not user input
    model: RiskModel = _MODELS[key]
    return model
