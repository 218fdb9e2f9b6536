"""KCS benchmark: the finished model on the test split, beside the published references.

    python benchmarks/kcs.py [--data DIR] [--sample N] [--output FILE] [--ablation]

Runs the same code as ``quaywatch benchmark kcs`` (train on 2020, early-stop and calibrate on
2021 Q1, score 2021 Q2) and prints the test figures with the dataset authors' XGBoost and a
plain LightGBM beside them. ``--ablation`` instead trains every feature variant of
``learning.kcs_run.VARIANTS`` and prints its figures on **valid**, which is how the default was
chosen; it never reads a test label. Last line: the report as JSON.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from rich.console import Console
from rich.table import Table

from quaywatch.cli.evaluate import kcs_table
from quaywatch.learning import kcs_run

DATA = Path("/work/shared/data/benchmarks/kcs")


def ablation(data: Path, sample: int | None) -> list[dict[str, object]]:
    """Each variant's figures on valid, one table row per variant."""
    table = Table(title="KCS feature variants, scored on VALID")
    for column in ("variant", "AUC", "P@1", "P@5", "P@10", "rounds", "s"):
        table.add_column(column, justify="left" if column == "variant" else "right")
    reports = []
    for variant in kcs_run.VARIANTS:
        r = kcs_run.run(data, sample=sample, variant=variant, report_on="valid")
        p = r["precision_at_pct"]
        table.add_row(variant.name, f"{r['auc']:.4f}", f"{p['1']:.3f}", f"{p['5']:.3f}",
                      f"{p['10']:.3f}", str(r["params"]["best_iteration"]), str(r["seconds"]))  # fmt: skip
        reports.append({"variant": variant.name, "auc": r["auc"], "precision_at_pct": p})
    Console().print(table)
    return reports


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DATA)
    parser.add_argument("--sample", type=int, default=None)
    parser.add_argument("--output", type=Path, default=None)
    parser.add_argument("--ablation", action="store_true", help="Compare variants on valid.")
    args = parser.parse_args()
    if args.ablation:
        print(json.dumps(ablation(args.data, args.sample)))
        return
    report = kcs_run.run(args.data, sample=args.sample)
    Console().print(kcs_table(report))
    if args.output:
        args.output.write_text(json.dumps(report, indent=2), encoding="utf-8")
    print(json.dumps(report))


if __name__ == "__main__":
    main()
