"""Leave one pattern out on a store built so that a leak would show.

Two "patterns" are made of nothing but a party's track record: every consignment of one
frequent consignee (``repeat_a``), and of three others (``repeat_b``), is illicit, and each
one lodged before the split was controlled with a hit, reported an hour later. Their
declarations are the generator's ordinary traffic (no fraud is injected), so the only thing
that tells them apart is the outcomes of their earlier consignments: the consignee's hit rate
in the entity histories and the party graph's seeds. With those outcomes known, the model
learns "a consignee with hits is risky" and ranks them first; leave-one-pattern-out must drop
a pattern's outcomes from the labels and from what the assessment knows, and then its recall
falls to what chance gives. If either side kept them, the left-out pattern would still be
found and the test would fail (the last assertion shows the same model finding it when the
assessment is handed the outcomes).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import polars as pl
import pytest
from sqlalchemy import func, select
from typer.testing import CliRunner

from quaywatch.cli import app
from quaywatch.learning import lopo, train as training
from quaywatch.learning.dataset import consignments_with_truth, load_truth
from quaywatch.learning.evaluate import ScoreColumn, evaluate, time_split
from quaywatch.services.evaluation import evaluate_unseen_patterns, model_scores
from quaywatch.services.intake import ingest_files
from quaywatch.store import reads, tables
from quaywatch.store.store import Store
from quaywatch.synth import traffic
from quaywatch.synth.patterns import PatternRates

SPLIT = datetime(2026, 10, 4, tzinfo=UTC)
#: 20 % of the test day's 400 consignments: room for every illicit one (about 65).
CAPACITY = 20.0
runner = CliRunner()
NO_FRAUD = PatternRates(
    undervaluation=0, misdeclaration=0, cocaine=0, counterfeit=0, wildlife=0, shell_company=0
)


def _repeat_traffic(out: Path) -> tuple[list[Path], Path]:
    """Four generated days, their truth rewritten as two track-record patterns, and outcomes."""
    made = traffic.generate(out, days=4, per_day=400, seed=3, rates=NO_FRAUD,
                            with_events=False, legacy_controls=False)  # fmt: skip
    rows = pl.concat([pl.read_csv(f, infer_schema=False) for f in made.consignment_files])
    consignments = rows.group_by("consignment_id", maintain_order=True).agg(
        pl.col("version", "lodged_at", "consignee_name", "container_number").first()
    )
    busiest = consignments.group_by("consignee_name").len().sort("len", "consignee_name",
                                                                 descending=True)  # fmt: skip
    names = busiest.get_column("consignee_name").to_list()
    groups = {names[1]: "repeat_a", **dict.fromkeys(names[2:5], "repeat_b")}
    marked = consignments.with_columns(
        pl.col("consignee_name").replace_strict(groups, default="none").alias("pattern"),
        pl.col("lodged_at").str.to_datetime(time_zone="UTC"),
    )
    illicit = pl.col("pattern") != "none"
    truth = marked.select(
        "consignment_id", pl.col("version").cast(pl.Int64), "lodged_at",
        illicit.alias("illicit"), "pattern",
        pl.when(illicit).then(2_000.0).otherwise(0.0).alias("revenue_at_stake_eur"),
        pl.lit(False).alias("critical"), pl.lit(False).alias("displaced"),
        pl.lit("080390").alias("true_hs6"), pl.lit(1_000.0).alias("true_value_eur"),
    )  # fmt: skip
    truth.write_parquet(made.truth)
    # Every illicit consignment of the training period, and 300 others, controlled.
    before = marked.filter(pl.col("lodged_at") < SPLIT)
    controlled = pl.concat([
        before.filter(illicit), before.filter(~illicit).sample(300, seed=1, shuffle=True),
    ])  # fmt: skip
    hit = pl.col("pattern") != "none"
    outcomes = controlled.select(
        pl.format("T-{}", pl.col("consignment_id")).alias("control_id"), "consignment_id",
        "version", "container_number", pl.lit("DOCUMENTARY").alias("control_type"),
        pl.lit("RULE").alias("selected_by"), pl.lit(0.05).alias("propensity"),
        (pl.col("lodged_at") + timedelta(minutes=30)).alias("controlled_at"),
        (pl.col("lodged_at") + timedelta(hours=1)).alias("known_at"),
        pl.when(hit).then(pl.lit("IRREGULAR")).otherwise(pl.lit("COMPLIANT")).alias("result"),
        pl.when(hit).then(pl.lit("VALUE")).alias("irregularity"),
        pl.when(hit).then(1_800.0).otherwise(0.0).alias("revenue_recovered_eur"),
    )  # fmt: skip
    outcome_file = out / "outcomes.csv"
    outcomes.write_csv(outcome_file)
    return [*made.consignment_files, outcome_file], made.truth


@pytest.fixture
def repeat_store(store: Store, tmp_path: Path) -> tuple[Store, Path]:
    files, truth = _repeat_traffic(tmp_path / "traffic")
    ingest_files(store, files, actor="tester")
    return store, truth


def _counts(store: Store) -> dict[str, int]:
    with store.reading() as conn:
        return {
            name: conn.execute(select(func.count()).select_from(table)).scalar_one()
            for name, table in (("assessments", tables.assessments), ("audit", tables.audit_events),
                                ("states", tables.entity_states))
        }  # fmt: skip


@pytest.mark.slow
def test_a_left_out_pattern_is_found_only_by_what_leaked(
    repeat_store: tuple[Store, Path], tmp_path: Path
) -> None:
    store, truth = repeat_store
    before = _counts(store)
    report = evaluate_unseen_patterns(
        store, truth_path=truth, split_at=SPLIT, capacity_pct=CAPACITY
    )
    assert _counts(store) == before  # an evaluation writes nothing
    assert not [n for n in report.notes if "optimistic" in n]  # labels as known at the split
    assert not (tmp_path / "models").exists()
    assert [r.left_out for r in report.runs] == ["repeat_a", "repeat_b"]
    assert report.reachable == {"repeat_a": 1.0, "repeat_b": 1.0}
    seen = report.baseline
    assert seen.combined["repeat_a"] >= 0.8 and seen.combined["repeat_b"] >= 0.8
    a, b = report.runs
    # each controlled with a hit, but for one lodged within the hour before the split
    assert a.removed.outcomes == a.removed.hits > 20
    assert a.removed.consignments - 1 <= a.removed.outcomes <= a.removed.consignments
    # Unseen, the track-record pattern is found no better than by chance...
    assert a.model["repeat_a"] <= 0.4 and a.combined["repeat_a"] <= 0.4
    assert b.model["repeat_b"] <= 0.4 and b.combined["repeat_b"] <= 0.4
    # ... while the model trained without it still finds the other one.
    assert a.combined["repeat_b"] >= 0.8 and b.combined["repeat_a"] >= 0.8
    figures = {f.pattern: f for f in report.figures()}
    assert figures["repeat_a"].ratio == a.combined["repeat_a"]
    assert figures["repeat_a"].baseline_combined == seen.combined["repeat_a"]

    # The test can fail: the same model, assessed with repeat_a's outcomes known, finds it.
    history = reads.goods_item_rows(store)
    items = history.filter(pl.col("lodged_at") < SPLIT)
    outcomes = reads.control_outcomes(store, known_before=SPLIT)
    ids = lopo.pattern_consignments(load_truth(truth), "repeat_a")
    model = training.fit(items, lopo.without_pattern(outcomes, ids), until=SPLIT,
                         capacity_pct=CAPACITY)  # fmt: skip
    _, test = time_split(consignments_with_truth(store, load_truth(truth)), SPLIT)
    leaked = test.join(model_scores(store, model, SPLIT, outcomes=outcomes, history=history),
                       on=["consignment_id", "version"])  # fmt: skip
    found = evaluate(leaked, [ScoreColumn("combined")], capacity_pct=CAPACITY, percents=())
    assert found.result("combined").pattern_recall["repeat_a"] >= 0.8


@pytest.mark.slow
def test_lopo_from_the_command_line(
    store_url: str, repeat_store: tuple[Store, Path], tmp_path: Path
) -> None:
    _, truth = repeat_store
    args = ["--database", store_url, "evaluate", "lopo", "--truth", str(truth), "--split",
            "2026-10-04", "--capacity-pct", "20", "--pattern", "repeat_b"]  # fmt: skip
    result = runner.invoke(app, [*args, "--report", str(tmp_path / "lopo.json")])
    assert result.exit_code == 0, result.output
    text = " ".join(result.output.split())
    assert "Leave one pattern out: recall at capacity 20% = 80 controls" in text
    assert "repeat_b" in text and "reachable" in text and "report written to" in text
    data = json.loads((tmp_path / "lopo.json").read_text())
    assert data["format"] == "quaywatch.lopo/1"
    assert [f["pattern"] for f in data["figures"]] == ["repeat_b"]
    assert data["figures"][0]["reachable"] == 1.0 and data["figures"][0]["combined"] <= 0.4
    result = runner.invoke(app, [*args, "--json"])
    assert result.exit_code == 0 and json.loads(result.stdout)["runs"][0]["left_out"] == "repeat_b"
    # Labels known after the split make a better figure than a live run would: it says so.
    result = runner.invoke(app, [*args, "--labels-until", "2026-10-20", "--json"])
    assert result.exit_code == 0, result.output
    assert any("so every figure is optimistic" in n for n in json.loads(result.stdout)["notes"])


@pytest.fixture
def small_day(
    store_url: str,
    tmp_path: Path,
    make_day: Callable[..., tuple[Any, list[str]]],
    make_truth: Callable[[Path, Sequence[str]], pl.DataFrame],
) -> list[str]:
    """A stored day without any control outcome, its truth, and the arguments up to --split."""
    day, ids = make_day(tmp_path / "day")
    store = Store.open(store_url)
    ingest_files(store, [day.consignments], actor="tester")
    store.close()
    make_truth(tmp_path / "truth.parquet", ids)
    return ["--database", store_url, "evaluate", "lopo", "--truth", str(tmp_path / "truth.parquet")]


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--split", "yesterday"], "Invalid value for '--split'"),
        (["--split", "2030-01-01"], "no stored consignment was lodged at or after 2030-01-01"),
        (["--split", "2026-10-05", "--pattern", "smuggling"],
         "no illicit consignment of pattern smuggling in the test period; its patterns are: "),
        (["--split", "2026-10-05", "--labels-until", "2026-10-01"],
         "labels_until (--labels-until) 2026-10-01T00:00:00+00:00 is before the split"),
        (["--split", "2026-10-05", "--capacity-pct", "0"], "capacity_pct must be above 0"),
        (["--split", "2026-10-05"],
         "0 controlled consignments with a known outcome (0 hits) before 2026-10-05"),
    ],
)  # fmt: skip
def test_lopo_errors_are_messages(small_day: list[str], extra: list[str], message: str) -> None:
    result = runner.invoke(app, [*small_day, *extra])
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    assert message in " ".join(result.output.split())
