"""The risk engine on Apache Spark: a lake period assessed part by part with ``applyInArrow``.

``score`` reads the lake (``scale.lake``) and runs its steps as Spark stages that call
quaywatch's own polars code on Arrow batches, never a second implementation:

1. goods-item rows of the newest version of every consignment (a join of the lake tables, as
   ``store.reads.goods_item_rows`` joins the store's);
2. the lake's kept entity state brought up to date (``update_state``, ``scale.kept_state``):
   the consignments the exports not folded yet touch, read as they stood before them and with
   them, give the deltas (``intake.entity_state.changes``), which are folded into the buckets
   of keys they fall in (``intake.entity_state.fold``), written as a new generation;
3. the state each part of the period reads (``state_by_part``): a consignment's part is its
   id's hash; the keys of each part's consignments (``intake.entity_state.long_keys``) and
   the global counts' key are joined to the kept state by key in Spark, and the rows before
   the period's end ``trimmed`` per part to what a lookup in the period reads (the rows in the
   period, the last one before it, the first sighting);
4. each part's goods items cogrouped with its state rows and assessed by
   ``risk.batch.assess_batch`` (``applyInArrow``) with the model broadcast to the executors
   (unpacked once per Python worker, destroyed when the job ends); the assessments written as
   Parquet partitioned by lodging date, only the period's dates replaced (dynamic partition
   overwrite: the results of other periods stay). No process holds more state than its part's
   keys' rows: the driver collects none of it.

``assessments`` also builds the state from a history without a kept state, as a kept state's
first build does but without writing it (what the benchmark compares).

One task runs on one core: the Python workers' polars and LightGBM use one thread each
(``session``).
"""

from __future__ import annotations

import os
import pickle
import re
import shutil
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar, cast

import polars as pl
import pyarrow as pa

from quaywatch.errors import InputError
from quaywatch.intake.entities import PARTIES, entity_keys
from quaywatch.intake.entity_state import changes, fold, long_keys
from quaywatch.risk import batch as batchfn
from quaywatch.risk.bundle import RiskModel
from quaywatch.risk.engine import Explain
from quaywatch.scale import kept_state, lake
from quaywatch.scale.kept_state import KeptState
from quaywatch.scale.runtime import SparkScoreResult, StateUpdate, check_java, check_pyspark

if TYPE_CHECKING:
    from pyspark.sql import Column, DataFrame, SparkSession

T = TypeVar("T")
KEY = ["consignment_id", "version"]
_ASSESSMENT_DDL = (
    "consignment_id string, version bigint, lodged_at timestamp, probability double, "
    "model_probability double, score double, revenue_at_stake_eur double, lane_floor string, "
    "referral string, critical boolean, reasons string, explained boolean"
)
_DELTA_DDL = (
    "entity string, entity_key string, at timestamp, records bigint, controls bigint, hits bigint"
)

