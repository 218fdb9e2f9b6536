"""The goods description a declarant writes for each item.

Honest declarants do not all write the catalogue's wording: most do, some in capitals, some
add the packing ("Fresh bananas, in cartons"), a few write only the kind of goods ("Fruit"),
and a few copy the wrong line of an invoice (another article of the same category): the noise a
description check must live with.

A misdeclared item's description is where the trick often leaks: the declarant writes the
cover subheading's description for most of them, but for ``LEAK_TRUE`` of them the true goods'
own wording (copied from the supplier's invoice) and for ``LEAK_MIX`` a mix of both ("Computer
monitors - LED television sets"). These shares are the generator's assumption, not a measured
fact: a check of the description against the declared code finds, on this traffic, about what
they put there.

Drawn from a generator of its own, seeded by the run's seed and the day's index, so that the
wording changes nothing else the day draws (same parties, goods, values and patterns as before
descriptions varied).
"""

from __future__ import annotations

import numpy as np

from quaywatch.synth.world import CATEGORY_NAMES, World

#: Shares of honest items written in capitals, with a packing phrase, as the kind of goods only,
#: and with another article's description of the same category (a clerical slip).
UPPER, PACKING, GENERIC, SLIP = 0.15, 0.15, 0.06, 0.004
#: Shares of misdeclared items that keep the true goods' description, or mix both.
LEAK_TRUE, LEAK_MIX = 0.3, 0.2
_PACKING = (", in cartons", ", on pallets", " (as per invoice)", ", packed in bags",
            ", new", " - commercial goods")  # fmt: skip
#: The kind of goods a terse declarant writes, by category (wildlife by HS chapter below).
_GENERIC = {
    "fruit": "Fresh fruit", "fish": "Frozen seafood", "dry_food": "Foodstuffs",
    "apparel": "Garments and textiles", "footwear": "Footwear", "electronics": "Electronic goods",
    "toys": "Toys and games", "household": "Household goods", "vehicles": "Vehicles and parts",
    "industrial": "Industrial goods", "pharma": "Pharmaceutical products",
    "beverages": "Beverages and tobacco", "timber": "Timber", "wildlife": "Natural products",
}  # fmt: skip
_GENERIC_WILDLIFE = {"01": "Live animals", "44": "Timber"}


def describe(
    seed: int, index: int, world: World, goods: np.ndarray, declared: np.ndarray,
    misdeclared: np.ndarray,
) -> np.ndarray:  # fmt: skip
    """Descriptions of items whose true goods are ``goods`` and declared goods ``declared``
    (catalogue indices); ``misdeclared`` marks the misdeclared items."""
    rng = np.random.default_rng([seed, index, 0xDE5C])
    n = len(goods)
    category = world.goods_category[goods]
    order = np.argsort(world.goods_category, kind="stable")
    sizes = np.bincount(world.goods_category, minlength=len(CATEGORY_NAMES))
    starts = np.concatenate([[0], np.cumsum(sizes)[:-1]])
    slip_to = order[starts[category] + (rng.random(n) * sizes[category]).astype(np.int64)]
    u = rng.random(n)
    written = np.where((u < SLIP) & ~misdeclared, slip_to, declared)
    text = world.goods_description[written].astype(object)
    generic = np.array([_generic(world, g) for g in written], dtype=object)
    style = rng.random(n)
    packing = np.array(_PACKING, dtype=object)[rng.integers(0, len(_PACKING), n)]
    text = np.where(style < UPPER, np.char.upper(text.astype(str)).astype(object), text)
    text = np.where((style >= UPPER) & (style < UPPER + PACKING), text + packing, text)
    text = np.where((style >= UPPER + PACKING) & (style < UPPER + PACKING + GENERIC), generic, text)
    true_text = world.goods_description[goods].astype(object)
    leak = rng.random(n)
    text = np.where(misdeclared & (leak < LEAK_TRUE), true_text, text)
    mixed = world.goods_description[declared].astype(object) + " - " + np.char.lower(
        true_text.astype(str)
    ).astype(object)  # fmt: skip
    text = np.where(misdeclared & (leak >= LEAK_TRUE) & (leak < LEAK_TRUE + LEAK_MIX), mixed, text)
    return text.astype(str)


def _generic(world: World, goods: int) -> str:
    name = CATEGORY_NAMES[int(world.goods_category[goods])]
    if name == "wildlife":
        return _GENERIC_WILDLIFE.get(str(world.goods_hs6[goods])[:2], _GENERIC[name])
    return _GENERIC[name]
