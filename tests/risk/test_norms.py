"""Risk without labels: norms learnt from traffic, hits for declarations unlike it."""

from __future__ import annotations

import math
import shutil
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import polars as pl
import pytest
from hypothesis import given, settings, strategies as st
from polars.testing import assert_frame_equal

from generated_store import legacy_store
from quaywatch.learning import train
from quaywatch.risk import engine, explain, norms
from quaywatch.risk.bundle import RiskModel
from quaywatch.risk.norms import TrafficNorms
from quaywatch.store import reads
from quaywatch.store.store import Store


def _traffic(rows: list[dict[str, object]]) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Item features and consignment features of one-item consignments described by ``rows``
    (keys: id, hs6, origin, consignor, consignee, vpk (EUR/kg), hubs, package (type), kpp (gross
    kg per package))."""
    frame = pl.DataFrame(
        {
            "consignment_id": [str(r["id"]) for r in rows],
            "version": [1] * len(rows),
            "sequence": [1] * len(rows),
            "hs6": [str(r.get("hs6", "610910")) for r in rows],
            "origin_country": [str(r.get("origin", "CN")) for r in rows],
            "consignor_key": [str(r.get("consignor", "S1")) for r in rows],
            "consignee_key": [str(r.get("consignee", "C1")) for r in rows],
            "log_value_per_kg": [math.log(float(str(r.get("vpk", 10.0)))) for r in rows],
            "package_type": [str(r.get("package", "CT")) for r in rows],
            "log_kg_per_package": [math.log(float(str(r.get("kpp", 12.0)))) for r in rows],
            "hubs": [str(r.get("hubs", "")) for r in rows],
        }
    )
    items = frame.drop("hubs", "consignee_key")
    consignments = frame.select(
        "consignment_id", "version", "origin_country", "hubs", "consignor_key", "consignee_key",
        pl.col("hs6").str.slice(0, 2).alias("main_chapter"),
    )  # fmt: skip
    return items, consignments


def _codes(found: pl.DataFrame, consignment: str) -> set[str]:
    return set(found.filter(pl.col("consignment_id") == consignment)["code"].to_list())


def _weighed(found: pl.DataFrame, consignment: str) -> set[str]:
    """The package codes of ``consignment``'s hits."""
    return {c for c in _codes(found, consignment) if c.startswith("unusual:package_")}


def _usual(n: int, prefix: str = "R", **fields: object) -> list[dict[str, object]]:
    """``n`` ordinary consignments: T-shirts from China at 9-11 EUR/kg, from many consignors."""
    return [
        {"id": f"{prefix}{i}", "vpk": 9.0 + 2.0 * (i % 5) / 4, "consignor": f"S{i % 7}",
         "consignee": f"C{i % 3}", **fields}
        for i in range(n)
    ]  # fmt: skip


def test_a_declaration_far_cheaper_than_its_goods_and_origin_usually_are_is_a_hit() -> None:
    fitted = TrafficNorms.fit(*_traffic(_usual(60)))
    found = fitted.hits(*_traffic([
        {"id": "cheap", "vpk": 0.9}, {"id": "normal", "vpk": 10.0},
        {"id": "dear", "vpk": 200.0}, {"id": "elsewhere", "vpk": 0.9, "hs6": "999999"},
    ]))  # fmt: skip
    assert "unusual:value_low" in _codes(found, "cheap")
    assert "unusual:value_high" in _codes(found, "dear")
    assert not _codes(found, "normal")
    assert not {c for c in _codes(found, "elsewhere") if c.startswith("unusual:value")}  # no norm
    reason = found.filter(pl.col("code") == "unusual:value_low")["text"].item()
    assert "0.9 EUR/kg declared" in reason and "HS 610910 from CN" in reason
    assert "(60 items of reference traffic)" in reason
    assert found["source"].unique().to_list() == [explain.Source.UNUSUAL.value]
    weight = found.filter(pl.col("code") == "unusual:value_low")["weight"].item()
    assert 1.25 <= weight <= 2.25


