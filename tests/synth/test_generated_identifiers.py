"""Clean mode: every identifier the generator writes is valid by quaywatch's own checks."""

from __future__ import annotations

import numpy as np
import polars as pl
from hypothesis import given, settings, strategies as st

from quaywatch.domain import identifiers as ids, reference
from quaywatch.intake.consignments import ROLES
from quaywatch.synth import parties, world
from quaywatch.synth.traffic import Traffic


def _rows(traffic: Traffic) -> pl.DataFrame:
    return pl.concat(pl.read_csv(p, infer_schema=False) for p in traffic.consignment_files)


def _no_problems(frame: pl.DataFrame, checks: dict[str, object]) -> None:
    for column, problem in checks.items():
        found = frame.select(problem(pl.col(column).drop_nulls())).to_series().drop_nulls()  # type: ignore[operator]
        assert found.is_empty(), (column, found.head(3).to_list())


def test_consignment_identifiers_are_valid(clean: Traffic) -> None:
    rows = _rows(clean)
    checks = {
        "container_number": ids.container_number_problem,
        "vessel_imo": ids.imo_problem,
        "port_of_loading": ids.port_problem,
        "port_of_discharge": ids.port_problem,
        "place_of_delivery": ids.locode_problem,
        "hs6": ids.hs6_problem,
        "currency": ids.currency_problem,
        "origin_country": ids.country_problem,
        "carrier_scac": ids.scac_problem,
        "container_size_type": ids.size_type_problem,
        "package_type": ids.package_type_problem,
        **{f"{role}_country": ids.country_problem for role in ROLES},
        **{f"{role}_eori": ids.eori_problem for role in ROLES},
    }
    _no_problems(rows, checks)
    hubs = rows.select(pl.col("transshipment_ports").drop_nulls().str.split("|").explode())
    _no_problems(hubs, {"transshipment_ports": ids.port_problem})
    assert rows["consignee_eori"].null_count() == 0  # every EU consignee has one


def test_belgian_eori_carry_enterprise_number_check_digits(clean: Traffic) -> None:
    numbers = _rows(clean).filter(pl.col("consignee_country") == "BE")["consignee_eori"].unique()
    digits = numbers.str.slice(2).cast(pl.Int64)
    assert ((97 - (digits // 100) % 97) == digits % 100).all()


def test_event_identifiers_are_valid(clean: Traffic) -> None:
    events = pl.concat(pl.read_ndjson(p) for p in clean.event_files)
    flat = events.select(
        pl.col("equipmentReference"),
        pl.col("eventLocation").struct.field("UNLocationCode").alias("place"),
        pl.col("transportCall").struct.field("vessel").struct.field("vesselIMONumber").alias("imo"),
    )
    _no_problems(
        flat,
        {
            "equipmentReference": ids.container_number_problem,
            "place": ids.port_problem,
            "imo": ids.imo_problem,
        },
    )


def test_catalogue_is_real_hs6_with_plausible_figures() -> None:
    world.check_catalogue()
    assert 60 <= len(world.GOODS) <= 100
    duty = reference.duty_rates()
    for hs6, category, description, median, sigma in world.GOODS:
        assert ids.validate_hs6(hs6) == hs6
        assert category in world.CATEGORIES and description
        assert median > 0 and 0 < sigma < 1 and 0 <= duty[hs6] < 100
    for true, declared in world.MISDECLARED.items():
        assert duty[declared] < duty[true], (true, declared)


def test_world_ports_and_fleet() -> None:
    lanes = world.build(np.random.default_rng(1), "BEANR")
    assert 150 <= len(lanes.origin) <= 220
    assert "BEANR" not in lanes.origin and not set(lanes.origin_country) & world.EU
    for imo in lanes.vessel_imo.ravel():
        assert ids.validate_imo(str(imo)) == imo
    assert len(set(lanes.vessel_imo.ravel())) == lanes.vessel_imo.size
    east_asia = lanes.origin_weight[lanes.origin_region == world.REGIONS.index("East Asia")].sum()
    assert 0.25 < east_asia < 0.4  # Asia-heavy, as a North European port's imports are


@settings(max_examples=25, deadline=None)
@given(st.integers(0, 2**32 - 1))
def test_generated_numbers_are_valid_for_any_seed(seed: int) -> None:
    rng = np.random.default_rng(seed)
    countries = np.array(["BE", "NL", "DE", "FR", "LU"] * 4)
    for eori in parties._eori(rng, countries):
        assert ids.validate_eori(str(eori)) == eori
    for imo in world._imo_numbers(rng, 20):
        assert ids.validate_imo(str(imo)) == imo
