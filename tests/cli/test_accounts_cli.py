"""`quaywatch users` and `quaywatch tokens` through typer's runner, on a SQLite store.

The service is tested on both backends in tests/services/test_accounts.py; these tests check
what the operator types and sees: prompts, exit codes, escaping, a token printed once.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from quaywatch.cli import app
from quaywatch.domain.access import Role
from quaywatch.services import accounts
from quaywatch.services.audit import audit_log
from quaywatch.store.store import Store

PASSWORD = "correct horse battery"
runner = CliRunner()


@pytest.fixture
def url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'accounts.db'}"


def run(url: str, *args: str, input: str | None = None, actor: str = "ops") -> Result:
    result = runner.invoke(
        app, ["--database", url, *args], input=input, env={"QUAYWATCH_ACTOR": actor}
    )
    assert "Traceback" not in result.output
    return result


def opened(url: str) -> Store:
    return Store.open(url)


def test_users_add_list_disable_enable(url: str) -> None:
    done = run(url, "users", "add", "Alice", "--role", "inspector", "--role", "analyst",
               "--terminal", "MPET", "--display-name", "Alice [red]M[/red]",
               input=f"{PASSWORD}\n{PASSWORD}\n")  # fmt: skip
    assert done.exit_code == 0, done.output
    assert "Password: \nRepeat for confirmation: \n" in done.output  # asked twice
    assert PASSWORD not in done.output  # and never shown
    assert "added user alice (analyst, inspector, terminals MPET; enabled)" in done.output
    done = run(url, "users", "add", "pcs-feed", "--role", "feed", "--no-password")
    assert done.exit_code == 0 and "added user pcs-feed (feed; enabled)" in done.output

    listed = run(url, "users", "list")
    assert listed.exit_code == 0
    assert "Alice [red]M[/red]" in listed.output  # data printed as it is, not as markup
    assert re.search(r"│ pcs-feed\s*│.*│ no \(tokens only\)\s*│ enabled", listed.output)

    assert "disabled alice" in run(url, "users", "disable", "alice").output
    again = run(url, "users", "disable", "alice")
    assert again.exit_code == 2 and "user alice is already disabled" in again.output
    assert "enabled alice" in run(url, "users", "enable", "ALICE").output
    store = opened(url)
    assert {(e.actor, e.action) for e in audit_log(store)} == {
        ("ops", "user_add"), ("ops", "user_disable"), ("ops", "user_enable")
    }  # fmt: skip
    assert accounts.login(store, "alice", PASSWORD, client="test").principal.name == "alice"
    store.close()


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        (["users", "add", "bob", "--role", "boss", "--no-password"], 2,
         "roles: unknown role 'boss'; the roles are analyst, targeting_officer"),
        (["users", "add", "b", "--role", "analyst", "--no-password"], 2,
         "username must be 2 to 64 characters"),
        (["users", "add", "bob", "--role", "feed", "--no-password", "--password-stdin"], 2,
         "--no-password and --password-stdin exclude each other"),
        (["users", "disable", "nobody"], 3, "no user 'nobody'"),
        (["users", "reset", "nobody"], 3, "no user 'nobody'"),  # told before any prompt
        (["tokens", "create", "nobody", "--name", "x"], 3, "no user 'nobody'"),
        (["tokens", "revoke", "0123456789ab"], 3, "no token '0123456789ab'"),
    ],
)  # fmt: skip
def test_errors_are_messages_with_exit_codes(
    url: str, args: list[str], code: int, message: str
) -> None:
    done = run(url, *args)
    assert done.exit_code == code and message in done.output
    assert "Password" not in done.output


def test_a_short_password_from_stdin_is_refused(url: str) -> None:
    done = run(url, "users", "add", "bob", "--role", "analyst", "--password-stdin", input="short\n")
    assert done.exit_code == 2 and "password must have at least 12 characters" in done.output


def test_users_reset_and_roles(url: str) -> None:
    run(url, "users", "add", "tom", "--role", "analyst", "--password-stdin", input=f"{PASSWORD}\n")
    done = run(url, "users", "reset", "tom", "--password-stdin", input="another long password\n")
    assert done.exit_code == 0 and "new password set for tom" in done.output
    done = run(url, "users", "roles", "tom", "--role", "inspector", "--terminal", "PSA")
    assert (
        done.exit_code == 0 and "roles set: tom (inspector, terminals PSA; enabled)" in done.output
    )
    store = opened(url)
    principal = accounts.login(store, "tom", "another long password", client="t").principal
    assert principal.roles == {Role.INSPECTOR} and principal.terminals == {"PSA"}
    store.close()


def test_tokens_create_list_revoke(url: str) -> None:
    run(url, "users", "add", "pcs", "--role", "feed", "--role", "analyst", "--no-password")
    created = run(url, "tokens", "create", "pcs", "--name", "PCS [b]feed[/b]", "--role", "feed",
                  "--expires-days", "30")  # fmt: skip
    assert created.exit_code == 0, created.output
    token = created.stdout.strip()
    assert re.fullmatch(r"qw_[0-9a-f]{12}_[A-Za-z0-9_-]{43}", token)  # alone on stdout
    assert "cannot be shown again" in created.stderr and token not in created.stderr
    token_id = token.split("_")[1]
    store = opened(url)
    principal = accounts.authenticate_token(store, token)
    assert (principal.name, principal.roles) == ("pcs", {Role.FEED})

    listed = run(url, "tokens", "list", "pcs")
    assert listed.exit_code == 0 and token_id in listed.output
    assert token[-43:] not in listed.output and "PCS [b]feed[/b]" in listed.output
    assert re.search(rf"│ {token_id}\s*│ pcs\s*│.*│ active\s*│", listed.output)

    revoked = run(url, "tokens", "revoke", token_id)
    assert revoked.exit_code == 0 and f"revoked token {token_id} (PCS [b]feed[/b]) of pcs" in (
        revoked.output
    )
    assert re.search(r"│ revoked\s*│", run(url, "tokens", "list").output)
    again = run(url, "tokens", "revoke", token_id)
    assert again.exit_code == 2 and "was revoked already" in again.output
    bad = run(url, "tokens", "create", "pcs", "--name", "x", "--expires-days", "400")
    assert bad.exit_code == 2 and "expires_in_days must be 1 to 365, got 400" in bad.output
    assert [(e.actor, e.action) for e in audit_log(store, limit=2)] == [
        ("ops", "token_revoke"), ("ops", "token_create")
    ]  # fmt: skip
    store.close()


def test_users_add_and_reset_with_a_one_time_password(url: str) -> None:
    added = run(url, "users", "add", "olga", "--role", "analyst", "--one-time-password")
    assert added.exit_code == 0, added.output
    assert "One-time password follows" in added.output
    first = added.stdout.strip().splitlines()[-1]
    assert re.fullmatch(r"[A-Za-z0-9_-]{24}", first)
    store = opened(url)
    assert accounts.login(store, "olga", first, client="t").must_change_password
    store.close()
    reset = run(url, "users", "reset", "olga", "--one-time-password")
    assert reset.exit_code == 0 and "new password set for olga" in reset.output
    second = reset.stdout.strip().splitlines()[-1]
    assert re.fullmatch(r"[A-Za-z0-9_-]{24}", second) and second != first
    both = run(url, "users", "add", "x1", "--role", "analyst", "--one-time-password",
               "--no-password")  # fmt: skip
    assert both.exit_code == 2 and "--one-time-password excludes" in both.output
    store = opened(url)
    assert accounts.login(store, "olga", second, client="t").must_change_password
    store.close()
