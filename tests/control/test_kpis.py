"""KPIs over a worked day, checked against figures counted by hand (SQLite and PostgreSQL).

The day: the `ordered` selection's orders worked in turn as a seizure, an irregularity worth
2,500 EUR (a hit), one worth 500 EUR (below the 1,000 EUR of a hit) and a compliant control,
one order left in progress and one cancelled; plus a legacy outcome imported by intake in the
period and one before it.
"""

from __future__ import annotations

import statistics
from collections import Counter
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import polars as pl
import pytest
from control_scenario import DAY_FROM, DAY_TO, T0, Ordered, reasons_of
from sqlalchemy import select

from quaywatch.control import orders, outcome
from quaywatch.errors import RecordError
from quaywatch.intake import outcomes as outcome_fields
from quaywatch.intake.pipeline import ingest_file
from quaywatch.learning import kpis
from quaywatch.store import tables

KINDS = [
    {"result": "SEIZURE", "irregularity": "DRUGS", "seizure_goods": "cocaine",
     "seizure_quantity": 10.0, "seizure_unit": "KGM"},
    {"result": "IRREGULAR", "irregularity": "VALUE", "revenue_recovered_eur": 2_500.0},
    {"result": "IRREGULAR", "irregularity": "VALUE", "revenue_recovered_eur": 500.0},
    {"result": "COMPLIANT"},
]  # fmt: skip
HIT = [True, True, False, False]
REVENUE = [0.0, 2_500.0, 500.0, 0.0]


def profiles_of(consignment_id: str) -> set[str]:
    text = reasons_of(int(consignment_id.rsplit("-", 1)[1]))
    return {p for p in ("COC-001", "UND-002") if p in text}


def legacy(path: Path, consignment_id: str, control_id: str, at: str) -> None:
    row = dict.fromkeys(outcome_fields.COLUMNS, "")
    row |= {"control_id": control_id, "consignment_id": consignment_id, "version": "1",
            "control_type": "SCAN", "selected_by": "RANDOM", "propensity": "0.02",
            "controlled_at": at, "known_at": at, "result": "IRREGULAR", "irregularity": "VALUE",
            "revenue_recovered_eur": "3000"}  # fmt: skip
    pl.DataFrame([row]).write_csv(path)


