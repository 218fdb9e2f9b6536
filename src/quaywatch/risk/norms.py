"""Risk without labels: how unusual a declaration is against the port's own traffic.

A port adopting quaywatch has few control outcomes, and those it has describe yesterday's
methods. What it always has is its traffic: thousands of declarations a day, nearly all of them
honest. ``TrafficNorms`` learns from them, with no outcome at all, what is *usual*, and reports
a declaration that departs from it as a hit (source ``unusual``) with a reason an officer can
check against the figures it quotes:

``unusual:value_low`` / ``unusual:value_high``
    an item's value per kg far below (undervaluation, a cheap look-alike) or far above (goods
    declared under a cheaper subheading than they are) what the same subheading from the same
    origin usually declares: a robust z-score (median and 1.4826 × MAD of log value per kg)
    against HS6 × origin, or HS6 alone where that pair is thin; or a consignment whose every
    item is on the same side of its norm, together as far (``_together``: an undervaluing
    declarant cuts the whole invoice);
``unusual:package_heavy`` / ``unusual:package_light``
    an item whose gross kg per package is far above (something denser than the goods inside
    the packages: concealment) or far below (lighter goods than declared) what the same
    subheading in the same kind of package (UN/ECE rec. 21 code) usually weighs: the same
    robust z-score of log kg per package against HS6 × package type × origin, or HS6 ×
    package type alone where that triple is thin (a kilogram per package means nothing across
    kinds of package: a carton is not a drum); bulk and unpacked goods (``UNPACKED``) have no
    package to weigh;
``unusual:value_own_past``
    an item declared at a fraction of what its own consignor usually declares for that
    subheading: a trader's own history is the sharpest norm there is;
``unusual:route``
    transshipment hubs that traffic from that origin country almost never takes (or that no
    traffic takes);
``unusual:goods_origin``
    goods (HS chapter) that the origin country almost never ships here;
``unusual:consignee_goods``, ``unusual:consignee_origin``
    an established consignee receiving goods, or from a country, it has never received before;
``unusual:description_hs``
    an item whose description reads as another subheading than the one declared, or names
    the goods of another, weighed by the duty at stake (``risk.description_norm``: which
    words the port's traffic uses for which subheading).

**Reference traffic.** The norms are learnt from the traffic of a window (the model's training
window) *without* the consignments under suspicion by then (``suspect``; training passes those
whose own control, or one of their consignee's or consignor's, found something:
``features.reference``): a method that was caught does not get to define normal. Everything else counts, because without labels there
is nothing else to go on; a flow that is both frequent and criminal will look usual, which is
what the learned model and the analysts' profiles are for.

**Weights.** Each hit carries a shipped weight (log-odds, ``risk.combine``), growing with how
far the declaration departs from the norm for prices and package weights: the weight for a
port with few labels, about half what a calibration run found each code adds given a weak
model (``WEIGHTS``). The package hits could not be calibrated so (generated traffic draws kg
per package per kind of goods, not per declaration: it never departs from its norm); they
weigh half a value hit at the same departure, for an odd package is a question for the scan or
the examination, often answered by a clerical slip (pallets counted as packages). They are
priors: ``quaywatch weights fit`` refits every hit code's weight on the site's own outcomes,
shrunk toward these, so where a signal proves strong (or redundant with the model) locally its
weight follows the evidence.

**Thresholds.** A norm needs support before it speaks: ``MIN_PAIR`` items for an HS6 × origin
value norm (``MIN_HS6`` for HS6 alone; the same for HS6 × package type × origin and HS6 ×
package type), ``MIN_OWN`` items for a consignor's own norm, ``MIN_PARTY`` consignments of a
consignee before its novelties count. A declaration unlike anything seen but with no norm to
compare is left to the model (a never-seen party is one of its features). A package departs
from its norm only at ``Z_PACKAGE`` (beyond the value's 3.5: a package count is easily
mistyped) and never by less than a factor of two (``_MIN_PACKAGE_SCALE``). Route and goods
shares need no minimum: an origin's share of a value is shrunk toward the port-wide share by
``PRIOR_ORIGIN`` consignments, ``(n + a·p) / (N + a)`` for a value seen ``n`` times in the
origin's ``N`` consignments and a share ``p`` of all traffic. An origin with little traffic then
speaks with the port's voice (live animals are rare from anywhere), one with much traffic with
its own (bananas from Ecuador are not rare), and a hub or chapter never seen at all is rare
from every origin.

The norms are a value, saved with the model (``risk.bundle``) and fitted only on the window
before the model's ``until``; assessing with them reads nothing else, so scoring one
consignment costs a few joins.

    norms = TrafficNorms.fit(item_features(items), consignments, suspect=keys_with_hits)
    hits = norms.hits(item_features(batch_items), batch_consignments)
"""

