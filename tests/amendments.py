"""Amendments of generated consignments, for the tests of state kept as data arrives.

``amendments(first, controlled, out)`` writes version 2 of eight consignments of the
consignment file ``first`` (four already controlled, four not): lodged two days later, with the
last consignment's consignee; ``controlled(outcome_files)`` gives the consignments that the
outcome files name. tests/ is on the import path through tests/conftest.py.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import polars as pl

CONSIGNEE = [f"consignee_{n}" for n in ("name", "address", "country", "eori", "aeo", "phone",
                                         "email")]  # fmt: skip


def controlled(outcome_files: list[Path]) -> set[str]:
    """The consignments the generated outcome files name."""
    frames = [pl.read_csv(p, infer_schema=False) for p in outcome_files]
    return set(pl.concat(frames).get_column("consignment_id").to_list())


def amendments(first: Path, controlled: set[str], out: Path) -> Path:
    """Version 2 of some consignments of ``first``: lodged two days later, another consignee."""
    frame = pl.read_csv(first, infer_schema=False)
    ids = frame.get_column("consignment_id").unique(maintain_order=True).to_list()
    chosen = [i for i in ids if i in controlled][:4] + [i for i in ids if i not in controlled][:4]
    donor = frame.filter(pl.col("consignment_id") == ids[-1]).row(0, named=True)
    lodged = pl.col("lodged_at").str.to_datetime(time_zone="UTC") + timedelta(days=2)
    amended = frame.filter(pl.col("consignment_id").is_in(chosen)).with_columns(
        pl.lit("2").alias("version"),
        lodged.dt.strftime("%Y-%m-%dT%H:%M:%SZ").alias("lodged_at"),
        *(pl.lit(donor[c], pl.String).alias(c) for c in CONSIGNEE),
    )
    path = out / "amendments.csv"
    amended.write_csv(path)
    return path
