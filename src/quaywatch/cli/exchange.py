"""``quaywatch keys``, ``partners`` and ``exchange``: cooperation with partner administrations.

Thin adapters over ``services.exchange``. The key directory comes from ``QUAYWATCH_KEY_DIR``;
changes are audited in the name of the ``actor`` setting. Everything a partner sent (ids,
reasons, the raw bytes of a rejected message) is printed escaped: control characters written
out, never read as markup. docs/exchange.md walks through setting up trust with a partner.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.table import Table

from quaywatch.cli.context import console, get_settings, open_store, shown, sub_app

if TYPE_CHECKING:
    from quaywatch.services.exchange import OutboxEntry, StoredRoot

keys_app = sub_app("This administration's exchange keys: generate, rotate, show and export.")
partners_app = sub_app("Partner administrations whose signed messages are accepted.")
exchange_app = sub_app(
    "Signed messages to and from partners: send, push, export, import, inbox, outbox."
)

Partner = Annotated[str, typer.Argument(help="The partner's administration code (NLRTM).")]
Count = Annotated[int, typer.Option(help="How many keys the root lists.")]
Threshold = Annotated[int, typer.Option(help="How many of them must sign the next root.")]
ValidDays = Annotated[int, typer.Option(help="Days until the root expires.")]
#: Bytes of a rejected message shown in the inbox (the whole is kept in the store).
RAW_SHOWN = 120


def _say(text: str) -> None:
    console.print(text, markup=False, highlight=False)


def _when(moment: datetime | None) -> str:
    return "-" if moment is None else f"{moment:%Y-%m-%d %H:%M}"


def _describe(stored: StoredRoot) -> None:
    root = stored.root
    _say(
        f"{root.administration} root version {root.version}: {len(root.keys)} key(s), threshold "
        f"{root.threshold}, expires {_when(root.expires_at)} UTC"
    )
    _say(f"fingerprint {stored.fingerprint}")
    for key in root.keys:
        _say(f"  key {key.keyid}")


@keys_app.command("generate")
def keys_generate(
    ctx: typer.Context,
    administration: Annotated[
        str, typer.Argument(help="This administration's code: its port's UN/LOCODE (BEANR).")
    ],
    count: Count = 1,
    threshold: Threshold = 1,
    valid_days: ValidDays = 365,
) -> None:
    """Generate this administration's first keys (in QUAYWATCH_KEY_DIR) and its root."""
    from quaywatch.services.exchange import generate_keys

    settings = get_settings(ctx)
    stored = generate_keys(
        open_store(ctx), settings.key_dir, administration, count=count, threshold=threshold,
        valid_days=valid_days, actor=settings.actor,
    )  # fmt: skip
    _describe(stored)


@keys_app.command("rotate")
def keys_rotate(
    ctx: typer.Context, count: Count = 1, threshold: Threshold = 1, valid_days: ValidDays = 365
) -> None:
    """Replace the keys: a new root signed by the old keys' threshold and by the new keys."""
    from quaywatch.services.exchange import rotate_keys

    settings = get_settings(ctx)
    stored = rotate_keys(
        open_store(ctx), settings.key_dir, count=count, threshold=threshold,
        valid_days=valid_days, actor=settings.actor,
    )  # fmt: skip
    _describe(stored)
    _say("hand the new root file to every partner: quaywatch keys show --export FILE")


@keys_app.command("show")
def keys_show(
    ctx: typer.Context,
    export: Annotated[
        Path | None,
        typer.Option("--export", help="Write every root, oldest first, to this file."),
    ] = None,
) -> None:
    """Show this administration's root in force; with --export, write the root file."""
    from quaywatch.services.exchange import export_root, own_keys

    store = open_store(ctx)
    stored = own_keys(store) if export is None else export_root(store, export)
    _describe(stored)
    if export is not None:
        _say(f"wrote the root file {export}: partners run `quaywatch partners add {export}`")