from __future__ import annotations

import functools
import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast

import polars as pl

from quaywatch.features import declared
from quaywatch.risk import hits as hitframe
from quaywatch.risk.description_norm import DescriptionNorm
from quaywatch.risk.explain import Source
from quaywatch.risk.wording import chosen, word, worded

#: Support a norm needs before it speaks (see the module docstring).
MIN_PAIR, MIN_HS6, MIN_OWN, MIN_PARTY = 20, 30, 5, 10
#: Consignments of port-wide traffic an origin's route and goods shares are shrunk with.
PRIOR_ORIGIN = 50
#: Robust z-score beyond which an item's value per kg is unusual for its goods and origin.
Z_UNUSUAL = 3.5
#: A consignor's item at or below this share of its own usual value per kg for the subheading.
OWN_SHARE = 0.4
#: Chance of a novelty below which a consignee's new goods or origin is unusual (Good-Turing).
NOVEL_P = 0.05
#: Share of an origin's traffic below which its route (hubs) or goods chapter is unusual.
RARE_SHARE = 0.005
#: Robust z-score beyond which an item's gross kg per package is unusual for its goods and kind
#: of package: stricter than prices', for a count of packages is easily mistyped.
Z_PACKAGE = 4.0
#: Package types with no package to weigh (UN/ECE rec. 21): bulk (gas, liquid, solids) and
#: unpacked goods. "Unpacked, one unit" and "several units" (NF, NG) stay: a car or a machine
#: declared by the unit has a usual weight per unit, which is what the norm then compares.
UNPACKED = frozenset({"VG", "VL", "VO", "VQ", "VR", "VS", "VY", "NE"})
_MAD_TO_SIGMA = 1.4826
#: Smallest robust spread of log value per kg: identical declarations would make any z infinite.
_MIN_SCALE = 0.1
#: Smallest robust spread of log kg per package: a package unusual at ``Z_PACKAGE`` weighs at
#: least twice, or at most half, the usual (cartons of one size make the spread near zero, and
#: the next size up is not a concealment).
_MIN_PACKAGE_SCALE = math.log(2) / Z_PACKAGE
#: ``TrafficNorms.package`` when there is none (norms saved before it existed, items without
#: packages).
_PACKAGE_SCHEMA = pl.Schema({
    "hs6": pl.String(), "package_type": pl.String(), "origin_country": pl.String(),
    "median": pl.Float64(), "scale": pl.Float64(), "n": pl.UInt32(),
})  # fmt: skip
#: The consignment's key and the source of every hit here, as columns of a hits frame.
_KEY = tuple(pl.col(name) for name in declared.KEY)
_SOURCE = pl.lit(Source.UNUSUAL.value).alias("source")
_FILES = ("value", "own", "routes", "goods", "consignee_goods", "consignee_origin")


def _weight_value(z: pl.Expr) -> pl.Expr:
    """Shipped weight of a value hit: 1.25 at the threshold, +0.25 per z beyond, at most 2.25."""
    return (1.25 + 0.25 * (z.abs() - Z_UNUSUAL)).clip(1.25, 2.25)


def _weight_package(z: pl.Expr) -> pl.Expr:
    """Shipped weight of a package hit: 0.6 at the threshold, +0.1 per z beyond, at most 1.0
    (about half a value hit's at the same departure; see the module docstring)."""
    return (0.6 + 0.1 * (z.abs() - Z_PACKAGE)).clip(0.6, 1.0)


#: Shipped weights of the other hits (log-odds: 0.7 ≈ doubles the odds), and of the value hits
#: (``_weight_value``): about half what each code added given a model trained on a few dozen hits
#: on a calibration run of generated traffic (seed 3, never the seed evaluations report: value
#: hits +3.0 to +3.6, own past +1.7, goods for the origin +1.7, a consignee's new goods +1.1,
#: its new origin +0.3), the route's held down to 0.4 (there it added +2.0 given the model but
#: lifted the hit rate only 1.7 times: a weak model's offset, not the route, spoke).
WEIGHTS = {"value_own_past": 0.8, "route": 0.4, "goods_origin": 0.8,
           "consignee_goods": 0.5, "consignee_origin": 0.2}  # fmt: skip


