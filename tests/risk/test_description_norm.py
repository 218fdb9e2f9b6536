"""The goods description against the declared code, learnt from the traffic's own words."""

from __future__ import annotations

import math
from pathlib import Path

import polars as pl
from hypothesis import given, settings, strategies as st
from polars.testing import assert_frame_equal

from quaywatch.risk import description_norm
from quaywatch.risk.description_norm import CODE, DescriptionNorm, words
from quaywatch.risk.norms import TrafficNorms

#: Reference traffic: what the port usually declares under each subheading, and how often.
USUAL = {
    "852872": ("LED television sets", 80),
    "852852": ("Computer monitors", 80),
    "640411": ("Sports shoes with textile uppers", 60),
    "640610": ("Shoe uppers", 60),
    "080390": ("Fresh bananas", 120),
    "080430": ("Fresh pineapples", 60),
}


def _items(rows: list[tuple[str, str, str]]) -> pl.DataFrame:
    """Goods items (one per consignment) of ``(id, hs6, description)``, with the columns the
    traffic norms read."""
    return pl.DataFrame(
        {
            "consignment_id": [r[0] for r in rows],
            "version": [1] * len(rows),
            "sequence": [1] * len(rows),
            "hs6": [r[1] for r in rows],
            "description": [r[2] for r in rows],
            "origin_country": ["CN"] * len(rows),
            "consignor_key": [f"S{i % 9}" for i in range(len(rows))],
            "log_value_per_kg": [math.log(5.0)] * len(rows),
        }
    )


def _reference(extra: list[tuple[str, str]] = ()) -> pl.DataFrame:  # type: ignore[assignment]
    rows = [
        (f"R{hs6}-{i}", hs6, text.upper() if i % 4 == 0 else text)
        for hs6, (text, n) in USUAL.items()
        for i in range(n)
    ]
    rows += [(f"X{i}", hs6, text) for i, (hs6, text) in enumerate(extra)]
    return _items(rows)


def _consignments(items: pl.DataFrame) -> pl.DataFrame:
    return items.select(
        "consignment_id", "version", "origin_country", "consignor_key",
        pl.lit("C1").alias("consignee_key"), pl.lit("").alias("hubs"),
        pl.col("hs6").str.slice(0, 2).alias("main_chapter"),
    )  # fmt: skip


def _flagged(norm: DescriptionNorm, probe: list[tuple[str, str, str]]) -> dict[str, str]:
    found = norm.hits(_items(probe))
    assert set(found["code"].to_list()) <= {CODE}
    return dict(zip(found["consignment_id"].to_list(), found["text"].to_list(), strict=True))


def test_a_description_of_other_goods_than_the_declared_code_is_a_hit() -> None:
    norm = DescriptionNorm.fit(_reference())
    found = _flagged(norm, [
        ("tv", "852852", "LED television sets"),
        ("shoes", "640610", "SPORTS SHOES with textile uppers, in cartons"),
        ("monitor", "852852", "Computer monitors, in cartons"),
        ("upper", "640610", "shoe uppers"),
    ])  # fmt: skip
    assert set(found) == {"tv", "shoes"}
    assert 'the description "LED television sets" reads as HS 852872 (' in found["tv"]
    assert "declared HS 852852 (<0.1 %)" in found["tv"]
    weights = norm.hits(_items([("tv", "852852", "LED television sets")]))["weight"]
    top = description_norm.WEIGHT_MAX + description_norm.DUTY_MORE  # TVs pay 14 %, monitors 0
    assert description_norm.WEIGHT_MIN < weights.item() <= top


def test_thin_data_unknown_words_and_vague_descriptions_stay_silent() -> None:
    # Twenty laptops are too few for the port to know how laptops are described.
    norm = DescriptionNorm.fit(_reference([("847130", "Laptop computers")] * 20))
    assert not _flagged(norm, [
        ("thin", "847130", "LED television sets"),  # declared code under MIN_ITEMS
        ("unseen", "852852", "Quantum flux capacitors"),  # no word the port knows
        ("vague", "080430", "Fresh fruit"),  # "fresh" goes with bananas and pineapples alike
        ("empty", "852852", ""),
    ])  # fmt: skip
    no_text = _items([("tv", "852852", "LED television sets")]).drop("description")
    assert norm.hits(no_text).is_empty()
    assert DescriptionNorm.fit(_reference().drop("description")).hits(_items([
        ("tv", "852852", "LED television sets")
    ])).is_empty()  # fmt: skip


