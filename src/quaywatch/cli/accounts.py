"""``quaywatch users``, ``tokens`` and ``callbacks``: the accounts of the API's users and feeds.

Thin adapters over ``services.accounts``, run by the operator at the machine (the changes are
audited in the name of the ``actor`` setting). A password is typed twice at a hidden prompt,
or read from standard input (``--password-stdin``) by scripts; it never appears on a command
line, where other users of the machine and the shell's history would see it. A new token is
printed once, alone on standard output, with what it is on standard error.
``app.py`` registers the sub-apps as ``users``, ``tokens`` and ``callbacks``; docs/permissions.md explains
roles, tokens and sessions.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer
from rich.table import Table
from rich.text import Text

from quaywatch.cli.context import console, errors, get_settings, open_store, shown, sub_app
from quaywatch.domain.access import Role
from quaywatch.errors import InputError

if TYPE_CHECKING:
    from datetime import datetime

    from quaywatch.services.accounts import OneTimePassword, TokenInfo, User

users_app = sub_app("Users of the API: roles, passwords, disabling.")
tokens_app = sub_app("API tokens of users and feeds: create, list, revoke.")

_ROLES = ", ".join(Role)
Username = Annotated[str, typer.Argument(help="The user's name (lower case a-z, 0-9, . _ -).")]
Roles = Annotated[list[str], typer.Option("--role", help=f"A role (repeat for several): {_ROLES}.")]
Terminals = Annotated[
    list[str] | None,
    typer.Option("--terminal", help="A terminal whose orders an inspector works (repeatable)."),
]
PasswordStdin = Annotated[
    bool, typer.Option("--password-stdin", help="Read the password from standard input.")
]
OneTime = Annotated[
    bool,
    typer.Option(
        "--one-time-password",
        help="Generate a password, printed once; the user must change it at first login.",
    ),
]


def _print_one_time(made: OneTimePassword, what: str) -> None:
    """A one-time password, alone on standard output (for scripts), what it is on stderr."""
    errors.print(
        f"{what} {_describe(made.user)}. One-time password follows: hand it over safely; it "
        "is shown this once, and the user must change it when they first log in.",
        markup=False, highlight=False, soft_wrap=True,
    )  # fmt: skip
    console.print(made.password, markup=False, highlight=False, soft_wrap=True)


def _say(text: str) -> None:
    """A line that carries data: printed as it is, never read as markup."""
    console.print(text, markup=False, highlight=False)


def _password(from_stdin: bool) -> str:
    if from_stdin:
        return typer.get_text_stream("stdin").readline().rstrip("\r\n")
    return str(typer.prompt("Password", hide_input=True, confirmation_prompt=True))


def _when(moment: datetime | None) -> str:
    return "-" if moment is None else f"{moment:%Y-%m-%d %H:%M}"


def _describe(user: User) -> str:
    terminals = f", terminals {', '.join(user.terminals)}" if user.terminals else ""
    state = "disabled" if user.disabled else "enabled"
    return f"{user.username} ({', '.join(user.roles)}{terminals}; {state})"


@users_app.command("add")
def users_add(
    ctx: typer.Context,
    username: Username,
    role: Roles,
    terminal: Terminals = None,
    display_name: Annotated[
        str | None, typer.Option(help="The name shown for the user (default: the username).")
    ] = None,
    password_stdin: PasswordStdin = False,
    no_password: Annotated[
        bool, typer.Option("--no-password", help="A machine account: tokens only, no login.")
    ] = False,
    one_time_password: OneTime = False,
) -> None:
    """Add a user with one or more roles; asks for the password twice unless told otherwise
    (``--one-time-password``: one is made and printed once)."""
    from quaywatch.services.accounts import add_user, add_user_with_one_time_password

    if no_password and password_stdin:
        raise InputError("--no-password and --password-stdin exclude each other")
    if one_time_password and (no_password or password_stdin):
        raise InputError("--one-time-password excludes --no-password and --password-stdin")
    if one_time_password:
        made = add_user_with_one_time_password(
            open_store(ctx), username, roles=role, display_name=display_name,
            terminals=terminal or (), actor=get_settings(ctx).actor,
        )  # fmt: skip
        _print_one_time(made, "added user")
        return
    password = None if no_password else _password(password_stdin)
    user = add_user(
        open_store(ctx), username, roles=role, password=password, display_name=display_name,
        terminals=terminal or (), actor=get_settings(ctx).actor,
    )  # fmt: skip
    _say(f"added user {_describe(user)}")


@users_app.command("list")
def users_list(ctx: typer.Context) -> None:
    """Every user, with roles, terminals and state."""
    from quaywatch.services.accounts import list_users

    table = Table()
    for column in ("user", "name", "roles", "terminals", "password", "state", "created (UTC)"):
        table.add_column(column)
    for u in list_users(open_store(ctx)):
        table.add_row(*(shown(cell) for cell in (
            u.username, u.display_name, ", ".join(u.roles), ", ".join(u.terminals) or "-",
            "yes" if u.has_password else "no (tokens only)",
            "disabled" if u.disabled else "enabled", _when(u.created_at),
        )))  # fmt: skip
    console.print(table)


@users_app.command("disable")
def users_disable(ctx: typer.Context, username: Username) -> None:
    """Disable a user: no more logins, and their tokens and sessions are revoked."""
    from quaywatch.services.accounts import disable_user

    user = disable_user(open_store(ctx), username, actor=get_settings(ctx).actor)
    _say(f"disabled {_describe(user)}; its tokens and sessions are revoked")


@users_app.command("enable")
def users_enable(ctx: typer.Context, username: Username) -> None:
    """Enable a disabled user again (their old tokens stay revoked)."""
    from quaywatch.services.accounts import enable_user

    user = enable_user(open_store(ctx), username, actor=get_settings(ctx).actor)
    _say(f"enabled {_describe(user)}")


@users_app.command("reset")
def users_reset(
    ctx: typer.Context,
    username: Username,
    password_stdin: PasswordStdin = False,
    one_time_password: OneTime = False,
) -> None:
    """Set a new password for a user; their sessions end and a lockout lifts
    (``--one-time-password``: one is made, printed once, and must be changed at login)."""
    from quaywatch.services.accounts import get_user, reset_password, reset_to_one_time_password

    if password_stdin and one_time_password:
        raise InputError("--password-stdin and --one-time-password exclude each other")
    store = open_store(ctx)
    if one_time_password:
        made = reset_to_one_time_password(store, username, actor=get_settings(ctx).actor)
        _print_one_time(made, "new password set for")
        return
    get_user(store, username)  # an unknown user is told before a password is asked for
    user = reset_password(store, username, _password(password_stdin), actor=get_settings(ctx).actor)
    _say(f"new password set for {_describe(user)}; its sessions are ended")


@users_app.command("roles")
def users_roles(
    ctx: typer.Context, username: Username, role: Roles, terminal: Terminals = None
) -> None:
    """Give a user exactly these roles (and these terminals, if any is given)."""
    from quaywatch.services.accounts import set_roles

    user = set_roles(
        open_store(ctx), username, roles=role, terminals=terminal, actor=get_settings(ctx).actor
    )
    _say(f"roles set: {_describe(user)}")


@tokens_app.command("create")
def tokens_create(
    ctx: typer.Context,
    username: Username,
    name: Annotated[str, typer.Option(help="What the token is for, e.g. 'PCS feed'.")],
    role: Annotated[
        list[str] | None,
        typer.Option(
            "--role", help="A role the token carries (repeatable; default: all the user's)."
        ),
    ] = None,
    expires_days: Annotated[int, typer.Option(help="Days until it expires (1 to 365).")] = 90,
    partner: Annotated[
        str | None,
        typer.Option(
            help="For a partner_node token (required then): the partner administration "
            "whose messages it delivers, e.g. BEANR."
        ),
    ] = None,
) -> None:
    """Create an API token; it is printed once and cannot be shown again."""
    from quaywatch.services.accounts import create_token

    issued = create_token(
        open_store(ctx), username, name=name, roles=role or None, expires_in_days=expires_days,
        partner=partner, actor=get_settings(ctx).actor,
    )  # fmt: skip
    info = issued.info
    errors.print(
        f"token {info.token_id} for {info.username} ({', '.join(info.roles)}), expires "
        f"{_when(info.expires_at)} UTC. Keep it now: it is shown this once and cannot be "
        "shown again.",
        markup=False, highlight=False, soft_wrap=True,
    )  # fmt: skip
    console.print(issued.token, markup=False, highlight=False, soft_wrap=True)


@tokens_app.command("list")
def tokens_list(
    ctx: typer.Context,
    username: Annotated[str | None, typer.Argument(help="Only this user's tokens.")] = None,
) -> None:
    """API tokens (never their secrets), oldest first, with their state."""
    from quaywatch.services.accounts import list_tokens

    table = Table()
    for column in ("token", "user", "name", "roles", "created (UTC)", "expires (UTC)",
                   "last used (UTC)", "state"):  # fmt: skip
        table.add_column(column, overflow="fold")
    for t in list_tokens(open_store(ctx), username):
        table.add_row(*_token_row(t))
    console.print(table)


def _token_row(t: TokenInfo) -> list[Text]:
    return [shown(cell) for cell in (
        t.token_id, t.username, t.name, ", ".join(t.roles), _when(t.created_at),
        _when(t.expires_at), _when(t.last_used_at), t.state(),
    )]  # fmt: skip


@tokens_app.command("revoke")
def tokens_revoke(
    ctx: typer.Context,
    token_id: Annotated[str, typer.Argument(help="The token's id, as `tokens list` shows.")],
) -> None:
    """Revoke an API token: it fails from now on."""
    from quaywatch.services.accounts import revoke_token

    info = revoke_token(open_store(ctx), token_id, actor=get_settings(ctx).actor)
    _say(f"revoked token {info.token_id} ({info.name}) of {info.username}")


callbacks_app = sub_app("DCSA event-subscription callbacks: signed deliveries from publishers.")


@callbacks_app.command("add")
def callbacks_add(
    ctx: typer.Context,
    subscription_id: Annotated[
        str, typer.Argument(help="The publisher's id of the event subscription.")
    ],
    user: Annotated[str, typer.Option(help="The feed account its events post as.")],
    secret_stdin: Annotated[
        bool,
        typer.Option(
            "--secret-stdin",
            help="Read the shared secret (base64) agreed with the publisher from "
            "standard input; without it one is generated.",
        ),
    ] = False,  # fmt: skip
) -> None:
    """Register a subscription's callback; prints the secret to give the publisher once."""
    from quaywatch.services.accounts import register_callback

    secret = typer.get_text_stream("stdin").readline().strip() if secret_stdin else None
    made = register_callback(open_store(ctx), subscription_id, username=user, secret=secret,
                             actor=get_settings(ctx).actor)  # fmt: skip
    errors.print(
        f"callback for subscription {made.callback.subscription_id} posts as "
        f"{made.callback.username}: callback URL <service>/api/v1/events/callbacks/"
        f"{made.callback.subscription_id}. "
        + ("" if secret_stdin else "The shared secret (base64) follows, shown this once."),
        markup=False, highlight=False, soft_wrap=True,
    )  # fmt: skip
    if not secret_stdin:
        console.print(made.secret, markup=False, highlight=False, soft_wrap=True)


@callbacks_app.command("list")
def callbacks_list(ctx: typer.Context) -> None:
    """Registered callbacks (never their secrets)."""
    from quaywatch.services.accounts import list_callbacks

    table = Table()
    for column in ("subscription", "feed", "registered (UTC)", "revoked (UTC)"):
        table.add_column(column, overflow="fold")
    for c in list_callbacks(open_store(ctx)):
        table.add_row(*(shown(cell) for cell in (
            c.subscription_id, c.username, _when(c.created_at), _when(c.revoked_at))))  # fmt: skip
    console.print(table)


@callbacks_app.command("revoke")
def callbacks_revoke(
    ctx: typer.Context,
    subscription_id: Annotated[str, typer.Argument(help="The subscription's id.")],
) -> None:
    """Refuse a subscription's deliveries from now on."""
    from quaywatch.services.accounts import revoke_callback

    done = revoke_callback(open_store(ctx), subscription_id, actor=get_settings(ctx).actor)
    _say(f"revoked the callback of subscription {done.subscription_id} ({done.username})")
