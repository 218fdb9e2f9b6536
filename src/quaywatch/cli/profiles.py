"""CLI commands for analysts' risk profiles: ``quaywatch profiles validate|test|load|list|...``.

The workflow the guide (``docs/profiles.md``) walks through: ``validate`` a file as it is
written, ``test`` it on past traffic, ``load`` it as a draft, ``activate`` it, ``retire`` it
when it has served. ``app.py`` registers this sub-app as ``profiles``. Each command calls one
service of ``quaywatch.services.profiles`` and prints its result.
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
    label,
    open_store,
    shown,
    sub_app,
)

app = sub_app("Analysts' risk profiles (YAML rules).")

Files = Annotated[list[Path], typer.Argument(help="Profile YAML files.", show_default=False)]


def _percent(value: float | None) -> str:
    return "-" if value is None else f"{value:.1%}"


@app.command()
def validate(files: Files) -> None:
    """Check profile files: every error with its file, line and reason; exit 2 if any."""
    from quaywatch.services.profiles import validate_profiles

    result = validate_profiles(files)
    for check in result.files:
        if check.ok:
            console.print(f"ok {check.file}: {check.profile_id} v{check.version} — "
                          f"{check.description}", markup=False, highlight=False)  # fmt: skip
        else:
            errors.print(label("invalid:", "bold red"), check.error, highlight=False,
                         soft_wrap=True)  # fmt: skip
    if result.failed:
        raise typer.Exit(2)


@app.command()
def load(ctx: typer.Context, files: Files) -> None:
    """Store profile files as drafts (all or none); loading a file again changes nothing."""
    from quaywatch.services.profiles import load_profiles

    for item in load_profiles(open_store(ctx), files, actor=get_settings(ctx).actor):
        what = "loaded as draft" if item.new else f"already stored ({item.status})"
        console.print(f"{item.profile_id} v{item.version}: {what}", markup=False,
                      highlight=False)  # fmt: skip


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
    from quaywatch.services.profiles import trial_profiles

    result = trial_profiles(open_store(ctx), files, since=since, until=until,
                            model_dir=get_settings(ctx).model_dir, examples=show)  # fmt: skip
    table = Table(
        title=f"Profiles on {result.consignments:,} consignments lodged from "
        f"{result.since:%Y-%m-%d}"
    )
    for column in ("profile", "hits", "traffic", "controlled", "found", "hit rate", "overall",
                   "lift"):  # fmt: skip
        left = column == "profile"  # the id stays on one line; numbers give way
        table.add_column(column, justify="left" if left else "right", no_wrap=left)
    for row in result.profiles:
        table.add_row(
            shown(f"{row.profile_id} v{row.version}"), f"{row.hits:,}",
            _percent(row.traffic_share), f"{row.controlled_hits:,}", f"{row.found:,}",
            _percent(row.hit_rate), _percent(row.overall_hit_rate),
            "-" if row.lift is None else f"{row.lift:.1f}×",
        )  # fmt: skip
    console.print(table)
    console.print(f"Value ratios use {result.reference_note}.", markup=False, highlight=False)
    for hit in result.examples:
        console.print(f"  {hit.profile_id}: {hit.consignment_id} v{hit.version}: {hit.reason}",
                      markup=False, highlight=False, soft_wrap=True)  # fmt: skip


@app.command("list")
def list_command(ctx: typer.Context) -> None:
    """Every stored profile version with its status."""
    from quaywatch.services.profiles import list_profiles

    table = Table(title="Risk profiles")
    for column in ("id", "version", "status", "owner", "valid", "description", "changed"):
        table.add_column(column, justify="right" if column == "version" else "left",
                         no_wrap=column in ("id", "version", "status"))  # fmt: skip
    for row in list_profiles(open_store(ctx)):
        start = f"{row.valid_from:%Y-%m-%d}" if row.valid_from else "…"
        end = f"{row.valid_to:%Y-%m-%d}" if row.valid_to else "…"
        table.add_row(
            shown(row.profile_id), str(row.version), shown(row.status), shown(row.owner),
            f"{start} – {end}", shown(row.description),
            shown(f"{row.changed_at:%Y-%m-%d %H:%M} by {row.changed_by}"),
        )  # fmt: skip
    console.print(table)


@app.command()
def activate(
    ctx: typer.Context,
    profile_id: Annotated[str, typer.Argument(metavar="ID", show_default=False)],
    version: Annotated[int | None, typer.Option(help="Version (default: the highest).")] = None,
) -> None:
    """Put a profile version in force; the version in force until now is retired."""
    from quaywatch.services.profiles import activate_profile

    done = activate_profile(open_store(ctx), profile_id, version=version,
                            actor=get_settings(ctx).actor)  # fmt: skip
    console.print(f"{done.profile_id} v{done.versions[0]} is active", markup=False,
                  highlight=False)  # fmt: skip


@app.command()
def retire(
    ctx: typer.Context,
    profile_id: Annotated[str, typer.Argument(metavar="ID", show_default=False)],
) -> None:
    """Take a profile out of force."""
    from quaywatch.services.profiles import retire_profile

    done = retire_profile(open_store(ctx), profile_id, actor=get_settings(ctx).actor)
    console.print(f"{done.profile_id} v{', v'.join(map(str, done.versions))} retired",
                  markup=False, highlight=False)  # fmt: skip
