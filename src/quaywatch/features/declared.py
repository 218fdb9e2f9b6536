"""Features from what a consignment declares: value, duty, goods, route and parties.

A goods item declares a value, a currency, a gross mass and an HS6 subheading; the consignment a
route and its parties. From those alone quaywatch derives the signals customs targeting has
always used: goods declared far cheaper per kilogram than such goods usually are
(undervaluation, or a misdeclared subheading), duty exposure, reefer cargo, transshipments and
the hubs passed, origin region, a lodging made late before arrival, an origin that differs
from the country of loading, and the AEO status of the trading parties.

"Far cheaper than usual" needs a reference: ``ValueReference`` learns, per HS6 subheading, the
median and a robust spread (1.4826 × MAD) of log value per kg from a training window, falling
back to the HS chapter and then to all goods when a subheading has too little reference
traffic. It learns from **reference traffic** (``features.reference``): each item weighs as
its consignment does at the window's end (under suspicion 0, a newcomer's 0.1, others 1), so
undervaluers cannot make their own prices the usual ones; the median and MAD are weighted.
It is fitted on the training window only and saved with the model, so scoring never looks at
the future.

    reference = ValueReference.fit(item_features(train_items), outcomes=known, at=until)
    features = consignment_features(item_features(items), reference)
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import polars as pl

from quaywatch.domain import reference as ref
from quaywatch.features import reference as traffic
from quaywatch.intake.entities import (
    KEY as KEY,
    PARTIES as PARTIES,
    entity_keys as entity_keys,
    lane as _lane,
    main_item as _main_item,
    per_consignment as per_consignment,
    value_eur as _value_eur,
)

#: Columns ``consignment_features`` produces besides the key and ``lodged_at``.
FEATURES = (
    "n_items", "n_containers", "total_value_eur", "total_mass_kg", "value_per_kg_eur",
    "value_z", "value_ratio", "value_hs6", "max_duty_pct", "duty_exposure_eur", "main_hs6", "main_chapter",
    "origin_country", "port_of_loading", "origin_region", "transshipments", "hubs", "lane",
    "reefer", "consignee_aeo", "consignor_aeo", "declarant_aeo", "lodged_hours_before_eta",
    "origin_differs_from_loading", "value_z_max", "value_ratio_max", "box_mismatch",
)  # fmt: skip
#: Columns ``consignment_features`` also produces for reasons and profiles; no model reads them.
CONTEXT = ("value_hs6_max", "box_hs6")
#: Of the features, the ones a model reads as categories.
CATEGORICAL = ("main_hs6", "value_hs6", "main_chapter", "origin_country", "port_of_loading",
               "origin_region", "hubs", "lane")  # fmt: skip

#: The columns ``item_features`` adds.
_ITEM_FEATURES = ("duty_pct", "value_eur", "value_per_kg_eur", "duty_eur", "log_value_per_kg",
                  "log_kg_per_package")  # fmt: skip
_MAD_TO_SIGMA = 1.4826
#: Value per kg below this (EUR) is treated as this: a log needs a positive number.
_FLOOR = 1e-3


def item_features(items: pl.DataFrame) -> pl.DataFrame:
    """Per goods item: value in EUR, value per kg and its log, duty rate and duty in EUR, and
    the log of gross kg per package (``risk.norms``' package norm).

    ``items`` has the columns of ``store.reads.goods_item_rows``. A currency without a
    reference rate gives a null value in EUR (and null value features), never a guess; an
    item of no packages (or of rows without ``packages``, made before they carried it) a null
    kg per package.
    Items that carry these columns already (what this returned) are returned as they are:
    the engine computes them once for the features and the traffic norms.
    """
    if set(_ITEM_FEATURES) <= set(items.columns):
        return items
    hs6 = items.get_column("hs6").unique()
    duty = pl.DataFrame(
        {"hs6": hs6, "duty_pct": [ref.duty_pct(code) for code in hs6]},
        schema={"hs6": pl.String, "duty_pct": pl.Float64},
    )
    return (
        items.join(duty, on="hs6", how="left", maintain_order="left")
        .with_columns(_value_eur().alias("value_eur"))
        .with_columns(
            (pl.col("value_eur") / pl.col("gross_mass_kg")).alias("value_per_kg_eur"),
            (pl.col("value_eur") * pl.col("duty_pct") / 100).alias("duty_eur"),
        )
        .with_columns(
            pl.col("value_per_kg_eur").clip(_FLOOR).log().alias("log_value_per_kg"),
            _log_kg_per_package(items.columns).alias("log_kg_per_package"),
        )
    )


def _log_kg_per_package(columns: list[str]) -> pl.Expr:
    """Log of gross kg per package; null without packages to divide by."""
    if "packages" not in columns:
        return pl.lit(None, pl.Float64)
    packages, mass = pl.col("packages").cast(pl.Float64), pl.col("gross_mass_kg")
    return pl.when((packages > 0) & (mass > 0)).then((mass / packages).log())


@dataclass(frozen=True, slots=True)
class ValueReference:
    """Median and robust spread of log value per kg, per HS6, per chapter, and overall.

    A subheading with less than ``min_items`` of reference weight (items of reference
    traffic) in the training window borrows its chapter's figures; a chapter with too little,
    the overall ones. ``basis`` counts the items it learnt from by standing.
    """

    by_hs6: dict[str, tuple[float, float]] = field(default_factory=dict)
    by_chapter: dict[str, tuple[float, float]] = field(default_factory=dict)
    overall: tuple[float, float] = (0.0, 1.0)
    min_items: int = 30
    #: Per HS6 with at least ``min_items`` items: the share of its items carried in a reefer.
    reefer_share: dict[str, float] = field(default_factory=dict)
    #: Items learnt from per standing (``features.reference.Standing``); empty in a reference
    #: saved before baselines were learnt from reference traffic.
    basis: dict[str, int] = field(default_factory=dict)

    @classmethod
    def fit(
        cls,
        items: pl.DataFrame,
        *,
        min_items: int = 30,
        outcomes: pl.DataFrame | None = None,
        at: datetime | None = None,
    ) -> ValueReference:
        """Learn the reference from ``item_features`` of the training window.

        Each item weighs as its consignment's standing as reference traffic at ``at`` (the
        latest lodging of ``items`` when not given) says, from ``outcomes`` recorded by then
        (``consignment_id``, ``result``, ``revenue_recovered_eur``, ``known_at``; None: no
        labels, only AEO status and party age) and the items' parties. Items without party
        keys (``consignee_key``, ``consignor_key``) all weigh 1.
        """
        reefer_share: dict[str, float] = {}
        if "container_size_type" in items.columns:
            boxes = (
                items.filter(
                    pl.col("container_size_type").is_not_null(), pl.col("hs6").is_not_null()
                )
                .group_by("hs6")
                .agg(_item_reefer().mean().alias("share"), pl.len().alias("n"))
                .filter(pl.col("n") >= min_items)
            )
            reefer_share = {str(k): float(v) for k, v in boxes.select("hs6", "share").iter_rows()}
        known = _weighed(items.filter(pl.col("log_value_per_kg").is_not_null()), outcomes, at)
        basis = {str(k): int(n) for k, n in known.group_by("_standing").len().iter_rows()}
        known = known.filter(pl.col("_weight") > 0)
        if known.is_empty():
            return cls(min_items=min_items, reefer_share=reefer_share, basis=basis)
        known = known.with_columns(pl.col("hs6").str.slice(0, 2).alias("_chapter"))

        def spread(by: list[str]) -> pl.DataFrame:
            """Weighted median and MAD of log value per kg per ``by`` (or overall)."""
            middle = traffic.weighted_quantiles(known, "log_value_per_kg", "_weight", [0.5], by=by)
            centred = (
                known.join(middle.select(*by, "q0.5"), on=by) if by
                else known.with_columns(pl.lit(middle["q0.5"][0]).alias("q0.5"))
            ).with_columns((pl.col("log_value_per_kg") - pl.col("q0.5")).abs().alias("_dev"))  # fmt: skip
            mad = traffic.weighted_quantiles(centred, "_dev", "_weight", [0.5], by=by)
            joined = (
                middle.join(mad.select(*by, pl.col("q0.5").alias("mad")), on=by) if by
                else middle.with_columns(pl.lit(mad["q0.5"][0]).alias("mad"))
            )  # fmt: skip
            # Weighted sums of 0.1s are not exact: a hair's margin below any one weight.
            return joined.filter(pl.col("weight") >= min_items - 1e-9)

        def table(by: str) -> dict[str, tuple[float, float]]:
            stats = spread([by]).select(by, "q0.5", "mad")
            return {str(key): (median, _scale(mad)) for key, median, mad in stats.iter_rows()}

        overall = spread([]).select("q0.5", "mad").row(0) if known.height else (0.0, None)
        return cls(
            by_hs6=table("hs6"),
            by_chapter=table("_chapter"),
            overall=(float(overall[0]), _scale(overall[1])),
            min_items=min_items,
            reefer_share=reefer_share,
            basis=basis,
        )

    def table(self, hs6: pl.Series) -> pl.DataFrame:
        """``hs6``'s distinct codes with the median and spread that apply to each, and the
        reefer share (null where the subheading had too few items)."""
        codes = hs6.unique().drop_nulls().to_list()
        chosen = [
            self.by_hs6.get(code) or self.by_chapter.get(code[:2]) or self.overall for code in codes
        ]
        return pl.DataFrame(
            {
                "hs6": codes,
                "_median": [median for median, _ in chosen],
                "_scale": [scale for _, scale in chosen],
                "_reefer_share": [self.reefer_share.get(code) for code in codes],
            },
            schema={"hs6": pl.String, "_median": pl.Float64, "_scale": pl.Float64,
                    "_reefer_share": pl.Float64},
        )  # fmt: skip

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready form, saved with the model."""
        return {
            "by_hs6": self.by_hs6, "by_chapter": self.by_chapter,
            "overall": list(self.overall), "min_items": self.min_items,
            "reefer_share": self.reefer_share, "basis": self.basis,
        }  # fmt: skip

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ValueReference:
        """The reference ``to_dict`` saved."""

        def pairs(mapping: dict[str, Any]) -> dict[str, tuple[float, float]]:
            return {k: (float(v[0]), float(v[1])) for k, v in mapping.items()}

        return cls(
            by_hs6=pairs(data["by_hs6"]),
            by_chapter=pairs(data["by_chapter"]),
            overall=(float(data["overall"][0]), float(data["overall"][1])),
            min_items=int(data["min_items"]),
            # A reference saved before reefer shares were learnt has none: box_mismatch is null.
            reefer_share={k: float(v) for k, v in data.get("reefer_share", {}).items()},
            # Saved before baselines learnt from reference traffic: learnt from all traffic.
            basis={k: int(v) for k, v in data.get("basis", {}).items()},
        )