@dataclass(frozen=True, slots=True)
class _Shares:
    """A share table (``TrafficNorms.routes`` or ``goods``) as ``_share_hits`` reads it: the
    origins' counts of each value (``pairs``), their ``totals``, the port-wide counts
    (``overall``: ``port_n``) and the port's consignments (``port_total``)."""

    pairs: pl.DataFrame
    totals: pl.DataFrame
    overall: pl.DataFrame
    port_total: int

    @classmethod
    def of(cls, table: pl.DataFrame, column: str) -> _Shares | None:
        """``table`` (``_shares``) split by origin; None where it has no port-wide row."""
        pairs = table.filter(pl.col("origin_country").is_not_null())
        overall = table.filter(pl.col("origin_country").is_null()).select(
            column, pl.col("n").alias("port_n"), pl.col("total").alias("port_total")
        )
        most = overall.get_column("port_total").max() if overall.height else None
        if most is None:
            return None
        return cls(
            pairs=pairs.drop("total"),
            totals=pairs.select("origin_country", "total").unique(),
            overall=overall.drop("port_total"),
            port_total=cast(int, most),  # an Int64 column's
        )


@dataclass(frozen=True, slots=True)
class TrafficNorms:
    """What the port's reference traffic usually declares (see the module docstring).

    Tables (polars frames): ``value`` (``hs6``, ``origin_country`` (null: HS6 alone),
    ``median``, ``scale``, ``n``), ``own`` (``consignor_key``, ``hs6``, ``median``, ``n``),
    ``routes`` (``origin_country`` (null: port-wide), ``hubs``, ``n``, ``total``), ``goods``
    (the same for ``main_chapter``), ``consignee_goods`` (``consignee_key``,
    ``main_chapter``), ``consignee_origin`` (``consignee_key``, ``origin_country``) and
    ``established`` (consignees with ``MIN_PARTY`` consignments or more: how many, how many
    kinds of goods and origins, and Good-Turing's chance of a new one); ``description``, the
    words used for each subheading, and ``package`` (``hs6``, ``package_type``,
    ``origin_country`` (null: all origins), ``median``, ``scale``, ``n`` of log kg per
    package), both empty in norms saved before they existed.
    """

    value: pl.DataFrame
    own: pl.DataFrame
    routes: pl.DataFrame
    goods: pl.DataFrame
    consignee_goods: pl.DataFrame
    consignee_origin: pl.DataFrame
    established: pl.DataFrame
    summary: dict[str, Any]
    description: DescriptionNorm = field(default_factory=DescriptionNorm.empty)
    package: pl.DataFrame = field(default_factory=lambda: pl.DataFrame(schema=_PACKAGE_SCHEMA))
    #: Per established consignee, the kinds of goods and the origins it has received (lists,
    #: empty where none): made once from ``consignee_goods`` and ``consignee_origin``, so that
    #: assessing looks up a batch's few consignees instead of hashing those whole tables.
    _known: pl.DataFrame = field(init=False, repr=False, compare=False)
    #: ``routes`` and ``goods`` split as ``_share_hits`` reads them, by column (``hubs``,
    #: ``main_chapter``); None where there is no port-wide share.
    _shares: dict[str, _Shares | None] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        known = self.established.select("consignee_key")
        for table, column in ((self.consignee_goods, "main_chapter"),
                              (self.consignee_origin, "origin_country")):  # fmt: skip
            lists = table.group_by("consignee_key").agg(pl.col(column).alias(f"known_{column}"))
            known = known.join(lists, on="consignee_key", how="left").with_columns(
                pl.col(f"known_{column}").fill_null([])
            )
        object.__setattr__(self, "_known", known)
        shares = {"hubs": _Shares.of(self.routes, "hubs"),
                  "main_chapter": _Shares.of(self.goods, "main_chapter")}  # fmt: skip
        object.__setattr__(self, "_shares", shares)

    @classmethod
    def fit(
        cls, items: pl.DataFrame, consignments: pl.DataFrame, *, suspect: pl.DataFrame | None = None
    ) -> TrafficNorms:
        """Learn the norms from a window's ``declared.item_features`` and consignment features.

        ``suspect`` (``declared.KEY`` rows) are left out: consignments whose control found
        something before the window closed.
        """
        key = list(declared.KEY)
        left_out = 0
        if suspect is not None and not suspect.is_empty():
            suspect = suspect.select(key).unique()
            before = consignments.height
            consignments = consignments.join(suspect, on=key, how="anti")
            items = items.join(suspect, on=key, how="anti")
            left_out = before - consignments.height
        known = items.filter(
            pl.col("log_value_per_kg").is_not_null() & pl.col("hs6").is_not_null()
        ).select("hs6", "origin_country", "consignor_key", "log_value_per_kg")
        log = pl.col("log_value_per_kg")
        robust = _robust(log, _MIN_SCALE)
        pair = (
            known.filter(pl.col("origin_country").is_not_null())
            .group_by("hs6", "origin_country")
            .agg(*robust)
            .filter(pl.col("n") >= MIN_PAIR)
        )
        alone = (
            known.group_by("hs6")
            .agg(*robust)
            .filter(pl.col("n") >= MIN_HS6)
            .with_columns(pl.lit(None, pl.String).alias("origin_country"))
        )
        value = pl.concat([pair, alone.select(pair.columns)]).sort("hs6", "origin_country")
        own = (
            known.filter(pl.col("consignor_key").is_not_null())
            .group_by("consignor_key", "hs6")
            .agg(log.median().alias("median"), pl.len().alias("n"))
            .filter(pl.col("n") >= MIN_OWN)
            .sort("consignor_key", "hs6")
        )
        routes = _shares(consignments.with_columns(pl.col("hubs").fill_null("")), "hubs")
        goods = _shares(consignments, "main_chapter")
        named = consignments.filter(pl.col("consignee_key").is_not_null())
        consignee_goods = named.select("consignee_key", "main_chapter").drop_nulls()
        consignee_origin = named.select("consignee_key", "origin_country").drop_nulls()
        established = (
            named.group_by("consignee_key")
            .agg(pl.len().alias("seen"))
            .filter(pl.col("seen") >= MIN_PARTY)
            .join(_novelty(consignee_goods, "main_chapter"), on="consignee_key", how="left")
            .join(_novelty(consignee_origin, "origin_country"), on="consignee_key", how="left")
            .sort("consignee_key")
        )
        consignee_goods, consignee_origin = (
            frame.join(established.select("consignee_key"), on="consignee_key", how="semi").unique()
            for frame in (consignee_goods, consignee_origin)
        )
        description = DescriptionNorm.fit(items)
        package = _package_norms(items)
        summary = {
            "consignments": consignments.height,
            "items": items.height,
            "left_out_suspect": left_out,
            "value_norms": value.height,
            "own_norms": own.height,
            "package_norms": package.height,
            "established_consignees": established.height,
            **description.describe(),
        }
        return cls(
            value=value,
            own=own,
            routes=routes,
            goods=goods,
            consignee_goods=consignee_goods.sort("consignee_key", "main_chapter"),
            consignee_origin=consignee_origin.sort("consignee_key", "origin_country"),
            established=established,
            summary=summary,
            description=description,
            package=package,
        )

    def hits(self, items: pl.DataFrame, consignments: pl.DataFrame) -> pl.DataFrame:
        """The ``unusual`` hits of the consignments (``declared.item_features`` of their goods
        items and their consignment features), as a hits frame (``risk.hits``)."""
        found = [
            self._value_hits(items),
            self._own_hits(items),
            self._package_hits(items),
            self._share_hits(consignments, "hubs", "route"),
            self._share_hits(consignments, "main_chapter", "goods_origin"),
            self._novelty_hits(consignments, "main_chapter", "goods"),
            self._novelty_hits(consignments, "origin_country", "origin"),
            self.description.hits(items),
        ]
        # Put in the hits frame's shape once, all together, rather than check by check.
        return hitframe.conform(pl.concat(found, how="diagonal_relaxed"))

    def _value_hits(self, items: pl.DataFrame) -> pl.DataFrame:
        both = _against(_item_rows(items), self.value, ["hs6"], flag="by_pair")
        z = (pl.col("log_value_per_kg") - pl.col("median")) / pl.col("scale")
        scored = both.with_columns(z.alias("z")).filter(pl.col("z").is_not_null())
        flagged = scored.filter(pl.col("z").abs() >= Z_UNUSUAL)
        found = flagged.select(_value_columns())
        # A consignment's items together: two of them at least.
        return pl.concat([found, _together(scored)]) if scored.height >= 2 else found

    def _package_hits(self, items: pl.DataFrame) -> pl.DataFrame:
        if self.package.is_empty() or not {"log_kg_per_package", "package_type"} <= set(
            items.columns
        ):
            return hitframe.empty()
        rows = _packed(items).select(*declared.KEY, "sequence", "hs6", "package_type",
                                     "origin_country", "log_kg_per_package")  # fmt: skip
        both = _against(rows, self.package, ["hs6", "package_type"], flag="by_origin")
        z = (pl.col("log_kg_per_package") - pl.col("median")) / pl.col("scale")
        flagged = both.with_columns(z.alias("z")).filter(pl.col("z").abs() >= Z_PACKAGE)
        return flagged.select(_package_columns())

    def _own_hits(self, items: pl.DataFrame) -> pl.DataFrame:
        share = (pl.col("log_value_per_kg") - pl.col("median")).exp()
        return (
            _item_rows(items)
            .join(self.own, on=["consignor_key", "hs6"], how="inner")
            .with_columns(share.alias("share"))
            .filter(pl.col("share") <= OWN_SHARE)
            .select(_own_columns())
        )

    def _share_hits(self, consignments: pl.DataFrame, column: str, name: str) -> pl.DataFrame:
        shares = self._shares[column]
        if shares is None:
            return hitframe.empty()
        port_total = shares.port_total
        return (
            consignments.select(*declared.KEY, "origin_country", pl.col(column).fill_null(""))
            .filter(pl.col("origin_country").is_not_null())
            .join(shares.totals, on="origin_country", how="left")
            .join(shares.pairs, on=["origin_country", column], how="left")
            .join(shares.overall, on=column, how="left")
            .with_columns(pl.col("n", "port_n", "total").fill_null(0))
            .with_columns(
                (
                    (pl.col("n") + PRIOR_ORIGIN * pl.col("port_n") / port_total)
                    / (pl.col("total") + PRIOR_ORIGIN)
                ).alias("share")
            )  # fmt: skip
            .filter(pl.col("share") < RARE_SHARE)
            .select(_share_columns(column, name, port_total))
        )

    def _novelty_hits(self, consignments: pl.DataFrame, column: str, name: str) -> pl.DataFrame:
        known = self._known.select("consignee_key", f"known_{column}")
        return (
            consignments.select(*declared.KEY, "consignee_key", column)
            .drop_nulls(["consignee_key", column])
            .join(self.established, on="consignee_key", how="inner")
            .filter(pl.col(f"new_{column}") <= NOVEL_P)
            .join(known, on="consignee_key")
            .filter(~pl.col(f"known_{column}").list.contains(pl.col(column)))
            .select(_novelty_columns(column, name))
        )

    def save(self, folder: Path) -> None:
        """Write the norms into ``folder`` (Parquet tables and a JSON summary)."""
        folder.mkdir(parents=True, exist_ok=True)
        for name in _FILES:
            getattr(self, name).write_parquet(folder / f"{name}.parquet")
        self.established.write_parquet(folder / "established.parquet")
        self.description.codes.write_parquet(folder / "description_codes.parquet")
        self.description.words.write_parquet(folder / "description_words.parquet")
        self.package.write_parquet(folder / "package.parquet")
        (folder / "summary.json").write_text(json.dumps(self.summary, indent=2), encoding="utf-8")

    @classmethod
    def load(cls, folder: Path) -> TrafficNorms:
        """The norms ``save`` wrote; norms saved before the description check or the package
        norm existed load without them (no ``unusual:description_hs``, no ``unusual:package_``
        hits)."""
        tables = {name: pl.read_parquet(folder / f"{name}.parquet") for name in _FILES}
        codes, words = folder / "description_codes.parquet", folder / "description_words.parquet"
        description = (
            DescriptionNorm.of(pl.read_parquet(codes), pl.read_parquet(words))
            if codes.is_file() and words.is_file()
            else DescriptionNorm.empty()
        )
        package = folder / "package.parquet"
        return cls(
            **tables,
            established=pl.read_parquet(folder / "established.parquet"),
            summary=json.loads((folder / "summary.json").read_text(encoding="utf-8")),
            description=description,
            package=(
                pl.read_parquet(package) if package.is_file()
                else pl.DataFrame(schema=_PACKAGE_SCHEMA)
            ),
        )  # fmt: skip


