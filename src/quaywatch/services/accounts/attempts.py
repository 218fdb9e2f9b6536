"""Password checks, rate limited: the limits a login and a change of one's own password share.

Each check of a password (a login, or the current password on the change-password form) is
limited per username and per client before the password is looked at, and recorded after in
``login_attempts``; the package docstring gives the limits and why. A session someone stole
guesses the password no faster than a login form does.
"""

from __future__ import annotations

import math
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, delete, func, insert, select

from quaywatch.audit import chain
from quaywatch.errors import TooManyAttemptsError
from quaywatch.store import tables

LOGIN_WINDOW = timedelta(minutes=15)
#: Failed logins within ``LOGIN_WINDOW`` that lock a username, and a client.
USER_FAILURES = 5
CLIENT_FAILURES = 20
ATTEMPTS_KEPT = timedelta(days=30)

_A = tables.login_attempts


def typed_text(text: str, size: int) -> str:
    """What a caller typed, fit to be stored and shown: lower case, printable, cut to ``size``."""
    return "".join(c if c.isprintable() else "?" for c in str(text).strip().lower())[:size]


def _failures(
    conn: Connection, column: Any, value: str, since: datetime, limit: int
) -> list[datetime]:
    """The times of the newest ``limit`` failed logins after ``since`` with ``column == value``."""
    rows = conn.execute(
        select(_A.c.at).where(column == value, _A.c.at > since, _A.c.succeeded.is_(False))
        .order_by(_A.c.at.desc()).limit(limit)
    )  # fmt: skip
    return [r.at for r in rows]


def _counted_since(conn: Connection, typed: str, user: Any, moment: datetime) -> datetime:
    """Where a username's failures start to count: the window, its last success, its reset."""
    window = moment - LOGIN_WINDOW
    last_ok = conn.execute(
        select(func.max(_A.c.at)).where(_A.c.username == typed, _A.c.at > window, _A.c.succeeded)
    ).scalar()
    changed = user.password_changed_at if user is not None else None
    return max(t for t in (window, last_ok, changed) if t is not None)


def check_rate(conn: Connection, typed: str, client: str, user: Any, moment: datetime) -> None:
    """``TooManyAttemptsError`` (with ``retry_after_s``) when the username ``typed`` (its row
    ``user``, None if unknown) or ``client`` failed too often: before a password is checked."""
    limits = (
        ("this account", _A.c.username, typed, _counted_since(conn, typed, user, moment),
         USER_FAILURES),
        ("this client", _A.c.client, client, moment - LOGIN_WINDOW, CLIENT_FAILURES),
    )  # fmt: skip
    for who, column, value, since, limit in limits:
        failed = _failures(conn, column, value, since, limit)
        if len(failed) >= limit:
            # Open again once the oldest of the last ``limit`` failures leaves the window.
            wait = max(1, math.ceil((failed[-1] + LOGIN_WINDOW - moment).total_seconds()))
            raise TooManyAttemptsError(
                f"too many failed logins for {who}; try again in {wait} seconds",
                retry_after_s=wait,
            )


def _audit_lockout(conn: Connection, typed: str, client: str, user: Any, moment: datetime) -> None:
    """An audit event for the failure that locks an existing account, and one that locks a
    client (anyone can lock an unknown username: not worth a line of the trail)."""
    window = {"window_s": int(LOGIN_WINDOW.total_seconds())}
    since = _counted_since(conn, typed, user, moment)
    failed = _failures(conn, _A.c.username, typed, since, USER_FAILURES + 1)
    if user is not None and len(failed) == USER_FAILURES:
        chain.append(
            conn, actor=client, action="login_lockout", object_type="user",
            object_id=user.username,
            details={"client": client, "failures": USER_FAILURES, **window},
        )  # fmt: skip
    since = moment - LOGIN_WINDOW
    if len(_failures(conn, _A.c.client, client, since, CLIENT_FAILURES + 1)) == CLIENT_FAILURES:
        chain.append(
            conn, actor=client, action="login_lockout", object_type="client", object_id=client,
            details={"failures": CLIENT_FAILURES, **window},
        )  # fmt: skip


def record_attempt(
    conn: Connection, typed: str, client: str, user: Any, moment: datetime, *, succeeded: bool
) -> None:
    """Record a password check of ``typed`` from ``client`` (in the caller's transaction),
    forget attempts older than ``ATTEMPTS_KEPT``, and audit the failure that locks."""
    conn.execute(insert(_A).values(username=typed, client=client, at=moment, succeeded=succeeded))
    conn.execute(delete(_A).where(_A.c.at < moment - ATTEMPTS_KEPT))
    if not succeeded:
        _audit_lockout(conn, typed, client, user, moment)
