"""What every ``quaywatch`` command module shares; it imports no other command module.

- ``console`` (results, on standard output) and ``errors`` (messages, on standard error);
- ``Group``: turns a ``QuaywatchError`` into its message and exit code, never a traceback;
- ``get_settings`` / ``open_store``: the settings the root command read, and the store they name;
- ``DATE_FORMATS`` / ``utc``: how a moment is typed and read. A moment on the command line is a
  date (``2026-12-10``), a UTC time (``2026-12-10T06:00:00``) or a time with its offset
  (``2026-12-10T06:00:00+01:00``); a moment without a zone is UTC.

Heavy libraries (polars, SQLAlchemy, LightGBM) are imported inside the commands that use them,
so that ``quaywatch --help`` answers at once.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import typer
from rich.console import Console, ConsoleDimensions
from typer.core import TyperGroup

from quaywatch.errors import QuaywatchError

if TYPE_CHECKING:
    from quaywatch.config import Settings
    from quaywatch.store.store import Store

DATE_FORMATS = ["%Y-%m-%d", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%dT%H:%M:%S%z"]

#: Width of output that goes to a file or another program rather than a terminal.
PIPE_WIDTH = 10_000


class _Console(Console):
    """A console as wide as its terminal, and not wrapped at 80 columns when piped."""

    @property
    def size(self) -> ConsoleDimensions:
        found = super().size
        return found if self.is_terminal else ConsoleDimensions(PIPE_WIDTH, found.height)

    @size.setter
    def size(self, new_size: tuple[int, int]) -> None:
        self._width, self._height = new_size


console = _Console()
errors = _Console(stderr=True)


class Group(TyperGroup):
    """Turns quaywatch errors into a message and an exit code, never a traceback."""

    def invoke(self, ctx: Any) -> Any:
        try:
            return super().invoke(ctx)
        except QuaywatchError as exc:
            errors.print("[bold red]error:[/] ", end="")
            errors.print(exc.message, markup=False, highlight=False, soft_wrap=True)
            raise typer.Exit(exc.exit_code) from None


def sub_app(help: str) -> typer.Typer:
    """A command group with quaywatch's error handling."""
    return typer.Typer(cls=Group, no_args_is_help=True, help=help, rich_markup_mode=None)


@dataclass
class RootOptions:
    """The root command's options, and the settings once a command has read them."""

    database_url: str | None = None
    settings: Settings | None = None


def get_settings(ctx: typer.Context) -> Settings:
    """The settings (environment, ``.env``), with the root command's ``--database`` applied."""
    from quaywatch.config import load_settings

    root = ctx.find_root().obj
    assert isinstance(root, RootOptions)
    if root.settings is None:
        settings = load_settings()
        if root.database_url:
            settings = settings.model_copy(update={"database_url": root.database_url})
        root.settings = settings
    return root.settings


def open_store(ctx: typer.Context, *, migrate: bool | None = None) -> Store:
    """The store the settings name, closed when the command ends.

    ``migrate`` defaults to the ``auto_migrate`` setting.
    """
    from quaywatch.store.store import Store

    settings = get_settings(ctx)
    store = Store.open(
        settings.database_url,
        migrate=settings.auto_migrate if migrate is None else migrate,
        audit_key=settings.audit_key(),
    )
    ctx.call_on_close(store.close)
    return store


def utc(moment: datetime) -> datetime:
    """``moment`` as an aware UTC time; a naive one is taken to be UTC already."""
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