# The hits' columns are made once, not per batch: the expressions are the same for every
# batch, and building them (a few hundred polars calls) costs more than the query itself on a
# batch of one consignment, what filing one through the API assesses.


@functools.cache
def _value_code() -> pl.Expr:
    """``unusual:value_low`` or ``unusual:value_high``, by the side of ``z``."""
    return (
        pl.when(pl.col("z") < 0)
        .then(pl.lit("unusual:value_low"))
        .otherwise(pl.lit("unusual:value_high"))
    )


@functools.cache
def _value_columns() -> tuple[pl.Expr, ...]:
    """The hits columns of an item's value far from its norm (``TrafficNorms._value_hits``)."""
    low = pl.col("z") < 0
    usual = pl.col("median").exp()
    where = chosen(
        pl.col("by_pair"),
        worded(" for HS %(goods)s from %(origin)s", goods="hs6", origin="origin_country"),
        worded(" for HS %(goods)s (all origins)", goods="hs6"),
    )
    # Words passed to ``worded`` are made first: the catalogs' extraction reads a call
    # nested in another's arguments as part of it, and would miss them.
    judged = chosen(low, word(": far cheaper"), word(": far dearer"))
    text = worded(
        "item %(item)s: %(declared)s EUR/kg declared, %(usual)s usual%(where)s (%(n)s items "
        "of reference traffic)%(judged)s",
        item="sequence", declared=_money(pl.col("log_value_per_kg").exp()),
        usual=_money(usual), where=where, n="n", judged=judged,
    )  # fmt: skip
    return (
        *_KEY,
        _value_code().alias("code"),
        *text.columns(),
        _weight_value(pl.col("z")).alias("weight"),
        _SOURCE,
    )


