"""``quaywatch reference``: the reference data in use, and checking a site directory."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from quaywatch.cli.context import console, errors, get_settings, label, shown, sub_app

app = sub_app(
    "Reference data: the shipped code lists and the site reference directory "
    "(QUAYWATCH_REFERENCE_DIR) that adds to them."
)


def _print_listing(found: object) -> None:
    from rich.table import Table

    from quaywatch.services.reference import Listing

    assert isinstance(found, Listing)
    console.print(f"reference version {found.version} (UN/LOCODE {found.un_locode_edition})",
                  highlight=False)  # fmt: skip
    console.print(f"site directory: {found.site_dir or '(none)'}", highlight=False)
    table = Table("file", "origin", "entries", "sha256", "path")
    for file in found.files:
        table.add_row(shown(file.name), file.origin, f"{file.entries:,}", file.sha256[:12],
                      shown(file.path))  # fmt: skip
    console.print(table)
    console.print(f"{found.known_ports:,} known ports", highlight=False)


@app.command("list")
def list_command(ctx: typer.Context) -> None:
    """The files in use, shipped or the site's, with their entries, and the version recorded on
    each import batch and assessment."""
    from quaywatch.services import reference

    settings = get_settings(ctx, reference=False)
    _print_listing(reference.listing(settings.reference_dir))


@app.command("check")
def check_command(
    ctx: typer.Context,
    directory: Annotated[
        Path | None,
        typer.Argument(help="Site reference directory (default: QUAYWATCH_REFERENCE_DIR)."),
    ] = None,
) -> None:
    """Check a site reference directory: every bad line is listed (file, line, field); exit
    code 2 if there is one."""
    from quaywatch.services import reference

    if directory is None:
        directory = get_settings(ctx, reference=False).reference_dir
    if directory is None:
        errors.print(label("error:", "bold red"), "no directory given and "
                     "QUAYWATCH_REFERENCE_DIR is not set", highlight=False)  # fmt: skip
        raise typer.Exit(2)
    result = reference.check(directory)
    if not result.ok:
        for problem in result.problems:
            errors.print(label("error:", "bold red"), str(problem), highlight=False,
                         soft_wrap=True)  # fmt: skip
        errors.print(f"{len(result.problems)} problem(s) in {directory}", highlight=False)
        raise typer.Exit(2)
    assert result.listing is not None
    console.print(f"{directory}: every file can be used", highlight=False)
    _print_listing(result.listing)
