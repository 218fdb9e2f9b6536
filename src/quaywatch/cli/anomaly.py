"""CLI command of the event anomalies: ``quaywatch anomalies``.

Kept apart from ``app.py`` so that each file stays readable; ``app.py`` registers it. It calls
``quaywatch.services.risk.list_anomalies`` and prints its result.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import typer
from rich.table import Table

from quaywatch.cli.context import DATE_FORMATS, console, open_store, shown


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
    limit: Annotated[int, typer.Option(help="Rows to show, heaviest first.")] = 50,
) -> None:
    """List consignments whose container events show anomalies, with the reasons."""
    from quaywatch.services.risk import list_anomalies

    found = list_anomalies(open_store(ctx), since=since, at=at, code=code, stale=stale,
                           limit=limit)  # fmt: skip
    console.print(
        f"{found.flagged:,} of {found.consignments:,} consignments show anomalies "
        f"({found.found:,} reasons) with the events known at {found.at:%Y-%m-%d %H:%M} UTC.",
        highlight=False,
    )
    if not found.rows:
        return
    table = Table(title=f"Anomalies, heaviest first (up to {found.limit})")
    for column in ("consignment", "detector", "weight", "lane", "reason"):
        table.add_column(column, justify="right" if column == "weight" else "left")
    for row in found.rows:
        table.add_row(
            shown(f"{row.consignment_id} v{row.version}"), shown(row.detector),
            f"{row.weight:.1f}", shown(row.lane or ""), shown(row.reason),
        )  # fmt: skip
    console.print(table)
