"""Users and their passwords: add, list, disable, enable, reset, set roles; the demo account.

Also the checks and lookups that tokens and sessions share (usernames, roles, password
hashing, a user's principal). The package docstring gives the decisions.
"""

from __future__ import annotations

import hashlib
import re
import secrets
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from typing import Any, NamedTuple

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import Connection, Row, insert, select, update

from quaywatch.audit import chain
from quaywatch.domain.access import Permission, Principal, Role
from quaywatch.errors import AuthenticationError, ConflictError, InputError, NotFoundError, said
from quaywatch.services.accounts.attempts import check_rate, record_attempt, typed_text
from quaywatch.services.arguments import require_aware
from quaywatch.store import tables
from quaywatch.store.store import Store

MIN_PASSWORD = 12
#: Random bytes of a generated one-time password (shown as 24 URL-safe characters).
ONE_TIME_BYTES = 18
#: Longer passwords are refused: hashing megabytes at each login attempt is a denial of service.
MAX_PASSWORD = 1024

DEMO_USERNAME = "demo"
DEMO_PASSWORD = "demo-password-not-for-production"
DEMO_DISPLAY_NAME = "DEMO ACCOUNT - not for production"
DEMO_ROLES = tuple(r for r in Role if r is not Role.ADMIN)

_USERNAME = re.compile(r"[a-z0-9._-]{2,64}")
_TERMINAL = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,15}")
_U, _T, _S = tables.users, tables.api_tokens, tables.sessions
_HASHER = PasswordHasher()


@dataclass(frozen=True, slots=True)
class User:
    """A user as others may see it: never a password hash."""

    user_id: str
    username: str
    display_name: str
    roles: tuple[Role, ...]
    terminals: tuple[str, ...]
    has_password: bool
    disabled: bool
    created_at: datetime
    updated_at: datetime
    password_changed_at: datetime | None
    language: str | None = None
    #: Its password was generated (a one-time password): it must be replaced at login.
    must_change_password: bool = False


@dataclass(frozen=True, slots=True)
class OneTimePassword:
    """A user and the password generated for them: shown once to the administrator, who
    hands it over; the user must replace it when they first log in with it."""

    user: User
    password: str


class DemoAccount(NamedTuple):
    """The demo's login, printed by ``quaywatch demo``."""

    username: str
    password: str


# --- shared by users, tokens and sessions --------------------------------------------------


def now_or(now: datetime | None) -> datetime:
    """``now`` (which must be timezone-aware) or the current time."""
    require_aware("now", now)
    return now if now is not None else tables.utcnow()


def sha256_hex(text: str) -> str:
    """The SHA-256 of ``text`` (UTF-8), in hex: how token and session secrets are stored."""
    return hashlib.sha256(text.encode()).hexdigest()


def parse_roles(values: Iterable[str | Role]) -> tuple[Role, ...]:
    """Role names as roles, in ``Role`` order; ``InputError`` naming ``roles`` otherwise."""
    if isinstance(values, str):
        values = [values]
    found: set[Role] = set()
    for value in values:
        try:
            found.add(Role(str(value).strip().lower()))
        except ValueError:
            raise InputError(
                said(
                    "roles: unknown role %(role)s; the roles are %(roles)s",
                    role=repr(value),
                    roles=", ".join(Role),
                )
            ) from None
    if not found:
        raise InputError(said("roles: give at least one role of %(roles)s", roles=", ".join(Role)))
    return tuple(r for r in Role if r in found)


def stored_roles(values: Any) -> tuple[Role, ...]:
    """Roles as stored (a JSON list); a name a later version no longer knows grants nothing."""
    names = set(values or ())
    return tuple(r for r in Role if r.value in names)


def hash_password(password: str) -> str:
    """The argon2id hash of ``password``."""
    return _HASHER.hash(password.encode("utf-8", "surrogatepass"))


@cache
def _dummy_hash() -> str:
    """A hash no password matches, verified for unknown users so they take as long as others."""
    return hash_password(secrets.token_urlsafe(32))


