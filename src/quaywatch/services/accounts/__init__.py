"""Accounts: users, passwords, API tokens, login sessions and login rate limiting.

Who someone is gets decided here, and only here: the adapters hand in what a caller presented
(a token, a session cookie, a username and password) and get a ``Principal`` back, whose roles
``domain.access`` turns into permissions. Checking that the caller may manage accounts
(``Permission.ACCOUNT_MANAGE``) is the adapter's part; these functions take the ``actor`` to
record, and every change appends an audit event in its own transaction. The modules:
``users`` (users, passwords, the demo account), ``tokens``, ``sessions`` (logins),
``callbacks`` (signed DCSA event deliveries) and ``overview`` (the administrator's list:
last logins, live tokens); import the functions from here.

Decisions, and why:

- **Usernames** are lower case ``[a-z0-9._-]{2,64}``: unique whatever the case typed, safe in
  logs and URLs. A user holds one or more roles; an inspector also holds the terminals whose
  orders they work (``Principal.terminals``).
- **Passwords** are stored as argon2id hashes with argon2-cffi's default parameters (RFC 9106's
  low-memory profile: 64 MiB, 3 passes), rehashed at the next login when those change. A
  password has 12 to 1,024 characters and is not the username. A machine account (a feed) has
  no password and authenticates with tokens only.
- **API tokens** read ``qw_<token id>_<secret>``: a public 12-hex-digit id (in lists and the
  audit trail) and 256 random bits. Only the SHA-256 of the secret is kept: 256 random bits
  leave no dictionary to try, so a slow hash would add cost to every request and no safety.
  A token expires (90 days unless said, 365 at most), can be revoked, and carries some or all
  of its user's roles; at use it grants those its user still holds, so taking a role from a
  user takes it from their tokens. Its use is recorded at most once a minute, not per request.
- **Sessions** (the browser's cookie) are 256 random bits, kept as their SHA-256, ending 8
  hours after login or after an hour unused. The CSRF token is an HMAC of the cookie value: a
  page can be rendered with it at any time without storing it, and only the holder of the
  cookie can compute it.
- **Logins** are limited per username (5 failures in 15 minutes) and per client (20), checked
  before the password is verified. A refused attempt is not counted, so the limit lifts when
  the window has passed; a successful login or a password reset clears the username's count
  (never the client's). An unknown user, a wrong password, a disabled user and a user without
  a password get the same message after the same work (a verification against a dummy hash),
  so a caller cannot tell which accounts exist. Attempts are kept 30 days in
  ``login_attempts``; failed ones are not audit events (anyone could fill the trail with
  them), but the failure that locks an account or a client is.
- **Lock-out protection**: no one disables their own account or takes ``account:manage``
  from themselves (``ConflictError``); another administrator must. ``actor`` is compared
  with the username, as the API and the web application pass the user acting.
- **Disabling** a user revokes their tokens and sessions; enabling them again revives neither.
  A password reset ends the user's sessions (not their tokens: separate credentials, revoked
  one by one).
- **One-time passwords**: an administrator who gives no password gets one generated
  (``add_user_with_one_time_password``, ``reset_to_one_time_password``; 144 random bits),
  shown to them once. Its user must replace it (``change_password``) when they log in with
  it: their session says so (``must_change_password``), and the web application shows the
  change-password page before anything else. API tokens are separate credentials: unaffected.
- **The last administrator**: the last enabled user with the admin role cannot be disabled or
  lose the role (``ConflictError``), whoever asks; the enabled users are locked while this is
  checked, so two administrators disabling each other at once cannot both succeed.
- The **demo account** (``ensure_demo_user``) exists for ``quaywatch demo`` only; quaywatch
  has no default password anywhere else.
"""

from __future__ import annotations

from quaywatch.services.accounts.callbacks import (
    Callback,
    RegisteredCallback,
    authenticate_callback,
    list_callbacks,
    register_callback,
    revoke_callback,
)
from quaywatch.services.accounts.overview import AccountSummary, account_overview
from quaywatch.services.accounts.sessions import (
    LoginSession,
    SessionPrincipal,
    authenticate_session,
    login,
    logout,
)
from quaywatch.services.accounts.tokens import (
    IssuedToken,
    TokenInfo,
    authenticate_token,
    create_token,
    list_tokens,
    parse_token,
    revoke_token,
)
from quaywatch.services.accounts.users import (
    DemoAccount,
    OneTimePassword,
    User,
    add_user,
    add_user_with_one_time_password,
    change_password,
    disable_user,
    enable_user,
    ensure_demo_user,
    get_user,
    list_users,
    reset_password,
    reset_to_one_time_password,
    set_language,
    set_roles,
)

__all__ = [
    "Callback", "RegisteredCallback", "authenticate_callback", "list_callbacks",
    "register_callback", "revoke_callback",
    "AccountSummary", "account_overview",
    "DemoAccount", "IssuedToken", "LoginSession", "SessionPrincipal", "TokenInfo", "User",
    "add_user", "authenticate_session", "authenticate_token", "create_token", "disable_user",
    "enable_user", "ensure_demo_user", "get_user", "list_tokens", "list_users", "login",
    "logout", "parse_token", "reset_password", "revoke_token", "set_language", "set_roles",
    "OneTimePassword", "add_user_with_one_time_password", "change_password",
    "reset_to_one_time_password",
]  # fmt: skip
