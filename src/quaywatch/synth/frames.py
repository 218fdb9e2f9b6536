"""Generated traffic as the frames the store would return, without a store.

The policy lab and the scoring benchmark replay months of generated traffic through the risk
engine and selection many times over; importing it into a database first would cost more than
the replay. These read the generator's CSV files straight into the shapes of
``store.reads.goods_item_rows`` and ``store.reads.control_outcomes``.

That is sound only for what the generator writes with ``noise=0``: every record valid and
already normalised, so casting is enough (intake is measured by its own tests and benchmarks).
Party keys: intake hashes the normalised party fields with SHA-256; here polars' ``hash`` of the
same fields stands in, a stable key per distinct party within a run, which is all entity
histories need.
"""

from __future__ import annotations

from pathlib import Path

import polars as pl

_ROLES = ("consignee", "consignor", "declarant")


def _utc(column: str) -> pl.Expr:
    return (
        pl.col(column)
        .str.to_datetime("%Y-%m-%dT%H:%M:%SZ", time_unit="us")
        .dt.replace_time_zone("UTC")
    )


def _party_key(role: str) -> pl.Expr:
    fields = [pl.col(f"{role}_{name}").fill_null("") for name in
              ("name", "address", "country", "eori", "aeo", "phone", "email")]  # fmt: skip
    return pl.concat_str(fields, separator="\x1f").hash().cast(pl.String).alias(f"{role}_key")


def goods_item_rows(files: list[Path]) -> pl.DataFrame:
    """The generated consignment CSVs as ``reads.goods_item_rows`` returns them: same columns,
    same types, same order (what risk features read, nothing more)."""
    columns = [
        "consignment_id", pl.col("version").cast(pl.Int64), _utc("lodged_at"), _utc("eta"),
        "carrier_scac", "port_of_loading", "transshipment_ports", "port_of_discharge",
        *(_party_key(role) for role in _ROLES),
        *(pl.col(f"{role}_aeo").fill_null("NONE") for role in _ROLES),
        pl.col("item_sequence").cast(pl.Int64).alias("sequence"), "hs6", "description",
        pl.col("packages").cast(pl.Int64), "package_type",
        pl.col("gross_mass_kg", "value").cast(pl.Float64), "currency", "origin_country",
        "container_number", "container_size_type",
    ]  # fmt: skip
    frame = pl.scan_csv(files, infer_schema=False).select(columns)
    return frame.sort("consignment_id", "sequence").collect()


def control_outcomes(files: list[Path]) -> pl.DataFrame:
    """The generated outcome CSVs as ``reads.control_outcomes`` would return them."""
    return (
        pl.scan_csv(files, infer_schema=False)
        .with_columns(
            pl.col("version").cast(pl.Int64),
            pl.col("propensity", "seizure_quantity").cast(pl.Float64),
            pl.col("revenue_recovered_eur").cast(pl.Float64).fill_null(0.0),
            _utc("controlled_at"),
            _utc("known_at"),
        )
        .sort("known_at", "control_id")
        .collect()
    )