def verify_password(password_hash: str | None, password: str) -> bool:
    """Whether ``password`` matches; with no hash, the same work and ``False``."""
    try:
        _HASHER.verify(password_hash or _dummy_hash(), password.encode("utf-8", "surrogatepass"))
    except (VerificationError, InvalidHashError):
        return False
    return password_hash is not None


def needs_rehash(password_hash: str) -> bool:
    """Whether a verified hash was made with other parameters than today's."""
    return _HASHER.check_needs_rehash(password_hash)


def find_user(conn: Connection, username: str) -> Row[Any] | None:
    """The stored user whose name is ``username`` in any case, if any."""
    name = username.strip().lower()
    if not _USERNAME.fullmatch(name):
        return None
    return conn.execute(select(_U).where(_U.c.username == name)).first()


def require_user(conn: Connection, username: str) -> Row[Any]:
    """``find_user``, or ``NotFoundError`` naming the user."""
    row = find_user(conn, username)
    if row is None:
        raise NotFoundError(said("no user %(name)s", name=repr(username)))
    return row


def principal_of(user: Any) -> Principal:
    """The principal of a stored user acting with all their roles (by password or session)."""
    return Principal(
        name=user.username, roles=frozenset(stored_roles(user.roles)),
        terminals=frozenset(user.terminals or ()),
    )  # fmt: skip


# --- checks -------------------------------------------------------------------------------


def _username(username: str) -> str:
    name = username.strip().lower()
    if not _USERNAME.fullmatch(name):
        raise InputError(
            said(
                "username must be 2 to 64 characters of a-z, 0-9, '.', '_' and '-', got %(given)s",
                given=repr(username),
            )
        )
    return name


def _terminals(values: Iterable[str]) -> list[str]:
    if isinstance(values, str):
        values = [values]
    codes = {str(v).strip() for v in values}
    for code in codes:
        if not _TERMINAL.fullmatch(code):
            raise InputError(
                said(
                    "terminals: %(code)s is not a terminal code (1 to 16 letters, digits, "
                    "'.', '_' or '-', starting with a letter or digit)",
                    code=repr(code),
                )
            )
    return sorted(codes)


def _display_name(display_name: str | None, username: str) -> str:
    shown = (display_name or "").strip() or username
    if len(shown) > 128 or not shown.isprintable():
        raise InputError(said("display_name must be at most 128 printable characters"))
    return shown


def _password_hash(password: str, username: str) -> str:
    if len(password) < MIN_PASSWORD:
        raise InputError(said("password must have at least %(n)s characters", n=MIN_PASSWORD))
    if len(password) > MAX_PASSWORD:
        raise InputError(said("password must have at most %(n)s characters", n=MAX_PASSWORD))
    if password.strip().lower() == username:
        raise InputError(said("password must not be the username"))
    return hash_password(password)


def _user(row: Any) -> User:
    return User(
        row.user_id, row.username, row.display_name, stored_roles(row.roles),
        tuple(row.terminals or ()), row.password_hash is not None, bool(row.disabled),
        row.created_at, row.updated_at, row.password_changed_at, row.language,
        bool(row.must_change_password),
    )  # fmt: skip


# --- use cases ----------------------------------------------------------------------------


def add_user(
    store: Store,
    username: str,
    *,
    roles: Iterable[str | Role],
    password: str | None = None,
    display_name: str | None = None,
    terminals: Iterable[str] = (),
    actor: str,
) -> User:
    """Create a user with ``roles`` (at least one); without ``password``, a machine account.

    ``InputError`` names the field that cannot be used (``username``, ``roles``, ``password``,
    ``terminals``, ``display_name``); ``ConflictError`` if the username is taken, in any case.
    """
    return _add(store, username, roles=roles, password=password, display_name=display_name,
                terminals=terminals, actor=actor, one_time=False)  # fmt: skip