@keys_app.command("group-generate")
def keys_group_generate(ctx: typer.Context) -> None:
    """Generate the partner group's key for de-identification (once, in one administration)."""
    from quaywatch.services.exchange import generate_group_key

    path = generate_group_key(get_settings(ctx).key_dir)
    _say(f"wrote the group key {path}: hand it to every member of the partner group by a "
         "secure channel; each runs `quaywatch keys group-import FILE`")  # fmt: skip


@keys_app.command("group-import")
def keys_group_import(
    ctx: typer.Context,
    file: Annotated[Path, typer.Argument(help="The group key file another member handed over.")],
) -> None:
    """Take the partner group's key (de-identified messages then match across the group)."""
    from quaywatch.services.exchange import import_group_key

    _say(f"wrote the group key {import_group_key(get_settings(ctx).key_dir, file)}")


@partners_app.command("add")
def partners_add(
    ctx: typer.Context,
    root_file: Annotated[
        Path, typer.Argument(help="The partner's root file (keys show --export).")
    ],
) -> None:
    """Trust a partner from its root file, or take its newer roots after it rotated its keys.

    Compare the fingerprint printed with the one the partner reads you by another channel."""
    from quaywatch.services.exchange import add_partner

    added = add_partner(open_store(ctx), root_file, actor=get_settings(ctx).actor)
    partner = added.partner
    _say(f"{partner.administration}: {added.new_roots} new root(s) trusted")
    _describe(partner.root)


@partners_app.command("list")
def partners_list(ctx: typer.Context) -> None:
    """Every partner: its root in force, keys, expiry and state."""
    from quaywatch.services.exchange import list_partners

    table = Table()
    for column in (
        "partner",
        "root",
        "keys",
        "threshold",
        "expires (UTC)",
        "state",
        "revoked keys",
        "inbox URL",
    ):
        table.add_column(column)
    for p in list_partners(open_store(ctx)):
        root = p.root.root
        state = "active" if p.revoked_at is None else f"revoked {_when(p.revoked_at)}"
        table.add_row(*(shown(cell) for cell in (
            p.administration, root.version, len(root.keys), root.threshold,
            _when(root.expires_at), state, ", ".join(k[:16] for k in p.revoked_keys) or "-",
            p.inbox_url or "-",
        )))  # fmt: skip
    console.print(table)


@partners_app.command("set-url")
def partners_set_url(
    ctx: typer.Context,
    partner: Partner,
    url: Annotated[
        str | None,
        typer.Argument(help="The partner's inbox: its quaywatch's https address. Omit to stop."),
    ] = None,
    token_file: Annotated[
        Path | None,
        typer.Option(
            "--token-file",
            help="A file holding the API token the partner issued to "
            "this node (role partner_node, bound to this administration with --partner); kept "
            "in QUAYWATCH_KEY_DIR, mode 0600.",
        ),
    ] = None,
) -> None:
    """Push the outbox's messages to this partner's inbox over HTTP (`exchange push`)."""
    from quaywatch.services.exchange import set_inbox_url

    settings = get_settings(ctx)
    token = None
    if token_file is not None:
        try:
            token = token_file.read_text(encoding="ascii").strip()
        except (OSError, UnicodeDecodeError) as exc:
            raise typer.BadParameter(f"{token_file}: {exc}") from None
    found = set_inbox_url(open_store(ctx), settings.key_dir, partner, url, token=token,
                          actor=settings.actor)  # fmt: skip
    where = found.inbox_url or "nowhere: exchange by file only"
    _say(f"{found.administration}: messages pushed to {where}")
    if token is not None:
        _say(f"push token kept in {settings.key_dir}/push-tokens (delete {token_file})")


@partners_app.command("revoke")
def partners_revoke(
    ctx: typer.Context,
    partner: Partner,
    reason: Annotated[str, typer.Option(help="Why (kept in the audit trail).")],
    key: Annotated[
        str | None, typer.Option("--key", help="Revoke only this key id, not the partner.")
    ] = None,
) -> None:
    """Revoke a partner (or one of its keys): its messages are refused from now on."""
    from quaywatch.services.exchange import revoke

    found = revoke(
        open_store(ctx), partner, key_id=key, reason=reason, actor=get_settings(ctx).actor
    )
    what = f"key {key} of {found.administration}" if key else f"partner {found.administration}"
    _say(f"revoked {what}")