def _weighed(
    items: pl.DataFrame, outcomes: pl.DataFrame | None, at: datetime | None
) -> pl.DataFrame:
    """``items`` with ``_standing`` and ``_weight``: how far each item's consignment is
    reference traffic at ``at`` (``features.reference.weights``)."""
    parties = [f"{role}_key" for role in traffic.TRADERS]
    if items.is_empty() or any(c not in items.columns for c in parties):
        return items.with_columns(
            pl.lit(traffic.Standing.ORDINARY.value).alias("_standing"), pl.lit(1.0).alias("_weight")
        )
    moment = at if at is not None else items.get_column("lodged_at").max()
    if not isinstance(moment, datetime):
        raise ValueError("the goods items lack lodging times")
    weights = traffic.item_weights(items, at=moment, outcomes=outcomes).select(
        "consignment_id", pl.col("standing").alias("_standing"), pl.col("weight").alias("_weight")
    )
    return items.join(weights, on="consignment_id", how="left").with_columns(
        pl.col("_standing").fill_null(traffic.Standing.ORDINARY.value),
        pl.col("_weight").fill_null(1.0),
    )


def _item_reefer() -> pl.Expr:
    """Whether a goods item travels in a reefer (ISO 6346 size/type group ``R``)."""
    return pl.col("container_size_type").str.slice(2, 1).eq("R")


