"""CLI command of the selection: ``quaywatch select``. ``app.py`` registers it."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from quaywatch.cli.context import DATE_FORMATS, console, get_settings, open_store, utc


def select(
    ctx: typer.Context,
    window_from: Annotated[
        datetime,
        typer.Option(
            "--from",
            help="Consignments arriving (ETA) from this moment (UTC unless it says).",
            formats=DATE_FORMATS,
        ),
    ],
    window_to: Annotated[
        datetime,
        typer.Option("--to", help="... until before this moment.", formats=DATE_FORMATS),
    ],
    capacity_file: Annotated[
        Path | None,
        typer.Option("--capacity", help="Capacity YAML (default: the one shipped, Antwerp-like)."),
    ] = None,
    random_rate: Annotated[
        float,
        typer.Option(min=0.0, max=1.0, help="Share of consignments drawn for random control."),
    ] = 0.02,
    seed: Annotated[int, typer.Option(min=0, max=2**31 - 1, help="Seed of the random draw.")] = 0,
) -> None:
    """Choose controls for the assessed consignments arriving in a window, within capacity."""
    from quaywatch.selection import capacity as capacities
    from quaywatch.selection.run import select_store

    settings = get_settings(ctx)
    capacity = capacities.load(capacity_file)
    run = select_store(
        open_store(ctx), utc(window_from), utc(window_to), capacity,
        random_rate=random_rate, seed=seed, actor=settings.actor,
    )  # fmt: skip
    c = run.counts
    console.print(
        f"Selection run {run.run_id}: {c['candidates']:,} consignments, {c['selected']:,} "
        f"controlled ({c['by_rule']:,} by rule, {c['by_random']:,} random, {c['by_model']:,} "
        f"by the model); expected detected value €{run.selection.objective:,.0f}.",
        highlight=False,
    )
    if not c["candidates"]:
        console.print("No assessed consignment arrives in this window.")
        return
    usage = run.selection.usage
    wide = usage.pivot("resource", index=["terminal", "shift", "shift_start", "candidates",
                                          "documentary", "scan", "physical"], values="used")  # fmt: skip
    caps = usage.pivot("resource", index=["terminal", "shift_start"], values="capacity")
    table = Table(title="Capacity use per terminal and shift")
    for column in ("shift start (UTC)", "terminal", "shift", "candidates", "documentary", "scan",
                   "physical", *capacity.resources):  # fmt: skip
        table.add_column(column, justify="left" if column in ("terminal", "shift") else "right")
    for row, cap in zip(wide.iter_rows(named=True), caps.iter_rows(named=True), strict=True):
        table.add_row(
            f"{row['shift_start']:%Y-%m-%d %H:%M}", row["terminal"], row["shift"],
            f"{row['candidates']:,}", str(row["documentary"]), str(row["scan"]),
            str(row["physical"]),
            *(f"{row[r]:g} / {cap[r]:g}" for r in capacity.resources),
        )  # fmt: skip
    console.print(table)
    lanes = ", ".join(
        f"{lane} {c['lane_' + lane]:,}" for lane in ("green", "yellow", "orange", "red", "blue")
    )
    console.print(f"Lanes: {lanes}", highlight=False)
    over = run.selection.overloads
    if over.height:
        console.print(
            f"[bold red]Rules and the random sample alone exceed capacity in {over.height} "
            "terminal shift resource(s); all were kept:[/]"
        )
        for row in over.sort("shift_start", "terminal").iter_rows(named=True):
            console.print(
                f"  {row['shift_start']:%Y-%m-%d %H:%M} {row['terminal']} {row['shift']}: "
                f"{row['resource']} needs {row['required']:g} of {row['capacity']:g} "
                f"({row['required_by_rules']:g} by rules)",
                highlight=False,
            )
