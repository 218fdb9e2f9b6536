"""The entities a stored consignment version names, and whether a control outcome is a hit.

Entity track records (``features.history``) and the entity state kept as data arrives
(``intake.entity_state``) must derive the same keys from the same goods items: the parties and
carrier, the main goods item's HS6 and origin (the item of highest declared value in EUR) and
the lane. Both layers read them from here, so there is one definition; ``features.declared``
and ``features.assessment`` re-export what they always offered.
"""

from __future__ import annotations

import polars as pl

from quaywatch.domain import reference as ref

KEY = ("consignment_id", "version")
#: Carried through for entity histories: who traded and carried, not features themselves.
PARTIES = ("consignee_key", "consignor_key", "declarant_key", "carrier_scac")
#: Entities whose track record informs an assessment: a feature prefix and its key columns.
ENTITY_COLUMNS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("consignee", ("consignee_key",)),
    ("consignor", ("consignor_key",)),
    ("declarant", ("declarant_key",)),
    ("carrier", ("carrier_scac",)),
    ("hs6", ("main_hs6",)),
    ("origin", ("origin_country",)),
    ("lane", ("lane",)),
    ("hs6_origin", ("main_hs6", "origin_country")),
    ("consignee_hs6", ("consignee_key", "main_hs6")),
)
#: Revenue recovered from which an irregularity counts as a hit. Below it are the clerical and
#: quantity discrepancies every large flow has; targeting is not for them, and as labels they
#: drown the fraud signal (a third of the irregularities in the legacy history, measured).
SIGNIFICANT_EUR = 1_000.0


def hit() -> pl.Expr:
    """Whether a control outcome is a hit: a seizure, or an irregularity worth recovering."""
    return (pl.col("result") == "SEIZURE") | (
        (pl.col("result") == "IRREGULAR") & (pl.col("revenue_recovered_eur") >= SIGNIFICANT_EUR)
    )


def value_eur() -> pl.Expr:
    """A goods item's declared value in EUR; null for a currency without a reference rate."""
    rates = ref.exchange_rates()
    return pl.col("value") * pl.col("currency").replace_strict(
        list(rates), list(rates.values()), default=None, return_dtype=pl.Float64
    )


def main_item(column: str, value: pl.Expr) -> pl.Expr:
    """``column`` of the consignment's main goods item: the one of highest declared value."""
    return pl.col(column).get(value.fill_null(-1.0).arg_max())


def lane() -> pl.Expr:
    """The consignment's lane: port of loading and port of discharge."""
    return (pl.col("port_of_loading") + "-" + pl.col("port_of_discharge")).alias("lane")


def entity_keys(items: pl.DataFrame) -> pl.DataFrame:
    """Per consignment: ``KEY``, ``lodged_at``, ``PARTIES``, ``main_hs6``, ``origin_country``, ``lane``.

    What entity histories need of the consignments known so far, and nothing else: a fraction
    of ``consignment_features``' work for the large history a scoring run reads.
    ``items`` are goods-item rows (``store.reads.goods_item_rows``).
    """
    return (
        per_consignment(
            items,
            pl.col("lodged_at", "port_of_loading", "port_of_discharge", *PARTIES).first(),
            main_item("hs6", value_eur()).alias("main_hs6"),
            main_item("origin_country", value_eur()),
        )
        .with_columns(lane())
        .drop("port_of_loading", "port_of_discharge")
    )


def per_consignment(items: pl.DataFrame, *aggregations: pl.Expr) -> pl.DataFrame:
    """``KEY`` and ``aggregations`` per consignment of ``items``, in order of first appearance.

    The same as ``items.group_by(*KEY, maintain_order=True).agg(...)``, but the readers return
    a consignment's items next to each other, and grouping runs of equal keys is then exact and
    cheaper than hashing the text key (``entity_keys`` of 3.3 million items: 1.3 s against 2.0
    s). Items of one consignment found in two places (a frame put together by hand) show as a
    key in two runs; such a frame is grouped the ordinary way. Where the aggregations dominate
    (``consignment_features``), the ordinary group-by is as fast and is kept.
    """
    runs = items.with_columns(pl.struct(*KEY).rle_id().alias("_run"))
    out = runs.group_by("_run", maintain_order=True).agg(pl.col(*KEY).first(), *aggregations)
    # A key in two runs repeats its hash; a collision of two keys only costs the slow path.
    if out.select(pl.struct(*KEY).hash().n_unique()).item() == out.height:
        return out.drop("_run")
    return items.group_by(*KEY, maintain_order=True).agg(*aggregations)
