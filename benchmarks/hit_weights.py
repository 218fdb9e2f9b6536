"""Hit weights: how precise each profile, anomaly, screening and graph hit is on generated traffic.

    python benchmarks/hit_weights.py --database URL --truth traffic/truth/truth.parquet \
                                     --split 2026-11-18 [--json FILE]

For the stored consignments lodged at or after --split, runs every active risk profile and
every store-reading source (``risk.signals``) as a scoring run would, joins the ground truth
and prints, per hit code: consignments flagged, share of traffic, precision (share illicit),
recall of the pattern it catches best, the weight it carries now, and the **lift weight**

    log( odds(illicit | hit) / odds(illicit) )

the log-odds by which a hit moves an average consignment to its measured precision: the
weight the combination (``risk.combine``) should give it when the model knows nothing of what
the hit sees. Weights in the source code were set from this table on a calibration run
(seed 3), never on the traffic an evaluation reports (seed 7). Last line: JSON per code.
"""

from __future__ import annotations

import argparse
import json
import math
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import polars as pl

from quaywatch.features import assessment, declared
from quaywatch.learning.dataset import load_truth
from quaywatch.risk import engine, signals
from quaywatch.risk.bundle import RiskModel
from quaywatch.risk.profiles.frame import with_extras
from quaywatch.risk.profiles.registry import active_profiles
from quaywatch.store import reads
from quaywatch.store.store import Store


def _fit_added(
    store: Store,
    models: Path,
    items: pl.DataFrame,
    history: pl.DataFrame,
    outcomes: pl.DataFrame,
    hits: pl.DataFrame,
    test: pl.DataFrame,
) -> dict[str, float]:
    """Per code, the log-odds a hit adds **given the model's probability**.

    A logistic regression of the truth on the hit indicators with the model's logit as an
    offset (fixed coefficient 1): exactly the ``added`` of ``risk.combine``. Fitted by Newton's
    method with a light ridge (1.0) so that a code hitting a handful of rows stays near 0.
    """
    model = RiskModel.load(models)
    scored = engine.assess(items, history=history, outcomes=outcomes, model=model,
                           explain_rows=engine.Explain.NONE)  # fmt: skip
    frame = test.join(scored.select(*declared.KEY, "probability"), on=list(declared.KEY))
    codes = sorted(hits.get_column("code").unique().to_list())
    wide = (
        hits.select(*declared.KEY, "code").with_columns(pl.lit(1.0).alias("v"))
        .pivot(on="code", index=list(declared.KEY), values="v", aggregate_function="max")
    )  # fmt: skip
    frame = frame.join(wide, on=list(declared.KEY), how="left").fill_null(0.0)
    x = frame.select(codes).to_numpy()
    y = frame.get_column("illicit").cast(pl.Float64).to_numpy()
    p = np.clip(frame.get_column("probability").to_numpy(), 1e-6, 1 - 1e-6)
    offset = np.log(p / (1 - p))
    beta = np.zeros(len(codes))
    for _ in range(200):
        mu = 1 / (1 + np.exp(-(offset + x @ beta)))
        gradient = x.T @ (y - mu) - beta
        hessian = (x * (mu * (1 - mu))[:, None]).T @ x + np.eye(len(codes))
        step = np.linalg.solve(hessian, gradient)
        # Damped: far from the optimum a full Newton step on rare, pure codes overshoots.
        beta += step / max(1.0, float(np.abs(step).max()))
        if np.abs(step).max() < 1e-6:
            break
    return dict(zip(codes, beta.tolist(), strict=True))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database", required=True)
    parser.add_argument("--truth", type=Path, required=True)
    parser.add_argument("--split", type=datetime.fromisoformat, required=True)
    parser.add_argument("--json", type=Path, default=None)
    parser.add_argument(
        "--model", type=Path, default=None,
        help="Models folder: also fit each code's weight given the model (see _fit_added).",
    )  # fmt: skip
    args = parser.parse_args()
    split = args.split if args.split.tzinfo else args.split.replace(tzinfo=UTC)

    store = Store.open(args.database)
    history = reads.goods_item_rows(store)
    outcomes = reads.control_outcomes(store, known_before=split)
    items = history.filter(pl.col("lodged_at") >= split)
    before = history.filter(pl.col("lodged_at") < split)
    reference = declared.ValueReference.fit(declared.item_features(before))
    frame = assessment.assessment_frame(
        items, history=history, outcomes=outcomes, reference=reference
    )
    found = [signals.store_hits(store, items, outcomes=outcomes, now=signals.data_end(store))]
    profiles = active_profiles(store)
    if len(profiles):
        found.append(profiles.apply(with_extras(frame, items, reads.parties(store))))
    hits = pl.concat(found).unique([*declared.KEY, "code"])
    truth = load_truth(args.truth).select(*declared.KEY, "illicit", "pattern")
    test = frame.select(declared.KEY).join(truth, on=list(declared.KEY), how="inner")
    n, base = test.height, test.get_column("illicit").mean()
    assert isinstance(base, float)
    per_pattern = test.group_by("pattern").len("in_pattern")
    joined = hits.join(test, on=list(declared.KEY), how="inner")
    table = (
        joined.group_by("code")
        .agg(
            pl.len().alias("flagged"),
            pl.col("illicit").mean().alias("precision"),
            pl.col("weight").max().alias("weight_now"),
            pl.col("pattern").filter(pl.col("illicit")).mode().first().alias("pattern"),
        )
        .join(
            joined.filter(pl.col("illicit")).group_by("code", "pattern").len("caught"),
            on=["code", "pattern"], how="left",
        )
        .join(per_pattern, on="pattern", how="left")
        .sort("flagged", descending=True)
    )  # fmt: skip
    fitted = (
        _fit_added(store, args.model, items, history, outcomes, hits, test) if args.model else {}
    )
    odds = base / (1 - base)
    rows = []
    print(f"{n:,} consignments from {split:%Y-%m-%d}, base rate {base:.2%}")
    print(f"{'code':34} {'flagged':>8} {'share':>7} {'prec':>6} {'pattern':>15} {'recall':>6} "
          f"{'weight':>6} {'lift':>6} {'fitted':>6}")  # fmt: skip
    for r in table.iter_rows(named=True):
        p = min(max(r["precision"], 0.5 / r["flagged"]), 1 - 0.5 / r["flagged"])
        lift = math.log((p / (1 - p)) / odds)
        recall = (r["caught"] or 0) / r["in_pattern"] if r["in_pattern"] else 0.0
        beta = fitted.get(r["code"], float("nan"))
        rows.append({**r, "share": r["flagged"] / n, "recall": recall, "lift_weight": lift,
                     "fitted_weight": beta})  # fmt: skip
        print(f"{r['code']:34} {r['flagged']:8,} {r['flagged'] / n:7.2%} {r['precision']:6.1%} "
              f"{r['pattern'] or '-':>15} {recall:6.1%} {r['weight_now']:6.2f} {lift:6.2f} "
              f"{beta:6.2f}")  # fmt: skip
    result = {"consignments": n, "base_rate": base, "codes": rows}
    if args.json:
        args.json.write_text(json.dumps(result, indent=2, default=str))
    print(json.dumps(result, default=str))


if __name__ == "__main__":
    main()