@functools.cache
def _package_columns() -> tuple[pl.Expr, ...]:
    """The hits columns of an item's kg per package far from its norm
    (``TrafficNorms._package_hits``)."""
    light = pl.col("z") < 0
    where = chosen(
        pl.col("by_origin"),
        worded(" for HS %(goods)s in packages %(package)s from %(origin)s", goods="hs6",
               package="package_type", origin="origin_country"),
        worded(" for HS %(goods)s in packages %(package)s (all origins)", goods="hs6",
               package="package_type"),
    )  # fmt: skip
    judged = chosen(light, word(": far lighter"), word(": far heavier"))
    text = worded(
        "item %(item)s: %(declared)s kg per package declared, %(usual)s kg usual%(where)s "
        "(%(n)s items of reference traffic)%(judged)s",
        item="sequence", declared=_money(pl.col("log_kg_per_package").exp()),
        usual=_money(pl.col("median").exp()), where=where, n="n", judged=judged,
    )  # fmt: skip
    code = pl.when(light).then(pl.lit("unusual:package_light"))
    return (
        *_KEY,
        code.otherwise(pl.lit("unusual:package_heavy")).alias("code"),
        *text.columns(),
        _weight_package(pl.col("z")).alias("weight"),
        _SOURCE,
    )


@functools.cache
def _own_columns() -> tuple[pl.Expr, ...]:
    """The hits columns of an item far below its consignor's own norm
    (``TrafficNorms._own_hits``)."""
    text = worded(
        "item %(item)s: %(declared)s EUR/kg declared for HS %(goods)s, %(share)s %% of the "
        "%(usual)s EUR/kg this consignor usually declares for it (%(n)s items)",
        item="sequence", declared=_money(pl.col("log_value_per_kg").exp()), goods="hs6",
        share=(pl.col("share") * 100).round(0).cast(pl.Int64),
        usual=_money(pl.col("median").exp()), n="n",
    )  # fmt: skip
    return (
        *_KEY,
        pl.lit("unusual:value_own_past").alias("code"),
        *text.columns(),
        pl.lit(WEIGHTS["value_own_past"]).alias("weight"),
        _SOURCE,
    )


