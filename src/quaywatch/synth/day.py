"""One day of lodged consignments: lanes, parties, patterns, goods, containers, truth.

Everything is drawn column-wise with numpy for the whole day at once; pattern consignments are
ordinary consignments whose lane, goods, parties, values or container journey are then
rewritten the way the pattern rewrites them. The result is the flat intake rows, the box table
``journeys.events`` turns into DCSA events, one ground-truth row per consignment, and the
hidden facts ``controls`` needs to draw the legacy controls of the day and their outcomes.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime

import numpy as np
import polars as pl

from quaywatch.synth import cargo, descriptions, journeys, patterns as pt
from quaywatch.synth.journeys import DAY
from quaywatch.synth.parties import Parties
from quaywatch.synth.patterns import Pattern, PatternRates
from quaywatch.synth.world import (
    CARRIERS,
    CATEGORIES,
    CATEGORY_NAMES,
    COCAINE_COVER,
    COUNTERFEIT_CHAPTERS,
    FEEDERS,
    FX_TO_EUR,
    LANES,
    MAINLINERS,
    MISDECLARED,
    REGIONS,
    World,
    choose_by_key,
)  # fmt: skip

_PARTY_FIELDS = ("name", "address", "country", "eori", "aeo", "phone", "email")
#: Inland places of delivery by consignee country (UN/LOCODEs); most goods stay at the port.
_INLAND = {"BE": ("BEBRU", "BEGNE", "BELGG"), "NL": ("NLEIN", "NLVEN"), "DE": ("DEDUS", "DECGN"),
           "FR": ("FRLIL", "FRPAR"), "LU": ("LULUX",)}  # fmt: skip
_AMERICAS = {"North America", "South America", "Central America", "Caribbean"}
_EASTBOUND = _AMERICAS | {"North Europe"}
_STAMP = "%Y-%m-%dT%H:%M:%SZ"


@dataclass(frozen=True, slots=True)
class Day:
    """A generated day: flat intake rows, the box table for events, ground truth.

    ``facts`` has one row per consignment with what a control can find out but the declaration
    does not say: the fraud committed (a shell company's resolved to undervaluation or
    counterfeit), the true goods and total mass, the ETA (µs since the epoch), the first
    container, and whether the consignee is new (first seen in or just before the window).
    """

    rows: pl.DataFrame
    boxes: pl.DataFrame
    truth: pl.DataFrame
    facts: pl.DataFrame


def _draw(rng: np.random.Generator, cumulative: np.ndarray) -> np.ndarray:
    """One index per row of ``cumulative`` (rows of cumulative probabilities)."""
    chosen: np.ndarray = (rng.random(len(cumulative))[:, None] >= cumulative[:, :-1]).sum(axis=1)
    return chosen


def _among(rng: np.random.Generator, world: World, locodes: tuple[str, ...], n: int) -> np.ndarray:
    return rng.choice(world.origin_index(locodes), n)


def _party_columns(parties: Parties, ids: np.ndarray, role: str) -> pl.DataFrame:
    return parties.table[ids].select(
        pl.col(f).cast(pl.String).alias(f"{role}_{f}") for f in _PARTY_FIELDS
    )


def _lanes(rng: np.random.Generator, world: World, pattern: np.ndarray, fake: np.ndarray,
           displaced: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:  # fmt: skip
    """Origin, category and forced first goods (-1 if free) of each consignment."""
    n = len(pattern)
    origin = rng.choice(len(world.origin), n, p=world.origin_weight)
    cum = np.cumsum(world.category_given_region, axis=1)
    category = _draw(rng, cum[world.origin_region[origin]])
    first = np.full(n, -1)
    goods_of = {hs: i for i, hs in enumerate(world.goods_hs6)}

    coke = pattern == Pattern.COCAINE
    cover = rng.choice([goods_of[h] for h in COCAINE_COVER], n)
    main, alternative = (
        _among(rng, world, o, n) for o in (pt.COCAINE_ORIGINS, pt.DISPLACED_ORIGINS)
    )
    origin = np.where(coke, np.where(displaced, alternative, main), origin)
    first = np.where(coke, cover, first)

    wild = pattern == Pattern.WILDLIFE
    origin = np.where(wild, _among(rng, world, pt.WILDLIFE_ORIGINS, n), origin)
    first = np.where(
        wild, rng.choice(world.category_goods[CATEGORY_NAMES.index("wildlife")], n), first
    )

    copies = np.flatnonzero(np.isin(world.goods_hs6.astype("<U2"), COUNTERFEIT_CHAPTERS))
    origin = np.where(fake, _among(rng, world, pt.COUNTERFEIT_ORIGINS, n), origin)
    first = np.where(fake, rng.choice(copies, n), first)

    mis = pattern == Pattern.MISDECLARATION
    first = np.where(mis, rng.choice([goods_of[h] for h in MISDECLARED], n), first)
    category = np.where(first >= 0, world.goods_category[np.maximum(first, 0)], category)
    # A misdeclared good leaves from where such goods come from, not from the drawn lane.
    rows = np.flatnonzero(mis)
    if len(rows):
        fit = np.array([[CATEGORIES[c][3].get(r, 0.0) for r in REGIONS] for c in CATEGORY_NAMES])
        weight = fit[:, world.origin_region] * world.origin_weight
        weight = np.cumsum(weight / weight.sum(axis=1, keepdims=True), axis=1)
        origin[rows] = _draw(rng, weight[category[rows]])
    return origin, category, first


def _who(
    rng: np.random.Generator, parties: Parties, rates: PatternRates, index: int, n: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Consignee, pattern, counterfeit flag, the fraud actually committed, displacement."""
    consignee = parties.consignees(rng, n, index)
    pattern = pt.assign(rng, rates, parties.bad[consignee], parties.aeo[consignee])
    shell = pattern == Pattern.SHELL_COMPANY
    fake = (pattern == Pattern.COUNTERFEIT) | (shell & (rng.random(n) < 0.4))
    # What a shell company's consignment does wrong is one of the value frauds.
    fraud = np.where(shell, np.where(fake, Pattern.COUNTERFEIT, Pattern.UNDERVALUATION), pattern)
    newcomer = parties.recent(parties.newcomer_ids, parties.newcomer_day, rng, n, index, 60)
    shells = parties.recent(parties.shell_ids, parties.shell_day, rng, n, index, 30)
    new_face = (pattern == Pattern.COUNTERFEIT) | (
        (pattern == Pattern.WILDLIFE) & (rng.random(n) < 0.5)
    )
    consignee = np.where(shell, shells, np.where(new_face, newcomer, consignee))
    week = rates.displacement_week
    moved = week is not None and index >= 7 * week
    displaced = (pattern == Pattern.COCAINE) & moved & (rng.random(n) < rates.displacement_share)
    return consignee, pattern, fake, fraud, displaced


