"""CLI commands of watchlist screening: ``quaywatch screen`` and ``quaywatch watchlists``.

Kept apart from ``app.py`` so that each file stays readable; ``app.py`` registers them.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from quaywatch.cli.context import console, get_settings, open_store, sub_app
from quaywatch.errors import ConfigurationError

watchlists_app = sub_app("Watchlists screened against parties.")


def screen(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="A company or person name.")],
    country: Annotated[
        str | None, typer.Option(help="Its country (ISO 3166 alpha-2), if known.")
    ] = None,
    threshold: Annotated[
        float, typer.Option(min=50, max=100, help="Lowest name score (0-100) shown.")
    ] = 88.0,
    top: Annotated[int, typer.Option(min=1, help="Best matches shown.")] = 10,
) -> None:
    """Screen NAME against every loaded watchlist; show the best matches and why."""
    from quaywatch.risk import screening

    entries = screening.watchlist_entries(open_store(ctx))
    if entries.is_empty():
        console.print("No watchlist is loaded: quaywatch watchlists load FILE --id ...")
        raise typer.Exit(1)
    matches = screening.Screener.build(entries).screen_name(
        name, country=country.upper() if country else None, threshold=threshold
    )
    if matches.is_empty():
        console.print(f"No match for {name!r} on {entries['watchlist_id'].n_unique()} "
                      f"watchlist(s) at score {threshold:g} or above.", highlight=False)  # fmt: skip
        return
    table = Table(title=f"Matches for {name!r}")
    for column in ("watchlist", "entry", "listed name", "category", "score", "reason"):
        table.add_column(column, justify="right" if column == "score" else "left")
    best = screening.best(matches).sort("score", descending=True).head(top)
    for r in best.iter_rows(named=True):
        table.add_row(r["watchlist_id"], r["entry_id"], r["entry_name"], r["category"],
                      f"{r['score']:.0f}", r["reason"])  # fmt: skip
    console.print(table)


@watchlists_app.command("load")
def load(
    ctx: typer.Context,
    file: Annotated[Path, typer.Argument(help="Watchlist CSV (docs/screening.md).")],
    watchlist_id: Annotated[str, typer.Option("--id", help="Watchlist id, e.g. EU-DRUGS.")],
    source: Annotated[str, typer.Option(help="Who publishes the list, and its licence.")],
    list_date: Annotated[
        str, typer.Option("--date", help="Date the list was published, YYYY-MM-DD.")
    ],
) -> None:
    """Load a watchlist; the same file again changes nothing, a new one replaces the old."""
    from quaywatch.risk import screening

    try:
        published = date.fromisoformat(list_date)
    except ValueError:
        raise ConfigurationError(f"--date {list_date!r} is not a date (YYYY-MM-DD)") from None
    result = screening.load_watchlist(
        open_store(ctx), file, watchlist_id=watchlist_id, source=source, list_date=published,
        actor=get_settings(ctx).actor,
    )  # fmt: skip
    if not result.changed:
        console.print(f"Watchlist {watchlist_id} is already loaded from this file "
                      f"({result.entries:,} entries): nothing changed.", highlight=False)  # fmt: skip
        return
    replaced = f", replacing {result.replaced:,}" if result.replaced else ""
    console.print(f"Loaded watchlist {watchlist_id}: {result.entries:,} entries{replaced}.",
                  highlight=False)  # fmt: skip


@watchlists_app.command("list")
def list_command(ctx: typer.Context) -> None:
    """The loaded watchlists."""
    from quaywatch.risk import screening

    frame = screening.list_watchlists(open_store(ctx))
    table = Table(title="Watchlists")
    for column in ("id", "source", "list date", "entries", "loaded", "by", "file"):
        table.add_column(column, justify="right" if column == "entries" else "left")
    for r in frame.iter_rows(named=True):
        table.add_row(r["watchlist_id"], r["source"], str(r["list_date"]), f"{r['entries']:,}",
                      r["loaded_at"].isoformat(timespec="seconds"), r["loaded_by"],
                      Path(r["file"]).name)  # fmt: skip
    console.print(table)