def add_user_with_one_time_password(
    store: Store,
    username: str,
    *,
    roles: Iterable[str | Role],
    display_name: str | None = None,
    terminals: Iterable[str] = (),
    actor: str,
) -> OneTimePassword:
    """Create a person with ``roles`` and a generated password, returned this once: the
    administrator hands it over, and the user must replace it when they first log in
    (``change_password``). Refuses as ``add_user`` does."""
    password = generate_password()
    user = _add(store, username, roles=roles, password=password, display_name=display_name,
                terminals=terminals, actor=actor, one_time=True)  # fmt: skip
    return OneTimePassword(user, password)


def generate_password() -> str:
    """A random password of ``ONE_TIME_BYTES`` bytes (24 URL-safe characters)."""
    return secrets.token_urlsafe(ONE_TIME_BYTES)


def _add(
    store: Store, username: str, *, roles: Iterable[str | Role], password: str | None,
    display_name: str | None, terminals: Iterable[str], actor: str, one_time: bool,
) -> User:  # fmt: skip
    name = _username(username)
    granted = [r.value for r in parse_roles(roles)]
    places, shown = _terminals(terminals), _display_name(display_name, name)
    hashed = None if password is None else _password_hash(password, name)
    moment = tables.utcnow()
    with store.transaction() as conn:
        if find_user(conn, name) is not None:
            raise ConflictError(said("user %(name)s already exists", name=name))
        conn.execute(insert(_U).values(
            user_id=str(uuid.uuid4()), username=name, display_name=shown, roles=granted,
            terminals=places, password_hash=hashed, disabled=False, created_at=moment,
            updated_at=moment, password_changed_at=moment if hashed else None,
            must_change_password=one_time,
        ))  # fmt: skip
        chain.append(
            conn, actor=actor, action="user_add", object_type="user", object_id=name,
            details={"display_name": shown, "roles": granted, "terminals": places,
                     "password": hashed is not None,
                     **({"one_time_password": True} if one_time else {})},
        )  # fmt: skip
    return get_user(store, name)


def get_user(store: Store, username: str) -> User:
    """The user ``username`` (any case); ``NotFoundError`` if there is none."""
    with store.reading() as conn:
        return _user(require_user(conn, username))


def list_users(store: Store) -> tuple[User, ...]:
    """Every user, by username."""
    with store.reading() as conn:
        return tuple(_user(r) for r in conn.execute(select(_U).order_by(_U.c.username)))


def _change(
    store: Store, username: str, changes: dict[str, Any], *, actor: str, action: str,
    disabled: bool | None = None, revoke: tuple[Any, ...] = (),
    guard: Callable[[Connection, Any], None] | None = None, keep_session: str | None = None,
) -> User:  # fmt: skip
    """Update one user and revoke its credentials in ``revoke`` (tables), audited, at once;
    but the session whose SHA-256 is ``keep_session``.

    ``disabled`` is the state the user must be in before (``ConflictError`` if not);
    ``guard`` is called with the connection and the stored row first and raises to refuse
    the change.
    """
    moment = tables.utcnow()
    with store.transaction() as conn:
        row = require_user(conn, username)
        if guard is not None:
            guard(conn, row)
        if disabled is not None and bool(row.disabled) != disabled:
            raise ConflictError(
                said("user %(name)s is already disabled", name=row.username)
                if row.disabled
                else said("user %(name)s is already enabled", name=row.username)
            )
        conn.execute(
            update(_U).where(_U.c.user_id == row.user_id).values(**changes, updated_at=moment)
        )
        details = {k: v for k, v in changes.items()
                   if k in ("roles", "terminals", "language", "must_change_password")}  # fmt: skip
        for table in revoke:
            ended = update(table).where(
                table.c.user_id == row.user_id, table.c.revoked_at.is_(None)
            )
            if table is _S and keep_session is not None:
                ended = ended.where(_S.c.session_id_hash != keep_session)
            details[f"{table.name}_revoked"] = conn.execute(
                ended.values(revoked_at=moment)
            ).rowcount
        chain.append(conn, actor=actor, action=action, object_type="user",
                     object_id=row.username, details=details)  # fmt: skip
    return get_user(store, row.username)


