"""Feed noise: what real declarations look like before anyone has cleaned them.

With ``noise`` > 0, about that share of consignments carries one invalid identifier (a wrong
container check digit, an unknown port, an HS code outside the nomenclature, a wrong IMO check
digit, "UK" for Great Britain) that intake must quarantine; as many again have a typo in a party
name and twice as many leave optional fields empty, both of which intake must accept. Every
change is made to all rows of a consignment alike, so rows never disagree because of noise.
"""

from __future__ import annotations

import numpy as np
import polars as pl

#: The kinds of invalid identifier, in the order their codes are drawn.
FAULTS = ("container_check_digit", "unknown_port", "unknown_hs6", "imo_check_digit", "country")
_OPTIONAL = ("consignee_phone", "consignee_email", "consignor_address", "vessel_name", "voyage",
             "place_of_delivery")  # fmt: skip


def add_noise(rows: pl.DataFrame, rng: np.random.Generator, n: int, noise: float) -> pl.DataFrame:
    """Corrupt the flat rows of ``n`` consignments (``_seq`` numbers them) at rate ``noise``."""
    if noise <= 0 or n == 0:
        return rows
    order = rng.permutation(n)
    bad = int(round(n * noise))
    fault = np.full(n, -1)
    fault[order[:bad]] = rng.integers(0, len(FAULTS), bad)
    typo = np.zeros(n, dtype=bool)
    typo[order[bad : 2 * bad]] = True
    blank = rng.random(n) < min(2 * noise, 1.0)
    plan = pl.DataFrame(
        {
            "_seq": np.arange(n),
            "_fault": fault,
            "_typo": typo,
            "_blank": blank,
            "_at": rng.integers(1, 6, n),
        }
    )
    f = pl.col("_fault")
    check = pl.col("container_number").str.slice(10, 1).cast(pl.Int64)
    imo = pl.col("vessel_imo")
    name = pl.col("consignee_name")
    rows = rows.join(plan, on="_seq", how="left", maintain_order="left")
    return rows.with_columns(
        pl.when(f == 0)
        .then(pl.col("container_number").str.slice(0, 10) + ((check + 1) % 10).cast(pl.String))
        .otherwise("container_number")
        .alias("container_number"),
        pl.when(f == 1)
        .then(pl.col("port_of_loading").str.slice(0, 2) + pl.lit("ZZZ"))
        .otherwise("port_of_loading")
        .alias("port_of_loading"),
        pl.when(f == 2).then(pl.lit("999999")).otherwise("hs6").alias("hs6"),
        pl.when(f == 3)
        .then(imo.str.slice(0, 6) + ((imo.str.slice(6, 1).cast(pl.Int64) + 1) % 10).cast(pl.String))
        .otherwise(imo)
        .alias("vessel_imo"),
        pl.when(f == 4).then(pl.lit("UK")).otherwise("origin_country").alias("origin_country"),
        # A dropped letter: the same trader now spelt two ways, as entity resolution must face.
        pl.when(pl.col("_typo"))
        .then(name.str.slice(0, pl.col("_at")) + name.str.slice(pl.col("_at") + 1))
        .otherwise(name)
        .alias("consignee_name"),
        *(pl.when(pl.col("_blank")).then(None).otherwise(pl.col(c)).alias(c) for c in _OPTIONAL),
    ).drop("_fault", "_typo", "_blank", "_at")