def test_kpis_match_hand_counts(ordered: Ordered, tmp_path: Path) -> None:
    store = ordered.store
    work = sorted(orders.list_orders(store), key=lambda o: o.order_id)
    *work, open_one, cancelled = work
    for i, o in enumerate(work):
        orders.start(store, o.order_id, now=T0 + timedelta(hours=1))
        outcome.record_outcome(
            store, o.order_id, now=T0 + timedelta(hours=2 + i % 4), **KINDS[i % 4]
        )  # type: ignore[arg-type]
    orders.start(store, open_one.order_id, now=T0)
    orders.override(store, cancelled.order_id, reason="x", cancel=True, now=T0 + timedelta(hours=1))
    d = tables.control_decisions
    with store.reading() as conn:
        decided = conn.execute(select(d.c.consignment_id, d.c.control_type)).all()
    spare = next(c for c, t in decided if t is None)
    legacy(tmp_path / "in.csv", spare, "LEG-1", "2026-11-02T10:00:00Z")
    legacy(tmp_path / "before.csv", spare, "LEG-0", "2026-10-01T10:00:00Z")
    for name in ("in.csv", "before.csv"):
        assert ingest_file(store, tmp_path / name).new == 1

    k = kpis.compute(store, DAY_FROM, DAY_TO)
    assert tuple(k) == kpis.KEYS
    kinds = [i % 4 for i in range(len(work))]
    hits = sum(HIT[x] for x in kinds) + 1
    assert (k["controls"], k["hits"]) == (len(work) + 1, hits)
    assert k["hit_rate"] == round(hits / (len(work) + 1), 4)
    assert k["revenue_recovered_eur"] == sum(REVENUE[x] for x in kinds) + 3_000.0

    def expected_groups(key: str, legacy_value: str) -> dict[str, tuple[int, int]]:
        counts: Counter[str] = Counter()
        found: Counter[str] = Counter()
        for o, x in zip(work, kinds, strict=True):
            counts[getattr(o, key)] += 1
            found[getattr(o, key)] += HIT[x]
        counts[legacy_value] += 1
        found[legacy_value] += 1
        return {v: (counts[v], found[v]) for v in counts}

    for key, legacy_value, figures in (("lane", "unrecorded", k["by_lane"]),
                                       ("control_type", "SCAN", k["by_control_type"]),
                                       ("selected_by", "RANDOM", k["by_selected_by"])):  # fmt: skip
        got = {r[key]: (r["controls"], r["hits"]) for r in figures}
        assert got == expected_groups(key, legacy_value), key

    selected = {c for c, t in decided if t is not None}
    for p in k["profiles"]:
        name = p["profile"]
        flagged = [c for c, _ in decided if name in profiles_of(c)]
        mine = [
            (o, x)
            for o, x in zip(work, kinds, strict=True)
            if name in profiles_of(o.consignment_id)
        ]
        assert p["flagged"] == len(flagged) and p["selections"] == len(selected & set(flagged))
        assert (p["controls"], p["hits"]) == (len(mine), sum(HIT[x] for _, x in mine))
        assert p["hits_per_selection"] == round(p["hits"] / p["selections"], 4)
    assert {p["profile"] for p in k["profiles"]} == {"COC-001", "UND-002"}

    seized = kinds.count(0)
    assert k["seizures"]["count"] == seized and k["seizures"]["by_goods"] == [
        {"goods": "cocaine", "unit": "KGM", "seizures": seized, "quantity": 10.0 * seized}]  # fmt: skip
    assert sum(w["seizures"] for w in k["seizures"]["by_week"]) == seized
    assert all(date.fromisoformat(w["week"]).weekday() == 0 for w in k["seizures"]["by_week"])
    resources = k["capacity"]["resources"]
    assert {r["resource"] for r in resources} == {"scanner_slots", "officer_hours",
                                                  "documentary_slots"}  # fmt: skip
    for r in resources:
        assert r["capacity"] > 0 and r["planned"] >= 0
        assert r["use"] == pytest.approx(r["planned"] / r["capacity"], abs=1e-3)
    assert k["capacity"]["orders"] == {
        "planned": 0,
        "in_progress": 1,
        "done": len(work),
        "cancelled": 1,
    }
    per_shift = k["capacity"]["by_terminal_shift"]
    assert (
        sum(r["selected"] for r in per_shift)
        == len(selected)
        == sum(r["orders"] for r in per_shift)
    )
    assert sum(r["decisions"] for r in per_shift) == len(decided)

    to_outcome = [2 + x for x in kinds]
    to_release = [2 + x for x in kinds if x != 0] + [1]  # seizures stay held; the cancel at 1 h
    t = k["time_to_release"]
    assert t["outcome_hours"]["count"] == len(work)
    assert t["outcome_hours"]["median"] == statistics.median(to_outcome)
    assert t["release_hours"]["count"] == len(to_release)
    assert t["release_hours"]["mean"] == round(statistics.mean(to_release), 2)

    c, p = tables.consignments, tables.parties
    with store.reading() as conn:
        aeo = dict(conn.execute(select(p.c.party_key, p.c.aeo)).all())
        rows = conn.execute(select(c.c.consignment_id, c.c.consignee_key, c.c.declarant_key)).all()
    is_aeo = {cid: aeo[a] != "NONE" or aeo[b] != "NONE" for cid, a, b in rows}
    for group, flag in (("aeo", True), ("non_aeo", False)):
        mine = [cid for cid, _ in decided if is_aeo[cid] == flag]
        assert k["aeo_burden"][group]["consignments"] == len(mine) > 0
        assert k["aeo_burden"][group]["controlled"] == len(selected & set(mine))


def test_kpis_of_an_empty_period_and_bad_periods(ordered: Ordered) -> None:
    k = kpis.compute(
        ordered.store, datetime(2027, 1, 1, tzinfo=UTC), datetime(2027, 2, 1, tzinfo=UTC)
    )
    assert (k["controls"], k["hit_rate"], k["by_lane"], k["profiles"]) == (0, None, [], [])
    assert k["aeo_burden"]["ratio"] is None and k["time_to_release"]["outcome_hours"]["count"] == 0
    with pytest.raises(RecordError, match="ends before it starts"):
        kpis.compute(ordered.store, DAY_TO, DAY_FROM)
    with pytest.raises(RecordError, match="timezone-aware"):
        kpis.compute(ordered.store, datetime(2026, 11, 1), DAY_TO)


def test_a_consignment_decided_by_two_runs_counts_once_in_capacity(ordered: Ordered) -> None:
    from control_scenario import small_capacity

    from quaywatch.selection.run import select_store

    store = ordered.store
    before = kpis.compute(store, DAY_FROM, DAY_TO)["capacity"]["by_terminal_shift"]
    small = small_capacity()
    again = select_store(store, DAY_FROM, DAY_TO, small, random_rate=0.1, seed=1, actor="ana",
                         now=T0 + timedelta(hours=1))  # fmt: skip
    figures = kpis.compute(store, DAY_FROM, DAY_TO)["capacity"]
    after = figures["by_terminal_shift"]
    # Capacity use: each shift as the newest run planned it, with that run's capacity file.
    usage = again.selection.usage
    for r in figures["resources"]:
        mine = usage.filter(pl.col("resource") == r["resource"])
        assert r["capacity"] == pytest.approx(mine["capacity"].sum(), abs=0.01)
        assert r["planned"] == pytest.approx(mine["used"].sum(), abs=0.01)
    assert sum(r["decisions"] for r in after) == sum(r["decisions"] for r in before) > 0
    assert sum(r["selected"] for r in after) == sum(r["selected"] for r in before)