@partners_app.command("allow")
def partners_allow(
    ctx: typer.Context,
    partner: Partner,
    message_type: Annotated[
        str, typer.Option("--type", help="The message type (seizure-report, ...).")
    ],
    personal: Annotated[
        bool,
        typer.Option(
            "--personal/--no-personal",
            help="Whether names, addresses and phones of persons may be sent.",
        ),
    ] = False,
    basis: Annotated[
        str | None, typer.Option("--basis", help="The legal basis (needed with --personal).")
    ] = None,
) -> None:
    """Record whether a partner may receive personal data in a message type, and on which legal
    basis; without it, what is sent to the partner is de-identified."""
    from quaywatch.services.exchange import allow_partner

    found = allow_partner(open_store(ctx), partner, message_type, personal=personal,
                          basis=basis, actor=get_settings(ctx).actor)  # fmt: skip
    what = f"may receive personal data ({found.legal_basis})" if found.personal else (
        "receives de-identified personal data")  # fmt: skip
    _say(f"{found.partner} {what} in {found.message_type} messages")


@partners_app.command("permissions")
def partners_permissions(
    ctx: typer.Context,
    partner: Annotated[str | None, typer.Argument(help="Only this partner.")] = None,
) -> None:
    """What personal data each partner may receive, per message type, with the legal basis."""
    from quaywatch.services.exchange import permissions

    table = Table()
    for column in ("partner", "type", "personal data", "legal basis", "recorded (UTC)", "by"):
        table.add_column(column)
    for p in permissions(open_store(ctx), partner):
        table.add_row(*(shown(cell) for cell in (
            p.partner, p.message_type, "sent" if p.personal else "de-identified",
            p.legal_basis or "-", _when(p.granted_at), p.granted_by,
        )))  # fmt: skip
    console.print(table)
    _say("a partner and type not listed receives de-identified personal data")


@exchange_app.command("send")
def exchange_send(
    ctx: typer.Context,
    to: Annotated[str, typer.Option("--to", help="The partner's administration code.")],
    message_type: Annotated[
        str, typer.Option("--type", help="seizure-report, risk-analysis-result, feedback, ...")
    ],
    file: Annotated[Path, typer.Option("--file", help="The message body, a JSON object.")],
    reply_to: Annotated[
        str | None, typer.Option("--reply-to", help="The id of the message this answers.")
    ] = None,
    valid_days: Annotated[int, typer.Option(help="Days the message stays valid.")] = 30,
) -> None:
    """Sign a message to a partner and queue it in the outbox (`exchange export` writes it)."""
    from quaywatch.services.exchange import send

    settings = get_settings(ctx)
    entry = send(
        open_store(ctx), settings.key_dir, to, message_type, file, valid_days=valid_days,
        in_reply_to=reply_to, actor=settings.actor,
    )  # fmt: skip
    _say(f"queued {entry.message_type} {entry.message_id} to {entry.recipient}")


def _pushed(entry: OutboxEntry, now: datetime) -> str:
    state = entry.delivery(now)
    if state == "delivered":
        return f"delivered {_when(entry.delivered_at)}"
    if state in ("retrying", "refused"):
        tries = f" after {entry.push_attempts} attempt(s)"
        later = f", next {_when(entry.next_push_at)}" if state == "retrying" else ""
        return f"{state}{tries}{later}: {entry.last_push_error}"
    return state


