"""services.accounts on both backends: users, tokens, logins, sessions, rate limits, audit.

argon2 hashing is slow by design (about 0.1 s a hash or a check): tests with a password use
few of them; token tests use machine accounts, which have none.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st
from typer.testing import CliRunner

from quaywatch.cli.app import app
from quaywatch.domain.access import Permission, Role
from quaywatch.errors import (
    AuthenticationError,
    ConflictError,
    InputError,
    NotFoundError,
    PermissionDeniedError,
    TooManyAttemptsError,
)
from quaywatch.services import accounts, exchange as ex
from quaywatch.services.audit import audit_log, verify_audit
from quaywatch.store.store import Store

PASSWORD = "correct horse battery"
T0 = datetime(2026, 12, 1, 8, 0, tzinfo=UTC)
TOKEN_FORMAT = re.compile(r"qw_[0-9a-f]{12}_[A-Za-z0-9_-]{43}")
fixture_settings = settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


def machine(store: Store, name: str = "pcs-feed", *roles: Role) -> accounts.User:
    return accounts.add_user(store, name, roles=roles or (Role.FEED,), actor="admin")


def events(store: Store) -> list[tuple[str, str, str]]:
    """(actor, action, object id) of every audit event, oldest first."""
    return [(e.actor, e.action, e.object_id) for e in reversed(audit_log(store, limit=1000))]


# --- users ----------------------------------------------------------------------------------


def test_add_get_and_list_users_without_their_hashes(store: Store) -> None:
    alice = accounts.add_user(
        store, " Alice ", roles=["inspector", Role.ANALYST], password=PASSWORD,
        display_name="Alice [b]Martens[/b]", terminals=["MPET", "PSA", "MPET"], actor="root",
    )  # fmt: skip
    assert (alice.username, alice.display_name) == ("alice", "Alice [b]Martens[/b]")
    assert alice.roles == (Role.ANALYST, Role.INSPECTOR) and alice.terminals == ("MPET", "PSA")
    assert alice.has_password and not alice.disabled and alice.password_changed_at is not None
    feed = machine(store)
    assert not feed.has_password and feed.display_name == "pcs-feed"
    assert feed.password_changed_at is None
    assert [u.username for u in accounts.list_users(store)] == ["alice", "pcs-feed"]
    assert accounts.get_user(store, "ALICE") == alice
    assert not any("hash" in name for name in accounts.User.__dataclass_fields__)
    with pytest.raises(ConflictError, match="user alice already exists"):
        accounts.add_user(store, "ALICE", roles=["manager"], actor="root")
    with pytest.raises(NotFoundError, match="no user 'bob'"):
        accounts.get_user(store, "bob")
    assert events(store) == [("root", "user_add", "alice"), ("admin", "user_add", "pcs-feed")]
    detail = audit_log(store, limit=2)[1].details
    assert detail == {"display_name": "Alice [b]Martens[/b]", "roles": ["analyst", "inspector"],
                      "terminals": ["MPET", "PSA"], "password": True}  # fmt: skip
    assert verify_audit(store).events == 2


@pytest.mark.parametrize(
    ("username", "changes", "message"),
    [
        ("a", {}, "username must be 2 to 64 characters"),
        ("al ice", {}, "username must be 2 to 64 characters"),
        ("x" * 65, {}, "username must be 2 to 64 characters"),
        ("alice", {"roles": ["boss"]}, "roles: unknown role 'boss'; the roles are analyst, "
         "targeting_officer, inspector, manager, partner_liaison, admin, feed"),
        ("alice", {"roles": []}, "roles: give at least one role"),
        ("alice", {"password": "short-pass"}, "password must have at least 12 characters"),
        ("alice", {"password": "x" * 1025}, "password must have at most 1024 characters"),
        ("alice.martens", {"password": "Alice.Martens"}, "password must not be the username"),
        ("alice", {"terminals": ["MP ET"]}, "terminals: 'MP ET' is not a terminal code"),
        ("alice", {"terminals": ["T" * 17]}, "is not a terminal code"),
        ("alice", {"display_name": "x" * 129}, "display_name must be at most 128"),
    ],
)  # fmt: skip
def test_add_user_names_the_field_it_cannot_use(
    store: Store, username: str, changes: dict[str, object], message: str
) -> None:
    arguments: dict[str, object] = {"roles": ["analyst"], **changes}
    with pytest.raises(InputError, match=re.escape(message)):
        accounts.add_user(store, username, actor="root", **arguments)  # type: ignore[arg-type]
    assert accounts.list_users(store) == () and verify_audit(store).events == 0


def test_disable_revokes_tokens_and_sessions_and_enable_revives_neither(store: Store) -> None:
    accounts.add_user(store, "ines", roles=["inspector"], password=PASSWORD, actor="root")
    issued = accounts.create_token(store, "ines", name="tablet", actor="root")
    opened = accounts.login(store, "ines", PASSWORD, client="10.0.0.1")
    assert accounts.disable_user(store, "Ines", actor="root").disabled
    with pytest.raises(AuthenticationError, match="invalid or expired token"):
        accounts.authenticate_token(store, issued.token)
    with pytest.raises(AuthenticationError, match="invalid or expired session"):
        accounts.authenticate_session(store, opened.session)
    with pytest.raises(AuthenticationError, match="invalid username or password"):
        accounts.login(store, "ines", PASSWORD, client="10.0.0.1")  # the right password
    with pytest.raises(ConflictError, match="user ines is disabled"):
        accounts.create_token(store, "ines", name="another", actor="root")
    with pytest.raises(ConflictError, match="user ines is already disabled"):
        accounts.disable_user(store, "ines", actor="root")

    assert not accounts.enable_user(store, "ines", actor="root").disabled
    with pytest.raises(AuthenticationError):
        accounts.authenticate_token(store, issued.token)
    assert accounts.list_tokens(store, "ines")[0].state() == "revoked"
    with pytest.raises(ConflictError, match="user ines is already enabled"):
        accounts.enable_user(store, "ines", actor="root")
    disabled = audit_log(store, limit=2)[1]
    assert (disabled.action, disabled.details) == (
        "user_disable",
        {"api_tokens_revoked": 1, "sessions_revoked": 1},
    )
    # add, token, login, disable, enable: the failed login is not an audit event
    assert [e[1] for e in events(store)] == [
        "user_add", "token_create", "login", "user_disable", "user_enable"
    ]  # fmt: skip
    assert verify_audit(store).events == 5


def test_reset_password_ends_sessions_and_checks_the_policy(store: Store) -> None:
    accounts.add_user(
        store, "targeting.tom", roles=["targeting_officer"], password=PASSWORD, actor="root"
    )
    before = accounts.login(store, "targeting.tom", PASSWORD, client="10.0.0.2")
    with pytest.raises(InputError, match="password must not be the username"):
        accounts.reset_password(store, "targeting.tom", "Targeting.Tom", actor="root")
    with pytest.raises(NotFoundError, match="no user 'tim'"):
        accounts.reset_password(store, "tim", "a long new password", actor="root")
    accounts.reset_password(store, "targeting.tom", "a long new password", actor="root")
    with pytest.raises(AuthenticationError):
        accounts.authenticate_session(store, before.session)
    with pytest.raises(AuthenticationError, match="invalid username or password"):
        accounts.login(store, "targeting.tom", PASSWORD, client="10.0.0.2")
    assert accounts.login(
        store, "targeting.tom", "a long new password", client="10.0.0.2"
    ).principal
    reset = [e for e in audit_log(store) if e.action == "user_password_reset"]
    assert [(e.actor, e.details) for e in reset] == [
        ("root", {"sessions_revoked": 1, "must_change_password": False})
    ]
    trail = str([e.details for e in audit_log(store)])
    assert PASSWORD not in trail and "a long new password" not in trail and "argon2" not in trail


def test_set_roles_narrows_the_tokens_of_the_user(store: Store) -> None:
    machine(store, "lab", Role.ANALYST, Role.TARGETING_OFFICER)
    issued = accounts.create_token(store, "lab", name="scripts", actor="root")
    assert issued.info.roles == (Role.ANALYST, Role.TARGETING_OFFICER)
    changed = accounts.set_roles(store, "lab", roles=["analyst", "inspector"], actor="root")
    assert changed.roles == (Role.ANALYST, Role.INSPECTOR) and changed.terminals == ()
    principal = accounts.authenticate_token(store, issued.token)
    assert principal.roles == {Role.ANALYST}  # the token never carried inspector
    with pytest.raises(PermissionDeniedError, match=r"lab \(analyst\) may not selection:run"):
        principal.require(Permission.SELECTION_RUN)
    placed = accounts.set_roles(store, "lab", roles=["inspector"], terminals=["PSA"], actor="x")
    assert placed.terminals == ("PSA",)
    assert accounts.set_roles(store, "lab", roles=["inspector"], actor="x").terminals == ("PSA",)
    assert audit_log(store, limit=1)[0].details == {"roles": ["inspector"]}


def test_an_administrator_cannot_lock_themselves_out(store: Store) -> None:
    machine(store, "root", Role.ADMIN, Role.MANAGER)
    machine(store, "other", Role.ADMIN)
    machine(store, "spare", Role.ADMIN)  # so that neither is the last administrator
    with pytest.raises(ConflictError, match="root cannot disable their own account"):
        accounts.disable_user(store, "ROOT", actor="root")
    with pytest.raises(ConflictError, match=r"root cannot take account:manage \(the role admin\)"):
        accounts.set_roles(store, "root", roles=["manager"], actor="root")
    assert accounts.get_user(store, "root").roles == (Role.MANAGER, Role.ADMIN)
    assert [e[1] for e in events(store)] == ["user_add"] * 3  # nothing was written
    # Keeping admin while changing the rest is their own business; others may do the rest.
    assert accounts.set_roles(store, "root", roles=["admin"], actor="root").roles == (Role.ADMIN,)
    assert accounts.set_roles(store, "root", roles=["manager"], actor="other").roles == (
        Role.MANAGER,
    )
    assert accounts.disable_user(store, "other", actor="root").disabled
    # Someone without account:manage may take roles they hold from themselves (a script's
    # operator): the rule only keeps a manager of accounts from losing that.
    assert accounts.set_roles(store, "root", roles=["analyst"], actor="root").roles == (
        Role.ANALYST,
    )


def test_the_overview_gives_last_logins_and_live_tokens(store: Store) -> None:
    accounts.add_user(store, "ines", roles=["inspector"], password=PASSWORD, actor="root")
    machine(store)
    live = accounts.create_token(store, "pcs-feed", name="live", actor="root", now=T0)
    accounts.create_token(store, "pcs-feed", name="short", expires_in_days=1, actor="root", now=T0)
    gone = accounts.create_token(store, "pcs-feed", name="gone", actor="root", now=T0)
    accounts.revoke_token(store, gone.info.token_id, actor="root", now=T0)
    first = accounts.login(store, "ines", PASSWORD, client="10.0.0.1", now=T0)
    accounts.login(store, "ines", PASSWORD, client="10.0.0.1", now=T0 + timedelta(hours=2))
    accounts.logout(store, first.session, now=T0 + timedelta(hours=3))
    later = T0 + timedelta(days=2)
    assert [(a.user.username, a.last_login, a.active_tokens)
            for a in accounts.account_overview(store, now=later)] == [
        ("ines", T0 + timedelta(hours=2), 0), ("pcs-feed", None, 1),
    ]  # fmt: skip
    (one,) = accounts.account_overview(store, "PCS-FEED", now=T0)
    assert one.active_tokens == 2 and one.user == accounts.get_user(store, "pcs-feed")
    assert live.info.state(later) == "active"
    with pytest.raises(NotFoundError, match="no user 'nobody'"):
        accounts.account_overview(store, "nobody")


# --- tokens ---------------------------------------------------------------------------------


def test_token_lifecycle(store: Store) -> None:
    machine(store, "ines", Role.INSPECTOR, Role.ANALYST)
    accounts.set_roles(store, "ines", roles=["inspector", "analyst"], terminals=["MPET"],
                       actor="root")  # fmt: skip
    issued = accounts.create_token(
        store, "ines", name="tablet", roles=["inspector"], expires_in_days=30, actor="root", now=T0
    )
    assert TOKEN_FORMAT.fullmatch(issued.token)
    info = issued.info
    assert (info.username, info.name, info.roles) == ("ines", "tablet", (Role.INSPECTOR,))
    assert info.expires_at == T0 + timedelta(days=30) and info.state(T0) == "active"
    assert issued.token.split("_")[1] == info.token_id

    principal = accounts.authenticate_token(store, issued.token, now=T0 + timedelta(hours=1))
    assert (principal.name, principal.roles, principal.token_id) == (
        "ines", {Role.INSPECTOR}, info.token_id
    )  # fmt: skip
    principal.require_terminal(Permission.ORDER_WORK, "MPET")
    with pytest.raises(PermissionDeniedError, match="at terminal PSA"):
        principal.require_terminal(Permission.ORDER_WORK, "PSA")
    with pytest.raises(PermissionDeniedError):
        principal.require(Permission.ASSESSMENT_READ)  # analyst is the user's, not the token's

    # The last use is written at most once a minute.
    accounts.authenticate_token(store, issued.token, now=T0 + timedelta(hours=1, seconds=30))
    (listed,) = accounts.list_tokens(store)
    assert listed.last_used_at == T0 + timedelta(hours=1)
    accounts.authenticate_token(store, issued.token, now=T0 + timedelta(hours=1, minutes=2))
    assert accounts.list_tokens(store, "INES")[0].last_used_at == T0 + timedelta(hours=1, minutes=2)

    with pytest.raises(AuthenticationError, match="^invalid or expired token$"):
        accounts.authenticate_token(store, issued.token, now=info.expires_at)
    assert listed.state(info.expires_at) == "expired"
    secret = issued.token[-43:]
    tampered = issued.token[:-43] + ("A" if secret[0] != "A" else "B") + secret[1:]
    with pytest.raises(AuthenticationError, match="^invalid or expired token$"):
        accounts.authenticate_token(store, tampered, now=T0)
    other_id = "qw_" + ("0" * 12 if info.token_id != "0" * 12 else "1" * 12) + "_" + secret
    with pytest.raises(AuthenticationError, match="^invalid or expired token$"):
        accounts.authenticate_token(store, other_id, now=T0)

    revoked = accounts.revoke_token(store, info.token_id.upper(), actor="root", now=T0)
    assert revoked.revoked_at == T0 and revoked.state() == "revoked"
    with pytest.raises(AuthenticationError, match="^invalid or expired token$"):
        accounts.authenticate_token(store, issued.token, now=T0 + timedelta(hours=2))
    with pytest.raises(ConflictError, match=f"token {info.token_id} was revoked already"):
        accounts.revoke_token(store, issued.token, actor="root")  # the whole token names it too
    with pytest.raises(NotFoundError, match="no token 'abc'"):
        accounts.revoke_token(store, "abc", actor="root")
    assert [e[1:] for e in events(store)][-2:] == [
        ("token_create", info.token_id), ("token_revoke", info.token_id)
    ]  # fmt: skip
    assert verify_audit(store).events == 4  # add, roles, create, revoke


def test_create_token_checks_its_arguments(store: Store) -> None:
    machine(store, "pcs", Role.FEED)
    with pytest.raises(InputError, match=r"roles: pcs does not hold analyst; .* \(feed\)"):
        accounts.create_token(store, "pcs", name="x", roles=["analyst"], actor="root")
    with pytest.raises(InputError, match="roles: unknown role 'god'"):
        accounts.create_token(store, "pcs", name="x", roles=["god"], actor="root")
    for days in (0, 366):
        with pytest.raises(InputError, match=f"expires_in_days must be 1 to 365, got {days}"):
            accounts.create_token(store, "pcs", name="x", expires_in_days=days, actor="root")
    with pytest.raises(InputError, match="name must be 1 to 128 printable characters"):
        accounts.create_token(store, "pcs", name="  ", actor="root")
    with pytest.raises(NotFoundError, match="no user 'nobody'"):
        accounts.create_token(store, "nobody", name="x", actor="root")
    with pytest.raises(NotFoundError, match="no user 'nobody'"):
        accounts.list_tokens(store, "nobody")
    longest = accounts.create_token(store, "pcs", name="x", expires_in_days=365, actor="r", now=T0)
    assert longest.info.expires_at == T0 + timedelta(days=365)
    assert len(accounts.list_tokens(store)) == 1


@given(presented=st.text(max_size=120) | st.from_regex(TOKEN_FORMAT, fullmatch=True)
       | st.builds(lambda s: "qw_" + s, st.text(max_size=80)))  # fmt: skip
def test_parse_token_raises_only_authentication_errors(presented: str) -> None:
    try:
        token_id, secret = accounts.parse_token(presented)
    except AuthenticationError as exc:
        assert exc.message == "invalid or expired token"
    else:
        assert presented == f"qw_{token_id}_{secret}"


@fixture_settings
@given(presented=st.text(max_size=120) | st.from_regex(TOKEN_FORMAT, fullmatch=True))
def test_authenticate_token_raises_only_authentication_errors(store: Store, presented: str) -> None:
    with pytest.raises(AuthenticationError, match="^invalid or expired token$"):
        accounts.authenticate_token(store, presented)


# --- logins and sessions --------------------------------------------------------------------


def test_login_session_csrf_and_logout(store: Store) -> None:
    accounts.add_user(store, "ann", roles=["analyst"], password=PASSWORD, actor="root")
    opened = accounts.login(store, " ANN ", PASSWORD, client="192.0.2.7", now=T0)
    assert opened.expires_at == T0 + timedelta(hours=8)
    assert (opened.principal.name, opened.principal.roles) == ("ann", {Role.ANALYST})
    assert opened.principal.token_id is None and opened.session != opened.csrf_token

    found = accounts.authenticate_session(store, opened.session, now=T0 + timedelta(minutes=5))
    assert found.principal == opened.principal and found.expires_at == opened.expires_at
    assert found.csrf_token == opened.csrf_token and found.csrf_ok(opened.csrf_token)
    for wrong in (None, "", opened.csrf_token[:-1], opened.csrf_token.upper(), "é" * 64, "\ud800"):
        assert not found.csrf_ok(wrong)
    other = accounts.login(store, "ann", PASSWORD, client="192.0.2.7", now=T0)
    assert other.session != opened.session and other.csrf_token != opened.csrf_token

    accounts.logout(store, opened.session)
    with pytest.raises(AuthenticationError, match="invalid or expired session; log in again"):
        accounts.authenticate_session(store, opened.session, now=T0 + timedelta(minutes=6))
    accounts.logout(store, opened.session)  # again: nothing happens
    accounts.logout(store, "not a session")
    assert accounts.authenticate_session(store, other.session, now=T0).principal.name == "ann"
    assert events(store) == [
        ("root", "user_add", "ann"), ("ann", "login", "ann"), ("ann", "login", "ann"),
        ("ann", "logout", "ann"),
    ]  # fmt: skip
    assert audit_log(store, limit=4)[2].details == {"client": "192.0.2.7", "rehashed": False}
    assert verify_audit(store).events == 4


def test_unknown_user_wrong_password_and_machine_account_read_the_same(store: Store) -> None:
    accounts.add_user(store, "ann", roles=["analyst"], password=PASSWORD, actor="root")
    machine(store, "pcs")
    messages = set()
    for username, password in (("ann", "wrong password!"), ("nobody", PASSWORD),
                               ("pcs", PASSWORD), ("x\x00\ud800" * 100, "\x00")):  # fmt: skip
        with pytest.raises(AuthenticationError) as failed:
            accounts.login(store, username, password, client="\x00" + "9" * 100)
        messages.add(failed.value.message)
    assert messages == {"invalid username or password"}
    assert [e[1] for e in events(store)] == ["user_add", "user_add"]  # failures are not audited


@pytest.mark.parametrize("value", ["", "short", "x" * 43 + "=", "é" * 43, "a" * 44, "a" * 42])
def test_a_malformed_session_is_refused(store: Store, value: str) -> None:
    with pytest.raises(AuthenticationError, match="invalid or expired session"):
        accounts.authenticate_session(store, value)
    with pytest.raises(AuthenticationError, match="invalid or expired session"):
        accounts.authenticate_session(store, "A" * 43)  # well formed, unknown


def test_a_session_ends_after_an_idle_hour_or_eight_hours(store: Store) -> None:
    accounts.add_user(store, "ann", roles=["manager"], password=PASSWORD, actor="root")
    idle = accounts.login(store, "ann", PASSWORD, client="c", now=T0)
    busy = accounts.login(store, "ann", PASSWORD, client="c", now=T0)
    accounts.authenticate_session(store, idle.session, now=T0 + timedelta(minutes=59))
    with pytest.raises(AuthenticationError):  # 61 minutes after its last use
        accounts.authenticate_session(store, idle.session, now=T0 + timedelta(minutes=120))
    moment = T0
    while moment + timedelta(minutes=50) < T0 + timedelta(hours=8):
        moment += timedelta(minutes=50)
        accounts.authenticate_session(store, busy.session, now=moment)
    with pytest.raises(AuthenticationError):
        accounts.authenticate_session(store, busy.session, now=T0 + timedelta(hours=8))


def test_failed_logins_lock_the_account_until_the_window_passes(store: Store) -> None:
    accounts.add_user(store, "ann", roles=["analyst"], password=PASSWORD, actor="root")
    t0 = datetime.now(UTC) + timedelta(hours=1)  # after the password was set: see the next test
    for i in range(5):
        with pytest.raises(AuthenticationError):
            accounts.login(store, "Ann", "not the password", client=f"10.0.0.{i}",
                           now=t0 + timedelta(seconds=i))  # fmt: skip
    # Locked for everyone, the right password included, before it is even checked.
    with pytest.raises(
        TooManyAttemptsError, match="for this account; try again in 890 seconds"
    ) as e:
        accounts.login(store, "ann", PASSWORD, client="10.9.9.9", now=t0 + timedelta(seconds=10))
    assert e.value.retry_after_s == 890 and e.value.status == 429
    # The oldest failure leaves the window: four remain, one more attempt may be made.
    opened = accounts.login(store, "ann", PASSWORD, client="10.9.9.9",
                            now=t0 + timedelta(minutes=15, seconds=1))  # fmt: skip
    assert opened.principal.name == "ann"
    lockouts = [e for e in audit_log(store) if e.action == "login_lockout"]
    assert [(e.actor, e.object_type, e.object_id, e.details) for e in lockouts] == [
        ("10.0.0.4", "user", "ann", {"client": "10.0.0.4", "failures": 5, "window_s": 900})
    ]
    assert verify_audit(store).events == 3  # add, lockout, login


def test_a_password_reset_lifts_a_lockout_and_unknown_names_lock_alike(store: Store) -> None:
    accounts.add_user(store, "ann", roles=["analyst"], password=PASSWORD, actor="root")
    moment = datetime.now(UTC)
    for username in ("ann", "ghost"):
        for i in range(5):
            with pytest.raises(AuthenticationError):
                accounts.login(store, username, "not the password", client=f"c{i}", now=moment)
        with pytest.raises(TooManyAttemptsError, match="for this account"):
            accounts.login(store, username, PASSWORD, client="c", now=moment)
    accounts.reset_password(store, "ann", "another long password", actor="root")
    after = moment + timedelta(seconds=5)
    assert accounts.login(store, "ann", "another long password", client="c", now=after).session
    with pytest.raises(TooManyAttemptsError):
        accounts.login(store, "ghost", PASSWORD, client="c", now=after)


@pytest.mark.slow  # twenty password checks on each backend
def test_failed_logins_lock_the_client_whatever_the_usernames(store: Store) -> None:
    accounts.add_user(store, "ann", roles=["analyst"], password=PASSWORD, actor="root")
    for i in range(20):
        with pytest.raises(AuthenticationError):
            accounts.login(store, f"guess{i}", PASSWORD, client="203.0.113.9",
                           now=T0 + timedelta(seconds=i))  # fmt: skip
    with pytest.raises(TooManyAttemptsError, match="for this client; try again in 880 seconds"):
        accounts.login(store, "ann", PASSWORD, client="203.0.113.9", now=T0 + timedelta(seconds=20))
    assert accounts.login(store, "ann", PASSWORD, client="198.51.100.1", now=T0).session
    lockouts = [
        (e.object_type, e.object_id) for e in audit_log(store) if e.action == "login_lockout"
    ]
    assert lockouts == [("client", "203.0.113.9")]


def test_the_demo_account(store: Store) -> None:
    account = accounts.ensure_demo_user(store, actor="demo-run", terminals=("MPET", "PSA"))
    assert account == ("demo", "demo-password-not-for-production")
    demo = accounts.get_user(store, "demo")
    assert demo.display_name == "DEMO ACCOUNT - not for production"
    assert Role.ADMIN not in demo.roles and set(demo.roles) == set(Role) - {Role.ADMIN}
    principal = accounts.login(store, *account, client="127.0.0.1").principal
    principal.require_terminal(Permission.ORDER_WORK, "PSA")
    with pytest.raises(PermissionDeniedError):
        principal.require(Permission.ACCOUNT_MANAGE)
    assert accounts.ensure_demo_user(store, actor="demo-run") == account
    assert [e[1] for e in events(store)] == ["user_add", "login"]  # created once


def test_a_partner_node_token_is_bound_to_a_registered_partner_not_revoked(
    store: Store, tmp_path: Path
) -> None:
    accounts.add_user(store, "beanr-node", roles=[Role.PARTNER_NODE], actor="admin")
    with pytest.raises(InputError, match="BEANR is not a registered partner") as unknown:
        accounts.create_token(store, "beanr-node", name="push", partner="beanr", actor="admin")
    assert unknown.value.code is not None and unknown.value.params == {"code": "BEANR"}
    beanr = Store.open(f"sqlite:///{tmp_path / 'beanr.db'}")
    ex.generate_keys(beanr, tmp_path / "BEANR", "BEANR", actor="liaison")
    ex.export_root(beanr, tmp_path / "BEANR.root")
    beanr.close()
    ex.add_partner(store, tmp_path / "BEANR.root", actor="liaison")
    issued = accounts.create_token(store, "beanr-node", name="push", partner="beanr",
                                   actor="admin")  # fmt: skip
    assert issued.info.partner == "BEANR"
    ex.revoke(store, "BEANR", reason="trust withdrawn", actor="liaison")
    with pytest.raises(ConflictError, match="BEANR was revoked on .*; a revoked partner gets no"):
        accounts.create_token(store, "beanr-node", name="push", partner="BEANR", actor="admin")
    assert [t.partner for t in accounts.list_tokens(store, "beanr-node")] == ["BEANR"]


def test_the_cli_says_why_a_partner_gets_no_token(store_url: str) -> None:
    store = Store.open(store_url)
    accounts.add_user(store, "deham-node", roles=[Role.PARTNER_NODE], actor="admin")
    store.close()
    result = CliRunner().invoke(app, [
        "--database", store_url, "tokens", "create", "deham-node", "--name", "push",
        "--partner", "DEHAM",
    ], env={"QUAYWATCH_ACTOR": "admin"})  # fmt: skip
    assert result.exit_code != 0
    assert "DEHAM is not a registered partner" in result.output
    assert "Traceback" not in result.output
