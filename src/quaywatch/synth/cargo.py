"""Goods items and containers of a day's consignments: what is declared and what is true.

A consignment's goods come from one category (a reefer of fruit does not also carry laptops),
one to four goods items spread over one to three containers of the category's ISO type. Masses
follow the container payload; values are lognormal around the catalogue's median value per kg,
with a few percent of legitimately cheap lots (seconds, end of season) so that a low value per
kg alone is not proof of undervaluation.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import polars as pl

from quaywatch.domain import identifiers as ids
from quaywatch.synth.world import CARRIERS, CATEGORIES, CATEGORY_NAMES, World

#: Typical gross kilograms per package, by category (cartons of fruit, bags of coffee, ...).
KG_PER_PACKAGE = {
    "fruit": 18, "fish": 20, "dry_food": 60, "apparel": 12, "footwear": 10, "electronics": 15,
    "toys": 8, "household": 40, "vehicles": 1_400, "industrial": 500, "pharma": 10,
    "beverages": 9, "timber": 1_500, "wildlife": 25,
}  # fmt: skip
#: Container lessors: about a fifth of boxes are leased rather than carrier-owned.
LESSORS = ("TGHU", "TRLU", "SEGU", "FSCU", "CAIU", "BMOU", "TCLU", "GESU")


@dataclass(frozen=True, slots=True)
class Items:
    """Goods-item arrays (one entry per item) and the consignment each belongs to."""

    consignment: np.ndarray
    sequence: np.ndarray  # 1-based within the consignment
    box: np.ndarray  # index into the day's containers
    goods: np.ndarray  # catalogue index of the true goods
    mass: np.ndarray  # gross kg
    value: np.ndarray  # true customs value, EUR
    packages: np.ndarray


def _uniform_pick(
    rng: np.random.Generator, groups: list[np.ndarray], group: np.ndarray
) -> np.ndarray:
    """For each entry, a uniform member of ``groups[group]``."""
    flat = np.concatenate(groups)
    sizes = np.array([len(g) for g in groups])
    starts = np.concatenate([[0], np.cumsum(sizes)[:-1]])
    chosen: np.ndarray = flat[
        starts[group] + (rng.random(len(group)) * sizes[group]).astype(np.int64)
    ]
    return chosen


def items(
    rng: np.random.Generator,
    world: World,
    category: np.ndarray,
    first_goods: np.ndarray,
    single_box: np.ndarray,
    restricted: np.ndarray,
    allowed: np.ndarray,
) -> tuple[Items, np.ndarray]:
    """Goods items for consignments of ``category``; also each consignment's box count.

    ``first_goods`` forces the first item's goods (-1: drawn from the category);
    ``single_box`` marks consignments that fill exactly one container; in ``restricted``
    consignments every item's goods are ``allowed`` ones (else the first item's goods).
    """
    n = len(category)
    count = rng.choice([1, 2, 3, 4], n, p=[0.45, 0.25, 0.18, 0.12])
    u = rng.random(n)
    boxes = np.minimum(count, np.where(single_box, 1, 1 + (u < 0.18) + (u < 0.04)))
    consignment = np.repeat(np.arange(n), count)
    start = np.concatenate([[0], np.cumsum(count)[:-1]])
    sequence = np.arange(len(consignment)) - start[consignment] + 1
    box_start = np.concatenate([[0], np.cumsum(boxes)[:-1]])
    box = box_start[consignment] + (sequence - 1) % boxes[consignment]

    cat = category[consignment]
    goods = _uniform_pick(rng, world.category_goods, cat)
    forced = first_goods[consignment]
    goods = np.where((sequence == 1) & (forced >= 0), forced, goods)
    goods = np.where(restricted[consignment] & ~allowed[goods], forced, goods)

    payload = np.array([CATEGORIES[c][1] for c in CATEGORY_NAMES])
    box_cat = np.zeros(boxes.sum(), dtype=np.int64)
    box_cat[box] = cat
    tonnes = rng.uniform(payload[box_cat, 0], payload[box_cat, 1])
    share = rng.uniform(0.3, 1.0, len(box))
    share = share / np.bincount(box, weights=share)[box]
    mass = np.round(np.maximum(tonnes[box] * 1000 * share, 50.0), 1)
    per_kg = world.goods_median[goods] * np.exp(
        world.goods_sigma[goods] * rng.standard_normal(len(goods))
    )
    cheap = rng.random(len(goods)) < 0.03
    per_kg = np.where(cheap, per_kg * rng.uniform(0.3, 0.6, len(goods)), per_kg)
    kg_per_package = np.array([KG_PER_PACKAGE[c] for c in CATEGORY_NAMES])[cat]
    packages = np.maximum(1, np.round(mass / (kg_per_package * rng.uniform(0.7, 1.3, len(goods)))))
    return (
        Items(
            consignment=consignment,
            sequence=sequence,
            box=box,
            goods=goods,
            mass=mass,
            value=np.round(mass * per_kg, 2),
            packages=packages.astype(np.int64),
        ),
        boxes,
    )


def containers(
    rng: np.random.Generator, carrier: np.ndarray, box_size_type: np.ndarray,
    issued: dict[str, int], salt: int,
) -> pl.DataFrame:  # fmt: skip
    """ISO 6346 numbers (valid check digit), size/type and seals for one container each.

    Serials are a bijection (mod one million) of a run-wide counter per owner code, kept in
    ``issued`` (updated here), so no two boxes of a run share a number until an owner has
    issued a million of them; they still look random.
    """
    n = len(carrier)
    codes = np.array([[c[1][k % len(c[1])] for k in range(6)] for c in CARRIERS])
    owners = codes[carrier, rng.integers(0, 6, n)]
    owners = np.where(rng.random(n) < 0.2, rng.choice(LESSORS, n), owners)
    unique, owner = np.unique(owners, return_inverse=True)
    per_owner = np.bincount(owner, minlength=len(unique))
    rank = np.empty(n, dtype=np.int64)
    rank[np.argsort(owner, kind="stable")] = np.arange(n) - np.repeat(
        np.cumsum(per_owner) - per_owner, per_owner
    )
    already = np.array([issued.get(str(code), 0) for code in unique], dtype=np.int64)
    for code, count in zip(unique, per_owner, strict=True):
        issued[str(code)] = issued.get(str(code), 0) + int(count)
    serial = ((already[owner] + rank) * 104_729 + salt) % 1_000_000
    scac = np.array([c[0] for c in CARRIERS])[carrier]
    frame = pl.DataFrame(
        {
            "prefix": np.char.add(owners, np.char.mod("%06d", serial)),
            "size_type": box_size_type,
            "seal": np.char.add(scac.astype("<U2"), np.char.mod("%08d", rng.integers(0, 10**8, n))),
            "swap_seal": np.char.add(scac.astype("<U2"), np.char.mod("%08d", rng.integers(0, 10**8, n))),
            "shipper_seal": np.where(rng.random(n) < 0.3,
                                     np.char.add("S", np.char.mod("%07d", rng.integers(0, 10**7, n))), ""),
            "cus_seal": np.char.add("BEDOU", np.char.mod("%07d", rng.integers(0, 10**7, n))),
        }
    )  # fmt: skip
    return frame.with_columns(
        (pl.col("prefix") + ids.container_check_digit(pl.col("prefix")).cast(pl.String)).alias(
            "container_number"
        ),
        pl.col("shipper_seal").replace("", None),
        pl.lit("CAR").alias("seal_source"),
        pl.lit("BLT").alias("seal_type"),
    ).drop("prefix")