def _leaves_an_admin(conn: Connection, row: Any, roles: Iterable[Role] | None) -> None:
    """Lock-out protection: the last enabled administrator stays one. ``roles``: what the
    user ``row`` will hold (None: they are being disabled). The enabled users are locked
    first, so two administrators disabling each other at once cannot both succeed."""
    if bool(row.disabled) or Role.ADMIN not in stored_roles(row.roles):
        return
    if roles is not None and Role.ADMIN in roles:
        return
    enabled = conn.execute(
        select(_U.c.user_id, _U.c.roles).where(_U.c.disabled.is_(False))
        .order_by(_U.c.user_id).with_for_update()
    ).all()  # fmt: skip
    others = [
        u for u in enabled if u.user_id != row.user_id and Role.ADMIN in stored_roles(u.roles)
    ]
    if not others:
        raise ConflictError(
            said(
                "%(name)s is the last enabled administrator: make another user an "
                "administrator first",
                name=row.username,
            )
        )


def _not_oneself(actor: str) -> Callable[[Connection, Any], None]:
    """Lock-out protection: no one disables their own account (another administrator must),
    and the last enabled administrator is not disabled."""

    def check(conn: Connection, row: Any) -> None:
        _leaves_an_admin(conn, row, None)  # first: the more useful reason for the last one
        if row.username == actor:
            raise ConflictError(
                said(
                    "%(name)s cannot disable their own account: another administrator must",
                    name=actor,
                )
            )

    return check


def _keeps_account_manage(actor: str, roles: tuple[Role, ...]) -> Callable[[Connection, Any], None]:
    """Lock-out protection: no one takes ``account:manage`` from themselves, so an
    administrator cannot leave the accounts without anyone to manage them by mistake; and
    the last enabled administrator keeps the role."""

    def check(conn: Connection, row: Any) -> None:
        _leaves_an_admin(conn, row, roles)  # first: the more useful reason for the last one

        def manages(held: Iterable[Role]) -> bool:
            return Principal(row.username, frozenset(held)).allows(Permission.ACCOUNT_MANAGE)

        if row.username == actor and manages(stored_roles(row.roles)) and not manages(roles):
            raise ConflictError(
                said(
                    "%(name)s cannot take %(permission)s (the role %(role)s) from "
                    "themselves: another administrator must",
                    name=actor,
                    permission=Permission.ACCOUNT_MANAGE.value,
                    role=Role.ADMIN.value,
                )
            )

    return check


def disable_user(store: Store, username: str, *, actor: str) -> User:
    """Disable ``username``: it can no longer log in, and its tokens and sessions are revoked.

    ``ConflictError`` if it is disabled already, if ``actor`` is ``username`` (no one
    locks themselves out), or if it is the last enabled administrator.
    """
    return _change(store, username, {"disabled": True}, actor=actor, action="user_disable",
                   disabled=False, revoke=(_T, _S), guard=_not_oneself(actor))  # fmt: skip


def enable_user(store: Store, username: str, *, actor: str) -> User:
    """Enable ``username`` again (its old tokens stay revoked); ``ConflictError`` if enabled."""
    return _change(
        store, username, {"disabled": False}, actor=actor, action="user_enable", disabled=True
    )


def reset_password(store: Store, username: str, password: str, *, actor: str) -> User:
    """Set ``username``'s password (the policy of ``add_user``) and end its sessions.

    Also clears the username's failed logins, so a locked-out user can log in at once.
    """
    with store.reading() as conn:
        name = require_user(conn, username).username
    changes = {"password_hash": _password_hash(password, name),
               "password_changed_at": tables.utcnow(), "must_change_password": False}  # fmt: skip
    return _change(store, name, changes, actor=actor, action="user_password_reset", revoke=(_S,))


def reset_to_one_time_password(store: Store, username: str, *, actor: str) -> OneTimePassword:
    """Give ``username`` a generated password, returned this once, which they must replace
    when they next log in; as ``reset_password``, their sessions end and a lockout lifts.
    Their API tokens are left as they are."""
    with store.reading() as conn:
        name = require_user(conn, username).username
    password = generate_password()
    changes = {"password_hash": _password_hash(password, name),
               "password_changed_at": tables.utcnow(), "must_change_password": True}  # fmt: skip
    user = _change(store, name, changes, actor=actor, action="user_password_reset",
                   revoke=(_S,))  # fmt: skip
    return OneTimePassword(user, password)


