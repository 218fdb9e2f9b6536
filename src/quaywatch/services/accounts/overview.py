"""The administrator's view of the accounts: each user with their last login and live tokens.

What the account screen lists (``web.accounts``); the lists of ``users`` and ``tokens`` give
the rest. The last login is the start of the user's newest session (sessions are kept, ended
ones too), so it is known for everyone who ever logged in.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select

from quaywatch.services.accounts.users import User, get_user, list_users, now_or
from quaywatch.store import tables
from quaywatch.store.store import Store

_T, _S = tables.api_tokens, tables.sessions


@dataclass(frozen=True, slots=True)
class AccountSummary:
    """A user, when they last logged in (None: never), and how many of their tokens work."""

    user: User
    last_login: datetime | None
    active_tokens: int


def account_overview(
    store: Store, username: str | None = None, *, now: datetime | None = None
) -> tuple[AccountSummary, ...]:
    """Every user (or ``username`` alone: ``NotFoundError`` if unknown), by username, with
    their last login and the count of their tokens neither revoked nor expired at ``now``."""
    moment = now_or(now)
    users = list_users(store) if username is None else (get_user(store, username),)
    with store.reading() as conn:
        logins: dict[str, datetime] = {
            r[0]: r[1]
            for r in conn.execute(
                select(_S.c.user_id, func.max(_S.c.created_at)).group_by(_S.c.user_id)
            )
        }
        live: dict[str, int] = {
            r[0]: int(r[1])
            for r in conn.execute(
                select(_T.c.user_id, func.count())
                .where(_T.c.revoked_at.is_(None), _T.c.expires_at > moment)
                .group_by(_T.c.user_id)
            )
        }
    return tuple(AccountSummary(u, logins.get(u.user_id), live.get(u.user_id, 0)) for u in users)
