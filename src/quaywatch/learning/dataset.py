"""Ground truth: what each consignment really was, and its join to what the store holds.

The synthetic traffic generator knows, for every consignment it writes (also the ones never
inspected), whether it is illicit, by which fraud pattern, the revenue at stake and the true
goods. It saves that as a Parquet file with exactly ``TRUTH_SCHEMA``'s columns, keyed like the
store by (consignment_id, version). Only evaluation reads it; no scorer may.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import polars as pl

from quaywatch.errors import InputError
from quaywatch.learning.evaluate import Unmatched
from quaywatch.store import reads
from quaywatch.store.store import Store

#: The columns of a ground-truth file and their types.
TRUTH_SCHEMA: dict[str, pl.DataType] = {
    "consignment_id": pl.String(),
    "version": pl.Int64(),
    "lodged_at": pl.Datetime("us", "UTC"),
    "illicit": pl.Boolean(),
    "pattern": pl.String(),
    "revenue_at_stake_eur": pl.Float64(),
    "critical": pl.Boolean(),
    "displaced": pl.Boolean(),
    "true_hs6": pl.String(),
    "true_value_eur": pl.Float64(),
}
#: The natural key shared with the store's ``consignments`` table.
KEY = ["consignment_id", "version"]
#: Unmatched truth rows named in a report (the rest are counted).
EXAMPLES = 5
#: Columns that evaluation cannot do without: a missing value there is an error.
_NOT_NULL = ["consignment_id", "version", "illicit", "pattern", "revenue_at_stake_eur", "critical"]


def _compatible(found: pl.DataType, wanted: pl.DataType) -> bool:
    """Whether ``found`` converts to ``wanted`` without losing meaning."""
    if found == wanted:
        return True
    if isinstance(wanted, pl.Datetime):
        # Any resolution will do; a time without a zone is ambiguous and refused.
        return isinstance(found, pl.Datetime) and found.time_zone is not None
    if wanted == pl.Int64():
        return found.is_integer()
    if wanted == pl.Float64():
        return found.is_numeric()
    return False


def load_truth(path: Path) -> pl.DataFrame:
    """Read and check a ground-truth Parquet file; return it with ``TRUTH_SCHEMA``'s types.

    Raises ``InputError`` naming the file, and the column where one is at fault, when the file
    is missing or unreadable, lacks a column, has a column of the wrong type, misses a value
    evaluation needs, or holds a (consignment_id, version) twice. Extra columns are ignored.
    """
    source = str(path)
    if not path.is_file():
        raise InputError("no such file", source=source)
    try:
        schema = pl.read_parquet_schema(path)
    except Exception as exc:  # polars and pyarrow raise several types for a bad file
        raise InputError(f"not a readable Parquet file ({exc})", source=source) from exc
    missing = [name for name in TRUTH_SCHEMA if name not in schema]
    if missing:
        raise InputError(
            f"missing column{'s' if len(missing) > 1 else ''} {', '.join(missing)}", source=source
        )
    for name, wanted in TRUTH_SCHEMA.items():
        if not _compatible(schema[name], wanted):
            raise InputError(f"column {name} is {schema[name]}, expected {wanted}", source=source)
    try:
        frame = pl.read_parquet(path, columns=list(TRUTH_SCHEMA))
    except Exception as exc:
        raise InputError(f"not a readable Parquet file ({exc})", source=source) from exc
    frame = frame.with_columns(
        pl.col("lodged_at").dt.convert_time_zone("UTC").dt.cast_time_unit("us"),
        *(pl.col(n).cast(t) for n, t in TRUTH_SCHEMA.items() if n != "lodged_at"),
    )
    nulls = frame.select(pl.col(_NOT_NULL).null_count()).row(0, named=True)
    for name, count in nulls.items():
        if count:
            raise InputError(f"column {name} has {count} missing values", source=source)
    if frame.select((pl.col("revenue_at_stake_eur") < 0).any()).item():
        raise InputError("column revenue_at_stake_eur has negative values", source=source)
    repeated = frame.group_by(KEY, maintain_order=True).len().filter(pl.col("len") > 1)
    if repeated.height:
        first = repeated.row(0, named=True)
        raise InputError(
            f"{repeated.height} (consignment_id, version) pairs appear more than once, e.g. "
            f"{first['consignment_id']} version {first['version']}",
            source=source,
        )
    return frame


def consignments_with_truth(store: Store, truth: pl.DataFrame) -> pl.DataFrame:
    """The newest version of every stored consignment, with its ground truth where known.

    Joined on (consignment_id, version). Every stored consignment is kept: one without a
    matching truth row (say truth was written for version 1 and an amendment made it version
    2) has null truth columns, and ``evaluate`` counts and reports those rather than letting
    them vanish. ``lodged_at`` is the store's, the time the consignment was known to customs.
    The truth rows that match no stored consignment are ``unmatched_truth``'s to report.
    """
    consignments = reads.latest_consignments(store)
    return consignments.join(truth.drop("lodged_at"), on=KEY, how="left")


def unmatched_truth(stored: pl.DataFrame, truth: pl.DataFrame, *, since: datetime) -> Unmatched:
    """The ground-truth rows whose consignment the store never held, and what they were.

    ``stored`` holds the stored consignments (``consignment_id`` at least, e.g. the frame of
    ``consignments_with_truth``), ``truth`` the file's rows (``load_truth``). A truth row counts
    when no version of its consignment is stored; it belongs to the evaluated period when the
    truth file says it was lodged at or after ``since``. Those are the rows an evaluation
    would otherwise lose without a word: a feed that dropped a day, a batch quarantined at
    intake, an import that never ran. ``since`` must be timezone-aware.
    """
    if since.tzinfo is None:
        raise ValueError("since must be timezone-aware")
    missing = truth.join(stored.select("consignment_id").unique(), on="consignment_id", how="anti")
    period = pl.col("lodged_at") >= since
    inside = missing.filter(period)
    illicit = inside.filter(pl.col("illicit"))
    counts = illicit.group_by("pattern").len().sort("pattern")
    # Illicit ones first: they are the ones whose absence flatters recall.
    named = (
        inside.sort(~pl.col("illicit"), "consignment_id")
        .get_column("consignment_id")
        .unique(maintain_order=True)
        .head(EXAMPLES)
    )
    return Unmatched(
        rows=inside.height,
        illicit=illicit.height,
        patterns=dict(zip(counts["pattern"].to_list(), counts["len"].to_list(), strict=True)),
        examples=tuple(named.to_list()),
        before_split=missing.height - inside.height,
    )
