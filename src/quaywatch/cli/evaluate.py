"""``quaywatch evaluate`` (detection against ground truth) and ``quaywatch benchmark kcs``.

Thin adapters over ``services.evaluation``; ``kcs_table`` renders the benchmark report.
"""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from quaywatch.cli.context import (
    DATE_FORMATS,
    console,
    errors,
    get_settings,
    open_store,
    sub_app,
    utc,
)

benchmark_app = sub_app("Public benchmarks.")


def evaluate_command(
    ctx: typer.Context,
    truth: Annotated[
        Path, typer.Option(help="Ground-truth Parquet file written by the traffic generator.")
    ],
    split: Annotated[
        datetime,
        typer.Option(
            help="Evaluate consignments lodged at or after this moment (UTC unless it says).",
            formats=DATE_FORMATS,
        ),
    ],
    capacity_pct: Annotated[
        float | None,
        typer.Option(
            help="Share of consignments controlled, in percent (default: setting "
            "QUAYWATCH_CONTROL_CAPACITY_PCT, 3.0)."
        ),
    ] = None,  # fmt: skip
    report: Annotated[Path | None, typer.Option(help="Also write the report as JSON here.")] = None,
    html: Annotated[
        Path | None, typer.Option(help="Also write the report as a self-contained HTML page.")
    ] = None,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print the report as JSON instead of a table.")
    ] = False,
    model: Annotated[
        Path | None,
        typer.Option(help="Also evaluate this trained model (a model or models folder)."),
    ] = None,
) -> None:
    """Measure detection against ground truth on the stored consignments lodged since --split.

    Shows the references every scorer is compared with: random selection (the floor) and a
    perfect oracle (the ceiling), at 1, 2, 5, 10 % and at the control capacity; with --model,
    the model's assessments too, using only the control outcomes known before --split.
    """
    from quaywatch.learning import report as evaluation_report
    from quaywatch.services.evaluation import evaluate_detection

    settings = get_settings(ctx)
    result = evaluate_detection(
        open_store(ctx), truth_path=truth, split_at=utc(split),
        capacity_pct=settings.control_capacity_pct if capacity_pct is None else capacity_pct,
        model_path=model, saturation_pct=settings.hit_saturation_pct,
    )  # fmt: skip
    if as_json:
        typer.echo(evaluation_report.to_json(result))
    else:
        console.print(evaluation_report.render_table(result))
    written = errors if as_json else console
    if report:
        evaluation_report.write_json(result, report)
        written.print(f"report written to {report}", markup=False, highlight=False)
    if html:
        evaluation_report.write_html(result, html)
        written.print(f"HTML report written to {html}", markup=False, highlight=False)


@benchmark_app.command("kcs")
def benchmark_kcs(
    data: Annotated[Path, typer.Option(help="Folder with the three KCS CSV files.")],
    output: Annotated[Path, typer.Option(help="Write the report here as JSON.")],
    sample: Annotated[
        int | None, typer.Option(min=100, help="Use this many random rows of each split.")
    ] = None,
) -> None:
    """Train on the KCS train split, stop early on valid, report on test (AUC, precision@n)."""
    from quaywatch.services.evaluation import run_kcs_benchmark

    report = run_kcs_benchmark(data, sample=sample)
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(json.dumps(report, indent=2), encoding="utf-8")
    console.print(kcs_table(report))
    console.print(
        f"report written to {output} ({report['seconds']} s)", markup=False, highlight=False
    )


def kcs_table(report: dict[str, Any]) -> Table:
    """Test figures beside the references, one row per cut-off."""
    from quaywatch.learning import kcs_run

    out = Table(title="KCS benchmark (test split)")
    for column in ("top", "precision", "recall", "critical recall", "ref. P (XGB / LGBM)"):
        out.add_column(column, justify="right")
    xgb, lgbm = (
        kcs_run.REFERENCE["xgboost_dataset_authors"],
        kcs_run.REFERENCE["lightgbm_native_categoricals"],
    )

    def show(value: float | None) -> str:
        return "-" if value is None else f"{value:.3f}"

    for p in map(str, kcs_run.PERCENTS):
        ref = f"{show(xgb.get(f'p@{p}'))} / {show(lgbm.get(f'p@{p}'))}"
        out.add_row(f"{p} %", show(report["precision_at_pct"][p]), show(report["recall_at_pct"][p]),
                    show(report["critical_recall_at_pct"][p]), ref)  # fmt: skip
    out.add_row("AUC", show(report["auc"]), "", "", f"{xgb['auc']:.3f} / {lgbm['auc']:.3f}")
    return out
