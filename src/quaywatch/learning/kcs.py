"""The public KCS benchmark: Customs Import Declaration Datasets (Jeong et al., arXiv 2208.02484).

54,000 CTGAN-synthetic import declarations modelled on Korea Customs Service data, with an
official time split (train 2020, valid 2021 Q1, test 2021 Q2) and labels ``Fraud`` (0/1) and
``Critical Fraud`` (0/1/2). This module reads the three CSV files and builds the features; the
run itself (train, early-stop, report) is in ``kcs_run``.

Features go through ``features.history`` like quaywatch's own consignments: each declaration is
scored with the track record of its importer, declarant, seller, HS code, origin and their
combinations **as of its date**. What each split may see, so that no label leaks:

- declarations (not labels) of every split are history: that a declaration was lodged is known
  on its date, and only earlier dates count;
- labels are released at the close of their quarter (``release="quarter"``, the default): a
  row sees the labels of earlier quarters only. Valid is one quarter (2021 Q1), so valid rows
  never see a valid label (valid serves only early stopping and calibration), and test rows
  (2021 Q2) see train and valid labels: they precede the test period, as a customs office
  would have them when the quarter starts. Releasing train labels quarterly too keeps the
  training features as stale as the test features; ``release="day"`` (labels known on the
  declaration date, seen from the next day) was compared on valid and did slightly worse;
- test labels are never read into a feature.

What the data allows (measured on valid, see ``kcs_run.VARIANTS``): the party ids of these
synthetic rows carry no label signal (the as-of importer, declarant and seller hit rates have
an AUC of 0.50 on every split), so their histories only add noise, and the counts grow with the
calendar. The HS6 hit rate carries signal, but no more than the raw columns already do. The
benchmark therefore runs on the raw and derived columns; the histories stay one option away.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import polars as pl

from quaywatch.errors import InputError, RecordError
from quaywatch.features.history import Entity, as_of_history, feature_names

SPLITS = ("train", "valid", "test")
FILES = {split: f"df_syn_{split}_eng.csv" for split in SPLITS}

#: Every column the files must have, with the polars dtype it is read as.
COLUMNS: dict[str, pl.DataType] = {
    "Declaration ID": pl.String(),
    "Date": pl.Date(),
    "Office ID": pl.String(),
    "Process Type": pl.String(),
    "Import Type": pl.String(),
    "Import Use": pl.String(),
    "Payment Type": pl.String(),
    "Mode of Transport": pl.String(),
    "Declarant ID": pl.String(),
    "Importer ID": pl.String(),
    "Seller ID": pl.String(),
    "Courier ID": pl.String(),
    "HS6 Code": pl.String(),
    "Country of Departure": pl.String(),
    "Country of Origin": pl.String(),
    "Tax Rate": pl.Float64(),
    "Tax Type": pl.String(),
    "Country of Origin Indicator": pl.String(),
    "Net Mass": pl.Float64(),
    "Item Price": pl.Float64(),
    "Fraud": pl.Int64(),
    "Critical Fraud": pl.Int64(),
}
LABELS = {"Fraud": (0, 1), "Critical Fraud": (0, 1, 2)}

#: Low-cardinality columns the model reads directly as native categoricals.
CATEGORICALS = (
    "Office ID", "Process Type", "Import Type", "Import Use", "Payment Type", "Mode of Transport",
    "Tax Type", "Country of Origin Indicator", "Country of Departure", "Country of Origin", "hs2",
)  # fmt: skip
NUMERIC = ("Tax Rate", "log_mass", "log_price", "log_price_per_kg", "origin_differs")

#: The entities whose as-of histories become features (a tuple of columns: a combination).
ENTITIES = (
    Entity("importer", ("Importer ID",)),
    Entity("declarant", ("Declarant ID",)),
    Entity("seller", ("Seller ID",)),
    Entity("courier", ("Courier ID",)),
    Entity("hs6", ("HS6 Code",)),
    Entity("hs4", ("hs4",)),
    Entity("origin", ("Country of Origin",)),
    Entity("office", ("Office ID",)),
    Entity("importer_hs6", ("Importer ID", "HS6 Code")),
    Entity("hs6_origin", ("HS6 Code", "Country of Origin")),
    Entity("declarant_importer", ("Declarant ID", "Importer ID")),
    Entity("seller_importer", ("Seller ID", "Importer ID")),
    Entity("declarant_hs6", ("Declarant ID", "HS6 Code")),
    Entity("importer_origin", ("Importer ID", "Country of Origin")),
    Entity("office_hs6", ("Office ID", "HS6 Code")),
)


@dataclass(frozen=True, slots=True)
class Splits:
    """The three splits, rows in date order, with a ``split`` column."""

    train: pl.DataFrame
    valid: pl.DataFrame
    test: pl.DataFrame

    def all(self) -> pl.DataFrame:
        """The three splits stacked, in split order."""
        return pl.concat([self.train, self.valid, self.test])


def read_split(path: Path, split: str) -> pl.DataFrame:
    """One KCS CSV, typed as ``COLUMNS``; an ``InputError`` naming the file, line and column."""
    source = str(path)
    if not path.is_file():
        raise InputError("file not found", source=source)
    try:
        raw = pl.read_csv(path, infer_schema=False)
    except (pl.exceptions.PolarsError, OSError) as exc:
        raise InputError(f"not a readable CSV file: {exc}", source=source) from None
    missing = [c for c in COLUMNS if c not in raw.columns]
    if missing:
        raise InputError(f"missing column(s): {', '.join(missing)}", source=source)
    typed = {}
    for column, dtype in COLUMNS.items():
        stripped = pl.col(column).str.strip_chars()
        text = pl.when(stripped != "").then(stripped)
        parsed = (
            text.str.to_date("%Y-%m-%d", strict=False)
            if dtype == pl.Date
            else text.cast(dtype, strict=False)
        )
        checked = raw.select(parsed.alias("value"), text.is_not_null().alias("given"))
        value = checked["value"]
        bad = value.is_null() & checked["given"]
        if column in LABELS or column == "Date":  # required: a missing value is bad too
            bad = bad | value.is_null()
        if column in LABELS:
            bad = bad | ~value.is_in(LABELS[column]).fill_null(False)
        if bad.any():
            line = int(bad.arg_true()[0]) + 2  # the header is line 1
            shown = raw[column][line - 2]
            raise RecordError(
                f"cannot read {shown!r} as {dtype}"
                + (f" (allowed: {LABELS[column]})" if column in LABELS else ""),
                source=source, location=f"line {line}", field=column,
                record_id=raw["Declaration ID"][line - 2],
            )  # fmt: skip
        typed[column] = value.alias(column)
    return pl.DataFrame(typed).with_columns(pl.lit(split).alias("split")).sort("Date")


def read_splits(directory: Path, sample: int | None = None, seed: int = 0) -> Splits:
    """The three splits from ``directory``; with ``sample``, that many random rows of each."""
    frames = {}
    for split in SPLITS:
        frame = read_split(directory / FILES[split], split)
        if sample is not None and sample < frame.height:
            frame = frame.sample(sample, seed=seed).sort("Date")
        frames[split] = frame
    return Splits(**frames)


def derived(frame: pl.DataFrame) -> pl.DataFrame:
    """Simple per-row features: HS chapter and heading, logs of mass, price and price per kg."""
    return frame.with_columns(
        pl.col("HS6 Code").str.slice(0, 2).alias("hs2"),
        pl.col("HS6 Code").str.slice(0, 4).alias("hs4"),
        pl.col("Net Mass").clip(0).log1p().alias("log_mass"),
        pl.col("Item Price").clip(0).log1p().alias("log_price"),
        (pl.col("Item Price").clip(0).log1p() - pl.col("Net Mass").clip(0).log1p()).alias(
            "log_price_per_kg"
        ),
        (pl.col("Country of Departure") != pl.col("Country of Origin"))
        .cast(pl.Float64)
        .alias("origin_differs"),
    )


def with_history(
    splits: Splits,
    entities: tuple[Entity, ...] = ENTITIES,
    prior_weight: float = 10.0,
    release: str = "quarter",
) -> pl.DataFrame:
    """All rows with derived and as-of history features (see the module docstring for what
    each split may see). Row order: train, valid, test, each by date."""
    if release not in ("quarter", "day"):
        raise ValueError(f"release must be 'quarter' or 'day', got {release!r}")
    rows = derived(splits.all())
    date = pl.col("Date")
    quarter_close = date.dt.truncate("1q").dt.offset_by("1q").dt.offset_by("-1d")
    valid_close = quarter_close if release == "quarter" else pl.lit(splits.valid["Date"].max())
    outcomes = pl.concat(
        [
            splits.train.select(
                *_keys(entities), "Fraud", known_at=quarter_close if release == "quarter" else date
            ),
            splits.valid.select(*_keys(entities), "Fraud", known_at=valid_close),
        ]
    )
    outcomes = derived_keys(outcomes).with_columns(hit=pl.col("Fraud") == 1)
    history = derived_keys(rows.select(*_keys(entities), seen_at=pl.col("Date")))
    return as_of_history(
        rows,
        history=history,
        outcomes=outcomes,
        entities=entities,
        at="Date",
        prior_weight=prior_weight,
    )


def _keys(entities: tuple[Entity, ...]) -> list[str]:
    raw = {c for e in entities for c in e.columns} - {"hs4"}
    return sorted(raw | {"HS6 Code"})


def derived_keys(frame: pl.DataFrame) -> pl.DataFrame:
    """The key columns that are derived (``hs4``), for history and outcome frames."""
    return frame.with_columns(pl.col("HS6 Code").str.slice(0, 4).alias("hs4"))


def model_inputs(
    frame: pl.DataFrame,
    entities: tuple[Entity, ...] = ENTITIES,
    kinds: tuple[str, ...] = ("hit_rate",),
) -> pl.DataFrame:
    """The columns the model reads: raw categoricals, numbers and the chosen history features.

    ``kinds`` picks which history features of each entity go in (suffixes of
    ``features.history.feature_names``: ``records``, ``days_since_first``, ``controls``,
    ``hits``, ``hit_rate``). The high-cardinality ids (importer, declarant, seller) never go in
    as raw categoricals: as categories they overfit, and their histories carry what is
    learnable about them.
    """
    history = [name for e in entities for name in feature_names(e) if name.endswith(kinds)]
    return frame.select(*CATEGORICALS, *NUMERIC, *history)