@functools.cache
def _share_columns(column: str, name: str, port_total: int) -> tuple[pl.Expr, ...]:
    """The hits columns of a rare route or goods for the origin (``TrafficNorms._share_hits``
    of ``column``, hit ``unusual:{name}``; ``port_total`` consignments port-wide)."""
    if column == "hubs":
        hubs = pl.col("hubs").str.replace_all("|", ", ", literal=True)
        what = chosen(pl.col("hubs") == "", word("a direct call"),
                      worded("transshipment via %(hubs)s", hubs=hubs))  # fmt: skip
    else:
        what = worded("goods of HS chapter %(chapter)s", chapter=column)
    text = worded(
        "%(what)s: %(n)s of the %(total)s consignments from %(origin)s in reference traffic, "
        "%(port_n)s of %(port_total)s from all origins (expected share %(share)s %%)",
        what=what, n="n", total="total", origin="origin_country", port_n="port_n",
        port_total=pl.lit(port_total), share=(pl.col("share") * 100).round(2),
    )  # fmt: skip
    return (
        *_KEY,
        pl.lit(f"unusual:{name}").alias("code"),
        *text.columns(),
        pl.lit(WEIGHTS[name]).alias("weight"),
        _SOURCE,
    )


@functools.cache
def _novelty_columns(column: str, name: str) -> tuple[pl.Expr, ...]:
    """The hits columns of a consignee's first goods or origin (``TrafficNorms._novelty_hits``
    of ``column``, hit ``unusual:consignee_{name}``)."""
    what = word("goods of HS chapter") if name == "goods" else word("goods from")
    text = worded(
        "consignee %(consignee)s receives %(what)s %(kind)s for the first time (%(seen)s "
        "earlier consignments, all within %(kinds)s kinds)",
        consignee="consignee_key", what=what, kind=column, seen="seen",
        kinds="kinds_" + column,
    )  # fmt: skip
    return (
        *_KEY,
        pl.lit(f"unusual:consignee_{name}").alias("code"),
        *text.columns(),
        pl.lit(WEIGHTS[f"consignee_{name}"]).alias("weight"),
        _SOURCE,
    )


