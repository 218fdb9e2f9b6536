"""Declared features: value in EUR, duty, the value reference, one row per consignment."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta

import polars as pl
import pytest

from quaywatch.domain import reference
from quaywatch.features import declared

LODGED = datetime(2026, 10, 1, 8, tzinfo=UTC)


def _items(rows: list[dict[str, object]]) -> pl.DataFrame:
    """Goods-item rows shaped like ``store.reads.goods_item_rows``, defaults filled in."""
    base: dict[str, object] = {
        "consignment_id": "C1", "version": 1, "lodged_at": LODGED,
        "eta": LODGED + timedelta(days=20), "carrier_scac": "MAEU", "vessel_imo": "9074729",
        "port_of_loading": "ECGYE", "transshipment_ports": None, "port_of_discharge": "BEANR",
        "place_of_delivery": "BEANR", "consignee_key": "k1", "consignor_key": "k2",
        "declarant_key": "k3", "consignee_aeo": "NONE", "consignee_country": "BE",
        "consignor_aeo": "NONE", "consignor_country": "EC", "declarant_aeo": "NONE",
        "declarant_country": "BE", "sequence": 1, "hs6": "080390", "description": "Bananas",
        "packages": 100, "package_type": "CT", "gross_mass_kg": 1000.0, "value": 750.0,
        "currency": "EUR", "origin_country": "EC", "container_number": "MSKU1234565",
        "container_size_type": "45R1",
    }  # fmt: skip
    return pl.DataFrame([base | row for row in rows])


def test_values_are_converted_to_eur_and_duty_comes_from_the_tariff() -> None:
    items = declared.item_features(
        _items([{"currency": "USD", "value": 1000.0}, {"sequence": 2, "currency": "XXX"}])
    )
    usd = reference.exchange_rates()["USD"]
    assert items["value_eur"].to_list() == [pytest.approx(1000.0 * usd), None]
    assert items["duty_pct"].to_list() == [10.0, 10.0]  # bananas, from tariff.csv
    assert items["duty_eur"][0] == pytest.approx(100.0 * usd)
    assert items["log_value_per_kg"][0] == pytest.approx(math.log(usd))


def test_kg_per_package_is_gross_mass_over_packages_and_none_without_packages() -> None:
    items = declared.item_features(
        _items([{"packages": 40}, {"sequence": 2, "packages": 0}, {"sequence": 3}])
    )
    assert items["log_kg_per_package"].to_list() == [pytest.approx(math.log(25.0)), None,
                                                     pytest.approx(math.log(10.0))]  # fmt: skip
    # Rows made before they carried packages have no kg per package, and nothing else changes.
    without = declared.item_features(_items([{}]).drop("packages", "package_type"))
    assert without["log_kg_per_package"].to_list() == [None]
    assert without["log_value_per_kg"].item() == items["log_value_per_kg"][0]


def test_item_features_of_items_that_have_them_are_those_items() -> None:
    """The engine computes them once for the features and the traffic norms."""
    once = declared.item_features(_items([{"currency": "USD"}, {"sequence": 2, "hs6": "030617"}]))
    assert declared.item_features(once).equals(once)


def test_value_reference_falls_back_from_subheading_to_chapter_to_overall() -> None:
    rows = [{"sequence": i, "hs6": "080390", "value": 1000.0} for i in range(1, 31)]
    rows += [{"sequence": 100 + i, "hs6": "080430", "value": 2000.0} for i in range(5)]
    fitted = declared.ValueReference.fit(declared.item_features(_items(rows)), min_items=30)
    assert set(fitted.by_hs6) == {"080390"}
    assert set(fitted.by_chapter) == {"08"}  # 35 items in chapter 08
    table = fitted.table(pl.Series(["080390", "080430", "610910"]))
    medians = dict(zip(table["hs6"], table["_median"], strict=True))
    assert medians["080390"] == pytest.approx(0.0)  # log(1 EUR/kg)
    assert medians["080430"] == fitted.by_chapter["08"][0]
    assert medians["610910"] == fitted.overall[0]
    again = declared.ValueReference.from_dict(fitted.to_dict())
    assert again == fitted


def test_one_row_per_consignment_with_the_most_undervalued_item_speaking_for_it() -> None:
    fitted = declared.ValueReference(by_hs6={"080390": (0.0, 0.5), "610910": (2.0, 0.5)})
    items = _items([
        {"sequence": 1, "hs6": "080390", "value": 1000.0},  # 1 EUR/kg: on the median
        {"sequence": 2, "hs6": "610910", "value": 5000.0, "gross_mass_kg": 5000.0,
         "origin_country": "CN", "container_number": "MSKU7654322",
         "container_size_type": "45G1"},  # 1 EUR/kg where e^2 is usual: undervalued
    ])  # fmt: skip
    items = items.with_columns(
        pl.lit("SGSIN|PAMIT").alias("transshipment_ports"), pl.lit("AEOF").alias("consignee_aeo")
    )
    row = declared.consignment_features(declared.item_features(items), fitted).row(0, named=True)
    assert row["n_items"] == 2 and row["n_containers"] == 2
    assert row["value_z"] == pytest.approx(-2.0 / 0.5)
    assert row["value_ratio"] == pytest.approx(math.exp(-2.0))
    assert row["main_hs6"] == "610910" and row["main_chapter"] == "61"
    assert row["value_hs6"] == "610910"
    assert row["value_z_max"] == pytest.approx(0.0) and row["value_hs6_max"] == "080390"
    assert row["value_ratio_max"] == pytest.approx(1.0)
    assert row["box_mismatch"] is None  # the reference knows no reefer shares
    assert row["origin_country"] == "CN" and row["origin_differs_from_loading"]
    assert row["transshipments"] == 2 and row["hubs"] == "SGSIN|PAMIT"
    assert row["lane"] == "ECGYE-BEANR" and row["origin_region"] == "South America"
    assert row["reefer"] and row["consignee_aeo"] and not row["consignor_aeo"]
    assert row["lodged_hours_before_eta"] == 480.0
    assert row["duty_exposure_eur"] == pytest.approx(1000.0 * 0.10 + 5000.0 * 0.12)
    assert list(declared.consignment_features(declared.item_features(items), fitted).columns) == [
        *declared.KEY,
        "lodged_at",
        *declared.PARTIES,
        *declared.FEATURES,
        *declared.CONTEXT,
    ]


def test_goods_declared_above_their_subheading_and_in_the_wrong_box_are_flagged() -> None:
    # Frozen tuna loins travel in reefers, bananas too; T-shirts travel dry.
    train = [{"sequence": i, "hs6": "030487", "value": 1000.0, "container_size_type": "45R1"}
             for i in range(30)]  # fmt: skip
    train += [{"sequence": 100 + i, "hs6": "610910", "container_size_type": "45G1"}
              for i in range(29)]  # fmt: skip
    train += [{"sequence": 200, "hs6": "610910", "container_size_type": "45R1"}]
    fitted = declared.ValueReference.fit(declared.item_features(_items(train)), min_items=30)
    assert fitted.reefer_share == {"030487": 1.0, "610910": pytest.approx(1 / 30)}
    assert declared.ValueReference.from_dict(fitted.to_dict()) == fitted
    saved_before = {k: v for k, v in fitted.to_dict().items() if k != "reefer_share"}
    assert declared.ValueReference.from_dict(saved_before).reefer_share == {}

    items = _items([
        # Canned tuna declared as frozen loins, in a dry box, at 8x the loins' value per kg.
        {"sequence": 1, "hs6": "030487", "value": 8000.0, "container_size_type": "22G1"},
        {"sequence": 2, "hs6": "610910", "value": 500.0, "currency": "XXX",
         "container_size_type": "22G1"},  # unknown currency: no value features, usual box
    ])  # fmt: skip
    row = declared.consignment_features(declared.item_features(items), fitted).row(0, named=True)
    scale = fitted.by_hs6["030487"][1]
    assert row["value_z_max"] == pytest.approx(math.log(8.0) / scale)
    assert row["value_z"] == row["value_z_max"]  # the item with a null z never speaks
    assert row["value_ratio"] == pytest.approx(8.0) and row["value_hs6"] == "030487"
    assert row["value_ratio_max"] == pytest.approx(8.0) and row["value_hs6_max"] == "030487"
    assert row["box_mismatch"] == pytest.approx(1.0) and row["box_hs6"] == "030487"

    reefer_shirts = _items([{"hs6": "610910", "container_size_type": "45R1"}])
    row = declared.consignment_features(declared.item_features(reefer_shirts), fitted).row(
        0, named=True
    )
    assert row["box_mismatch"] == pytest.approx(1 / 30 - 1) and row["box_hs6"] == "610910"


@pytest.mark.parametrize("order", [[0, 1, 2, 3], [0, 2, 1, 3], [3, 0, 1, 2]])
def test_per_consignment_is_a_group_by_in_order_of_first_appearance(order: list[int]) -> None:
    rows = _items([
        {"consignment_id": "C1", "sequence": 1, "value": 10.0},
        {"consignment_id": "C1", "sequence": 2, "value": 20.0},
        {"consignment_id": "C2", "sequence": 1, "value": 5.0},
        {"consignment_id": "C1", "version": 2, "sequence": 1, "value": 7.0},
    ])[order]  # fmt: skip
    aggregations = (pl.col("value").sum().alias("total"), pl.len().alias("n"))
    expected = rows.group_by(*declared.KEY, maintain_order=True).agg(*aggregations)
    got = declared.per_consignment(rows, *aggregations)
    assert got.equals(expected)
    assert got.height == 3  # C1 v1 split in two runs ([0, 2, 1, 3]) is still one consignment
