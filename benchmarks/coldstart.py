"""Cold start: a port with few labelled controls, with and without the label-free component.

    python benchmarks/coldstart.py [--days 30] [--per-day 2000] [--labelled-days 20]
                                   [--seed 7] [--capacity-pct 3.0] [--workdir DIR]

The issue "risk that holds on traffic quaywatch was not built on" sets the target: with only
the first LABELLED_DAYS of a DAYS-day generated period labelled by a sparse legacy regime
(about 3 % controlled, a few dozen hits), the combined AUC on the remaining days is at least
0.85 and precision at 3 % capacity at least 5 times the base rate; and the label-free
component (``risk.norms``) must help most when labels are few and never hurt when they are
many.

For each of two regimes, **sparse** (the generator's default legacy controls) and **rich**
(a tenth of the traffic controlled at random and 15 % by rules), the script generates the
traffic, imports declarations and container events into a fresh SQLite store as a user would,
labels only the consignments lodged in the first LABELLED_DAYS (their controls' outcomes, as if
all had reported when the model is trained: the legacy history a port brings), trains a model
as ``quaywatch train`` does, and assesses every consignment lodged afterwards with every source
(``services.evaluation.model_scores``' path: no risk profile, since the starter profiles were
written for this generator; the port's enforcement list, 40 % of the known offenders, for
watchlist screening; the container-event anomalies; the party graph) with and without the model's traffic norms. It
reports, against the ground truth, AUC and precision at 3 % and 5 % for the model alone, the
combination without norms and the combination with them, the base rate, and each pattern's
recall at 5 %.

This is generator traffic: the generator and quaywatch were written by the same people, so the
figures are an upper bound of what independent traffic shows. Last line: JSON per regime.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

from quaywatch.intake.pipeline import ingest_file
from quaywatch.learning import metrics, train
from quaywatch.learning.dataset import load_truth
from quaywatch.risk import engine, signals
from quaywatch.risk.bundle import RiskModel
from quaywatch.risk.screening import load_watchlist
from quaywatch.store import reads
from quaywatch.store.store import Store
from quaywatch.synth import traffic
from quaywatch.synth.controls import ControlRates

REGIMES = {"sparse": None, "rich": ControlRates(random_share=0.1, rule_share=0.15)}
#: The share of known offenders on the port's enforcement list (``quaywatch generate``'s default).
WATCHLIST_SHARE = 0.4


def _figures(
    score: np.ndarray, illicit: np.ndarray, pattern: np.ndarray, capacity_pct: float
) -> dict[str, Any]:
    base = float(illicit.mean())
    out: dict[str, Any] = {"auc": round(float(metrics.roc_auc(score, illicit) or 0.0), 3)}
    for pct in sorted({capacity_pct, 5.0}):
        k = metrics.cutoff(len(score), pct)
        top = np.argsort(-score, kind="stable")[:k]
        precision = float(illicit[top].mean())
        out[f"precision_at_{pct:g}"] = round(precision, 3)
        out[f"lift_at_{pct:g}"] = round(precision / base, 1)
    top5 = np.zeros(len(score), dtype=np.bool_)
    top5[np.argsort(-score, kind="stable")[: metrics.cutoff(len(score), 5.0)]] = True
    out["recall_at_5_by_pattern"] = {
        str(p): round(float(top5[illicit & (pattern == p)].mean()), 2)
        for p in sorted(set(pattern[illicit].tolist()))
    }
    return out


def _regime(work: Path, rates: ControlRates | None, args: argparse.Namespace) -> dict[str, Any]:
    started = time.perf_counter()
    start = date(2026, 10, 1)
    made = traffic.generate(
        work / "traffic", days=args.days, per_day=args.per_day, seed=args.seed, start=start,
        control_rates=rates, watchlist_share=WATCHLIST_SHARE,
    )  # fmt: skip
    store = Store.open(f"sqlite:///{work / 'q.db'}")
    load_watchlist(
        store, made.out / "watchlists" / "offenders.csv", watchlist_id="OFFENDERS",
        source="enforcement list", list_date=start - timedelta(days=1), actor="benchmark",
    )  # fmt: skip
    paths = [*made.consignment_files, *sorted((made.out / "events").glob("*")),
             *sorted((made.out / "outcomes").glob("*.csv"))]  # fmt: skip
    for path in paths:
        ingest_file(store, path)
    prepared = time.perf_counter() - started
    split = datetime.combine(start + timedelta(days=args.labelled_days), datetime.min.time(), UTC)
    history = reads.goods_item_rows(store)
    early = history.filter(pl.col("lodged_at") < split).select("consignment_id").unique()
    # The legacy history the port brings: every control of a consignment lodged before the
    # split, known by the time the model is trained (on the split).
    labels = (
        reads.control_outcomes(store, known_before=datetime(9999, 1, 1, tzinfo=UTC))
        .join(early, on="consignment_id", how="semi")
        .with_columns(pl.min_horizontal("known_at", pl.lit(split - timedelta(seconds=1))))
    )
    model = train.fit(history, labels, until=split, capacity_pct=args.capacity_pct)
    items = history.filter(pl.col("lodged_at") >= split)
    hits = signals.store_hits(store, items, outcomes=labels, now=signals.data_end(store))
    truth = load_truth(made.out / "truth" / "truth.parquet").select(
        "consignment_id", "illicit", "pattern"
    )

    def assessed(with_norms: bool) -> pl.DataFrame:
        used: RiskModel = model if with_norms else dataclasses.replace(model, norms=None)
        found = engine.assess(
            items, history=history, outcomes=labels, model=used,
            explain_rows=engine.Explain.NONE, hits=hits,
        )  # fmt: skip
        return found.join(truth, on="consignment_id", how="left")

    with_norms, without = assessed(True), assessed(False)
    illicit = with_norms.get_column("illicit").fill_null(False).to_numpy()
    pattern = with_norms.get_column("pattern").fill_null("none").to_numpy()
    store.close()
    return {
        "labelled": model.metrics["labelled"],
        "hits": model.metrics["hits"],
        "assessed": with_norms.height,
        "base_rate": round(float(illicit.mean()), 4),
        "model": _figures(
            with_norms["model_probability"].to_numpy(), illicit, pattern, args.capacity_pct
        ),
        "combined_without_norms": _figures(
            without["probability"].to_numpy(), illicit, pattern, args.capacity_pct
        ),
        "combined_with_norms": _figures(
            with_norms["probability"].to_numpy(), illicit, pattern, args.capacity_pct
        ),
        "prepare_s": round(prepared, 1),
        "seconds": round(time.perf_counter() - started, 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument("--per-day", type=int, default=2_000)
    parser.add_argument("--labelled-days", type=int, default=20)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--capacity-pct", type=float, default=3.0)
    parser.add_argument("--workdir", type=Path, default=None)
    args = parser.parse_args()
    results = {}
    with tempfile.TemporaryDirectory() as scratch:
        root = args.workdir or Path(scratch)
        for name, rates in REGIMES.items():
            results[name] = _regime(root / name, rates, args)
            r = results[name]
            print(
                f"{name}: {r['labelled']:,} labelled, {r['hits']} hits, base {r['base_rate']:.2%}"
            )
            for scorer in ("model", "combined_without_norms", "combined_with_norms"):
                print(f"  {scorer:24} {r[scorer]}")
    print(json.dumps({"days": args.days, "per_day": args.per_day, "seed": args.seed,
                      "labelled_days": args.labelled_days, **results}))  # fmt: skip


if __name__ == "__main__":
    main()