def _robust(log: pl.Expr, floor: float) -> tuple[pl.Expr, ...]:
    """Median, robust spread (1.4826 × MAD, at least ``floor``) and count of ``log``."""
    return (
        log.median().alias("median"),
        ((log - log.median()).abs().median() * _MAD_TO_SIGMA)
        .clip(floor)
        .fill_null(floor)
        .alias("scale"),
        pl.len().alias("n"),
    )


def _packed(items: pl.DataFrame) -> pl.DataFrame:
    """Items with a kg per package to judge: a subheading, and packages that are packages."""
    return items.filter(
        pl.col("log_kg_per_package").is_not_null()
        & pl.col("hs6").is_not_null()
        & pl.col("package_type").is_not_null()
        & ~pl.col("package_type").is_in(list(UNPACKED))
    )


def _package_norms(items: pl.DataFrame) -> pl.DataFrame:
    """Median and robust spread of log kg per package per HS6 × package type × origin
    (``MIN_PAIR`` items or more) and per HS6 × package type (``MIN_HS6``, null origin); none
    for items without packages."""
    if not {"log_kg_per_package", "package_type"} <= set(items.columns):
        return pl.DataFrame(schema=_PACKAGE_SCHEMA)
    known = _packed(items).select("hs6", "package_type", "origin_country", "log_kg_per_package")
    robust = _robust(pl.col("log_kg_per_package"), _MIN_PACKAGE_SCALE)
    by_origin = (
        known.filter(pl.col("origin_country").is_not_null())
        .group_by("hs6", "package_type", "origin_country")
        .agg(*robust)
        .filter(pl.col("n") >= MIN_PAIR)
    )
    alone = (
        known.group_by("hs6", "package_type")
        .agg(*robust)
        .filter(pl.col("n") >= MIN_HS6)
        .with_columns(pl.lit(None, pl.String).alias("origin_country"))
    )
    return (
        pl.concat([by_origin.select(*_PACKAGE_SCHEMA), alone.select(*_PACKAGE_SCHEMA)])
        .cast(_PACKAGE_SCHEMA)
        .sort("hs6", "package_type", "origin_country")
    )


def _shares(consignments: pl.DataFrame, column: str) -> pl.DataFrame:
    """How often each value of ``column`` came from each origin (``n`` of the origin's
    ``total``), and port-wide (rows with a null origin: ``n`` of every consignment)."""
    named = consignments.filter(pl.col("origin_country").is_not_null())
    counts = named.group_by("origin_country", column).agg(pl.len().alias("n"))
    pairs = counts.with_columns(pl.col("n").sum().over("origin_country").alias("total"))
    overall = (
        named.group_by(column)
        .agg(pl.len().alias("n"))
        .with_columns(
            pl.lit(None, pl.String).alias("origin_country"), pl.lit(named.height).alias("total")
        )
    )
    columns = ["origin_country", column, "n", "total"]
    return (
        pl.concat([pairs.select(columns), overall.select(columns)], how="vertical_relaxed")
        .with_columns(pl.col("n", "total").cast(pl.Int64))
        .sort("origin_country", column, nulls_last=True)
    )


def _novelty(pairs: pl.DataFrame, column: str) -> pl.DataFrame:
    """Per consignee, how many kinds of ``column`` it had and the chance its next consignment
    brings a new one: Good-Turing's estimate, the share of its consignments whose kind it had
    only once, (singletons + 1) / (consignments + 1) so that it is never zero. A consignee
    whose every consignment is of a kind seen many times is surprised by a new one; one
    that keeps bringing new kinds is not."""
    per_kind = pairs.group_by("consignee_key", column).agg(pl.len().alias("n"))
    return per_kind.group_by("consignee_key").agg(
        pl.len().alias(f"kinds_{column}"),
        ((pl.col("n") == 1).sum() + 1).truediv(pl.col("n").sum() + 1).alias(f"new_{column}"),
    )


def _item_rows(items: pl.DataFrame) -> pl.DataFrame:
    return items.filter(
        pl.col("log_value_per_kg").is_not_null() & pl.col("hs6").is_not_null()
    ).select(*declared.KEY, "sequence", "hs6", "origin_country", "consignor_key",
             "log_value_per_kg")  # fmt: skip


#: Items of one consignment a ``_together`` reason quotes (the others are counted).
TOGETHER_SHOWN = 5