def test_consignments_whose_control_found_something_do_not_set_the_norm() -> None:
    # Most of the traffic of this subheading is the fraud itself: 40 cheap, 25 honest.
    cheap = [{"id": f"F{i}", "vpk": 1.0} for i in range(40)]
    items, consignments = _traffic([*_usual(25), *cheap])
    caught = consignments.filter(pl.col("consignment_id").str.starts_with("F")).select(
        "consignment_id", "version"
    )
    blind = TrafficNorms.fit(items, consignments)
    seeing = TrafficNorms.fit(items, consignments, suspect=caught)
    probe = _traffic([{"id": "new", "vpk": 1.0}])
    assert not _codes(blind.hits(*probe), "new")  # the fraud became normal
    assert "unusual:value_low" in _codes(seeing.hits(*probe), "new")
    assert seeing.summary["left_out_suspect"] == 40


def test_an_item_far_below_what_its_own_consignor_usually_declares_is_a_hit() -> None:
    own = [{"id": f"O{i}", "consignor": "ACME", "vpk": 30.0} for i in range(6)]
    fitted = TrafficNorms.fit(*_traffic([*_usual(60), *own]))
    found = fitted.hits(*_traffic([
        {"id": "acme", "consignor": "ACME", "vpk": 10.0}, {"id": "other", "vpk": 10.0},
    ]))  # fmt: skip
    assert _codes(found, "acme") == {"unusual:value_own_past"}
    assert not _codes(found, "other")
    assert "33 % of the 30 EUR/kg this consignor usually declares" in found["text"].item()


def test_a_route_or_goods_the_origin_almost_never_ships_is_a_hit() -> None:
    american = [
        {"id": f"U{i}", "origin": "US", "hs6": "850440", "hubs": "GBFXT"} for i in range(100)
    ]
    small = [{"id": f"Z{i}", "origin": "ZZ"} for i in range(3)]
    fitted = TrafficNorms.fit(*_traffic([*_usual(200), *american, *small]))
    found = fitted.hits(*_traffic([
        {"id": "via", "hubs": "MTMAR|GRPIR"}, {"id": "direct"},
        {"id": "goods", "hs6": "440710", "vpk": 10.0},
        {"id": "small-usual-elsewhere", "origin": "ZZ", "hs6": "850440", "hubs": "GBFXT"},
        {"id": "small-never-seen", "origin": "ZZ", "hs6": "440710"},
    ]))  # fmt: skip
    assert "unusual:route" in _codes(found, "via")
    assert (
        "transshipment via MTMAR, GRPIR: 0 of the 200 consignments from CN in reference traffic, "
        "0 of 303 from all origins (expected share 0.0 %)"
    ) in found.filter(pl.col("consignment_id") == "via")["text"].to_list()
    assert not _codes(found, "direct")
    assert "unusual:goods_origin" in _codes(found, "goods")
    # An origin with little traffic speaks with the port's voice: what is common elsewhere is
    # not rare from it, what is never seen anywhere is.
    assert not {
        c for c in _codes(found, "small-usual-elsewhere") if c != "unusual:consignee_origin"
    }
    assert "unusual:goods_origin" in _codes(found, "small-never-seen")


def test_new_goods_surprise_only_a_consignee_whose_goods_never_change() -> None:
    steady = [{"id": f"S{i}", "consignee": "STEADY"} for i in range(20)]
    varied = [{"id": f"V{i}", "consignee": "VARIED", "hs6": f"{10 + i}0000"} for i in range(20)]
    fitted = TrafficNorms.fit(*_traffic([*steady, *varied]))
    found = fitted.hits(*_traffic([
        {"id": "steady-new", "consignee": "STEADY", "hs6": "850440"},
        {"id": "varied-new", "consignee": "VARIED", "hs6": "850440"},
        {"id": "steady-usual", "consignee": "STEADY"},
        {"id": "stranger", "consignee": "NEW", "hs6": "850440"},
    ]))  # fmt: skip
    assert "unusual:consignee_goods" in _codes(found, "steady-new")
    assert "unusual:consignee_goods" not in _codes(found, "varied-new")
    assert not _codes(found, "steady-usual")
    # A consignee never seen has no habits to depart from (its goods may still be rare here).
    assert not {c for c in _codes(found, "stranger") if c.startswith("unusual:consignee")}


