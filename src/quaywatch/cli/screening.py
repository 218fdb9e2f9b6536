"""CLI commands of watchlist screening: ``quaywatch screen`` and ``quaywatch watchlists``.

Kept apart from ``app.py`` so that each file stays readable; ``app.py`` registers them. Each
command calls one service of ``quaywatch.services.screening`` and prints its result.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from quaywatch.cli.context import console, get_settings, open_store, shown, sub_app

watchlists_app = sub_app("Watchlists screened against parties.")


def screen(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="A company or person name.")],
    country: Annotated[
        str | None, typer.Option(help="Its country (ISO 3166 alpha-2), if known.")
    ] = None,
    threshold: Annotated[float, typer.Option(help="Lowest name score (50-100) shown.")] = 88.0,
    top: Annotated[int, typer.Option(help="Best matches shown.")] = 10,
) -> None:
    """Screen NAME against every loaded watchlist; show the best matches and why."""
    from quaywatch.services.screening import screen_name

    result = screen_name(open_store(ctx), name, country=country, threshold=threshold, limit=top)
    if not result.watchlists:
        console.print("No watchlist is loaded: quaywatch watchlists load FILE --id ...",
                      markup=False, highlight=False)  # fmt: skip
        raise typer.Exit(1)
    if not result.matches:
        console.print(f"No match for {result.name!r} on {result.watchlists} watchlist(s) at "
                      f"score {result.threshold:g} or above.", markup=False,
                      highlight=False)  # fmt: skip
        return
    table = Table(title=shown(f"Matches for {result.name!r}"))
    for column in ("watchlist", "entry", "listed name", "category", "score", "reason"):
        table.add_column(column, justify="right" if column == "score" else "left")
    for m in result.matches:
        table.add_row(shown(m.watchlist_id), shown(m.entry_id), shown(m.entry_name),
                      shown(m.category), f"{m.score:.0f}", shown(m.reason))  # fmt: skip
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
    from quaywatch.services.screening import load_watchlist

    result = load_watchlist(open_store(ctx), file, watchlist_id=watchlist_id, source=source,
                            list_date=list_date, actor=get_settings(ctx).actor)  # fmt: skip
    if not result.changed:
        console.print(f"Watchlist {result.watchlist_id} is already loaded from this file "
                      f"({result.entries:,} entries): nothing changed.", markup=False,
                      highlight=False)  # fmt: skip
        return
    replaced = f", replacing {result.replaced:,}" if result.replaced else ""
    console.print(f"Loaded watchlist {result.watchlist_id}: {result.entries:,} entries{replaced}.",
                  markup=False, highlight=False)  # fmt: skip


@watchlists_app.command("list")
def list_command(ctx: typer.Context) -> None:
    """The loaded watchlists."""
    from quaywatch.services.screening import list_watchlists

    table = Table(title="Watchlists")
    for column in ("id", "source", "list date", "entries", "loaded", "by", "file"):
        table.add_column(column, justify="right" if column == "entries" else "left")
    for w in list_watchlists(open_store(ctx)):
        table.add_row(shown(w.watchlist_id), shown(w.source), w.list_date.isoformat(),
                      f"{w.entries:,}", w.loaded_at.isoformat(timespec="seconds"),
                      shown(w.loaded_by), shown(Path(w.file).name))  # fmt: skip
    console.print(table)
