"""``quaywatch simulate``: the policy lab, control set-ups compared on generated traffic.

It reads its options, calls ``services.lab.simulate`` and prints the comparison. Kept apart
from ``app.py`` so that each file stays readable; ``app.py`` registers it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from quaywatch.cli.context import console, errors, json_text, shown

_FIGURES = {
    "controls": "controls", "detected_share": "illicit found", "precision": "hit rate",
    "revenue_share": "revenue recovered", "critical_share": "critical seized",
    "aeo_burden": "AEO burden", "late_auc": "model AUC (last weeks)",
}  # fmt: skip


def simulate(
    ctx: typer.Context,
    weeks: Annotated[int, typer.Option(min=1, help="Arrival weeks to replay.")] = 12,
    warmup_weeks: Annotated[
        int, typer.Option(min=2, help="Weeks of legacy control history before the replay.")
    ] = 5,
    per_day: Annotated[int, typer.Option(min=100, help="Consignments a day.")] = 1_000,
    seed: Annotated[int, typer.Option(help="Seed of the traffic and of every draw.")] = 7,
    strategy: Annotated[
        list[str] | None,
        typer.Option(help="A set-up to compare (repeat it); see docs/policy-lab.md for all."),
    ] = None,
    displacement: Annotated[
        bool, typer.Option(help="Cocaine traffic moves to new routes two weeks in.")
    ] = True,
    capacity_file: Annotated[
        Path | None, typer.Option("--capacity", help="Capacity file (default: the shipped one).")
    ] = None,
    profiles: Annotated[
        list[Path] | None,
        typer.Option("--profile", help="Profile files in force (default: the starter set)."),
    ] = None,
    html: Annotated[Path | None, typer.Option(help="Also write the comparison as HTML.")] = None,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print weekly figures and the summary as JSON.")
    ] = False,
) -> None:
    """Replay generated weeks through select → control → retrain for several control set-ups."""
    from quaywatch.services import lab

    say = errors if as_json else console
    result = lab.simulate(
        weeks=weeks, warmup_weeks=warmup_weeks, per_day=per_day, seed=seed, strategies=strategy,
        displacement=displacement, capacity_file=capacity_file, profile_files=profiles,
        with_html=html is not None,
        progress=lambda line: say.print(line, markup=False, highlight=False),
    )  # fmt: skip
    if html and result.html is not None:
        html.write_text(result.html, encoding="utf-8")
        say.print(f"HTML report written to {html}", markup=False, highlight=False)
    if as_json:
        typer.echo(json_text({"weekly": result.weekly, "summary": result.summary}, default=str))
        return
    table = Table(title=result.title)
    table.add_column("strategy")
    for label in _FIGURES.values():
        table.add_column(label, justify="right")
    for row in result.summary:
        cells = [
            f"{row[key]:,}" if key == "controls"
            else "-" if row[key] is None
            else f"{row[key]:.3f}" if key in ("late_auc", "aeo_burden")
            else f"{row[key]:.1%}"
            for key in _FIGURES
        ]  # fmt: skip
        table.add_row(shown(row["strategy"]), *cells)
    console.print(table)
