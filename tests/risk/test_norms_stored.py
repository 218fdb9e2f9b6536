"""Risk without labels on declarations read back from a store, SQLite and PostgreSQL alike.

A generated port day is rewritten into a port whose traffic of four subheadings is known
(T-shirts, made-up textile articles, denim fabric, shoe uppers, each at its own price per kg),
imported through the ordinary intake, read back as every assessment reads it
(``reads.goods_item_rows``, ``declared.item_features``), and the traffic norms are fitted on
it: then a cover-code declaration whose description also names the true goods, a
consignment whose every item is a little cheaper than usual, and items far heavier and far
lighter per package than their goods in cartons usually are, are what they report.
"""

from __future__ import annotations

import math
from pathlib import Path

import polars as pl

from quaywatch.features import declared
from quaywatch.intake.pipeline import ingest_file
from quaywatch.risk.description_norm import CODE, DUTY_MORE, WEIGHT_MIN
from quaywatch.risk.norms import TrafficNorms
from quaywatch.store import reads
from quaywatch.store.store import Store
from quaywatch.synth.portday import PortDay

#: The port's usual goods: subheading, description and usual EUR/kg (duties: 12, 6.3, 8, 3 %).
GOODS = [
    ("610910", "Cotton T-shirts", 9.0),
    ("630790", "Made-up textile articles", 5.0),
    ("520942", "Cotton denim fabric", 5.0),
    ("640610", "Shoe uppers", 9.0),
]
#: Gross kg per carton of each of the goods above.
PER_CARTON = {"610910": 10.0, "630790": 8.0, "520942": 25.0, "640610": 5.0}
#: Spread of honest prices around the usual one (log scale), item by item.
SPREAD = (-0.45, -0.2, 0.0, 0.2, 0.45)


def _rewrite(day: PortDay, path: Path) -> tuple[str, ...]:
    """The day's consignments as the port above (1,000 kg an item, in cartons), with six probes
    among the last ones: a cover-code item naming T-shirts (``mixed``), the same towards lower
    duty (``slip``), a consignment of three or more items of different goods each at about
    half the usual price (``cheap``), one whose three or more lines are all T-shirts at that
    price (``copies``), and one item in cartons four times as heavy as usual (``heavy``) and
    one in cartons a quarter as heavy (``light``)."""
    frame = pl.read_csv(day.consignments, infer_schema=False)
    sizes = frame.group_by("consignment_id", maintain_order=True).len()
    several = sizes.filter(pl.col("len") >= 3).get_column("consignment_id").to_list()
    cheap = several[-1]
    # Of the same origin as ``cheap``: the same norms, the same deviations, lines of one good.
    origin = frame.filter(pl.col("consignment_id") == cheap).get_column("origin_country")[0]
    copies = next(
        c for c in reversed(several[:-1])
        if frame.filter(pl.col("consignment_id") == c).get_column("origin_country")[0] == origin
    )  # fmt: skip
    singles = sizes.filter(pl.col("len") == 1).get_column("consignment_id").to_list()
    mixed, slip, heavy, light = singles[-1], singles[-2], singles[-3], singles[-4]
    hs6, text, value, packages = [], [], [], []
    for row, (consignment, sequence) in enumerate(
        frame.select("consignment_id", "item_sequence").iter_rows()
    ):
        code, words, usual = GOODS[row % len(GOODS)]
        price = usual * math.exp(SPREAD[row % len(SPREAD)] * (1 if row % 3 else -1))
        if consignment == cheap:
            code, words, usual = GOODS[(int(sequence) - 1) % len(GOODS)]
            price = usual * math.exp(-0.8 + 0.05 * int(sequence))
        elif consignment == copies:
            code, words, usual = GOODS[0]
            price = usual * math.exp(-0.8 + 0.05 * min(int(sequence), 3))
        elif consignment == mixed:
            code, words, price = "630790", "Made-up textile articles - cotton T-shirts", 5.0
        elif consignment == slip:
            code, words, price = "610910", "Cotton T-shirts - shoe uppers", 9.0
        carton = PER_CARTON[code] * math.exp(SPREAD[row % len(SPREAD)] / 3)
        carton *= {heavy: 4.0, light: 0.25}.get(consignment, 1.0)
        hs6.append(code)
        text.append(words)
        value.append(f"{price * 1000:.2f}")
        packages.append(str(round(1000 / carton)))
    frame.with_columns(
        pl.Series("hs6", hs6), pl.Series("description", text), pl.Series("value", value),
        pl.Series("packages", packages), pl.lit("CT").alias("package_type"),
        pl.lit("1000").alias("gross_mass_kg"), pl.lit("EUR").alias("currency"),
    ).write_csv(path)  # fmt: skip
    return mixed, slip, cheap, copies, heavy, light


def test_stored_declarations_norms_name_other_goods_a_cheap_consignment_and_odd_packages(
    store: Store, clean_day: PortDay, tmp_path: Path
) -> None:
    mixed, slip, cheap, copies, heavy, light = _rewrite(clean_day, tmp_path / "port.csv")
    assert ingest_file(store, tmp_path / "port.csv").quarantined == 0
    items = declared.item_features(reads.goods_item_rows(store))
    probes = pl.DataFrame({"consignment_id": [mixed, slip, cheap, copies, heavy, light]})
    reference = items.join(probes, on="consignment_id", how="anti")
    consignments = reference.group_by(*declared.KEY).agg(
        pl.col("origin_country", "consignor_key", "consignee_key").first(),
        pl.lit("").alias("hubs"), pl.col("hs6").first().str.slice(0, 2).alias("main_chapter"),
    )  # fmt: skip
    norms = TrafficNorms.fit(reference, consignments)
    batch = items.join(probes, on="consignment_id", how="semi")
    found = norms.hits(batch, consignments.clear())

    def hit(consignment: str, code: str) -> dict[str, object]:
        rows = found.filter((pl.col("consignment_id") == consignment) & (pl.col("code") == code))
        assert rows.height >= 1, (consignment, code, found)
        return rows.sort("weight", descending=True).row(0, named=True)

    named = hit(mixed, CODE)
    assert 'names "shirt", which reference traffic writes for HS 610910' in named["text"]
    assert "duty 12 % for HS 610910, 6.3 % declared" in named["text"]
    assert named["weight"] == WEIGHT_MIN + DUTY_MORE
    # Uppers carry less duty than T-shirts: a slip is the likelier story, half the weight.
    lower = hit(slip, CODE)
    assert "for HS 640610" in lower["text"] and lower["weight"] < WEIGHT_MIN

    together = hit(cheap, "unusual:value_low")
    assert together["text"].startswith("items 1, 2, 3")
    assert "every item cheaper than usual" in together["text"]
    # No item alone is far enough below its norm: only the consignment as a whole is.
    alone = found.filter(
        (pl.col("consignment_id") == cheap) & pl.col("text").str.starts_with("item ")
    )
    assert alone.is_empty()
    # Lines of one good from one origin are one price written again, not more evidence.
    assert found.filter(pl.col("consignment_id") == copies).is_empty()

    # Packages as stored: four times the usual carton's kg, and a quarter of it.
    for consignment, code, side in ((heavy, "unusual:package_heavy", "far heavier"),
                                    (light, "unusual:package_light", "far lighter")):  # fmt: skip
        odd = hit(consignment, code)
        assert "kg per package declared" in odd["text"] and " in packages CT " in odd["text"]
        assert odd["text"].endswith(side)
    weighed = found.filter(pl.col("code").str.starts_with("unusual:package_"))
    assert sorted(weighed["consignment_id"].to_list()) == sorted([heavy, light])
