"""The ``quaywatch`` command line: the root command and where every command group is attached.

Each group lives in its own module over ``context`` (which imports none of them); a command
reads its arguments, calls the service that does the work and prints the result. Errors a user
can cause are printed in one place, ``context.Group``.
"""

from __future__ import annotations

from typing import Annotated

import typer

from quaywatch.cli import (
    accounts,
    anomaly,
    audit,
    control,
    demo,
    documents,
    evaluate,
    exchange,
    intake,
    learning,
    profiles,
    reference,
    risk,
    scale,
    screening,
    selection,
    serve,
    simulate,
)
from quaywatch.cli.context import Group, RootOptions

app = typer.Typer(
    cls=Group, no_args_is_help=True, help="quaywatch: customs risk management for container ports.",
    rich_markup_mode=None,
    pretty_exceptions_enable=False,
)  # fmt: skip


@app.callback()
def _root(
    ctx: typer.Context,
    database_url: Annotated[
        str | None, typer.Option("--database", help="Store URL (default: QUAYWATCH_DATABASE_URL).")
    ] = None,
) -> None:
    """quaywatch: customs risk management for container ports."""
    # Settings are read when a command first needs them, not for a group's --help.
    ctx.obj = RootOptions(database_url=database_url)


app.command()(intake.ingest)
app.add_typer(intake.quarantine_app, name="quarantine")
app.add_typer(documents.documents_app, name="documents")
app.add_typer(audit.audit_app, name="audit")
app.add_typer(audit.db_app, name="db")
app.add_typer(accounts.users_app, name="users")
app.add_typer(accounts.tokens_app, name="tokens")
app.add_typer(accounts.callbacks_app, name="callbacks")
app.command()(demo.demo)
app.command()(demo.generate)
app.add_typer(evaluate.evaluate_app, name="evaluate")
app.add_typer(evaluate.benchmark_app, name="benchmark")
app.command()(risk.train)
app.command()(risk.score)
app.add_typer(risk.model_app, name="model")
app.command()(anomaly.anomalies)
app.command()(screening.screen)
app.add_typer(screening.watchlists_app, name="watchlists")
app.add_typer(profiles.app, name="profiles")
app.command()(selection.select)
app.add_typer(control.app, name="control")
app.command()(control.kpis)
app.command()(learning.retrain)
app.command()(learning.drift)
app.add_typer(learning.weights_app, name="weights")
app.command()(simulate.simulate)
app.command()(serve.serve)
app.add_typer(reference.app, name="reference")
app.add_typer(exchange.keys_app, name="keys")
app.add_typer(exchange.partners_app, name="partners")
app.add_typer(exchange.exchange_app, name="exchange")
app.add_typer(scale.export_app, name="export")
app.add_typer(scale.spark_app, name="spark")


def main() -> None:
    """Console entry point."""
    app()
