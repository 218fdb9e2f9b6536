"""CLI command of the event anomalies: ``quaywatch anomalies``.

Kept apart from ``app.py`` so that each file stays readable; ``app.py`` registers it.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

import typer
from rich.table import Table

from quaywatch.cli.context import DATE_FORMATS, console, open_store, utc
from quaywatch.errors import InputError


def anomalies(
    ctx: typer.Context,
    since: Annotated[
        datetime | None,
        typer.Option(
            help="Only consignments lodged at or after this moment (UTC unless it says).",
            formats=DATE_FORMATS,
        ),
    ] = None,
    at: Annotated[
        datetime | None,
        typer.Option(
            help="Look with the events known at this moment (default now).", formats=DATE_FORMATS
        ),
    ] = None,
    code: Annotated[
        str | None, typer.Option(help="Only this detector, e.g. seal_changed or hub_dwell.")
    ] = None,
    stale: Annotated[
        bool,
        typer.Option(
            "--stale", help="Only consignments with events received since their last assessment."
        ),
    ] = False,
    limit: Annotated[int, typer.Option(min=1, help="Rows to show, heaviest first.")] = 50,
) -> None:
    """List consignments whose container events show anomalies, with the reasons."""
    import polars as pl

    from quaywatch.risk import anomaly
    from quaywatch.risk.anomaly import reads

    if code is not None and code.removeprefix("anomaly:") not in anomaly.DETECTORS:
        known = ", ".join(anomaly.DETECTORS)
        raise InputError(f"unknown detector {code!r}; the detectors are {known}", source="--code")
    store = open_store(ctx)
    moment = utc(at) if at else datetime.now(UTC)
    boxes = reads.boxes(store)
    keys = boxes.select("consignment_id", "version", "lodged_at").unique()
    if since is not None:
        keys = keys.filter(pl.col("lodged_at") >= utc(since))
    if stale:
        keys = keys.join(reads.stale(store), on=["consignment_id", "version"], how="semi")
    found = anomaly.detect(reads.events(store), boxes, at=moment, keys=keys)
    if code is not None:
        found = found.filter(pl.col("code") == f"anomaly:{code.removeprefix('anomaly:')}")
    flagged = found.select("consignment_id", "version").n_unique()
    console.print(
        f"{flagged:,} of {keys.height:,} consignments show anomalies ({found.height:,} reasons) "
        f"with the events known at {moment:%Y-%m-%d %H:%M} UTC.",
        highlight=False,
    )
    if found.is_empty():
        return
    total = found.group_by("consignment_id", "version").agg(pl.col("weight").sum().alias("total"))
    rows = (
        found.join(total, on=["consignment_id", "version"])
        .sort(["total", "consignment_id", "weight"], descending=[True, False, True])
        .head(limit)
    )
    table = Table(title=f"Anomalies, heaviest first (up to {limit})")
    for column in ("consignment", "detector", "weight", "lane", "reason"):
        table.add_column(column, justify="right" if column == "weight" else "left")
    for row in rows.iter_rows(named=True):
        table.add_row(
            f"{row['consignment_id']} v{row['version']}", row["code"].removeprefix("anomaly:"),
            f"{row['weight']:.1f}", row["lane"] or "", row["text"],
        )  # fmt: skip
    console.print(table)