def test_a_description_naming_other_goods_is_a_hit_weighed_by_the_duty_at_stake() -> None:
    # A scheme repeated in the window: a few monitors were described with the TV's words too.
    norm = DescriptionNorm.fit(_reference([("852852", "Computer monitors - LED television sets")]))
    found = _flagged(norm, [
        ("mixed", "852852", "Computer monitors - LED television sets"),
        ("fruit", "852852", "Fresh bananas and pineapples"),  # no other code is sure alone
        ("cheaper", "852872", "LED television sets - computer monitors"),
        ("monitor", "852852", "Computer monitors"),
    ])  # fmt: skip
    assert set(found) == {"mixed", "fruit", "cheaper"}
    named = 'names "led", which reference traffic writes for HS 852872 (80 of its 81 uses)'
    assert named in found["mixed"]
    assert "for the declared HS 852852 in 1 of its 81 items" in found["mixed"]
    assert "duty 14 % for HS 852872, 0 % declared" in found["mixed"]
    weights = dict(zip(*norm.hits(_items([
        ("mixed", "852852", "Computer monitors - LED television sets"),
        ("cheaper", "852872", "LED television sets - computer monitors"),
    ])).select("consignment_id", "weight").to_dict().values(), strict=True))  # fmt: skip
    # Monitors pay no duty, televisions 14 %: only the first is a way to pay less.
    assert weights["mixed"] > description_norm.WEIGHT_MIN > weights["cheaper"]
    # A word the declared code itself uses in more than one item in twenty names nothing.
    common = [("852852", "Computer monitors - LED television sets")] * 5
    assert "mixed" not in _flagged(DescriptionNorm.fit(_reference(common)), [
        ("mixed", "852852", "Computer monitors - LED television sets"),
    ])  # fmt: skip


def test_a_code_the_tariff_knows_nothing_of_keeps_the_weight_without_duty_at_stake() -> None:
    # Chapter 77 is reserved: the tariff lists none of it, so neither rate is a duty.
    usual = [("770010", "Widget frames")] * 80 + [("770020", "Gadget hinges")] * 80
    reference = _reference([*usual, ("770010", "Widget frames - gadget hinges")])
    probe = [("mixed", "770010", "Widget frames - gadget hinges")]
    found = DescriptionNorm.fit(reference).hits(_items(probe))
    assert found["consignment_id"].to_list() == ["mixed"]
    # Nothing known of the duty: neither the bonus of more duty nor the part of a slip, and
    # no default rate quoted as if it were the codes'.
    assert description_norm.WEIGHT_MIN <= found["weight"][0] <= description_norm.WEIGHT_MAX
    assert found["text"][0].endswith(
        "the tariff in use lists no duty for HS 770020 or for HS 770010"
    )
    # One code known (televisions, 14 %), the other not: the duty at stake is still unknown.
    tv = [("852872", "LED television sets")] * 80 + [("770010", "Widget frames")] * 80
    reference = _reference([*tv, ("770010", "Widget frames - LED television sets")])
    probe = [("widget", "770010", "Widget frames - LED television sets")]
    found = DescriptionNorm.fit(reference).hits(_items(probe))
    assert found["consignment_id"].to_list() == ["widget"]
    assert description_norm.WEIGHT_MIN <= found["weight"][0] <= description_norm.WEIGHT_MAX
    assert "lists no duty for HS 852872 or for HS 770010" in found["text"][0]


def test_the_same_item_gets_the_same_verdict_in_any_batch() -> None:
    norm = DescriptionNorm.fit(_reference())
    alone = norm.hits(_items([("tv", "852852", "LED television sets")]))
    among = norm.hits(_items([
        ("a", "080390", "Fresh bananas"), ("tv", "852852", "LED television sets"),
        ("b", "640610", "Shoe uppers"),
    ])).filter(pl.col("consignment_id") == "tv")  # fmt: skip
    assert_frame_equal(alone, among)


def test_traffic_norms_carry_the_description_check_through_saving(tmp_path: Path) -> None:
    reference = _reference()
    fitted = TrafficNorms.fit(reference, _consignments(reference))
    probe = _items([("tv", "852852", "LED television sets"), ("ok", "852852", "Computer monitors")])
    found = fitted.hits(probe, _consignments(probe))
    assert found.filter(pl.col("code") == CODE)["consignment_id"].to_list() == ["tv"]
    assert fitted.summary["description_codes"] == len(USUAL)
    fitted.save(tmp_path / "norms")
    loaded = TrafficNorms.load(tmp_path / "norms")
    assert_frame_equal(found, loaded.hits(probe, _consignments(probe)))
    # Norms saved before the description check existed load, and say nothing of descriptions.
    for name in ("description_codes", "description_words"):
        (tmp_path / "norms" / f"{name}.parquet").unlink()
    old = TrafficNorms.load(tmp_path / "norms").hits(probe, _consignments(probe))
    assert_frame_equal(old, found.filter(pl.col("code") != CODE))


@settings(max_examples=40, deadline=None)
@given(st.text(max_size=200))
def test_words_are_lower_case_distinct_and_few(text: str) -> None:
    found = pl.select(words(pl.lit(text, pl.String))).item().to_list()
    assert len(found) == len(set(found)) <= description_norm.MAX_WORDS
    assert all(w == w.lower() and len(w) >= 2 and w.isascii() for w in found)
