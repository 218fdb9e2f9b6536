"""Ground truth: its exact schema, that it stays out of intake files, and determinism."""

from __future__ import annotations

import json
from pathlib import Path

import polars as pl

from quaywatch.intake.outcomes import COLUMNS as OUTCOME_COLUMNS
from quaywatch.synth import traffic
from quaywatch.synth.patterns import PATTERN_NAMES
from quaywatch.synth.traffic import Traffic

SCHEMA = {
    "consignment_id": pl.String, "version": pl.Int64,
    "lodged_at": pl.Datetime("us", "UTC"), "illicit": pl.Boolean, "pattern": pl.String,
    "revenue_at_stake_eur": pl.Float64, "critical": pl.Boolean, "displaced": pl.Boolean,
    "true_hs6": pl.String, "true_value_eur": pl.Float64,
}  # fmt: skip


def _files(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*.*"))}


def test_truth_has_the_agreed_schema_and_one_row_per_consignment(clean: Traffic) -> None:
    truth = pl.read_parquet(clean.truth)
    assert dict(truth.schema) == SCHEMA
    assert truth.height == clean.consignments == 4_000
    assert truth["consignment_id"].is_unique().all()
    assert set(truth["pattern"]) <= set(PATTERN_NAMES)
    assert (truth["illicit"] == (truth["pattern"] != "none")).all()
    assert (truth["revenue_at_stake_eur"] >= 0).all() and (truth["true_value_eur"] > 0).all()
    ids = pl.concat(pl.read_csv(p, infer_schema=False) for p in clean.consignment_files)
    assert set(ids["consignment_id"]) == set(truth["consignment_id"])
    manifest = json.loads(clean.manifest.read_text())
    assert manifest["counts"] == clean.counts and manifest["seed"] == 7


def test_truth_never_leaks_into_intake_files(clean: Traffic) -> None:
    for folder in ("consignments", "events", "outcomes"):
        assert all(p.suffix in (".csv", ".jsonl") for p in (clean.out / folder).iterdir())
        text = "".join(p.read_text("utf-8") for p in (clean.out / folder).iterdir()).lower()
        if folder == "outcomes":
            # A seizure report names what was seized ("Cocaine hydrochloride"): that is what the
            # administration learnt, not truth. Every other cell must be free of truth words.
            found = pl.concat(pl.read_csv(p, infer_schema=False) for p in clean.outcome_files)
            assert found.columns == OUTCOME_COLUMNS and found.height == clean.controls > 0
            assert found.filter(pl.col("seizure_goods").is_not_null())["result"].eq("SEIZURE").all()
            text = found.drop("seizure_goods").write_csv().lower()
        for word in ("illicit", "revenue_at_stake", "true_value", "true_hs6", "displaced",
                     "pattern", *PATTERN_NAMES[1:]):  # fmt: skip
            assert word not in text, (folder, word)
    assert [p.name for p in (clean.out / "truth").iterdir()] != []
    assert clean.truth.parent == clean.out / "truth"


def test_ids_are_unique_across_days_and_seeds(clean: Traffic, noisy: Traffic) -> None:
    first = pl.read_parquet(clean.truth)["consignment_id"]
    other = pl.read_parquet(noisy.truth)["consignment_id"]
    assert not first.is_in(other).any()


def test_same_seed_gives_the_same_bytes_and_another_seed_does_not(tmp_path: Path) -> None:
    one = traffic.generate(tmp_path / "a", days=2, per_day=300, seed=3, noise=0.02)
    two = traffic.generate(tmp_path / "b", days=2, per_day=300, seed=3, noise=0.02)
    three = traffic.generate(tmp_path / "c", days=2, per_day=300, seed=4, noise=0.02)
    first, second, third = _files(one.out), _files(two.out), _files(three.out)
    outcome_files = [name for name in first if name.startswith("outcomes/")]
    assert len(first) == 7 + len(outcome_files) and len(outcome_files) > 5
    assert first == second
    for name in first:
        if name != "manifest.json" and name in third:  # control days differ with the seed
            assert first[name] != third[name], name
