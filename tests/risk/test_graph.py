"""The party graph: links, propagation from offenders, leak-freeness, hits, on generated traffic."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import polars as pl
import pytest

from quaywatch.risk import graph, hits, screening
from quaywatch.store import reads
from quaywatch.store.store import Store
from quaywatch.synth import traffic

END = datetime(2026, 10, 6, tzinfo=UTC)


@pytest.fixture
def stored(party_traffic: tuple[Store, traffic.Traffic]) -> tuple[Store, traffic.Traffic]:
    return party_traffic


def _no_outcomes(store: Store) -> pl.DataFrame:
    return reads.control_outcomes(store)


def _shells(store: Store, generated: traffic.Traffic) -> pl.DataFrame:
    """Stored shell companies whose offender is on the generated watchlist."""
    truth = pl.read_parquet(generated.out / "truth" / "parties.parquet")
    listed = pl.read_csv(generated.out / "watchlists" / "offenders.csv")["entry_id"]
    ids = listed.str.slice(4).cast(pl.Int64)
    shells = truth.filter((pl.col("kind") == "shell") & pl.col("linked_to").is_in(ids.implode()))
    return reads.parties(store).join(shells.select("name", "address", "phone"),
                                              on=["name", "address", "phone"])  # fmt: skip


def test_shells_of_listed_offenders_carry_risk_and_a_reason(
    stored: tuple[Store, traffic.Traffic],
) -> None:
    store, generated = stored
    data = graph.load(store)
    scores = graph.party_risk(data, _no_outcomes(store), at=END,
                              entries=screening.watchlist_entries(store))  # fmt: skip
    shells = _shells(store, generated)
    assert shells.height >= 1
    found = scores.join(shells.select("party_key"), on="party_key")
    assert (found["risk"] >= graph.GraphParams().min_risk).all()
    assert found["reason"].str.contains("on watchlist OFFENDERS").all()
    assert found["kind"].is_in(["address", "phone"]).all()
    # Most parties are linked to nothing and carry no risk.
    assert scores.filter(pl.col("risk") > 0).height < 0.1 * scores.height


def test_only_outcomes_known_before_at_seed_and_reasons_name_the_control(
    stored: tuple[Store, traffic.Traffic],
) -> None:
    store, _ = stored
    data = graph.load(store)
    # Two consignees sharing a phone: the first one's consignment is seized.
    parties = data.parties
    pair = (parties.filter(pl.col("phone").is_not_null())
            .filter(pl.col("phone").is_duplicated()).sort("phone").head(2))  # fmt: skip
    if pair.height < 2:  # make one: the second party takes the first one's phone
        first, second = parties["party_key"][0], parties["party_key"][1]
        phone = parties["phone"][0]
        parties = parties.with_columns(
            pl.when(pl.col("party_key") == second).then(pl.lit(phone))
            .otherwise(pl.col("phone")).alias("phone"))  # fmt: skip
        data = graph.GraphData(parties, data.roles, data.containers)
    else:
        first, second = pair["party_key"][0], pair["party_key"][1]
    seized = data.roles.filter((pl.col("party_key") == first) & (pl.col("role") == "consignee"))
    if seized.is_empty():
        seized = data.roles.filter(pl.col("party_key") == first).with_columns(
            pl.lit("consignee").alias("role"))  # fmt: skip
        data = graph.GraphData(data.parties, pl.concat([data.roles, seized]), data.containers)
    outcome = seized.head(1).select(
        "consignment_id", "version", pl.lit("S-123").alias("control_id"),
        pl.lit("SEIZURE").alias("result"), pl.lit(0.0).alias("revenue_recovered_eur"),
        pl.lit(END - timedelta(hours=1)).alias("known_at"),
    )  # fmt: skip
    scores = graph.party_risk(data, outcome, at=END)
    second_row = scores.filter(pl.col("party_key") == second).row(0, named=True)
    assert second_row["risk"] > 0.5 and second_row["kind"] == "phone"
    assert "consignee of seizure S-123" in second_row["reason"]
    later = graph.party_risk(data, outcome, at=END - timedelta(hours=2))
    assert later.filter(pl.col("party_key") == second)["risk"].to_list() in ([0.0], [])


def test_parties_first_seen_after_at_are_left_out(stored: tuple[Store, traffic.Traffic]) -> None:
    store, _ = stored
    data = graph.load(store)
    at = datetime(2026, 10, 3, tzinfo=UTC)
    scores = graph.party_risk(data, _no_outcomes(store), at=at)
    seen = data.parties.filter(pl.col("first_seen_at") <= at)
    assert set(scores["party_key"]) == set(seen["party_key"])
    assert seen.height < data.parties.height


def test_graph_hits_weigh_more_with_risk(stored: tuple[Store, traffic.Traffic]) -> None:
    store, generated = stored
    consignments = reads.latest_consignments(store)
    found, scores = graph.assess_store(store, consignments, at=END)
    assert found.columns == hits.empty().columns and found.height > 0
    assert found["code"].str.starts_with("graph:").all()
    assert (found["source"] == "graph").all()
    flagged = found["consignment_id"].n_unique() / consignments.height
    assert flagged < 0.1
    shells = _shells(store, generated)["party_key"]
    mine = consignments.filter(pl.col("consignee_key").is_in(shells.implode()))
    assert set(mine["consignment_id"]) <= set(found["consignment_id"])
    params = graph.GraphParams()
    weak = scores.with_columns(pl.col("risk") / 4)
    assert graph.graph_hits(consignments, weak, params)["weight"].sum() < found["weight"].sum()
