"""CLI commands for analysts' risk profiles: ``quaywatch profiles validate|test|load|list|...``.

The workflow the guide (``docs/profiles.md``) walks through: ``validate`` a file as it is
written, ``test`` it on past traffic, ``load`` it as a draft, ``activate`` it, ``retire`` it
when it has served. ``app.py`` registers this sub-app as ``profiles``.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Annotated

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
from quaywatch.errors import ModelError, QuaywatchError

app = sub_app("Analysts' risk profiles (YAML rules).")

Files = Annotated[list[Path], typer.Argument(help="Profile YAML files.", show_default=False)]


def _percent(value: float | None) -> str:
    return "-" if value is None else f"{value:.1%}"


@app.command()
def validate(files: Files) -> None:
    """Check profile files: every error with its file, line and reason; exit 2 if any."""
    from quaywatch.risk.profiles import loader

    failed = 0
    for path in files:
        try:
            p = loader.read(path)
        except QuaywatchError as exc:
            failed += 1
            errors.print(f"[bold red]invalid:[/] {exc.message}", highlight=False, soft_wrap=True)
            continue
        console.print(f"ok {path}: {p.id} v{p.version} — {p.description}", highlight=False)
    if failed:
        raise typer.Exit(2)


@app.command()
def load(ctx: typer.Context, files: Files) -> None:
    """Store profile files as drafts (all or none); loading a file again changes nothing."""
    from quaywatch.risk.profiles import loader, registry

    profiles = [loader.read(path) for path in files]
    done = registry.load(open_store(ctx), profiles, actor=get_settings(ctx).actor)
    for item in done:
        what = "loaded as draft" if item.new else f"already stored ({item.status})"
        console.print(f"{item.profile_id} v{item.version}: {what}", highlight=False)


@app.command("test")
def test_command(
    ctx: typer.Context,
    files: Files,
    since: Annotated[
        datetime,
        typer.Option(help="First lodging moment of the traffic to test on.", formats=DATE_FORMATS),
    ],
    until: Annotated[
        datetime | None,
        typer.Option(help="End of the period (exclusive; default: now).", formats=DATE_FORMATS),
    ] = None,
    show: Annotated[int, typer.Option(help="Hits to show per profile.")] = 5,
) -> None:
    """Run profiles over stored traffic: hits, share of traffic, hit rate of their controls."""
    from quaywatch.risk.bundle import RiskModel
    from quaywatch.risk.profiles import loader, trial
    from quaywatch.risk.profiles.apply import ProfileSet

    profiles = ProfileSet.of(loader.read(path) for path in files)
    settings = get_settings(ctx)
    try:
        reference = RiskModel.load(settings.model_dir).reference
    except ModelError:
        reference = None  # no trained model yet: the trial fits its own reference
    data = trial.trial_frame(open_store(ctx), since=utc(since),
                             until=utc(until) if until else None, reference=reference)  # fmt: skip
    report = trial.trial(profiles, data)
    table = Table(
        title=f"Profiles on {data.frame.height:,} consignments lodged from {since:%Y-%m-%d}"
    )
    for column in ("profile", "hits", "traffic", "controlled", "found", "hit rate", "overall",
                   "lift"):  # fmt: skip
        left = column == "profile"  # the id stays on one line; numbers give way
        table.add_column(column, justify="left" if left else "right", no_wrap=left)
    for row in report.iter_rows(named=True):
        table.add_row(
            row["profile"], f"{row['hits']:,}", _percent(row["traffic_share"]),
            f"{row['controlled_hits']:,}", f"{row['found']:,}", _percent(row["hit_rate"]),
            _percent(row["overall_hit_rate"]),
            "-" if row["lift"] is None else f"{row['lift']:.1f}×",
        )  # fmt: skip
    console.print(table)
    console.print(f"Value ratios use {data.reference_note}.", highlight=False)
    found = profiles.apply(data.frame)
    for p in profiles.profiles:
        for row in found.filter(code=p.code).head(show).iter_rows(named=True):
            console.print(f"  {p.id}: {row['consignment_id']} v{row['version']}: {row['text']}",
                          highlight=False, soft_wrap=True)  # fmt: skip


@app.command("list")
def list_command(ctx: typer.Context) -> None:
    """Every stored profile version with its status."""
    from quaywatch.risk.profiles import registry

    rows = registry.listing(open_store(ctx))
    table = Table(title="Risk profiles")
    for column in ("id", "version", "status", "owner", "valid", "description", "changed"):
        table.add_column(column, justify="right" if column == "version" else "left",
                         no_wrap=column in ("id", "version", "status"))  # fmt: skip
    for row in rows.iter_rows(named=True):
        start = f"{row['valid_from']:%Y-%m-%d}" if row["valid_from"] else "…"
        end = f"{row['valid_to']:%Y-%m-%d}" if row["valid_to"] else "…"
        table.add_row(
            row["profile_id"], str(row["version"]), row["status"], row["owner"],
            f"{start} – {end}", row["description"],
            f"{row['changed_at']:%Y-%m-%d %H:%M} by {row['changed_by']}",
        )  # fmt: skip
    console.print(table)


@app.command()
def activate(
    ctx: typer.Context,
    profile_id: Annotated[str, typer.Argument(metavar="ID", show_default=False)],
    version: Annotated[int | None, typer.Option(help="Version (default: the highest).")] = None,
) -> None:
    """Put a profile version in force; the version in force until now is retired."""
    from quaywatch.risk.profiles import registry

    chosen = registry.activate(open_store(ctx), profile_id, actor=get_settings(ctx).actor,
                               version=version)  # fmt: skip
    console.print(f"{profile_id} v{chosen} is active", highlight=False)


@app.command()
def retire(
    ctx: typer.Context,
    profile_id: Annotated[str, typer.Argument(metavar="ID", show_default=False)],
) -> None:
    """Take a profile out of force."""
    from quaywatch.risk.profiles import registry

    versions = registry.retire(open_store(ctx), profile_id, actor=get_settings(ctx).actor)
    console.print(f"{profile_id} v{', v'.join(map(str, versions))} retired", highlight=False)
