"""Changing one's own password, on SQLite and PostgreSQL: the user's other sessions end (one
opened with the old password must not outlive it), and wrong current passwords count
against the same lockout as failed logins (a stolen session cannot guess freely)."""

from __future__ import annotations

import pytest

from quaywatch.errors import AuthenticationError, TooManyAttemptsError
from quaywatch.services import accounts
from quaywatch.services.audit import audit_log
from quaywatch.store.store import Store

OLD, NEW = "the old long password", "the new long password"


def test_a_password_change_ends_the_other_sessions_but_the_one_asking(store: Store) -> None:
    accounts.add_user(store, "ann", roles=["analyst"], password=OLD, actor="root")
    mine = accounts.login(store, "ann", OLD, client="10.0.0.1")
    thief = accounts.login(store, "ann", OLD, client="10.6.6.6")
    accounts.change_password(
        store, "ann", current=OLD, new=NEW, client="10.0.0.1", keep_session=mine.session
    )
    assert accounts.authenticate_session(store, mine.session).principal.name == "ann"
    with pytest.raises(AuthenticationError, match="invalid or expired session"):
        accounts.authenticate_session(store, thief.session)
    changes = [e.details for e in audit_log(store) if e.action == "user_password_change"]
    assert changes == [{"must_change_password": False, "sessions_revoked": 1}]


def test_wrong_current_passwords_lock_the_account_as_failed_logins_do(store: Store) -> None:
    accounts.add_user(store, "ann", roles=["analyst"], password=OLD, actor="root")
    stolen = accounts.login(store, "ann", OLD, client="10.6.6.6")
    for guess in range(4):
        with pytest.raises(AuthenticationError, match="current password is not right"):
            accounts.change_password(store, "ann", current=f"guess {guess}", new=NEW,
                                     client="10.6.6.6", keep_session=stolen.session)  # fmt: skip
    with pytest.raises(AuthenticationError):  # the fifth failure, a login's, locks
        accounts.login(store, "ann", "guess 4", client="10.0.0.9")
    # Locked for the form and the login alike, the right password included.
    with pytest.raises(TooManyAttemptsError, match="for this account"):
        accounts.change_password(store, "ann", current=OLD, new=NEW, client="10.6.6.6")
    with pytest.raises(TooManyAttemptsError, match="for this account"):
        accounts.login(store, "ann", OLD, client="10.0.0.1")
    lockouts = [e for e in audit_log(store) if e.action == "login_lockout"]
    assert [(e.object_type, e.object_id) for e in lockouts] == [("user", "ann")]
    with pytest.raises(TooManyAttemptsError):  # nothing changed: the old password still locked
        accounts.login(store, "ann", NEW, client="10.0.0.2")
