"""CLI command of the selection: ``quaywatch select``. ``app.py`` registers it.

The command reads its options, calls ``services.selection.select_controls`` and prints the
run: its counts, the capacity used per terminal shift, the lanes and any overload.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from quaywatch.cli.context import DATE_FORMATS, console, get_settings, label, open_store, shown, utc


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
    from quaywatch.services.selection import LANES, select_controls

    run = select_controls(
        open_store(ctx), window_from=utc(window_from), window_to=utc(window_to),
        capacity_file=capacity_file, random_rate=random_rate, seed=seed,
        actor=get_settings(ctx).actor,
    )  # fmt: skip
    c = run.counts
    console.print(
        f"Selection run {run.run_id}: {c['candidates']:,} consignments, "
        f"{c['selected']:,} controlled ({c['by_rule']:,} by rule, {c['by_random']:,} random, "
        f"{c['by_model']:,} by the model); expected detected value €{run.objective_eur:,.0f}.",
        highlight=False,
    )
    if not c["candidates"]:
        console.print("No assessed consignment arrives in this window.")
        return
    table = Table(title="Capacity use per terminal and shift")
    for column in ("shift start (UTC)", "terminal", "shift", "candidates", "documentary", "scan",
                   "physical", *run.resources):  # fmt: skip
        table.add_column(column, justify="left" if column in ("terminal", "shift") else "right")
    for u in run.usage:
        table.add_row(
            f"{u.shift_start:%Y-%m-%d %H:%M}", shown(u.terminal), shown(u.shift),
            f"{u.candidates:,}", str(u.controls["documentary"]), str(u.controls["scan"]),
            str(u.controls["physical"]),
            *(f"{u.used[r]:g} / {u.capacity[r]:g}" for r in run.resources),
        )  # fmt: skip
    console.print(table)
    lanes = ", ".join(f"{lane} {run.lanes[lane]:,}" for lane in LANES)
    console.print(f"Lanes: {lanes}", highlight=False)
    if run.overloads:
        console.print(
            label(
                f"Rules and the random sample alone exceed capacity in {len(run.overloads)} "
                "terminal shift resource(s); all were kept:",
                "bold red",
            )
        )
        for o in run.overloads:
            console.print(
                f"  {o.shift_start:%Y-%m-%d %H:%M} {o.terminal} {o.shift}: {o.resource} needs "
                f"{o.required:g} of {o.capacity:g} ({o.required_by_rules:g} by rules)",
                markup=False, highlight=False,
            )  # fmt: skip
