"""CLI commands of scale-out: ``quaywatch export parquet``, ``quaywatch spark score`` and
``quaywatch spark state``.

Each reads its options, calls one service of ``quaywatch.services.scale`` and prints what it
did; Spark is imported only when a ``spark`` command runs, so ``quaywatch --help`` stays fast.
"""

from __future__ import annotations

import os
import sys
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from quaywatch.cli.context import console, get_settings, open_store, sub_app

if TYPE_CHECKING:
    from quaywatch.scale.runtime import StateUpdate

export_app = sub_app("Export the store's records for other engines.")
spark_app = sub_app("Run quaywatch's assessment on Apache Spark (extra: quaywatch[spark]).")


@export_app.command("parquet")
def export_parquet(
    ctx: typer.Context,
    to: Annotated[Path, typer.Option("--to", help="The lake folder (created if need be).")],
) -> None:
    """Write what is new since the last export as Parquet partitioned by date, with a manifest."""
    from quaywatch.services.scale import export_parquet as export

    result = export(open_store(ctx), to=to)
    if not result.tables:
        console.print(f"Nothing new since export {result.number} in {to}.", markup=False,
                      highlight=False)  # fmt: skip
        return
    written = ", ".join(f"{t.table} {t.rows:,}" for t in result.tables)
    console.print(
        f"Export {result.number} into {to}: {result.rows:,} rows ({written}) from "
        f"{result.batches:,} import batches.",
        markup=False, highlight=False,
    )  # fmt: skip


@spark_app.command("score")
def spark_score(
    ctx: typer.Context,
    lake: Annotated[Path, typer.Option("--lake", help="The lake (quaywatch export parquet).")],
    start: Annotated[
        datetime, typer.Option("--from", formats=["%Y-%m-%d"], help="First lodging day.")
    ],
    end: Annotated[
        datetime, typer.Option("--to", formats=["%Y-%m-%d"], help="Last lodging day (included).")
    ],
    master: Annotated[str, typer.Option("--master", help="Spark master URL.")] = "local[2]",
    out: Annotated[
        Path | None,
        typer.Option(
            "--out", help="Assessments folder outside the lake (default LAKE/spark_assessments)."
        ),
    ] = None,
    model: Annotated[
        Path | None, typer.Option("--model", help="Model folder (default QUAYWATCH_MODEL_DIR).")
    ] = None,
    partitions: Annotated[
        int | None,
        typer.Option("--partitions", min=1, help="Spark partitions (default: one per core)."),
    ] = None,
) -> None:
    """Assess a lake period on Spark with mapInArrow; write the assessments as Parquet."""
    from quaywatch.services.scale import spark_score as run

    # pyspark starts its local Python workers with $PYSPARK_PYTHON (default ``python3``, not
    # this virtual environment); on a cluster spark-submit sets it (docs/scale.md).
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    result = run(
        lake_dir=lake, model_path=model or get_settings(ctx).model_dir, start=start.date(),
        end=end.date(), out=out, master=master, partitions=partitions,
    )  # fmt: skip
    if result.state is not None:
        _print_state(result.state)
    console.print(
        f"Assessed {result.assessed:,} consignments on {result.master} in {result.seconds:.1f} s "
        f"({result.rows_per_s:,.0f}/s); written to {result.out}.",
        markup=False, highlight=False,
    )  # fmt: skip


@spark_app.command("state")
def spark_state(
    lake: Annotated[Path, typer.Option("--lake", help="The lake (quaywatch export parquet).")],
    master: Annotated[str, typer.Option("--master", help="Spark master URL.")] = "local[2]",
    buckets: Annotated[
        int | None,
        typer.Option("--buckets", min=1, help="Buckets of a new state (default 16); kept after."),
    ] = None,
    rebuild: Annotated[
        bool, typer.Option("--rebuild", help="Build the state afresh from the whole lake.")
    ] = False,
) -> None:
    """Fold the lake's new exports into its kept entity state (spark score does it first too)."""
    from quaywatch.services.scale import spark_state as run

    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    _print_state(run(lake_dir=lake, master=master, buckets=buckets, rebuild=rebuild))


def _print_state(update: StateUpdate) -> None:
    if not update.folded:
        console.print(
            f"Entity state: current (export {update.last}, {update.rows:,} rows in "
            f"{update.buckets} buckets).", markup=False, highlight=False,
        )  # fmt: skip
        return
    exports = (f"export {update.last}" if update.first == update.last
               else f"exports {update.first}-{update.last}")  # fmt: skip
    console.print(
        f"Entity state: folded {exports} into {update.touched} of {update.buckets} buckets in "
        f"{update.seconds:.1f} s ({update.rows:,} rows).",
        markup=False, highlight=False,
    )  # fmt: skip
