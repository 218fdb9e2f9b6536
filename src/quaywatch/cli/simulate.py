"""``quaywatch simulate``: the policy lab, control set-ups compared on generated traffic.

Kept apart from ``app.py`` so that each file stays readable; ``app.py`` registers it.
"""

from __future__ import annotations

import json
import tempfile
import time
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from quaywatch.cli.context import console, errors
from quaywatch.errors import ConfigurationError

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
    import polars as pl

    from quaywatch.learning import lab, simulate as sim
    from quaywatch.risk.profiles import loader
    from quaywatch.risk.profiles.apply import ProfileSet
    from quaywatch.selection import capacity

    names = strategy or list(lab.DEFAULT)
    unknown = [n for n in names if n not in lab.PRESETS]
    if unknown:
        raise ConfigurationError(
            f"unknown strategy {unknown[0]!r}; the strategies are {', '.join(lab.PRESETS)}"
        )
    files = profiles or sorted((Path(loader.__file__).parent / "starter").glob("*.yaml"))
    rules = ProfileSet.of([loader.read(path) for path in files])
    cap = capacity.load(capacity_file)
    say = errors if as_json else console
    with tempfile.TemporaryDirectory(prefix="quaywatch-lab-") as folder:
        started = time.perf_counter()
        world = sim.prepare(Path(folder) / "traffic", weeks=weeks, warmup_weeks=warmup_weeks,
                            per_day=per_day, seed=seed, displacement=displacement)  # fmt: skip
        say.print(f"Generated {world.items['consignment_id'].n_unique():,} consignments in "
                  f"{time.perf_counter() - started:.0f} s; replaying {weeks} weeks from "
                  f"{world.start:%Y-%m-%d}.", highlight=False)  # fmt: skip
        weekly = []
        for name in names:
            started = time.perf_counter()
            weekly.append(sim.run(world, lab.PRESETS[name], capacity=cap, profiles=rules,
                                  seed=seed))  # fmt: skip
            say.print(f"  {name}: {time.perf_counter() - started:.0f} s", highlight=False)
    every = pl.concat(weekly)
    summary = lab.summarise(every)
    title = f"Policy lab: {weeks} weeks of {per_day:,} consignments a day, seed {seed}" + (
        ", cocaine routes displaced" if displacement else ""
    )
    if html:
        html.write_text(lab.html(every, summary, title=title), encoding="utf-8")
        say.print(f"HTML report written to {html}", highlight=False)
    if as_json:
        typer.echo(json.dumps({"weekly": every.to_dicts(), "summary": summary.to_dicts()},
                              default=str))  # fmt: skip
        return
    table = Table(title=title)
    table.add_column("strategy")
    for label in _FIGURES.values():
        table.add_column(label, justify="right")
    for row in summary.iter_rows(named=True):
        cells = [
            f"{row[key]:,}" if key == "controls"
            else "-" if row[key] is None
            else f"{row[key]:.3f}" if key in ("late_auc", "aeo_burden")
            else f"{row[key]:.1%}"
            for key in _FIGURES
        ]  # fmt: skip
        table.add_row(row["strategy"], *cells)
    console.print(table)