def _against(
    rows: pl.DataFrame, norms: pl.DataFrame, keys: list[str], *, flag: str
) -> pl.DataFrame:
    """``rows`` with the ``median``, ``scale`` and ``n`` of their norm in ``norms`` (rows by
    ``keys`` × ``origin_country``, and by ``keys`` alone where ``origin_country`` is null): the
    one of their origin where it has one, else the one of all origins; ``flag`` says which."""
    by_origin = norms.filter(pl.col("origin_country").is_not_null())
    alone = norms.filter(pl.col("origin_country").is_null()).drop("origin_country")
    return (
        rows.join(by_origin, on=[*keys, "origin_country"], how="left")
        .join(alone, on=keys, how="left", suffix="_alone")
        .with_columns(
            pl.col("n").is_not_null().alias(flag),
            pl.coalesce("median", "median_alone").alias("median"),
            pl.coalesce("scale", "scale_alone").alias("scale"),
            pl.coalesce("n", "n_alone").alias("n"),
        )
    )


def _together(scored: pl.DataFrame) -> pl.DataFrame:
    """Value hits of consignments whose items are *all* cheaper (or all dearer) than usual for
    their goods and origin, none perhaps far enough alone, but together: an undervaluing
    declarant cuts the whole invoice, so each item sits a little below its norm. Lines of the
    same goods from the same origin are one price written several times, not independent
    evidence: each such group counts once, with its items' mean deviation, and the evidence of
    ``k`` groups (two at least) is their combined robust deviation, Σz / √k (Stouffer's sum of
    independent z-scores), judged against the same ``Z_UNUSUAL`` as one item's; the hit has
    the same code as an item's, so a consignment counts the heavier of the two once.
    ``scored``: the value rows with a norm and their ``z``."""
    key = list(declared.KEY)
    sign = pl.col("z").sign()
    # Which consignments qualify is settled on numbers first; only theirs are then written
    # out (formatting every consignment's items, to keep a few, was most of the norms' time).
    # One pass over the items keeps those of consignments with two items or more, all on one
    # side of their norms (the same side for every item is the same side for every group of
    # goods): the groups are then made of those alone, a few in ten of the batch.
    sided = (
        scored.group_by(key)
        .agg(pl.len().alias("items"), sign.min().alias("lowest"), sign.max().alias("highest"))
        .filter((pl.col("items") >= 2) & (pl.col("lowest") == pl.col("highest")))
    )
    candidates = scored.join(sided.select(key), on=key, how="semi")
    groups = (
        candidates.group_by(*key, "hs6", "origin_country")
        .agg(pl.col("z").mean())
        # Summed in one order, whatever the order groups come in: the same weight every run.
        .sort(*key, "hs6", "origin_country", nulls_last=True)
        .group_by(key, maintain_order=True)
        .agg(pl.len().alias("k"), (pl.col("z").sum() / pl.len().sqrt()).alias("z"))
        .filter((pl.col("k") >= 2) & (pl.col("z").abs() >= Z_UNUSUAL))
        .drop("k")
    )
    shown = TOGETHER_SHOWN
    more = (
        pl.when(pl.len() > shown).then(pl.format(", … ({} items)", pl.len())).otherwise(pl.lit(""))
    )
    per = (
        candidates.join(groups.select(key), on=key, how="semi")
        .sort(*key, "sequence")
        .group_by(key)
        .agg(
            pl.concat_str(
                pl.col("sequence").head(shown).cast(pl.String).str.join(", "), more
            ).alias("items"),
            _money(pl.col("log_value_per_kg").exp()).head(shown).str.join(", ").alias("declared"),
            _money(pl.col("median").exp()).head(shown).str.join(", ").alias("usual"),
        )
        .join(groups, on=key)
    )
    return per.select(_together_columns())


@functools.cache
def _together_columns() -> tuple[pl.Expr, ...]:
    """The hits columns of ``_together``'s consignments."""
    low = pl.col("z") < 0
    side = chosen(low, word("cheaper than usual"), word("dearer than usual"))
    text = worded(
        "items %(items)s: %(declared)s EUR/kg declared, %(usual)s usual for their goods and "
        "origins: every item %(side)s, %(z)s robust deviations together",
        items="items", declared="declared", usual="usual", side=side,
        z=pl.col("z").abs().round(1),
    )  # fmt: skip
    return (
        *_KEY,
        _value_code().alias("code"),
        *text.columns(),
        _weight_value(pl.col("z")).alias("weight"),
        _SOURCE,
    )


def _money(value: pl.Expr) -> pl.Expr:
    """A value per kg (or kg per package) as officers read it: whole from 10 up, to the
    hundredth below."""
    whole = value.round(0).cast(pl.Int64).cast(pl.String)
    return pl.when(value >= 10).then(whole).otherwise(value.round(2).cast(pl.String))
