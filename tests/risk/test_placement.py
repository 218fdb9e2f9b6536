"""The live party graph: kept as of the start of the day, newcomers placed in it (risk.placement)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import polars as pl
import pytest

from quaywatch.risk import graph, placement, screening, signals
from quaywatch.store import reads
from quaywatch.store.store import Store
from quaywatch.synth import traffic

LAST_DAY = datetime(2026, 10, 5, tzinfo=UTC)
END = LAST_DAY + timedelta(days=1)


@pytest.fixture
def stored(party_traffic: tuple[Store, traffic.Traffic]) -> Store:
    return party_traffic[0]


def _graph(found: pl.DataFrame) -> pl.DataFrame:
    return found.filter(pl.col("code").str.starts_with("graph:")).sort(
        "consignment_id", "version", "code"
    )


def _flagged(scores: pl.DataFrame) -> pl.DataFrame:
    params = graph.GraphParams()
    return scores.filter(
        pl.col("reason").is_not_null()
        & ((pl.col("risk") >= params.min_risk) | (pl.col("kind") == "cluster"))
    )


def test_a_day_over_is_scored_from_the_graph_of_its_end(stored: Store) -> None:
    items = reads.goods_item_rows(stored)
    live = signals.store_hits(stored, items, outcomes=None, now=END + timedelta(hours=9),
                              live=True)  # fmt: skip
    again = signals.store_hits(stored, items, outcomes=reads.control_outcomes(stored),
                               now=END + timedelta(hours=9))  # fmt: skip
    assert _graph(live).height > 0
    assert _graph(live).equals(_graph(again))


def test_newcomers_are_flagged_as_the_whole_graph_flags_them(stored: Store) -> None:
    data = graph.load(stored)
    outcomes = reads.control_outcomes(stored)
    entries = screening.watchlist_entries(stored)
    kept = graph.snapshot(data, outcomes, at=LAST_DAY, entries=entries)
    whole = graph.party_risk(data, outcomes, at=END, entries=entries)
    day = data.roles.filter(pl.col("lodged_at") >= LAST_DAY)
    lodged = day.group_by("party_key").agg(pl.col("lodged_at").min())
    keys = lodged.get_column("party_key")
    placed = placement.place(stored, kept, dict(lodged.iter_rows()), at=END)
    assert placed.columns == whole.columns
    assert sorted(placed["party_key"]) == sorted(keys)
    newcomers = keys.filter(~keys.is_in(kept.scores["party_key"].implode()))
    assert newcomers.len() > 10
    # The parties the snapshot holds keep its scores.
    held = placed.filter(~pl.col("party_key").is_in(newcomers.implode()))
    assert held.equals(kept.scores.join(held.select("party_key"), on="party_key", how="semi")
                       .sort("party_key"))  # fmt: skip
    # Newcomers: flagged alike, for the same kind of link (a watchlist or a control; a young
    # cluster of the same size), with a risk of the same order.
    mine = _flagged(placed.filter(pl.col("party_key").is_in(newcomers.implode())))
    theirs = _flagged(whole.filter(pl.col("party_key").is_in(newcomers.implode())))
    assert mine.height >= 2
    both = mine.join(theirs, on="party_key", how="full", suffix="_whole", coalesce=True)
    assert both.filter(pl.col("reason").is_null() | pl.col("reason_whole").is_null()).is_empty()
    assert (both["kind"] == "cluster").equals(both["kind_whole"] == "cluster")
    linked = both.filter(pl.col("kind") != "cluster")
    assert linked["reason"].str.contains(" with ").all()
    ratio = linked["risk"] / linked["risk_whole"]
    assert ratio.is_between(0.5, 2.0).all(), linked.select("reason", "risk", "risk_whole")
    clustered = both.filter(pl.col("kind") == "cluster")
    assert clustered["cluster_size"].equals(clustered["cluster_size_whole"])


def test_a_list_published_during_the_day_links_from_the_next_one(
    stored: Store, tmp_path: Path
) -> None:
    parties = reads.parties(stored)
    lodged = reads.goods_item_rows(stored, lodged_from=LAST_DAY)
    quiet = signals.store_hits(stored, lodged, outcomes=None, now=LAST_DAY + timedelta(hours=10),
                               live=True)  # fmt: skip
    flagged = set(_graph(quiet)["consignment_id"])
    # A consignee of the day, with a phone, that nothing links yet.
    target = (
        lodged.filter(~pl.col("consignment_id").is_in(list(flagged)))
        .join(
            parties.filter(pl.col("phone").is_not_null()),
            left_on="consignee_key",
            right_on="party_key",
        )  # fmt: skip
        .row(0, named=True)
    )
    listed = tmp_path / "late.csv"
    pl.DataFrame({
        "entry_id": ["LATE-1"], "name": ["Quite Another Holding Ltd"],
        "address": ["1 Nowhere Lane, Dublin"], "country": ["IE"],
        "identifiers": [target["phone"]], "category": ["customs fraud"], "note": ["test"],
    }).write_csv(listed)  # fmt: skip
    screening.load_watchlist(stored, listed, watchlist_id="LATE", source="test",
                             list_date=LAST_DAY.date(), actor="tester")  # fmt: skip
    one = reads.goods_item_rows(stored, consignment_ids=[target["consignment_id"]])

    def graph_hits(now: datetime, *, live: bool) -> pl.DataFrame:
        outcomes = None if live else reads.control_outcomes(stored, known_before=now)
        return _graph(signals.store_hits(stored, one, outcomes=outcomes, now=now, live=live))

    later = LAST_DAY + timedelta(hours=11)
    # Propagated again, the graph sees the list at once; the day's kept graph does not.
    assert graph_hits(later, live=False)["text"].str.contains("LATE").any()
    assert not graph_hits(later, live=True)["text"].str.contains("LATE").any()
    # Once the day is over, the graph of its end does.
    assert graph_hits(END + timedelta(hours=1), live=True)["text"].str.contains("LATE").any()