def _route(
    rng: np.random.Generator, world: World, origin: np.ndarray, lodged: np.ndarray,
    coke: np.ndarray, fake: np.ndarray, displaced: np.ndarray,
) -> tuple[journeys.Routes, np.ndarray, np.ndarray]:  # fmt: skip
    """Routes, and per consignment whether a box is stripped at a hub or has its seal swapped.

    Three in four cocaine consignments show at least one rip-on/rip-off mark; licit ones show
    a long dwell (3 %), a consolidation at a hub (0.3 %) or a mistyped seal (0.2 %).
    """
    n = len(origin)
    transship = np.array([LANES[r][0] for r in REGIONS])[world.origin_region[origin]]
    transship = np.where(fake, np.maximum(transship, 0.5), transship)
    transship = np.where(coke, np.where(displaced, 1.0, 0.6), transship)
    hub_override = np.where(displaced, rng.choice(pt.DISPLACED_HUBS, n), "")
    signs = coke & (rng.random(n) < 0.75)
    long_dwell = (signs & (rng.random(n) < 0.45)) | (~coke & (rng.random(n) < 0.03))
    routes = journeys.plan(rng, world, origin, lodged, transship, hub_override, long_dwell)
    has_hub = routes.hub1 != ""
    strip = (signs & has_hub & (rng.random(n) < 0.4)) | (~coke & has_hub & (rng.random(n) < 0.003))
    # A marked consignment without a strip or a long dwell at least has its seal swapped.
    swap = signs & ((rng.random(n) < 0.6) | ~(strip | (long_dwell & has_hub)))
    swap = swap | (~coke & (rng.random(n) < 0.002))
    return routes, strip, swap