def change_password(
    store: Store, username: str, *, current: str, new: str, client: str,
    keep_session: str | None = None,
) -> User:  # fmt: skip
    """``username`` replaces their own password: ``current`` must be it, ``new`` follows the
    policy of ``add_user`` and differs from it. Clears a one-time password's obligation.

    ``current`` is checked as a login's password is: after the rate limits let it through
    (``TooManyAttemptsError``), a failure counted against the username and ``client`` alike,
    so a stolen session cannot guess the password faster than the login form. Once changed,
    the user's sessions end but ``keep_session`` (the cookie value of the one asking): one
    opened by someone who knew the old password must not outlive it.

    ``AuthenticationError`` when ``current`` is wrong; ``InputError`` naming ``password``
    otherwise.
    """
    moment = tables.utcnow()
    where = typed_text(client, 64) or "unknown"
    with store.reading() as conn:
        row = require_user(conn, username)
        check_rate(conn, row.username, where, row, moment)
    if not verify_password(row.password_hash, current):
        with store.transaction() as conn:
            record_attempt(conn, row.username, where, row, moment, succeeded=False)
        raise AuthenticationError(said("the current password is not right"))
    if new == current:
        raise InputError(said("the new password must differ from the current one"))
    changes = {"password_hash": _password_hash(new, row.username),
               "password_changed_at": tables.utcnow(), "must_change_password": False}  # fmt: skip
    kept = None if keep_session is None else sha256_hex(keep_session)
    return _change(store, row.username, changes, actor=row.username,
                   action="user_password_change", revoke=(_S,), keep_session=kept)  # fmt: skip


def set_roles(
    store: Store,
    username: str,
    *,
    roles: Iterable[str | Role],
    terminals: Iterable[str] | None = None,
    actor: str,
) -> User:
    """Give ``username`` exactly ``roles``, and ``terminals`` unless ``None`` (kept).

    Its tokens then grant only the roles they carry that the user still holds.
    ``ConflictError`` if ``actor`` is ``username`` and would lose ``account:manage``, or if
    ``username`` is the last enabled administrator and would lose the role.
    """
    granted = parse_roles(roles)
    changes: dict[str, Any] = {"roles": [r.value for r in granted]}
    if terminals is not None:
        changes["terminals"] = _terminals(terminals)
    return _change(store, username, changes, actor=actor, action="user_roles_set",
                   guard=_keeps_account_manage(actor, granted))  # fmt: skip


#: What a language setting looks like: a two-letter ISO 639-1 code.
_LANGUAGE = re.compile(r"[a-z]{2}")


def set_language(store: Store, username: str, language: str | None, *, actor: str) -> User:
    """Remember ``language`` (a two-letter code; None: their browser's) as the language the
    web application speaks to ``username``."""
    if language is not None and not _LANGUAGE.fullmatch(language):
        raise InputError(
            said(
                "language must be a two-letter code such as nl, got %(given)s", given=repr(language)
            )
        )
    return _change(store, username, {"language": language}, actor=actor,
                   action="user_language_set")  # fmt: skip


def ensure_demo_user(store: Store, *, actor: str, terminals: Iterable[str] = ()) -> DemoAccount:
    """The demo account (every role but admin), created if missing; for ``quaywatch demo`` only.

    Its password is published: never run the demo against a store people rely on. An existing
    ``demo`` user is left as it is.
    """
    with store.reading() as conn:
        found = find_user(conn, DEMO_USERNAME)
    if found is None:
        add_user(
            store, DEMO_USERNAME, roles=DEMO_ROLES, password=DEMO_PASSWORD,
            display_name=DEMO_DISPLAY_NAME, terminals=terminals, actor=actor,
        )  # fmt: skip
    return DemoAccount(DEMO_USERNAME, DEMO_PASSWORD)