@settings(max_examples=40, deadline=None)
@given(
    values=st.lists(st.floats(0.5, 500.0), min_size=norms.MIN_HS6, max_size=80),
    split=st.integers(1, 20),
)
def test_hits_do_not_depend_on_the_batch_and_the_median_never_fires(
    values: list[float], split: int
) -> None:
    fitted = TrafficNorms.fit(*_traffic([{"id": f"R{i}", "vpk": v} for i, v in enumerate(values)]))
    median = math.exp(fitted.value["median"][0])
    probes = [{"id": f"P{i}", "vpk": v} for i, v in enumerate([*values[:30], median])]
    whole = fitted.hits(*_traffic(probes))
    parts = pl.concat(
        [fitted.hits(*_traffic(probes[:split])), fitted.hits(*_traffic(probes[split:]))]
    )
    assert_frame_equal(whole.sort("consignment_id", "code"), parts.sort("consignment_id", "code"))
    assert not _codes(whole, f"P{len(probes) - 1}")


def test_norms_survive_saving(tmp_path: Path) -> None:
    fitted = TrafficNorms.fit(*_traffic(_usual(200)))
    fitted.save(tmp_path / "norms")
    loaded = TrafficNorms.load(tmp_path / "norms")
    probe = _traffic([{"id": "cheap", "vpk": 0.5, "hubs": "MTMAR", "kpp": 60.0}])
    found = loaded.hits(*probe)
    assert {"unusual:value_low", "unusual:route", "unusual:package_heavy"} <= _codes(found, "cheap")
    assert_frame_equal(fitted.hits(*probe), found)
    assert loaded.summary == fitted.summary


def _packages(n: int, prefix: str = "R", **fields: object) -> list[dict[str, object]]:
    """``n`` ordinary consignments of T-shirts from China in cartons of 10 to 14 kg."""
    return [{**row, "kpp": 10.0 + (i % 5)} for i, row in enumerate(_usual(n, prefix, **fields))]


def test_an_item_far_heavier_or_lighter_per_package_than_usual_is_a_hit() -> None:
    fitted = TrafficNorms.fit(*_traffic(_packages(60)))
    found = fitted.hits(*_traffic([
        {"id": "heavy", "kpp": 60.0}, {"id": "light", "kpp": 2.5}, {"id": "usual", "kpp": 12.0},
        # Within a factor of two of the usual: the next carton size, not a concealment.
        {"id": "bigger", "kpp": 22.0}, {"id": "smaller", "kpp": 6.5},
        # A kind of package, or goods, the port has no norm for; bulk has no package to weigh.
        {"id": "drums", "kpp": 200.0, "package": "DR"}, {"id": "bulk", "kpp": 500.0, "package": "VR"},
        {"id": "elsewhere", "kpp": 60.0, "hs6": "999999"},
        {"id": "other-origin", "kpp": 60.0, "origin": "VN"},
    ]))  # fmt: skip
    assert _codes(found, "heavy") == {"unusual:package_heavy"}
    assert _codes(found, "light") == {"unusual:package_light"}
    for quiet in ("usual", "bigger", "smaller", "drums", "bulk", "elsewhere"):
        assert not _weighed(found, quiet), quiet
    heavy = found.filter(pl.col("consignment_id") == "heavy").row(0, named=True)
    assert heavy["text"] == (
        "item 1: 60 kg per package declared, 12 kg usual for HS 610910 in packages CT from CN "
        "(60 items of reference traffic): far heavier"
    )
    assert heavy["source"] == explain.Source.UNUSUAL.value and 0.6 <= heavy["weight"] <= 1.0
    light = found.filter(pl.col("consignment_id") == "light")["text"].item()
    assert light.startswith("item 1: 2.5 kg per package declared, 12 kg usual") and light.endswith(
        "far lighter"
    )
    # An origin with no norm of its own is judged against all origins'.
    assert _weighed(found, "other-origin") == {"unusual:package_heavy"}
    other = found.filter(
        (pl.col("consignment_id") == "other-origin") & (pl.col("code") == "unusual:package_heavy")
    )
    assert other["text"].item() == (
        "item 1: 60 kg per package declared, 12 kg usual for HS 610910 in packages CT "
        "(all origins) (60 items of reference traffic): far heavier"
    )


def test_package_norms_need_support() -> None:
    # Enough of HS6 × cartons from China for its own norm, too few of HS6 × cartons alone.
    fitted = TrafficNorms.fit(*_traffic(_packages(norms.MIN_PAIR)))
    found = fitted.hits(
        *_traffic([{"id": "cn", "kpp": 60.0}, {"id": "vn", "kpp": 60.0, "origin": "VN"}])
    )
    assert _weighed(found, "cn") == {"unusual:package_heavy"}
    assert not _weighed(found, "vn")
    thin = TrafficNorms.fit(*_traffic(_packages(norms.MIN_PAIR - 1)))
    assert thin.hits(*_traffic([{"id": "cn", "kpp": 60.0}])).is_empty()