def _values(
    rng: np.random.Generator, world: World, items: cargo.Items, pattern: np.ndarray,
    fraud: np.ndarray, fake: np.ndarray,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:  # fmt: skip
    """Declared goods and EUR value per item; revenue at stake and true value per consignment."""
    n = len(pattern)
    c = items.consignment
    goods_of = {str(hs): i for i, hs in enumerate(world.goods_hs6)}
    target = np.array([goods_of[MISDECLARED.get(str(h), str(h))] for h in world.goods_hs6])
    mis_item = (pattern[c] == Pattern.MISDECLARATION) & (items.sequence == 1)
    declared_goods = np.where(mis_item, target[items.goods], items.goods)

    true_value = items.value
    factor = pt.undervaluation_factor(rng, n)
    fake_item = fake[c]
    # A counterfeit's genuine value is the branded article's; its invoice, the copy's cost.
    genuine = np.where(fake_item, true_value * rng.uniform(1.5, 4.0, len(c)), 0.0)
    invoice = np.where(fake_item, true_value * rng.uniform(0.3, 0.7, len(c)), true_value)
    cut = (fraud == Pattern.UNDERVALUATION) | (fake & (rng.random(n) < 0.5))
    declared = np.round(np.where(cut[c], invoice * factor[c], invoice), 2)
    duty = world.goods_duty
    item_stake = pt.revenue_at_stake(
        fraud[c], true_value, declared, duty[items.goods], duty[declared_goods], genuine
    )
    stake = np.bincount(c, weights=item_stake, minlength=n)
    stake += np.where(pattern == Pattern.COCAINE, pt.COCAINE_STAKE_EUR, 0.0)
    stake += np.where(pattern == Pattern.WILDLIFE, pt.WILDLIFE_STAKE_EUR, 0.0)
    worth = np.bincount(c, weights=np.where(fake_item, genuine, true_value), minlength=n)
    return declared_goods, declared, stake, worth


def _header(
    rng: np.random.Generator, world: World, parties: Parties, *, day: date, index: int,
    seed: int, lodged: np.ndarray, origin: np.ndarray, routes: journeys.Routes,
    carrier: np.ndarray, mainline: np.ndarray, consignee: np.ndarray,
) -> pl.DataFrame:  # fmt: skip
    """Consignment-level intake columns (strings), plus ``_seq``, the day's running number."""
    n = len(origin)
    region = np.array(REGIONS)[world.origin_region[origin]]
    brokers = parties.broker_ids[(rng.random(n) ** 2 * len(parties.broker_ids)).astype(np.int64)]
    declarant = np.where(rng.random(n) < 0.35, consignee, brokers)
    consignor = parties.consignors(rng, origin)
    notify = pl.Series(rng.random(n) < 0.25)
    home = parties.table["country"].to_numpy()[consignee]
    inland = choose_by_key(rng, _INLAND, home, ("BEBRU",))
    document = (seed % 100) * 10**9 + index * 10**7 + np.arange(n)
    hubs = np.char.add(routes.hub1, np.where(routes.hub2 != "", np.char.add("|", routes.hub2), ""))
    eta = pl.from_epoch("_eta", time_unit="us")
    header = pl.DataFrame({
        "_t": lodged, "_eta": routes.eta, "_seq": np.arange(n),
        "transport_document": np.char.add(world.carrier_scac[carrier], np.char.mod("%011d", document)),
        "carrier_scac": world.carrier_scac[carrier],
        "vessel_imo": world.vessel_imo[carrier, mainline],
        "vessel_name": world.vessel_name[carrier, mainline],
        "_dir": np.where(np.isin(region, list(_EASTBOUND)), "E", "W"),
        "port_of_loading": world.origin[origin],
        "transshipment_ports": hubs,
        "port_of_discharge": np.full(n, world.port_of_discharge),
        "place_of_delivery": np.where(rng.random(n) < 0.7, world.port_of_discharge, inland),
    }).with_columns(
        pl.format("{}-{}-{}-{}", pl.lit(f"{day:%y%m%d}"), pl.lit(world.port_of_discharge),
                  pl.lit(f"{seed:04d}"), pl.col("_seq").cast(pl.String).str.zfill(7))
        .alias("consignment_id"),
        pl.lit("1").alias("version"),
        pl.lit(None, pl.String).alias("master_transport_document"),
        pl.from_epoch("_t", time_unit="us").dt.strftime(_STAMP).alias("lodged_at"),
        eta.dt.strftime(_STAMP).alias("eta"),
        pl.format("{}{}", eta.dt.week().cast(pl.String).str.zfill(2), "_dir").alias("voyage"),
        pl.col("transshipment_ports").replace("", None),
    )  # fmt: skip
    notify_party = _party_columns(parties, declarant, "notify_party")
    notify_party = notify_party.with_columns(
        pl.when(pl.lit(notify)).then(pl.col(name)).alias(name) for name in notify_party.columns
    )
    roles = [_party_columns(parties, declarant, "declarant"),
             _party_columns(parties, consignor, "consignor"),
             _party_columns(parties, consignee, "consignee"), notify_party]  # fmt: skip
    return pl.concat([header, *roles], how="horizontal")


def generate_day(
    rng: np.random.Generator, world: World, parties: Parties, rates: PatternRates, *,
    index: int, day: date, count: int, seed: int, first_box: int, issued: dict[str, int],
) -> Day:  # fmt: skip
    """Consignments lodged on ``day`` (the ``index``-th of the run), with their truth.

    ``first_box`` numbers the day's containers after the previous days'; ``issued`` counts
    the container serials each owner code has issued so far in the run (updated here).
    """
    n = count
    midnight = int(datetime(day.year, day.month, day.day, tzinfo=UTC).timestamp()) * 1_000_000
    lodged = midnight + np.sort(rng.integers(0, 86_400, n)) * 1_000_000
    consignee, pattern, fake, fraud, displaced = _who(rng, parties, rates, index, n)
    coke = pattern == Pattern.COCAINE
    origin, category, first = _lanes(rng, world, pattern, fake, displaced)
    routes, strip, swap = _route(rng, world, origin, lodged, coke, fake, displaced)

    allowed = np.isin(world.goods_hs6.astype("<U2"), COUNTERFEIT_CHAPTERS)
    single = coke | (pattern == Pattern.WILDLIFE)
    items, n_boxes = cargo.items(rng, world, category, first, single, fake, allowed)
    c = items.consignment
    declared_goods, declared, stake, worth = _values(rng, world, items, pattern, fraud, fake)
    americas = np.isin(np.array(REGIONS)[world.origin_region[origin]], list(_AMERICAS))
    usd = rng.random(n) < np.where(americas, 0.6, 0.3)
    amount = np.round(declared / np.where(usd[c], FX_TO_EUR["USD"], 1.0), 2)

    # Vessels call weekly per lane: the same ship carries many of a day's consignments.
    carrier = rng.choice(len(CARRIERS), n, p=world.carrier_share)
    mainline = (routes.eta // DAY + world.origin_region[origin] * 3) % MAINLINERS
    header = _header(rng, world, parties, day=day, index=index, seed=seed, lodged=lodged,
                     origin=origin, routes=routes, carrier=carrier, mainline=mainline,
                     consignee=consignee)  # fmt: skip
    box_of = np.repeat(np.arange(n), n_boxes)
    size = np.array([CATEGORIES[k][0] for k in CATEGORY_NAMES])[category]
    boxes = cargo.containers(rng, carrier[box_of], size[box_of], issued, (seed * 7_919) % 1_000_000)
    seals = pl.format("CAR:BLT:{}", "seal") + pl.when(pl.col("shipper_seal").is_not_null()).then(
        pl.format("|SHI:WIR:{}", "shipper_seal")).otherwise(pl.lit(""))  # fmt: skip
    package = np.array([CATEGORIES[k][2] for k in CATEGORY_NAMES])[category]
    item_frame = pl.DataFrame({
        "item_sequence": items.sequence.astype(str),
        "hs6": world.goods_hs6[declared_goods],
        "description": descriptions.describe(seed, index, world, items.goods, declared_goods,
                                             declared_goods != items.goods),
        "packages": items.packages.astype(str),
        "package_type": package[c],
        "gross_mass_kg": items.mass,
        "value": amount,
        "currency": np.where(usd, "USD", "EUR")[c],
        "origin_country": world.origin_country[origin][c],
    }).with_columns(pl.col("gross_mass_kg", "value").cast(pl.String))  # fmt: skip
    box_frame = boxes.select(
        pl.col("container_number"), pl.col("size_type").alias("container_size_type"),
        pl.lit("LADEN").alias("container_status"), seals.alias("seals"),
    )  # fmt: skip
    rows = pl.concat([header[c], item_frame, box_frame[items.box]], how="horizontal")

    truth = pl.DataFrame({
        "consignment_id": header["consignment_id"],
        "version": np.ones(n, dtype=np.int64),
        "lodged_at": pl.from_epoch(pl.Series(lodged), time_unit="us").dt.replace_time_zone("UTC"),
        "illicit": pattern != Pattern.NONE,
        "pattern": np.array(pt.PATTERN_NAMES)[pattern],
        "revenue_at_stake_eur": np.round(stake, 2),
        "critical": coke | (pattern == Pattern.WILDLIFE),
        "displaced": displaced,
        "true_hs6": world.goods_hs6[items.goods[items.sequence == 1]],
        "true_value_eur": np.round(worth, 2),
    })  # fmt: skip

    first_of = np.ones(len(box_of), dtype=bool)
    first_of[1:] = box_of[1:] != box_of[:-1]
    feeder = MAINLINERS + (routes.departure // DAY + origin) % FEEDERS
    second = MAINLINERS + (routes.departure // DAY + origin + 3) % FEEDERS
    marks = journeys.marks(rng, routes, box_of, first_of & swap[box_of], first_of & strip[box_of])
    box_table = boxes.with_columns(
        pl.Series("box", first_box + np.arange(len(box_of))),
        pl.Series("document", header["transport_document"].to_numpy()[box_of]),
        pl.Series("pol", world.origin[origin][box_of]),
        pl.Series("hub1", routes.hub1[box_of]),
        pl.Series("hub2", routes.hub2[box_of]),
        pl.Series("mainline", world.vessel_imo[carrier, mainline][box_of]),
        pl.Series("feeder1", world.vessel_imo[carrier, feeder][box_of]),
        pl.Series("feeder2", world.vessel_imo[carrier, second][box_of]),
        *(pl.Series(name, values) for name, values in marks.items()),
    )
    lead = items.sequence == 1
    facts = pl.DataFrame({
        "consignment_id": header["consignment_id"],
        "fraud": np.array(pt.PATTERN_NAMES)[fraud],
        "new_consignee": (consignee >= parties.newcomer_ids[0]) & (consignee < parties.broker_ids[0]),
        "eta": routes.eta,
        "container_number": boxes["container_number"].to_numpy()[items.box[lead]],
        "true_goods": world.goods_description[items.goods[lead]],
        "mass_kg": np.bincount(c, weights=items.mass, minlength=n),
    })  # fmt: skip
    return Day(rows=rows, boxes=box_table, truth=truth, facts=facts)
