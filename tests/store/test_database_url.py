"""A store URL's password never reaches a message, whatever the URL looks like."""

from __future__ import annotations

import pytest
from hypothesis import given, strategies as st
from typer.testing import CliRunner

from quaywatch.cli import app
from quaywatch.errors import ConfigurationError
from quaywatch.store import database

users = st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789_", min_size=1, max_size=12)
# Any printable password without a slash (a slash ends the authority part of a URL).
passwords = st.text(
    alphabet=st.characters(min_codepoint=33, max_codepoint=126, exclude_characters="/"),
    min_size=1,
    max_size=24,
)
hosts = st.from_regex(r"[a-z][a-z0-9.-]{0,20}(:[0-9]{1,5})?", fullmatch=True)


@given(users, passwords, hosts, st.sampled_from(["postgresql", "postgresql+psycopg", "mysql"]))
def test_redact_hides_exactly_the_password(
    user: str, password: str, host: str, scheme: str
) -> None:
    url = f"{scheme}://{user}:{password}@{host}/quaywatch"
    assert database.redact(url) == f"{scheme}://{user}:***@{host}/quaywatch"


@pytest.mark.parametrize(
    "url",
    [
        "mysql://quaywatch:hunter2@db/x",
        "postgresql://quaywatch:hunter2@db:5432:99/x",
        "postgresql://quaywatch:hunter2@db:notaport/x",
    ],
)
def test_an_unusable_url_is_refused_without_its_password(url: str) -> None:
    with pytest.raises(ConfigurationError) as raised:
        database.make_engine(url)
    assert "hunter2" not in raised.value.message
    assert "quaywatch:***@db" in raised.value.message


def test_the_command_line_never_prints_the_password() -> None:
    for url in ("mysql://quaywatch:hunter2@db/x", "postgresql://quaywatch:hunter2@127.0.0.1:1/x"):
        result = CliRunner().invoke(app, ["--database", url, "db", "status"])
        assert result.exit_code != 0
        assert "hunter2" not in result.output
        assert "Traceback" not in result.output