def _scale(mad: float | None) -> float:
    """A robust standard deviation from a MAD; never zero, so a z-score stays finite."""
    if mad is None or not math.isfinite(mad):
        return 1.0
    return max(_MAD_TO_SIGMA * mad, 0.05)


def consignment_features(items: pl.DataFrame, reference: ValueReference) -> pl.DataFrame:
    """One row per consignment (``KEY``): ``lodged_at``, ``PARTIES`` and every ``FEATURES``.

    ``items`` comes from ``item_features``. ``value_z`` is the lowest robust z-score of an
    item's log value per kg against its subheading (the most undervalued item speaks for the
    consignment); ``value_ratio`` the matching ratio of value per kg to the reference median and
    ``value_hs6`` that item's subheading. ``value_z_max``, ``value_ratio_max`` and
    ``value_hs6_max`` are the same for the item declared most *above* its subheading's usual
    value: goods worth more per kg than what they are declared as is how a misclassification
    into a cheaper, lower-duty subheading shows. ``box_mismatch`` compares each item's
    container with how its subheading usually travels: the subheading's reefer share minus 1
    for an item in a reefer, minus 0 for one in a dry box; the highest over the items speaks,
    so reefer goods in a dry box are never hidden by another item (0.97: goods that travel in
    reefers 97 % of the time, declared in a dry box; -0.95: goods that nearly always travel dry,
    in a reefer, and no item the other way); ``box_hs6`` is that item's subheading.
    The main goods item, whose subheading, chapter and origin describe the consignment, is
    the one with the highest declared value.
    """
    scored = items.join(
        reference.table(items.get_column("hs6")), on="hs6", how="left"
    ).with_columns(
        ((pl.col("log_value_per_kg") - pl.col("_median")) / pl.col("_scale")).alias("_z"),
        (pl.col("log_value_per_kg") - pl.col("_median")).exp().alias("_ratio"),
        (pl.col("_reefer_share") - _item_reefer().cast(pl.Float64)).alias("_box"),
    )
    ports = ref.ports()
    regions = pl.DataFrame(
        {
            "port_of_loading": list(ports),
            "origin_region": [p.region or None for p in ports.values()],
        },
        schema={"port_of_loading": pl.String, "origin_region": pl.String},
    )
    aeo = [(pl.col(f"{role}_aeo").first().fill_null("NONE") != "NONE").alias(f"{role}_aeo")
           for role in ("consignee", "consignor", "declarant")]  # fmt: skip
    hubs = pl.col("transshipment_ports").fill_null("")
    out = (
        scored.group_by(*KEY, maintain_order=True)
        .agg(
            pl.col("lodged_at", "eta", "port_of_loading", "port_of_discharge", *PARTIES).first(),
            hubs.first().alias("hubs"),
            pl.len().cast(pl.Float64).alias("n_items"),
            pl.col("container_number").n_unique().cast(pl.Float64).alias("n_containers"),
            pl.col("value_eur").sum().alias("total_value_eur"),
            pl.col("gross_mass_kg").sum().alias("total_mass_kg"),
            pl.col("_z").min().alias("value_z"),
            _at_extreme("_ratio", "_z").alias("value_ratio"),
            _at_extreme("hs6", "_z").alias("value_hs6"),
            pl.col("_z").max().alias("value_z_max"),
            _at_extreme("_ratio", "_z", highest=True).alias("value_ratio_max"),
            _at_extreme("hs6", "_z", highest=True).alias("value_hs6_max"),
            _at_extreme("_box", "_box", highest=True).alias("box_mismatch"),
            _at_extreme("hs6", "_box", highest=True).alias("box_hs6"),
            pl.col("duty_pct").max().alias("max_duty_pct"),
            pl.col("duty_eur").sum().alias("duty_exposure_eur"),
            _main_item("hs6", pl.col("value_eur")).alias("main_hs6"),
            _main_item("origin_country", pl.col("value_eur")),
            pl.col("container_size_type").str.slice(2, 1).eq("R").any().alias("reefer"),
            *aeo,
        )
        .join(regions, on="port_of_loading", how="left", maintain_order="left")
        .with_columns(
            (pl.col("total_value_eur") / pl.col("total_mass_kg")).alias("value_per_kg_eur"),
            pl.col("main_hs6").str.slice(0, 2).alias("main_chapter"),
            pl.when(pl.col("hubs") == "")
            .then(0)
            .otherwise(pl.col("hubs").str.count_matches("|", literal=True) + 1)
            .cast(pl.Float64)
            .alias("transshipments"),
            _lane(),
            ((pl.col("eta") - pl.col("lodged_at")).dt.total_minutes() / 60)
            .cast(pl.Float64)
            .alias("lodged_hours_before_eta"),
            (pl.col("origin_country") != pl.col("port_of_loading").str.slice(0, 2)).alias(
                "origin_differs_from_loading"
            ),
        )
    )
    return out.select(*KEY, "lodged_at", *PARTIES, *FEATURES, *CONTEXT)


def _at_extreme(column: str, by: str | pl.Expr, *, highest: bool = False) -> pl.Expr:
    """``column`` of the item where ``by`` is lowest (or highest), the first such on a tie;
    items where it is null never speak for the consignment (when it is null for every item,
    the first item does, and its ``by`` is null). Stored items have a positive mass, so ``by``
    (a log value per kg against a reference) is finite or null, never infinite or NaN."""
    key = pl.col(by) if isinstance(by, str) else by
    if highest:
        return pl.col(column).get(key.fill_null(float("-inf")).arg_max())
    return pl.col(column).get(key.fill_null(float("inf")).arg_min())