@settings(max_examples=30, deadline=None)
@given(
    weights=st.lists(st.floats(0.5, 2_000.0), min_size=norms.MIN_HS6, max_size=80),
    split=st.integers(1, 20),
)
def test_package_hits_do_not_depend_on_the_batch_and_the_median_never_fires(
    weights: list[float], split: int
) -> None:
    fitted = TrafficNorms.fit(*_traffic([{"id": f"R{i}", "kpp": w} for i, w in enumerate(weights)]))
    median, scale = fitted.package.select("median", "scale").row(0)
    beyond = norms.Z_PACKAGE * scale * 1.01
    usual, heavy, light = (math.exp(median + step) for step in (0.0, beyond, -beyond))
    probes = [{"id": f"P{i}", "kpp": w} for i, w in enumerate([*weights[:30], usual, heavy, light])]
    whole = fitted.hits(*_traffic(probes))
    parts = pl.concat(
        [fitted.hits(*_traffic(probes[:split])), fitted.hits(*_traffic(probes[split:]))]
    )
    assert_frame_equal(whole.sort("consignment_id", "code"), parts.sort("consignment_id", "code"))
    assert not _codes(whole, "P30")
    assert _weighed(whole, "P31") == {"unusual:package_heavy"}
    assert _weighed(whole, "P32") == {"unusual:package_light"}


def test_norms_saved_before_the_package_norm_load_and_do_not_weigh_packages(
    tmp_path: Path,
) -> None:
    fitted = TrafficNorms.fit(*_traffic(_packages(200)))
    fitted.save(tmp_path / "norms")
    (tmp_path / "norms" / "package.parquet").unlink()
    old = TrafficNorms.load(tmp_path / "norms")
    probe = _traffic([{"id": "heavy", "vpk": 0.5, "kpp": 60.0}])
    codes = _codes(fitted.hits(*probe), "heavy")
    assert {"unusual:value_low", "unusual:package_heavy"} <= codes
    assert _codes(old.hits(*probe), "heavy") == codes - {"unusual:package_heavy"}


UNTIL = datetime(2026, 11, 10, tzinfo=UTC)


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Store, Path]]:
    root = tmp_path_factory.mktemp("norms")
    store = legacy_store(root, per_day=500, seed=33)
    yield store, root
    store.close()


@pytest.mark.slow
def test_a_trained_model_carries_norms_and_its_assessments_say_what_is_unusual(
    world: tuple[Store, Path],
) -> None:
    store, root = world
    items = reads.goods_item_rows(store, lodged_before=UNTIL)
    outcomes = reads.control_outcomes(store, known_before=UNTIL)
    model = train.fit(items, outcomes, until=UNTIL, capacity_pct=3.0, params={"num_threads": 1})
    assert model.norms is not None and model.metrics["norms"]["value_norms"] > 0
    assert model.metrics["norms"]["package_norms"] > 0  # the stored rows carry packages
    model.save(root / "models")
    loaded = RiskModel.load(root / "models")
    assert loaded.norms is not None
    now = datetime(2026, 12, 1, tzinfo=UTC)
    run = engine.score_store(store, loaded, now=now, since=UNTIL, explain_rows=engine.Explain.ALL)
    reasons = [r for text in run.assessments["reasons"] for r in explain.from_json(text)]
    unusual = [r for r in reasons if r.source is explain.Source.UNUSUAL]
    assert unusual and all(r.code.startswith("unusual:") and r.weight > 0 for r in unusual)

    # A model saved before norms existed still loads and scores, without unusual hits.
    folder = root / "models" / loaded.version
    shutil.rmtree(folder / "norms")
    old = RiskModel.load(folder)
    assert old.norms is None
    found = engine.assess(
        reads.goods_item_rows(store, lodged_from=UNTIL), history=reads.goods_item_rows(store),
        outcomes=outcomes, model=old, explain_rows=engine.Explain.ALL,
    )  # fmt: skip
    assert "unusual:" not in "".join(found["reasons"].to_list())
