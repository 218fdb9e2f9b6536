"""Every format of the registry (``intake.formats.FORMATS``) is listed where a user chooses
one: the command line's ``--format`` help, the API's ``?format=`` for events, and the table of
docs/formats.md; the light list the help reads is the registry's, in its order."""

from __future__ import annotations

import re
from pathlib import Path

from fastapi.testclient import TestClient
from typer.testing import CliRunner

from quaywatch.api.app import create_app
from quaywatch.cli import app
from quaywatch.config import Settings
from quaywatch.domain.vocabulary import RecordKind
from quaywatch.intake import format_names
from quaywatch.intake.formats import FORMATS

ROOT = Path(__file__).parents[2]


def test_the_help_list_is_the_registry() -> None:
    assert list(format_names.ABOUT) == list(FORMATS)
    assert {n: f.about for n, f in FORMATS.items()} == format_names.ABOUT


def test_the_command_line_lists_every_format() -> None:
    done = CliRunner().invoke(app, ["ingest", "--help"], terminal_width=400)
    assert done.exit_code == 0, done.output
    shown = " ".join(done.output.split())
    listed = re.search(r"Override detection of the format by content: (.*?) \(docs", shown)
    assert listed is not None, shown
    assert listed.group(1).split(", ") == list(FORMATS)


def test_the_api_lists_every_event_format(tmp_path: Path) -> None:
    settings = Settings(database_url=f"sqlite:///{tmp_path / 'q.db'}", model_dir=tmp_path / "m")
    with TestClient(create_app(settings), base_url="https://testserver") as client:
        spec = client.get("/openapi.json").json()
    wanted = [n for n, f in FORMATS.items() if f.kind is RecordKind.EVENTS]
    assert len(wanted) >= 2
    for path in ("/api/v1/events", "/api/v1/events/callbacks/{subscription_id}"):
        [param] = [p for p in spec["paths"][path]["post"]["parameters"] if p["name"] == "format"]
        assert f"one of {', '.join(wanted)};" in param["description"], param


def test_the_formats_page_tables_every_format() -> None:
    page = (ROOT / "docs" / "formats.md").read_text(encoding="utf-8")
    tabled = re.findall(r"^\| `([a-z0-9.-]+)` \(", page, flags=re.MULTILINE)
    assert sorted(tabled) == sorted(FORMATS)