_STATE_DDL = _DELTA_DDL + ", bucket int"
_OUTCOME_COLUMNS = [*KEY, "known_at", "result", "revenue_recovered_eur"]
_OUTCOME_DDL = (
    "consignment_id string, version bigint, known_at timestamp, result string, "
    "revenue_recovered_eur double"
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

    builder = SparkSession.builder.master(master).appName(app)
    if master.startswith("local"):
        # A local job is one short-lived JVM: its JIT's optimising compiler (C2) spent a third
        # of the JVM's CPU compiling code the job then ran for seconds (measured,
        # docs/scale.md); the quick compiler alone (C1) costs less in all. Only when the
        # session starts the JVM, and a --driver-java-options of the caller's wins. Clusters'
        # executors live long enough for C2 to pay.
        builder = builder.config(_DRIVER_OPTIONS, local_driver_options())
    return (
        builder.config("spark.sql.session.timeZone", "UTC")
        .config("spark.sql.shuffle.partitions", str(partitions))
        .config("spark.sql.sources.partitionOverwriteMode", "dynamic")
        .config("spark.ui.enabled", "false")
        # The console progress bar's thread redraws every 200 ms, for nobody in a batch job.
        .config("spark.ui.showConsoleProgress", "false")
        .config("spark.sql.parquet.outputTimestampType", "TIMESTAMP_MICROS")
        # One task, one core: polars and LightGBM in a Python worker use one thread each,
        # as Spark schedules them (spark.task.cpus), rather than every core of the machine
        # per task (which a cluster's other tasks are using).
        .config("spark.executorEnv.POLARS_MAX_THREADS", "1")
        .config("spark.executorEnv.OMP_NUM_THREADS", "1")
        .getOrCreate()
    )


def _polars(table: pa.Table) -> pl.DataFrame:
    frame = pl.from_arrow(table)
    assert isinstance(frame, pl.DataFrame)  # a table always gives a frame
    return frame


def items_of(spark: SparkSession, lake_dir: Path, *, upto: int | None = None) -> DataFrame:
    """Goods-item rows of the newest version of every lake consignment (``lake.goods_item_rows``
    in Spark, ``risk.batch.ITEM_SCHEMA``'s columns); ``upto``: of the records of the exports
    up to that number only (what the kept state holds: a file a failed export left is not the
    lake's)."""
    from pyspark.sql import functions as f

    def read(name: str) -> DataFrame:
        if upto is not None:
            numbered = _numbered(spark, lake_dir, name)
            if numbered is not None:
                return numbered.filter(f.col("__export") <= upto).drop("__export")
        return spark.read.option("basePath", str(lake_dir / name)).parquet(str(lake_dir / name))

    header = _newest(read("consignments")).select(
        *KEY, "lodged_at", "eta", "carrier_scac", "port_of_loading", "transshipment_ports",
        "port_of_discharge", "consignee_key", "consignor_key", "declarant_key",
    )  # fmt: skip
    parties = read("parties").select("party_key", "aeo").dropDuplicates(["party_key"])
    for role in ("consignee", "consignor", "declarant"):
        aeo = parties.select(f.col("party_key").alias(f"{role}_key"),
                             f.col("aeo").alias(f"{role}_aeo"))  # fmt: skip
        header = header.join(aeo, f"{role}_key", "left")
    goods = read("goods_items").select(*KEY, "sequence", "hs6", "description", "packages",
                                       "package_type", "gross_mass_kg", "value", "currency",
                                       "origin_country", "container_number")  # fmt: skip
    boxes = read("containers").select(*KEY, "container_number",
                                      f.col("size_type").alias("container_size_type"))  # fmt: skip
    joined = header.join(goods, KEY).join(boxes, [*KEY, "container_number"], "left")
    return joined.select(*batchfn.ITEM_SCHEMA)


def _newest(consignments: DataFrame) -> DataFrame:
    """The rows of ``consignments`` of the newest version of each consignment."""
    from pyspark.sql import functions as f

    newest = consignments.groupBy("consignment_id").agg(f.max("version").alias("version"))
    return consignments.join(newest, KEY, "left_semi")


#: What ``deltas_of`` reads of the goods-item rows (``intake.entities.entity_keys``): only
#: these cross the shuffle to the state's first Python pass.
_STATE_ITEM_COLUMNS = [
    "consignment_id", "version", "lodged_at", "port_of_loading", "port_of_discharge", *PARTIES,
    "sequence", "hs6", "value", "currency", "origin_country",
]  # fmt: skip


def trimmed(states: pl.DataFrame, since: datetime) -> pl.DataFrame:
    """The rows of ``states`` (every row of each key in it) that a lookup at ``since`` or later
    reads: every row from ``since`` on, the last one before it, the key's first sighting (the
    earliest row with a record). ``features.batch_state.snapshot_features`` gives the same
    answers on them as on all the rows: it reads the latest row before a moment and the first
    sighting, nothing else."""
    by = ["entity", "entity_key"]
    at = pl.col("at")
    last = at.filter(at < since).max().over(by)
    first = at.filter(pl.col("records") > 0).min().over(by)
    return states.filter((at >= since) | (at == last) | (at == first))


# --- The kept state (``scale.kept_state``): folded from what each export adds. -----------------


def _numbered(spark: SparkSession, lake_dir: Path, name: str) -> DataFrame | None:
    """A lake table with ``__export``, the number of the export that wrote each row (from its
    file's name, ``part-<export>.parquet``); None when the lake holds none of it."""
    from pyspark.sql import functions as f

    folder = lake_dir / name
    files = sorted(folder.glob("*/*.parquet"))
    if not files:
        return None
    for path in files:
        if _LAKE_FILE.fullmatch(path.name) is None:
            raise InputError(
                f"{path}: not a lake file (part-<export>.parquet, as quaywatch export parquet "
                "writes them): the export that wrote it cannot be told, so neither can whether "
                "the kept entity state holds it"
            )
    frame = spark.read.option("basePath", str(folder)).parquet(str(folder))
    number = f.regexp_extract(f.input_file_name(), r"part-(\d+)\.parquet$", 1).cast("int")
    return frame.withColumn("__export", number)


_LAKE_FILE = re.compile(r"part-\d+\.parquet")


def _state_items(consignments: DataFrame, goods: DataFrame) -> DataFrame:
    """Goods-item rows (``_STATE_ITEM_COLUMNS``) of the newest version of each consignment of
    ``consignments``, from its items in ``goods``: the history ``deltas_of`` reads."""
    header = _newest(consignments).select(
        *KEY, "lodged_at", "port_of_loading", "port_of_discharge", *PARTIES
    )
    items = goods.select(*KEY, "sequence", "hs6", "value", "currency", "origin_country")
    return header.join(items, KEY).select(*_STATE_ITEM_COLUMNS)


def state_changes(
    after: tuple[DataFrame, DataFrame],
    before: tuple[DataFrame, DataFrame] | None,
    buckets: int,
) -> DataFrame:
    """The deltas (``_DELTA_DDL``) that turn the state of ``before`` into that of ``after``:
    ``intake.entity_state.changes`` per bucket of consignments. Each is (goods-item rows with
    ``_STATE_ITEM_COLUMNS`` of the newest version of each consignment, their outcomes with
    ``_OUTCOME_COLUMNS``), of the same consignments; ``before`` None: they added nothing yet
    (the first build of a state)."""
    from pyspark.sql import functions as f

    def signed(pair: tuple[DataFrame, DataFrame], sign: int) -> tuple[DataFrame, DataFrame]:
        items, outcomes = pair
        return (
            items.select(*_STATE_ITEM_COLUMNS).withColumn("__sign", f.lit(sign)),
            outcomes.select(*_OUTCOME_COLUMNS).withColumn("__sign", f.lit(sign)),
        )

    items, outcomes = signed(after, 1)
    if before is not None:
        old_items, old_outcomes = signed(before, -1)
        items, outcomes = items.unionByName(old_items), outcomes.unionByName(old_outcomes)

    def deltas(left: pa.Table, right: pa.Table) -> pa.Table:
        rows, known = _polars(left), _polars(right)

        def side(sign: int) -> tuple[pl.DataFrame, pl.DataFrame]:
            return tuple(  # type: ignore[return-value]
                frame.filter(pl.col("__sign") == sign).drop("__sign", "__bucket")
                for frame in (rows, known)
            )

        return changes(side(-1), side(1)).to_arrow().cast(_DELTA_SCHEMA)

    by_consignment = f.pmod(f.hash("consignment_id"), f.lit(buckets))
    return (
        items.withColumn("__bucket", by_consignment)
        .groupBy("__bucket")
        .cogroup(outcomes.withColumn("__bucket", by_consignment).groupBy("__bucket"))
        .applyInArrow(deltas, _DELTA_DDL)
    )


_STATE_SCHEMA = _DELTA_SCHEMA.append(pa.field("bucket", pa.int32()))


def state_bucket(buckets: int) -> Column:
    """A state key's bucket: ``pmod(hash(entity, entity_key), buckets)`` (Spark's Murmur3, the
    same from run to run; ``pmod``, not ``abs``: the absolute value of the smallest hash
    overflows, an error in Spark's ANSI mode)."""
    from pyspark.sql import functions as f

    return f.pmod(f.hash("entity", "entity_key"), f.lit(buckets)).cast("int")


def folded(state: DataFrame | None, deltas: DataFrame) -> DataFrame:
    """The rows (``_STATE_DDL``) of the buckets ``deltas`` touch (``deltas`` with
    ``bucket``): ``state``'s rows of those buckets (the caller reads only them; None: a first
    build) with the deltas folded in (``intake.entity_state.fold``), one bucket per task."""

    def fold_bucket(left: pa.Table, right: pa.Table) -> pa.Table:
        kept, new = _polars(left), _polars(right)
        bucket = (new if new.height else kept).get_column("bucket")[0]
        rows = fold(kept.drop("bucket"), new.drop("bucket"))
        return (
            rows.with_columns(pl.lit(bucket, pl.Int32).alias("bucket"))
            .to_arrow()
            .cast(_STATE_SCHEMA)
        )

    spark = deltas.sparkSession
    kept = state if state is not None else spark.createDataFrame([], _STATE_DDL)
    return (
        kept.groupBy("bucket")
        .cogroup(deltas.groupBy("bucket"))
        .applyInArrow(fold_bucket, _STATE_DDL)
    )


def read_state(
    spark: SparkSession, lake_dir: Path, state: KeptState, only: set[int] | None = None
) -> DataFrame | None:
    """The rows (``_STATE_DDL``) of a lake's kept ``state`` (of the buckets in ``only``);
    None when it holds none."""
    frames = []
    for name, found in state.generations().items():
        chosen = [b for b in found if only is None or b in only]
        if not chosen:
            continue
        base = lake_dir / kept_state.FOLDER / name
        paths = [str(base / f"bucket={b}") for b in chosen]
        frames.append(spark.read.option("basePath", str(base)).parquet(*paths))
    if not frames:
        return None
    union = frames[0]
    for frame in frames[1:]:
        union = union.unionByName(frame)
    return union.select(*_STATE_SCHEMA.names)


def update_state(
    spark: SparkSession,
    lake_dir: Path,
    *,
    buckets: int | None = None,
    rebuild: bool = False,
    now: datetime | None = None,
) -> StateUpdate:
    """Fold into the lake's kept entity state the exports it does not hold yet
    (``scale.kept_state``); build it when the lake has none, or afresh with ``rebuild``.

    The consignments the new exports touch (a new version, a new outcome) are read as they
    stood before them and with them (``state_changes``): only their deltas cross into Python,
    and only the buckets those deltas fall in are read, folded and written again. ``buckets``
    sets a new state's buckets (an ``InputError`` when it differs from a kept state's, unless
    ``rebuild``)."""
    from pyspark.sql import functions as f

    started = time.perf_counter()
    latest = len(lake.read_manifest(lake_dir)["exports"])
    try:
        current = kept_state.read(lake_dir)
    except ValueError as exc:
        if not rebuild:
            raise InputError(f"{exc}; rebuild it with quaywatch spark state --rebuild") from exc
        current = None  # an unreadable state, rebuilt
    if current is not None and not rebuild:
        kept_state.check_buckets(lake_dir, current, buckets)
        if current.export > latest:
            raise InputError(
                f"the kept entity state of {lake_dir} holds export {current.export}, the lake "
                f"only {latest} (a lake restored from an older copy?): rebuild the state"
            )
        base = current
    else:
        fresh = kept_state.empty(buckets or (current.buckets if current else
                                             kept_state.DEFAULT_BUCKETS))  # fmt: skip
        base = replace(fresh, generation=kept_state.last_generation(lake_dir))
    if base.export >= latest:
        return StateUpdate(latest + 1, latest, 0, base.buckets, base.rows,
                           time.perf_counter() - started)  # fmt: skip
    consignments = _numbered(spark, lake_dir, "consignments")
    goods = _numbered(spark, lake_dir, "goods_items")
    outcomes = _numbered(spark, lake_dir, "outcomes")
    touched: set[int] = set()
    name, folder = kept_state.generation_folder(lake_dir, base)
    # What an update that died before its manifest left there is nobody's: written afresh.
    shutil.rmtree(folder, ignore_errors=True)
    if consignments is not None and goods is not None:
        # Files a failed export left with a number not yet in the manifest are not the lake's.
        listed = f.col("__export") <= latest
        consignments, goods = consignments.filter(listed), goods.filter(listed)
        outcomes = (
            outcomes.filter(listed).select(*_OUTCOME_COLUMNS, "__export") if outcomes is not None
            else spark.createDataFrame([], _OUTCOME_DDL + ", __export int")
        )  # fmt: skip
        after = (_state_items(consignments, goods), outcomes)
        before = None
        if base.export > 0:
            new, old = f.col("__export") > base.export, f.col("__export") <= base.export
            ids = (
                consignments.filter(new).select("consignment_id")
                .union(outcomes.filter(new).select("consignment_id")).distinct()
            )  # fmt: skip

            def touching(frame: DataFrame) -> DataFrame:
                return frame.join(ids, "consignment_id", "left_semi")

            before = (
                touching(_state_items(consignments.filter(old), goods.filter(old))),
                touching(outcomes.filter(old)),
            )
            after = (touching(after[0]), touching(after[1]))
        groups = max(base.buckets, int(spark.conf.get("spark.sql.shuffle.partitions") or 1))
        deltas = (
            state_changes(after, before, groups)
            .withColumn("bucket", state_bucket(base.buckets))
            .persist()
        )
        try:
            touched = {row[0] for row in deltas.select("bucket").distinct().collect()}
            if touched:
                state = read_state(spark, lake_dir, base, only=touched)
                folded(state, deltas).write.mode("overwrite").partitionBy("bucket").parquet(
                    str(folder)
                )
        finally:
            deltas.unpersist()
    result = kept_state.written(
        lake_dir, base, export=latest, touched=touched, rows=0, now=now or datetime.now(UTC),
        replace_all=base.export == 0,
    )  # fmt: skip
    rows = read_state(spark, lake_dir, result)
    result = replace(result, rows=rows.count() if rows is not None else 0)
    kept_state.save(lake_dir, result)
    return StateUpdate(base.export + 1, latest, len(touched), base.buckets, result.rows,
                       time.perf_counter() - started)  # fmt: skip


_PART_DDL = "__part int, " + _DELTA_DDL


def _part(partitions: int) -> Column:
    """The part of the period a consignment is assessed in: its id's hash."""
    from pyspark.sql import functions as f

    return f.pmod(f.hash("consignment_id"), f.lit(partitions)).cast("int")


def state_by_part(
    period: DataFrame, state: DataFrame, *, since: datetime, until: datetime, partitions: int
) -> DataFrame:
    """The state rows (``_PART_DDL``) each part of ``period`` (``_part``) reads: the rows of
    the keys of its consignments (``intake.entity_state.long_keys``, found per part) and of
    the global counts, before the period's end, ``trimmed`` to what a lookup in the period
    reads. Joined by key in Spark: no process holds more than its part's keys' rows (a key
    many parts share is sent to each of them)."""
    from pyspark.sql import functions as f

    def keys(table: pa.Table) -> pa.Table:
        rows = _polars(table)
        parts = rows.select("consignment_id", "__part").unique()
        found = long_keys(entity_keys(rows.drop("__part"))).join(parts, on="consignment_id")
        return found.select("__part", "entity", "entity_key").unique().to_arrow().cast(_KEYED)

    keyed = (
        period.select(*_STATE_ITEM_COLUMNS)
        .withColumn("__part", _part(partitions))
        .groupBy("__part")
        .applyInArrow(keys, "__part int, entity string, entity_key string")
    )
    every = period.sparkSession.range(partitions).select(
        f.col("id").cast("int").alias("__part"), f.lit("*").alias("entity"),
        f.lit("").alias("entity_key"),
    )  # fmt: skip
    rows = state.filter(f.col("at") < until).select(*_DELTA_SCHEMA.names)
    joined = rows.join(keyed.unionByName(every), ["entity", "entity_key"])

    def trim(table: pa.Table) -> pa.Table:
        found = _polars(table)
        part = found.get_column("__part")[0]
        kept = trimmed(found.drop("__part"), since).with_columns(__part=pl.lit(part, pl.Int32))
        return kept.select("__part", *_DELTA_SCHEMA.names).to_arrow().cast(_PARTED)

    return joined.groupBy("__part").applyInArrow(trim, _PART_DDL)


_KEYED = pa.schema([("__part", pa.int32()), ("entity", pa.string()), ("entity_key", pa.string())])
_PARTED = pa.schema([pa.field("__part", pa.int32()), *_DELTA_SCHEMA])


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
    model in ``model_path`` on Spark; write them under ``out`` (see the module docstring).
    The lake's kept entity state is brought up to date first (``update_state``)."""
    from pyspark.sql import functions as f

    started = time.perf_counter()
    model = RiskModel.load(model_path)
    owned = spark is None and _running() is None
    spark = spark or session(master, partitions=partitions or 4)
    # One part per core by default: a key many parts share (a carrier, a common subheading) has
    # its state rows sent to each of them, so more parts than cores repeat that.
    parts = partitions or spark.sparkContext.defaultParallelism
    try:
        # The state is neither updated nor its generations removed while this job reads it.
        with kept_state.locked(lake_dir):
            update = update_state(spark, lake_dir)
            kept = kept_state.read(lake_dir)
            state = read_state(spark, lake_dir, kept) if kept is not None else None
            if state is None:  # a lake without consignments: nothing is known of anyone
                state = spark.createDataFrame([], _STATE_DDL)
            with assessments(
                items_of(spark, lake_dir, upto=update.last), None, state=state, model=model,
                start=start, end=end, partitions=parts, explain_all=explain_all,
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
    return SparkScoreResult(out, count, master, parts, seconds, count / seconds if seconds else 0.0,
                            update)  # fmt: skip


def state(
    *, lake_dir: Path, master: str = "local[2]", buckets: int | None = None, rebuild: bool = False
) -> StateUpdate:
    """``update_state`` of the lake at ``lake_dir`` on a session on ``master`` (the running
    one, if any, which is left running; one it starts, it stops)."""
    owned = _running() is None
    spark = session(master)
    try:
        with kept_state.locked(lake_dir):
            return update_state(spark, lake_dir, buckets=buckets, rebuild=rebuild)
    finally:
        if owned:
            spark.stop()


def _running() -> SparkSession | None:
    """The session ``getOrCreate`` would return instead of starting one, if any."""
    from pyspark.sql import SparkSession

    return SparkSession.getActiveSession()


@contextmanager
def assessments(
    items: DataFrame,
    outcomes: DataFrame | None,
    *,
    state: DataFrame | None = None,
    model: RiskModel,
    start: date,
    end: date,
    partitions: int,
    explain_all: bool = False,
) -> Iterator[DataFrame]:
    """The assessments (``risk.batch.ASSESSMENT_SCHEMA`` and ``model_version``) of the
    consignments of ``items`` lodged from ``start`` to ``end``, as a Spark frame to use inside
    the block. The entity state is read from ``state`` (a kept state's rows, ``read_state``)
    or, without it, built from the whole history that ``items`` and ``outcomes`` hold (as the
    first build of a kept state, in Spark), and joined to the period's parts by key (``state_by_part``). The
    model broadcast to the executors is destroyed when the block ends.

    >>> with assessments(items, outcomes, model=m, start=d1, end=d2, partitions=4) as found:
    ...     found.write.parquet("out")  # doctest: +SKIP
    """
    from pyspark.sql import functions as f

    spark = items.sparkSession
    since = datetime.combine(start, datetime.min.time(), UTC)
    until = datetime.combine(end + timedelta(days=1), datetime.min.time(), UTC)
    shipped = None
    try:
        period = items.filter((f.col("lodged_at") >= since) & (f.col("lodged_at") < until))
        if state is None:
            if outcomes is None:
                raise ValueError("assessments need a kept state or the outcomes to build one")
            # The state a kept state's first build writes (``update_state``), left in Spark.
            history = (items.select(*_STATE_ITEM_COLUMNS), outcomes.select(*_OUTCOME_COLUMNS))
            deltas = state_changes(history, None, partitions)
            state = folded(None, deltas.withColumn("bucket", state_bucket(partitions)))
        rows = state_by_part(period, state, since=since, until=until, partitions=partitions)
        token = uuid.uuid4().hex  # names this broadcast in the workers' cache
        shipped = spark.sparkContext.broadcast((token, pickle.dumps(model), explain_all))
        ship = shipped

        def assess(left: pa.Table, right: pa.Table) -> pa.Table:
            found = _polars(left)
            if found.is_empty():  # a part with state rows and no consignment (the global key)
                return pa.Table.from_batches([], schema=batchfn.ASSESSMENT_SCHEMA)
            loaded, every = _unpacked(ship.value)
            snapshot = batchfn.conform(
                _polars(right).drop("__part"), batchfn.STATE_SCHEMA, "the state"
            )
            batch = found.drop("__part").sort("consignment_id", "sequence").to_arrow()
            assessed = batchfn.assess_batch(
                batch, states=snapshot, model=loaded,
                explain_rows=Explain.ALL if every else Explain.AUTO,
            )  # fmt: skip
            return pa.Table.from_batches([assessed])

        yield (
            period.withColumn("__part", _part(partitions))
            .groupBy("__part")
            .cogroup(rows.groupBy("__part"))
            .applyInArrow(assess, _ASSESSMENT_DDL)
            .withColumn("model_version", f.lit(model.version))
        )
    finally:
        if shipped is not None:
            shipped.destroy()


_CACHE: dict[str, object] = {}


def _cached(token: str, build: Callable[[], T]) -> T:
    """What ``build`` gives, built once per Python worker and broadcast (``token`` names it;
    Spark reuses its workers from task to task and keeps the broadcast's value)."""
    if token not in _CACHE:
        if len(_CACHE) > 4:
            _CACHE.clear()
        _CACHE[token] = build()
    return cast(T, _CACHE[token])


def _unpacked(shipped: tuple[str, bytes, bool]) -> tuple[RiskModel, bool]:
    """The broadcast model and explain flag, the model unpickled once per Python worker, not
    per part."""
    token, blob, every = shipped

    def build() -> tuple[RiskModel, bool]:
        model = pickle.loads(blob)  # noqa: S301 - our own broadcast, not user input
        return model, every

    return _cached(token, build)


_DRIVER_OPTIONS = "spark.driver.extraJavaOptions"
#: The quick JIT compiler alone for a local session's short-lived JVM (``session``).
QUICK_JIT = "-XX:TieredStopAtLevel=1"


def local_driver_options() -> str:
    """The driver JVM options a local session starts with: the site's own (its
    ``spark-defaults.conf``, in ``SPARK_CONF_DIR`` or else ``SPARK_HOME/conf``), which a
    setting made by the session would replace, then ``QUICK_JIT``."""
    folder = os.environ.get("SPARK_CONF_DIR") or (
        os.path.join(os.environ["SPARK_HOME"], "conf") if "SPARK_HOME" in os.environ else None
    )
    site = None
    if folder is not None:
        try:
            lines = Path(folder, "spark-defaults.conf").read_text(encoding="utf-8").splitlines()
        except OSError:
            lines = []
        for line in lines:
            if line.lstrip().startswith(("#", "!")):
                continue
            parts = re.split(r"\s*[=:\s]\s*", line.strip(), maxsplit=1)
            if parts[0] == _DRIVER_OPTIONS and len(parts) == 2:
                site = parts[1].strip() or None
    return " ".join(filter(None, [site, QUICK_JIT]))
