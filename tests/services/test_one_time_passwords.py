"""One-time passwords and the last administrator, on SQLite and PostgreSQL.

An administrator who gives no password gets one generated, returned once; its user logs in
with it into a session that must change it first, and API tokens are not affected. The last
enabled administrator can be neither disabled nor stripped of the role, even by two
administrators disabling each other at the same moment.
"""

from __future__ import annotations

import threading

import pytest

from quaywatch.domain.access import Role
from quaywatch.errors import AuthenticationError, ConflictError, InputError
from quaywatch.services import accounts
from quaywatch.services.audit import audit_log
from quaywatch.store.store import Store

NEW = "my own long password"


def test_a_user_added_without_a_password_gets_a_one_time_one(store: Store) -> None:
    made = accounts.add_user_with_one_time_password(
        store, "Olga", roles=["targeting_officer"], display_name="Olga P", actor="root"
    )
    assert made.user.username == "olga" and made.user.has_password
    assert made.user.must_change_password
    assert len(made.password) == 24
    other = accounts.add_user_with_one_time_password(store, "piet", roles=["analyst"], actor="r")
    assert other.password != made.password  # generated, not a default
    session = accounts.login(store, "olga", made.password, client="t")
    assert session.must_change_password
    assert accounts.authenticate_session(store, session.session).must_change_password
    # An API token is another credential: it works at once.
    token = accounts.create_token(store, "olga", name="script", actor="root")
    assert accounts.authenticate_token(store, token.token).name == "olga"
    event = audit_log(store, limit=3)[-1]
    assert event.action == "user_add" and event.details["one_time_password"] is True
    assert made.password not in str([e.details for e in audit_log(store, limit=10)])


def test_the_user_changes_it_and_then_only_their_own_works(store: Store) -> None:
    made = accounts.add_user_with_one_time_password(store, "olga", roles=["analyst"], actor="r")
    session = accounts.login(store, "olga", made.password, client="t")
    with pytest.raises(AuthenticationError, match="current password is not right"):
        accounts.change_password(store, "olga", current="not it at all", new=NEW, client="test")
    with pytest.raises(InputError, match="must differ from the current one"):
        accounts.change_password(
            store, "olga", current=made.password, new=made.password, client="test"
        )
    with pytest.raises(InputError, match="at least 12 characters"):
        accounts.change_password(store, "olga", current=made.password, new="short", client="test")
    assert accounts.get_user(store, "olga").must_change_password
    changed = accounts.change_password(
        store, "olga", current=made.password, new=NEW, client="test", keep_session=session.session
    )
    assert not changed.must_change_password
    assert not accounts.authenticate_session(store, session.session).must_change_password
    assert not accounts.login(store, "olga", NEW, client="t").must_change_password
    with pytest.raises(AuthenticationError):
        accounts.login(store, "olga", made.password, client="t")
    last = audit_log(store, limit=2)[1]
    assert (last.actor, last.action, last.details) == (
        "olga",
        "user_password_change",
        {"must_change_password": False, "sessions_revoked": 0},
    )


def test_a_reset_without_a_password_makes_a_one_time_one_and_ends_sessions(store: Store) -> None:
    accounts.add_user(store, "tom", roles=["analyst"], password=NEW, actor="root")
    before = accounts.login(store, "tom", NEW, client="t")
    token = accounts.create_token(store, "tom", name="script", actor="root")
    made = accounts.reset_to_one_time_password(store, "TOM", actor="root")
    assert made.user.username == "tom" and made.user.must_change_password
    with pytest.raises(AuthenticationError):
        accounts.authenticate_session(store, before.session)
    assert accounts.authenticate_token(store, token.token).name == "tom"  # tokens unaffected
    assert accounts.login(store, "tom", made.password, client="t").must_change_password
    # A password the administrator sets themselves is not a one-time one.
    assert not accounts.reset_password(store, "tom", "a chosen long password", actor="root")\
        .must_change_password  # fmt: skip


def test_the_last_enabled_administrator_stays_one(store: Store) -> None:
    for name in ("ana", "bob"):
        accounts.add_user(store, name, roles=["admin", "manager"], password=NEW, actor="root")
    accounts.add_user(store, "old", roles=["admin"], password=NEW, actor="root")
    accounts.disable_user(store, "old", actor="ana")  # a disabled admin does not count
    accounts.set_roles(store, "bob", roles=["manager"], actor="ana")
    with pytest.raises(ConflictError, match="ana is the last enabled administrator"):
        accounts.disable_user(store, "ana", actor="root")
    with pytest.raises(ConflictError, match="ana is the last enabled administrator"):
        accounts.set_roles(store, "ana", roles=["manager"], actor="root")
    with pytest.raises(ConflictError, match="ana is the last enabled administrator"):
        accounts.disable_user(store, "ana", actor="ana")  # the reason that helps comes first
    assert accounts.set_roles(store, "ana", roles=["admin"], actor="root").roles == (Role.ADMIN,)
    accounts.enable_user(store, "old", actor="ana")
    assert accounts.disable_user(store, "ana", actor="old").disabled


def test_two_administrators_disabling_each_other_at_once_leave_one(store: Store) -> None:
    survivor = None
    for attempt in range(5):  # each round: two enabled administrators, racing
        a, b = f"a{attempt}", f"b{attempt}"
        for name in (a, b):
            accounts.add_user(store, name, roles=["admin"], password=NEW, actor="root")
        if survivor is not None:
            accounts.disable_user(store, survivor, actor=a)
        start = threading.Barrier(2)
        outcomes: list[str] = []

        def disable(
            target: str, actor: str, start: threading.Barrier = start,
            outcomes: list[str] = outcomes,
        ) -> None:  # fmt: skip
            start.wait()
            try:
                accounts.disable_user(store, target, actor=actor)
                outcomes.append("done")
            except ConflictError as exc:
                outcomes.append(exc.message)

        threads = [threading.Thread(target=disable, args=pair) for pair in ((a, b), (b, a))]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
        admins = [u.username for u in accounts.list_users(store)
                  if Role.ADMIN in u.roles and not u.disabled]  # fmt: skip
        assert len(admins) == 1, outcomes
        (survivor,) = admins
        assert sorted(outcomes, key=len) == [
            "done", f"{survivor} is the last enabled administrator: make another user an "
            "administrator first",
        ]  # fmt: skip
