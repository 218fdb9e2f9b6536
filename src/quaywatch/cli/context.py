"""What every ``quaywatch`` command module shares; it imports no other command module.

- ``console`` (results, on standard output) and ``errors`` (messages, on standard error), which
  print data as it is: never as markup, never as a terminal control sequence (see ``_Console``);
- ``Group``: turns a ``QuaywatchError`` into its message and exit code, never a traceback;
- ``get_settings`` / ``open_store``: the settings the root command read, and the store they name;
- ``DATE_FORMATS`` / ``utc``: how a moment is typed and read. A moment on the command line is a
  date (``2026-12-10``), a UTC time (``2026-12-10T06:00:00``) or a time with its offset
  (``2026-12-10T06:00:00+01:00``); a moment without a zone is UTC.

Heavy libraries (polars, SQLAlchemy, LightGBM) are imported inside the commands that use them,
so that ``quaywatch --help`` answers at once.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import typer
from rich.console import Console, ConsoleDimensions, ConsoleOptions, RenderableType
from rich.segment import Segment
from rich.text import Text
from typer.core import TyperGroup

from quaywatch.errors import QuaywatchError

if TYPE_CHECKING:
    from quaywatch.config import Settings
    from quaywatch.store.store import Store

DATE_FORMATS = ["%Y-%m-%d", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%dT%H:%M:%S%z"]

#: Width of output that goes to a file or another program rather than a terminal.
PIPE_WIDTH = 10_000


#: Characters a terminal may take as a command (C0 controls but tab and newline, DEL, C1).
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def visible(text: str) -> str:
    """``text`` with each control character written out (``\\x1b``), so a terminal shows it."""
    return _CONTROL.sub(_written_out, text)


def _written_out(match: re.Match[str]) -> str:
    return f"\\x{ord(match.group()):02x}"


def shown(value: object, style: str = "") -> Text:
    """A value from the data, as a ``Text`` that prints exactly its characters.

    The console prints plain strings that way too; this is for a value given a style, or
    handed to a table as ``Text``. Never build markup around data: use this.
    """
    return Text(visible(str(value)), style=style)


class _Console(Console):
    """A console as wide as its terminal, and not wrapped at 80 columns when piped.

    Everything quaywatch prints holds data from files others filed (party names, codes, ids,
    reasons), so this is the one place it is made harmless, whatever the call: markup is off
    (``[link=...]``, ``[/]`` or ``[bold red]`` in a value print as those characters, and cannot
    crash the print), and control characters in rendered text are shown as ``\\x1b`` rather
    than sent to the terminal (an escape sequence could otherwise recolour, retitle or link).
    Styling quaywatch adds itself goes through ``Text`` and ``style``, never markup.
    """

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(markup=False, **kwargs)

    def render_str(self, text: str, **kwargs: Any) -> Text:
        # Strings (print arguments, table cells and titles) are cleaned before layout, so that
        # a cell is as wide as what it shows; ``render`` below is the net for the rest.
        return super().render_str(visible(text), **{**kwargs, "markup": False})

    def render(
        self, renderable: RenderableType, options: ConsoleOptions | None = None
    ) -> Iterable[Segment]:
        for segment in super().render(renderable, options):
            if segment.control is None and _CONTROL.search(segment.text):
                yield Segment(visible(segment.text), segment.style)
            else:
                yield segment

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
            errors.print(label("error:", "bold red"), exc.message, highlight=False, soft_wrap=True)
            raise typer.Exit(exc.exit_code) from None


def label(text: str, style: str) -> Text:
    """A word quaywatch styles itself (``error:``, ``warning:``), for ``console.print``."""
    return Text(text, style=style)


def sub_app(help: str) -> typer.Typer:
    """A command group with quaywatch's error handling."""
    return typer.Typer(cls=Group, no_args_is_help=True, help=help, rich_markup_mode=None)


@dataclass
class RootOptions:
    """The root command's options, and the settings once a command has read them."""

    database_url: str | None = None
    settings: Settings | None = None


def get_settings(ctx: typer.Context, *, reference: bool = True) -> Settings:
    """The settings (environment, ``.env``), with the root command's ``--database`` applied.

    With ``reference`` (every command but ``reference``'s own) the site reference directory
    they name is checked and put in use: a bad file stops the command (``ReferenceDataError``).
    """
    from quaywatch.config import load_settings

    root = ctx.find_root().obj
    assert isinstance(root, RootOptions)
    if root.settings is None:
        settings = load_settings()
        if root.database_url:
            settings = settings.model_copy(update={"database_url": root.database_url})
        root.settings = settings
    if reference:
        from quaywatch.services.reference import activate

        activate(root.settings.reference_dir)
    return root.settings


def open_store(ctx: typer.Context, *, schema: bool = True) -> Store:
    """The store the settings name, closed when the command ends.

    With ``schema`` (every command but ``db``'s) the store is migrated when ``auto_migrate`` is
    on, else checked to be at the newest schema (``SchemaError`` says to run ``quaywatch db
    upgrade``); ``quaywatch db`` opens it as it is.
    """
    from quaywatch.store.store import Store

    settings = get_settings(ctx)
    store = Store.open(
        settings.database_url,
        migrate=schema and settings.auto_migrate,
        check=schema,
        lock_timeout_s=settings.lock_timeout_s,
        audit_key=settings.audit_key(),
    )
    ctx.call_on_close(store.close)
    return store


def utc(moment: datetime) -> datetime:
    """``moment`` as an aware UTC time; a naive one is taken to be UTC already."""
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def json_text(value: Any, **options: Any) -> str:
    """``value`` as strict JSON text: a non-finite number (which JSON cannot hold, and which
    ``json.dumps`` would write as ``Infinity`` or ``NaN``) is written ``null``."""
    return json.dumps(_finite(value), allow_nan=False, **options)


def _finite(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {key: _finite(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_finite(item) for item in value]
    return value
