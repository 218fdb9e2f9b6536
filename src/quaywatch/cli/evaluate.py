"""``quaywatch evaluate`` (detection against ground truth), ``quaywatch evaluate lopo``
(leave one pattern out) and ``quaywatch benchmark kcs``.

Thin adapters over ``services.evaluation``; ``kcs_table`` renders the benchmark report.
``evaluate`` is a group whose default command is ``detection``: ``quaywatch evaluate --truth
...`` is ``quaywatch evaluate detection --truth ...``, as it was before the group existed.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from quaywatch.cli.context import (
    DATE_FORMATS,
    Group,
    console,
    errors,
    get_settings,
    json_text,
    open_store,
    sub_app,
    utc,
)

benchmark_app = sub_app("Public benchmarks.")
#: The command ``quaywatch evaluate`` runs when no command is named.
DEFAULT_COMMAND = "detection"


class _DefaultCommandGroup(Group):
    """A group that runs ``DEFAULT_COMMAND`` when its first argument names no command."""

    def parse_args(self, ctx: Any, args: list[str]) -> list[str]:
        if args and args[0] not in self.commands and args[0] not in ctx.help_option_names:
            args = [DEFAULT_COMMAND, *args]
        return super().parse_args(ctx, args)


evaluate_app = typer.Typer(
    cls=_DefaultCommandGroup, no_args_is_help=True, rich_markup_mode=None,
    help="Measure detection against ground truth (detection, the default) and on patterns "
    "never seen (lopo).",
)  # fmt: skip
Truth = Annotated[
    Path, typer.Option(help="Ground-truth Parquet file written by the traffic generator.")
]
Split = Annotated[
    datetime,
    typer.Option(
        help="Evaluate consignments lodged at or after this moment (UTC unless it says).",
        formats=DATE_FORMATS,
    ),
]
CapacityPct = Annotated[
    float | None,
    typer.Option(
        help="Share of consignments controlled, in percent (default: setting "
        "QUAYWATCH_CONTROL_CAPACITY_PCT, 3.0)."
    ),
]


@evaluate_app.command(DEFAULT_COMMAND)
def evaluate_command(
    ctx: typer.Context,
    truth: Truth,
    split: Split,
    capacity_pct: CapacityPct = None,
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
    perfect oracle (the ceiling), at 1, 2, 5, 10 % and at the control capacity, and the
    recall per fraud pattern beside what the oracle reaches; with --model, the model's
    assessments too, using only the control outcomes known before --split. Truth rows of the
    period whose consignment was never stored are counted and named, never dropped.
    """
    from quaywatch.learning import report as evaluation_report
    from quaywatch.services.evaluation import evaluate_detection

    settings = get_settings(ctx)
    result = evaluate_detection(
        open_store(ctx), truth_path=truth, split_at=utc(split),
        capacity_pct=settings.control_capacity_pct if capacity_pct is None else capacity_pct,
        model_path=model, saturation_pct=settings.hit_saturation_pct, key_dir=settings.key_dir,
    )  # fmt: skip
    if as_json:
        typer.echo(evaluation_report.to_json(result))
    else:
        console.print(evaluation_report.render(result))
    written = errors if as_json else console
    if report:
        evaluation_report.write_json(result, report)
        written.print(f"report written to {report}", markup=False, highlight=False)
    if html:
        evaluation_report.write_html(result, html)
        written.print(f"HTML report written to {html}", markup=False, highlight=False)


@evaluate_app.command("lopo")
def lopo_command(
    ctx: typer.Context,
    truth: Truth,
    split: Split,
    capacity_pct: CapacityPct = None,
    labels_until: Annotated[
        datetime | None,
        typer.Option(
            help="Train on the outcomes known before this moment (default: --split); only "
            "consignments lodged before --split are ever labelled.",
            formats=DATE_FORMATS,
        ),
    ] = None,
    pattern: Annotated[
        list[str] | None,
        typer.Option(
            help="Leave out only this pattern (repeat it for several; default: every pattern "
            "with an illicit consignment since --split)."
        ),
    ] = None,
    report: Annotated[Path | None, typer.Option(help="Also write the report as JSON here.")] = None,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print the report as JSON instead of a table.")
    ] = False,
) -> None:
    """Leave one pattern out: each pattern's recall when nothing was learnt from its outcomes.

    Trains the models in memory as quaywatch train does, once on every outcome (the baseline)
    and once per pattern with every outcome of that pattern's consignments removed, from the
    labels and from what the assessment knows; assesses the consignments lodged since --split
    with every risk source and reports the pattern's recall at the control capacity beside
    the oracle's. Writes no model and changes nothing in the store.
    """
    from quaywatch.learning import lopo_report
    from quaywatch.services.evaluation import evaluate_unseen_patterns

    settings = get_settings(ctx)
    result = evaluate_unseen_patterns(
        open_store(ctx), truth_path=truth, split_at=utc(split),
        capacity_pct=settings.control_capacity_pct if capacity_pct is None else capacity_pct,
        labels_until=None if labels_until is None else utc(labels_until), patterns=pattern,
        key_dir=settings.key_dir,
    )  # fmt: skip
    if as_json:
        typer.echo(lopo_report.to_json(result))
    else:
        console.print(lopo_report.render_table(result))
    if report:
        lopo_report.write_json(result, report)
        (errors if as_json else console).print(
            f"report written to {report}", markup=False, highlight=False
        )


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
    output.write_text(json_text(report, indent=2), encoding="utf-8")
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