@exchange_app.command("outbox")
def exchange_outbox(ctx: typer.Context) -> None:
    """The messages queued for partners, newest first: when each was exported, where its HTTP
    push stands (delivered, retrying with the last error, refused), and the feedback owed on risk analysis results (received, due, overdue)."""
    from quaywatch.services.exchange import outbox

    table = Table()
    for column in ("message", "to", "type", "queued (UTC)", "expires (UTC)", "exported (UTC)",
                   "pushed", "feedback"):  # fmt: skip
        table.add_column(column)
    now = datetime.now(UTC)
    for e in outbox(open_store(ctx)):
        table.add_row(*(shown(cell) for cell in (
            e.message_id, e.recipient, e.message_type, _when(e.created_at), _when(e.expires_at),
            f"{_when(e.exported_at)} ({e.exports}x)" if e.exports else "not yet",
            _pushed(e, now),
            e.feedback(now) + (f" by {_when(e.feedback_due_by)}" if e.feedback(now) in (
                "due", "overdue") else ""),
        )))  # fmt: skip
    console.print(table)


@exchange_app.command("push")
def exchange_push(
    ctx: typer.Context,
    once: Annotated[
        bool, typer.Option("--once", help="One pass over the messages due, then stop.")
    ] = False,
    interval: Annotated[
        float, typer.Option(min=0.5, help="Seconds between two passes (without --once).")
    ] = 5.0,
) -> None:
    """Push the outbox to the partners' inboxes over HTTP, retrying with backoff; runs until
    stopped (Ctrl-C) unless --once. Safe to stop at any moment: the state is in the store."""
    from quaywatch.services.exchange_push import Backoff, OutboxPusher, push_once

    settings = get_settings(ctx)
    store = open_store(ctx)
    backoff = Backoff.with_timeout(
        settings.exchange_push_base_s,
        settings.exchange_push_max_s,
        settings.exchange_push_timeout_s,
    )
    if not once:
        _say(f"pushing the outbox every {interval:g} s (Ctrl-C stops)")
        pusher = OutboxPusher(store, settings.key_dir, interval_s=interval, backoff=backoff,
                              timeout_s=settings.exchange_push_timeout_s, actor=settings.actor)  # fmt: skip
        try:
            pusher.run()
        except KeyboardInterrupt:
            pusher.close()
        return
    summary = push_once(store, settings.key_dir, backoff=backoff,
                        timeout_s=settings.exchange_push_timeout_s, actor=settings.actor)  # fmt: skip
    for r in summary.results:
        later = f", next try {_when(r.next_push_at)} UTC" if r.next_push_at else ""
        _say(f"{r.message_id} to {r.recipient} (attempt {r.attempt}): {r.result}: "
             f"{r.detail}{later}")  # fmt: skip
    _say(f"{summary.count('delivered')} delivered, {summary.count('refused')} refused, "
         f"{summary.count('failed')} failed")  # fmt: skip
    if summary.count("failed"):
        raise typer.Exit(1)


@exchange_app.command("export")
def exchange_export(
    ctx: typer.Context,
    file: Annotated[Path, typer.Argument(help="The file to write (JSON Lines).")],
    to: Annotated[
        str | None, typer.Option("--to", help="Only the messages to this partner.")
    ] = None,
    again: Annotated[
        bool, typer.Option("--again", help="Also the messages exported before.")
    ] = False,
) -> None:
    """Write the outbox's messages not yet exported to a file, for air-gapped exchange."""
    from quaywatch.services.exchange import export

    settings = get_settings(ctx)
    summary = export(
        open_store(ctx), settings.key_dir, file, recipient=to, again=again, actor=settings.actor
    )
    _say(f"wrote {summary.messages} message(s) to {summary.path}")


@exchange_app.command("import")
def exchange_import(
    ctx: typer.Context,
    file: Annotated[Path, typer.Argument(help="A partner's export file (JSON Lines).")],
) -> None:
    """Receive a partner's export file: each message is checked, then accepted or rejected."""
    from quaywatch.services.exchange import import_file

    summary = import_file(open_store(ctx), file, actor=get_settings(ctx).actor)
    for o in summary.outcomes:
        if o.status == "rejected":
            _say(f"{o.source}: rejected ({o.reason}): {o.detail}")
    _say(
        f"{summary.path}: {summary.count('accepted')} accepted, {summary.count('duplicate')} "
        f"already received, {summary.count('rejected')} rejected"
    )


@exchange_app.command("inbox")
def exchange_inbox(
    ctx: typer.Context,
    limit: Annotated[int, typer.Option(help="Most messages of each kind shown.")] = 100,
) -> None:
    """Messages accepted from partners, then those rejected with their reasons."""
    from quaywatch.services.exchange import inbox

    found = inbox(open_store(ctx), limit=limit)
    accepted = Table(title="accepted")
    for column in ("message", "from", "type", "issued (UTC)", "received (UTC)", "answers"):
        accepted.add_column(column)
    for r in found.received:
        accepted.add_row(*(shown(cell) for cell in (
            r.message_id, r.sender, r.message_type, _when(r.issued_at), _when(r.received_at),
            r.in_reply_to or "-",
        )))  # fmt: skip
    console.print(accepted)
    rejected = Table(title="rejected")
    for column in ("received (UTC)", "reason", "detail", "from", "source", "raw bytes"):
        rejected.add_column(column)
    for j in found.rejected:
        raw = j.raw[:RAW_SHOWN].decode("utf-8", errors="backslashreplace")
        more = f" ... ({len(j.raw):,} bytes)" if len(j.raw) > RAW_SHOWN else ""
        rejected.add_row(*(shown(cell) for cell in (
            _when(j.received_at), j.reason, j.detail, j.sender or "-", j.source, raw + more,
        )))  # fmt: skip
    console.print(rejected)


profiles_app = sub_app("Risk profiles partners shared: review, accept as a draft, or decline.")
profiles_app.info.no_args_is_help = False  # bare `exchange profiles` lists the queue
exchange_app.add_typer(profiles_app, name="profiles")


@profiles_app.callback(invoke_without_command=True)
def exchange_profiles(ctx: typer.Context) -> None:
    """The risk profiles partners shared, newest first: pending, accepted (as which draft
    profile) or declined. None is ever activated automatically."""
    if ctx.invoked_subcommand is not None:
        return
    from quaywatch.services.exchange import shared_profiles

    table = Table()
    for column in ("message", "from", "profile", "title", "risk area", "received (UTC)",
                   "review"):  # fmt: skip
        table.add_column(column)
    for p in shared_profiles(open_store(ctx)):
        review = p.status if p.profile_id is None else (
            f"{p.status}: draft {p.profile_id} v{p.profile_version}")  # fmt: skip
        table.add_row(*(shown(cell) for cell in (
            p.message_id, p.sender, f"{p.share.profile_id} v{p.share.profile_version}",
            p.share.title, p.share.risk_area, _when(p.received_at), review,
        )))  # fmt: skip
    console.print(table)


_SENDER_HELP = "The partner that shared it (needed only when two partners used the id)."


@profiles_app.command("accept")
def exchange_profiles_accept(
    ctx: typer.Context,
    message_id: Annotated[str, typer.Argument(help="The message id.")],
    sender: Annotated[str | None, typer.Option(help=_SENDER_HELP)] = None,
) -> None:
    """Load a shared profile as a DRAFT (activate it later with `quaywatch profiles activate`)."""
    from quaywatch.services.exchange import accept_profile

    done = accept_profile(open_store(ctx), message_id, sender=sender,
                          actor=get_settings(ctx).actor)  # fmt: skip
    _say(f"loaded {done.profile_id} version {done.profile_version} as a draft; "
         "it fires only once activated")  # fmt: skip


@profiles_app.command("decline")
def exchange_profiles_decline(
    ctx: typer.Context,
    message_id: Annotated[str, typer.Argument(help="The message id.")],
    reason: Annotated[str, typer.Option(help="Why (kept in the audit trail).")],
    sender: Annotated[str | None, typer.Option(help=_SENDER_HELP)] = None,
) -> None:
    """Decline a shared profile; nothing is loaded."""
    from quaywatch.services.exchange import decline_profile

    decline_profile(open_store(ctx), message_id, reason=reason, sender=sender,
                    actor=get_settings(ctx).actor)  # fmt: skip
    _say(f"declined the profile of message {message_id}")
